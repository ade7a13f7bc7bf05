"""Benchmarks on the national dataset (bench/dataset.py): the real server, one worker, on
loopback, and a table of median and 99th-percentile latency, requests per second at the
stated concurrency, SQL statements per request and the server's peak memory, for:

1. a county's institution list page (50 institutions with registration progress,
   registering unit, number of sites, number of active staff, latest inspection status);
   1b. the same page with each institution's standing and its reasons;
   1c. the same page of the institutions with findings of the rules (``hasFindings: true``;
   target: 25 ms median with one client);
2. the same page by raw SQL with asyncpg in this process (the floor), and the ratio;
3. province statistics by prefecture, and ministry statistics by province (the counters of
   the benchmark's page; and every counter, the complaints' median handling time included);
   3d. the province's finding counts per rule by prefecture (target: 100 ms);
4. one institution's full detail (sites → courses → classes → teachers);
5. the public name search within a province.

    python bench/dataset.py                       # once: the national dataset (xwpx_national)
    python bench/national.py [--seconds 20] [--concurrency 8] [--database-url URL]
    python bench/national.py --list-pages 6 --seconds 5   # 1 and 1b only, interleaved

``--list-pages ROUNDS`` measures only the county page without (1) and with standing (1b),
alternating them for ROUNDS rounds of ``--seconds`` each (which goes first alternates too),
so that both see the same machine; it prints each one's median over all rounds, the
server's CPU time per request (``utime + stime`` of ``/proc/<pid>/stat``) and the ratios.

SQL statements are counted in this process, on an app of its own over the same database
(one run of each request). Not part of the test suite; sends traffic to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "National#2026"
COUNTY, PROVINCE, MINISTRY = "edu-440106", "edu-440000", "edu-000000"
LIST_PAGE = """{ institutions(first: 50) { totalCount edges { node {
  id name registrationProgress { complete missingParts } registeringUnit { name } siteCount activeStaffCount inspectionStatus
} } } }"""
#: The same page with each institution's standing (法律状态) and its reasons.
LIST_PAGE_STANDING = LIST_PAGE.replace(
    "inspectionStatus", "inspectionStatus standing { licensed lawful compliant whiteListEligible blackListed licenceValidTo reasons { code message recordName } }"
)
#: The same page of the institutions with findings of the rules (问题机构: hasFindings).
LIST_PAGE_FINDINGS = LIST_PAGE.replace("institutions(first: 50)", "institutions(first: 50, filter: { hasFindings: true })")
#: The findings per rule of each prefecture of a province, and the province's.
FINDING_COUNTS = "{ statistics { rows { key findings { rule findings institutions } } total { findings { rule findings institutions } } } }"
STATISTICS = "{ statistics { rows { region { name } institutions { registered complete compliant } inspections { rectifying overdue } applications { pending approved } classes { filed } staff { active } } total { institutions { registered } } } }"
#: Every counter, the complaints' median handling time included (read from every handled
#: complaint of the region, where the other counters are kept).
STATISTICS_FULL = (
    "{ statistics { rows { key ...c } total { ...c } } } fragment c on StatisticsRow {"
    " institutions { registered complete compliant deregistered }"
    " inspections { inspected withProblems rectifying rectified overdue recorded }"
    " applications { pending approved rejected compliance { pending approved rejected } deregistration { pending approved rejected }"
    " licence { pending approved rejected } classFiling { pending approved rejected } }"
    " classes { filed pending unfiled } staff { active teachers certifiedTeachers } lists { white black }"
    " complaints { total submitted accepted replied rejected illegalOperation illegalEnrolment other medianHandlingHours } }"
)
DETAIL = """query($id: ID!) { institution(id: $id) { name sites { name courses { name classes { name schedule { weekday start end } teachers { name } } } } } }"""
SEARCH = """query($n: String!, $r: String!) { publicInstitutions(name: $n, regionCode: $r, first: 10) { totalCount edges { node { name status licence { number } } } } }"""
RAW_PAGE = """
SELECT i.id, i.name, i.qualifications_saved AND i.operation_saved AND i.subject_training_saved AND i.facilities_saved AS complete,
       a.name AS unit, i.inspection_status,
       (SELECT count(*) FROM site s WHERE s.institution_id = i.id) AS sites,
       (SELECT count(*) FROM staff t WHERE t.institution_id = i.id AND t.status = 'ACTIVE') AS active_staff
FROM institution i LEFT JOIN account a ON a.id = i.registering_unit_id
WHERE i.region_code = $1
ORDER BY i.name, i.id
LIMIT 50
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


async def measure(call, seconds: float, concurrency: int) -> tuple[list[float], int, float]:
    """Latencies of ``call()`` from ``concurrency`` loops for ``seconds``; errors; elapsed."""
    return await measure_each([call] * concurrency, seconds)


