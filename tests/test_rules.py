"""The one rules engine (resolvers/rules.py, docs/DOMAIN.md §G4) over every record, whoever entered
it: the county's registration (forms and import), the institution's own saves, the portal's
records; findings on the record and on the institution, kept in the transaction of each
change; the standing's violations are those findings; part 4's class times read from text
(resolvers/class_times.py, migration 0019)."""

from __future__ import annotations

import asyncio
import io
import uuid
from datetime import date

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from models import Institution, InstitutionFinding
from models.database import create_sessionmaker, run_migrations
from resolvers import findings
from resolvers.class_times import format_sessions, parse
from resolvers.institutions.template import DATA_SHEET, HEADERS, template_bytes
from resolvers.rules import RULES
from resolvers.standing import standings
from tests.helpers import (
    CREATE_CLASS,
    CREATE_COURSE,
    CREATE_SITE,
    CREATE_STAFF,
    ID_NUMBER,
    MATHS,
    PARTS,
    PDF,
    SITE,
    TEACHER,
    basics,
    credit_code,
    data,
    database_at,
    import_institutions,
    klass,
    ok,
    part_mutation,
    portal_institution,
    register,
    save,
    upload,
)

WEEKDAYS = [{"weekday": d, "start": "19:00", "end": "22:00"} for d in range(1, 6)]
# The issue's institution: 周一至周五 19:00-22:00，一次收费一年; 500 students on 10 m²; no
# fire-safety acceptance; a lease that ends before the licence (2027-12-31).
BAD_SUBJECT_TRAINING = {**PARTS["SubjectTraining"], "classSessions": WEEKDAYS, "feeMonths": 12, "classTimesNote": "周一至周五 19:00-22:00，一次收费一年"}
BAD_OPERATION = {**PARTS["Operation"], "studentCount": 500}
BAD_FACILITIES = {"floorArea": "10", "teachingArea": "10", "premises": "LEASED", "leaseEnd": "2026-12-31", "fireSafetyApproved": False}
BAD_RULES = [
    ("CLASS_END_TIME", "VIOLATION", "4 中小学学科类培训情况", "中小学学科类培训的下课时间 22:00 晚于 20:30"),
    ("FEE_PERIOD", "VIOLATION", "4 中小学学科类培训情况", "中小学学科类培训一次收费覆盖 12 个月，超过 3 个月或 60 课时"),
    ("AREA_PER_STUDENT", "VIOLATION", "5 办学条件", "教学面积 10.00 平方米，在读学生 500 人，生均不足 3 平方米"),
    ("FIRE_SAFETY", "VIOLATION", "5 办学条件", "线下培训场所未通过消防验收"),
    ("LEASE_BEFORE_LICENCE_END", "WARNING", "5 办学条件", "场地租赁到期日 2026-12-31 早于办学许可证有效期止 2027-12-31"),
]
FINDINGS = "findings { rule severity recordType recordId recordName message source relatedIds }"
INSTITUTION = "query($id: ID!) { institution(id: $id) { version %s standing { compliant reasons { code } } } }" % FINDINGS


async def read(gql, institution_id: str, token: str) -> dict:
    return data(await gql(INSTITUTION, {"id": institution_id}, token=token), "institution")


def summary(found: list[dict]) -> list[tuple]:
    return [(f["rule"], f["severity"], f["recordName"], f["message"]) for f in found]


async def agree(sessionmaker, institution_id: str, found: list[dict]) -> None:
    """The standing's violations are the stored findings': counted alike (the tally that
    the compliant index reads included)."""
    async with sessionmaker() as db:
        standing = (await standings(db, [uuid.UUID(institution_id)], date(2026, 11, 23)))[uuid.UUID(institution_id)]
        tally = (await db.execute(sa.text("SELECT violations FROM institution_tally WHERE institution_id = :i"), {"i": institution_id})).scalar_one()
    violations = sum(f["severity"] == "VIOLATION" for f in found)
    assert tally == violations
    assert ("VIOLATIONS" in standing.codes) == (violations > 0)


# --- the county's registration --------------------------------------------------------------


