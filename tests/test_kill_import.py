"""Killing the server in the middle of an import leaves nothing half-written: the import is
one transaction, and PostgreSQL rolls it back when the server's connection dies."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest
import sqlalchemy as sa

from models import AuditRecord, Institution
from models.database import _connect, async_url
from tests.helpers import ROOT, answering, build_file, free_port

pytestmark = pytest.mark.slow

ROWS = 8_000


def _start(database_url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url}
    process = subprocess.Popen(
        [sys.executable, "server.py", "serve", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    return answering(process, port, 60)


async def test_killing_the_server_during_an_import_writes_nothing(database_url, demo, sessionmaker, capsys):
    content = build_file(ROWS)
    capsys.readouterr()  # the builder's progress bar
    port = free_port()
    server = _start(database_url, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
            login = http.post("/graphql", json={"query": 'mutation { login(username: "edu-440106", password: "Demo#2026") { token } }'})
            token = login.json()["data"]["login"]["token"]

            def send() -> None:
                try:
                    http.post(
                        "/graphql",
                        headers={"Authorization": f"Bearer {token}"},
                        data={
                            "operations": '{"query": "mutation($f: Upload!) { importInstitutions(file: $f) { created errors { message } } }", "variables": {"f": null}}',
                            "map": '{"0": ["variables.f"]}',
                        },
                        files={"0": ("institutions.xlsx", content)},
                    )
                except httpx.HTTPError:
                    pass  # the server is killed under it

            sender = threading.Thread(target=send)
            sender.start()
            watcher = await _connect(async_url(database_url))
            try:
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    writing = await watcher.fetchval(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'INSERT INTO institution%'"
                    )
                    if writing:
                        break
                    await asyncio.sleep(0.02)
                else:
                    pytest.fail("the import never reached its inserts")
                # Mid-transaction: the rows are being written, nothing is committed yet.
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=30)
                sender.join(timeout=30)
                # PostgreSQL notices the dead connection and rolls its transaction back.
                deadline = time.monotonic() + 30
                while await watcher.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'"):
                    assert time.monotonic() < deadline, "the killed server's transaction is still open"
                    await asyncio.sleep(0.1)
            finally:
                await watcher.close()
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
    async with sessionmaker() as db:
        assert (await db.execute(sa.select(sa.func.count()).select_from(Institution))).scalar_one() == 0
        imports = (await db.execute(sa.select(sa.func.count()).select_from(AuditRecord).where(AuditRecord.operation == "importInstitutions"))).scalar_one()
    assert imports == 0
