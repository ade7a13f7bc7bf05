"""Automatic persisted queries (the Apollo protocol) and the registered-only mode for
public traffic."""

from __future__ import annotations

import hashlib
import json

from resolvers.persisted import read_manifest, register
from tests.helpers import error_codes

QUERY = '{ region(code: "440106") { name } }'
HASH = hashlib.sha256(QUERY.encode()).hexdigest()


def persisted(sha: str = HASH) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha}}


async def post(http, body: dict, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post("/graphql", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_apollo_protocol_hash_first_then_query_then_hash_alone(http, app):
    missing = await post(http, {"extensions": persisted()})
    assert (error_codes(missing), missing["errors"][0]["message"]) == (["PERSISTED_QUERY_NOT_FOUND"], "PersistedQueryNotFound")
    assert await post(http, {"query": QUERY, "extensions": persisted()}) == {"data": {"region": {"name": "天河区"}}}
    app.state.persisted_cache.entries.clear()  # another worker: found in PostgreSQL
    assert await post(http, {"extensions": persisted()}) == {"data": {"region": {"name": "天河区"}}}
    # over GET too, as CDNs like it
    response = await http.get("/graphql", params={"extensions": json.dumps(persisted())}, headers={"Accept": "application/json"})
    assert response.json() == {"data": {"region": {"name": "天河区"}}}


async def test_a_wrong_hash_or_a_malformed_extension_is_refused(http):
    assert error_codes(await post(http, {"query": QUERY, "extensions": persisted("0" * 64)})) == ["PERSISTED_QUERY_HASH_MISMATCH"]
    assert error_codes(await post(http, {"extensions": {"persistedQuery": {"version": 2, "sha256Hash": HASH}}})) == ["PERSISTED_QUERY_INVALID"]
    assert error_codes(await post(http, {"extensions": {"persistedQuery": "yes"}})) == ["PERSISTED_QUERY_INVALID"]


async def test_registered_only_mode_limits_public_traffic_alone(http, app, gql, demo, sessionmaker):
    app.state.settings.public_operations = "registered"
    assert await register(sessionmaker, {HASH: QUERY}) == 1
    # registered: by hash, or by its exact text
    assert await post(http, {"extensions": persisted()}) == {"data": {"region": {"name": "天河区"}}}
    assert await post(http, {"query": QUERY}) == {"data": {"region": {"name": "天河区"}}}
    # anything else, from a caller without a session, is refused
    other = '{ region(code: "440104") { name } }'
    assert error_codes(await post(http, {"query": other})) == ["OPERATION_NOT_REGISTERED"]
    other_hash = hashlib.sha256(other.encode()).hexdigest()
    assert error_codes(await post(http, {"query": other, "extensions": persisted(other_hash)})) == ["OPERATION_NOT_REGISTERED"]
    assert error_codes(await post(http, {"extensions": persisted(other_hash)})) == ["OPERATION_NOT_REGISTERED"]
    # a caller with a session is not limited (it logged in with a registered operation)
    login = 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }'
    await register(sessionmaker, {hashlib.sha256(login.encode()).hexdigest(): login})
    token = (await post(http, {"query": login, "variables": {"u": "edu-440106", "p": "Demo#2026"}}))["data"]["login"]["token"]
    assert await post(http, {"query": other}, token=token) == {"data": {"region": {"name": "越秀区"}}}


def test_manifests_are_checked(tmp_path):

    assert read_manifest(json.dumps([QUERY])) == {HASH: QUERY}
    assert read_manifest(json.dumps({HASH.upper(): QUERY})) == {HASH: QUERY}
    for bad in (json.dumps({"0" * 64: QUERY}), json.dumps([1, 2]), json.dumps("x")):
        try:
            read_manifest(bad)
        except ValueError:
            continue
        raise AssertionError(bad)
