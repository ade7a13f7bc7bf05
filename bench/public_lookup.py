"""Benchmark: the public institution lookup (``publicInstitutions``) on the national dataset.

    python bench/public_lookup.py [--clients 8] [--seconds 30] [--seed 1] [--pool 8]
                                  [--database-url URL]

Starts the real server as ``python server.py serve`` does (uvicorn, one worker, on
127.0.0.1) with ``DATABASE_URL`` pointing at the national database (default: database
``xwpx_national`` on the embedded server under ``.data/pg``, filled by ``bench/dataset.py``),
and with ``XWPX_PUBLIC_RATE=1000000/1000000``: every request comes from 127.0.0.1, whose
default limit (60 at once, then one a second) would otherwise answer ``RATE_LIMITED``.
``XWPX_PUBLIC_POOL`` (the public callers' own connections, default 5) is set to ``--pool``.

The queries are drawn from the dataset (deterministic by ``--seed``), each searched within
the institution's province, in five shapes: brand and type (``育英培训学校``), county and
brand (``天河区育英``), the full name, the full name with a typing slip (a character swapped
for a look-alike or same-sounding one, or left out), the brand alone (two characters), a
short name with a slip (``育英陪训``) and the county shortened before the brand (``天河育英``);
for the last two it also counts how often the first result is the one meant.

Two runs: one client (the latency of a search on an idle server), then ``--clients``
concurrent clients, each sending its next request as soon as the last is answered
(throughput; their latency includes waiting for the one worker). Each prints the median and
99th-percentile latency per shape and overall, requests per second and errors. SQL
statements per request are counted in-process: one request of each shape through the same
app (``create_app``) with a SQLAlchemy ``before_cursor_execute`` listener on its engines
(the embedded server has no ``pg_stat_statements``). The server's peak memory is its
``VmHWM``. Not part of the test suite; sends traffic to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.dataset import DEFAULT_DATABASE, connect, national_database  # noqa: E402

QUERY = """query($name: String!, $region: String!) {
  publicInstitutions(name: $name, regionCode: $region, first: 10) {
    totalCount
    edges { node { id name status lawful compliant county { name } licence { number validTo valid } } }
  }
}"""
SHAPES = ("brand and type", "county and brand", "full name", "typing slip", "brand alone", "short slip", "county short")
WEIGHTS = (25, 15, 15, 20, 10, 10, 5)
#: Look-alike or same-sounding characters: the slips people make typing Chinese names.
SLIPS = {
    "培": "陪", "训": "讯", "学": "雪", "校": "效", "育": "玉", "英": "鹰", "中": "钟", "心": "新", "教": "较", "艺": "忆",
    "术": "述", "体": "休", "俱": "具", "乐": "月", "部": "步", "科": "料", "技": "枝", "创": "仓", "新": "欣", "明": "名",
    "德": "得", "博": "搏", "星": "猩", "智": "志", "阳": "扬", "书": "抒", "华": "化", "文": "纹", "馆": "管", "堂": "常",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024**2
    return 0.0


def county_short(county: str) -> str:
    """A county's name as people shorten it: 天河区 → 天河 (two-character names stay whole)."""
    return county[:-1] if len(county) > 2 and county[-1] in "区县市旗" else county


def slip(rng: random.Random, text: str) -> str:
    """One typing slip: a look-alike character where there is one, else one left out."""
    places = [i for i, ch in enumerate(text) if ch in SLIPS]
    if places:
        i = rng.choice(places)
        return text[:i] + SLIPS[text[i]] + text[i + 1:]
    i = rng.randrange(1, len(text) - 1)
    return text[:i] + text[i + 1:]


async def draw_queries(url: str, seed: int, count: int) -> list[tuple[str, str, str, str | None]]:
    """(shape, name, province code, what the first result's name must contain) drawn from
    the national dataset; the last only for the slips of short names."""
    conn = await connect(url)
    try:
        rows = await conn.fetch(
            """SELECT i.name, r.name AS county, split_part(r.path, '/', 2) AS province FROM institution i
               JOIN region r ON r.code = i.region_code ORDER BY md5(i.id::text || $1) LIMIT $2""",
            str(seed), count,
        )
    finally:
        await conn.close()
    rng = random.Random(seed)
    queries = []
    for row in rows:
        full = row["name"]
        rest = full.removeprefix(row["county"]).rstrip("0123456789")  # brand and type
        shape = rng.choices(SHAPES, WEIGHTS)[0]
        text, expected = {
            "brand and type": (rest, None),
            "county and brand": (row["county"] + rest[:2], None),
            "full name": (full, None),
            "typing slip": (slip(rng, full if rng.random() < 0.5 else rest), None),
            "brand alone": (rest[:2], None),
            # 育英陪训 for 育英培训: one character of a four-character name wrong or left out
            "short slip": (slip(rng, rest[:4]), rest[:4]),
            # 天河育英 for 天河区育英…
            "county short": (county_short(row["county"]) + rest[:2], row["county"] + rest[:2]),
        }[shape]
        queries.append((shape, text, row["province"], expected))
    return queries


class Stats:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = {}
        #: Per shape with an expected name: (first result right, asked).
        self.hits: dict[str, list[int]] = {}
        self.errors = 0
        self.started = self.ended = 0.0

    def add(self, shape: str, seconds: float) -> None:
        self.latencies.setdefault(shape, []).append(seconds)

    def report(self, title: str) -> list[str]:
        elapsed = self.ended - self.started
        every = sorted(v for values in self.latencies.values() for v in values)
        lines = [f"{title}: {len(every)} requests in {elapsed:.1f} s, {len(every) / elapsed:.0f} req/s, {self.errors} errors"]
        lines.append(f"  {'shape':<18}{'count':>7}{'p50 ms':>9}{'p99 ms':>9}  first result right")
        for shape in (*SHAPES, "all"):
            values = every if shape == "all" else sorted(self.latencies.get(shape, []))
            if values:
                p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
                right, asked = self.hits.get(shape, (0, 0))
                hit = f"  {right / asked:.0%} of {asked}" if asked else ""
                lines.append(f"  {shape:<18}{len(values):>7}{statistics.median(values) * 1000:>9.1f}{p99 * 1000:>9.1f}{hit}")
        return lines


