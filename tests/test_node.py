"""Relay's Node: any record by its id, in the caller's scope, through the scope function."""

from __future__ import annotations

import sqlalchemy as sa

from models import Account, Institution
from tests.helpers import CREATE_STAFF, TEACHER, data, error_codes, insert_institutions, institution_account

NODE = """query($id: ID!) { node(id: $id) { __typename id
  ... on Institution { name } ... on RegulatorAccount { username } ... on Staff { name idNumber } ... on Complaint { targetName } } }"""
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"


async def test_node_finds_any_record_in_scope_and_nothing_outside(gql, demo, sessionmaker):
    names = await insert_institutions(sessionmaker, {"edu-440106": 1, "edu-420102": 1})
    async with sessionmaker() as db:

        ids = {n: str(i) for n, i in (await db.execute(sa.select(Institution.name, Institution.id))).all()}
        accounts = {u: str(i) for u, i in (await db.execute(sa.select(Account.username, Account.id))).all()}
    tianhe, jiangan = ids[names["edu-440106"][0]], ids[names["edu-420102"][0]]
    org = await gql.login(await institution_account(sessionmaker, names["edu-440106"][0]))
    staff = data(await gql(CREATE_STAFF, {"input": TEACHER}, token=org), "createStaff")["staff"]
    county = await gql.login("edu-440106")

    async def node(token: str, record_id: str) -> dict | None:
        result = await gql(NODE, {"id": record_id}, token=token)
        assert "errors" not in result, result
        return result["data"]["node"]

    assert await node(county, tianhe) == {"__typename": "Institution", "id": tianhe, "name": names["edu-440106"][0]}
    assert await node(county, accounts["edu-440106-01"]) == {"__typename": "RegulatorAccount", "id": accounts["edu-440106-01"], "username": "edu-440106-01"}
    assert await node(county, staff["id"]) == {"__typename": "Staff", "id": staff["id"], "name": "王老师", "idNumber": TEACHER["idNumber"]}
    # Out of scope reads exactly like an unknown id.
    for outside in (jiangan, accounts["edu-440000"], accounts["edu-420102"], "00000000-0000-0000-0000-000000000000", "not-an-id"):
        assert await node(county, outside) is None
    # The province reads the staff member masked; another county reads nothing.
    assert (await node(await gql.login("edu-440000"), staff["id"]))["idNumber"] == "110***********002X"
    assert await node(await gql.login("edu-440104"), staff["id"]) is None
    # nodes: in order, null where out of scope
    batch = (await gql(NODES, {"ids": [jiangan, tianhe, staff["id"]]}, token=county))["data"]["nodes"]
    assert batch == [None, {"__typename": "Institution", "id": tianhe}, {"__typename": "Staff", "id": staff["id"]}]
    assert error_codes(await gql(NODES, {"ids": [tianhe] * 101}, token=county)) == ["BAD_USER_INPUT"]
    assert error_codes(await gql(NODE, {"id": tianhe})) == ["UNAUTHENTICATED"]
