"""Helpers shared by the tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa

from models import Account, Institution


def error_codes(result: dict) -> list[str]:
    """The ``extensions.code`` of each GraphQL error of a response."""
    return [e.get("extensions", {}).get("code") for e in result.get("errors", [])]


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
    from resolvers.demo import DEMO_PASSWORD

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


# --- servers in a process of their own ---------------------------------------------


ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
