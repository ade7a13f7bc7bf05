"""The README's first command as a user runs it: `python server.py serve --demo` on the
embedded PostgreSQL, stopped and started again on the same data."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port: int, query: str) -> dict:
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


LOGIN = 'mutation { login(username: "edu-440106", password: "Demo#2026") { account { username } } }'


def test_serve_on_embedded_postgres_stops_cleanly_and_reuses_its_data(tmp_path):
    port = free_port()
    # first start: creates the database, migrates, seeds the demo accounts
    server = start(tmp_path, port, "--demo")
    try:
        assert post(port, LOGIN) == {"data": {"login": {"account": {"username": "edu-440106"}}}}
        assert b"graphiql" in urllib.request.urlopen(
            urllib.request.Request(f"http://127.0.0.1:{port}/graphql", headers={"Accept": "text/html"}), timeout=10
        ).read().lower()
    finally:
        stop(server, signal.SIGINT)
    # stopping the server stopped the embedded PostgreSQL
    assert not (tmp_path / "pg" / "postmaster.pid").exists()
    # second start, without --demo: the same data is there
    server = start(tmp_path, port)
    try:
        assert post(port, LOGIN) == {"data": {"login": {"account": {"username": "edu-440106"}}}}
    finally:
        stop(server, signal.SIGTERM)
    assert not (tmp_path / "pg" / "postmaster.pid").exists()
