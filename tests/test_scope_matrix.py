"""The scope matrix: every list and lookup field × a viewer at every level × in and out of
its subtree, asserting the exact sets. Out of scope reads exactly like not found."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from auth.passwords import hash_password
from demo.accounts import DEMO_TREE, OTHER_DEPARTMENTS
from models import Account, AccountKind
from tests.helpers import error_codes

# The demo tree, written out: what each viewer may see, by the rules of docs/DOMAIN.md §G1.
GD = ["440106", "440104", "440304", "440305"]
GZ = ["440106", "440104"]


def county_family(county: str, *, department: str = "edu") -> set[str]:
    if department != "edu":
        return {f"{department}-{county}"}
    return {f"edu-{county}", f"edu-{county}-01", f"edu-{county}-02"} | {f"{d}-{county}" for d in OTHER_DEPARTMENTS}


ALL = {"edu-000000"} | {f"edu-{p}" for p in DEMO_TREE} | {f"edu-{pf}" for p in DEMO_TREE.values() for pf in p} | set().union(
    *(county_family(c) for p in DEMO_TREE.values() for cs in p.values() for c in cs)
)
EXPECTED = {
    "edu-000000": ALL,
    "edu-440000": {"edu-440000", "edu-440100", "edu-440300"} | set().union(*(county_family(c) for c in GD)),
    "edu-440100": {"edu-440100"} | set().union(*(county_family(c) for c in GZ)),
    "edu-440106": {"edu-440106", "edu-440106-01", "edu-440106-02"},
    "edu-440106-01": {"edu-440106-01"},
    "sports-440106": {"sports-440106"},
}
LIST = "{ regulatorAccounts(first: 100) { totalCount edges { node { username } } } }"
ONE = "query($id: ID!) { regulatorAccount(id: $id) { username } }"
ENTITIES = 'query($reps: [_Any!]!) { _entities(representations: $reps) { ... on RegulatorAccount { username } } }'


@pytest.fixture
async def world(gql, demo, sessionmaker):
    async with sessionmaker() as db:
        db.add(Account(username="org-1", name="某培训学校", kind=AccountKind.INSTITUTION, password_hash=hash_password("Org#2026x"), must_change_password=False))
        await db.commit()
        ids = dict((await db.execute(sa.select(Account.username, Account.id).where(Account.kind == AccountKind.REGULATOR))).all())
    assert set(ids) == ALL and len(ALL) == 55
    return {name: str(i) for name, i in ids.items()}


@pytest.mark.parametrize("viewer", sorted(EXPECTED))
async def test_regulator_sees_exactly_its_scope_in_every_read(gql, world, viewer):
    token = await gql.login(viewer)
    expected = EXPECTED[viewer]
    # the list
    listed = (await gql(LIST, token=token))["data"]["regulatorAccounts"]
    assert {e["node"]["username"] for e in listed["edges"]} == expected
    assert listed["totalCount"] == len(expected)
    # lookups by id, in scope and out of it: out of scope is null, exactly like a missing id
    for username, account_id in world.items():
        result = await gql(ONE, {"id": account_id}, token=token)
        assert result == {"data": {"regulatorAccount": {"username": username} if username in expected else None}}
    assert await gql(ONE, {"id": "00000000-0000-0000-0000-000000000000"}, token=token) == {"data": {"regulatorAccount": None}}
    # federation _entities
    reps = [{"__typename": "RegulatorAccount", "id": i} for i in world.values()]
    entities = (await gql(ENTITIES, {"reps": reps}, token=token))["data"]["_entities"]
    assert [e["username"] if e else None for e in entities] == [u if u in expected else None for u in world]


@pytest.mark.parametrize("viewer", [None, "org-1"])
async def test_anonymous_and_institution_callers_see_no_regulator_account(gql, world, viewer):
    token = await gql.login(viewer, "Org#2026x") if viewer else None
    expected_code = "FORBIDDEN" if viewer else "UNAUTHENTICATED"
    assert error_codes(await gql(LIST, token=token)) == [expected_code]
    assert error_codes(await gql(ONE, {"id": world["edu-000000"]}, token=token)) == [expected_code]
    reps = [{"__typename": "RegulatorAccount", "id": i} for i in world.values()]
    assert (await gql(ENTITIES, {"reps": reps}, token=token))["data"]["_entities"] == [None] * len(world)


@pytest.mark.parametrize("viewer", [None, "edu-440106-01", "edu-000000"])
async def test_regions_are_public_and_the_same_for_everyone(gql, world, viewer):
    token = await gql.login(viewer) if viewer else None
    result = await gql('{ regions(parentCode: "440100") { code } region(code: "420500") { name } _entities(representations: [{__typename: "Region", code: "440106"}]) { ... on Region { name } } '
                       'retired: region(code: "500112") { inForce validFrom validTo successors { code } predecessors { code } history { kind effective description } } }', token=token)
    assert result["data"]["region"] == {"name": "宜昌市"}
    assert result["data"]["retired"] == {
        "inForce": False, "validFrom": None, "validTo": "2026-01-25", "successors": [{"code": "500109"}, {"code": "500157"}], "predecessors": [],
        "history": [{"kind": "SPLIT", "effective": "2026-01-25", "description": "拆分为 500157、500109"}],
    }
    assert result["data"]["_entities"] == [{"name": "天河区"}]
    assert "440106" in {r["code"] for r in result["data"]["regions"]}