async def test_the_county_registration_s_data_fires_its_rules_and_makes_the_institution_non_compliant(gql, demo, sessionmaker):
    # given: the county registers the issue's institution through the five forms
    county = await gql.login("edu-440106")
    institution_id = await register(gql, county, parts=("Qualifications",))
    for part, values in (("Operation", BAD_OPERATION), ("SubjectTraining", BAD_SUBJECT_TRAINING), ("Facilities", BAD_FACILITIES)):
        assert (await save(gql, part_mutation(part), {"id": institution_id, "input": values}, token=county))["data"][f"saveInstitution{part}"]["errors"] == []
    # then: each rule, on the institution's parts, with its source; the institution is not compliant
    institution = await read(gql, institution_id, county)
    assert summary(institution["findings"]) == BAD_RULES
    assert {f["source"] for f in institution["findings"]} == {RULES[r].source for r, *_ in BAD_RULES}
    assert {(f["recordType"], f["recordId"], tuple(f["relatedIds"])) for f in institution["findings"]} == {("Institution", institution_id, ())}
    assert institution["standing"]["compliant"] is False and {"code": "VIOLATIONS"} in institution["standing"]["reasons"]
    await agree(sessionmaker, institution_id, institution["findings"])
    # when: the desk corrects the parts, in the same transactions the findings go
    for part in ("Operation", "SubjectTraining", "Facilities"):
        await save(gql, part_mutation(part), {"id": institution_id, "input": PARTS[part]}, token=county)
    institution = await read(gql, institution_id, county)
    assert institution["findings"] == []
    assert {"code": "VIOLATIONS"} not in institution["standing"]["reasons"]
    await agree(sessionmaker, institution_id, institution["findings"])


async def test_rules_of_each_part_fire_only_where_they_apply(gql, demo, sessionmaker):
    county = await gql.login("edu-440106")
    # an online institution: its classes may end at 21:00, and it has no premises to crowd or to accept
    online = await register(gql, county, 1, mode="ONLINE", parts=("Qualifications",))
    await save(gql, part_mutation("Operation"), {"id": online, "input": BAD_OPERATION}, token=county)
    till_nine = [{"weekday": 1, "start": "19:00", "end": "21:00"}]
    await save(gql, part_mutation("SubjectTraining"), {"id": online, "input": {**PARTS["SubjectTraining"], "classSessions": till_nine}}, token=county)
    await save(gql, part_mutation("Facilities"), {"id": online, "input": {**BAD_FACILITIES, "leaseEnd": "2028-01-01"}}, token=county)
    assert (await read(gql, online, county))["findings"] == []
    # owned premises have no lease; no licence, no lease rule; one class hour over 60 is a fee period
    offline = await register(gql, county, 2, parts=())
    hours = {**PARTS["SubjectTraining"], "feeMonths": None, "feeClassHours": 61}
    await save(gql, part_mutation("SubjectTraining"), {"id": offline, "input": hours}, token=county)
    await save(gql, part_mutation("Facilities"), {"id": offline, "input": {**BAD_FACILITIES, "premises": "OWNED", "fireSafetyApproved": True}}, token=county)
    assert summary((await read(gql, offline, county))["findings"]) == [
        ("FEE_PERIOD", "VIOLATION", "4 中小学学科类培训情况", "中小学学科类培训一次收费覆盖 61 课时，超过 3 个月或 60 课时"),
    ]
    # no subject training (a non-subject institution, its part 4 saved so with part 1): part 4 has nothing to check
    other = await register(gql, county, 3, parts=(), kind="NON_SUBJECT")
    assert (await read(gql, other, county))["findings"] == []


async def test_part_4_takes_structured_class_times_and_fee_terms(gql, demo):
    county = await gql.login("edu-440106")
    institution_id = await register(gql, county, parts=())
    saved = await save(gql, part_mutation("SubjectTraining"), {"id": institution_id, "input": {
        **PARTS["SubjectTraining"], "classSessions": [{"weekday": 8, "start": "09:00", "end": "10:00"}, {"weekday": 1, "start": "10:00", "end": "09:00"}],
        "feeMonths": None,
    }}, token=county)
    assert [(e["field"], e["code"]) for e in saved["data"]["saveInstitutionSubjectTraining"]["errors"]] == [
        ("classSessions.0.weekday", "INVALID"), ("classSessions.1.end", "INVALID"), ("feeMonths", "REQUIRED"),
    ]
    saved = await save(gql, part_mutation("SubjectTraining"), {"id": institution_id, "input": {**PARTS["SubjectTraining"], "feeMonths": None}}, token=county)
    assert [(e["field"], e["code"]) for e in saved["data"]["saveInstitutionSubjectTraining"]["errors"]] == [("feeMonths", "REQUIRED")]
    await save(gql, part_mutation("SubjectTraining"), {"id": institution_id, "input": BAD_SUBJECT_TRAINING}, token=county)
    query = "query($id: ID!) { institution(id: $id) { subjectTraining { classSessions { weekday start end } feeMonths feeClassHours classTimesNote } } }"
    part = data(await gql(query, {"id": institution_id}, token=county), "institution")["subjectTraining"]
    assert part == {"classSessions": WEEKDAYS, "feeMonths": 12, "feeClassHours": None, "classTimesNote": "周一至周五 19:00-22:00，一次收费一年"}


