"""Applications and their review: each goes to the authority docs/DOMAIN.md §P1.3.1 names, only that
authority decides, the institution reads the decision, and regulators list what is pending
in their scope with counts."""

from __future__ import annotations

import uuid

from models import Institution
from tests.helpers import (
    CREATE_CLASS,
    CREATE_COURSE,
    CREATE_SITE,
    CREATE_STAFF,
    FUNDS,
    LOGIN,
    MATHS,
    MOBILE,
    PASSWORD,
    PDF,
    SAVE_FUNDS,
    SITE,
    TEACHER,
    UPLOAD,
    data,
    error_codes,
    insert_institutions,
    klass,
    ok,
    part_mutation,
    portal_institution,
    ready_for_compliance,
    register_account,
    save,
    upload,
)

SUBMIT = """mutation($input: ApplicationInput!) {
  submitApplication(input: $input) {
    application { id type status authorityDepartment authorityLevel authorityRegion { code } findingsAtSubmission { rule } }
    errors { field code message }
  }
}"""
REVIEW = """mutation($id: ID!, $input: ReviewInput!) {
  reviewApplication(id: $id, input: $input) { application { id status opinion decidedAt } errors { field code message } }
}"""
HOME = """{ myInstitution { reviewStatus home { reviewStatus needsNonProfitConversion needsOnlineApproval canApplyForCompliance missing { code } findingsCount } } }"""




async def test_compliance_application_from_missing_items_to_approval(gql, demo, sessionmaker):
    institution_id, token = await portal_institution(gql, sessionmaker)
    home = data(await gql(HOME, token=token), "myInstitution")["home"]
    assert home == {
        "reviewStatus": "NOT_SUBMITTED", "needsNonProfitConversion": False, "needsOnlineApproval": False,
        "canApplyForCompliance": False, "missing": [{"code": "SITES"}, {"code": "STAFF"}, {"code": "FUNDS"}], "findingsCount": 0,
    }
    refused = data(await gql(SUBMIT, {"input": {"type": "COMPLIANCE"}}, token=token), "submitApplication")
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("type", "NOT_ALLOWED")] * 3

    await ready_for_compliance(gql, token)
    assert data(await gql(HOME, token=token), "myInstitution")["home"]["canApplyForCompliance"] is True
    application = ok(await gql(SUBMIT, {"input": {"type": "COMPLIANCE", "statement": "已完成整改"}}, token=token), "submitApplication")["application"]
    assert (application["status"], application["authorityDepartment"], application["authorityLevel"], application["authorityRegion"]) == (
        "PENDING", "EDUCATION", "COUNTY", {"code": "440106"}
    )
    assert data(await gql(HOME, token=token), "myInstitution")["reviewStatus"] == "PENDING"
    again = data(await gql(SUBMIT, {"input": {"type": "COMPLIANCE"}}, token=token), "submitApplication")["errors"]
    assert [e["code"] for e in again] == ["NOT_ALLOWED"]

    decision = {"approve": True, "opinion": "材料齐全，同意"}
    # Only the county education bureau of the institution decides.
    assert error_codes(await gql(REVIEW, {"id": application["id"], "input": decision}, token=await gql.login("edu-440000"))) == ["FORBIDDEN"]
    assert error_codes(await gql(REVIEW, {"id": application["id"], "input": decision}, token=await gql.login("edu-440100"))) == ["FORBIDDEN"]
    assert error_codes(await gql(REVIEW, {"id": application["id"], "input": decision}, token=await gql.login("edu-440106-01"))) == ["FORBIDDEN"]
    for outsider in ("edu-440104", "sports-440106"):
        out = data(await gql(REVIEW, {"id": application["id"], "input": decision}, token=await gql.login(outsider)), "reviewApplication")
        assert [e["code"] for e in out["errors"]] == ["NOT_FOUND"]
    assert error_codes(await gql(REVIEW, {"id": application["id"], "input": decision}, token=token)) == ["FORBIDDEN"]
    county = await gql.login("edu-440106")
    no_opinion = data(await gql(REVIEW, {"id": application["id"], "input": {"approve": True}}, token=county), "reviewApplication")
    assert [(e["field"], e["code"]) for e in no_opinion["errors"]] == [("opinion", "REQUIRED")]
    approved = ok(await gql(REVIEW, {"id": application["id"], "input": decision}, token=county), "reviewApplication")["application"]
    assert (approved["status"], approved["opinion"]) == ("APPROVED", "材料齐全，同意")
    twice = data(await gql(REVIEW, {"id": application["id"], "input": decision}, token=county), "reviewApplication")
    assert [e["code"] for e in twice["errors"]] == ["NOT_ALLOWED"]

    seen = data(await gql("{ myInstitution { reviewStatus applications { type status opinion } } }", token=token), "myInstitution")
    assert seen == {"reviewStatus": "APPROVED", "applications": [{"type": "COMPLIANCE", "status": "APPROVED", "opinion": "材料齐全，同意"}]}
    listed = "query($s: ReviewStatus) { institutions(filter: {reviewStatus: $s}) { totalCount edges { node { id } } } }"
    assert data(await gql(listed, {"s": "APPROVED"}, token=county), "institutions")["edges"] == [{"node": {"id": institution_id}}]


