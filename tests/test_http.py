"""Bad requests get client errors, never a 500 or a trace."""

from __future__ import annotations


async def test_malformed_json_is_a_400(http):
    response = await http.post("/graphql", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "Traceback" not in response.text


async def test_a_syntax_error_is_a_graphql_error(gql):
    result = await gql("{ regions { code ")
    assert result.get("data") is None
    assert result["errors"][0]["message"].startswith("Syntax Error")


async def test_a_mutation_over_get_is_refused(http):
    response = await http.get("/graphql", params={"query": "mutation { logout }"})
    assert response.status_code == 400
    assert response.text == "mutations are not allowed when using GET"
    assert "Traceback" not in response.text


async def test_health(http):
    response = await http.get("/healthz")
    assert response.json() == {"status": "ok"}


async def test_nul_characters_are_refused_before_anything_runs(gql):
    literal = await gql('{ region(code: "44\\u0000106") { name } }')
    variable = await gql("query($c: String!) { region(code: $c) { name } }", {"c": "44\x00106"})
    for result in (literal, variable):
        assert result["data"] is None
        assert [e["extensions"]["code"] for e in result["errors"]] == ["BAD_USER_INPUT"]
