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


async def test_security_headers_on_every_response(http):
    for response in (await http.get("/healthz"), await http.post("/graphql", json={"query": "{ __typename }"})):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert "strict-transport-security" not in response.headers  # local development: no HTTPS
    page = await http.get("/graphql", headers={"Accept": "text/html"})
    assert page.headers["x-frame-options"] == "DENY" and "content-security-policy" not in page.headers


async def test_cors_is_closed_by_default(http):
    preflight = await http.options(
        "/graphql", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers
    response = await http.post("/graphql", json={"query": "{ __typename }"}, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


async def test_cors_opens_to_configured_origins(database_url, clock):
    import httpx

    from config import Settings
    from server import create_app

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