async def test_each_application_goes_to_its_authority(gql, demo, sessionmaker):
    _, online = await portal_institution(gql, sessionmaker, 1, mode="ONLINE")
    _, sports = await portal_institution(gql, sessionmaker, 2, kind="NON_SUBJECT", parts=())
    statement = {"type": "LICENCE", "statement": "申请办学许可"}
    # The online institution holds a licence already (part 2 saved as FULL).
    licensed = data(await gql(SUBMIT, {"input": statement}, token=online), "submitApplication")
    assert [(e["field"], e["code"]) for e in licensed["errors"]] == [("type", "NOT_ALLOWED")]
    assert data(await gql(HOME, token=online), "myInstitution")["home"]["needsOnlineApproval"] is False

    # A non-subject institution whose category is sports goes to the county sports department.
    county = await gql.login("edu-440106")
    institution_id = data(await gql("{ myInstitution { id version } }", token=sports), "myInstitution")
    operation = """mutation($id: ID!, $version: Int!) { saveInstitutionOperation(id: $id, version: $version,
      input: {trainingCategories: [SPORTS], studentCount: 50, staffCount: 5, teacherCount: 3}) { errors { code } } }"""
    ok(await gql(operation, {"id": institution_id["id"], "version": institution_id["version"]}, token=county), "saveInstitutionOperation")
    application = ok(await gql(SUBMIT, {"input": statement}, token=sports), "submitApplication")["application"]
    assert (application["authorityDepartment"], application["authorityLevel"]) == ("SPORTS", "COUNTY")
    decision = {"approve": True, "opinion": "同意", "licenceNumber": "体民144010600001号", "licenceIssuer": "天河区文化体育局", "licenceValidFrom": "2026-11-23", "licenceValidTo": "2031-11-22"}
    assert error_codes(await gql(REVIEW, {"id": application["id"], "input": decision}, token=county)) == ["FORBIDDEN"]
    sports_bureau = await gql.login("sports-440106")
    missing = data(await gql(REVIEW, {"id": application["id"], "input": {"approve": True, "opinion": "同意"}}, token=sports_bureau), "reviewApplication")
    assert {e["field"] for e in missing["errors"]} == {"licenceNumber", "licenceIssuer", "licenceValidFrom", "licenceValidTo"}
    ok(await gql(REVIEW, {"id": application["id"], "input": decision}, token=sports_bureau), "reviewApplication")
    licence = data(await gql("{ myInstitution { qualifications { status licenceNumber licenceValidTo } } }", token=sports), "myInstitution")
    assert licence["qualifications"] == {"status": "LICENCE_ONLY", "licenceNumber": "体民144010600001号", "licenceValidTo": "2031-11-22"}


async def test_online_subject_institutions_are_reviewed_by_the_province(gql, demo, sessionmaker):
    _, token = await portal_institution(gql, sessionmaker, 1, mode="ONLINE", parts=("Operation", "SubjectTraining", "Facilities"))
    home = data(await gql(HOME, token=token), "myInstitution")["home"]
    assert home["needsOnlineApproval"] is True
    assert {"code": "ONLINE_APPROVAL"} in home["missing"]
    application = ok(await gql(SUBMIT, {"input": {"type": "LICENCE", "statement": "备案转审批"}}, token=token), "submitApplication")["application"]
    assert (application["authorityDepartment"], application["authorityLevel"], application["authorityRegion"]) == ("EDUCATION", "PROVINCE", {"code": "440000"})
    decision = {"approve": False, "opinion": "材料不全，请补充"}
    assert error_codes(await gql(REVIEW, {"id": application["id"], "input": decision}, token=await gql.login("edu-440106"))) == ["FORBIDDEN"]
    rejected = ok(await gql(REVIEW, {"id": application["id"], "input": decision}, token=await gql.login("edu-440000")), "reviewApplication")
    assert rejected["application"]["status"] == "REJECTED"
    # A rejected application may be submitted again.
    ok(await gql(SUBMIT, {"input": {"type": "LICENCE", "statement": "已补充材料"}}, token=token), "submitApplication")


