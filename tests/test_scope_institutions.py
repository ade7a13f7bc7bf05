"""The scope matrix for institutions: list, lookup by id and federation _entities, for a
viewer at every level, department and sub-unit, in and out of its subtree."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from auth.passwords import hash_password
from models import Account, AccountKind, Institution
from tests.helpers import error_codes, insert_institutions


@pytest.fixture
async def world(demo, sessionmaker):
    subject = await insert_institutions(
        sessionmaker, {"edu-440106": 2, "edu-440106-01": 1, "edu-440104": 1, "edu-440304": 1, "edu-420102": 1}
    )
    sports = await insert_institutions(sessionmaker, {"edu-440106": 1, "edu-420102": 1}, kind="NON_SUBJECT", training_categories=["SPORTS", "ARTS"])
    arts = await insert_institutions(sessionmaker, {"edu-440106": 1}, kind="NON_SUBJECT", training_categories=["ARTS"])
    async with sessionmaker() as db:
        ids = {name: str(i) for name, i in (await db.execute(sa.select(Institution.name, Institution.id))).all()}
        target = ids[subject["edu-440104"][0]]
        db.add(Account(username="org-1", name="机构账号", kind=AccountKind.INSTITUTION, institution_id=uuid.UUID(target), password_hash=hash_password("Org#2026x"), must_change_password=False))
        await db.commit()
    every = set(ids)
    gd = {n for n in every if n.startswith("44")}
    tianhe = {n for n in every if n.startswith("440106")}
    expected = {
        "edu-000000": every,
        "edu-440000": gd,
        "edu-440100": {n for n in gd if n[:6] in ("440106", "440104")},
        "edu-420000": every - gd,
        "edu-440106": tianhe,
        "edu-440304": {n for n in every if n.startswith("440304")},
        "edu-440106-01": set(subject["edu-440106-01"]),
        "sports-440106": set(sports["edu-440106"]),  # non-subject with 体育类, in its county
    }
    assert len(every) == 9 and arts  # the 文化艺术类 one is seen by education only
    return ids, expected, subject["edu-440104"][0]


LIST = "{ institutions(first: 100) { totalCount edges { node { name } } } }"
ONE = "query($id: ID!) { institution(id: $id) { name } }"
ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Institution { name } } }"
VIEWERS = ["edu-000000", "edu-440000", "edu-440100", "edu-420000", "edu-440106", "edu-440304", "edu-440106-01", "sports-440106"]


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_each_viewer_reads_exactly_its_scope(gql, world, viewer):
    ids, expected, _ = world
    token = await gql.login(viewer)
    page = (await gql(LIST, token=token))["data"]["institutions"]
    assert {e["node"]["name"] for e in page["edges"]} == expected[viewer]
    assert page["totalCount"] == len(expected[viewer])
    for name, institution_id in ids.items():
        got = await gql(ONE, {"id": institution_id}, token=token)
        assert got == {"data": {"institution": {"name": name} if name in expected[viewer] else None}}, name
    reps = [{"__typename": "Institution", "id": i} for i in ids.values()]
    entities = (await gql(ENTITIES, {"r": reps}, token=token))["data"]["_entities"]
    assert [e["name"] if e else None for e in entities] == [n if n in expected[viewer] else None for n in ids]


async def test_an_institution_account_reads_its_own_institution_only(gql, world):
    ids, _, own = world
    token = await gql.login("org-1", "Org#2026x")
    assert error_codes(await gql(LIST, token=token)) == ["FORBIDDEN"]
    for name, institution_id in ids.items():
        got = await gql(ONE, {"id": institution_id}, token=token)
        assert got == {"data": {"institution": {"name": name} if name == own else None}}


async def test_anonymous_callers_read_no_institution(gql, world):
    ids, _, _ = world
    assert error_codes(await gql(LIST)) == ["UNAUTHENTICATED"]
    assert error_codes(await gql(ONE, {"id": next(iter(ids.values()))})) == ["UNAUTHENTICATED"]
    reps = [{"__typename": "Institution", "id": i} for i in ids.values()]
    # Institution is no type of the public part: the document is refused as unknown ...
    refused = await gql(ENTITIES, {"r": reps})
    assert refused["data"] is None and error_codes(refused) == ["UNAUTHENTICATED"]
    # ... and so is each representation of it, like one of a type that does not exist.
    probed = await gql("query($r: [_Any!]!) { _entities(representations: $r) { __typename } }", {"r": reps[:2] + [{"__typename": "Nope", "id": "x"}]})
    assert probed["data"] == {"_entities": [None, None, None]}
    assert [(e["extensions"]["code"], e["path"]) for e in probed["errors"]] == [("BAD_USER_INPUT", ["_entities", i]) for i in range(3)]
    assert probed["errors"][0]["message"] == probed["errors"][2]["message"].replace("[2]", "[0]")


async def test_an_account_on_its_initial_password_reads_no_institution(gql, world, sessionmaker):
    ids, _, _ = world
    async with sessionmaker() as db:
        await db.execute(sa.update(Account).where(Account.username == "edu-440000").values(must_change_password=True))
        await db.commit()
    token = await gql.login("edu-440000")
    reps = [{"__typename": "Institution", "id": i} for i in ids.values()]
    assert (await gql(ENTITIES, {"r": reps}, token=token))["data"]["_entities"] == [None] * len(ids)
