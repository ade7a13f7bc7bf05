"""The institution portal's own data: staff, sites / business systems, courses, classes and
materials, written by the institution's account on its own institution only, read by
regulators in scope, with personal data masked for all but the institution and its county
desk."""

from __future__ import annotations

import io
from datetime import date

import sqlalchemy as sa
from openpyxl import load_workbook

from models import AuditRecord, Site, Staff
from resolvers.sites import MAX_SESSIONS, MAX_SITES, MAX_TEACHERS
from tests.helpers import (
    BASICS,
    CREATE_CLASS,
    CREATE_COURSE,
    CREATE_SITE,
    CREATE_STAFF,
    ID_NUMBER,
    MATHS,
    PARTS,
    SITE,
    STAFF_FIELDS,
    TEACHER,
    basics,
    data,
    error_codes,
    klass,
    ok,
    part_mutation,
    portal_institution,
    save,
)

UPDATE_STAFF = f"""mutation($id: ID!, $version: Int!, $input: StaffInput!) {{
  updateStaff(id: $id, version: $version, input: $input) {{ staff {{ {STAFF_FIELDS} }} errors {{ field code message }} }}
}}"""
DEPART = """mutation($id: ID!, $version: Int!, $on: Date) {
  markStaffDeparted(id: $id, version: $version, departedOn: $on) { staff { id status departedOn version } errors { field code } }
}"""
REJOIN = """mutation($id: ID!, $version: Int!, $on: Date) {
  markStaffActive(id: $id, version: $version, joinedOn: $on) { staff { id status joinedOn departedOn version } errors { field code } }
}"""
DELETE_STAFF = "mutation($id: ID!) { deleteStaff(id: $id) { deletedId errors { field code message } } }"
UPDATE_CLASS = """mutation($id: ID!, $version: Int!, $input: TrainingClassInput!) {
  updateTrainingClass(id: $id, version: $version, input: $input) {
    trainingClass { id filingStatus version } findings { rule } errors { field code message }
  }
}"""
CREATE_MATERIAL = """mutation($input: MaterialInput!) {
  createMaterial(input: $input) { material { id name authorCertificateNumber authorHasTeacherCertificate } errors { field code message } }
}"""

async def test_staff_lifecycle_active_departed_and_back(gql, demo, sessionmaker):
    institution_id, token = await portal_institution(gql, sessionmaker)
    missing_certificate = await gql(CREATE_STAFF, {"input": {**TEACHER, "teacherCertificateNumber": None}}, token=token)
    assert [(e["field"], e["code"]) for e in data(missing_certificate, "createStaff")["errors"]] == [("teacherCertificateNumber", "REQUIRED")]
    bad = await gql(CREATE_STAFF, {"input": {**TEACHER, "idNumber": "110105194912310021", "phone": "12345"}}, token=token)
    assert {(e["field"], e["code"]) for e in data(bad, "createStaff")["errors"]} == {("idNumber", "INVALID"), ("phone", "INVALID")}

    staff = ok(await gql(CREATE_STAFF, {"input": TEACHER}, token=token), "createStaff")["staff"]
    assert (staff["status"], staff["idNumber"], staff["version"]) == ("ACTIVE", ID_NUMBER, 1)
    duplicate = await gql(CREATE_STAFF, {"input": {**TEACHER, "name": "另一位"}}, token=token)
    assert [(e["field"], e["code"]) for e in data(duplicate, "createStaff")["errors"]] == [("idNumber", "DUPLICATE")]

    too_early = await gql(DEPART, {"id": staff["id"], "version": 1, "on": "2024-01-01"}, token=token)
    assert data(too_early, "markStaffDeparted")["errors"] == [{"field": "on", "code": "INVALID"}]
    departed = ok(await gql(DEPART, {"id": staff["id"], "version": 1, "on": "2026-06-30"}, token=token), "markStaffDeparted")["staff"]
    assert (departed["status"], departed["departedOn"], departed["version"]) == ("DEPARTED", "2026-06-30", 2)
    stale = await gql(UPDATE_STAFF, {"id": staff["id"], "version": 1, "input": {**TEACHER, "name": "王老师（改）"}}, token=token)
    assert data(stale, "updateStaff")["errors"][0]["code"] == "CONFLICT"
    edited = ok(await gql(UPDATE_STAFF, {"id": staff["id"], "version": 2, "input": {**TEACHER, "name": "王老师（改）"}}, token=token), "updateStaff")
    assert (edited["staff"]["name"], edited["staff"]["status"]) == ("王老师（改）", "DEPARTED")

    lists = "query($id: ID!) { institution(id: $id) { active: staff(status: ACTIVE) { id } departed: staff(status: DEPARTED) { id } } }"
    both = data(await gql(lists, {"id": institution_id}, token=token), "institution")
    assert (both["active"], both["departed"]) == ([], [{"id": staff["id"]}])
    back = ok(await gql(REJOIN, {"id": staff["id"], "version": 3, "on": "2026-09-01"}, token=token), "markStaffActive")["staff"]
    assert (back["status"], back["joinedOn"], back["departedOn"]) == ("ACTIVE", "2026-09-01", None)
    again = await gql(REJOIN, {"id": staff["id"], "version": 4, "on": "2026-09-02"}, token=token)
    assert data(again, "markStaffActive")["errors"] == [{"field": "id", "code": "NOT_ALLOWED"}]

    assert ok(await gql(DELETE_STAFF, {"id": staff["id"]}, token=token), "deleteStaff")["deletedId"] == staff["id"]
    async with sessionmaker() as db:
        operations = (
            await db.execute(
                sa.select(AuditRecord.operation)
                .where(AuditRecord.record_id == sa.cast(staff["id"], sa.Uuid), AuditRecord.operation != "readPersonalData")
                .order_by(AuditRecord.seq)
            )
        ).scalars().all()
        snapshot = (await db.execute(sa.select(AuditRecord.snapshot).where(AuditRecord.operation == "deleteStaff"))).scalar_one()
    assert operations == ["createStaff", "markStaffDeparted", "updateStaff", "markStaffActive", "deleteStaff"]
    assert snapshot["id_number"] == "110***********002X"


