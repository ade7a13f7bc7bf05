"""The README's first command as a user runs it: `python server.py serve --demo` on the
embedded PostgreSQL, stopped and started again on the same data."""

from __future__ import annotations

import signal
import urllib.request

import pytest

from tests.helpers import free_port, post_query, start, stop

pytestmark = pytest.mark.slow


LOGIN = 'mutation { login(username: "edu-440106", password: "Demo#2026") { account { username } } }'


def test_serve_on_embedded_postgres_stops_cleanly_and_reuses_its_data(server_dir):
    port = free_port()
    # first start: creates the database, migrates, seeds the demo accounts
    server = start(server_dir, port, "--demo")
    try:
        assert post_query(port, LOGIN) == {"data": {"login": {"account": {"username": "edu-440106"}}}}
        assert b"graphiql" in urllib.request.urlopen(
            urllib.request.Request(f"http://127.0.0.1:{port}/graphql", headers={"Accept": "text/html"}), timeout=10
        ).read().lower()
    finally:
        stop(server, signal.SIGINT)
    # stopping the server stopped the embedded PostgreSQL
    assert not (server_dir / "pg" / "postmaster.pid").exists()
    # second start, without --demo: the same data is there
    server = start(server_dir, port)
    try:
        assert post_query(port, LOGIN) == {"data": {"login": {"account": {"username": "edu-440106"}}}}
    finally:
        stop(server, signal.SIGTERM)
    assert not (server_dir / "pg" / "postmaster.pid").exists()
