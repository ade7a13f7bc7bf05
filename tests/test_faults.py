"""Faults: the database goes away mid-service and comes back."""

from __future__ import annotations

import asyncio
import functools

import httpx
from anyio.from_thread import start_blocking_portal
from pgserver._commands import pg_ctl

from core.settings import Settings
from models.database import _connect, ensure_database, run_migrations, server_url, start_embedded
from server import create_app

QUERY = {"query": '{ region(code: "440106") { name } }'}


async def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


def test_losing_the_database_answers_clearly_and_the_server_recovers_by_itself(tmp_path):
    # given: a server on a database of its own
    pgserver = start_embedded(tmp_path / "pg", cleanup_mode="delete")
    asyncio.run(ensure_database(server_url(pgserver), "faults"))
    url = server_url(pgserver, "faults")
    run_migrations(url)
    app = create_app(Settings(database_url=url))
    try:
        with start_blocking_portal() as portal, portal.wrap_async_context_manager(app.router.lifespan_context(app)):
            http = portal.call(lambda: _client(app))
            post = functools.partial(portal.call, functools.partial(http.post, "/graphql", json=QUERY))
            assert post().json() == {"data": {"region": {"name": "天河区"}}}
            # when: the database stops

            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgserver.pgdata, user=pgserver.system_user)
            lost = post()
            # then: a clear error with a code, not a 500
            assert lost.status_code == 200
            assert [e["extensions"]["code"] for e in lost.json()["errors"]] == ["DATABASE_UNAVAILABLE"]
            # and when it is back, the same server answers again, with no restart of its own
            pgserver.ensure_postgres_running()
            assert post().json() == {"data": {"region": {"name": "天河区"}}}
            portal.call(http.aclose)
    finally:
        pgserver.cleanup()


async def test_connections_the_database_dropped_are_replaced_before_use(gql, demo, database_url):
    # given: the pools hold connections
    assert await gql(QUERY["query"]) == {"data": {"region": {"name": "天河区"}}}
    token = await gql.login("edu-440106")
    assert "errors" not in await gql("{ institutions { totalCount } }", token=token)
    # when: the database ends every one of them (a restart, a failover, an idle timeout)
    admin = await _connect(database_url)
    try:
        ended = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    assert ended >= 2
    # then: the next requests are answered as if nothing had happened
    for _ in range(3):
        assert await gql(QUERY["query"]) == {"data": {"region": {"name": "天河区"}}}
        assert "errors" not in await gql("{ institutions { totalCount } }", token=token)
