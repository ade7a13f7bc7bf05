"""The scope matrix for the portal's records (staff, sites, courses, classes, materials,
documents, funds, applications, findings, each record's findings): each viewer reads
exactly those of the institutions in its scope,
through every path: nested on the institution list, by institution id, through federation
_entities, and the application list and counts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from models import Application, Course, Document, Institution, InstitutionFunds, Material, Site, Staff, TrainingClass
from resolvers import findings
from tests.helpers import ID_NUMBER, VIEWERS

NESTED = """{
  siteCount activeStaffCount
  staff { name } materials { name } applications { statement } findings { recordName }
  documents { title } funds { escrowBank }
  sites { name courses { name classes { name } } }
  standing { lawful compliant reasons { code recordName } }
  home { missing { code } warnings { code } standing { whiteListEligible } }
}"""
LIST = "{ institutions(first: 10) { edges { node { name ...portal } } } } fragment portal on Institution " + NESTED
ONE = "query($id: ID!) { institution(id: $id) { name ...portal } } fragment portal on Institution " + NESTED
ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Institution { name ...portal } } } fragment portal on Institution " + NESTED
#: The findings on each record (a class's on the class too), asked of one institution at a time.
RECORD_FINDINGS = """query($id: ID!) { institution(id: $id) {
  staff { findings { rule } } materials { findings { rule } } documents { findings { rule } } funds { findings { rule } }
  sites { findings { rule } courses { classes { findings { recordName } } } }
} }"""
APPLICATIONS = "{ applications(first: 100) { totalCount edges { node { statement institution { name } } } } applicationCounts { count } }"


async def add_portal_records(sessionmaker) -> None:
    """One of each record per institution, named after it; each class breaks the end-time rule."""
    now = datetime(2026, 11, 23, tzinfo=UTC)
    async with sessionmaker() as db:
        for institution in (await db.execute(sa.select(Institution))).scalars().all():
            name = institution.name
            staff = Staff(
                institution_id=institution.id, name=f"教师@{name}", gender="MALE", id_number=ID_NUMBER, phone="13700137000",
                post="TEACHING", employment="FULL_TIME", subjects=[], joined_on=date(2025, 1, 1),
            )
            site = Site(institution_id=institution.id, type="SITE", name=f"办学点@{name}", address="地址", teaching_area=Decimal(500))
            db.add_all([staff, site])
            await db.flush()
            course = Course(institution_id=institution.id, site_id=site.id, name=f"课程@{name}", category="ARTS", grades=["PRIMARY"], class_hours=10)
            db.add(course)
            await db.flush()
            db.add(
                TrainingClass(
                    institution_id=institution.id, course_id=course.id, name=f"班级@{name}",
                    schedule=[{"weekday": 1, "start": "20:00", "end": "21:30"}], starts_on=date(2026, 9, 1), ends_on=date(2026, 12, 31),
                    capacity=10, fee=Decimal(100), fee_months=1, teacher_ids=[staff.id],
                )
            )
            db.add(
                Document(
                    institution_id=institution.id, category="OTHER", title=f"资料@{name}", file_name="a.pdf", content_type="application/pdf",
                    size=1, sha256="0" * 64, storage_key=institution.id.hex, uploaded_at=now, updated_at=now,
                )
            )
            db.add(InstitutionFunds(institution_id=institution.id, escrow_bank=f"银行@{name}", updated_at=now))
            db.add(Material(institution_id=institution.id, name=f"材料@{name}", category="ARTS", type="HANDOUT", author="作者", author_years_in_education=5))
            db.add(
                Application(
                    institution_id=institution.id, type="LICENCE", statement=f"申请@{name}", authority_region_code=institution.region_code,
                    authority_department="EDUCATION", authority_level="COUNTY", submitted_at=now,
                )
            )
        await db.commit()
    # Inserted past the portal's writers: the rules check the records here.
    await findings.refresh_all(sessionmaker)


def portal_of(name: str) -> dict:
    return {
        "siteCount": 1,
        "activeStaffCount": 1,
        "staff": [{"name": f"教师@{name}"}],
        "materials": [{"name": f"材料@{name}"}],
        "applications": [{"statement": f"申请@{name}"}],
        "findings": [{"recordName": f"班级@{name}"}],
        "documents": [{"title": f"资料@{name}"}],
        "funds": {"escrowBank": f"银行@{name}"},
        "sites": [{"name": f"办学点@{name}", "courses": [{"name": f"课程@{name}", "classes": [{"name": f"班级@{name}"}]}]}],
        # Part 2 unsaved, the class's end time a violation, no compliance application.
        "standing": {"lawful": False, "compliant": False, "reasons": [
            {"code": "QUALIFICATIONS_MISSING", "recordName": name}, {"code": "VIOLATIONS", "recordName": f"班级@{name}"},
            {"code": "COMPLIANCE_NOT_SUBMITTED", "recordName": name},
        ]},
        "home": {
            "missing": [{"code": "REGISTRATION"}, {"code": "QUALIFICATIONS_MISSING"}, {"code": "FUNDS"}, {"code": "VIOLATIONS"}], "warnings": [],
            "standing": {"whiteListEligible": False},
        },
    }


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_each_viewer_reads_the_portal_records_of_its_scope_only(gql, scope_world, sessionmaker, viewer):
    ids, expected, _ = scope_world
    await add_portal_records(sessionmaker)
    token = await gql.login(viewer)
    visible = expected[viewer]
    listed = (await gql(LIST, token=token))["data"]["institutions"]["edges"]
    assert {e["node"]["name"]: {k: v for k, v in e["node"].items() if k != "name"} for e in listed} == {n: portal_of(n) for n in visible}
    for name, institution_id in ids.items():
        one = (await gql(ONE, {"id": institution_id}, token=token))["data"]["institution"]
        assert one == ({"name": name, **portal_of(name)} if name in visible else None)
    reps = [{"__typename": "Institution", "id": i} for i in ids.values()]
    entities = (await gql(ENTITIES, {"r": reps}, token=token))["data"]["_entities"]
    assert entities == [{"name": n, **portal_of(n)} if n in visible else None for n in ids]
    for name, institution_id in ids.items():
        records = (await gql(RECORD_FINDINGS, {"id": institution_id}, token=token))["data"]["institution"]
        assert records == ({
            "staff": [{"findings": []}], "materials": [{"findings": []}], "documents": [{"findings": []}], "funds": {"findings": []},
            "sites": [{"findings": [], "courses": [{"classes": [{"findings": [{"recordName": f"班级@{name}"}]}]}]}],
        } if name in visible else None)
    applications = (await gql(APPLICATIONS, token=token))["data"]
    assert {e["node"]["statement"] for e in applications["applications"]["edges"]} == {f"申请@{n}" for n in visible}
    assert applications["applications"]["totalCount"] == len(visible)
    assert sum(c["count"] for c in applications["applicationCounts"]) == len(visible)


async def test_an_institution_account_reads_its_own_records_only(gql, scope_world, sessionmaker):
    ids, _, own = scope_world
    await add_portal_records(sessionmaker)
    token = await gql.login("org-1", "Org#2026x")
    for name, institution_id in ids.items():
        one = (await gql(ONE, {"id": institution_id}, token=token))["data"]["institution"]
        assert one == ({"name": own, **portal_of(own)} if name == own else None)
    mine = (await gql("{ applications(first: 100) { totalCount edges { node { statement } } } }", token=token))["data"]["applications"]
    assert (mine["totalCount"], [e["node"]["statement"] for e in mine["edges"]]) == (1, [f"申请@{own}"])


async def test_a_list_page_with_nested_portal_records_costs_the_same_for_any_page_size(gql, scope_world, sessionmaker, sql):
    await add_portal_records(sessionmaker)
    token = await gql.login("edu-000000")
    query = "query($n: Int) { institutions(first: $n) { edges { node { name ...portal } } } } fragment portal on Institution " + NESTED
    counts = {}
    await gql(query, {"n": 1}, token=token)  # the subtree's codes, read once a minute per region (auth.scope)
    for size in (2, 9):
        sql.reset()
        result = await gql(query, {"n": size}, token=token)
        assert len(result["data"]["institutions"]["edges"]) == size
        counts[size] = sql.count
    assert counts[2] == counts[9]
