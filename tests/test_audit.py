"""The audit trail: one record per mutation in the same transaction, masked, scoped, append-only."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from models import AuditRecord
from tests.helpers import BASICS, CREATE_STAFF, PARTS, SUBMIT, TEACHER, basics, complaint, error_codes, portal_institution, register, save

TRAIL = "query($f: AuditFilter) { auditRecords(filter: $f, first: 100) { totalCount edges { node { username level department operation recordType recordId region { code } clientAddress changes snapshot } } } }"


async def trail(gql, token: str, **f) -> list[dict]:
    page = (await gql(TRAIL, {"f": f or None}, token=token))["data"]["auditRecords"]
    return [e["node"] for e in page["edges"]]


async def test_each_mutation_writes_one_masked_record(gql, demo):
    county = await gql.login("edu-440106")
    institution_id = await register(gql, county, parts=("Operation",))
    await save(gql, BASICS, {"id": institution_id, "input": basics(legalRepPhone="13900001111")}, token=county)
    records = await trail(gql, county, recordId=institution_id)
    assert [r["operation"] for r in records] == ["saveInstitutionBasics", "saveInstitutionOperation", "saveInstitutionBasics"]
    created, operation, edited = records
    assert (created["username"], created["level"], created["department"], created["region"], created["clientAddress"]) == (
        "edu-440106", "COUNTY", "EDUCATION", {"code": "440106"}, "127.0.0.1",
    )
    assert created["changes"]["legal_rep_id_number"] == [None, "110***********002X"]
    assert created["changes"]["name"] == [None, "天河1号培训学校"]
    assert operation["changes"]["student_count"] == [None, 150]
    # an edit records only what changed, old and new, masked
    assert edited["changes"] == {"legal_rep_phone": ["138****8000", "139****1111"]}


async def test_refused_changes_write_nothing(gql, demo, sessionmaker):
    county = await gql.login("edu-440106")
    async with sessionmaker() as db:
        before = (await db.execute(sa.select(sa.func.count()).select_from(AuditRecord))).scalar()
    result = await gql(BASICS, {"input": basics(creditCode="bad")}, token=county)
    assert result["data"]["saveInstitutionBasics"]["errors"]
    async with sessionmaker() as db:
        assert (await db.execute(sa.select(sa.func.count()).select_from(AuditRecord))).scalar() == before


async def test_accounts_logins_and_public_submissions_are_recorded(gql, demo):
    county = await gql.login("edu-440106")
    created = await gql(
        'mutation { createRegulatorAccount(input: {username: "thq-9", name: "下属单位九", level: SUB_UNIT, mobile: "13712345678"}) { account { id } } }',
        token=county,
    )
    account_id = created["data"]["createRegulatorAccount"]["account"]["id"]
    await gql("mutation($id: ID!) { resetRegulatorAccountPassword(id: $id) { errors { code } } }", {"id": account_id}, token=county)
    await gql(
        "mutation($i: ComplaintInput!) { submitComplaint(input: $i) { trackingNumber } }",
        {"i": {"complainantName": "王小明", "complainantMobile": "13812345678", "targetType": "OTHER", "complaintType": "OTHER",
               "countyCode": "440106", "targetName": "某机构", "content": "内容"}},
    )
    records = await trail(gql, county)
    operations = [(r["operation"], r["username"]) for r in records]
    assert operations == [
        ("login", "edu-440106"),
        ("createRegulatorAccount", "edu-440106"),
        ("resetRegulatorAccountPassword", "edu-440106"),
        ("submitComplaint", "anonymous"),
    ]
    assert records[1]["changes"]["mobile"] == [None, "137****5678"]
    assert records[2]["changes"] == {"password_hash": ["***", "***"]}
    assert records[3]["changes"]["complainant_name"] == [None, "王**"]
    assert records[3]["changes"]["complainant_mobile"] == [None, "138****5678"]


async def test_the_trail_is_read_in_scope_and_snapshots_by_the_ministry_and_provinces(gql, demo):
    county = await gql.login("edu-440106")
    institution_id = await register(gql, county, parts=())
    await gql("mutation($id: ID!) { deleteInstitution(id: $id, confirmName: \"天河1号培训学校\") { errors { code } } }", {"id": institution_id}, token=county)
    expected = {
        "edu-440106": (True, False),
        "edu-440100": (True, False),
        "edu-440000": (True, True),
        "edu-000000": (True, True),
        "edu-440104": (False, False),
        "edu-420000": (False, False),
    }
    for username, (sees, snapshot) in expected.items():
        token = await gql.login(username)
        records = await trail(gql, token, recordId=institution_id)
        assert [r["operation"] for r in records] == (["saveInstitutionBasics", "deleteInstitution"] if sees else []), username
        if sees:
            assert (records[1]["snapshot"] is not None) is snapshot, username
    assert await trail(gql, await gql.login("sports-440106")) == []  # another department's trail
    assert error_codes(await gql(TRAIL, {}, token=await gql.login("edu-440106-01"))) == ["FORBIDDEN"]
    assert error_codes(await gql(TRAIL, {})) == ["UNAUTHENTICATED"]


async def test_audit_records_cannot_be_changed_or_deleted(sessionmaker, gql, demo):
    await gql.login("edu-440106")
    for statement in ("UPDATE audit_record SET username = 'x'", "DELETE FROM audit_record"):
        async with sessionmaker() as db:
            with pytest.raises(DBAPIError, match="audit records cannot be changed or deleted"):
                await db.execute(sa.text(statement))
    async with sessionmaker() as db:
        usernames = (await db.execute(sa.select(AuditRecord.username).order_by(AuditRecord.username))).scalars().all()
    # the login's record, and those of the 重庆 2026 change set applied by migration 0015 (docs/regions.md)
    assert usernames == ["edu-440106"] + ["migration 0015"] * 9


async def test_part_saves_name_their_part(gql, demo):
    county = await gql.login("edu-440106")
    institution_id = await register(gql, county, parts=tuple(PARTS))
    records = await trail(gql, county, recordType="Institution")
    assert [r["operation"] for r in records] == [
        "saveInstitutionBasics", "saveInstitutionQualifications", "saveInstitutionOperation",
        "saveInstitutionSubjectTraining", "saveInstitutionFacilities",
    ]
    assert all(r["recordId"] == institution_id for r in records)


async def test_reading_unmasked_personal_data_is_recorded(gql, demo, sessionmaker):

    county = await gql.login("edu-440106")
    institution_id = await register(gql, county, 1)
    query = "query($id: ID!) { institution(id: $id) { name legalRepresentative { idNumber } } }"
    # Reading without the ID number, or reading it masked, records nothing.
    await gql("query($id: ID!) { institution(id: $id) { name } }", {"id": institution_id}, token=county)
    await gql(query, {"id": institution_id}, token=await gql.login("edu-440000"))
    trail = "{ auditRecords(filter: {operation: \"readPersonalData\"}) { edges { node { username recordType recordId changes } } } }"
    assert (await gql(trail, token=county))["data"]["auditRecords"]["edges"] == []
    # The county desk reads it in full: recorded, once per record and request.
    await gql(query, {"id": institution_id}, token=county)
    records = [e["node"] for e in (await gql(trail, token=county))["data"]["auditRecords"]["edges"]]
    assert records == [{"username": "edu-440106", "recordType": "Institution", "recordId": institution_id, "changes": {"fields": [None, ["legalRepresentative.idNumber"]]}}]
    # The province above reads the trail of the read too.
    assert len((await gql(trail, token=await gql.login("edu-440000")))["data"]["auditRecords"]["edges"]) == 1


async def test_reads_of_staff_id_numbers_and_complainants_are_recorded(gql, demo, sessionmaker):

    _, token = await portal_institution(gql, sessionmaker)
    staff = (await gql(CREATE_STAFF, {"input": TEACHER}, token=token))["data"]["createStaff"]["staff"]
    await gql("{ myInstitution { staff { idNumber } } }", token=token)
    await gql(SUBMIT, {"input": complaint()})
    county = await gql.login("edu-440106")
    await gql("{ complaints { edges { node { complainantName } } } }", token=county)
    await gql("{ complaints { edges { node { complainantName } } } }", token=await gql.login("edu-440100"))  # masked: not recorded
    trail = "{ auditRecords(filter: {operation: \"readPersonalData\"}) { edges { node { username recordType recordId changes } } } }"
    nodes = [e["node"] for e in (await gql(trail, token=county))["data"]["auditRecords"]["edges"]]
    records = sorted((n["recordType"], n["username"].split("-")[0], n["changes"]["fields"][1]) for n in nodes)
    # The staff member's ID number was read twice: in createStaff's payload and in the list.
    assert records == [("Complaint", "edu", ["complainantName"]), ("Staff", "org", ["idNumber"]), ("Staff", "org", ["idNumber"])]
    assert staff["id"] in {n["recordId"] for n in nodes}
