"""Bad requests get client errors, never a 500 or a trace."""

from __future__ import annotations

import httpx

from core.settings import Settings
from schema.limits import MAX_JSON_DEPTH
from server import create_app
from tests.helpers import limit_public_rate
from web.graphql import response_media_type


async def test_malformed_json_is_a_400(http):
    response = await http.post("/graphql", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "Traceback" not in response.text


async def test_a_syntax_error_is_a_graphql_error(gql):
    result = await gql("{ regions { code ")
    assert result.get("data") is None
    [error] = result["errors"]
    assert error["message"] == "语法错误：Expected Name, found <EOF>. (Syntax Error: Expected Name, found <EOF>.)"
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


async def test_a_mutation_over_get_is_refused(http):
    response = await http.get("/graphql", params={"query": "mutation { logout }"})
    # GraphQL over HTTP: "the server MUST respond with error status code 405"
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.text == "mutations are not allowed when using GET"
    assert "Traceback" not in response.text


async def test_request_parameters_of_the_wrong_type_are_a_400(http):
    for body, parameter in (
        ({"query": 1}, "query"),
        ({"query": "{ __typename }", "variables": ["a"]}, "variables"),
        ({"query": "{ __typename }", "extensions": "x"}, "extensions"),
        ({"query": "{ __typename }", "operationName": {"a": 1}}, "operationName"),
    ):
        response = await http.post("/graphql", json=body)
        assert response.status_code == 400, body
        assert f"`{parameter}` must be" in response.text


def test_the_answer_media_type_follows_the_accept_header():

    new = "application/graphql-response+json"
    assert response_media_type("") == "application/json"
    assert response_media_type("*/*") == "application/json"
    assert response_media_type("text/html") == "application/json"  # legacy: still JSON
    assert response_media_type(new) == new
    assert response_media_type(f"{new}, application/json;q=0.9") == new  # what clients send
    assert response_media_type(f"application/json, {new}") == "application/json"  # a tie: the first
    assert response_media_type(f"application/json;q=0.5, {new};q=0.8") == new
    assert response_media_type(f"{new};q=0, */*") == "application/json"


async def test_graphql_response_json_answers_request_errors_with_4xx_and_no_data(http):
    accept = {"Accept": "application/graphql-response+json"}
    # given a caller that accepts the GraphQL response media type
    ok = await http.post("/graphql", json={"query": '{ region(code: "440106") { name } }'}, headers=accept)
    invalid = await http.post("/graphql", json={"query": "{ nope }"}, headers=accept)
    syntax = await http.post("/graphql", json={"query": "{"}, headers=accept)
    coercion = await http.post("/graphql", json={"query": "query($c: String!) { region(code: $c) { name } }", "variables": {"c": None}}, headers=accept)
    # then executed operations are 200s, and requests that never executed 400s without data
    assert ok.status_code == 200 and ok.json() == {"data": {"region": {"name": "天河区"}}}
    assert ok.headers["content-type"] == "application/graphql-response+json; charset=utf-8"
    for response in (invalid, syntax, coercion):
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/graphql-response+json; charset=utf-8"
        assert "data" not in response.json() and response.json()["errors"]
    # and application/json keeps every GraphQL result a 200 with "data": null
    legacy = await http.post("/graphql", json={"query": "{ nope }"}, headers={"Accept": "application/json"})
    assert legacy.status_code == 200 and legacy.headers["content-type"] == "application/json"
    assert legacy.json()["data"] is None


async def test_graphql_response_json_answers_a_rate_limited_caller_with_429(http, app):
    await limit_public_rate(app, 1, 0.1)
    accept = {"Accept": "application/graphql-response+json"}
    assert (await http.post("/graphql", json={"query": "{ __typename }"}, headers=accept)).status_code == 200
    limited = await http.post("/graphql", json={"query": "{ __typename }"}, headers=accept)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "10"
    assert [e["extensions"]["code"] for e in limited.json()["errors"]] == ["RATE_LIMITED"]
    assert "data" not in limited.json()


async def test_a_variable_of_the_wrong_type_is_named_not_masked(gql):
    missing = await gql("query($c: String!) { region(code: $c) { name } }")
    wrong = await gql('query($n: Int) { publicInstitutions(name: "育英", regionCode: "440106", first: $n) { totalCount } }', {"n": "abc"})
    assert missing == {
        "data": None,
        "errors": [
            {
                "message": "变量 $c 取值无效：缺少必填的值（类型 String!） (Variable '$c' has invalid value: Expected a value of non-null type 'String!' to be provided.)",
                "locations": [{"line": 1, "column": 7}],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }
    assert wrong["errors"][0]["message"] == "变量 $n 取值无效：Int 类型不能表示该值 (Variable '$n' has invalid value: Int cannot represent non-integer value: 'abc')"
    assert wrong["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}


async def test_health(http):
    response = await http.get("/healthz")
    assert response.json() == {"status": "ok"}


async def test_nul_characters_are_refused_before_anything_runs(gql):
    literal = await gql('{ region(code: "44\\u0000106") { name } }')
    variable = await gql("query($c: String!) { region(code: $c) { name } }", {"c": "44\x00106"})
    for result in (literal, variable):
        assert result["data"] is None
        assert [e["extensions"]["code"] for e in result["errors"]] == ["BAD_USER_INPUT"]


async def test_security_headers_on_every_response(http):
    for response in (await http.get("/healthz"), await http.post("/graphql", json={"query": "{ __typename }"})):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert "strict-transport-security" not in response.headers  # local development: no HTTPS
    page = await http.get("/graphql", headers={"Accept": "text/html"})
    # the GraphiQL page has a policy of its own (web/graphiql.py), fitted to what it loads
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["content-security-policy"].startswith("default-src 'none'; script-src 'self'")
    assert page.headers["content-security-policy"].endswith("frame-ancestors 'none'")


async def test_cors_is_closed_by_default(http):
    preflight = await http.options(
        "/graphql", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers
    response = await http.post("/graphql", json={"query": "{ __typename }"}, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


async def test_cors_opens_to_configured_origins(database_url, clock):


    app = create_app(Settings(database_url=database_url, clock=clock, cors_origins=["https://xwpx.example"], secure_cookies=True))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            allowed = await client.options("/graphql", headers={"Origin": "https://xwpx.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-requested-with"})
            assert allowed.headers["access-control-allow-origin"] == "https://xwpx.example"
            assert allowed.headers["access-control-allow-credentials"] == "true"
            other = await client.options("/graphql", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
            assert "access-control-allow-origin" not in other.headers
            secure = await client.get("/healthz")
            assert secure.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


async def test_a_body_nested_deeper_than_the_limit_is_a_400_with_a_code(http):

    def body(depth: int) -> bytes:
        # the body and its variables are two levels; the value the rest
        return b'{"query": "{ __typename }", "variables": {"v": ' + b"[" * (depth - 2) + b"]" * (depth - 2) + b"}}"

    for deep in (body(MAX_JSON_DEPTH + 1), body(100_000)):
        response = await http.post("/graphql", content=deep, headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        assert response.json() == {"errors": [{"message": "请求体的 JSON 嵌套过深 (the JSON body nests deeper than 32 levels)", "extensions": {"code": "JSON_TOO_DEEP", "limit": MAX_JSON_DEPTH}}]}
    ok = await http.post("/graphql", content=body(MAX_JSON_DEPTH), headers={"Content-Type": "application/json"})
    assert ok.status_code == 200 and ok.json() == {"data": {"__typename": "Query"}}
    # the same in a GET's variables
    deep_get = await http.get("/graphql", params={"query": "{ __typename }", "variables": '{"v": ' + "[" * 50 + "]" * 50 + "}"})
    assert deep_get.status_code == 400 and deep_get.json()["errors"][0]["extensions"]["code"] == "JSON_TOO_DEEP"
