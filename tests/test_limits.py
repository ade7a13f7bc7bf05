"""Query limits by caller: depth, aliases, tokens, cost; refused before any SQL runs."""

from __future__ import annotations

from schema.extensions import BUDGETS
from tests.helpers import error_codes

DEEP = '{ region(code: "440106") { parent { parent { parent { parent { parent { parent { parent { code } } } } } } } } }'


def limit_error(result: dict) -> tuple[str, int, int]:
    [error] = result["errors"]
    return error["extensions"]["code"], error["extensions"]["limit"], error["extensions"]["actual"]


async def test_depth_by_caller(gql, demo, sql):
    sql.reset()
    result = await gql(DEEP)
    assert result.get("data") is None and limit_error(result) == ("QUERY_TOO_DEEP", 8, 9)
    assert sql.count == 0  # refused before any SQL
    regulator = await gql.login("edu-440000")
    assert "errors" not in await gql(DEEP, token=regulator)


async def test_aliases_by_caller(gql, demo):
    query = "{ " + " ".join(f'r{i}: region(code: "440106") {{ code }}' for i in range(11)) + " }"
    assert limit_error(await gql(query)) == ("TOO_MANY_ALIASES", 10, 11)
    regulator = await gql.login("edu-440000")
    assert len((await gql(query, token=regulator))["data"]) == 11


async def test_tokens(gql):
    query = "{ " + " ".join(["__typename"] * 1000) + " }"
    # counted up to one past the limit, before the document is parsed
    assert limit_error(await gql(query)) == ("TOO_MANY_TOKENS", 1000, 1001)


async def test_cost_counts_lists_by_their_page_size(gql, demo, sql):
    sql.reset()
    nested = await gql("{ regions { children { children { code } } } }")
    assert limit_error(nested) == ("QUERY_TOO_COSTLY", BUDGETS["anonymous"].cost, 1 + 20 * (1 + 20 * (1 + 20 * 1)))
    assert sql.count == 0
    regulator = await gql.login("edu-000000")
    heavy = "{ regulatorAccounts(first: 100) { edges { node { region { children { children { code } } } } } } }"
    code, limit, actual = limit_error(await gql(heavy, token=regulator))
    assert (code, limit) == ("QUERY_TOO_COSTLY", 20_000) and actual > limit
    light = "{ regulatorAccounts(first: 10) { edges { node { region { children { code } } } } } }"
    assert "errors" not in await gql(light, token=regulator)


async def test_batched_requests_are_not_accepted(http):
    response = await http.post("/graphql", json=[{"query": "{ __typename }"}, {"query": "{ __typename }"}])
    assert response.status_code == 400
    assert "Traceback" not in response.text


async def test_limits_apply_to_mutations_too(gql):
    query = "mutation { " + " ".join(f'l{i}: login(username: "x", password: "y") {{ token }}' for i in range(11)) + " }"
    assert error_codes(await gql(query)) == ["TOO_MANY_ALIASES"]