async def test_staff_personal_data_is_masked_for_all_but_the_institution_and_its_county_desk(gql, demo, sessionmaker):
    institution_id, token = await portal_institution(gql, sessionmaker)
    ok(await gql(CREATE_STAFF, {"input": TEACHER}, token=token), "createStaff")
    query = "query($id: ID!) { institution(id: $id) { staff { idNumber phone teacherCertificateNumber hasTeacherCertificate } } }"
    seen = {}
    for viewer in ("org", "edu-440106", "edu-440106-01", "edu-440100", "edu-440000", "edu-000000", "edu-440104", "sports-440106"):
        viewer_token = token if viewer == "org" else await gql.login(viewer)
        institution = data(await gql(query, {"id": institution_id}, token=viewer_token), "institution")
        seen[viewer] = institution["staff"][0] if institution else None
    full = {"idNumber": ID_NUMBER, "phone": "13700137000", "teacherCertificateNumber": "20114400121000123", "hasTeacherCertificate": True}
    masked = {"idNumber": "110***********002X", "phone": "137****7000", "teacherCertificateNumber": "2011*********0123", "hasTeacherCertificate": True}
    assert seen == {
        "org": full,
        "edu-440106": full,
        "edu-440106-01": None,  # a sub-unit sees what it registered; the county registered this one
        "edu-440100": masked,
        "edu-440000": masked,
        "edu-000000": masked,
        "edu-440104": None,  # another county
        "sports-440106": None,  # a subject institution is education's
    }


async def test_only_the_institution_itself_writes_its_data(gql, demo, sessionmaker):
    _, token = await portal_institution(gql, sessionmaker, 1)
    other_id, other_token = await portal_institution(gql, sessionmaker, 2)
    theirs = ok(await gql(CREATE_STAFF, {"input": TEACHER}, token=other_token), "createStaff")["staff"]
    # Another institution's record reads as missing, for every operation.
    assert data(await gql(DELETE_STAFF, {"id": theirs["id"]}, token=token), "deleteStaff")["errors"][0]["code"] == "NOT_FOUND"
    assert data(await gql(UPDATE_STAFF, {"id": theirs["id"], "version": 1, "input": TEACHER}, token=token), "updateStaff")["errors"][0]["code"] == "NOT_FOUND"
    assert data(await gql(DEPART, {"id": theirs["id"], "version": 1, "on": "2026-01-01"}, token=token), "markStaffDeparted")["errors"][0]["code"] == "NOT_FOUND"
    assert (await gql("query($id: ID!) { institution(id: $id) { id } }", {"id": other_id}, token=token))["data"]["institution"] is None
    # Regulators read but do not write the portal's data; anonymous callers do nothing.
    county = await gql.login("edu-440106")
    assert error_codes(await gql(CREATE_STAFF, {"input": TEACHER}, token=county)) == ["FORBIDDEN"]
    assert error_codes(await gql(CREATE_STAFF, {"input": TEACHER})) == ["UNAUTHENTICATED"]
    assert error_codes(await gql("{ myInstitution { id } }", token=county)) == ["FORBIDDEN"]
    mine = data(await gql("{ myInstitution { id name } }", token=other_token), "myInstitution")
    assert mine["id"] == other_id


