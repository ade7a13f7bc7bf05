"""The command line: create-admin bootstraps a deployment without demo data."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from models import Institution
from models.database import execute_admin, with_database
from tests.helpers import ROOT, build_file, insert_institutions

# Each test runs server.py in a process of its own.
pytestmark = pytest.mark.slow


def run(url: str, *args: str, password: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, "XWPX_ADMIN_PASSWORD": password}
    return subprocess.run([sys.executable, "server.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_create_admin_on_an_empty_database(pg_server_url):
    name = f"xwpx_cli_{uuid.uuid4().hex[:12]}"
    asyncio.run(execute_admin(pg_server_url, f'CREATE DATABASE "{name}"'))
    url = with_database(pg_server_url, name)
    try:
        weak = run(url, "create-admin", "--username", "root-admin", password="123456")
        assert weak.returncode == 2 and "rule" in weak.stderr
        ok = run(url, "create-admin", "--username", "root-admin", password="Strong#Pass1")
        assert ok.returncode == 0, ok.stderr
        again = run(url, "create-admin", "--username", "root-admin", password="Strong#Pass1")
        assert again.returncode == 1 and "exists already" in again.stderr

        async def read():
            engine = create_async_engine(url)
            async with engine.connect() as conn:
                rows = (await conn.execute(sa.text("SELECT username, level, region_code, department, password_hash LIKE '$argon2id$%' FROM account"))).all()
            await engine.dispose()
            return rows

        assert asyncio.run(read()) == [("root-admin", "MINISTRY", "000000", "EDUCATION", True)]
    finally:
        asyncio.run(execute_admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_an_unknown_command_is_refused_with_usage():
    result = subprocess.run([sys.executable, "server.py", "no-such-command"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "invalid choice" in result.stderr


async def test_import_from_the_command_line_with_progress(database_url, demo, sessionmaker, tmp_path):

    good = tmp_path / "good.xlsx"
    good.write_bytes(build_file(600))

    def cli(*args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "DATABASE_URL": database_url}
        return subprocess.run([sys.executable, "server.py", "import", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)

    done = await asyncio.to_thread(cli, str(good), "--account", "edu-440106")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported: 600 created, 0 updated"
    assert "checking [##############################] 600/600" in done.stderr
    async with sessionmaker() as db:
        assert (await db.execute(sa.select(sa.func.count()).select_from(Institution))).scalar_one() == 600
    # the sports bureau is not a registration desk; an unknown account is named; a bad file is refused
    sports = await asyncio.to_thread(cli, str(good), "--account", "sports-440106")
    assert sports.returncode == 1 and "FORBIDDEN" in sports.stderr
    unknown = await asyncio.to_thread(cli, str(good), "--account", "nobody")
    assert unknown.returncode == 1 and "no account 'nobody'" in unknown.stderr
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a spreadsheet")
    broken = await asyncio.to_thread(cli, str(bad), "--account", "edu-440106")
    assert broken.returncode == 1 and broken.stderr.strip().splitlines()[-1] == "NOT_XLSX: 文件不是有效的 Excel（.xlsx）文件，请下载导入模板填写后上传"


async def test_tallies_are_checked_and_rebuilt_from_the_command_line(database_url, demo, sessionmaker):

    # given: institutions, counted by the triggers
    await insert_institutions(sessionmaker, {"edu-440106": 3})

    def tallies(*args: str) -> subprocess.CompletedProcess:
        return run(database_url, "tallies", *args, password="unused")

    result = await asyncio.to_thread(tallies)
    assert result.returncode == 0, result.stderr
    assert "agree" in result.stdout
    # when: two institutions' tallies are changed behind the triggers' back
    async with sessionmaker() as db:
        gone = (
            await db.execute(
                sa.text(
                    "UPDATE institution_tally SET staff_active = staff_active + 3"
                    " WHERE institution_id IN (SELECT id FROM institution ORDER BY id LIMIT 2) RETURNING institution_id"
                )
            )
        ).scalars().all()
        await db.commit()
    assert len(gone) == 2
    # then: the check names the institutions (and their counties) and fails, telling what to do
    result = await asyncio.to_thread(tallies)
    assert result.returncode == 1
    named = {line.split()[1] for line in result.stdout.splitlines() if line.startswith("institution_tally ")}
    assert named == {str(i) for i in gone}
    assert "--rebuild" in result.stderr
    # and a finding kept that the records no longer give (as after a change of the rules)
    async with sessionmaker() as db:
        await db.execute(sa.text(
            "INSERT INTO institution_finding (institution_id, position, rule, severity, message, source, record_type, record_id, record_name)"
            " SELECT id, 0, 'FIRE_SAFETY', 'VIOLATION', '旧的检查结果', '来源', 'Institution', id, '5 办学条件' FROM institution WHERE id = :id"
        ), {"id": gone[0]})
        await db.commit()
    # when: a rebuild
    result = await asyncio.to_thread(tallies, "--rebuild")
    # then: it checks the records again and recounts the tallies
    assert result.returncode == 0, result.stderr
    assert "agree" in result.stdout
    assert "规则检查" in result.stderr
    async with sessionmaker() as db:
        kept = (await db.execute(sa.text("SELECT count(*) FROM institution_finding WHERE institution_id = :id"), {"id": gone[0]})).scalar_one()
    assert kept == 0
