"""Query limits by caller: depth, aliases, tokens, cost; refused before any SQL runs."""

from __future__ import annotations

import csv
from collections import Counter

import graphql
from graphql import GraphQLInterfaceType, GraphQLObjectType, get_named_type, get_nullable_type, is_leaf_type, is_list_type

from core.settings import ROOT
from resolvers import regions
from resolvers import sites as site_records
from schema import limits
from schema.limits import BUDGETS
from schema.root import public_schema, schema
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


async def test_cost_counts_lists_by_their_bounds_and_page_sizes(gql, demo, sql):
    sql.reset()
    nested = await gql("{ regions { children { children { code } } } }")
    # a region has at most MAX_CHILDREN children: 1 + 40 + 40² + 40³, counted level by level
    bound = regions.MAX_CHILDREN
    assert limit_error(nested) == ("QUERY_TOO_COSTLY", BUDGETS["anonymous"].cost, 1 + bound + bound**2 + bound**3)
    assert sql.count == 0
    regulator = await gql.login("edu-000000")
    heavy = "{ regulatorAccounts(first: 100) { edges { node { region { children { children { code } } } } } } }"
    code, limit, actual = limit_error(await gql(heavy, token=regulator))
    assert (code, limit) == ("QUERY_TOO_COSTLY", BUDGETS["regulator"].cost) and actual > limit
    light = "{ regulatorAccounts(first: 10) { edges { node { region { children { code } } } } } }"
    assert "errors" not in await gql(light, token=regulator)


def test_the_cost_of_a_connection_is_its_page_and_of_a_list_its_bound():
    # a connection: its page (the argument, or its default) times what each edge selects
    assert limits.cost(schema._schema, "{ institutions(first: 7) { totalCount edges { node { name } } } }") == (1 + 1 + 1 + 7 * 2, 0)
    assert limits.cost(schema._schema, "{ institutions { edges { node { name } } } }") == (1 + 1 + 20 * 2, 0)
    # a variable page size counts as given
    assert limits.cost(schema._schema, "query($n: Int) { institutions(first: $n) { edges { cursor } } }", {"n": 3}) == (1 + 1 + 3, 0)
    # a list with first: its page, at most 100
    one = '{ institution(id: "x") { inspections(first: 1000) { inspectedOn } } }'
    assert limits.cost(schema._schema, one) == (1 + 1 + 100, 0)
    # _entities and nodes: as many as their list arguments hold
    reps = [{"__typename": "Region", "code": "440106"}] * 3
    assert limits.cost(schema._schema, "query($r: [_Any!]!) { _entities(representations: $r) { ... on Region { name } } }", {"r": reps}) == (1 + 3, 0)
    assert limits.cost(schema._schema, '{ nodes(ids: ["a", "b"]) { id } }') == (1 + 2, 0)


def test_an_owner_bounds_its_records_however_they_nest():
    """An institution's courses are at most MAX_COURSES together, whatever the number of its
    sites; its classes likewise; a class's teachers are counted per class."""
    tree = "{ myInstitution { sites { courses { classes { teachers { name } } } } } }"
    sites, courses, classes = site_records.MAX_SITES, site_records.MAX_COURSES, site_records.MAX_CLASSES
    expected = 1 + 1 + sites + courses + classes + classes * site_records.MAX_TEACHERS
    assert limits.cost(schema._schema, tree) == (expected, 0)
    # sites reached without their institution (federation) are bounded one by one
    reps = [{"__typename": "Site", "id": "a"}, {"__typename": "Site", "id": "b"}]
    loose = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Site { courses { classes { name } } } } }"
    assert limits.cost(schema._schema, loose, {"r": reps})[0] == 1 + 2 + 2 * courses + 2 * courses * classes
    # 10 institutions of a page: ten times one
    page = "{ institutions(first: 10) { edges { node { sites { courses { name } } } } } }"
    assert limits.cost(schema._schema, page)[0] == 1 + 1 + 10 * (1 + 1 + sites + courses)


def test_every_list_has_a_bound():
    """No list falls back to a guess: each list of objects in both schemas takes a page size
    (a connection's edges, or ``first``) or has a declared bound, and each declared bound
    names a real field."""
    for graphql_schema in (schema._schema, public_schema._schema):
        for type_name, graphql_type in graphql_schema.type_map.items():
            if type_name.startswith("__") or not isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType):
                continue
            for field_name, field in graphql_type.fields.items():
                item = get_named_type(field.type)
                if not is_list_type(get_nullable_type(field.type)) or is_leaf_type(item):
                    continue
                if field_name == "edges" and type_name.endswith("Connection"):
                    continue
                assert limits.bound_of(type_name, field_name, item.name) is not None, f"{type_name}.{field_name}"
    for key in limits.BOUNDS:
        type_name, field_name = key.split(".")
        assert field_name in schema._schema.type_map[type_name].fields, key