async def test_sites_courses_and_classes_in_the_manuals_order(gql, demo, sessionmaker):
    institution_id, token = await portal_institution(gql, sessionmaker)
    teacher = ok(await gql(CREATE_STAFF, {"input": TEACHER}, token=token), "createStaff")["staff"]
    missing = data(await gql(CREATE_SITE, {"input": {"name": "天河校区"}}, token=token), "createSite")["errors"]
    assert {(e["field"], e["code"]) for e in missing} == {("address", "REQUIRED"), ("teachingArea", "REQUIRED")}
    site = ok(await gql(CREATE_SITE, {"input": SITE}, token=token), "createSite")["site"]
    assert site["type"] == "SITE"
    no_subject = await gql(CREATE_COURSE, {"site": site["id"], "input": {**MATHS, "subject": None}}, token=token)
    assert [(e["field"], e["code"]) for e in data(no_subject, "createCourse")["errors"]] == [("subject", "REQUIRED")]
    course = ok(await gql(CREATE_COURSE, {"site": site["id"], "input": MATHS}, token=token), "createCourse")["course"]

    backwards = klass(teacher["id"], schedule=[{"weekday": 8, "start": "09:00", "end": "10:00"}, {"weekday": 1, "start": "19:00", "end": "18:00"}], endsOn="2026-08-01")
    errors = data(await gql(CREATE_CLASS, {"course": course["id"], "input": backwards}, token=token), "createTrainingClass")["errors"]
    assert {(e["field"], e["code"]) for e in errors} == {("schedule.0.weekday", "INVALID"), ("schedule.1.end", "INVALID"), ("endsOn", "INVALID")}
    created = ok(await gql(CREATE_CLASS, {"course": course["id"], "input": klass(teacher["id"])}, token=token), "createTrainingClass")
    assert created["trainingClass"]["filingStatus"] == "NOT_FILED"
    assert created["trainingClass"]["teachers"] == [{"id": teacher["id"], "name": "王老师"}]
    assert created["findings"] == []

    tree = """query($id: ID!) { institution(id: $id) { sites { name courses { name classes { name capacity teachers { name } } } } } }"""
    for viewer in (token, await gql.login("edu-440100")):
        sites = data(await gql(tree, {"id": institution_id}, token=viewer), "institution")["sites"]
        assert sites == [{"name": "天河校区", "courses": [{"name": "小学数学", "classes": [{"name": "三年级数学培训班", "capacity": 20, "teachers": [{"name": "王老师"}]}]}]}]

    delete_site = "mutation($id: ID!) { deleteSite(id: $id) { deletedId errors { code message } } }"
    assert data(await gql(delete_site, {"id": site["id"]}, token=token), "deleteSite")["errors"][0]["code"] == "HAS_DEPENDENTS"
    assert data(await gql(DELETE_STAFF, {"id": teacher["id"]}, token=token), "deleteStaff")["errors"][0]["code"] == "HAS_DEPENDENTS"
    # A teacher must be active staff of the same institution.
    ok(await gql(DEPART, {"id": teacher["id"], "version": 1, "on": "2026-10-01"}, token=token), "markStaffDeparted")
    departed_teacher = await gql(CREATE_CLASS, {"course": course["id"], "input": klass(teacher["id"], name="四年级数学培训班")}, token=token)
    assert [(e["field"], e["code"]) for e in data(departed_teacher, "createTrainingClass")["errors"]] == [("teacherIds", "NOT_FOUND")]


