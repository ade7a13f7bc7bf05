"""The county registration desk: the five parts, their rules, who may write, the list,
masking and deletion."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
import sqlalchemy as sa

from models import Institution
from resolvers.institutions.registration import FIELDS_BY_PART
from schema.institutions.inputs import PART_INPUTS
from schema.institutions.types import LIST_FIELDS
from tests.helpers import BASICS, ID_NUMBER, PARTS, basics, credit_code, error_codes, insert_institutions, part_mutation, register, save

PROGRESS = "{ savedParts missingParts complete }"
ONE = "query($id: ID!) { institution(id: $id) { name registeringUnit { name level } county { code } registrationProgress %s } }" % PROGRESS


def errors_of(result: dict) -> list[tuple[str, str]]:
    payload = next(iter(result["data"].values()))
    return [(e["field"], e["code"]) for e in payload["errors"]]


async def test_a_county_registers_in_five_parts_in_any_order(gql, demo):
    # given
    county = await gql.login("edu-440106")
    # when: part 1 registers
    created = await gql(BASICS, {"input": basics()}, token=county)
    payload = created["data"]["saveInstitutionBasics"]
    institution_id = payload["institution"]["id"]
    # then
    assert payload["errors"] == []
    assert payload["progress"] == {
        "savedParts": ["BASICS"],
        "missingParts": ["QUALIFICATIONS", "OPERATION", "SUBJECT_TRAINING", "FACILITIES"],
        "complete": False,
    }
    # the remaining parts in another order than the form's
    expected_missing = ["QUALIFICATIONS", "OPERATION", "SUBJECT_TRAINING", "FACILITIES"]
    for part, key in (("Facilities", "FACILITIES"), ("Qualifications", "QUALIFICATIONS"), ("SubjectTraining", "SUBJECT_TRAINING"), ("Operation", "OPERATION")):
        saved = (await save(gql, part_mutation(part), {"id": institution_id, "input": PARTS[part]}, token=county))["data"][f"saveInstitution{part}"]
        expected_missing.remove(key)
        assert saved["errors"] == [] and saved["progress"]["missingParts"] == expected_missing
    assert saved["progress"] == {"savedParts": ["BASICS", "QUALIFICATIONS", "OPERATION", "SUBJECT_TRAINING", "FACILITIES"], "missingParts": [], "complete": True}
    read = await gql(ONE, {"id": institution_id}, token=county)
    assert read["data"]["institution"]["registeringUnit"] == {"name": "天河区教育局", "level": "COUNTY"}
    assert read["data"]["institution"]["county"] == {"code": "440106"}


async def test_editing_a_saved_part_works_the_same_way(gql, demo, sessionmaker):
    county = await gql.login("edu-440106")
    institution_id = await register(gql, county)
    edited = await save(gql, BASICS, {"id": institution_id, "input": basics(name="天河新名培训学校")}, token=county)
    assert edited["data"]["saveInstitutionBasics"]["errors"] == []
    again = await save(gql, part_mutation("Facilities"), {"id": institution_id, "input": {**PARTS["Facilities"], "teachingArea": "900"}}, token=county)
    assert errors_of(again) == [("teachingArea", "INVALID")]
    async with sessionmaker() as db:
        row = (await db.execute(sa.select(Institution))).scalar_one()
    assert row.name == "天河新名培训学校" and str(row.teaching_area) == "500.00"


async def test_basics_are_validated_field_by_field(gql, demo):
    county = await gql.login("edu-440106")
    bad = basics(
        creditCode="91440106MA5C000019",  # wrong check character
        legalRepIdNumber="110105194912310021",  # wrong check digit
        legalRepPhone="010-12345678",  # a landline
        postalCode="5106",
        email="not-an-email",
        name="",
        kind=None,
    )
    # when: a save with a missing name and kind and five bad values
    result = await gql(BASICS, {"input": bad}, token=county)
    # then: every problem at once, in the form's order
    assert errors_of(result) == [
        ("name", "REQUIRED"),
        ("creditCode", "INVALID"),
        ("postalCode", "INVALID"),
        ("email", "INVALID"),
        ("kind", "REQUIRED"),
        ("legalRepIdNumber", "INVALID"),
        ("legalRepPhone", "INVALID"),
    ]
    messages = [e["message"] for e in result["data"]["saveInstitutionBasics"]["errors"]]
    assert [messages[1], *messages[5:]] == ["统一社会信用代码校验位不正确", "公民身份号码校验码不正确", "手机号码格式不正确"]


async def test_the_credit_code_must_be_from_the_institutions_province(gql, demo):
    county = await gql.login("edu-440106")
    result = await gql(BASICS, {"input": basics(creditCode=credit_code(1, "420102"))}, token=county)
    assert result["data"]["saveInstitutionBasics"]["errors"][0]["message"] == "统一社会信用代码中的登记管理机关行政区划码不在机构所在省份"


@pytest.mark.parametrize(
    ("status", "given", "expected"),
    [
        ("LICENCE_ONLY", {}, [("licenceNumber", "REQUIRED"), ("licenceIssuer", "REQUIRED"), ("licenceValidFrom", "REQUIRED"), ("licenceValidTo", "REQUIRED")]),
        ("BUSINESS_LICENCE_ONLY", {}, [("businessLicenceNumber", "REQUIRED"), ("businessLicenceIssuer", "REQUIRED")]),
        ("FULL", {**PARTS["Qualifications"], "licenceValidTo": "2021-12-31"}, [("licenceValidTo", "INVALID")]),
        ("NONE", {}, []),
        # a value the status makes meaningless is an error, not dropped
        ("NONE", {"licenceNumber": "教民144010670000001号"}, [("licenceNumber", "NOT_APPLICABLE")]),
        ("LICENCE_ONLY", {**PARTS["Qualifications"]}, [("businessLicenceNumber", "NOT_APPLICABLE"), ("businessLicenceIssuer", "NOT_APPLICABLE")]),
    ],
)
async def test_qualification_status_decides_the_required_fields(gql, demo, status, given, expected):
    county = await gql.login("edu-440106")
    institution_id = await register(gql, county, parts=())
    result = await save(gql, part_mutation("Qualifications"), {"id": institution_id, "input": {**given, "qualificationStatus": status}}, token=county)
    assert errors_of(result) == expected


async def test_a_licence_number_under_no_licence_is_a_coded_error_naming_the_field(gql, demo, sessionmaker):
    # given
    county = await gql.login("edu-440106")
    institution_id = await register(gql, county, parts=())
    # when: 无证无照 with a licence number
    result = await save(gql, part_mutation("Qualifications"), {"id": institution_id, "input": {"qualificationStatus": "NONE", "licenceNumber": "教民144010670000001号"}}, token=county)
    # then: refused, in Chinese, and nothing saved
    assert result["data"]["saveInstitutionQualifications"]["errors"] == [
        {"field": "licenceNumber", "code": "NOT_APPLICABLE", "message": "办学资质情况为“无证无照”，不应填写办学许可证编号"}
    ]
    async with sessionmaker() as db:
        row = (await db.execute(sa.select(Institution))).scalar_one()
    assert (row.qualifications_saved, row.licence_number) == (False, None)


async def test_a_new_status_clears_the_saved_fields_it_makes_meaningless(gql, demo, sessionmaker):
    county = await gql.login("edu-440106")
    institution_id = await register(gql, county)
    # an edit that sends the status alone: the licence's saved fields go with the old status
    result = await save(gql, part_mutation("Qualifications"), {"id": institution_id, "input": {"qualificationStatus": "BUSINESS_LICENCE_ONLY"}}, token=county)
    assert errors_of(result) == []
    async with sessionmaker() as db:
        row = (await db.execute(sa.select(Institution))).scalar_one()
    assert (row.licence_number, row.licence_valid_from, row.business_licence_number) == (None, None, "52440106MJL000001X")


async def test_operation_rules(gql, demo):
    county = await gql.login("edu-440106")
    institution_id = await register(gql, county, parts=())
    cases = [
        ({"trainingCategories": ["SUBJECT", "OTHER"], "studentCount": 1, "staffCount": 1, "teacherCount": 1}, [("otherCategory", "REQUIRED")]),
        ({"trainingCategories": ["SUBJECT"], "studentCount": 1, "staffCount": 1, "teacherCount": 2}, [("teacherCount", "INVALID")]),
        ({"trainingCategories": ["SPORTS"], "studentCount": 1, "staffCount": 1, "teacherCount": 1}, [("trainingCategories", "INVALID")]),
        ({"trainingCategories": [], "studentCount": -1, "staffCount": 1}, [("trainingCategories", "REQUIRED"), ("studentCount", "INVALID"), ("teacherCount", "REQUIRED")]),
        ({"trainingCategories": ["SUBJECT", "OTHER"], "otherCategory": "研学", "studentCount": 0, "staffCount": 0, "teacherCount": 0}, []),
    ]
    for given, expected in cases:
        assert errors_of(await save(gql, part_mutation("Operation"), {"id": institution_id, "input": given}, token=county)) == expected, given


async def test_part_four_is_filled_in_by_subject_institutions_and_never_skipped(gql, demo):
    county = await gql.login("edu-440106")
    institution_id = await register(gql, county, parts=())  # 学科类
    missing = await save(gql, part_mutation("SubjectTraining"), {"id": institution_id, "input": {"noSubjectTraining": False}}, token=county)
    assert errors_of(missing) == [
        ("subjects", "REQUIRED"), ("grades", "REQUIRED"), ("classSessions", "REQUIRED"), ("feeMonths", "REQUIRED"), ("feePerHour", "REQUIRED"),
    ]
    skipped = await save(gql, part_mutation("SubjectTraining"), {"id": institution_id, "input": {"noSubjectTraining": True}}, token=county)
    assert skipped["data"]["saveInstitutionSubjectTraining"]["errors"] == [
        {"field": "noSubjectTraining", "code": "INVALID", "message": "学科类机构须填写中小学学科类培训情况，不能选择“无中小学学科类培训”"}
    ]
    read = await gql(ONE, {"id": institution_id}, token=county)
    assert read["data"]["institution"]["registrationProgress"]["missingParts"] == ["QUALIFICATIONS", "OPERATION", "SUBJECT_TRAINING", "FACILITIES"]


async def test_a_non_subject_institution_that_skips_part_four_is_complete(gql, demo):
    # given: a non-subject institution registered with parts 1, 2, 3 and 5, part 4 skipped
    county = await gql.login("edu-440106")
    created = (await gql(BASICS, {"input": basics(kind="NON_SUBJECT")}, token=county))["data"]["saveInstitutionBasics"]
    # then: part 4 is saved as 无中小学学科类培训 with part 1
    assert created["progress"] == {"savedParts": ["BASICS", "SUBJECT_TRAINING"], "missingParts": ["QUALIFICATIONS", "OPERATION", "FACILITIES"], "complete": False}
    institution_id = created["institution"]["id"]
    for part in ("Qualifications", "Facilities"):
        assert errors_of(await save(gql, part_mutation(part), {"id": institution_id, "input": PARTS[part]}, token=county)) == []
    last = await save(gql, part_mutation("Operation"), {"id": institution_id, "input": {**PARTS["Operation"], "trainingCategories": ["ARTS"]}}, token=county)
    assert last["data"]["saveInstitutionOperation"]["progress"] == {
        "savedParts": ["BASICS", "QUALIFICATIONS", "OPERATION", "SUBJECT_TRAINING", "FACILITIES"], "missingParts": [], "complete": True,
    }
    read = await gql("query($id: ID!) { institution(id: $id) { subjectTraining { noSubjectTraining subjects } } }", {"id": institution_id}, token=county)
    assert read["data"]["institution"]["subjectTraining"] == {"noSubjectTraining": True, "subjects": []}
    # and it declares no subject training: subject content is an error, not dropped
    content = await save(gql, part_mutation("SubjectTraining"), {"id": institution_id, "input": {"noSubjectTraining": True, "subjects": ["CHINESE"]}}, token=county)
    assert content["data"]["saveInstitutionSubjectTraining"]["errors"] == [
        {"field": "subjects", "code": "NOT_APPLICABLE", "message": "无中小学学科类培训为“是”，不应填写培训学科"}
    ]
    training = await save(gql, part_mutation("SubjectTraining"), {"id": institution_id, "input": PARTS["SubjectTraining"]}, token=county)
    assert errors_of(training) == [("noSubjectTraining", "INVALID")]


async def test_facilities_rules(gql, demo):
    county = await gql.login("edu-440106")
    institution_id = await register(gql, county, parts=())
    cases = [
        ({**PARTS["Facilities"], "teachingArea": "800.01"}, [("teachingArea", "INVALID")]),
        ({**PARTS["Facilities"], "leaseEnd": None}, [("leaseEnd", "REQUIRED")]),
        ({**PARTS["Facilities"], "floorArea": "-1"}, [("floorArea", "INVALID")]),
        ({**PARTS["Facilities"], "floorArea": "1.234"}, [("floorArea", "INVALID")]),
        ({**PARTS["Facilities"], "premises": "OWNED", "leaseEnd": None}, []),
    ]
    for given, expected in cases:
        assert errors_of(await save(gql, part_mutation("Facilities"), {"id": institution_id, "input": given}, token=county)) == expected, given


async def test_duplicate_credit_codes_point_to_the_record_only_in_scope(gql, demo):
    county = await gql.login("edu-440106")
    institution_id = await register(gql, county, parts=())
    again = (await gql(BASICS, {"input": basics(name="另一个名字")}, token=county))["data"]["saveInstitutionBasics"]
    assert again["errors"] == [{"field": "creditCode", "code": "DUPLICATE", "message": "该统一社会信用代码已登记：天河1号培训学校", "relatedId": institution_id}]
    # the county beside it is told of the duplicate but not shown the record
    beside = await gql.login("edu-440104")
    elsewhere = (await gql(BASICS, {"input": basics()}, token=beside))["data"]["saveInstitutionBasics"]
    assert elsewhere["errors"] == [{"field": "creditCode", "code": "DUPLICATE", "message": "该统一社会信用代码已由其他地区登记，请与当地教育部门核实", "relatedId": None}]


async def test_only_the_county_education_desk_and_its_sub_units_write(gql, demo):
    for username in ("edu-440100", "edu-440000", "edu-000000", "sports-440106"):
        token = await gql.login(username)
        assert error_codes(await gql(BASICS, {"input": basics()}, token=token)) == ["FORBIDDEN"], username
    assert error_codes(await gql(BASICS, {"input": basics()})) == ["UNAUTHENTICATED"]


async def test_a_sub_unit_registers_and_edits_only_its_own(gql, demo):
    county = await gql.login("edu-440106")
    sub = await gql.login("edu-440106-01")
    mine = await register(gql, sub, 1, parts=())
    theirs = await register(gql, county, 2, parts=())
    read = await gql(ONE, {"id": mine}, token=sub)
    assert read["data"]["institution"]["registeringUnit"] == {"name": "天河区教育局下属单位一", "level": "SUB_UNIT"}
    # the sub-unit cannot reach the county's record; the county edits the sub-unit's
    assert errors_of(await save(gql, part_mutation("Operation"), {"id": theirs, "input": PARTS["Operation"]}, token=sub)) == [("id", "NOT_FOUND")]
    assert await gql(ONE, {"id": theirs}, token=sub) == {"data": {"institution": None}}
    assert errors_of(await save(gql, part_mutation("Operation"), {"id": mine, "input": PARTS["Operation"]}, token=county)) == []


async def test_personal_data_is_masked_for_everyone_but_the_county_desk(gql, demo):
    county = await gql.login("edu-440106")
    institution_id = await register(gql, county, parts=())
    query = "query($id: ID!) { institution(id: $id) { legalRepresentative { name idNumber phone } contactPerson { name phone } } }"
    full = {"legalRepresentative": {"name": "张三", "idNumber": ID_NUMBER, "phone": "13800138000"}, "contactPerson": {"name": "李四", "phone": "13900139000"}}
    masked = {"legalRepresentative": {"name": "张三", "idNumber": "110***********002X", "phone": "138****8000"}, "contactPerson": {"name": "李四", "phone": "139****9000"}}
    for username, expected in (("edu-440106", full), ("edu-440106-01", None), ("edu-440100", masked), ("edu-440000", masked), ("edu-000000", masked)):
        token = await gql.login(username)
        result = (await gql(query, {"id": institution_id}, token=token))["data"]["institution"]
        # (the sub-unit did not register it, so it does not see it at all)
        assert result == expected, username


async def test_list_filters_and_stable_order(gql, demo):
    county = await gql.login("edu-440106")
    complete = await register(gql, county, 1, name="甲培训学校")
    partial = await register(gql, county, 2, parts=("Qualifications",), name="乙培训学校", mode="ONLINE")
    sub = await gql.login("edu-440106-01")
    by_sub = await register(gql, sub, 3, parts=(), name="丙艺术培训中心", kind="NON_SUBJECT")
    province = await gql.login("edu-440000")
    query = "query($f: InstitutionFilter) { institutions(filter: $f, first: 50) { totalCount edges { node { id } } } }"

    async def ids(f):
        page = (await gql(query, {"f": f}, token=province))["data"]["institutions"]
        assert page["totalCount"] == len(page["edges"])
        return [e["node"]["id"] for e in page["edges"]]

    sub_id = (await gql("{ me { id } }", token=sub))["data"]["me"]["id"]
    # by name then id: 丙 < 乙 < 甲 in code-point order
    assert await ids(None) == [by_sub, partial, complete]
    assert await ids({"name": "培训学校"}) == [partial, complete]
    assert await ids({"regionCode": "440100"}) == [by_sub, partial, complete]
    assert await ids({"regionCode": "440300"}) == []
    assert await ids({"kind": "NON_SUBJECT"}) == [by_sub]
    assert await ids({"mode": "ONLINE"}) == [partial]
    assert await ids({"complete": True}) == [complete]
    assert await ids({"complete": False}) == [by_sub, partial]
    assert await ids({"missingPart": "QUALIFICATIONS"}) == [by_sub]
    assert await ids({"missingPart": "BASICS"}) == []
    assert await ids({"registeringUnitId": sub_id}) == [by_sub]


async def test_a_list_page_costs_the_same_statements_for_10_or_50_rows(gql, demo, sessionmaker, sql):
    await insert_institutions(sessionmaker, {"edu-440106": 60})
    province = await gql.login("edu-440000")
    query = "query($n: Int) { institutions(first: $n) { totalCount edges { node { name county { name } registeringUnit { name } registrationProgress { complete } } } } }"
    counts = {}
    await gql(query, {"n": 1}, token=province)  # the subtree's codes, read once a minute per region (auth.scope)
    for n in (10, 50):
        sql.reset()
        result = await gql(query, {"n": n}, token=province)
        assert len(result["data"]["institutions"]["edges"]) == n
        counts[n] = sql.count
    assert counts[10] == counts[50] == 3  # session, page (with its count and units), one batch of regions


async def test_the_list_reads_what_a_lookup_reads_and_counts_past_its_last_page(gql, demo, sessionmaker):
    # given: three institutions of the desk and one registered by itself (no registering unit)
    await insert_institutions(sessionmaker, {"edu-440106": 3})
    await insert_institutions(sessionmaker, {"edu-440106": 1}, registering_unit_id=None)
    details = (
        "id name creditCode address registeringUnit { name level } registrationProgress %s legalRepresentative { idNumber phone } "
        "contactPerson { phone } qualifications { status } siteCount activeStaffCount inspectionStatus" % PROGRESS
    )
    # every field a page reads without the form's details (schema.institutions.LIST_FIELDS)
    listed = {
        "id": "", "name": "", "kind": "", "mode": "", "nature": "", "registrationProgress": PROGRESS, "version": "", "createdAt": "",
        "updatedAt": "", "inspectionStatus": "", "reviewStatus": "", "deregisteredAt": "", "overdue": "", "inspections": "{ id }",
        "documents": "{ id }", "funds": "{ feeStandard }", "inspectionOperations": "", "siteCount": "", "activeStaffCount": "",
        "staff": "{ name }", "sites": "{ name }", "materials": "{ name }", "findings": "{ rule }", "applications": "{ id }",
        "county": "{ code }", "registeringUnit": "{ name level }",
        "standing": "{ licensed lawful compliant whiteListEligible blackListed deregistered licenceValidTo reasons { code effect message source recordType recordId recordName } }",
    }
    assert set(listed) == LIST_FIELDS - {"__typename"}
    for fields in (details, " ".join(f"{name} {selection}" for name, selection in listed.items())):
        page_query = "query($a: String) { institutions(first: 10, after: $a) { totalCount edges { cursor node { %s } } } }" % fields
        # the desk reads personal data in full, the province masked
        for username in ("edu-440106", "edu-440000"):
            token = await gql.login(username)
            # when
            page = (await gql(page_query, token=token))["data"]["institutions"]
            # then: each node is what a lookup by id reads
            assert page["totalCount"] == 4
            for edge in page["edges"]:
                one = await gql("query($id: ID!) { institution(id: $id) { %s } }" % fields, {"id": edge["node"]["id"]}, token=token)
                assert edge["node"] == one["data"]["institution"]
            assert [e["node"]["registeringUnit"] for e in page["edges"]].count(None) == 1
            # and past the last page the total is still counted
            past = await gql(page_query, {"a": page["edges"][-1]["cursor"]}, token=token)
            assert past["data"]["institutions"] == {"totalCount": 4, "edges": []}


async def test_deletion_needs_the_name_and_leaves_an_audit_snapshot(gql, demo, sessionmaker):
    county = await gql.login("edu-440106")
    institution_id = await register(gql, county)
    delete = "mutation($id: ID!, $n: String!) { deleteInstitution(id: $id, confirmName: $n) { deletedId errors { field code } } }"
    assert errors_of(await gql(delete, {"id": institution_id, "n": "别的名字"}, token=county)) == [("confirmName", "INVALID")]
    sub = await gql.login("edu-440106-01")
    assert error_codes(await gql(delete, {"id": institution_id, "n": "天河1号培训学校"}, token=sub)) == ["FORBIDDEN"]
    beside = await gql.login("edu-440104")
    assert errors_of(await gql(delete, {"id": institution_id, "n": "天河1号培训学校"}, token=beside)) == [("id", "NOT_FOUND")]
    done = await gql(delete, {"id": institution_id, "n": "天河1号培训学校"}, token=county)
    assert done["data"]["deleteInstitution"] == {"deletedId": institution_id, "errors": []}
    assert await gql(ONE, {"id": institution_id}, token=county) == {"data": {"institution": None}}
    # the snapshot: ministry and the province above, nobody else
    trail = "{ institutionDeletions { totalCount edges { node { username institutionId county { code } snapshot } } } }"
    for username in ("edu-000000", "edu-440000"):
        token = await gql.login(username)
        page = (await gql(trail, token=token))["data"]["institutionDeletions"]
        assert page["totalCount"] == 1
        node = page["edges"][0]["node"]
        assert (node["username"], node["institutionId"], node["county"]) == ("edu-440106", institution_id, {"code": "440106"})
        assert node["snapshot"]["name"] == "天河1号培训学校"
        assert node["snapshot"]["legal_rep_id_number"] == "110***********002X"
        assert node["snapshot"]["facilities_saved"] is True
    other_province = await gql.login("edu-420000")
    assert (await gql(trail, token=other_province))["data"]["institutionDeletions"]["totalCount"] == 0
    for username in ("edu-440100", "edu-440106"):
        token = await gql.login(username)
        assert error_codes(await gql(trail, token=token)) == ["FORBIDDEN"]


def test_part_inputs_carry_exactly_the_field_table():


    for part, input_type in PART_INPUTS.items():
        assert [f.name for f in dataclasses.fields(input_type)] == [spec.key for spec in FIELDS_BY_PART[part]], part


async def test_hostile_and_out_of_range_values_are_refused_as_data(gql, demo):
    county = await gql.login("edu-440106")
    institution_id = await register(gql, county, parts=())
    # NUL is refused for the whole request (schema/extensions.py), other control characters per field
    assert error_codes(await save(gql, BASICS, {"id": institution_id, "input": basics(name="a\u0000b")}, token=county)) == ["BAD_USER_INPUT"]
    cases = [
        (BASICS, {"id": institution_id, "input": basics(name="a\u0001b")}, [("name", "INVALID")]),
        (BASICS, {"id": institution_id, "input": basics(address="第一行\n第二行")}, [("address", "INVALID")]),
        (part_mutation("SubjectTraining"), {"id": institution_id, "input": {**PARTS["SubjectTraining"], "feePerHour": "100000000"}}, [("feePerHour", "INVALID")]),
        (part_mutation("Facilities"), {"id": institution_id, "input": {**PARTS["Facilities"], "floorArea": "1E+30"}}, [("floorArea", "INVALID")]),
        (part_mutation("Operation"), {"id": institution_id, "input": {**PARTS["Operation"], "studentCount": 2_000_000_000}}, [("studentCount", "INVALID")]),
    ]
    for mutation, variables, expected in cases:
        assert errors_of(await save(gql, mutation, variables, token=county)) == expected, variables
    # markup and formula-looking text is stored as it is: nothing renders or runs it here
    stored = await save(gql, BASICS, {"id": institution_id, "input": basics(name="=HYPERLINK(\"x\")<b>'; DROP TABLE x;--")}, token=county)
    assert stored["data"]["saveInstitutionBasics"]["institution"]["name"] == "=HYPERLINK(\"x\")<b>'; DROP TABLE x;--"


async def test_a_change_of_kind_reopens_parts_three_and_four_when_they_no_longer_fit(gql, demo):
    county = await gql.login("edu-440106")
    institution_id = await register(gql, county)  # SUBJECT, categories SUBJECT and ARTS, subject training
    changed = (await save(gql, BASICS, {"id": institution_id, "input": basics(kind="NON_SUBJECT")}, token=county))["data"]["saveInstitutionBasics"]
    assert changed["errors"] == [] and changed["progress"]["missingParts"] == ["OPERATION", "SUBJECT_TRAINING"]
    fixed = await save(gql, part_mutation("Operation"), {"id": institution_id, "input": {**PARTS["Operation"], "trainingCategories": ["ARTS"]}}, token=county)
    assert fixed["data"]["saveInstitutionOperation"]["progress"]["missingParts"] == ["SUBJECT_TRAINING"]
    # part 4 saved again as no subject training: its saved content goes with it
    none = await save(gql, part_mutation("SubjectTraining"), {"id": institution_id, "input": {"noSubjectTraining": True}}, token=county)
    assert none["data"]["saveInstitutionSubjectTraining"]["progress"]["complete"] is True
    # a change that the parts still fit keeps them
    kept = (await save(gql, BASICS, {"id": institution_id, "input": basics(kind="NON_SUBJECT", mode="ONLINE")}, token=county))["data"]["saveInstitutionBasics"]
    assert kept["progress"]["complete"] is True
    # and back to 学科类: both reopen
    back = (await save(gql, BASICS, {"id": institution_id, "input": basics()}, token=county))["data"]["saveInstitutionBasics"]
    assert back["progress"]["missingParts"] == ["OPERATION", "SUBJECT_TRAINING"]


async def test_every_part_reports_all_its_problems_at_once(gql, demo):
    county = await gql.login("edu-440106")
    institution_id = await register(gql, county, parts=())
    cases = {
        "Qualifications": (
            {**PARTS["Qualifications"], "licenceNumber": "号" * 51, "licenceIssuer": None, "licenceValidTo": "2021-12-31", "businessLicenceIssuer": "\x07"},
            [("licenceNumber", "TOO_LONG"), ("licenceIssuer", "REQUIRED"), ("licenceValidTo", "INVALID"), ("businessLicenceIssuer", "INVALID")],
        ),
        "Operation": (
            {"trainingCategories": ["SPORTS"], "studentCount": -1, "staffCount": 1, "teacherCount": 2, "otherCategory": "研学"},
            [("trainingCategories", "INVALID"), ("otherCategory", "NOT_APPLICABLE"), ("studentCount", "INVALID"), ("teacherCount", "INVALID")],
        ),
        "SubjectTraining": (
            {"noSubjectTraining": False, "subjects": ["MATHEMATICS"], "classSessions": [{"weekday": 9, "start": "19:00", "end": "20:00"}], "feeMonths": 3, "feePerHour": "-1"},
            [("grades", "REQUIRED"), ("classSessions.0.weekday", "INVALID"), ("feePerHour", "INVALID")],
        ),
        "Facilities": (
            {"floorArea": "100", "teachingArea": "200", "premises": "OWNED", "leaseEnd": "2028-06-30"},
            [("teachingArea", "INVALID"), ("leaseEnd", "NOT_APPLICABLE"), ("fireSafetyApproved", "REQUIRED")],
        ),
    }
    for part, (given, expected) in cases.items():
        assert errors_of(await save(gql, part_mutation(part), {"id": institution_id, "input": given}, token=county)) == expected, part


async def test_a_save_based_on_an_old_version_is_refused(gql, demo):
    county = await gql.login("edu-440106")
    sub = await gql.login("edu-440106-01")
    institution_id = await register(gql, sub, parts=())
    # both desks read version 1 and edit
    first = await gql(part_mutation("Operation"), {"id": institution_id, "version": 1, "input": PARTS["Operation"]}, token=county)
    assert first["data"]["saveInstitutionOperation"]["institution"]["version"] == 2
    second = await gql(part_mutation("Operation"), {"id": institution_id, "version": 1, "input": {**PARTS["Operation"], "studentCount": 1}}, token=sub)
    assert errors_of(second) == [("version", "CONFLICT")]
    missing = await gql(BASICS, {"id": institution_id, "input": basics()}, token=county)
    assert errors_of(missing) == [("version", "REQUIRED")]


async def test_concurrent_saves_lose_no_update(gql, demo, sessionmaker):

    county = await gql.login("edu-440106")
    institution_id = await register(gql, county, parts=())
    # ten saves based on the same version at once: one wins, nine are told of the conflict
    results = await asyncio.gather(*(
        gql(part_mutation("Operation"), {"id": institution_id, "version": 1, "input": {**PARTS["Operation"], "studentCount": n}}, token=county)
        for n in range(10)
    ))
    winners = [r["data"]["saveInstitutionOperation"] for r in results if not r["data"]["saveInstitutionOperation"]["errors"]]
    assert len(winners) == 1
    assert sorted(c for r in results for c in [e["code"] for e in r["data"]["saveInstitutionOperation"]["errors"]]) == ["CONFLICT"] * 9
    async with sessionmaker() as db:
        row = (await db.execute(sa.select(Institution))).scalar_one()
    assert row.version == 2 and row.operation_saved


LIST_PAGE = """query($n: Int) { institutions(first: $n) { totalCount edges { node {
  name registrationProgress { complete missingParts } registeringUnit { name } siteCount activeStaffCount inspectionStatus overdue
} } } }"""


async def test_the_county_list_page_costs_the_same_statements_for_10_and_50_rows(gql, demo, sessionmaker, sql):
    """The benchmark's list page (bench/national.py): registration progress, registering unit,
    number of sites, number of active staff and the latest inspection status."""

    await insert_institutions(sessionmaker, {"edu-440106": 40, "edu-440106-01": 15})
    token = await gql.login("edu-440106")
    counts = {}
    await gql(LIST_PAGE, {"n": 1}, token=token)  # the subtree's codes, read once a minute per region (auth.scope)
    for size in (10, 50):
        sql.reset()
        page = (await gql(LIST_PAGE, {"n": size}, token=token))["data"]["institutions"]
        assert len(page["edges"]) == size and page["totalCount"] == 55
        counts[size] = sql.count
    assert counts[10] == counts[50]


async def test_saving_a_part_again_changes_only_the_fields_sent(gql, demo):
    # given an institution with every part saved
    county = await gql.login("edu-440106")
    institution_id = await register(gql, county, 1)
    read = "query($id: ID!) { institution(id: $id) { version qualifications { licenceNumber licenceIssuer licenceValidTo } } }"
    # when part 2 is saved with one field
    issuer = await save(gql, part_mutation("Qualifications"), {"id": institution_id, "input": {"licenceIssuer": "广州市天河区教育局（新）"}}, token=county)
    assert issuer["data"]["saveInstitutionQualifications"]["errors"] == []
    # then that field changed and the others kept their values
    after = (await gql(read, {"id": institution_id}, token=county))["data"]["institution"]
    assert after["qualifications"] == {"licenceNumber": PARTS["Qualifications"]["licenceNumber"], "licenceIssuer": "广州市天河区教育局（新）", "licenceValidTo": "2027-12-31"}
    # a part checked whole after the merge: a licence that FULL needs cannot be cleared, and a
    # new name alone keeps part 1 valid
    cleared = await save(gql, part_mutation("Qualifications"), {"id": institution_id, "input": {"licenceNumber": None}}, token=county)
    assert [(e["field"], e["code"]) for e in cleared["data"]["saveInstitutionQualifications"]["errors"]] == [("licenceNumber", "REQUIRED")]
    renamed = await save(gql, BASICS, {"id": institution_id, "input": {"name": "天河新名培训学校"}}, token=county)
    assert renamed["data"]["saveInstitutionBasics"]["errors"] == []
