"""Faults: the database goes away mid-service and comes back; pools run dry.

The tests that stop the database use an embedded PostgreSQL of their own (``own_server``),
never the suite's shared one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from pgserver._commands import pg_ctl
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import create_async_engine

from core import faults
from core.logs import configure_logging
from core.settings import Settings
from demo.accounts import seed_accounts
from models.database import _connect, create_engine, create_sessionmaker, ensure_database, run_migrations, server_url, start_embedded
from resolvers.loaders import RegionByCodeLoader
from server import create_app
from tests.helpers import free_port, private_directory, start, stop
from web.graphql import writes_answered

QUERY = {"query": '{ region(code: "440106") { name } }'}
UNAVAILABLE = {
    "message": "数据库暂时不可用，请稍后重试 (the database is unavailable; try again shortly)",
    "extensions": {"code": "DATABASE_UNAVAILABLE", "retryAfterSeconds": 5},
}
BUSY = {"message": "访问繁忙，请稍后再试 (the service is busy; try again shortly)", "extensions": {"code": "SERVICE_BUSY", "retryAfterSeconds": 1}}
GRAPHQL_RESPONSE = {"Accept": "application/graphql-response+json, application/json;q=0.9"}


@pytest.fixture(scope="module")
def own_server():
    """An embedded PostgreSQL for this module alone, with a migrated database ``faults``."""
    directory = private_directory("xwpx-faults-")
    server = start_embedded(directory / "pg", cleanup_mode="delete")
    asyncio.run(ensure_database(server_url(server), "faults"))
    run_migrations(server_url(server, "faults"))
    yield server
    server.cleanup()
    shutil.rmtree(directory, ignore_errors=True)


def stop_database(server) -> None:
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)


@contextlib.asynccontextmanager
async def running_app(server, **settings):
    app = create_app(Settings(database_url=server_url(server, "faults"), **{"public_cache_seconds": 0, **settings}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            yield app, http


@contextlib.contextmanager
def json_log():
    """The app's JSON log lines (operations.configure_logging) written meanwhile."""

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging(fmt="json")
    root.handlers[0].setStream(stream)
    lines: list[dict] = []
    try:
        yield lines
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        lines.extend(json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{"))


async def test_losing_the_database_answers_clearly_and_the_server_recovers_by_itself(own_server):
    # given: a server on a database of its own
    async with running_app(own_server) as (_, http):
        assert (await http.post("/graphql", json=QUERY)).json() == {"data": {"region": {"name": "天河区"}}}
        # when: the database stops
        stop_database(own_server)
        try:
            lost = await http.post("/graphql", json=QUERY)
            # then: a clear error with a code, not a 500 (application/json: a 200 with the code);
            # an anonymous request meets it at its rate's count, before the operation runs
            assert (lost.status_code, lost.headers["retry-after"]) == (200, "5")
            assert lost.json() == {"data": None, "errors": [UNAVAILABLE]}
        finally:
            own_server.ensure_postgres_running()
        # and when it is back, the same server answers again, with no restart of its own
        assert (await http.post("/graphql", json=QUERY)).json() == {"data": {"region": {"name": "天河区"}}}


async def test_every_route_answers_a_lost_database_with_a_code(own_server):
    # given: a running app, a signed-in regulator and pooled connections
    async with running_app(own_server) as (app, http):
        await seed_accounts(app.state.sessionmaker)
        login = await http.post("/graphql", json={"query": 'mutation { login(username: "edu-440106", password: "Demo#2026") { token } }'})
        signed_in = {"Authorization": f"Bearer {login.json()['data']['login']['token']}"}
        assert (await http.post("/graphql", json={"query": "{ me { username } }"}, headers=signed_in)).json() == {"data": {"me": {"username": "edu-440106"}}}
        assert (await http.get("/readyz")).status_code == 200
        query = '{ region(code: "440106") { name } }'
        digest = hashlib.sha256(query.encode()).hexdigest()
        assert "errors" not in (await http.post("/graphql", json={"query": query, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}})).json()
        app.state.persisted_cache.entries.clear()  # as another worker: the hash is looked up in PostgreSQL

        # when: the database stops
        stop_database(own_server)
        try:
            with json_log() as lines:
                # then: GraphQL under application/graphql-response+json: 503, Retry-After, no data
                graphql = {
                    "signed-in query (the session lookup)": dict(json={"query": "{ me { username } }"}, headers={**signed_in, **GRAPHQL_RESPONSE}),
                    "anonymous query": dict(json=QUERY, headers=GRAPHQL_RESPONSE),
                    "persisted query by hash": dict(json={"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}, headers=GRAPHQL_RESPONSE),
                    "login mutation": dict(json={"query": 'mutation { login(username: "edu-440106", password: "Demo#2026") { token } }'}, headers=GRAPHQL_RESPONSE),
                    "upload": dict(
                        data={
                            "operations": json.dumps({"query": "mutation($f: Upload!) { importInstitutions(file: $f) { created } }", "variables": {"f": None}}),
                            "map": json.dumps({"0": ["variables.f"]}),
                        },
                        files={"0": ("机构.xlsx", b"PK\x03\x04", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")},
                        headers={**signed_in, **GRAPHQL_RESPONSE},
                    ),
                }
                for what, request in graphql.items():
                    response = await http.post("/graphql", **request)
                    assert (response.status_code, response.headers["retry-after"]) == (503, "5"), what
                    assert response.headers["content-type"] == "application/graphql-response+json; charset=utf-8", what
                    body = response.json()
                    assert "data" not in body, what
                    assert [(e["message"], e["extensions"]) for e in body["errors"]] == [(UNAVAILABLE["message"], UNAVAILABLE["extensions"])], what
                # under application/json the same answer is a 200 (every GraphQL result is there)
                legacy = await http.post("/graphql", json={"query": "{ me { username } }"}, headers={**signed_in, "Accept": "application/json"})
                assert (legacy.status_code, legacy.headers["retry-after"], legacy.json()) == (200, "5", {"data": None, "errors": [UNAVAILABLE]})
                # the plain endpoints: 503 with their own error shape
                endpoint_error = {"error": {"code": "DATABASE_UNAVAILABLE", "message": UNAVAILABLE["message"]}}
                for path, headers in [
                    ("/files/00000000-0000-0000-0000-000000000001", signed_in),
                    ("/exports/institutions.xlsx", signed_in),
                    ("/exports/findings.xlsx", signed_in),
                    ("/exports/materials.xlsx", signed_in),
                    ("/exports/statistics.xlsx", signed_in),
                    ("/templates/institutions.xlsx", signed_in),
                    ("/public/lists/00000000-0000-0000-0000-000000000001.xlsx", {}),
                ]:
                    response = await http.get(path, headers={**headers, "X-Request-ID": "outage-route"})
                    assert (response.status_code, response.headers["retry-after"], response.json()) == (503, "5", endpoint_error), path
                    assert response.headers["content-type"] == "application/json", path
                # health: the process is up, not ready; the metrics answer
                ready = await http.get("/readyz")
                assert (ready.status_code, ready.headers["retry-after"], ready.json()) == (503, "5", {
                    "status": "unavailable", "database": "unreachable", "error": {"code": "DATABASE_UNAVAILABLE", "message": UNAVAILABLE["message"]},
                })
                assert (await http.get("/healthz")).json() == {"status": "ok"}
                assert 'xwpx_http_requests_total{method="GET",route="/files/{document_id}",status="503"}' in (await http.get("/metrics")).text
                # one request, one WARNING line with its id and code
                await http.post("/graphql", json={"query": "{ me { username } }"}, headers={**signed_in, "X-Request-ID": "outage-1"})
        finally:
            own_server.ensure_postgres_running()
        # then: expected refusals are one WARNING line each, with the code, no traceback
        assert [(line["level"], line["code"]) for line in lines if line["request_id"] == "outage-1"] == [("WARNING", "DATABASE_UNAVAILABLE")]
        route_lines = [line for line in lines if line["request_id"] == "outage-route"]
        assert [(line["level"], line["code"]) for line in route_lines] == [("WARNING", "DATABASE_UNAVAILABLE")] * 7
        assert not [line for line in lines if "exc_info" in line or "Traceback" in line["message"]]
        assert {line["level"] for line in lines} <= {"INFO", "WARNING"}
        # and once it is back, the same app answers every route again
        assert (await http.post("/graphql", json={"query": "{ me { username } }"}, headers=signed_in)).json() == {"data": {"me": {"username": "edu-440106"}}}
        assert (await http.get("/templates/institutions.xlsx", headers=signed_in)).status_code == 200
        assert (await http.get("/readyz")).status_code == 200


async def test_a_busy_pool_is_a_503_with_retry_after_at_every_layer(own_server):
    # given: every connection of the regulators' pool taken, with a short wait for one
    async with running_app(own_server) as (app, http):
        await seed_accounts(app.state.sessionmaker)
        login = await http.post("/graphql", json={"query": 'mutation { login(username: "edu-440106", password: "Demo#2026") { token } }'})
        signed_in = {"Authorization": f"Bearer {login.json()['data']['login']['token']}"}
        pool = app.state.engine.pool
        pool._timeout = 0.2
        held = [await app.state.engine.connect() for _ in range(pool.size() + pool._max_overflow)]
        try:
            with json_log() as lines:
                # when: a signed-in caller asks (its session is looked up before GraphQL)
                response = await http.post("/graphql", json={"query": "{ me { username } }"}, headers={**signed_in, **GRAPHQL_RESPONSE, "X-Request-ID": "busy-1"})
                export = await http.get("/exports/institutions.xlsx", headers=signed_in)
        finally:
            for connection in held:
                await connection.close()
        # then: 503, Retry-After and the code, and one WARNING line
        assert (response.status_code, response.headers["retry-after"], response.json()) == (503, "1", {"errors": [BUSY]})
        assert (export.status_code, export.headers["retry-after"], export.json()["error"]["code"]) == (503, "1", "SERVICE_BUSY")
        assert [(line["level"], line["code"]) for line in lines if line["request_id"] == "busy-1"] == [("WARNING", "SERVICE_BUSY")]
        assert (await http.post("/graphql", json={"query": "{ me { username } }"}, headers=signed_in)).json() == {"data": {"me": {"username": "edu-440106"}}}


async def test_a_field_that_meets_a_lost_database_fails_the_query_as_a_whole(http, app, monkeypatch):
    """A query with one field on a lost database: no partial data, so that the status can
    say 503. (An OSError that did not come from the database is a bug, not a fault.)"""
    async def refused(self, codes):
        raise ConnectionRefusedError("refused")  # not from the driver

    query = {"query": '{ a: region(code: "440106") { name } __typename }'}
    with monkeypatch.context() as patch:
        patch.setattr(RegionByCodeLoader, "batch_load_fn", refused)
        other = await http.post("/graphql", json=query, headers=GRAPHQL_RESPONSE)
    assert (other.status_code, other.json()["data"], other.json()["errors"][0]["extensions"]) == (200, {"a": None, "__typename": "Query"}, {"code": "INTERNAL_SERVER_ERROR"})



    broken = create_async_engine("postgresql+asyncpg://nobody@/nowhere?host=/nonexistent")
    monkeypatch.setattr(app.state, "public_sessionmaker", create_sessionmaker(broken))
    monkeypatch.setattr(app.state, "public_read_sessionmaker", app.state.public_sessionmaker)
    try:
        partial = await http.post("/graphql", json=query, headers=GRAPHQL_RESPONSE)
    finally:
        await broken.dispose()
    assert (partial.status_code, partial.headers["retry-after"]) == (503, "5")
    assert partial.json() == {"errors": [{**UNAVAILABLE, "locations": [{"line": 1, "column": 3}], "path": ["a"]}]}


def test_a_mutation_keeps_the_answers_of_its_writes():
    """What may be dropped for a 503: anything but a mutation's answered writes."""

    two = "mutation { a: logout b: logout }"
    assert writes_answered(two, None, {"a": True, "b": None}) is True
    assert writes_answered(two, None, {"a": None, "b": None}) is False
    assert writes_answered("query Q { a: __typename } mutation M { logout }", "Q", {"a": "Query"}) is False
    assert writes_answered("query Q { a: __typename } mutation M { logout }", "M", {"logout": True}) is True


async def test_unexpected_errors_keep_their_traceback_in_the_log(gql, monkeypatch):
    async def broken(self, codes):
        raise RuntimeError("nobody planned this")

    monkeypatch.setattr(RegionByCodeLoader, "batch_load_fn", broken)
    with json_log() as lines:
        await gql('{ region(code: "440106") { name } }')
        await gql("{ institutions { totalCount } }")  # UNAUTHENTICATED: the client's, one line
    errors = [line for line in lines if line["level"] == "ERROR"]
    assert len(errors) == 1 and "RuntimeError: nobody planned this" in errors[0]["exc_info"]
    assert [(line["level"], line["code"]) for line in lines if line.get("code") == "UNAUTHENTICATED"] == [("INFO", "UNAUTHENTICATED")]


async def test_connections_the_database_dropped_are_replaced_before_use(gql, demo, database_url):
    # given: the pools hold connections
    assert await gql(QUERY["query"]) == {"data": {"region": {"name": "天河区"}}}
    token = await gql.login("edu-440106")
    assert "errors" not in await gql("{ institutions { totalCount } }", token=token)
    # when: the database ends every one of them (a restart, a failover, an idle timeout),
    # and they are gone (without the wait, a connection could pass its check before its end
    # and be cut in use: another case, answered DATABASE_UNAVAILABLE)
    admin = await _connect(database_url)
    try:
        ended = await admin.fetchval(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    assert ended >= 2
    # then: the next requests are answered as if nothing had happened
    for _ in range(3):
        assert await gql(QUERY["query"]) == {"data": {"region": {"name": "天河区"}}}
        assert "errors" not in await gql("{ institutions { totalCount } }", token=token)


async def test_faults_are_told_apart_from_other_failures(database_url):
    async def failure(work) -> BaseException:
        try:
            await work()
        except Exception as error:  # noqa: BLE001 - what the test looks at
            return error
        raise AssertionError("no failure")

    async def unreachable():
        engine = create_engine("postgresql+asyncpg://nobody@/nowhere?host=/nonexistent")
        try:
            async with engine.connect():
                pass
        finally:
            await engine.dispose()

    async def statement_timeout():
        engine = create_engine(database_url, connect_args={"server_settings": {"statement_timeout": "50"}})
        try:
            async with engine.connect() as connection:
                await connection.execute(sa.text("SELECT pg_sleep(1)"))
        finally:
            await engine.dispose()

    async def a_file():
        open("/nonexistent/file")  # noqa: ASYNC230, SIM115 - an OSError that is not the database's

    async def bad_sql():
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                await connection.execute(sa.text("SELECT no_such_column"))
        finally:
            await engine.dispose()

    assert faults.fault_of(await failure(unreachable)) is faults.DATABASE_UNAVAILABLE
    assert faults.fault_of(await failure(statement_timeout)) is faults.SERVICE_BUSY
    assert faults.fault_of(PoolTimeout("QueuePool limit reached")) is faults.SERVICE_BUSY
    assert faults.fault_of(await failure(a_file)) is None
    assert faults.fault_of(await failure(bad_sql)) is None
    # the driver out of step: the connection goes, whatever the statement was
    assert faults.connection_broken(asyncpg.exceptions.InternalClientError("cannot switch to state 12; another operation (2) is in progress"))
    assert not faults.connection_broken(await failure(bad_sql))


async def test_a_connection_whose_statement_was_interrupted_is_not_lent_again(database_url):
    """A statement cut short on the client side (a timeout, a cancelled request) leaves the
    driver mid-operation: the pool closes that connection and lends a fresh one."""


    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            before = (await connection.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                async with engine.connect() as connection:
                    await connection.execute(sa.text("SELECT pg_sleep(5)"))
        async with engine.connect() as connection:
            after = (await connection.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
            assert (await connection.execute(sa.text("SELECT 1"))).scalar_one() == 1
        assert after != before
    finally:
        await engine.dispose()


@pytest.mark.slow
def test_serve_starts_its_embedded_postgres_again_when_the_postmaster_dies():
    """``serve --workers 2`` on the embedded PostgreSQL: the postmaster killed (SIGKILL) is
    noticed and started again by the parent process alone; meanwhile every answer is a coded
    503; afterwards a burst on both workers' pools all succeeds (no broken connection is lent
    again)."""


    tmp_path = private_directory("xwpx-supervised-")
    port = free_port()
    # (public answers are not kept here: every request goes to the database)
    server = start(tmp_path, port, "--demo", "--workers", "2", env={"XWPX_LOG_FORMAT": "json", "XWPX_PUBLIC_RATE": "100000/100000", "XWPX_PUBLIC_CACHE_SECONDS": "0"})
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=10) as http:
            token = http.post("/graphql", json={"query": 'mutation { login(username: "edu-440106", password: "Demo#2026") { token } }'}).json()["data"]["login"]["token"]
        signed_in = {"Authorization": f"Bearer {token}", **GRAPHQL_RESPONSE}

        def ask(n: int) -> tuple[int, dict]:
            with httpx.Client(base_url=base, timeout=10) as http:  # a new connection: either worker
                if n % 2:
                    response = http.post("/graphql", json={"query": "{ me { username } institutions(first: 5) { totalCount } }"}, headers=signed_in)
                else:
                    response = http.post("/graphql", json=QUERY, headers=GRAPHQL_RESPONSE)
                return response.status_code, response.json()

        def burst() -> list[tuple[int, dict]]:
            with ThreadPoolExecutor(16) as threads:
                return list(threads.map(ask, range(48)))

        # given: both workers' pools hold connections
        assert {status for status, _ in burst()} == {200}
        # when: the postmaster is killed
        postmaster = int((tmp_path / "pg" / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGKILL)
        killed = time.monotonic()
        # then: coded 503s until it is back, within seconds
        answers = []
        while time.monotonic() - killed < 30:
            status, body = ask(len(answers))
            answers.append((status, body))
            if status == 200:
                break
            time.sleep(0.05)
        outage = answers[:-1]
        assert answers[-1][0] == 200, answers[-3:]
        assert outage and all(status == 503 and [e["extensions"]["code"] for e in body["errors"]] == ["DATABASE_UNAVAILABLE"] for status, body in outage), outage[:3]
        assert time.monotonic() - killed < 15
        # and right after it, a burst on both workers all succeeds, without one complaint in
        # the log: no connection of before the restart is lent again
        recovered = len(server.log.read_text())
        results = burst()
        assert [status for status, _ in results] == [200] * 48, [r for r in results if r[0] != 200][:3]
        assert all("errors" not in body for _, body in results)
        assert httpx.get(f"{base}/readyz").status_code == 200
        since = [json.loads(line) for line in server.log.read_text()[recovered:].splitlines() if line.startswith("{")]
        assert [line for line in since if line["level"] in ("WARNING", "ERROR") and line["logger"] != "models.database"] == []
    finally:
        output = stop(server, signal.SIGINT)
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    messages = [line["message"] for line in lines]
    # noticed and started again once, by the parent process only, both events logged
    assert sum("the embedded PostgreSQL stopped" in m for m in messages) == 1, messages[-40:]
    assert sum("the embedded PostgreSQL is running again" in m for m in messages) == 1
    # the refusals meanwhile were one line each, without a traceback
    assert {line["code"] for line in lines if line["level"] == "WARNING" and line["logger"] == "xwpx"} == {"DATABASE_UNAVAILABLE"}
    assert "Traceback" not in output
    assert not (tmp_path / "pg" / "postmaster.pid").exists()
    shutil.rmtree(tmp_path)