async def test_pending_applications_in_scope_with_counts(gql, demo, sessionmaker):
    _, first = await portal_institution(gql, sessionmaker, 1)
    _, second = await portal_institution(gql, sessionmaker, 2, county="440104")
    _, third = await portal_institution(gql, sessionmaker, 3, county="420102")
    for token in (first, second, third):
        await ready_for_compliance(gql, token)
        ok(await gql(SUBMIT, {"input": {"type": "COMPLIANCE"}}, token=token), "submitApplication")
    query = """query($f: ApplicationFilter) { applications(filter: $f) { totalCount edges { node { type institution { name } reviewable } } } }"""
    counts = "query($f: ApplicationFilter) { applicationCounts(filter: $f) { type status count } }"
    seen = {}
    for viewer in ("edu-000000", "edu-440000", "edu-440100", "edu-440106", "edu-440104", "edu-420102", "sports-440106", "edu-440106-01"):
        token = await gql.login(viewer)
        result = data(await gql(query, {"f": {"status": "PENDING", "type": "COMPLIANCE"}}, token=token), "applications")
        mine = data(await gql(query, {"f": {"forMyReview": True}}, token=token), "applications")
        seen[viewer] = (
            result["totalCount"],
            sorted(e["node"]["institution"]["name"] for e in result["edges"]),
            mine["totalCount"],
        )
    assert seen == {
        "edu-000000": (3, ["天河1号培训学校", "天河2号培训学校", "天河3号培训学校"], 0),
        "edu-440000": (2, ["天河1号培训学校", "天河2号培训学校"], 0),
        "edu-440100": (2, ["天河1号培训学校", "天河2号培训学校"], 0),
        "edu-440106": (1, ["天河1号培训学校"], 1),
        "edu-440104": (1, ["天河2号培训学校"], 1),
        "edu-420102": (1, ["天河3号培训学校"], 1),
        "sports-440106": (0, [], 0),
        "edu-440106-01": (0, [], 0),
    }
    province = await gql.login("edu-440000")
    assert data(await gql(counts, {"f": None}, token=province), "applicationCounts") == [{"type": "COMPLIANCE", "status": "PENDING", "count": 2}]
    # An institution sees its own applications only.
    own = data(await gql(query, {"f": None}, token=second), "applications")
    assert [e["node"]["institution"]["name"] for e in own["edges"]] == ["天河2号培训学校"]
    assert error_codes(await gql(counts, {"f": None}, token=second)) == ["FORBIDDEN"]