async def measure_each(calls: list, seconds: float) -> tuple[list[float], int, float]:
    """Latencies of each of ``calls`` (each an async callable answering whether the request
    succeeded) repeated in a loop of its own for ``seconds``; errors; elapsed."""
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds

    async def loop(call) -> None:
        nonlocal errors
        while time.monotonic() < deadline:
            started = time.perf_counter()
            ok = await call()
            latencies.append(time.perf_counter() - started)
            errors += not ok

    started = time.monotonic()
    await asyncio.gather(*(loop(call) for call in calls))
    return latencies, errors, time.monotonic() - started


async def count_statements(url: str, requests: list[tuple[str, str, dict]]) -> dict[str, int]:
    """SQL statements of each request in the steady state, on an app in this process: each is
    sent twice and its second run counted (a viewer's first request also reads its region's
    subtree, once a minute per region; a planned document is compiled on its first run)."""
    import sqlalchemy as sa

    from core.settings import Settings
    from server import create_app

    counts: dict[str, int] = {}
    # Kept public answers off: every search reaches the database, as the first one does.
    app = create_app(Settings(database_url=url, public_rate=(10**9, 10**9), public_cache_seconds=0))
    async with app.router.lifespan_context(app):
        statements: list[str] = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        for engine in (app.state.engine, app.state.public_engine):
            sa.event.listen(engine.sync_engine, "before_cursor_execute", listener)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
            tokens = {}
            for username in (COUNTY, PROVINCE, MINISTRY):
                r = await http.post("/graphql", json={"query": 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', "variables": {"u": username, "p": PASSWORD}})
                tokens[username] = r.json()["data"]["login"]["token"]
            for label, username, body in requests:
                headers = {"Authorization": f"Bearer {tokens[username]}"} if username else {}
                await http.post("/graphql", json=body, headers=headers)
                statements.clear()
                response = await http.post("/graphql", json=body, headers=headers)
                assert "errors" not in response.json(), response.text
                counts[label] = len(statements)
    return counts


def cpu_seconds(pid: int) -> float:
    """The process's user and system CPU time so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def list_pages(seconds: float, concurrency: int, server_pid: int, port: int, rounds: int) -> None:
    """The county page without and with standing, interleaved (``--list-pages``)."""
    pages = {"1. county list page (50)": LIST_PAGE, "1b. the page with standing": LIST_PAGE_STANDING}
    latencies: dict[str, list[float]] = {label: [] for label in pages}
    cpu = dict.fromkeys(pages, 0.0)
    done = dict.fromkeys(pages, 0)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60, limits=httpx.Limits(max_connections=concurrency * 2)) as http:
        r = await http.post("/graphql", json={"query": 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', "variables": {"u": COUNTY, "p": PASSWORD}})
        headers = {"Authorization": f"Bearer {r.json()['data']['login']['token']}"}
        for n in range(rounds):
            for label in (list(pages) if n % 2 == 0 else list(pages)[::-1]):
                async def call(query=pages[label]) -> bool:
                    response = await http.post("/graphql", json={"query": query}, headers=headers)
                    return response.status_code == 200 and "errors" not in response.json()

                await call()  # warm
                before = cpu_seconds(server_pid)
                values, errors, _ = await measure(call, seconds, concurrency)
                cpu[label] += cpu_seconds(server_pid) - before
                latencies[label] += values
                done[label] += len(values)
                if errors:
                    raise SystemExit(f"{label}: {errors} errors")
    print(f"\none worker, {concurrency} concurrent clients, {rounds} interleaved rounds of {seconds:.0f} s; load average {os.getloadavg()[0]:.2f} at the end")
    print(f"{'request':<28}{'median ms':>10}{'p99 ms':>9}{'requests':>10}{'server CPU ms/req':>19}")
    medians, per_request = [], []
    for label in pages:
        medians.append(statistics.median(latencies[label]) * 1000)
        per_request.append(cpu[label] / done[label] * 1000)
        print(f"{label:<28}{medians[-1]:>10.1f}{percentile(latencies[label], 0.99) * 1000:>9.1f}{done[label]:>10}{per_request[-1]:>19.2f}")
    print(f"\nwith standing / without: median {medians[1] / medians[0]:.2f}, server CPU per request {per_request[1] / per_request[0]:.2f}")


async def run(url: str, seconds: float, concurrency: int, server_pid: int, port: int) -> None:
    from models.database import _connect

    base = f"http://127.0.0.1:{port}"
    rng = random.Random(1)
    probe = await _connect(url)
    try:
        ids = [str(r["id"]) for r in await probe.fetch("SELECT id FROM institution WHERE region_code = '440106' ORDER BY id LIMIT 200")]
        names = [r["name"] for r in await probe.fetch("SELECT i.name FROM institution i JOIN region r ON r.code = i.region_code WHERE r.path LIKE '000000/440000/%' ORDER BY i.id LIMIT 2000")]
    finally:
        await probe.close()
    queries = []
    for name in names[:400]:
        core = name[len(name) // 4 : len(name) // 4 + 4] or name
        queries.append(core)
    requests = [
        ("1. county list page (50)", COUNTY, {"query": LIST_PAGE}),
        ("1b. the page with standing", COUNTY, {"query": LIST_PAGE_STANDING}),
        ("1c. the page filtered by hasFindings", COUNTY, {"query": LIST_PAGE_FINDINGS}),
        ("3a. province statistics", PROVINCE, {"query": STATISTICS}),
        ("3d. province finding counts", PROVINCE, {"query": FINDING_COUNTS}),
        ("3b. ministry statistics", MINISTRY, {"query": STATISTICS}),
        ("3c. ministry, every counter", MINISTRY, {"query": STATISTICS_FULL}),
        ("4. institution detail", COUNTY, {"query": DETAIL, "variables": {"id": ids[0]}}),
        ("5. public name search", None, {"query": SEARCH, "variables": {"n": queries[0], "r": "440000"}}),
    ]
    print("counting SQL statements per request ...", flush=True)
    statements = await count_statements(url, requests)

    rows = []
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=httpx.Limits(max_connections=concurrency * 2)) as http:
        tokens = {}
        for username in (COUNTY, PROVINCE, MINISTRY):
            r = await http.post("/graphql", json={"query": 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', "variables": {"u": username, "p": PASSWORD}})
            tokens[username] = {"Authorization": f"Bearer {r.json()['data']['login']['token']}"}
        for label, username, body in requests:
            async def call(label=label, username=username, body=body) -> bool:
                if label.startswith("4."):
                    body = {"query": DETAIL, "variables": {"id": rng.choice(ids)}}
                elif label.startswith("5."):
                    body = {"query": SEARCH, "variables": {"n": rng.choice(queries), "r": "440000"}}
                response = await http.post("/graphql", json=body, headers=tokens.get(username, {}))
                return response.status_code == 200 and "errors" not in response.json()

            print(f"running {label} for {seconds:.0f} s ...", flush=True)
            await call()  # warm
            latencies, errors, elapsed = await measure(call, seconds, concurrency)
            rows.append((label, latencies, errors, elapsed, statements[label]))
            if label.startswith("1."):
                idle: asyncio.Queue = asyncio.Queue()
                for _ in range(concurrency):
                    idle.put_nowait(await _connect(url))

                async def raw(idle: asyncio.Queue = idle) -> bool:
                    connection = await idle.get()
                    try:
                        return len(await connection.fetch(RAW_PAGE, "440106")) > 0
                    finally:
                        idle.put_nowait(connection)

                print(f"running 2. raw SQL floor for {seconds:.0f} s ...", flush=True)
                latencies, errors, elapsed = await measure(raw, seconds, concurrency)
                rows.append(("2. same page, raw SQL", latencies, errors, elapsed, 1))
                while not idle.empty():
                    await idle.get_nowait().close()

    print(f"\none worker, {concurrency} concurrent clients, {seconds:.0f} s each; server peak RSS {peak_rss_mib(server_pid):.0f} MiB")
    print(f"{'request':<28}{'median ms':>10}{'p99 ms':>9}{'req/s':>8}{'errors':>8}{'SQL/req':>9}")
    medians = {}
    for label, latencies, errors, elapsed, sql in rows:
        median = statistics.median(latencies) * 1000
        medians[label.split(".")[0]] = median
        print(f"{label:<28}{median:>10.1f}{percentile(latencies, 0.99) * 1000:>9.1f}{len(latencies) / elapsed:>8.0f}{errors:>8}{sql:>9}")
    print(f"\nlist page / raw SQL floor: {medians['1'] / medians['2']:.1f}x; with standing / without: {medians['1b'] / medians['1']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url", help="the national dataset (default: xwpx_national on the embedded server in .data/pg)")
    parser.add_argument("--list-pages", type=int, metavar="ROUNDS", help="only the county page without and with standing, interleaved")
    args = parser.parse_args()
    from models.database import server_url, start_embedded, with_database

    embedded = None
    url = args.database_url
    if not url:
        embedded = start_embedded(Path(os.environ.get("XWPX_DATA_DIR", ROOT / ".data")) / "pg")
        url = with_database(server_url(embedded), "xwpx_national")
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "XWPX_PUBLIC_RATE": "1000000000/1000000000", "XWPX_LOG_FORMAT": "json"}
    print(f"starting the server (one worker) on 127.0.0.1:{port}")
    server = subprocess.Popen([sys.executable, "server.py", "serve", "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(240):
            try:
                httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise SystemExit("the server did not start: run `python server.py serve` with the same DATABASE_URL to see why")
        if args.list_pages:
            asyncio.run(list_pages(args.seconds, args.concurrency, server.pid, port, args.list_pages))
        else:
            asyncio.run(run(url, args.seconds, args.concurrency, server.pid, port))
    finally:
        server.terminate()
        server.wait(timeout=60)
        if embedded is not None:
            embedded.cleanup()


if __name__ == "__main__":
    main()
