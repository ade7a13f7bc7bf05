"""Helpers shared by the tests."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import websockets
from anyio.from_thread import start_blocking_portal
from hypothesis import HealthCheck, given, seed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import create_async_engine
from stdnum.cn import uscc

from auth.passwords import hash_password
from auth.ratelimit import RateLimiter
from auth.sessions import viewer_for_token
from core.settings import Settings
from demo.accounts import DEMO_PASSWORD
from models import (
    Account,
    Application,
    Complaint,
    Course,
    Inspection,
    Institution,
    InstitutionFunds,
    ListEntry,
    ListPeriod,
    OutboxMessage,
    Site,
    Staff,
    TrainingClass,
)
from models.database import admin_value, execute_admin, run_migrations, with_database
from resolvers import findings
from resolvers.live import Socket
from resolvers.regions.applying import Operator, apply_change_set
from schema.context import Context
from schema.root import schema as full_schema
from server import create_app

ROOT = Path(__file__).resolve().parents[1]


#: How each test server copies a template (``copy_database``), asked once per server.
_COPY_STRATEGY: dict[str, str] = {}


async def copy_database(server_url: str, template: str, prefix: str = "xwpx_test") -> str:
    """A new database ``<prefix>_<random>``, a copy of ``template`` on the server of
    ``server_url``; returns its URL (``drop_database`` drops it). On a server without fsync
    (the suite's embedded one, tests/conftest.py) the files are copied as they are
    (``STRATEGY FILE_COPY``, a tenth of the default's cost there); elsewhere as the server
    copies by default (its checkpoints would cost more than they save)."""
    if server_url not in _COPY_STRATEGY:
        fast = await admin_value(server_url, "SELECT current_setting('fsync') = 'off' AND current_setting('server_version_num')::int >= 150000")
        _COPY_STRATEGY[server_url] = " STRATEGY FILE_COPY" if fast else ""
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    await execute_admin(server_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"{_COPY_STRATEGY[server_url]}')
    return with_database(server_url, name)


async def drop_database(server_url: str, url: str) -> None:
    """Drop the database of ``url`` from the server of ``server_url``, connections and all."""
    await execute_admin(server_url, f'DROP DATABASE IF EXISTS "{sa.make_url(url).database}" WITH (FORCE)')


@contextlib.asynccontextmanager
async def database_at(server_url: str, revision: str, prefix: str = "xwpx_test"):
    """A new database migrated only to ``revision`` (to load data as an earlier migration left
    it and test a later one on it): yields its URL and an engine on it; dropped after."""
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    await execute_admin(server_url, f'CREATE DATABASE "{name}"')
    url = with_database(server_url, name)
    engine = create_async_engine(url)
    try:
        await asyncio.to_thread(run_migrations, url, revision)
        yield url, engine
    finally:
        await engine.dispose()
        await drop_database(server_url, url)


@contextlib.contextmanager
def app_in_a_thread(pg_server_url: str, template_database: str, prefix: str, prepare, **settings):
    """An app on a database of its own (a copy of the template, filled by ``prepare(url)``),
    running on an event loop in a thread of its own so that hypothesis can drive it from the
    test's: yields (``post(body, headers)`` -> the response, the app); the database is
    dropped after."""
    url = asyncio.run(copy_database(pg_server_url, template_database, prefix))
    try:
        asyncio.run(prepare(url))
        app = create_app(Settings(database_url=url, **settings))
        with start_blocking_portal() as portal, portal.wrap_async_context_manager(app.router.lifespan_context(app)):
            http = portal.call(lambda: _client(app))
            try:
                yield (lambda body, headers: portal.call(functools.partial(http.post, "/graphql", json=body, headers=headers))), app
            finally:
                portal.call(http.aclose)
    finally:
        asyncio.run(drop_database(pg_server_url, url))


async def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


def error_codes(result: dict) -> list[str]:
    """The ``extensions.code`` of each GraphQL error of a response."""
    return [e.get("extensions", {}).get("code") for e in result.get("errors", [])]


async def limit_public_rate(app, burst: float, per_second: float) -> None:
    """The app's public rate limit set to ``burst``/``per_second`` (the suite's default lets
    everything through), every address's bucket full."""

    app.state.public_rate = RateLimiter(app.state.rate_engine, burst, per_second, clock=app.state.settings.clock)
    async with app.state.rate_engine.begin() as connection:
        await connection.execute(sa.text("DELETE FROM client_rate"))


def server_ms(response) -> float:
    """The server's own time for a response, in milliseconds (its ``Server-Timing``)."""

    found = re.search(r"app;dur=([0-9.]+)", response.headers.get("server-timing") or "")
    assert found, dict(response.headers)
    return float(found.group(1))


def credit_code(n: int, division: str = "440106") -> str:
    """A valid unified social credit code (GB 32100) registered in ``division``."""

    base = f"91{division}MA5C{n:05d}"
    return base + uscc.calc_check_digit(base)


ID_NUMBER = "11010519491231002X"  # the GB 11643 example

BASICS = """mutation($id: ID, $version: Int, $input: InstitutionBasicsInput!) {
  saveInstitutionBasics(id: $id, version: $version, input: $input) {
    institution { id version name registrationProgress { savedParts missingParts complete } }
    progress { savedParts missingParts complete }
    errors { field code message relatedId }
  }
}"""


def basics(n: int = 1, division: str = "440106", **overrides) -> dict:
    values = {
        "name": f"天河{n}号培训学校",
        "creditCode": credit_code(n, division),
        "address": "广州市天河区天河路 1 号",
        "postalCode": "510630",
        "phone": "020-38880000",
        "email": "school@example.cn",
        "kind": "SUBJECT",
        "mode": "OFFLINE",
        "nature": "NON_PROFIT",
        "legalRepName": "张三",
        "legalRepIdNumber": ID_NUMBER,
        "legalRepPhone": "13800138000",
        "contactName": "李四",
        "contactPhone": "13900139000",
    }
    values.update(overrides)
    return values


PARTS = {
    "Qualifications": {
        "qualificationStatus": "FULL",
        "licenceNumber": "教民144010670000001号",
        "licenceIssuer": "广州市天河区教育局",
        "licenceValidFrom": "2022-01-01",
        "licenceValidTo": "2027-12-31",
        "businessLicenceNumber": "52440106MJL000001X",
        "businessLicenceIssuer": "广州市天河区民政局",
    },
    "Operation": {"trainingCategories": ["SUBJECT", "ARTS"], "studentCount": 150, "staffCount": 30, "teacherCount": 20},
    "SubjectTraining": {
        "noSubjectTraining": False,
        "subjects": ["MATHEMATICS", "ENGLISH"],
        "grades": ["PRIMARY", "JUNIOR_SECONDARY"],
        "classSessions": [{"weekday": 6, "start": "09:00", "end": "17:00"}, {"weekday": 7, "start": "09:00", "end": "17:00"}],
        "feeMonths": 3,
        "feePerHour": "80.00",
    },
    "Facilities": {"floorArea": "800.00", "teachingArea": "500.00", "premises": "LEASED", "leaseEnd": "2028-06-30", "fireSafetyApproved": True},
}


def part_mutation(part: str) -> str:
    return f"""mutation($id: ID!, $version: Int!, $input: Institution{part}Input!) {{
  saveInstitution{part}(id: $id, version: $version, input: $input) {{
    institution {{ id version }}
    progress {{ savedParts missingParts complete }}
    errors {{ field code message }}
  }}
}}"""


async def register(gql, token: str, n: int = 1, division: str = "440106", *, parts=tuple(PARTS), **overrides) -> str:
    """Register an institution through the five mutations; returns its id."""
    result = await gql(BASICS, {"input": basics(n, division, **overrides)}, token=token)
    payload = result["data"]["saveInstitutionBasics"]
    assert payload["errors"] == [], payload
    institution_id = payload["institution"]["id"]
    for part in parts:
        saved = await save(gql, part_mutation(part), {"id": institution_id, "input": PARTS[part]}, token=token)
        assert saved["data"][f"saveInstitution{part}"]["errors"] == [], saved
    return institution_id


async def save(gql, mutation: str, variables: dict, *, token: str) -> dict:
    """Save a part of an existing institution based on its current version (read first)."""
    if "version" not in variables:
        read = await gql("query($id: ID!) { institution(id: $id) { version } }", {"id": variables["id"]}, token=token)
        institution = (read.get("data") or {}).get("institution")
        variables = {**variables, "version": institution["version"] if institution else 0}
    return await gql(mutation, variables, token=token)


_counter = iter(range(1, 10**6))


async def insert_institutions(sessionmaker, per_unit: dict[str, int], **fields) -> dict[str, list[str]]:
    """Institutions registered by the given units (username -> how many), inserted directly,
    with ``fields`` set on each (any Institution column; ``registering_unit_id=None`` for a
    self-registered one in the unit's county); returns their names by unit."""
    names: dict[str, list[str]] = {}
    async with sessionmaker() as db:
        units = dict((await db.execute(sa.select(Account.username, Account).where(Account.username.in_(per_unit)))).all())
        for username, count in per_unit.items():
            unit = units[username]
            for _ in range(count):
                n = next(_counter)
                values = {
                    "kind": "SUBJECT",
                    "mode": "OFFLINE",
                    "nature": "NON_PROFIT",
                    "training_categories": ["SUBJECT"],
                    "registering_unit_id": unit.id,
                    **fields,
                }
                name = f"{unit.region_code}-{values['kind']}-{n:05d}"
                db.add(
                    Institution(
                        name=name,
                        credit_code=credit_code(n, unit.region_code),
                        region_code=unit.region_code,
                        address="地址",
                        legal_rep_name="张三",
                        legal_rep_id_number=ID_NUMBER,
                        legal_rep_phone="13800138000",
                        contact_name="李四",
                        contact_phone="13900139000",
                        **values,
                    )
                )
                names.setdefault(username, []).append(name)
        await db.commit()
    return names


async def institution_account(sessionmaker, institution_name: str, username: str | None = None) -> str:
    """An institution account (培训机构用户) bound to the institution named
    ``institution_name``, password ``Demo#2026`` already changed from the initial one;
    returns its username."""

    async with sessionmaker() as db:
        institution = (await db.execute(sa.select(Institution).where(Institution.name == institution_name))).scalar_one()
        username = username or f"org-{institution.credit_code[-6:].lower()}"
        db.add(
            Account(
                username=username,
                name=f"{institution.name}管理员",
                kind="INSTITUTION",
                institution_id=institution.id,
                region_code=institution.region_code,
                mobile=None,
                password_hash=hash_password(DEMO_PASSWORD),
                must_change_password=False,
            )
        )
        await db.commit()
    return username


def npm_installed(folder: Path) -> None:
    """``npm ci`` in ``folder`` unless its node_modules is there and no older than the
    lock. Skips where Node.js or npm is missing, or the registry does not answer (asked
    first: npm ci would retry for minutes); fails when npm ci fails otherwise."""
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("Node.js and npm are not installed (Debian: apt-get install nodejs npm)")
    installed = folder / "node_modules" / ".package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= (folder / "package-lock.json").stat().st_mtime:
        return
    ping = subprocess.run(["npm", "ping", "--fetch-retries=0", "--fetch-timeout=30000"], cwd=folder, capture_output=True, text=True, timeout=120)
    if ping.returncode != 0:
        errors = [line for line in ping.stderr.splitlines() if line.startswith("npm error")] or ["(no message)"]
        pytest.skip(f"the npm registry does not answer, so the packages of {folder.relative_to(ROOT)} cannot be installed: {errors[0]}")
    install = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=folder, capture_output=True, text=True, timeout=900)
    if install.returncode != 0:
        pytest.fail(f"npm ci in {folder.relative_to(ROOT)} failed:\n{install.stdout}\n{install.stderr}")



