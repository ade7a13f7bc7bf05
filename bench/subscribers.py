"""Benchmark: idle subscribers on one worker (memory per subscriber) and the latency from a
mutation's commit to the delivery of its event.

    python bench/subscribers.py [--subscribers 1000] [--events 20]

Starts ``python server.py serve --demo`` (one worker) on a free port with a temporary
embedded PostgreSQL (or DATABASE_URL when set), logs the county 天河区 (edu-440106) in once
per subscriber (the subscriptions per session are limited), then:

1. one subscriber to ``urgingNoticeReceived``; ``--events`` urging notices sent to the county
   by its prefecture one after the other; for each, the time from the mutation's answer (sent after its commit) to the
   event's arrival on the socket, and from the request's start;
2. ``--subscribers`` sockets, each with one subscription, left idle for 10 s: the worker's
   resident memory before and after, per subscriber;
3. five notices with all of them subscribed: the time from the mutation's answer to the
   first and to the last of the deliveries (each subscription reads its record in its
   viewer's scope).

Not part of the test suite; sends traffic to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.soak import demo_server, rss_mib  # noqa: E402

SUBSCRIPTION = "subscription { urgingNoticeReceived { notice { message } } }"
SEND = 'mutation($m: String!) { sendUrgingNotice(countyCode: "440106", message: $m) { errors { code } } }'


async def login(client: httpx.AsyncClient, username: str = "edu-440106") -> str:
    r = await client.post("/graphql", json={"query": 'mutation($u: String!) { login(username: $u, password: "Demo#2026") { token } }', "variables": {"u": username}})
    return r.json()["data"]["login"]["token"]


async def subscriber(port: int, token: str):
    connection = await websockets.connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"], ping_interval=None, max_queue=None)
    await connection.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
    assert json.loads(await connection.recv())["type"] == "connection_ack"
    await connection.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}))
    return connection


async def delivered(connection, wanted: str) -> float:
    """When the notice whose message is ``wanted`` arrives."""
    while True:
        message = json.loads(await connection.recv())
        if message["type"] == "next":
            arrived = time.perf_counter()
            if message["payload"]["data"]["urgingNoticeReceived"]["notice"]["message"] == wanted:
                return arrived


async def send(client: httpx.AsyncClient, token: str, message: str) -> tuple[float, float]:
    """The prefecture urges 天河区: when the request started and when it was answered."""
    started = time.perf_counter()
    r = await client.post("/graphql", json={"query": SEND, "variables": {"m": message}}, headers={"Authorization": f"Bearer {token}"})
    assert r.json() == {"data": {"sendUrgingNotice": {"errors": []}}}, r.text
    return started, time.perf_counter()


def ms(values: list[float]) -> str:
    values = sorted(values)
    return f"median {statistics.median(values) * 1000:.1f} ms, p95 {values[min(len(values) - 1, int(len(values) * 0.95))] * 1000:.1f} ms, max {values[-1] * 1000:.1f} ms"


async def run(port: int, pid: int, subscribers: int, events: int) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        print(f"logging in {subscribers} sessions")
        tokens = [await login(client) for _ in range(subscribers)]
        prefecture = await login(client, "edu-440100")

        # 1: one subscriber, events one after the other
        one = await subscriber(port, tokens[0])
        await asyncio.sleep(0.5)
        after_answer, after_start = [], []
        for n in range(events):
            waiting = asyncio.create_task(delivered(one, f"请尽快处理逾期台账 {n}"))
            started, answered = await send(client, prefecture, f"请尽快处理逾期台账 {n}")
            arrived = await asyncio.wait_for(waiting, 30)
            after_answer.append(arrived - answered)
            after_start.append(arrived - started)
        await one.close()
        print(f"1 subscriber, {events} events: from the mutation's answer {ms(after_answer)}; from its request {ms(after_start)}")

        # 2: idle subscribers
        await asyncio.sleep(1)
        before = rss_mib(pid)
        sockets = []
        for i in range(0, subscribers, 50):
            sockets += await asyncio.gather(*(subscriber(port, token) for token in tokens[i : i + 50]))
        await asyncio.sleep(10)
        after = rss_mib(pid)
        print(f"{len(sockets)} idle subscribers: worker {before:.1f} MiB before, {after:.1f} MiB after: {(after - before) * 1024 / len(sockets):.1f} KiB per subscriber")

        # 3: one event to all of them
        firsts, lasts = [], []
        for n in range(5):
            wanted = f"请尽快处理逾期台账 to all {n}"
            waiting = [asyncio.create_task(delivered(s, wanted)) for s in sockets]
            _, answered = await send(client, prefecture, wanted)
            arrivals = await asyncio.wait_for(asyncio.gather(*waiting), 120)
            firsts.append(min(arrivals) - answered)
            lasts.append(max(arrivals) - answered)
        print(f"{len(sockets)} subscribers, 5 events: from the answer to the first delivery {ms(firsts)}; to the last {ms(lasts)}")
        print(f"worker after the fan-out: {rss_mib(pid):.1f} MiB")
        for s in sockets:
            await s.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20)
    args = parser.parse_args()
    with demo_server("xwpx-subscribers-") as (port, pid):
        asyncio.run(run(port, pid, args.subscribers, args.events))

if __name__ == "__main__":
    main()
