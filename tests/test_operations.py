"""Operations: request ids, JSON logs, Prometheus metrics, readiness, several workers."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request

import httpx
import pytest

from core.logs import configure_logging, request_id
from core.settings import Settings
from models.database import create_engine
from server import create_app
from tests.helpers import ROOT, free_port


async def test_request_ids_are_kept_or_made_and_answered(http):
    made = await http.get("/healthz")
    assert len(made.headers["x-request-id"]) == 32
    kept = await http.get("/healthz", headers={"X-Request-ID": "gateway-abc.123"})
    assert kept.headers["x-request-id"] == "gateway-abc.123"
    refused = await http.get("/healthz", headers={"X-Request-ID": "bad id;" * 20})
    assert refused.headers["x-request-id"] != "bad id" and len(refused.headers["x-request-id"]) == 32


def test_json_logs_carry_the_request_id(capsys):

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging(fmt="json")
        token = request_id.set("req-1")
        logging.getLogger("xwpx").warning("导入完成")
        request_id.reset(token)
        written = capsys.readouterr().err.strip().splitlines()[-1]
        assert '"message": "导入完成"' in written  # as Chinese, not \\u escapes: grep finds it
        line = json.loads(written)
        assert (line["level"], line["logger"], line["message"], line["request_id"]) == ("WARNING", "xwpx", "导入完成", "req-1")
        assert "time" in line
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


async def test_metrics_count_requests_latency_errors_and_pools(http, gql):
    await gql('{ region(code: "440106") { name } }')
    await gql("{ institutions { totalCount } }")  # UNAUTHENTICATED
    body = (await http.get("/metrics")).text
    assert 'xwpx_http_requests_total{method="POST",route="/graphql",status="200"}' in body
    assert 'xwpx_http_request_duration_seconds_bucket{le="0.005",route="/graphql"}' in body
    assert 'xwpx_graphql_errors_total{code="UNAUTHENTICATED"}' in body
    assert 'xwpx_db_pool_size{pool="main"} 10.0' in body and 'xwpx_db_pool_size{pool="public"} 5.0' in body


async def test_readiness_follows_the_database(http, app):
    assert (await http.get("/readyz")).json() == {"status": "ready", "database": "ok"}

    working = app.state.engine
    app.state.engine = create_engine("postgresql+asyncpg://nobody@/nowhere?host=/nonexistent")
    try:
        response = await http.get("/readyz")
        assert (response.status_code, response.headers["retry-after"], response.json()) == (503, "5", {
            "status": "unavailable", "database": "unreachable",
            "error": {"code": "DATABASE_UNAVAILABLE", "message": "数据库暂时不可用，请稍后重试 (the database is unavailable; try again shortly)"},
        })
        assert (await http.get("/healthz")).status_code == 200
    finally:
        await app.state.engine.dispose()
        app.state.engine = working


@pytest.mark.slow
def test_a_session_made_on_one_worker_works_on_another(database_url, demo):
    """Two uvicorn workers share nothing but PostgreSQL: a token from a login answered by one
    worker is honoured by the other."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "XWPX_SERVED_BY_HEADER": "1", "XWPX_LOG_FORMAT": "json"}
    server = subprocess.Popen(
        [sys.executable, "server.py", "serve", "--port", str(port), "--workers", "2"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        login = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": 'mutation { login(username: "edu-440106", password: "Demo#2026") { token } }'})
        token, login_worker = login.json()["data"]["login"]["token"], login.headers["x-served-by"]
        served: dict[str, int] = {}
        deadline = time.monotonic() + 60
        # New connections are spread over the workers by the kernel: ask until the other
        # worker has answered with the session.
        while len(served) < 2 and time.monotonic() < deadline:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:  # a new connection each time
                r = client.post("/graphql", json={"query": "{ me { username } }"}, headers={"Authorization": f"Bearer {token}"})
            assert r.json() == {"data": {"me": {"username": "edu-440106"}}}
            served[r.headers["x-served-by"]] = served.get(r.headers["x-served-by"], 0) + 1
        assert len(served) == 2 and login_worker in served, served
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            pytest.fail("the workers did not stop on SIGINT")


async def test_a_replica_serves_public_lookups_and_statistics(database_url, clock, tmp_path, demo):
    """With XWPX_REPLICA_DATABASE_URL, public traffic and statistics read from the replica
    (here the same database under another URL spelling), the rest from the primary."""

    replica = database_url.replace("postgresql+asyncpg://", "postgresql://")
    application = create_app(Settings(database_url=database_url, clock=clock, data_dir=tmp_path, replica_database_url=replica, public_rate=(1000, 1000)))
    async with application.router.lifespan_context(application):
        state = application.state
        assert state.public_read_engine.url.render_as_string(hide_password=False) == database_url
        assert state.read_engine is not state.engine and state.public_read_engine is not state.public_engine
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as http:
            login = await http.post("/graphql", json={"query": 'mutation { login(username: "edu-440000", password: "Demo#2026") { token } }'})
            token = login.json()["data"]["login"]["token"]
            stats = await http.post("/graphql", json={"query": "{ statistics { total { institutions { registered } } } }"}, headers={"Authorization": f"Bearer {token}"})
            assert stats.json() == {"data": {"statistics": {"total": {"institutions": {"registered": 0}}}}}
            assert state.read_engine.pool.checkedin() >= 1  # the statistics went through the replica's pool
            lookup = await http.post("/graphql", json={"query": '{ publicInstitutions(name: "育英", regionCode: "440106") { totalCount } }'})
            assert lookup.json() == {"data": {"publicInstitutions": {"totalCount": 0}}}
            assert state.public_read_engine.pool.checkedin() >= 1
            # an anonymous form still writes to the primary
            complaint = await http.post("/graphql", json={"query": 'mutation { login(username: "edu-440106", password: "wrong") { token } }'})
            assert complaint.json()["errors"][0]["extensions"]["code"] == "INVALID_CREDENTIALS"


@pytest.mark.slow
def test_tracing_behind_a_setting(database_url):
    """XWPX_OTEL=1: each operation is a span tree (here printed by the console exporter)."""
    script = f"""
import asyncio, httpx
from core.settings import Settings
from server import create_app

async def main():
    app = create_app(Settings(database_url={database_url!r}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            r = await http.post("/graphql", json={{"query": '{{ region(code: "440106") {{ name }} }}'}})
            print("ANSWER", r.json())

asyncio.run(main())
"""
    env = {**os.environ, "XWPX_OTEL": "1", "OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "xwpx-test"}
    traced = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert "ANSWER {'data': {'region': {'name': '天河区'}}}" in traced.stdout, traced.stderr
    assert '"name": "GraphQL Query"' in traced.stdout and '"service.name": "xwpx-test"' in traced.stdout
    env.pop("XWPX_OTEL")
    plain = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert "ANSWER" in plain.stdout and "GraphQL Query" not in plain.stdout