async def test_deregistration_with_a_proof_makes_the_institution_read_only_and_ends_its_account(gql, http, demo, sessionmaker):
    institution_id, token = await portal_institution(gql, sessionmaker)
    deregistration = {"type": "DEREGISTRATION", "statement": "停止办学"}
    missing = data(await gql(SUBMIT, {"input": deregistration}, token=token), "submitApplication")
    assert [(e["field"], e["code"]) for e in missing["errors"]] == [("proofDocumentId", "REQUIRED")]
    unknown = data(await gql(SUBMIT, {"input": {**deregistration, "proofDocumentId": "5f0c7f36-86c6-4a4d-9b8e-3d8f3b1f6e11"}}, token=token), "submitApplication")
    assert [(e["field"], e["code"]) for e in unknown["errors"]] == [("proofDocumentId", "NOT_FOUND")]
    licence = (await upload(http, token, PDF))["data"]["uploadInstitutionDocument"]["document"]
    wrong = data(await gql(SUBMIT, {"input": {**deregistration, "proofDocumentId": licence["id"]}}, token=token), "submitApplication")
    assert [(e["field"], e["code"]) for e in wrong["errors"]] == [("proofDocumentId", "INVALID")]
    proof = (await upload(http, token, PDF, "注销证明.pdf", "DEREGISTRATION_PROOF"))["data"]["uploadInstitutionDocument"]["document"]
    application = ok(await gql(SUBMIT, {"input": {**deregistration, "proofDocumentId": proof["id"]}}, token=token), "submitApplication")["application"]
    # Another institution's proof is not found either.
    _, other = await portal_institution(gql, sessionmaker, 2)
    foreign = data(await gql(SUBMIT, {"input": {**deregistration, "proofDocumentId": proof["id"]}}, token=other), "submitApplication")
    assert [(e["field"], e["code"]) for e in foreign["errors"]] == [("proofDocumentId", "NOT_FOUND")]

    county = await gql.login("edu-440106")
    ok(await gql(REVIEW, {"id": application["id"], "input": {"approve": True, "opinion": "经核实，同意注销"}}, token=county), "reviewApplication")
    # The account's session ended and it cannot log in again.
    assert error_codes(await gql("{ myInstitution { id } }", token=token)) == ["UNAUTHENTICATED"]
    username = data(await gql("query($id: ID!) { institution(id: $id) { name } }", {"id": institution_id}, token=county), "institution")
    assert username["name"] == "天河1号培训学校"
    seen = data(await gql("query($id: ID!) { institution(id: $id) { deregisteredAt applications { type status } } }", {"id": institution_id}, token=county), "institution")
    assert seen["deregisteredAt"] is not None and seen["applications"] == [{"type": "DEREGISTRATION", "status": "APPROVED"}]
    # The registration desk cannot edit it any more.
    edit = """mutation($id: ID!, $v: Int!) { saveInstitutionFacilities(id: $id, version: $v, input: {floorArea: "900", teachingArea: "500",
      premises: OWNED, fireSafetyApproved: true}) { errors { code } } }"""
    version = data(await gql("query($id: ID!) { institution(id: $id) { version } }", {"id": institution_id}, token=county), "institution")["version"]
    assert data(await gql(edit, {"id": institution_id, "v": version}, token=county), "saveInstitutionFacilities")["errors"] == [{"code": "NOT_ALLOWED"}]


async def test_funds_declaring_long_payment_periods_are_a_finding(gql, demo, sessionmaker):
    _, token = await portal_institution(gql, sessionmaker)
    ok(await gql(SAVE_FUNDS, {"i": {**FUNDS, "maxMonthsPerPayment": 12}}, token=token), "saveInstitutionFunds")
    findings = data(await gql("{ myInstitution { findings { rule recordType message } } }", token=token), "myInstitution")["findings"]
    assert findings == [{"rule": "FEE_PERIOD", "recordType": "InstitutionFunds", "message": "收费信息：一次收费最长覆盖 12 个月、60 课时，超过 3 个月或 60 课时"}]


UPDATE_COURSE = """mutation($id: ID!, $v: Int!, $input: CourseInput!) {
  updateCourse(id: $id, version: $v, input: $input) { course { id subject version } errors { field code } } }"""
UPDATE_CLASS = """mutation($id: ID!, $version: Int!, $input: TrainingClassInput!) {
  updateTrainingClass(id: $id, version: $version, input: $input) { trainingClass { id filingStatus version } errors { field code } } }"""


async def _class(gql, token, course_input, **class_overrides):
    teacher = ok(await gql(CREATE_STAFF, {"input": TEACHER}, token=token), "createStaff")["staff"]
    site = ok(await gql(CREATE_SITE, {"input": SITE}, token=token), "createSite")["site"]
    course = ok(await gql(CREATE_COURSE, {"site": site["id"], "input": course_input}, token=token), "createCourse")["course"]
    created = ok(await gql(CREATE_CLASS, {"course": course["id"], "input": klass(teacher["id"], **class_overrides)}, token=token), "createTrainingClass")
    return teacher, course, created["trainingClass"]


