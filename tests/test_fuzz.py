"""Generated queries and mutations (hypothesis-graphql) for an anonymous caller, an
institution account and regulators of two levels: no response is a 500, none carries a
stack trace or an unexpected (masked) error. A bounded number of examples runs in the
suite (derandomised, so CI is repeatable); the longer campaign is the same test with more
random examples:

    XWPX_FUZZ_EXAMPLES=2000 python -m pytest tests/test_fuzz.py
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import uuid

import graphql
import httpx
import pytest
from anyio.from_thread import start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, queries

from auth.passwords import hash_password
from config import Settings
from models import Account, AccountKind
from models.database import create_engine, create_sessionmaker, execute_admin, with_database
from resolvers.demo import DEMO_PASSWORD, seed_accounts
from schema import schema
from server import create_app

CAMPAIGN = int(os.environ.get("XWPX_FUZZ_EXAMPLES", "0"))
EXAMPLES = CAMPAIGN or 25
GRAPHQL_SCHEMA = schema._schema
_string = lambda value: st.just(graphql.language.StringValueNode(value=value))  # noqa: E731
CUSTOM_SCALARS = {
    "Date": st.sampled_from(["2026-11-20", "1900-01-01", "2999-12-31"]).flatmap(_string),
    "DateTime": _string("2026-11-20T09:00:00+00:00"),
    "Decimal": st.sampled_from(["0", "12.5", "-1", "1e30", "99999999.99"]).flatmap(_string),
    "JSON": _string("{}"),
    "_Any": st.just(graphql.language.ObjectValueNode(fields=())),
}
QUERY_FIELDS = [name for name in GRAPHQL_SCHEMA.query_type.fields if name not in ("_entities", "_service")]
MUTATION_FIELDS = [name for name in GRAPHQL_SCHEMA.mutation_type.fields if name not in ("importInstitutions", "uploadInstitutionDocument", "logout")]


async def _prepare(url: str) -> None:
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    await seed_accounts(sessionmaker)
    async with sessionmaker() as db:
        db.add(Account(username="org-1", name="机构", kind=AccountKind.INSTITUTION, password_hash=hash_password("Org#2026x"), must_change_password=False))
        await db.commit()
    await engine.dispose()


@pytest.fixture(scope="module")
def client(pg_server_url, template_database):
    name = f"xwpx_fuzz_{uuid.uuid4().hex[:12]}"
    asyncio.run(execute_admin(pg_server_url, f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
    url = with_database(pg_server_url, name)
    asyncio.run(_prepare(url))
    app = create_app(Settings(database_url=url))
    # The app runs on an event loop in a thread of its own; hypothesis drives it from here.
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(app.router.lifespan_context(app)):
        http = portal.call(lambda: _client(app))
        yield lambda body, headers: portal.call(functools.partial(http.post, "/graphql", json=body, headers=headers))
        portal.call(http.aclose)
    asyncio.run(execute_admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


def _token(post, username: str | None) -> dict:
    if username is None:
        return {}
    password = "Org#2026x" if username == "org-1" else DEMO_PASSWORD
    response = post({"query": 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', "variables": {"u": username, "p": password}}, {})
    return {"Authorization": f"Bearer {response.json()['data']['login']['token']}"}


def _check(response) -> None:
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text and 'File "' not in response.text
    if response.headers.get("content-type", "").startswith("application/json"):
        body = json.loads(response.text)
        messages = [e.get("message", "") for e in body.get("errors", []) or []] if isinstance(body, dict) else []
        assert "Unexpected error." not in messages, response.text


@pytest.mark.parametrize("username", [None, "org-1", "edu-440106", "edu-440000"])
def test_generated_queries_and_mutations_never_fail_the_server(client, username):
    headers = _token(client, username)
    strategy = st.one_of(
        queries(GRAPHQL_SCHEMA, fields=QUERY_FIELDS, custom_scalars=CUSTOM_SCALARS),
        mutations(GRAPHQL_SCHEMA, fields=MUTATION_FIELDS, custom_scalars=CUSTOM_SCALARS),
    )

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=not CAMPAIGN)
    @given(strategy)
    def run(query: str) -> None:
        _check(client({"query": query}, headers))

    run()
