"""Soak: a realistic mix from N concurrent clients for a while against one server on
loopback; reports requests, errors, latency percentiles and the server's memory growth.

    python bench/soak.py [--clients 50] [--seconds 300]

Starts `python server.py serve --demo` on a free port with a temporary embedded PostgreSQL
(or DATABASE_URL when set), then runs, per client, a loop over: public lookups (a region,
an institution by part of its name, a complaint's status), a county's institution list
page, a county edit of one institution (read, then save with its version), an institution's
portal edit (read its staff, then save one with its version), and a province's counts per
prefecture. All clients come from 127.0.0.1, so the server's per-address limit for public
traffic is lifted for the run (XWPX_PUBLIC_RATE). Not part of the test suite; sends traffic
to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def login(client: httpx.AsyncClient, username: str) -> dict:
    r = await client.post("/graphql", json={"query": 'mutation($u: String!) { login(username: $u, password: "Demo#2026") { token } }', "variables": {"u": username}})
    return {"Authorization": f"Bearer {r.json()['data']['login']['token']}"}


class Stats:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.codes: dict[str, int] = {}

    def add(self, kind: str, seconds: float, ok: bool, code: str | None = None) -> None:
        self.latencies.setdefault(kind, []).append(seconds)
        if not ok:
            self.errors[kind] = self.errors.get(kind, 0) + 1
            self.codes[code or "other"] = self.codes.get(code or "other", 0) + 1


def failure(response: httpx.Response | None, data: dict | None, error: Exception | None) -> str:
    """What a failed answer was: its first GraphQL error code, else its HTTP status or the
    client's exception."""
    codes = [(e.get("extensions") or {}).get("code") for e in (data or {}).get("errors") or []]
    if codes and codes[0]:
        return codes[0]
    if error is not None:
        return type(error).__name__
    return f"HTTP {response.status_code}" if response is not None and response.status_code != 200 else "other"


async def client_loop(base: str, deadline: float, stats: Stats, seed: int, county: dict, province: dict, institution_ids: list[str], portal: dict) -> None:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:

        async def call(kind: str, body: dict, headers: dict | None = None, check=lambda j: "errors" not in j) -> dict | None:
            started = time.perf_counter()
            r = error = None
            try:
                r = await client.post("/graphql", json=body, headers=headers or {})
                data = r.json()
                ok = r.status_code == 200 and check(data)
            except (httpx.HTTPError, ValueError) as e:
                data, ok, error = None, False, e
            stats.add(kind, time.perf_counter() - started, ok, None if ok else failure(r, data, error))
            return data

        while time.monotonic() < deadline:
            choice = rng.random()
            if choice < 0.2:
                code = rng.choice(["440106", "440104", "420102", "110108", "441900"])
                await call("public region", {"query": "query($c: String!) { region(code: $c) { name parent { name } children { code } } }", "variables": {"c": code}})
            elif choice < 0.4:
                name, region = rng.choice([("育英", "440100"), ("明德培训", "440000"), ("启航学堂", "420100"), ("博雅艺术", "440300"), ("星辰", "420000")])
                await call("public name search", {
                    "query": "query($n: String!, $r: String!) { publicInstitutions(name: $n, regionCode: $r) { totalCount edges { node { name status licence { number } teachers { name } filedClasses } } } }",
                    "variables": {"n": name, "r": region},
                })
            elif choice < 0.45:
                staff = await call("portal edit: read", {"query": "{ myInstitution { staff(status: ACTIVE) { id version name gender idNumber phone post employment subjects teacherCertificateNumber joinedOn } } }"}, portal)
                people = (((staff or {}).get("data") or {}).get("myInstitution") or {}).get("staff") or []
                if people:
                    person = rng.choice(people)
                    keys = ("name", "gender", "idNumber", "phone", "post", "employment", "subjects", "teacherCertificateNumber", "joinedOn")
                    body = {
                        "query": "mutation($id: ID!, $v: Int!, $input: StaffInput!) { updateStaff(id: $id, version: $v, input: $input) { errors { code } } }",
                        "variables": {"id": person["id"], "v": person["version"], "input": {k: person[k] for k in keys}},
                    }
                    await call("portal edit: save", body, portal, lambda j: "errors" not in j and all(e["code"] == "CONFLICT" for e in j["data"]["updateStaff"]["errors"]))
            elif choice < 0.5:
                await call("public complaint status", {"query": 'query { complaintStatus(trackingNumber: "TS20260101AAAAAAAA", mobile: "13800138000") { status } }'})
            elif choice < 0.75:
                await call("county list page", {"query": "{ institutions(first: 50) { totalCount edges { node { name registrationProgress { complete } registeringUnit { name } inspectionStatus overdue } } } }"}, county)
            elif choice < 0.9:
                institution_id = rng.choice(institution_ids)
                read = await call("county edit: read", {"query": "query($id: ID!) { institution(id: $id) { version contactPerson { name } } }", "variables": {"id": institution_id}}, county)
                if read and (read.get("data") or {}).get("institution"):
                    version = read["data"]["institution"]["version"]
                    body = {
                        "query": "mutation($id: ID!, $v: Int!) { saveInstitutionSubjectTraining(id: $id, version: $v, input: {noSubjectTraining: true}) { errors { code } } }",
                        "variables": {"id": institution_id, "v": version},
                    }
                    # a concurrent client may have saved first: CONFLICT is a correct answer, not an error
                    await call("county edit: save", body, county, lambda j: "errors" not in j and all(e["code"] == "CONFLICT" for e in j["data"]["saveInstitutionSubjectTraining"]["errors"]))
            elif choice < 0.95:
                await call("province overdue counts", {"query": "{ rectificationByRegion { region { code } rectifying overdue } }"}, province)
            else:
                await call("province statistics", {
                    "query": "{ statistics { rows { region { name } institutions { registered complete } inspections { rectifying overdue } applications { pending } staff { active } } total { institutions { registered } } } }",
                }, province)