async def test_deregistration_closes_the_other_pending_applications_and_its_proof_stays(gql, http, demo, sessionmaker):


    institution_id, token = await portal_institution(gql, sessionmaker)
    async with sessionmaker() as db:
        (await db.get(Institution, uuid.UUID(institution_id))).qualification_status = "BUSINESS_LICENCE_ONLY"
        await db.commit()
    licence = ok(await gql(SUBMIT, {"input": {"type": "LICENCE", "statement": "申请办学许可"}}, token=token), "submitApplication")["application"]
    proof = (await upload(http, token, PDF, "proof.pdf", "DEREGISTRATION_PROOF"))["data"]["uploadInstitutionDocument"]["document"]
    deregistration = ok(await gql(SUBMIT, {"input": {"type": "DEREGISTRATION", "statement": "停办", "proofDocumentId": proof["id"]}}, token=token), "submitApplication")["application"]
    delete = "mutation($id: ID!) { deleteInstitutionDocument(id: $id) { deletedId errors { field code } } }"
    assert (await gql(delete, {"id": proof["id"]}, token=token))["data"]["deleteInstitutionDocument"]["errors"] == [{"field": "id", "code": "HAS_DEPENDENTS"}]
    county = await gql.login("edu-440106")
    ok(await gql(REVIEW, {"id": deregistration["id"], "input": {"approve": True, "opinion": "同意注销"}}, token=county), "reviewApplication")
    closed = await gql(REVIEW, {"id": licence["id"], "input": {"approve": True, "opinion": "同意", "licenceNumber": "教民1440106000099号",
        "licenceIssuer": "天河区教育局", "licenceValidFrom": "2026-11-01", "licenceValidTo": "2029-10-31"}}, token=county)
    assert [e["code"] for e in data(closed, "reviewApplication")["errors"]] == ["NOT_ALLOWED"]
    seen = data(await gql("query($id: ID!) { institution(id: $id) { applications { type status opinion } qualifications { licenceNumber } } }", {"id": institution_id}, token=county), "institution")
    assert seen["applications"] == [
        {"type": "DEREGISTRATION", "status": "APPROVED", "opinion": "同意注销"},
        {"type": "LICENCE", "status": "REJECTED", "opinion": "机构已注销，申请终止"},
    ]
    assert seen["qualifications"]["licenceNumber"] == "教民144010670000001号"


async def test_the_authority_keeps_an_application_when_the_institution_changes_category(gql, demo, sessionmaker):

    institution_id, token = await portal_institution(gql, sessionmaker, 1, kind="NON_SUBJECT", parts=())
    operation = {"trainingCategories": ["SPORTS"], "studentCount": 10, "staffCount": 3, "teacherCount": 2}
    assert (await save(gql, part_mutation("Operation"), {"id": institution_id, "input": operation}, token=token))["data"]["saveInstitutionOperation"]["errors"] == []
    application = ok(await gql(SUBMIT, {"input": {"type": "LICENCE", "statement": "申请"}}, token=token), "submitApplication")["application"]
    assert application["authorityDepartment"] == "SPORTS"
    arts = {**operation, "trainingCategories": ["ARTS"]}
    assert (await save(gql, part_mutation("Operation"), {"id": institution_id, "input": arts}, token=token))["data"]["saveInstitutionOperation"]["errors"] == []
    sports = await gql.login("sports-440106")
    mine = data(await gql('{ applications(filter: {forMyReview: true}) { totalCount edges { node { id institution { name } } } } }', token=sports), "applications")
    # Still the sports bureau's to decide, though the institution itself is no longer in its scope.
    assert (mine["totalCount"], mine["edges"][0]["node"]) == (1, {"id": application["id"], "institution": None})
    decided = await gql(REVIEW, {"id": application["id"], "input": {"approve": False, "opinion": "类别已变更，请向文化旅游部门申请"}}, token=sports)
    assert data(decided, "reviewApplication")["application"]["status"] == "REJECTED"


async def test_a_class_under_review_keeps_what_was_submitted(gql, demo, sessionmaker):
    _, token = await portal_institution(gql, sessionmaker)
    teacher, _, created = await _class(gql, token, MATHS)
    ok(await gql(SUBMIT, {"input": {"type": "CLASS_FILING", "classId": created["id"]}}, token=token), "submitApplication")
    late = klass(teacher["id"], schedule=[{"weekday": 6, "start": "20:00", "end": "22:30"}], capacity=200)
    refused = data(await gql(UPDATE_CLASS, {"id": created["id"], "version": created["version"] + 1, "input": late}, token=token), "updateTrainingClass")
    assert refused["errors"] == [{"field": "id", "code": "NOT_ALLOWED"}]
    enrolled = ok(await gql(UPDATE_CLASS, {"id": created["id"], "version": created["version"] + 1, "input": klass(teacher["id"], enrolled=8)}, token=token), "updateTrainingClass")
    assert enrolled["trainingClass"]["filingStatus"] == "PENDING"


