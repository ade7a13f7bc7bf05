"""The scope matrix for institutions: list, lookup by id and federation _entities, for a
viewer at every level, department and sub-unit, in and out of its subtree."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from models import Account
from tests.helpers import VIEWERS, apply_changes, change_set, error_codes

LIST = "{ institutions(first: 100) { totalCount edges { node { name } } } }"
ONE = "query($id: ID!) { institution(id: $id) { name } }"
ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Institution { name } } }"
@pytest.mark.parametrize("viewer", VIEWERS)
async def test_each_viewer_reads_exactly_its_scope(gql, scope_world, viewer):
    ids, expected, _ = scope_world
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


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_the_review_list_of_a_split_is_read_in_scope(app, gql, scope_world, viewer):
    # given: 江岸 420102 split with no institution named: its two wait on the retired code
    _, expected, _ = scope_world
    await apply_changes(app, change_set(
        {"op": "create", "code": "420199", "name": "江岸新区", "parent": "420100", "level": 3},
        {"op": "split", "from": "420102", "into": ["420106", "420199"]},
    ))
    token = await gql.login(viewer)
    # then: each viewer reads the same as before, and of the review list (regionRetired) its own part
    query = "query($f: InstitutionFilter) { institutions(first: 100, filter: $f) { totalCount edges { node { name } } } }"
    for f, wanted in ((None, expected[viewer]), ({"regionRetired": True}, {n for n in expected[viewer] if n.startswith("420102")}),
                      ({"regionRetired": False}, {n for n in expected[viewer] if not n.startswith("420102")})):
        page = (await gql(query, {"f": f}, token=token))["data"]["institutions"]
        assert ({e["node"]["name"] for e in page["edges"]}, page["totalCount"]) == (wanted, len(wanted)), f


async def test_an_institution_account_reads_its_own_institution_only(gql, scope_world):
    ids, _, own = scope_world
    token = await gql.login("org-1", "Org#2026x")
    assert error_codes(await gql(LIST, token=token)) == ["FORBIDDEN"]
    for name, institution_id in ids.items():
        got = await gql(ONE, {"id": institution_id}, token=token)
        assert got == {"data": {"institution": {"name": name} if name == own else None}}


async def test_anonymous_callers_read_no_institution(gql, scope_world):
    ids, _, _ = scope_world
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


async def test_an_account_on_its_initial_password_reads_no_institution(gql, scope_world, sessionmaker):
    ids, _, _ = scope_world
    async with sessionmaker() as db:
        await db.execute(sa.update(Account).where(Account.username == "edu-440000").values(must_change_password=True))
        await db.commit()
    token = await gql.login("edu-440000")
    reps = [{"__typename": "Institution", "id": i} for i in ids.values()]
    assert (await gql(ENTITIES, {"r": reps}, token=token))["data"]["_entities"] == [None] * len(ids)


STANDING_FILTERS = ("licensed", "lawful", "compliant", "whiteListEligible", "blackListed")


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_the_standing_and_its_filters_stay_in_scope(gql, scope_world, viewer):
    """Each standing filter, true and false, splits exactly the viewer's scope; the standing is
    read in scope only (out of scope reads like not found); the reason filters too."""
    ids, expected, _ = scope_world
    token = await gql.login(viewer)
    aliases = {f"{fact}_{str(wanted).lower()}": {fact: wanted} for fact in STANDING_FILTERS for wanted in (True, False)}
    aliases |= {"expiring": {"licenceExpiringWithinDays": 3650}, "reason": {"standingReason": "LICENCE_MISSING"}}
    query = "query(%s) { %s }" % (
        ", ".join(f"${a}: InstitutionFilter" for a in aliases),
        " ".join(f"{a}: institutions(first: 100, filter: ${a}) {{ totalCount edges {{ node {{ name standing {{ lawful }} }} }} }}" for a in aliases),
    )
    pages = (await gql(query, aliases, token=token))["data"]
    for fact in STANDING_FILTERS:
        yes, no = ({e["node"]["name"] for e in pages[f"{fact}_{w}"]["edges"]} for w in ("true", "false"))
        assert yes | no == expected[viewer] and not yes & no, fact
        assert (pages[f"{fact}_true"]["totalCount"], pages[f"{fact}_false"]["totalCount"]) == (len(yes), len(no))
    # scope_world's institutions have no qualifications saved: none is lawful, none has a licence
    assert {e["node"]["name"] for e in pages["lawful_false"]["edges"]} == expected[viewer]
    assert pages["expiring"]["edges"] == [] and pages["reason"]["edges"] == []
    one = "query($id: ID!) { institution(id: $id) { standing { lawful reasons { code } } } }"
    for name, institution_id in ids.items():
        got = (await gql(one, {"id": institution_id}, token=token))["data"]["institution"]
        assert (got is not None) == (name in expected[viewer]), name
        if got:
            assert got["standing"] == {"lawful": False, "reasons": [{"code": "QUALIFICATIONS_MISSING"}, {"code": "COMPLIANCE_NOT_SUBMITTED"}]}
