"""The scope matrix: every list and lookup field × a viewer at every level × in and out of
its subtree, asserting the exact sets. Out of scope reads exactly like not found."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from auth.passwords import hash_password
from demo.accounts import DEMO_TREE, OTHER_DEPARTMENTS
from models import Account, AccountKind
from resolvers import finding_list
from resolvers.findings import RULES
from resolvers.statistics import counting
from tests.helpers import VIEWERS, error_codes, with_findings

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


# --- findings (问题清单): the list, its filters, the institution list's, the export, statistics ---

FINDINGS = """query($f: FindingFilter, $after: String) { findings(filter: $f, first: 7, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { rule severity institutionName regionCode recordType institution { name } } } } }"""
INSTITUTIONS = "query($f: InstitutionFilter) { institutions(filter: $f, first: 100) { totalCount edges { node { name } } } }"


async def listed_findings(gql, token: str, f: dict | None = None) -> list[tuple[str, str]]:
    """Every finding of the list, page after page, as (institution name, rule), with the total checked."""
    found, after = [], None
    while True:
        result = await gql(FINDINGS, {"f": f, "after": after}, token=token)
        assert "errors" not in result, result
        page = result["data"]["findings"]
        for edge in page["edges"]:
            node = edge["node"]
            assert node["institution"] == {"name": node["institutionName"]} and node["severity"] == "VIOLATION"
            found.append((node["institutionName"], node["rule"]))
        if not page["pageInfo"]["hasNextPage"]:
            assert page["totalCount"] == len(found)
            return found
        after = page["pageInfo"]["endCursor"]


@pytest.fixture
async def finding_world(scope_world, sessionmaker):
    ids, expected, own = scope_world
    rules = await with_findings(sessionmaker, ids)
    return ids, expected, own, rules


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_each_viewer_lists_exactly_its_subtrees_findings(gql, finding_world, viewer):
    ids, expected, _, rules = finding_world
    token = await gql.login(viewer)
    mine = {(name, rule) for name in expected[viewer] for rule in rules[name]}
    # the list: every finding of the viewer's institutions, none other, each once
    everything = await listed_findings(gql, token)
    assert sorted(everything) == sorted(mine)
    # its filters, each within the scope
    assert sorted(await listed_findings(gql, token, {"rules": ["NON_PROFIT"]})) == sorted(f for f in mine if f[1] == "NON_PROFIT")
    assert sorted(await listed_findings(gql, token, {"rules": ["NON_PROFIT", "FEE_PERIOD"], "severity": "VIOLATION"})) == sorted(mine)
    assert await listed_findings(gql, token, {"severity": "WARNING"}) == []
    assert await listed_findings(gql, token, {"rules": []}) == sorted(everything, key=everything.index)
    assert sorted(await listed_findings(gql, token, {"recordType": "InstitutionFunds"})) == sorted(f for f in mine if f[1] == "FEE_PERIOD")
    assert sorted(await listed_findings(gql, token, {"regionCode": "440106"})) == sorted(f for f in mine if f[0].startswith("440106"))
    # one institution's: its own when in scope; out of scope reads exactly like an unknown id
    for name, institution_id in ids.items():
        got = await listed_findings(gql, token, {"institutionId": institution_id})
        assert sorted(got) == sorted((name, r) for r in rules[name] if name in expected[viewer]), name
    assert await listed_findings(gql, token, {"institutionId": "00000000-0000-0000-0000-000000000000"}) == []
    # the institution list's filters name exactly the institutions the findings list names
    aliases = {
        "with": {"hasFindings": True}, "without": {"hasFindings": False}, "profit": {"findingRules": ["NON_PROFIT"]},
        "any": {"findingRules": ["NON_PROFIT", "FEE_PERIOD"]}, "violation": {"findingSeverity": "VIOLATION"},
        "warning": {"findingSeverity": "WARNING"}, "none": {"findingRules": []},
    }
    query = "query(%s) { %s }" % (
        ", ".join(f"${a}: InstitutionFilter" for a in aliases),
        " ".join(f"{a}: institutions(first: 100, filter: ${a}) {{ totalCount edges {{ node {{ name }} }} }}" for a in aliases),
    )
    pages = (await gql(query, aliases, token=token))["data"]
    named = {a: {e["node"]["name"] for e in page["edges"]} for a, page in pages.items()}
    assert all(page["totalCount"] == len(named[a]) for a, page in pages.items())
    assert named["with"] == named["any"] == named["violation"] == named["none"] == {n for n, _ in everything} == expected[viewer]
    assert named["profit"] == {n for n, r in everything if r == "NON_PROFIT"} == {n for n in expected[viewer] if "-SUBJECT-" in n}
    assert named["without"] == named["warning"] == set()


@pytest.mark.parametrize("viewer", [None, "org-1"])
async def test_anonymous_and_institution_callers_list_no_findings(gql, finding_world, http, viewer):
    token = await gql.login(viewer, "Org#2026x") if viewer else None
    code, status = ("FORBIDDEN", 403) if viewer else ("UNAUTHENTICATED", 401)
    assert error_codes(await gql(FINDINGS, {"f": None}, token=token)) == [code]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    assert (await http.get("/exports/findings.xlsx", headers=headers)).status_code == status


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_the_findings_export_holds_exactly_the_list(gql, http, finding_world, viewer):
    _, expected, _, _ = finding_world
    token = await gql.login(viewer)
    for f, params in ((None, {}), ({"rules": ["NON_PROFIT", "FEE_PERIOD"], "regionCode": "440106"}, {"rules": "NON_PROFIT,FEE_PERIOD", "regionCode": "440106"})):
        response = await http.get("/exports/findings.xlsx", params=params, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        rows = list(load_workbook(io.BytesIO(response.content), read_only=True).active.iter_rows(values_only=True))
        assert rows[0] == finding_list.HEADERS
        # the same findings in the same order, each with its institution's region and the rule's title
        assert [(r[2], r[3]) for r in rows[1:]] == await listed_findings(gql, token, f)
        assert all(r[4] == RULES[r[3]].title and r[5] == "违规" and r[0] == r[2][:6] for r in rows[1:])
    bad = await http.get("/exports/findings.xlsx", params={"rules": "NON_PROFIT,NOPE", "severity": "BAD"}, headers={"Authorization": f"Bearer {token}"})
    assert bad.status_code == 400
    assert all(name in bad.json()["error"]["message"] for name in ("rules", "severity"))


FINDING_COUNTS = """query($r: String, $g: StatisticsGrouping) { statistics(regionCode: $r, groupBy: $g) {
  rows { key institutions { registered } findings { rule severity findings institutions } }
  total { key findings { rule severity findings institutions } } } }"""


def _counts(row: dict) -> dict[str, tuple[int, int]]:
    return {c["rule"]: (c["findings"], c["institutions"]) for c in row["findings"] if c["findings"]}


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_statistics_count_exactly_the_findings_listed(gql, finding_world, monkeypatch, viewer):
    """Each row's findings per rule are those the findings list shows of the row's
    institutions; the view from the county tallies equals the one counted from the rows."""
    _, expected, _, rules = finding_world
    token = await gql.login(viewer)
    listed = await listed_findings(gql, token)
    regions = {"edu-000000": [None, "440000", "440100"], "edu-440000": [None, "440100"], "edu-420000": [None]}.get(viewer, [None])
    served, taken = counting.by_county, []
    monkeypatch.setattr(counting, "by_county", lambda *args: taken.append(served(*args)) or taken[-1])
    for region in regions:
        for grouping in ("REGION", "KIND"):
            taken.clear()
            result = await gql(FINDING_COUNTS, {"r": region, "g": grouping}, token=token)
            # the view by child region of a prefecture or above is summed from the county tallies (counters and findings alike)
            assert taken == [grouping == "REGION" and viewer in ("edu-000000", "edu-440000", "edu-420000", "edu-440100")] * 2, (region, taken)
            assert "errors" not in result, result
            view = result["data"]["statistics"]
            # every kept rule is named, zeros included, in the rules' order
            assert [c["rule"] for c in view["total"]["findings"]] == [r.value for r in finding_list.FindingRule]
            inside = [(n, r) for n, r in listed if region is None or n.startswith(region.rstrip("0"))]
            assert _counts(view["total"]) == {
                rule: (sum(1 for _, r in inside if r == rule), len({n for n, r in inside if r == rule})) for rule in {r for _, r in inside}
            }
            assert sum(_counts(row).get("FEE_PERIOD", (0, 0))[1] for row in view["rows"]) == _counts(view["total"]).get("FEE_PERIOD", (0, 0))[1]
            with monkeypatch.context() as m:
                m.setattr(counting, "by_county", lambda *args: False)
                slow = (await gql(FINDING_COUNTS, {"r": region, "g": grouping}, token=token))["data"]["statistics"]
            assert slow == view, (region, grouping)
    assert {n for n, _ in listed} == expected[viewer] and all(r in rules[n] for n, r in listed)
