"""The examples of docs/examples/*.graphql run as written, each file as its caller on the demo
data, in a database of its own: every operation answers without an error (GraphQL's or a
payload's) and fits its caller's query limits.

A file says who runs it and where the values of its variables come from, in comments that
a reader follows too (docs/examples.md):

- ``# caller: edu-440106`` (or ``anonymous``, or ``13900000001 (Portal#2026)`` for an account
  the file creates), and ``# as: …`` before one operation run by someone else;
- ``# $id: createStaff.staff.id`` — a value of an earlier answer (the latest one with that
  field); ``# $code: the code sent to 13900000001`` — the verification code the default
  sender kept; ``# $reps = [...]`` — a JSON value.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime

import httpx
import pytest
import sqlalchemy as sa
from graphql import OperationDefinitionNode, parse, print_ast

from core.settings import Settings
from demo import seed_demo
from models import OutboxMessage
from models.database import create_engine, create_sessionmaker
from models.storage import LocalStorage
from schema import limits
from schema.root import public_schema, schema
from server import create_app
from tests.helpers import EXAMPLES, ROOT, copy_database, drop_database, kind_of, steps_of

FILES = sorted(EXAMPLES.glob("*.graphql"))
#: The demo's day (the files' dates are around it).
DEMO_DAY = date(2026, 11, 23)
def value_at(answers: list[dict], path: str) -> object:
    """``root.a.0.b`` of the latest answer with the root field ``root``."""
    root, *rest = path.split(".")
    for answer in reversed(answers):
        if root in (answer or {}):
            value = answer[root]
            for key in rest:
                value = value[int(key)] if isinstance(value, list) else value[key]
            return value
    raise AssertionError(f"no earlier answer has {root}")


def payload_errors(value: object) -> list:
    """Every non-empty ``errors`` list in an answer (a payload's validation problems)."""
    if isinstance(value, dict):
        found = [value["errors"]] if isinstance(value.get("errors"), list) and value["errors"] else []
        return found + [e for v in value.values() for e in payload_errors(v)]
    if isinstance(value, list):
        return [e for v in value for e in payload_errors(v)]
    return []


def test_there_is_an_example_for_each_kind_of_caller():
    kinds = set()
    for path in FILES:
        caller, steps = steps_of(path)
        assert caller is not None, f"{path.name} names no caller"
        kinds |= {kind_of(s.caller[0] if s.caller else caller[0]) for s in steps}
    assert kinds == {"anonymous", "institution", "regulator"}
    assert len(FILES) >= 18


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_operation_fits_its_callers_limits(path):
    caller, steps = steps_of(path)
    for step in steps:
        kind = kind_of((step.caller or caller)[0])
        graphql_schema = public_schema._schema if kind == "anonymous" else schema._schema
        problem = limits.check(graphql_schema, parse(step.query), None, {}, limits.BUDGETS[kind])
        assert problem is None, (path.name, step.line, problem.extensions)


@pytest.fixture(scope="module")
def demo_template(pg_server_url, template_database, tmp_path_factory):
    """A database with the demo data as of ``DEMO_DAY``, copied for each file."""
    files = tmp_path_factory.mktemp("files")
    url = asyncio.run(copy_database(pg_server_url, template_database, "xwpx_examples"))

    async def seed():
        engine = create_engine(url)
        try:
            await seed_demo(create_sessionmaker(engine), DEMO_DAY, storage=LocalStorage(files))
        finally:
            await engine.dispose()

    asyncio.run(seed())
    yield sa.make_url(url).database, files
    asyncio.run(drop_database(pg_server_url, url))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
async def test_every_example_runs_as_written(path, demo_template, pg_server_url, tmp_path):
    template, files = demo_template
    url = await copy_database(pg_server_url, template, "xwpx_example")
    clock = lambda: datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # noqa: E731 - the demo's morning
    settings = Settings(database_url=url, clock=clock, data_dir=tmp_path, public_rate=(10**6, 10**6), tally_compact_seconds=0)
    app = create_app(settings)
    app_storage = LocalStorage(files)
    caller, steps = steps_of(path)
    try:
        async with app.router.lifespan_context(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("203.0.113.10", 50000)), base_url="http://testserver") as http:
            app.state.storage = app_storage
            tokens: dict[str, str] = {}

            async def headers_of(who: tuple[str, str]) -> dict:
                username, password = who
                if username == "anonymous":
                    return {}
                if username not in tokens:
                    login = await http.post("/graphql", json={
                        "query": "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
                        "variables": {"u": username, "p": password},
                    })
                    tokens[username] = login.json()["data"]["login"]["token"]
                return {"Authorization": f"Bearer {tokens[username]}"}

            answers: list[dict] = []
            for step in steps:
                variables = dict(step.literals)
                variables |= {var: value_at(answers, where) for var, where in step.paths.items()}
                for var, mobile in step.codes.items():
                    async with app.state.sessionmaker() as db:
                        body = (await db.execute(
                            sa.select(OutboxMessage.body).where(OutboxMessage.destination == mobile).order_by(OutboxMessage.created_at.desc()).limit(1)
                        )).scalar_one()
                    variables[var] = re.search(r"\d{6}", body).group(0)
                response = await http.post("/graphql", json={"query": step.query, "variables": variables}, headers=await headers_of(step.caller or caller))
                answer = response.json()
                where = f"{path.name}:{step.line}"
                assert "errors" not in answer, (where, answer)
                assert payload_errors(answer["data"]) == [], (where, answer)
                answers.append(answer["data"])
    finally:
        await drop_database(pg_server_url, url)