async def test_an_online_institution_keeps_business_systems_with_lesson_lengths(gql, demo, sessionmaker):
    _, token = await portal_institution(gql, sessionmaker, 1, mode="ONLINE")
    teacher = ok(await gql(CREATE_STAFF, {"input": TEACHER}, token=token), "createStaff")["staff"]
    bad = await gql(CREATE_SITE, {"input": {"name": "学习 App", "systemType": "APP", "url": "ftp://x", "icpFiling": "ICP123"}}, token=token)
    assert {(e["field"], e["code"]) for e in data(bad, "createSite")["errors"]} == {("url", "INVALID"), ("icpFiling", "INVALID")}
    system = ok(
        await gql(CREATE_SITE, {"input": {"name": "学习 App", "systemType": "APP", "url": "https://app.example.cn", "icpFiling": "粤ICP备12345678号"}}, token=token),
        "createSite",
    )["site"]
    assert system["type"] == "BUSINESS_SYSTEM"
    course = ok(await gql(CREATE_COURSE, {"site": system["id"], "input": MATHS}, token=token), "createCourse")["course"]
    without = await gql(CREATE_CLASS, {"course": course["id"], "input": klass(teacher["id"])}, token=token)
    assert {(e["field"], e["code"]) for e in data(without, "createTrainingClass")["errors"]} == {("lessonMinutes", "REQUIRED"), ("breakMinutes", "REQUIRED")}
    long_lessons = klass(teacher["id"], lessonMinutes=45, breakMinutes=5, schedule=[{"weekday": 3, "start": "20:00", "end": "20:50"}])
    created = ok(await gql(CREATE_CLASS, {"course": course["id"], "input": long_lessons}, token=token), "createTrainingClass")
    # 20:50 is fine online (21:00), the lesson and break lengths are not.
    assert [f["rule"] for f in created["findings"]] == ["ONLINE_LESSON_LENGTH", "ONLINE_LESSON_LENGTH"]


async def test_each_rule_of_the_regulations_becomes_a_finding(gql, demo, sessionmaker):
    institution_id, token = await portal_institution(gql, sessionmaker, 1, nature="FOR_PROFIT")
    teacher = ok(await gql(CREATE_STAFF, {"input": TEACHER}, token=token), "createStaff")["staff"]
    uncertified = ok(
        await gql(CREATE_STAFF, {"input": {**TEACHER, "name": "赵助教", "idNumber": "110105200001010016", "post": "OTHER", "subjects": [], "teacherCertificateNumber": None}}, token=token),
        "createStaff",
    )["staff"]
    site = ok(await gql(CREATE_SITE, {"input": {**SITE, "teachingArea": "100.00"}}, token=token), "createSite")["site"]
    course = ok(await gql(CREATE_COURSE, {"site": site["id"], "input": MATHS}, token=token), "createCourse")["course"]
    late = ok(
        await gql(CREATE_CLASS, {"course": course["id"], "input": klass(teacher["id"], schedule=[{"weekday": 2, "start": "19:00", "end": "21:00"}])}, token=token),
        "createTrainingClass",
    )
    assert [f["rule"] for f in late["findings"]] == ["CLASS_END_TIME"]
    expensive = klass(teacher["id"], name="数学提高班", feeMonths=6, feeClassHours=None, enrolled=15, capacity=25)
    second = ok(await gql(CREATE_CLASS, {"course": course["id"], "input": expensive}, token=token), "createTrainingClass")
    assert sorted(f["rule"] for f in second["findings"]) == ["CLASS_NAME", "FEE_PERIOD", "UNFILED_ENROLMENT"]
    third = klass(uncertified["id"], name="四年级数学培训班（2班）", schedule=[{"weekday": 6, "start": "10:00", "end": "11:00"}], capacity=20)
    assert [f["rule"] for f in ok(await gql(CREATE_CLASS, {"course": course["id"], "input": third}, token=token), "createTrainingClass")["findings"]] == [
        "TEACHER_CERTIFICATE", "AREA_PER_STUDENT",  # the class is in the site's crowded time slot
    ]
    material = {
        "name": "小学数学讲义", "category": "SUBJECT", "subject": "MATHEMATICS", "grades": ["PRIMARY"], "type": "HANDOUT",
        "author": "李编", "authorYearsInEducation": 2,
    }
    ok(await gql(CREATE_MATERIAL, {"input": material}, token=token), "createMaterial")

    query = "query($id: ID!) { institution(id: $id) { findings { rule recordType recordName source } home { findingsCount } } }"
    institution = data(await gql(query, {"id": institution_id}, token=token), "institution")
    found = sorted((f["rule"], f["recordType"], f["recordName"]) for f in institution["findings"])
    assert found == sorted([
        ("NON_PROFIT", "Institution", "天河1号培训学校"),
        ("CLASS_END_TIME", "TrainingClass", "三年级数学培训班"),
        ("CLASS_NAME", "TrainingClass", "数学提高班"),
        ("FEE_PERIOD", "TrainingClass", "数学提高班"),
        ("UNFILED_ENROLMENT", "TrainingClass", "数学提高班"),
        ("TEACHER_CERTIFICATE", "TrainingClass", "四年级数学培训班（2班）"),
        # Saturday 10:00-10:30: 20 + 25 + 20 students on 100 m² is under 3 m² each.
        ("AREA_PER_STUDENT", "Site", "天河校区"),
        ("MATERIAL_AUTHOR_EXPERIENCE", "Material", "小学数学讲义"),
        ("MATERIAL_AUTHOR_CERTIFICATE", "Material", "小学数学讲义"),
    ])
    assert all(f["source"] for f in institution["findings"])
    assert institution["home"]["findingsCount"] == 9
    # The province reads the same findings; another county does not see the institution.
    assert len(data(await gql(query, {"id": institution_id}, token=await gql.login("edu-440000")), "institution")["findings"]) == 9
    assert data(await gql(query, {"id": institution_id}, token=await gql.login("edu-440104")), "institution") is None