# --- the examples (docs/examples/*.graphql) ------------------------------------------

EXAMPLES = ROOT / "docs" / "examples"
_CALLER = re.compile(r"#\s*(caller|as):\s*(\S+)(?:\s+\((.+)\))?\s*$")
_PATH = re.compile(r"#\s*\$(\w+):\s*([\w.]+)\s*$")
_CODE = re.compile(r"#\s*\$(\w+):\s*the code sent to (\S+)\s*$")
_LITERAL = re.compile(r"#\s*\$(\w+)\s*=\s*(.+)$")


@dataclass
class Step:
    query: str
    line: int
    caller: tuple[str, str] | None = None
    paths: dict[str, str] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    literals: dict[str, object] = field(default_factory=dict)


def steps_of(path: Path) -> tuple[tuple[str, str] | None, list[Step]]:
    """The file's caller and its operations, blocks separated by blank lines."""
    text = path.read_text(encoding="utf-8")
    caller, steps, number = None, [], 0
    for block in re.split(r"\n\s*\n", text):
        lines = block.strip("\n").split("\n")
        start = text.index(block.strip("\n")) if block.strip() else 0
        number = text[:start].count("\n") + 1
        comments = [line for line in lines if line.startswith("#")]
        query = "\n".join(line for line in lines if not line.startswith("#")).strip()
        step = Step(query, number)
        for line in comments:
            if found := _CALLER.match(line):
                who = (found.group(2), found.group(3) or DEMO_PASSWORD)
                if found.group(1) == "caller":
                    caller = who
                else:
                    step.caller = who
            elif found := _CODE.match(line):
                step.codes[found.group(1)] = found.group(2)
            elif found := _PATH.match(line):
                step.paths[found.group(1)] = found.group(2)
            elif found := _LITERAL.match(line):
                step.literals[found.group(1)] = json.loads(found.group(2))
        if query:
            steps.append(step)
    return caller, steps