async def run(base: str, queries: list[tuple[str, str, str, str | None]], clients: int, seconds: float, seed: int) -> Stats:
    stats = Stats()
    deadline = time.monotonic() + seconds

    async def client(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        order = queries[:]
        rng.shuffle(order)
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            k = 0
            while time.monotonic() < deadline:
                shape, name, region, expected = order[k % len(order)]
                k += 1
                started = time.perf_counter()
                try:
                    r = await http.post("/graphql", json={"query": QUERY, "variables": {"name": name, "region": region}})
                    answer = r.json()
                    ok = r.status_code == 200 and "errors" not in answer
                except (httpx.HTTPError, ValueError):
                    ok = False
                stats.add(shape, time.perf_counter() - started)
                stats.errors += not ok
                if ok and expected is not None:
                    edges = answer["data"]["publicInstitutions"]["edges"]
                    tally = stats.hits.setdefault(shape, [0, 0])
                    tally[0] += bool(edges) and expected in edges[0]["node"]["name"]
                    tally[1] += 1

    stats.started = time.monotonic()
    await asyncio.gather(*(client(n) for n in range(clients)))
    stats.ended = time.monotonic()
    return stats


async def statements_per_request(url: str, queries: list[tuple[str, str, str, str | None]], sample: int = 20) -> dict[str, list[int]]:
    """SQL statements of ``sample`` requests of each shape, counted in-process."""
    import sqlalchemy as sa

    from core.settings import Settings
    from server import create_app

    app = create_app(Settings(database_url=url, public_rate=(1e6, 1e6), data_dir=Path(tempfile.mkdtemp(prefix="xwpx-bench-"))))
    counts: dict[str, list[int]] = {}
    async with app.router.lifespan_context(app):
        statements: list[str] = []

        def count(conn, cursor, statement, parameters, context, executemany) -> None:
            statements.append(statement)

        for engine in (app.state.engine, app.state.public_engine):
            sa.event.listen(engine.sync_engine, "before_cursor_execute", count)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
            for shape in SHAPES:
                for _, name, region, _ in [q for q in queries if q[0] == shape][:sample]:
                    statements.clear()
                    r = await http.post("/graphql", json={"query": QUERY, "variables": {"name": name, "region": region}})
                    assert "errors" not in r.json(), r.text
                    counts.setdefault(shape, []).append(len(statements))
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--queries", type=int, default=2000, help="distinct queries drawn from the dataset")
    parser.add_argument("--pool", type=int, default=8, help="XWPX_PUBLIC_POOL of the server")
    parser.add_argument("--database-url", help=f"default: database {DEFAULT_DATABASE} on the embedded server in .data/pg")
    args = parser.parse_args()
    url, embedded = national_database(args.database_url)
    try:
        queries = asyncio.run(draw_queries(url, args.seed, args.queries))
        if not queries:
            raise SystemExit("the database holds no institutions: run bench/dataset.py first")
        print(f"{len(queries)} queries drawn from the dataset: " + ", ".join(f"{s} {sum(q[0] == s for q in queries)}" for s in SHAPES))
        print(f"machine: {os.cpu_count()} CPUs ({cpu_model()}), {memory_gib():.0f} GiB, load average {os.getloadavg()[0]:.2f}")
        counted = asyncio.run(statements_per_request(url, queries))
        print("SQL statements per request (in-process count, 20 requests a shape): " + ", ".join(
            f"{s} {min(n)}" + (f"–{max(n)}" if max(n) > min(n) else "") for s, n in counted.items()
        ))
        port = free_port()
        env = dict(os.environ, DATABASE_URL=url, XWPX_PUBLIC_RATE="1000000/1000000", XWPX_PUBLIC_POOL=str(args.pool))
        env.setdefault("XWPX_DATA_DIR", tempfile.mkdtemp(prefix="xwpx-bench-"))
        log = tempfile.NamedTemporaryFile(prefix="xwpx-bench-server-", suffix=".log", delete=False)
        print(f"starting the server on 127.0.0.1:{port} (log: {log.name})")
        server = subprocess.Popen(
            [sys.executable, "server.py", "serve", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(240):
                try:
                    httpx.get(f"{base}/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    if server.poll() is not None:
                        raise SystemExit(f"the server stopped; see {log.name}") from None
                    time.sleep(0.5)
            # Warm the server's caches and the database's buffers with every query once.
            print(f"warm-up: {asyncio.run(warm_up(base, queries))} requests, each query once")
            for clients in (1, args.clients):
                stats = asyncio.run(run(base, queries, clients, args.seconds, args.seed))
                for line in stats.report(f"{clients} client{'s' if clients > 1 else ''}, {args.seconds:.0f} s"):
                    print(line)
            print(f"server peak memory (VmHWM): {peak_mib(server.pid):.0f} MiB")
        finally:
            server.terminate()
            server.wait(timeout=60)
    finally:
        if embedded is not None:
            embedded.cleanup()
    return 0


async def warm_up(base: str, queries: list[tuple[str, str, str, str | None]]) -> int:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        for _, name, region, _ in queries:
            await http.post("/graphql", json={"query": QUERY, "variables": {"name": name, "region": region}})
    return len(queries)


if __name__ == "__main__":
    sys.exit(main())
