"""Helpers shared by the tests."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

from demo.accounts import DEMO_PASSWORD
from models import Account, Institution

ROOT = Path(__file__).resolve().parents[1]


def error_codes(result: dict) -> list[str]:
    """The ``extensions.code`` of each GraphQL error of a response."""
    return [e.get("extensions", {}).get("code") for e in result.get("errors", [])]


async def limit_public_rate(app, burst: float, per_second: float) -> None:
    """The app's public rate limit set to ``burst``/``per_second`` (the suite's default lets
    everything through), every address's bucket full."""
    from auth.ratelimit import RateLimiter

    app.state.public_rate = RateLimiter(app.state.rate_engine, burst, per_second, clock=app.state.settings.clock)
    async with app.state.rate_engine.begin() as connection:
        await connection.execute(sa.text("DELETE FROM client_rate"))


def server_ms(response) -> float:
    """The server's own time for a response, in milliseconds (its ``Server-Timing``)."""
    import re

    found = re.search(r"app;dur=([0-9.]+)", response.headers.get("server-timing") or "")
    assert found, dict(response.headers)
    return float(found.group(1))


def credit_code(n: int, division: str = "440106") -> str:
    """A valid unified social credit code (GB 32100) registered in ``division``."""
    from stdnum.cn import uscc

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
    "Operation": {"trainingCategories": ["SUBJECT", "ARTS"], "studentCount": 300, "staffCount": 30, "teacherCount": 20},
    "SubjectTraining": {
        "noSubjectTraining": False,
        "subjects": ["MATHEMATICS", "ENGLISH"],
        "grades": ["PRIMARY", "JUNIOR_SECONDARY"],
        "classTimes": "周六、周日 9:00-17:00",
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
    from auth.passwords import hash_password

    async with sessionmaker() as db:
        institution = (await db.execute(sa.select(Institution).where(Institution.name == institution_name))).scalar_one()
        username = username or f"org-{institution.credit_code[-6:].lower()}"
        db.add(
            Account(
                username=username,
                name=f"{institution.name}管理员",
                kind="INSTITUTION",
                institution_id=institution.id,
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
    return "regulator" if username.startswith(("edu-", "sports-")) else "institution"




# --- the server as a user starts it ---------------------------------------------------


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post_query(port: int, query: str) -> dict:
    """The answer of the server on ``port`` to ``query`` (no session)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
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
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited early:\n{process.log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    pytest.fail("server did not answer /healthz within 120 s")


def stop(process: subprocess.Popen, sig: int) -> str:
    process.send_signal(sig)
    process.wait(timeout=60)
    output = process.log.read_text()
    assert process.returncode == 0, output
    return output