def test_the_region_bound_holds_for_the_national_table():
    with open(ROOT / "data" / "regions.csv", encoding="utf-8") as f:
        children = Counter(row["parent_code"] for row in csv.DictReader(f))
    assert max(children.values()) <= regions.MAX_CHILDREN


def test_introspection_is_counted_against_a_budget_of_its_own():
    standard = graphql.get_introspection_query(descriptions=True)
    for graphql_schema in (schema._schema, public_schema._schema):
        cost, introspection = limits.cost(graphql_schema, standard)
        assert cost == 0 and 0 < introspection <= limits.introspection_budget(graphql_schema)
    # each type's fields once: the schema knows how many
    types = "{ __schema { types { fields { name } } } }"
    fields = sum(len(t.fields) for t in public_schema._schema.type_map.values() if isinstance(t, GraphQLObjectType | GraphQLInterfaceType))
    assert limits.cost(public_schema._schema, types) == (0, 1 + 1 + len(public_schema._schema.type_map) + fields)
    # a type reference answers as many ofType as its wrapping, then null: no deeper cost
    deep = "{ __type(name: \"Query\") { fields { type { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } }"
    shallow = "{ __type(name: \"Query\") { fields { type { ofType { ofType { ofType { name } } } } } } }"
    assert limits.cost(public_schema._schema, deep) == limits.cost(public_schema._schema, shallow)


async def test_batched_requests_are_not_accepted(http):
    response = await http.post("/graphql", json=[{"query": "{ __typename }"}, {"query": "{ __typename }"}])
    assert response.status_code == 400
    assert "Traceback" not in response.text


async def test_limits_apply_to_mutations_too(gql):
    query = "mutation { " + " ".join(f'l{i}: login(username: "x", password: "y") {{ token }}' for i in range(11)) + " }"
    assert error_codes(await gql(query)) == ["TOO_MANY_ALIASES"]


async def test_every_string_and_list_of_the_arguments_has_a_limit(gql, demo):
    regulator = await gql.login("edu-000000")
    name = "query($n: String) { institutions(filter: {name: $n}) { totalCount } }"
    # a filter's field: 100 characters, as a variable, a literal or a variable's default
    for query, variables in (
        (name, {"n": "x" * 101}),
        ('{ institutions(filter: {name: "%s"}) { totalCount } }' % ("x" * 101), {}),
        ('query($n: String = "%s") { institutions(filter: {name: $n}) { totalCount } }' % ("x" * 101), {}),
    ):
        result = await gql(query, variables, token=regulator)
        assert [(e["extensions"]["code"], e["extensions"]["argument"], e["extensions"]["limit"]) for e in result["errors"]] == [
            ("INPUT_TOO_LONG", "InstitutionFilter.name", limits.FILTER_STRING)
        ]
    assert "errors" not in await gql(name, {"n": "x" * 100}, token=regulator)
    # any other string: 10,000
    long_reason = 'mutation { rejectComplaint(id: "x", reason: "%s") { errors { code } } }' % ("理" * (limits.MAX_STRING + 1))
    assert error_codes(await gql(long_reason, token=regulator)) == ["INPUT_TOO_LONG"]
    # a list: 1,000 items (ids of nodes are fewer still: the resolver's 100)
    ids = [str(i) for i in range(limits.MAX_LIST_ITEMS + 1)]
    assert error_codes(await gql("query($i: [ID!]!) { nodes(ids: $i) { id } }", {"i": ids}, token=regulator)) == ["TOO_MANY_ITEMS"]
    # a JSON value's nesting: in a literal representation (the body's own is checked before
    # it is parsed: JSON_TOO_DEEP, tests/test_http.py)
    deep = "[" * (limits.MAX_JSON_DEPTH + 1) + "]" * (limits.MAX_JSON_DEPTH + 1)
    literal = '{ _entities(representations: [{__typename: "Region", code: %s}]) { __typename } }' % deep
    assert error_codes(await gql(literal, token=regulator)) == ["INPUT_TOO_LONG"]