def _workbook(*rows: dict) -> bytes:
    wb = load_workbook(io.BytesIO(template_bytes()))
    sheet = wb[DATA_SHEET]
    for values in rows:
        sheet.append([values.get(h) for h in HEADERS])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


IMPORTED = {
    "所在区县代码 *": "440106", "机构名称 *": "导入1号培训学校", "统一社会信用代码 *": credit_code(31), "机构地址 *": "广州市天河区体育西路 1 号",
    "机构类型 *": "学科类", "办学形式 *": "线下", "机构性质 *": "非营利性", "法定代表人姓名 *": "王五", "法定代表人身份证号 *": ID_NUMBER,
    "法定代表人手机号 *": "13800138000", "联系人姓名 *": "赵六", "联系人手机号 *": "13900139000",
    "办学资质情况": "证照齐全", "办学许可证编号": "教民144010670000031号", "办学许可证发证机关": "广州市天河区教育局",
    "办学许可证有效期起": "2022-01-01", "办学许可证有效期止": "2027-12-31",
    "营业执照/民办非企业单位登记证书编号": "52440106MJL000031X", "营业执照/登记证书登记机关": "广州市天河区民政局",
    "培训类别": "学科类", "在读学生数": 500, "从业人员数": 30, "专职教师数": 20,
    "无中小学学科类培训": "否", "培训学科": "数学", "培训学段": "初中", "上课时间": "周一至周五 19:00-22:00", "一次收费最长覆盖月数": 12,
    "收费标准（元/课时）": 80, "上课时间说明": "周一至周五 19:00-22:00，一次收费一年",
    "建筑面积（平方米）": 10, "教学面积（平方米）": 10, "场地性质": "租赁", "租赁到期日": "2026-12-31", "通过消防验收": "否",
}


async def test_an_imported_registration_fires_the_same_rules_as_the_forms(gql, http, demo, sessionmaker):
    county = await gql.login("edu-440106")
    result = await import_institutions(http, county, _workbook(IMPORTED))
    assert result["data"]["importInstitutions"]["errors"] == [] and result["data"]["importInstitutions"]["created"] == 1
    async with sessionmaker() as db:
        institution_id = str((await db.execute(sa.select(Institution.id).where(Institution.credit_code == credit_code(31)))).scalar_one())
    institution = await read(gql, institution_id, county)
    assert summary(institution["findings"]) == BAD_RULES
    assert institution["standing"]["compliant"] is False
    await agree(sessionmaker, institution_id, institution["findings"])
    # the column reads what the export writes, and text it cannot read is a row error
    wrong = await import_institutions(http, county, _workbook({**IMPORTED, "上课时间": "寒暑假"}))
    assert [(e["column"], e["code"]) for e in wrong["data"]["importInstitutions"]["errors"]] == [("上课时间", "INVALID")]


# --- the institution's own saves and the portal's records ---------------------------------


async def test_the_institution_s_own_registration_saves_fire_the_same_rules(gql, demo, sessionmaker):
    institution_id, token = await portal_institution(gql, sessionmaker)
    version = data(await gql("{ myInstitution { version } }", token=token), "myInstitution")["version"]
    saved = await gql(part_mutation("Facilities"), {"id": institution_id, "version": version, "input": BAD_FACILITIES}, token=token)
    assert saved["data"]["saveInstitutionFacilities"]["errors"] == []
    mine = data(await gql("{ myInstitution { %s } }" % FINDINGS, token=token), "myInstitution")
    assert [(f["rule"], f["recordName"]) for f in mine["findings"]] == [
        ("AREA_PER_STUDENT", "5 办学条件"), ("FIRE_SAFETY", "5 办学条件"), ("LEASE_BEFORE_LICENCE_END", "5 办学条件"),
    ]
    await agree(sessionmaker, institution_id, mine["findings"])


SITES = """query($id: ID!) { institution(id: $id) {
  findings { rule recordType }
  sites { id findings { rule } courses { classes { id name findings { rule recordType } teachers { id } } } }
} }"""
RECORDS = """query($id: ID!) { institution(id: $id) {
  staff { name findings { rule } }
  materials { name findings { rule } }
  documents { title findings { rule severity } }
  funds { findings { rule } }
} }"""
SAVE_FUNDS = "mutation($i: InstitutionFundsInput!) { saveInstitutionFunds(input: $i) { errors { field code } } }"


