"""The README's GraphQL examples, each as the caller its section names (``README_CALLERS``
in tests/helpers.py): every operation fits that caller's query limits, and every query that
needs no variables runs on the demo data without an error. Mutations and operations with
variables are checked against the limits only: they change the demo's state or need ids
the README leaves to the reader."""

from __future__ import annotations

import asyncio
import functools
import uuid

import httpx
import pytest
from anyio.from_thread import start_blocking_portal
from graphql import parse

from core.settings import Settings
from demo import seed_demo
from demo.accounts import DEMO_PASSWORD
from models.database import create_engine, create_sessionmaker, execute_admin, with_database
from schema import limits
from schema.root import public_schema, schema
from server import create_app
from tests.helpers import ROOT, readme_examples

EXAMPLES = readme_examples(ROOT / "README.md")
#: Queries of the README that do not run as written on the demo data, and why.
NOT_ON_THE_DEMO = {
    # The account is the one the README registers just above (13900000001), which the
    # demo does not have: the query needs that account's session.
    "me": "the account registered in the README's previous step",
}


def _label(example) -> str:
    return f"line {example.line}: {example.query.split(chr(10))[0][:60]}"


@pytest.mark.parametrize("example", EXAMPLES, ids=_label)
def test_every_example_fits_its_callers_limits(example):
    graphql_schema = public_schema._schema if example.kind == "anonymous" else schema._schema
    problem = limits.check(graphql_schema, parse(example.query), None, {}, limits.BUDGETS[example.kind])
    assert problem is None, (example.section, example.query, problem.extensions)


def test_the_readme_has_examples_for_each_kind_of_caller():
    assert {e.kind for e in EXAMPLES} == {"anonymous", "institution", "regulator"}
    assert len(EXAMPLES) > 50


@pytest.fixture(scope="module")
def demo_server(pg_server_url, template_database):
    """The demo data (``seed_demo``) in a database of its own, served in-process."""
    name = f"xwpx_readme_{uuid.uuid4().hex[:12]}"
    asyncio.run(execute_admin(pg_server_url, f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
    url = with_database(pg_server_url, name)

    async def seed():
        engine = create_engine(url)
        try:
            await seed_demo(create_sessionmaker(engine))
        finally:
            await engine.dispose()

    asyncio.run(seed())
    app = create_app(Settings(database_url=url, public_rate=(10**6, 10**6), tally_compact_seconds=0))
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(app.router.lifespan_context(app)):
        http = portal.call(lambda: _client(app))
        yield lambda body, headers: portal.call(functools.partial(http.post, "/graphql", json=body, headers=headers)).json()
        portal.call(http.aclose)
    asyncio.run(execute_admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


QUERIES = [e for e in EXAMPLES if not e.is_mutation and not e.has_variables]


@pytest.mark.parametrize("example", QUERIES, ids=_label)
def test_every_query_without_variables_runs_on_the_demo_as_written(demo_server, example):
    first_field = example.query.split("{", 2)[1].split("(")[0].split("{")[0].strip()
    if first_field in NOT_ON_THE_DEMO and example.username is None and example.kind != "anonymous":
        pytest.skip(NOT_ON_THE_DEMO[first_field])
    headers = {}
    if example.username is not None:
        login = demo_server({"query": "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
                             "variables": {"u": example.username, "p": DEMO_PASSWORD}}, {})
        headers = {"Authorization": f"Bearer {login['data']['login']['token']}"}
    answer = demo_server({"query": example.query}, headers)
    assert "errors" not in answer and answer["data"], (example.section, example.query, answer)


def test_the_limits_table_states_the_budgets():
    """The README's table of limits by caller says what ``schema.limits`` holds."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text[text.index("### Limits by caller"):text.index("## GraphQL over HTTP")]
    rows = {line.split("|")[1].strip(): [c.strip().replace(",", "") for c in line.split("|")[2:5]] for line in table.splitlines() if line.startswith("| ")}
    budgets = [limits.BUDGETS[k] for k in ("anonymous", "institution", "regulator")]
    assert rows["tokens / depth / aliases"] == [f"{b.tokens} / {b.depth} / {b.aliases}" for b in budgets]
    assert rows["cost"] == [str(b.cost) for b in budgets]
    assert rows["`_entities` representations"] == [str(b.representations) for b in budgets]
    introspection = [limits.introspection_budget(s._schema) for s in (public_schema, schema, schema)]
    assert rows["introspection cost"] == [str(n) for n in introspection]
