"""Deleting a record that others depend on: every delete mutation of the schema, each on a
record with dependents, answers a coded payload error (HAS_DEPENDENTS) or does what
docs/rules.md says it does (an institution takes its records with it), never an
unexpected error."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from models import Account, Course, Inspection, Institution, Site, Staff, TrainingClass
from resolvers.accounts.regulators import DEPENDENTS
from tests.helpers import (
    CREATE_CLASS,
    CREATE_COURSE,
    CREATE_SITE,
    CREATE_STAFF,
    MATHS,
    PDF,
    SITE,
    TEACHER,
    full_schema,
    institution_account,
    klass,
    ok,
    register,
    upload,
)

DELETE = "mutation($id: ID!) { %s(id: $id) { deletedId errors { field code message } } }"
DELETE_INSTITUTION = "mutation($id: ID!, $n: String!) { deleteInstitution(id: $id, confirmName: $n) { deletedId errors { field code message } } }"
RECORD_INSPECTION = """mutation($id: ID!, $input: InspectionInput!) {
  recordInspection(institutionId: $id, input: $input) { errors { field code message } }
}"""
SUBMIT = "mutation($input: ApplicationInput!) { submitApplication(input: $input) { application { id } errors { field code message } } }"
CREATE_MATERIAL = "mutation($input: MaterialInput!) { createMaterial(input: $input) { material { id } errors { field code message } } }"
MATERIAL = {"name": "美术讲义", "category": "ARTS", "grades": ["PRIMARY"], "type": "HANDOUT", "author": "李编", "authorYearsInEducation": 5}


def refused(message: str) -> dict:
    return {"deletedId": None, "errors": [{"field": "id", "code": "HAS_DEPENDENTS", "message": message}]}


async def _account_id(sessionmaker, username: str) -> str:
    async with sessionmaker() as db:
        return str((await db.execute(sa.select(Account.id).where(Account.username == username))).scalar_one())


async def test_every_delete_mutation_on_a_record_with_dependents_is_refused_as_data_or_documented(gql, http, demo, sessionmaker):
    # given: an institution that the sub-unit 天河区下属单位 registered and inspected, with a
    # teacher of a class under filing review in a course of a site, a material, and the proof
    # of its pending deregistration
    sub_unit = await gql.login("edu-440106-01")
    institution_id = await register(gql, sub_unit, 7)
    ok(await gql(RECORD_INSPECTION, {"id": institution_id, "input": {"inspectedOn": "2026-11-20", "inspectingUnit": "天河区教育局", "result": "未发现问题"}}, token=sub_unit), "recordInspection")
    token = await gql.login(await institution_account(sessionmaker, "天河7号培训学校"))
    teacher = ok(await gql(CREATE_STAFF, {"input": TEACHER}, token=token), "createStaff")["staff"]
    site = ok(await gql(CREATE_SITE, {"input": SITE}, token=token), "createSite")["site"]
    course = ok(await gql(CREATE_COURSE, {"site": site["id"], "input": MATHS}, token=token), "createCourse")["course"]
    training_class = ok(await gql(CREATE_CLASS, {"course": course["id"], "input": klass(teacher["id"])}, token=token), "createTrainingClass")["trainingClass"]
    async with sessionmaker() as db:
        await db.execute(sa.update(TrainingClass).where(TrainingClass.id == uuid.UUID(training_class["id"])).values(filing_status="PENDING"))
        await db.commit()
    material = ok(await gql(CREATE_MATERIAL, {"input": MATERIAL}, token=token), "createMaterial")["material"]
    proof = (await upload(http, token, PDF, "proof.pdf", "DEREGISTRATION_PROOF"))["data"]["uploadInstitutionDocument"]["document"]
    ok(await gql(SUBMIT, {"input": {"type": "DEREGISTRATION", "statement": "停办", "proofDocumentId": proof["id"]}}, token=token), "submitApplication")
    county = await gql.login("edu-440106")
    prefecture = await gql.login("edu-440100")

    # when / then: each delete mutation, by whoever may delete that record
    cases = {
        "deleteRegulatorAccount": [
            (county, {"id": await _account_id(sessionmaker, "edu-440106-01")}, refused("该账号还有 1 家登记的培训机构、1 次记录的排查，不能删除；不再使用的账号可以停用")),
            (prefecture, {"id": await _account_id(sessionmaker, "edu-440106")}, refused("该账号还有 2 个下属单位账号，不能删除；不再使用的账号可以停用")),
        ],
        "deleteStaff": [(token, {"id": teacher["id"]}, refused("该人员是班级“三年级数学培训班”的授课教师，请先调整班级教师"))],
        "deleteSite": [(token, {"id": site["id"]}, refused("该办学点/业务系统下还有 1 个培训课程，请先删除"))],
        "deleteCourse": [(token, {"id": course["id"]}, refused("该培训课程下还有 1 个班级，请先删除"))],
        "deleteTrainingClass": [(token, {"id": training_class["id"]}, refused("该班级有待审核的备案申请，审核结束前不能删除"))],
        "deleteInstitutionDocument": [(token, {"id": proof["id"]}, refused("该材料是待审核注销申请的注销证明，审核结束前不能删除"))],
        # Nothing depends on a material: it is deleted.
        "deleteMaterial": [(token, {"id": material["id"]}, {"deletedId": material["id"], "errors": []})],
    }
    schema_deletes = {name for name in full_schema._schema.mutation_type.fields if name.startswith(("delete", "remove"))}
    assert schema_deletes == {*cases, "deleteInstitution"}
    for mutation, calls in cases.items():
        for caller, variables, expected in calls:
            result = await gql(DELETE % mutation, variables, token=caller)
            assert result == {"data": {mutation: expected}}, (mutation, result)

    # the institution goes with its records (docs/DOMAIN.md §R2.5: 登记信息和排查信息都会清空), and
    # then nothing keeps the sub-unit from being deleted
    result = await gql(DELETE_INSTITUTION, {"id": institution_id, "n": "天河7号培训学校"}, token=county)
    assert result == {"data": {"deleteInstitution": {"deletedId": institution_id, "errors": []}}}
    async with sessionmaker() as db:
        left = [(await db.execute(sa.select(sa.func.count()).select_from(m))).scalar_one() for m in (Institution, Inspection, Staff, Site, Course, TrainingClass)]
    assert left == [0, 0, 0, 0, 0, 0]
    sub_unit_id = await _account_id(sessionmaker, "edu-440106-01")
    result = await gql(DELETE % "deleteRegulatorAccount", {"id": sub_unit_id}, token=county)
    assert result == {"data": {"deleteRegulatorAccount": {"deletedId": sub_unit_id, "errors": []}}}


async def test_what_keeps_an_account_from_deletion_is_every_restricting_foreign_key(sessionmaker):
    # given: the migrated database's foreign keys to account that refuse to lose their account
    async with sessionmaker() as db:
        found = (await db.execute(sa.text(
            "SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)"
            " WHERE c.contype = 'f' AND c.confrelid = 'account'::regclass AND c.confdeltype IN ('a', 'r')"
        ))).all()
    # then: the deletion counts each of them
    assert {(table, column) for table, column in found} == {(column.table.name, column.name) for column, _ in DEPENDENTS}