async def test_a_finding_shows_on_the_record_it_concerns_and_on_those_it_names(gql, http, demo, sessionmaker):
    institution_id, token = await portal_institution(gql, sessionmaker)
    uncertified = ok(await gql(CREATE_STAFF, {"input": {**TEACHER, "name": "赵老师", "teacherCertificateNumber": None, "post": "OTHER", "subjects": []}}, token=token), "createStaff")["staff"]
    # a class of 20 seats on a 30 m² site
    site = ok(await gql(CREATE_SITE, {"input": {**SITE, "teachingArea": "30.00"}}, token=token), "createSite")["site"]
    course = ok(await gql(CREATE_COURSE, {"site": site["id"], "input": MATHS}, token=token), "createCourse")["course"]
    created = ok(await gql(CREATE_CLASS, {"course": course["id"], "input": klass(uncertified["id"], capacity=20)}, token=token), "createTrainingClass")
    class_id = created["trainingClass"]["id"]
    assert [f["rule"] for f in created["findings"]] == ["TEACHER_CERTIFICATE", "AREA_PER_STUDENT"]
    material = {"name": "初中数学讲义", "category": "SUBJECT", "subject": "MATHEMATICS", "grades": ["JUNIOR_SECONDARY"], "type": "HANDOUT",
                "author": "李编", "authorYearsInEducation": 5}
    ok(await gql("mutation($input: MaterialInput!) { createMaterial(input: $input) { errors { field } } }", {"input": material}, token=token), "createMaterial")
    contract = await upload(http, token, PDF, "合同.pdf", "CONTRACT", title="培训服务合同", followsModelText=False)
    assert contract["data"]["uploadInstitutionDocument"]["errors"] == []
    ok(await gql(SAVE_FUNDS, {"i": {"maxMonthsPerPayment": 6}}, token=token), "saveInstitutionFunds")

    for viewer in (token, await gql.login("edu-440106"), await gql.login("edu-440000")):
        institution = data(await gql(SITES, {"id": institution_id}, token=viewer), "institution")
        institution |= data(await gql(RECORDS, {"id": institution_id}, token=viewer), "institution")
        assert sorted((f["rule"], f["recordType"]) for f in institution["findings"]) == sorted([
            ("TEACHER_CERTIFICATE", "TrainingClass"), ("AREA_PER_STUDENT", "Site"), ("MATERIAL_AUTHOR_CERTIFICATE", "Material"),
            ("CONTRACT_MODEL_TEXT", "Document"), ("FEE_PERIOD", "InstitutionFunds"),
        ])
        (site_read,) = institution["sites"]
        assert site_read["findings"] == [{"rule": "AREA_PER_STUDENT"}]
        (class_read,) = site_read["courses"][0]["classes"]
        assert (class_read["id"], class_read["findings"]) == (
            class_id, [{"rule": "TEACHER_CERTIFICATE", "recordType": "TrainingClass"}, {"rule": "AREA_PER_STUDENT", "recordType": "Site"}],
        )
        assert class_read["teachers"] == [{"id": uncertified["id"]}]
        assert {s["name"]: s["findings"] for s in institution["staff"]} == {"赵老师": [{"rule": "TEACHER_CERTIFICATE"}]}
        assert [m["findings"] for m in institution["materials"]] == [[{"rule": "MATERIAL_AUTHOR_CERTIFICATE"}]]
        assert {d["title"]: d["findings"] for d in institution["documents"]} == {"培训服务合同": [{"rule": "CONTRACT_MODEL_TEXT", "severity": "WARNING"}]}
        assert institution["funds"]["findings"] == [{"rule": "FEE_PERIOD"}]
    # another county reads none of it
    assert data(await gql(SITES, {"id": institution_id}, token=await gql.login("edu-440104")), "institution") is None
    async with sessionmaker() as db:
        stored = (await findings.stored(db, [uuid.UUID(institution_id)]))[uuid.UUID(institution_id)]
    assert [f.related for f in stored if f.rule == "AREA_PER_STUDENT"] == [(uuid.UUID(class_id),)]


