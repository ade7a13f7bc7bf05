"""The command line: create-admin bootstraps a deployment without demo data."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from models.database import execute_admin, with_database

ROOT = Path(__file__).resolve().parents[1]


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
