"""A list's filter is declared once (resolvers/filters.py): the GraphQL input, the SQL condition
and the export's query string come from it. The export honours every criterion exactly as the
list does."""

from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from demo import seed_demo
from models import Account, Institution, Level
from models.storage import LocalStorage
from resolvers import filters
from resolvers.finding_list import FindingFilter
from resolvers.institutions.listing import InstitutionFilter
from resolvers.institutions.template import DATA_SHEET, HEADERS
from schema.root import schema
from tests.helpers import apply_changes, change_set

LIST = """query($f: InstitutionFilter, $after: String) {
  institutions(filter: $f, first: 100, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { name } } }
}"""


async def listed_names(gql, token: str, f: dict) -> list[str]:
    names, after = [], None
    while True:
        page = (await gql(LIST, {"f": f, "after": after}, token=token))["data"]["institutions"]
        names += [e["node"]["name"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return names
        after = page["pageInfo"]["endCursor"]


async def exported_names(http, token: str, f: dict) -> list[str]:
    response = await http.get("/exports/institutions.xlsx", params=query_string(f), headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content), read_only=True)[DATA_SHEET]
    column = HEADERS.index(next(h for h in HEADERS if h.startswith("机构名称")))
    return [row[column] for row in list(sheet.iter_rows(values_only=True))[1:]]


def query_string(f: dict) -> dict[str, str]:
    """A filter's GraphQL values as an export's query parameters."""
    return {k: ",".join(v) if isinstance(v, list) else str(v).lower() if isinstance(v, bool) else str(v) for k, v in f.items()}


@pytest.mark.parametrize(("declared", "name"), [(InstitutionFilter, "InstitutionFilter"), (FindingFilter, "FindingFilter")])
def test_the_graphql_input_has_every_criterion_with_its_description(declared, name):
    described = {filters.graphql_name(f): f.metadata["description"] for f, _ in filters.criteria(declared)}
    graphql = schema._schema.type_map[name].fields
    assert {name: field.description for name, field in graphql.items()} == described


async def test_the_export_honours_every_criterion_as_the_list_does(app, gql, http, sessionmaker, clock, tmp_path):
    # given: the demo, seen by a prefecture (two counties, their sub-units' registrations)
    await seed_demo(sessionmaker, date(2026, 11, 23), storage=LocalStorage(tmp_path / "files"))
    clock.advance(days=30)  # some ledgers are overdue by now
    # 越秀 split with no mapping: its institutions wait on the retired county (docs/regions.md)
    await apply_changes(app, change_set({"op": "split", "from": "440104", "into": ["440106", "440111"]}, effective="2026-12-01"))
    async with sessionmaker() as db:
        unit = (await db.execute(sa.select(Account.id).where(Account.level == Level.SUB_UNIT, Account.username == "edu-440106-01"))).scalar_one()
    samples = {
        "name": "培训",
        "regionCode": "440106",
        "kind": "SUBJECT",
        "mode": "ONLINE",
        "nature": "FOR_PROFIT",
        "complete": False,
        "missingPart": "FACILITIES",
        "registeringUnitId": str(unit),
        "inspectionStatus": "RECTIFYING",
        "overdue": True,
        "reviewStatus": "APPROVED",
        "licensed": True,
        "lawful": False,
        "compliant": True,
        "whiteListEligible": True,
        "blackListed": True,
        "licenceExpiringWithinDays": 90,
        "standingReason": "LICENCE_EXPIRED",
        "regionRetired": True,
        "hasFindings": True,
        "findingRules": ["CLASS_END_TIME", "NON_PROFIT"],
        "findingSeverity": "VIOLATION",
    }
    # every criterion has a sample here: a new one fails this test until it is added
    assert set(samples) == {filters.graphql_name(f) for f, _ in filters.criteria(InstitutionFilter)}
    token = await gql.login("edu-440100")
    everything = await listed_names(gql, token, {})
    assert sorted(await exported_names(http, token, {})) == sorted(everything)
    for name, value in samples.items():
        # when: the list and the export are filtered by one criterion
        listed = await listed_names(gql, token, {name: value})
        exported = await exported_names(http, token, {name: value})
        # then: the same institutions, a part of all of them but not none
        assert sorted(exported) == sorted(listed), name
        assert 0 < len(listed) < len(everything), (name, len(listed))


async def test_a_bad_query_parameter_names_every_problem_at_once(http, gql, demo):
    token = await gql.login("edu-440106")
    response = await http.get(
        "/exports/institutions.xlsx", params={"kind": "BIG", "complete": "maybe", "name": "x" * 101},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert all(name in message for name in ("kind", "complete", "name")), message


FINDINGS = """query($f: FindingFilter, $after: String) {
  findings(filter: $f, first: 100, after: $after) { pageInfo { hasNextPage endCursor } edges { node { institutionName rule recordName } } }
}"""


async def test_the_findings_export_honours_every_criterion_as_the_list_does(gql, http, sessionmaker, tmp_path):
    # given: the demo, whose records break rules here and there, seen by a prefecture
    await seed_demo(sessionmaker, date(2026, 11, 23), storage=LocalStorage(tmp_path / "files"))
    token = await gql.login("edu-440100")

    async def listed(f: dict) -> list[tuple]:
        found, after = [], None
        while True:
            page = (await gql(FINDINGS, {"f": f, "after": after}, token=token))["data"]["findings"]
            found += [(e["node"]["institutionName"], e["node"]["rule"], e["node"]["recordName"]) for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                return found
            after = page["pageInfo"]["endCursor"]

    async def exported(f: dict) -> list[tuple]:
        response = await http.get("/exports/findings.xlsx", params=query_string(f), headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        rows = list(load_workbook(io.BytesIO(response.content), read_only=True).active.iter_rows(values_only=True))[1:]
        return [(r[2], r[3], r[9]) for r in rows]

    everything = await listed({})
    some = everything[0]
    async with sessionmaker() as db:
        institution = (await db.execute(sa.select(Institution.id).where(Institution.name == some[0]))).scalar_one()
    samples = {
        "rules": [some[1]],
        "severity": "VIOLATION",
        "regionCode": "440106",
        "institutionId": str(institution),
        "recordType": "TrainingClass",
    }
    assert set(samples) == {filters.graphql_name(f) for f, _ in filters.criteria(FindingFilter)}
    assert await exported({}) == everything
    for name, value in samples.items():
        # when: the list and the export are filtered by one criterion; then: the same findings, in the same order
        found = await listed({name: value})
        assert await exported({name: value}) == found, name
        assert found and (len(found) < len(everything) or name == "severity"), (name, len(found))