def test_the_files_hold_only_operations():
    for path in FILES:
        _, steps = steps_of(path)
        for step in steps:
            definitions = parse(step.query).definitions
            assert len(definitions) == 1 and isinstance(definitions[0], OperationDefinitionNode), (path.name, step.line)


def test_the_limits_table_states_the_budgets():
    """docs/rules.md's table of limits by caller says what ``schema.limits`` holds."""
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    table = text[text.index("## Limits by caller"):]
    rows = {line.split("|")[1].strip(): [c.strip().replace(",", "") for c in line.split("|")[2:5]] for line in table.splitlines() if line.startswith("| ")}
    budgets = [limits.BUDGETS[k] for k in ("anonymous", "institution", "regulator")]
    assert rows["tokens / depth / aliases"] == [f"{b.tokens} / {b.depth} / {b.aliases}" for b in budgets]
    assert rows["cost"] == [str(b.cost) for b in budgets]
    assert rows["`_entities` representations"] == [str(b.representations) for b in budgets]
    introspection = [limits.introspection_budget(s._schema) for s in (public_schema, schema, schema)]
    assert rows["introspection cost"] == [str(n) for n in introspection]


async def test_the_readmes_first_queries_run_as_written(demo_template, pg_server_url, tmp_path):
    """The README's GraphQL: without a session, then with the token its login returns."""
    blocks = re.findall(r"```graphql\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), flags=re.S)
    operations = [print_ast(d) for block in blocks for d in parse(block).definitions]
    assert len(operations) >= 3
    template, files = demo_template
    url = await copy_database(pg_server_url, template, "xwpx_example")
    app = create_app(Settings(database_url=url, data_dir=tmp_path, public_rate=(10**6, 10**6), tally_compact_seconds=0))
    try:
        async with app.router.lifespan_context(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            headers: dict = {}
            for operation in operations:
                answer = (await http.post("/graphql", json={"query": operation}, headers=headers)).json()
                assert "errors" not in answer and payload_errors(answer["data"]) == [], (operation, answer)
                if "login" in answer["data"]:
                    headers = {"Authorization": f"Bearer {answer['data']['login']['token']}"}
    finally:
        await drop_database(pg_server_url, url)