def kind_of(username: str) -> str:
    if username == "anonymous":
        return "anonymous"
    return "regulator" if username.startswith(("edu-", "sports-", "culture-", "science-")) else "institution"




# --- the server as a user starts it ---------------------------------------------------


def private_directory(prefix: str) -> Path:
    """A directory for an embedded server's data outside pytest's temporary root, which
    another pytest run on the machine makes private (0700) again, closing it to the embedded
    server's user between a stop and a start. The caller removes it."""
    return Path(tempfile.mkdtemp(prefix=prefix))


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post_query(port: int, query: str, variables: dict | None = None, token: str | None = None) -> dict:
    """The answer of the server on ``port`` to ``query`` (with the session of ``token``, if any)."""
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers=headers,
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def start(data_dir: Path, port: int, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``python server.py serve`` on the embedded PostgreSQL in ``data_dir``, with ``env``
    added to the environment; returns once /healthz answers. Its output goes to
    ``data_dir/server.log`` (a pipe nobody reads would stall a server that logs much)."""
    env = {**{k: v for k, v in os.environ.items() if k != "DATABASE_URL"}, **(env or {})}
    env["XWPX_DATA_DIR"] = str(data_dir)
    with open(data_dir / "server.log", "a") as log:
        process = subprocess.Popen(
            [sys.executable, "server.py", "serve", "--port", str(port), *extra],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    process.log = data_dir / "server.log"
    return answering(process, port, 120)


def answering(process: subprocess.Popen, port: int, seconds: float) -> subprocess.Popen:
    """``process`` once its /healthz answers on ``port``; the test fails when it exits first
    or does not answer within ``seconds`` (it is killed then)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = getattr(process, "log", None)
            pytest.fail(f"server exited early:\n{log.read_text() if log else ''}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    pytest.fail(f"server did not answer /healthz within {seconds:.0f} s")


def stop(process: subprocess.Popen, sig: int) -> str:
    process.send_signal(sig)
    process.wait(timeout=60)
    output = process.log.read_text()
    assert process.returncode == 0, output
    return output


# --- shared by several test modules -------------------------------------------------


FUNDS_FIELDS = """chargingMethod feeStandard maxMonthsPerPayment maxClassHoursPerPayment refundPolicy escrowBank
  supervisedAccountNumber riskReserve basicAccountBank basicAccountName basicAccountNumber version"""


STAFF_FIELDS = "id name idNumber phone teacherCertificateNumber hasTeacherCertificate status joinedOn departedOn version"


REGISTER = """mutation($input: RegisterInstitutionAccountInput!) {
  registerInstitutionAccount(input: $input) { account { username name mobile email } claimStatus errors { field code } }
}"""


COUNTS = """
  key label region { code }
  institutions { registered complete compliant deregistered }
  inspections { inspected withProblems rectifying rectified overdue recorded }
  applications {
    pending approved rejected
    compliance { pending approved rejected } deregistration { pending approved rejected }
    licence { pending approved rejected } classFiling { pending approved rejected }
  }
  classes { filed pending unfiled }
  staff { active teachers certifiedTeachers }
  lists { white black }
  complaints { total submitted accepted replied rejected illegalOperation illegalEnrolment other medianHandlingHours }
"""


def at(day: str, hour: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


SAVE_FUNDS = f"""mutation($v: Int, $i: InstitutionFundsInput!) {{
  saveInstitutionFunds(version: $v, input: $i) {{ funds {{ {FUNDS_FIELDS} }} errors {{ field code message }} }}
}}"""


async def upload(http, token: str | None, content: bytes, filename: str = "许可证.pdf", category: str = "LICENCE",
                 declared: str = "application/pdf", **fields) -> dict:
    """A GraphQL multipart request (operations, map, the file part)."""
    variables = {"c": category, "f": None, "i": {"title": "办学许可证", **fields}}
    response = await http.post(
        "/graphql",
        data={"operations": json.dumps({"query": UPLOAD, "variables": variables}), "map": json.dumps({"0": ["variables.f"]})},
        files={"0": (filename, content, declared)},
        headers={"Authorization": f"Bearer {token}"} if token else {},
    )
    assert response.status_code == 200, response.text
    return response.json()


IMPORT = "mutation($file: Upload!) { importInstitutions(file: $file) { created updated rows errors { row column code message } } }"


async def import_institutions(http, token: str, content: bytes, filename: str = "institutions.xlsx") -> dict:
    """The batch import as a GraphQL multipart request (operations, map, the file)."""
    response = await http.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": IMPORT, "variables": {"file": None}}),
            "map": json.dumps({"0": ["variables.file"]}),
        },
        files={"0": (filename, content, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


UPLOAD = """mutation($c: DocumentCategory!, $f: Upload!, $i: InstitutionDocumentInput!) {
  uploadInstitutionDocument(category: $c, file: $f, input: $i) {
    document { id category title number issuer validFrom validTo followsModelText fileName contentType size sha256 downloadUrl }
    errors { field code message }
  }
}"""


CREATE_CLASS = """mutation($course: ID!, $input: TrainingClassInput!) {
  createTrainingClass(courseId: $course, input: $input) {
    trainingClass { id name filingStatus version teachers { id name } schedule { weekday start end } }
    findings { rule recordId }
    errors { field code message }
  }
}"""


CREATE_COURSE = """mutation($site: ID!, $input: CourseInput!) {
  createCourse(siteId: $site, input: $input) { course { id name subject version } errors { field code message } }
}"""


CREATE_SITE = """mutation($input: SiteInput!) {
  createSite(input: $input) { site { id type name version } errors { field code message } }
}"""


CREATE_STAFF = f"""mutation($input: StaffInput!) {{
  createStaff(input: $input) {{ staff {{ {STAFF_FIELDS} }} errors {{ field code message }} }}
}}"""


MATHS = {"name": "小学数学", "category": "SUBJECT", "subject": "MATHEMATICS", "grades": ["PRIMARY"], "classHours": 48}


SITE = {"name": "天河校区", "address": "广州市天河区体育西路 1 号", "teachingArea": "300.00"}


TEACHER = {
    "name": "王老师",
    "gender": "FEMALE",
    "idNumber": ID_NUMBER,
    "phone": "13700137000",
    "post": "TEACHING",
    "employment": "FULL_TIME",
    "subjects": ["MATHEMATICS"],
    "teacherCertificateNumber": "20114400121000123",
    "yearsInEducation": 8,
    "joinedOn": "2024-09-01",
}


def data(result: dict, field: str) -> dict:
    assert "errors" not in result, result
    return result["data"][field]


def klass(teacher_id: str, **overrides) -> dict:
    values = {
        "name": "三年级数学培训班",
        "schedule": [{"weekday": 6, "start": "09:00", "end": "10:30"}],
        "startsOn": "2026-09-01",
        "endsOn": "2027-01-15",
        "capacity": 20,
        "enrolled": 0,
        "fee": "2400.00",
        "feeMonths": 3,
        "feeClassHours": 24,
        "teacherIds": [teacher_id],
    }
    values.update(overrides)
    return values


def ok(result: dict, field: str) -> dict:
    payload = data(result, field)
    assert payload["errors"] == [], payload
    return payload


async def portal_institution(gql, sessionmaker, n: int = 1, county: str = "440106", **overrides) -> tuple[str, str]:
    """A fully registered institution of ``county`` and its logged-in account: (id, token)."""
    county_token = await gql.login(f"edu-{county}")
    institution_id = await register(gql, county_token, n, county, **overrides)
    name = (await gql("query($id: ID!) { institution(id: $id) { name } }", {"id": institution_id}, token=county_token))["data"]["institution"]["name"]
    username = await institution_account(sessionmaker, name)
    return institution_id, await gql.login(username)


LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token account { username } } }"


MOBILE = "13900000001"


PASSWORD = "Portal#2026"


async def register_account(gql, sessionmaker, mobile: str = MOBILE, n: int = 901, **overrides) -> dict:
    code = await request_code(gql, sessionmaker, mobile)
    result = await gql(REGISTER, registration(code, mobile, n, **overrides))
    return result["data"]["registerInstitutionAccount"]


SUBMIT = "mutation($input: ComplaintInput!) { submitComplaint(input: $input) { trackingNumber errors { field code message } } }"


def complaint(**overrides) -> dict:
    values = {
        "complainantName": "王小明",
        "complainantMobile": "13812345678",
        "targetType": "INSTITUTION",
        "complaintType": "ILLEGAL_ENROLMENT",
        "countyCode": "440106",
        "targetName": "某某培训学校",
        "content": "周末上课到晚上十点，并要求一次性缴纳一年学费。",
    }
    values.update(overrides)
    return values


def build_file(rows: int) -> bytes:
    spec = importlib.util.spec_from_file_location("bench_import", ROOT / "bench" / "import_institutions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_file(rows)


VIEWERS = ["edu-000000", "edu-440000", "edu-440100", "edu-420000", "edu-440106", "edu-440304", "edu-440106-01", "sports-440106"]


COMPLETE = dict(qualifications_saved=True, operation_saved=True, subject_training_saved=True, facilities_saved=True)


#: Columns of an institution that is compliant on the suite's days (docs/DOMAIN.md §G5): a
#: licence valid to the end of 2027 and a business registration (证照齐全), its compliance
#: application approved.
ELIGIBLE = dict(
    qualification_status="FULL", licence_number="教民144010670000001号", licence_issuer="广州市天河区教育局",
    licence_valid_from=date(2022, 1, 1), licence_valid_to=date(2027, 12, 31), business_licence_number="52440106MJL000001X",
    business_licence_issuer="广州市天河区民政局", review_status="APPROVED",
)


STATISTICS = (
    "query($r: String, $g: StatisticsGrouping, $f: StatisticsFilter) { statistics(regionCode: $r, groupBy: $g, filter: $f) {"
    " region { code name } groupBy takenAt rows { ...counts } total { ...counts } } }"
    " fragment counts on StatisticsRow {" + COUNTS + "}"
)


async def build_world(sessionmaker, created_at: datetime = at("2026-03-10", 2)) -> dict[str, uuid.UUID]:
    ids: dict[str, uuid.UUID] = {}
    for key, (unit, fields) in SPEC.items():
        names = await insert_institutions(sessionmaker, {unit: 1}, created_at=created_at, **fields)
        async with sessionmaker() as db:
            ids[key] = (await db.execute(sa.select(Institution.id).where(Institution.name == names[unit][0]))).scalar_one()
    async with sessionmaker() as db:
        accounts = dict((await db.execute(sa.select(Account.username, Account.id))).all())
        bureau = accounts["edu-440106"]
        for key, day in (("A1", "2026-10-10"), ("A2", "2026-09-01"), ("A3", "2026-03-05"), ("A3", "2026-06-01"), ("B1", "2026-11-01"), ("C1", "2025-12-20"), ("D1", "2026-10-15")):
            db.add(Inspection(institution_id=ids[key], inspected_on=date.fromisoformat(day), inspecting_unit="教育局", result="已排查", recorded_by=bureau))
        # classes: one site and course per institution that has any
        classes: dict[str, list[uuid.UUID]] = {}
        for key, statuses in (("A1", ["FILED", "FILED", "PENDING", "NOT_REQUIRED"]), ("B2", ["NOT_FILED", "REJECTED"]), ("D1", ["PENDING"]), ("C1", ["FILED"])):
            site = Site(institution_id=ids[key], type="SITE", name="办学点", address="地址", teaching_area=Decimal(500))
            db.add(site)
            await db.flush()
            course = Course(institution_id=ids[key], site_id=site.id, name="课程", category="SUBJECT", subject="MATHEMATICS", grades=["PRIMARY"], class_hours=10)
            db.add(course)
            await db.flush()
            for n, status in enumerate(statuses):
                row = TrainingClass(
                    institution_id=ids[key], course_id=course.id, name=f"三年级数学培训班（{n + 1}班）", schedule=[], starts_on=date(2026, 9, 1),
                    ends_on=date(2026, 12, 31), capacity=10, fee=Decimal(100), filing_status=status,
                )
                db.add(row)
                await db.flush()
                classes.setdefault(key, []).append(row.id)
        # staff: (post, certificate, status)
        staff = {
            "A1": [("TEACHING", "T1", "ACTIVE"), ("TEACHING", "T2", "ACTIVE"), ("TEACHING", None, "ACTIVE"), ("MANAGEMENT", None, "ACTIVE"), ("TEACHING", "T3", "DEPARTED")],
            "B1": [("TEACHING", "T4", "ACTIVE")],
            "S1": [("RESEARCH", None, "ACTIVE")],
            "E1": [("TEACHING", "", "ACTIVE")],
        }
        for key, people in staff.items():
            for n, (post, certificate, status) in enumerate(people):
                db.add(
                    Staff(
                        institution_id=ids[key], name=f"员工{n}", gender="FEMALE", id_number=f"{ID_NUMBER[:-2]}{n:02d}", phone="13700137000",
                        post=post, employment="FULL_TIME", teacher_certificate_number=certificate, status=status, joined_on=date(2025, 1, 1),
                    )
                )
        # applications: (institution, type, status, submitted, decided)
        for key, kind, status, submitted, decided in (
            ("A1", "COMPLIANCE", "APPROVED", at("2026-05-10"), at("2026-05-20")),
            ("A2", "LICENCE", "PENDING", at("2026-11-01"), None),
            ("A3", "DEREGISTRATION", "APPROVED", at("2026-06-10"), at("2026-06-15")),
            ("B1", "COMPLIANCE", "REJECTED", at("2026-07-01"), at("2026-07-03")),
            # decided on 31 January at 20:00 UTC: 1 February in Beijing
            ("C1", "COMPLIANCE", "APPROVED", at("2026-01-05"), at("2026-01-31", 20)),
            ("D1", "CLASS_FILING", "PENDING", at("2026-11-02"), None),
            ("E1", "LICENCE", "REJECTED", at("2025-12-01"), at("2025-12-02")),
        ):
            db.add(
                Application(
                    institution_id=ids[key], type=kind, status=status, class_id=classes["D1"][0] if kind == "CLASS_FILING" else None,
                    authority_region_code="440106", authority_department="EDUCATION", authority_level="COUNTY",
                    submitted_at=submitted, decided_at=decided,
                )
            )
        # complaints: (county, status, type, submitted, hours to the reply or rejection)
        for n, (county, status, kind, submitted, hours) in enumerate((
            ("440106", "SUBMITTED", "ILLEGAL_OPERATION", at("2026-11-20"), None),
            ("440106", "REPLIED", "ILLEGAL_ENROLMENT", at("2026-11-01"), 10),
            ("440106", "REJECTED", "OTHER", at("2026-10-01"), 30),
            ("440106", "ACCEPTED", "ILLEGAL_OPERATION", at("2026-11-10"), None),
            ("440104", "REPLIED", "ILLEGAL_OPERATION", at("2026-09-01"), 4),
            ("420102", "SUBMITTED", "OTHER", at("2026-02-14"), None),
        )):
            handled = submitted + timedelta(hours=hours) if hours else None
            db.add(
                Complaint(
                    tracking_number=f"TS20260000{n:04d}", complainant_name="王五", complainant_mobile="13812345678", target_type="INSTITUTION",
                    complaint_type=kind, county_code=county, target_name="某机构", content="内容", status=status, submitted_at=submitted,
                    accepted_at=submitted if status in ("ACCEPTED", "REPLIED") else None,
                    replied_at=handled if status == "REPLIED" else None, rejected_at=handled if status == "REJECTED" else None,
                )
            )
        # lists: the current white list of 广州 is its period 2; the black lists of 广东 and 天河 name B2 twice
        periods = {}
        for region, kind, number in (("440100", "WHITE", 1), ("440100", "WHITE", 2), ("440000", "BLACK", 1), ("440106", "BLACK", 1)):
            period = ListPeriod(region_code=region, kind=kind, number=number, title=f"{region}-{kind}-{number}", published_at=at("2026-10-01"))
            db.add(period)
            await db.flush()
            periods[region, kind, number] = period.id
        gone = uuid.uuid4()  # an institution deleted since it was listed
        for period, key, county in (
            (("440100", "WHITE", 1), "C2", "440104"),
            (("440100", "WHITE", 2), "A1", "440106"),
            (("440100", "WHITE", 2), "C1", "440104"),
            (("440100", "WHITE", 2), None, "440106"),
            (("440000", "BLACK", 1), "D1", "440304"),
            (("440000", "BLACK", 1), "B2", "440106"),
            (("440106", "BLACK", 1), "B2", "440106"),
        ):
            db.add(
                ListEntry(
                    period_id=periods[period], institution_id=ids[key] if key else gone, name=key or "已删除", credit_code="0" * 18,
                    county_code=county, address="地址",
                )
            )
        await db.commit()
    # Inserted past the writers: the rules check the records here (none breaks one).
    await findings.refresh_all(sessionmaker)
    return ids


SERIES = "query($r: String, $from: Date!, $to: Date!) { statisticsSeries(regionCode: $r, from: $from, to: $to) { region { code } from to months { month registrations inspections complaints approvals } } }"


async def request_code(gql, sessionmaker, mobile: str = MOBILE, purpose: str = "REGISTER", token: str | None = None) -> str:
    result = await gql(REQUEST, {"p": purpose, "m": mobile}, token=token)
    assert result == {"data": {"requestVerificationCode": {"accepted": True, "expiresInSeconds": 600, "resendAfterSeconds": 60, "errors": []}}}, result
    return await latest_code(sessionmaker, mobile)


def registration(code: str, mobile: str = MOBILE, n: int = 901, **overrides) -> dict:
    values = {
        "mobile": mobile,
        "code": code,
        "password": PASSWORD,
        "name": "王五",
        "countyCode": "440106",
        "institution": basics(n, "440106", name=f"天河自主注册{n}号培训学校"),
    }
    values.update(overrides)
    return {"input": values}


REQUEST = """mutation($p: VerificationPurpose!, $m: String, $e: String) {
  requestVerificationCode(purpose: $p, mobile: $m, email: $e) { accepted expiresInSeconds resendAfterSeconds errors { field code } }
}"""


async def outbox(sessionmaker, destination: str) -> list[str]:
    async with sessionmaker() as db:
        return list(
            (await db.execute(sa.select(OutboxMessage.body).where(OutboxMessage.destination == destination).order_by(OutboxMessage.created_at))).scalars()
        )


async def latest_code(sessionmaker, destination: str) -> str:
    return re.search(r"验证码 (\d{6})", (await outbox(sessionmaker, destination))[-1]).group(1)


SPEC = {
    "A1": ("edu-440106", dict(**COMPLETE, **ELIGIBLE, inspection_status="RECTIFYING", open_deadline=date(2026, 11, 1))),
    "A2": ("edu-440106", dict(kind="NON_SUBJECT", nature="FOR_PROFIT", training_categories=["SPORTS", "ARTS"], inspection_status="NO_PROBLEMS")),
    "A3": ("edu-440106", dict(**COMPLETE, mode="ONLINE", inspection_status="RECTIFIED", deregistered_at=datetime(2026, 6, 15, tzinfo=UTC))),
    "B1": ("edu-440106-01", dict(**COMPLETE, kind="NON_SUBJECT", training_categories=["SPORTS"], inspection_status="RECTIFYING", open_deadline=date(2026, 12, 31))),
    "B2": ("edu-440106-01", dict()),
    "S1": ("edu-440106", dict(kind="NON_SUBJECT", mode="ONLINE", training_categories=["SCIENCE_TECHNOLOGY"], registering_unit_id=None)),
    "C1": ("edu-440104", dict(**COMPLETE, **ELIGIBLE, inspection_status="NO_PROBLEMS")),
    "C2": ("edu-440104", dict(kind="NON_SUBJECT", training_categories=["ARTS"])),
    "D1": ("edu-440304", dict(inspection_status="RECTIFYING", open_deadline=date(2026, 11, 20))),
    "E1": ("edu-420102", dict()),
    "E2": ("edu-420102", dict(kind="NON_SUBJECT", training_categories=["OTHER"])),
    "E3": ("edu-420102", dict(kind="NON_SUBJECT", training_categories=[])),
}


FUNDS = {"escrowBank": "中国银行广州天河支行", "supervisedAccountNumber": "6216610200012345678", "maxMonthsPerPayment": 3, "maxClassHoursPerPayment": 60}


async def ready_for_compliance(gql, token: str) -> None:
    """Staff, a site, a course and a class that break no rule, and the funds' supervision."""
    ok(await gql(SAVE_FUNDS, {"i": FUNDS}, token=token), "saveInstitutionFunds")
    teacher = ok(await gql(CREATE_STAFF, {"input": TEACHER}, token=token), "createStaff")["staff"]
    site = ok(await gql(CREATE_SITE, {"input": SITE}, token=token), "createSite")["site"]
    course = ok(await gql(CREATE_COURSE, {"site": site["id"], "input": MATHS}, token=token), "createCourse")["course"]
    ok(await gql(CREATE_CLASS, {"course": course["id"], "input": klass(teacher["id"])}, token=token), "createTrainingClass")
# --- live updates in the test's own process --------------------------------------------


class Subscriber:
    """Subscriptions run in the test's process on the app's hub, as a socket of the session
    of ``token`` runs them (the WebSocket itself: tests/test_subscriptions.py). ``closed``
    holds the codes the hub closed the socket with."""

    def __init__(self, app, viewer) -> None:
        self.app, self.viewer = app, viewer
        self.closed: list[tuple[int, str]] = []
        self.results: asyncio.Queue = asyncio.Queue()
        self.tasks: list[asyncio.Task] = []
        self.socket = Socket(app.state.hub, viewer, self._close)
        app.state.hub.join(self.socket)

    @classmethod
    async def of(cls, app, token: str) -> Subscriber:
        settings = app.state.settings
        async with app.state.sessionmaker() as db:
            viewer = await viewer_for_token(db, token, settings.clock(), settings.session_idle_timeout)
        assert viewer is not None
        await asyncio.wait_for(app.state.hub.listening.wait(), 10)
        return cls(app, viewer)

    async def _close(self, code: int, reason: str) -> None:
        self.closed.append((code, reason))

    async def subscribe(self, query: str, variables: dict | None = None) -> None:
        """Start the subscription; returns once the hub holds it (or it answered an error)."""
        state = self.app.state
        context = Context(
            request=None, response=None, settings=state.settings, sessionmaker=state.sessionmaker, viewer=self.viewer, storage=state.storage,
            read_sessionmaker=state.read_sessionmaker, now=state.settings.clock(), socket=self.socket,
        )
        before = state.hub.per_session.get(self.viewer.session_id, 0)
        stream = await full_schema.subscribe(query, variable_values=variables, context_value=context)

        async def collect():
            async for result in stream:
                await self.results.put(result)

        self.tasks.append(asyncio.create_task(collect()))
        for _ in range(500):
            if state.hub.per_session.get(self.viewer.session_id, 0) > before or not self.results.empty() or self.tasks[-1].done():
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the subscription did not start")

    async def next(self, seconds: float = 5) -> dict:
        """The next result as a client receives it: ``{"data": ...}`` or with ``errors``."""
        result = await asyncio.wait_for(self.results.get(), seconds)
        answer = {"data": result.data}
        if result.errors:
            answer["errors"] = [{"message": e.message, "code": (e.extensions or {}).get("code")} for e in result.errors]
        return answer

    async def received(self, seconds: float = 0.3) -> list[dict]:
        """Every result that arrives within ``seconds``."""
        await asyncio.sleep(seconds)
        answers = []
        while not self.results.empty():
            answers.append(await self.next())
        return answers

    async def closing(self, seconds: float = 5) -> list[tuple[int, str]]:
        """The close codes, once the hub has closed the socket (or ``seconds`` passed)."""
        for _ in range(int(seconds / 0.05)):
            if self.closed:
                break
            await asyncio.sleep(0.05)
        return self.closed

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.app.state.hub.leave(self.socket)


class LiveSocket:
    """A ``graphql-transport-ws`` client on a real WebSocket (the ``websockets`` package), as a
    front end holds one; ``served_by`` is the worker that accepted it (``X-Served-By``)."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.served_by = connection.response.headers.get("x-served-by")
        self.ids = 0

    @classmethod
    async def open(cls, port: int, token: str) -> LiveSocket:
        """A socket of the session of ``token``, acknowledged."""
        connection = await websockets.connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"], open_timeout=10)
        await connection.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        ack = json.loads(await asyncio.wait_for(connection.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        return cls(connection)

    @classmethod
    async def on_each_worker(cls, port: int, token: str, workers: int = 2) -> list[LiveSocket]:
        """One socket of ``token`` accepted by each of the server's ``workers``. An idle
        worker that just accepted takes the next connection too (the kernel wakes the last
        waiter first), so the workers holding a socket are paused (SIGSTOP) while the next is
        opened, and resumed at once."""
        sockets = [await cls.open(port, token)]
        paused: list[int] = []
        try:
            while len(sockets) < workers:
                paused.append(int(sockets[-1].served_by))
                os.kill(paused[-1], signal.SIGSTOP)
                sockets.append(await cls.open(port, token))
        finally:
            for pid in paused:
                os.kill(pid, signal.SIGCONT)
        assert len({s.served_by for s in sockets}) == workers, [s.served_by for s in sockets]
        return sockets

    async def subscribe(self, query: str, variables: dict | None = None) -> str:
        self.ids += 1
        await self.connection.send(json.dumps({"id": str(self.ids), "type": "subscribe", "payload": {"query": query, "variables": variables or {}}}))
        return str(self.ids)

    async def next(self, seconds: float = 10) -> dict:
        """The next ``next`` message's payload (answering pings)."""
        while True:
            message = json.loads(await asyncio.wait_for(self.connection.recv(), seconds))
            if message["type"] == "ping":
                await self.connection.send(json.dumps({"type": "pong"}))
                continue
            assert message["type"] == "next", message
            return message["payload"]

    async def received(self, seconds: float) -> list[dict]:
        """Every payload that arrives within ``seconds``."""
        payloads = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while True:
                    payloads.append(await self.next(seconds))
        return payloads

    async def close_code(self, seconds: float = 10) -> tuple[int, str]:
        """The code and reason the server closes the socket with."""
        with contextlib.suppress(websockets.ConnectionClosed):
            async with asyncio.timeout(seconds):
                while True:
                    await self.connection.recv()
        return self.connection.close_code, self.connection.close_reason

    async def close(self) -> None:
        await self.connection.close()


# --- subscriptions shared by the in-process and the served tests -------------------------

COMPLAINTS = "subscription { complaintReceived { type complaint { trackingNumber complainantName complainantMobile county { code } } } }"
NOTICES = "subscription { urgingNoticeReceived { type notice { message county { code } } } }"
DECIDED = "subscription { applicationDecided { type application { status opinion } } }"
SEND_NOTICE = 'mutation { sendUrgingNotice(countyCode: "440106", message: "请尽快处理逾期台账") { errors { code } } }'
def change_set(*changes: dict, name: str = "test-change", effective: str = "2026-11-20", **fields) -> bytes:
    """A change-set file (docs/regions.md) of ``changes``."""
    return json.dumps({"id": name, "title": "测试区划调整", "effective": effective, "changes": list(changes), **fields}, ensure_ascii=False).encode()


async def apply_changes(app, content: bytes, *, dry_run: bool = False):
    """Apply a change-set file as ``regions apply`` does, at the app's clock: (checked, moved)."""
    return await apply_change_set(app.state.engine, content, app.state.settings.clock(), Operator("cli:test"), dry_run=dry_run)


async def tally_differences(sessionmaker) -> list[tuple[str, str]]:
    """What ``tally_check()`` finds (nothing, when the tallies agree with a recount)."""
    async with sessionmaker() as db:
        return [tuple(r) for r in (await db.execute(sa.text("SELECT tally, key FROM tally_check() ORDER BY 1, 2"))).all()]


async def with_findings(sessionmaker, ids: dict[str, str]) -> dict[str, set[str]]:
    """Findings on the institutions ``ids`` (names -> ids, as ``scope_world`` gives them),
    kept as every writer keeps them (``resolvers.findings.refresh``): each declares fees paid
    6 months at a time (FEE_PERIOD, on its InstitutionFunds), and the subject ones are
    for-profit (NON_PROFIT, on the institution). Returns the rules found, by institution name."""
    async with sessionmaker() as db:
        for institution_id in ids.values():
            db.add(InstitutionFunds(institution_id=uuid.UUID(institution_id), max_months_per_payment=6))
        subject = [uuid.UUID(i) for name, i in ids.items() if "-SUBJECT-" in name]
        await db.execute(sa.update(Institution).where(Institution.id.in_(subject)).values(nature="FOR_PROFIT"))
        await findings.refresh(db, [uuid.UUID(i) for i in ids.values()])
        await db.commit()
    return {name: {"FEE_PERIOD", *(["NON_PROFIT"] if "-SUBJECT-" in name else [])} for name in ids}


def signed_in(post, usernames: list[str], passwords: dict[str, str] | None = None) -> dict[str, dict]:
    """The Authorization header of each username, signed in through ``post`` (the demo
    password unless ``passwords`` names another)."""
    headers = {}
    for username in usernames:
        password = (passwords or {}).get(username, DEMO_PASSWORD)
        login = post({"query": LOGIN, "variables": {"u": username, "p": password}}, {})
        headers[username] = {"Authorization": f"Bearer {login.json()['data']['login']['token']}"}
    return headers


# --- the planned read path against normal execution (tests/test_planner*.py) ---


def planned_count(path: str = "planned") -> float:
    return REGISTRY.get_sample_value("xwpx_graphql_planned_total", {"path": path}) or 0.0


def both_paths(client, body: dict, headers: dict) -> tuple[bytes, bytes, bool]:
    """The answer with planned reads off and on, and whether the second was planned."""
    post, app = client
    app.state.settings.planned_reads = False
    try:
        normal = post(body, headers)
    finally:
        app.state.settings.planned_reads = True
    before = planned_count()
    planned = post(body, headers)
    assert (normal.status_code, normal.headers.get("content-type")) == (planned.status_code, planned.headers.get("content-type")), (normal.text, planned.text)
    return normal.content, planned.content, planned_count() == before + 1


def check_generated(client, headers: dict, username: str, documents: st.SearchStrategy, examples: int) -> None:
    """Documents drawn from ``documents`` ((query, variables, covered)) asked by ``username``
    with planned reads off and on: the same bytes; planned exactly when covered, asked by a
    regulator and answered without errors; both paths reached (the institution account's
    only by normal execution)."""
    seen = {"planned": 0, "normal": 0}

    # A seed of each viewer's own: other documents for each, the same on every run.
    @seed(zlib.crc32(username.encode()))
    @hypothesis_settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(documents)
    def run(case: tuple[str, dict, bool]) -> None:
        query, variables, covered = case
        normal, planned, was_planned = both_paths(client, {"query": query, "variables": variables}, headers)
        assert planned == normal, (query, variables)
        answer = json.loads(normal)
        assert was_planned == (covered and username != "org-1" and "errors" not in answer), (query, variables, answer)
        seen["planned" if was_planned else "normal"] += 1

    run()
    assert seen["planned"] > 0 if username != "org-1" else seen["planned"] == 0, seen
    assert seen["normal"] > 0, seen


def counted(client, body: dict, headers: dict, parameters: list | None = None, checkouts: list | None = None) -> tuple[dict, list[str], bool]:
    """The answer of ``body`` asked a second time (the first plans and compiles it), the
    statements it ran (their parameters into ``parameters``; the main pool's checkouts into
    ``checkouts``), and whether it was planned."""
    post, app = client
    statements: list[str] = []

    def count(conn, cursor, statement, sent, *_):
        statements.append(statement)
        if parameters is not None:
            parameters.append(sent)

    def checkout(dbapi_connection, *_):
        if checkouts is not None:
            checkouts.append(dbapi_connection)

    engine = app.state.engine.sync_engine
    post(body, headers)
    sa.event.listen(engine, "before_cursor_execute", count)
    sa.event.listen(engine.pool, "checkout", checkout)
    try:
        before = planned_count()
        answer = post(body, headers).json()
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
        sa.event.remove(engine.pool, "checkout", checkout)
    return answer, statements, planned_count() == before + 1