async def test_editing_a_filed_class_sends_it_back_to_filing(gql, demo, sessionmaker):
    _, token = await portal_institution(gql, sessionmaker)
    teacher = ok(await gql(CREATE_STAFF, {"input": TEACHER}, token=token), "createStaff")["staff"]
    site = ok(await gql(CREATE_SITE, {"input": SITE}, token=token), "createSite")["site"]
    course = ok(await gql(CREATE_COURSE, {"site": site["id"], "input": MATHS}, token=token), "createCourse")["course"]
    created = ok(await gql(CREATE_CLASS, {"course": course["id"], "input": klass(teacher["id"])}, token=token), "createTrainingClass")["trainingClass"]
    submit = "mutation($id: ID!) { submitApplication(input: {type: CLASS_FILING, classId: $id}) { application { id } errors { code } } }"
    application = ok(await gql(submit, {"id": created["id"]}, token=token), "submitApplication")["application"]
    review = "mutation($id: ID!) { reviewApplication(id: $id, input: {approve: true, opinion: \"同意备案\"}) { application { status } errors { code } } }"
    ok(await gql(review, {"id": application["id"]}, token=await gql.login("edu-440106")), "reviewApplication")
    enrolled_only = ok(await gql(UPDATE_CLASS, {"id": created["id"], "version": 3, "input": klass(teacher["id"], enrolled=12)}, token=token), "updateTrainingClass")
    assert (enrolled_only["trainingClass"]["filingStatus"], enrolled_only["findings"]) == ("FILED", [])
    moved = ok(await gql(UPDATE_CLASS, {"id": created["id"], "version": 4, "input": klass(teacher["id"], enrolled=12, fee="2600.00")}, token=token), "updateTrainingClass")
    assert moved["trainingClass"]["filingStatus"] == "NOT_FILED"
    assert [f["rule"] for f in moved["findings"]] == ["UNFILED_ENROLMENT"]