# --- part 4's text --------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "sessions", "months", "hours"), [
    ("周一至周五 19:00-22:00，一次收费一年", "周一至周五 19:00-22:00", 12, None),
    ("周六、周日 9:00-17:00", "周六、周日 09:00-17:00", None, None),
    ("工作日 18:00-20:30；按月收费", "周一至周五 18:00-20:30", 1, None),
    ("周六日 8点半-11点半，按季度收费", "周六、周日 08:30-11:30", 3, None),
    ("周一、三、五 19：00～21：00，一次性收费60课时", "周一、周三、周五 19:00-21:00", None, 60),
    ("周六 9:00-12:00，周日 14:00-17:00，一次收费半年", "周六 09:00-12:00；周日 14:00-17:00", 6, None),
])
def test_class_times_are_read_from_the_text_desks_write(text, sessions, months, hours):
    parsed = parse(text)
    assert (format_sessions(parsed.sessions), parsed.fee_months, parsed.fee_class_hours) == (sessions, months, hours)
    # what is written back reads the same
    assert parse(format_sessions(parsed.sessions)).sessions == parsed.sessions


@pytest.mark.parametrize("text", ["寒暑假", "19:00-21:00", "周一至周五 19:00-22:00，按学期收费", "周五至周一 9:00-10:00", "周二 19:00-18:00"])
def test_text_read_only_in_part_is_not_read_at_all(text):
    assert parse(text) is None


async def test_migration_0019_reads_the_old_texts_and_asks_to_review_the_rest(pg_server_url):
    # given: a database at 0018 with part 4 saved as text
    async with database_at(pg_server_url, "0018") as (url, engine):
        columns = (
            "id, name, credit_code, region_code, address, kind, mode, nature, legal_rep_name, legal_rep_id_number, legal_rep_phone, "
            "contact_name, contact_phone, no_subject_training, class_times, subject_training_saved, inspection_status, "
            "qualifications_saved, operation_saved, facilities_saved, version, created_at, updated_at"
        )
        ids = {text: uuid.uuid4() for text in ("周一至周五 19:00-22:00，一次收费一年", "寒暑假", "周六、周日 9:00-17:00，按季度收费")}
        async with engine.begin() as conn:
            for n, (text, i) in enumerate(ids.items(), start=1):
                b = basics(n)
                await conn.execute(sa.text(
                    f"INSERT INTO institution ({columns}) VALUES (:id, :name, :code, '440106', '地址', 'SUBJECT', 'OFFLINE', 'NON_PROFIT', '张三', "
                    ":idn, '13800138000', '李四', '13900139000', false, :text, true, 'NOT_INSPECTED', false, false, false, 1, now(), now())"
                ), {"id": i, "name": b["name"], "code": b["creditCode"], "idn": ID_NUMBER, "text": text})
        # when
        await asyncio.to_thread(run_migrations, url)
        async with engine.connect() as conn:
            rows = {r.id: r for r in (await conn.execute(sa.text("SELECT id, class_sessions, fee_months, fee_class_hours, class_times_note FROM institution")))}
        # then: what was read is data, the text stays as the note
        late, holidays, weekend = (rows[ids[t]] for t in ids)
        assert (late.class_sessions, late.fee_months, late.class_times_note) == (
            [{"weekday": d, "start": "19:00", "end": "22:00"} for d in range(1, 6)], 12, "周一至周五 19:00-22:00，一次收费一年",
        )
        assert (holidays.class_sessions, holidays.fee_months, holidays.class_times_note) == ([], None, "寒暑假")
        assert (len(weekend.class_sessions), weekend.fee_months) == (2, 3)
        # and the rules read it: the unreadable text is a warning to review, not a violation
        maker = create_sessionmaker(engine)
        assert await findings.refresh_all(maker) == 3
        async with maker() as db:
            kept = (await db.execute(sa.select(InstitutionFinding.institution_id, InstitutionFinding.rule, InstitutionFinding.severity))).all()
            tally = dict((await db.execute(sa.text("SELECT institution_id, violations FROM institution_tally"))).all())
        assert sorted((i, r, s) for i, r, s in kept) == sorted([
            (ids["周一至周五 19:00-22:00，一次收费一年"], "CLASS_END_TIME", "VIOLATION"),
            (ids["周一至周五 19:00-22:00，一次收费一年"], "FEE_PERIOD", "VIOLATION"),
            (ids["寒暑假"], "SUBJECT_TRAINING_REVIEW", "WARNING"),
        ])
        assert tally == {ids["周一至周五 19:00-22:00，一次收费一年"]: 2, ids["寒暑假"]: 0, ids["周六、周日 9:00-17:00，按季度收费"]: 0}