async def test_a_course_that_becomes_a_subject_course_sends_its_classes_to_filing(gql, demo, sessionmaker):
    _, token = await portal_institution(gql, sessionmaker)
    _, course, created = await _class(gql, token, {"name": "美术", "category": "ARTS", "grades": ["PRIMARY"], "classHours": 20}, enrolled=5)
    assert created["filingStatus"] == "NOT_REQUIRED"
    ok(await gql(UPDATE_COURSE, {"id": course["id"], "v": course["version"], "input": MATHS}, token=token), "updateCourse")
    classes = data(await gql("{ myInstitution { sites { courses { classes { filingStatus } } } } }", token=token), "myInstitution")
    assert classes["sites"][0]["courses"][0]["classes"] == [{"filingStatus": "NOT_FILED"}]
    ok(await gql(SUBMIT, {"input": {"type": "CLASS_FILING", "classId": created["id"]}}, token=token), "submitApplication")


async def test_classes_of_different_terms_do_not_share_the_floor(gql, demo, sessionmaker):
    _, token = await portal_institution(gql, sessionmaker)
    teacher = ok(await gql(CREATE_STAFF, {"input": TEACHER}, token=token), "createStaff")["staff"]
    site = ok(await gql(CREATE_SITE, {"input": {**SITE, "teachingArea": "300.00"}}, token=token), "createSite")["site"]
    course = ok(await gql(CREATE_COURSE, {"site": site["id"], "input": MATHS}, token=token), "createCourse")["course"]
    for name, starts, ends in (("三年级数学培训班（春）", "2026-02-01", "2026-06-30"), ("三年级数学培训班（秋）", "2026-09-01", "2027-01-15")):
        ok(await gql(CREATE_CLASS, {"course": course["id"], "input": klass(teacher["id"], name=name, capacity=60, startsOn=starts, endsOn=ends)}, token=token), "createTrainingClass")
    assert data(await gql("{ myInstitution { findings { rule } } }", token=token), "myInstitution")["findings"] == []
    # A third class overlapping the autumn term's Saturday slot does share it: 120 students on 300 m².
    ok(await gql(CREATE_CLASS, {"course": course["id"], "input": klass(teacher["id"], name="四年级数学培训班", capacity=60, startsOn="2026-10-01", endsOn="2026-12-31")}, token=token), "createTrainingClass")
    assert [f["rule"] for f in data(await gql("{ myInstitution { findings { rule } } }", token=token), "myInstitution")["findings"]] == ["AREA_PER_STUDENT"]


async def test_the_home_page_on_a_list_costs_the_same_for_any_page_size(gql, demo, sessionmaker, sql):

    await insert_institutions(sessionmaker, {"edu-440106": 9})
    token = await gql.login("edu-440106")
    query = "query($n: Int) { institutions(first: $n) { edges { node { name home { missing { code } findingsCount } } } } }"
    counts = {}
    await gql(query, {"n": 1}, token=token)  # the subtree's codes, read once a minute per region (auth.scope)
    for n in (2, 9):
        sql.reset()
        assert len((await gql(query, {"n": n}, token=token))["data"]["institutions"]["edges"]) == n
        counts[n] = sql.count
    assert counts[2] == counts[9]


async def test_an_upload_variable_that_is_not_a_file_is_a_clear_error(gql, demo, sessionmaker):

    _, token = await portal_institution(gql, sessionmaker)
    result = await gql(UPLOAD, {"c": "LICENCE", "f": "not a file", "i": {"title": "办学许可证"}}, token=token)
    assert [(e["field"], e["code"]) for e in result["data"]["uploadInstitutionDocument"]["errors"]] == [("file", "REQUIRED")]


async def test_the_audit_trail_keeps_an_institution_accounts_mobile_login_masked(gql, demo, sessionmaker):

    assert (await register_account(gql, sessionmaker))["errors"] == []
    await gql(LOGIN, {"u": MOBILE, "p": PASSWORD})
    province = await gql.login("edu-440000")
    records = data(await gql("{ auditRecords(first: 50) { edges { node { username } } } }", token=province), "auditRecords")["edges"]
    usernames = {r["node"]["username"] for r in records}
    assert MOBILE not in usernames and MOBILE[:3] + "****" + MOBILE[-4:] in usernames