async def test_materials_of_non_subject_institutions_and_their_checks(gql, demo, sessionmaker):
    _, token = await portal_institution(gql, sessionmaker, 1, kind="NON_SUBJECT", parts=())
    subject_material = {"name": "奥数讲义", "category": "SUBJECT", "subject": "MATHEMATICS", "grades": ["PRIMARY"], "type": "HANDOUT", "author": "李编", "authorYearsInEducation": 5}
    errors = data(await gql(CREATE_MATERIAL, {"input": subject_material}, token=token), "createMaterial")["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("category", "INVALID")]
    art = {"name": "少儿美术", "category": "ARTS", "grades": ["PRIMARY"], "type": "TEXTBOOK", "author": "陈老师", "authorYearsInEducation": 5, "authorCertificateNumber": "bad no"}
    assert [(e["field"], e["code"]) for e in data(await gql(CREATE_MATERIAL, {"input": art}, token=token), "createMaterial")["errors"]] == [("authorCertificateNumber", "INVALID")]
    created = ok(await gql(CREATE_MATERIAL, {"input": {**art, "authorCertificateNumber": None}}, token=token), "createMaterial")["material"]
    assert (created["authorHasTeacherCertificate"], created["authorCertificateNumber"]) == (False, None)


async def test_materials_export_to_excel_for_the_institution_and_regulators_in_scope(gql, http, demo, sessionmaker):


    institution_id, token = await portal_institution(gql, sessionmaker)
    for name, certificate in (("小学数学讲义", "20114400121000123"), ("初中英语练习", None)):
        material = {"name": name, "category": "SUBJECT", "subject": "MATHEMATICS", "grades": ["PRIMARY", "JUNIOR_SECONDARY"], "type": "HANDOUT", "author": "李编", "authorYearsInEducation": 5, "authorCertificateNumber": certificate}
        ok(await gql(CREATE_MATERIAL, {"input": material}, token=token), "createMaterial")

    def rows(response) -> list[list]:
        assert response.status_code == 200, response.text
        sheet = load_workbook(io.BytesIO(response.content)).active
        return [list(r) for r in sheet.iter_rows(min_row=2, values_only=True)]

    own = rows(await http.get("/exports/materials.xlsx", headers={"Authorization": f"Bearer {token}"}))
    assert own[0][:3] == ["材料名称", "培训类别", "学科"]
    assert [r[0] for r in own[1:]] == ["初中英语练习", "小学数学讲义"]
    assert own[2][3] == "小学、初中" and own[2][9] == "20114400121000123"
    province = await gql.login("edu-440000")
    masked = rows(await http.get(f"/exports/materials.xlsx?institutionId={institution_id}", headers={"Authorization": f"Bearer {province}"}))
    assert masked[2][9] == "2011*********0123"
    other = await gql.login("edu-440104")
    outside = await http.get(f"/exports/materials.xlsx?institutionId={institution_id}", headers={"Authorization": f"Bearer {other}"})
    unknown = await http.get("/exports/materials.xlsx?institutionId=00000000-0000-0000-0000-000000000000", headers={"Authorization": f"Bearer {other}"})
    assert (outside.status_code, outside.json()) == (unknown.status_code, unknown.json()) == (404, {"error": {"code": "NOT_FOUND", "message": "培训机构不存在"}})
    assert (await http.get("/exports/materials.xlsx")).status_code == 401


async def test_an_institution_updates_its_own_registration_parts(gql, demo, sessionmaker):

    institution_id, token = await portal_institution(gql, sessionmaker, 1)
    other_id, _ = await portal_institution(gql, sessionmaker, 2)
    facilities = {**PARTS["Facilities"], "floorArea": "900.00"}
    saved = await save(gql, part_mutation("Facilities"), {"id": institution_id, "input": facilities}, token=token)
    assert saved["data"]["saveInstitutionFacilities"]["errors"] == []
    assert data(await gql("{ myInstitution { facilities { floorArea } } }", token=token), "myInstitution")["facilities"] == {"floorArea": "900.00"}
    foreign = await gql(part_mutation("Facilities"), {"id": other_id, "version": 5, "input": facilities}, token=token)
    assert foreign["data"]["saveInstitutionFacilities"]["errors"] == [{"field": "id", "code": "NOT_FOUND", "message": "培训机构不存在"}]

    assert error_codes(await gql(BASICS, {"input": basics(9)}, token=token)) == ["FORBIDDEN"]
    async with sessionmaker() as db:
        await db.execute(sa.text("UPDATE institution SET review_status = 'PENDING' WHERE id = :id"), {"id": institution_id})
        await db.commit()
    pending = await save(gql, part_mutation("Facilities"), {"id": institution_id, "input": facilities}, token=token)
    assert [e["code"] for e in pending["data"]["saveInstitutionFacilities"]["errors"]] == ["NOT_ALLOWED"]


async def test_an_institution_reads_its_own_legal_representative_in_full(gql, demo, sessionmaker):
    _, token = await portal_institution(gql, sessionmaker)
    mine = data(await gql("{ myInstitution { legalRepresentative { idNumber phone } contactPerson { phone } } }", token=token), "myInstitution")
    assert mine == {"legalRepresentative": {"idNumber": ID_NUMBER, "phone": "13800138000"}, "contactPerson": {"phone": "13900139000"}}


async def test_an_institution_keeps_at_most_its_caps_of_records(gql, demo, sessionmaker):
    """The caps the query limits count nested lists by (schema/limits.py): refused beyond,
    NOT_ALLOWED, and so are a class's sessions and teachers."""


    institution_id, token = await portal_institution(gql, sessionmaker)
    async with sessionmaker() as db:
        db.add_all([Site(institution_id=institution_id, type="SITE", name=f"校区{n}", address="地址", teaching_area=100) for n in range(MAX_SITES - 1)])
        db.add_all([
            Staff(institution_id=institution_id, name=f"教师{n}", gender="MALE", id_number=ID_NUMBER[:-4] + f"{n:04d}", phone="13700137000", post="TEACHING",
                  employment="FULL_TIME", subjects=[], joined_on=date(2025, 1, 1))
            for n in range(MAX_TEACHERS + 1)
        ])
        await db.commit()
    last = ok(await gql(CREATE_SITE, {"input": SITE}, token=token), "createSite")["site"]
    over = data(await gql(CREATE_SITE, {"input": SITE}, token=token), "createSite")
    assert (over["site"], [(e["field"], e["code"]) for e in over["errors"]]) == (None, [(None, "NOT_ALLOWED")])
    course = ok(await gql(CREATE_COURSE, {"site": last["id"], "input": {**MATHS, "category": "ARTS", "subject": None}}, token=token), "createCourse")["course"]
    async with sessionmaker() as db:
        teachers = [str(i) for i in (await db.execute(sa.select(Staff.id).where(Staff.institution_id == institution_id))).scalars()]
    sessions = [{"weekday": 1 + n % 7, "start": f"{8 + n // 7:02d}:00", "end": f"{8 + n // 7:02d}:30"} for n in range(MAX_SESSIONS + 1)]
    refused = data(await gql(CREATE_CLASS, {"course": course["id"], "input": klass(teachers[0], name="美术班", schedule=sessions, teacherIds=teachers)}, token=token), "createTrainingClass")
    assert sorted((e["field"], e["code"]) for e in refused["errors"]) == [("schedule", "NOT_ALLOWED"), ("teacherIds", "NOT_ALLOWED")]
    created = data(await gql(CREATE_CLASS, {"course": course["id"], "input": klass(teachers[0], name="美术班", schedule=sessions[:-1], teacherIds=teachers[:-1])}, token=token), "createTrainingClass")
    assert created["errors"] == [] and len(created["trainingClass"]["teachers"]) == MAX_TEACHERS


REVIEW_MATERIAL = """mutation($id: ID!, $approve: Boolean!, $opinion: String) {
  reviewMaterial(id: $id, approve: $approve, opinion: $opinion) { material { review reviewOpinion reviewedAt version } errors { field code } }
}"""


async def test_a_material_is_reviewed_by_the_reviewing_regulator_never_by_the_institution(gql, demo, sessionmaker):
    _, token = await portal_institution(gql, sessionmaker)
    material = {"name": "小学数学讲义", "category": "SUBJECT", "subject": "MATHEMATICS", "grades": ["PRIMARY"], "type": "HANDOUT", "author": "李编", "authorYearsInEducation": 5}
    # The institution's form has no review: setting one is not even a valid request.
    refused = await gql(CREATE_MATERIAL, {"input": {**material, "review": "APPROVED"}}, token=token)
    assert refused["data"] is None and [e["message"].split(" (")[0] for e in refused["errors"]] == ["变量 $input 取值无效：MaterialInput 没有字段 review"]
    created = ok(await gql(CREATE_MATERIAL, {"input": material}, token=token), "createMaterial")["material"]
    assert error_codes(await gql(REVIEW_MATERIAL, {"id": created["id"], "approve": True}, token=token)) == ["FORBIDDEN"]
    # A subject institution is reviewed by its county's education bureau (docs/DOMAIN.md §P1.3.1).
    # Above it in scope: FORBIDDEN; out of scope (another county, its sports bureau): as if not found.
    assert error_codes(await gql(REVIEW_MATERIAL, {"id": created["id"], "approve": True}, token=await gql.login("edu-440100"))) == ["FORBIDDEN"]
    for outsider in ("edu-440104", "sports-440106"):
        outside = data(await gql(REVIEW_MATERIAL, {"id": created["id"], "approve": True}, token=await gql.login(outsider)), "reviewMaterial")
        assert outside == {"material": None, "errors": [{"field": "id", "code": "NOT_FOUND"}]}, outsider
    county = await gql.login("edu-440106")
    unexplained = data(await gql(REVIEW_MATERIAL, {"id": created["id"], "approve": False}, token=county), "reviewMaterial")
    assert unexplained == {"material": None, "errors": [{"field": "opinion", "code": "REQUIRED"}]}
    rejected = ok(await gql(REVIEW_MATERIAL, {"id": created["id"], "approve": False, "opinion": "编写人员资质不足"}, token=county), "reviewMaterial")["material"]
    assert (rejected["review"], rejected["reviewOpinion"], rejected["reviewedAt"] is not None, rejected["version"]) == ("REJECTED", "编写人员资质不足", True, 2)
    approved = ok(await gql(REVIEW_MATERIAL, {"id": created["id"], "approve": True}, token=county), "reviewMaterial")["material"]
    assert (approved["review"], approved["reviewOpinion"], approved["version"]) == ("APPROVED", None, 3)
    # An edit is a new text: its review starts again.
    edited = ok(await gql(
        "mutation($id: ID!, $input: MaterialInput!) { updateMaterial(id: $id, version: 3, input: $input) { material { review reviewOpinion reviewedAt } errors { field code } } }",
        {"id": created["id"], "input": {**material, "edition": "第二版"}}, token=token,
    ), "updateMaterial")["material"]
    assert edited == {"review": "NOT_REVIEWED", "reviewOpinion": None, "reviewedAt": None}
UPDATE_SITE = """mutation($id: ID!, $version: Int!, $input: SiteInput!) {
  updateSite(id: $id, version: $version, input: $input) { site { id name address version } errors { field code message } }
}"""
STAFF_DETAIL = "query($id: ID!) { node(id: $id) { ... on Staff { name phone post yearsInEducation subjects version } } }"


async def test_an_edit_changes_only_the_fields_it_is_given(gql, demo, sessionmaker):
    # given a teacher with every field filled
    _, token = await portal_institution(gql, sessionmaker)
    staff = ok(await gql(CREATE_STAFF, {"input": {**TEACHER, "yearsInEducation": 6}}, token=token), "createStaff")["staff"]
    # when only the phone is sent
    edited = ok(await gql(UPDATE_STAFF, {"id": staff["id"], "version": 1, "input": {"phone": "13700137001"}}, token=token), "updateStaff")
    # then the phone changed and every other field kept its value
    assert (edited["staff"]["phone"], edited["staff"]["name"], edited["staff"]["idNumber"]) == ("13700137001", "王老师", ID_NUMBER)
    detail = data(await gql(STAFF_DETAIL, {"id": staff["id"]}, token=token), "node")
    assert detail == {"name": "王老师", "phone": "13700137001", "post": "TEACHING", "yearsInEducation": 6, "subjects": ["MATHEMATICS"], "version": 2}
    # an explicit null clears an optional field
    ok(await gql(UPDATE_STAFF, {"id": staff["id"], "version": 2, "input": {"yearsInEducation": None}}, token=token), "updateStaff")
    assert data(await gql(STAFF_DETAIL, {"id": staff["id"]}, token=token), "node")["yearsInEducation"] is None
    # the merged record is checked whole, every problem at once: a null required field, a
    # bad value, and a rule across fields (a subject teacher without a certificate)
    refused = await gql(UPDATE_STAFF, {"id": staff["id"], "version": 3, "input": {"name": None, "phone": "12345", "teacherCertificateNumber": None}}, token=token)
    assert [(e["field"], e["code"]) for e in data(refused, "updateStaff")["errors"]] == [
        ("name", "REQUIRED"), ("phone", "INVALID"), ("teacherCertificateNumber", "REQUIRED"),
    ]
    assert data(await gql(STAFF_DETAIL, {"id": staff["id"]}, token=token), "node")["version"] == 3  # nothing written
    # a site: one field sent, the rest kept
    site = ok(await gql(CREATE_SITE, {"input": SITE}, token=token), "createSite")["site"]
    renamed = ok(await gql(UPDATE_SITE, {"id": site["id"], "version": 1, "input": {"name": "天河新校区"}}, token=token), "updateSite")
    assert renamed["site"] == {"id": site["id"], "name": "天河新校区", "address": SITE["address"], "version": 2}


async def test_departure_and_return_default_to_today(gql, demo, sessionmaker, clock):
    _, token = await portal_institution(gql, sessionmaker)
    staff = ok(await gql(CREATE_STAFF, {"input": {**TEACHER, "joinedOn": "2026-01-05"}}, token=token), "createStaff")["staff"]
    departed = ok(await gql(DEPART, {"id": staff["id"], "version": 1}, token=token), "markStaffDeparted")["staff"]
    assert (departed["status"], departed["departedOn"]) == ("DEPARTED", "2026-11-23")
    back = ok(await gql(REJOIN, {"id": staff["id"], "version": 2}, token=token), "markStaffActive")["staff"]
    assert (back["status"], back["joinedOn"], back["departedOn"]) == ("ACTIVE", "2026-11-23", None)
