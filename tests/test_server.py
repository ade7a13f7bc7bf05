"""The README's first command as a user runs it: `python server.py serve --demo` on the
embedded PostgreSQL, stopped and started again on the same data."""

from __future__ import annotations

import json
import signal
import urllib.request

from tests.helpers import free_port, start, stop


def post(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


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
