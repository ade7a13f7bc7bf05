"""Fixtures: a real PostgreSQL (embedded, or ``TEST_DATABASE_URL``), a freshly migrated
database per test (a copy of a migrated template), the app with a clock the tests control,
and a GraphQL client. Each pytest-xdist worker is a process with its own session fixtures:
its own embedded server, or its own template and copies on ``TEST_DATABASE_URL``'s server.

``TEST_DATABASE_URL`` names a database on a server where the user may create databases;
the suite creates and drops its own databases beside it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Cheap argon2id parameters for the suite (set before auth.passwords is imported).
os.environ.setdefault("XWPX_ARGON2_PROFILE", "test")

import httpx
import pytest
import sqlalchemy as sa

from auth.passwords import hash_password
from core.settings import Settings
from demo.accounts import DEMO_PASSWORD, seed_accounts
from models import Account, AccountKind, Institution
from models.database import async_url, execute_admin, run_migrations, server_url, start_embedded, with_database
from server import create_app
from tests.helpers import copy_database, drop_database, insert_institutions, private_directory

#: Seconds a ``slow`` test may take (pyproject.toml's ``timeout`` holds the others): they
#: start servers, Node.js and Chromium, the slowest in about a minute on a busy machine.
SLOW_TIMEOUT = 600


def pytest_collection_modifyitems(items):
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT))


@pytest.fixture(scope="session")
def pg_server_url():
    """asyncpg URL of an administrative database on the test server."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield async_url(url)
        return
    data_dir = Path(tempfile.mkdtemp(prefix="xwpx-test-"))
    server = start_embedded(data_dir / "pg", cleanup_mode="delete")
    url = server_url(server)
    # A server the suite throws away: it never outlives a crash of the machine, so it does
    # not wait for the disk (a copy of the template costs a quarter of the time without).
    asyncio.run(execute_admin(url, "ALTER SYSTEM SET fsync = off", "ALTER SYSTEM SET full_page_writes = off", "SELECT pg_reload_conf()"))
    yield url
    server.cleanup()


@pytest.fixture
def server_dir():
    """A data folder for a server a test starts (``tests.helpers.start``), removed after."""
    directory = private_directory("xwpx-server-")
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def template_database(pg_server_url):
    """A database migrated once; every test gets a copy of it."""
    name = f"xwpx_template_{os.getpid()}"
    asyncio.run(execute_admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'))
    run_migrations(with_database(pg_server_url, name))
    yield name
    asyncio.run(execute_admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _template_copy(pg_server_url: str, template_database: str):
    url = await copy_database(pg_server_url, template_database)
    yield url
    await drop_database(pg_server_url, url)


@pytest.fixture
async def database_url(pg_server_url, template_database):
    async for url in _template_copy(pg_server_url, template_database):
        yield url


@pytest.fixture(scope="module")
async def module_database_url(pg_server_url, template_database):
    """A database shared by the tests of one module (one served server for all of them)."""
    async for url in _template_copy(pg_server_url, template_database):
        yield url


class Clock:
    """The app's clock, moved by the tests instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def app(database_url, clock, tmp_path):
    # The statistics' differences are folded when a test says so (test_tallies runs the job);
    # public answers are not kept (tests read their own changes at once; test_public tests it);
    # overdue ledgers raise their events when a test sweeps (test_events).
    settings = Settings(
        database_url=database_url, clock=clock, data_dir=tmp_path, public_rate=(100_000, 1_000), tally_compact_seconds=0, public_cache_seconds=0,
        overdue_sweep_seconds=0,
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def sessionmaker(app):
    return app.state.sessionmaker


@dataclass
class SqlCounter:
    """Counts the SQL statements the app sends."""

    statements: list[str] = field(default_factory=list)

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)

    def reset(self) -> None:
        self.statements.clear()


@pytest.fixture
def sql(app):
    counter = SqlCounter()
    engine = app.state.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", counter)
    yield counter
    sa.event.remove(engine, "before_cursor_execute", counter)


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def __call__(self, query: str, variables: dict | None = None, *, token: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def login(self, username: str, password: str = DEMO_PASSWORD) -> str:
        result = await self(
            "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
            {"u": username, "p": password},
        )
        assert "errors" not in result, result
        self.http.cookies.clear()  # tests send the token explicitly unless they test the cookie
        return result["data"]["login"]["token"]


@pytest.fixture
async def http(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


@pytest.fixture
def gql(http) -> GraphQLClient:
    return GraphQLClient(http)


@pytest.fixture
async def demo(sessionmaker):
    """The demo accounts (demo.accounts), password ``Demo#2026``; no institutions."""
    return await seed_accounts(sessionmaker)


@pytest.fixture
async def scope_world(demo, sessionmaker):
    """Institutions of several counties, units and kinds, and what each viewer of the scope
    matrices (tests/test_scope_*.py) may see of them: (ids by name, names by viewer, the name
    of the institution an institution account manages)."""
    subject = await insert_institutions(
        sessionmaker, {"edu-440106": 2, "edu-440106-01": 1, "edu-440104": 1, "edu-440304": 1, "edu-420102": 1}
    )
    sports = await insert_institutions(sessionmaker, {"edu-440106": 1, "edu-420102": 1}, kind="NON_SUBJECT", training_categories=["SPORTS", "ARTS"])
    arts = await insert_institutions(sessionmaker, {"edu-440106": 1}, kind="NON_SUBJECT", training_categories=["ARTS"])
    async with sessionmaker() as db:
        ids = {name: str(i) for name, i in (await db.execute(sa.select(Institution.name, Institution.id))).all()}
        target = ids[subject["edu-440104"][0]]
        db.add(Account(username="org-1", name="机构账号", kind=AccountKind.INSTITUTION, institution_id=uuid.UUID(target), password_hash=hash_password("Org#2026x"), must_change_password=False))
        await db.commit()
    every = set(ids)
    gd = {n for n in every if n.startswith("44")}
    tianhe = {n for n in every if n.startswith("440106")}
    expected = {
        "edu-000000": every,
        "edu-440000": gd,
        "edu-440100": {n for n in gd if n[:6] in ("440106", "440104")},
        "edu-420000": every - gd,
        "edu-440106": tianhe,
        "edu-440304": {n for n in every if n.startswith("440304")},
        "edu-440106-01": set(subject["edu-440106-01"]),
        "sports-440106": set(sports["edu-440106"]),  # non-subject with 体育类, in its county
    }
    assert len(every) == 9 and arts  # the 文化艺术类 one is seen by education only
    return ids, expected, subject["edu-440104"][0]