async def run(base: str, clients: int, seconds: float, pid: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        county = await login(client, "edu-440106")
        province = await login(client, "edu-440000")
        portal = await login(client, "org-1")
        r = await client.post("/graphql", json={"query": "{ institutions(first: 40) { edges { node { id } } } }"}, headers=county)
        institution_ids = [e["node"]["id"] for e in r.json()["data"]["institutions"]["edges"]]
    stats = Stats()
    rss_start = rss_mib(pid)
    started = time.monotonic()
    deadline = started + seconds

    async def progress() -> None:
        while time.monotonic() < deadline:
            await asyncio.sleep(10)
            done = sum(len(v) for v in stats.latencies.values())
            print(f"  {time.monotonic() - started:5.0f} s  {done:>8} requests  {sum(stats.errors.values())} errors  server RSS {rss_mib(pid):.0f} MiB", flush=True)

    await asyncio.gather(progress(), *(client_loop(base, deadline, stats, n, county, province, institution_ids, portal) for n in range(clients)))
    elapsed = time.monotonic() - started
    total = sum(len(v) for v in stats.latencies.values())
    print(f"\n{clients} clients, {elapsed:.0f} s: {total} requests ({total / elapsed:.0f}/s), {sum(stats.errors.values())} errors")
    print(f"server RSS {rss_start:.0f} MiB at start, {rss_mib(pid):.0f} MiB at the end")
    print(f"{'request':<26}{'count':>8}{'errors':>8}{'p50 ms':>9}{'p99 ms':>9}")
    for kind, values in sorted(stats.latencies.items()):
        values.sort()
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        print(f"{kind:<26}{len(values):>8}{stats.errors.get(kind, 0):>8}{statistics.median(values) * 1000:>9.1f}{p99 * 1000:>9.1f}")
    if stats.codes:
        print("errors by code: " + ", ".join(f"{code} {n}" for code, n in sorted(stats.codes.items(), key=lambda item: -item[1])))


@contextlib.contextmanager
def demo_server(prefix: str):
    """``python server.py serve --demo`` (one worker) on a free port, with a temporary
    embedded PostgreSQL unless XWPX_DATA_DIR or DATABASE_URL says otherwise, the public rate
    lifted (every client is 127.0.0.1): yields (port, pid) once it answers, stops it after."""
    port = free_port()
    env = dict(os.environ)
    if "XWPX_DATA_DIR" not in env:
        env["XWPX_DATA_DIR"] = tempfile.mkdtemp(prefix=prefix)
    env.setdefault("XWPX_PUBLIC_RATE", "1000000/1000000")
    print(f"starting the server on 127.0.0.1:{port} (demo data)")
    server = subprocess.Popen([sys.executable, "server.py", "serve", "--demo", "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(240):
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise SystemExit("the server did not start; run `python server.py serve --demo` to see why")
        yield port, server.pid
    finally:
        server.terminate()
        server.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=300)
    args = parser.parse_args()
    with demo_server("xwpx-soak-") as (port, pid):
        print(f"running {args.clients} clients for {args.seconds:.0f} s")
        asyncio.run(run(f"http://127.0.0.1:{port}", args.clients, args.seconds, pid))

if __name__ == "__main__":
    main()
