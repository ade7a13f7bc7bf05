"""Statistics (分类数据统计): every counter on a small handcrafted world, sums and drill-down
at each level, the classifications, the scope matrix, the monthly series, the spreadsheet,
and the number of SQL statements.

The world (the clock's day is 2026-11-23):

- 440106 天河 (广州, 广东), by the county bureau: A1 subject, complete, compliant, rectifying
  and overdue; A2 non-subject (sports + arts), for-profit, inspected without problems; A3
  subject online, complete, rectified, deregistered. By sub-unit 01: B1 non-subject (sports),
  complete, rectifying (deadline not passed); B2 subject, not inspected. Sub-unit 02: none.
  Self-registered: S1 non-subject (science and technology), online.
- 440104 越秀 (广州): C1 subject, complete, compliant, no problems; C2 non-subject (arts).
- 440304 福田 (深圳): D1 subject, rectifying and overdue.
- 420102 (武汉, 湖北): E1 subject; E2 non-subject (other); E3 non-subject, no category saved.
"""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from auth.scope import scope
from auth.sessions import viewer_for_token
from models import Account, Institution, Staff
from tests.helpers import SERIES, STATISTICS, build_world, error_codes, insert_institutions, institution_account


def flat(row: dict) -> dict:
    """A row's counters as one flat dict (``institutions.registered`` …)."""
    out: dict = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        else:
            out[prefix] = value

    for section in ("institutions", "inspections", "applications", "classes", "staff", "lists", "complaints"):
        walk(section, row[section])
    return out


def zeros(complaints: bool = True) -> dict:
    counters = {
        "institutions.registered": 0, "institutions.complete": 0, "institutions.compliant": 0, "institutions.deregistered": 0,
        "inspections.inspected": 0, "inspections.withProblems": 0, "inspections.rectifying": 0, "inspections.rectified": 0,
        "inspections.overdue": 0, "inspections.recorded": 0,
        "applications.pending": 0, "applications.approved": 0, "applications.rejected": 0,
        **{f"applications.{t}.{s}": 0 for t in ("compliance", "deregistration", "licence", "classFiling") for s in ("pending", "approved", "rejected")},
        "classes.filed": 0, "classes.pending": 0, "classes.unfiled": 0,
        "staff.active": 0, "staff.teachers": 0, "staff.certifiedTeachers": 0,
        "lists.white": 0, "lists.black": 0,
    }
    if complaints:
        counters |= {
            "complaints.total": 0, "complaints.submitted": 0, "complaints.accepted": 0, "complaints.replied": 0, "complaints.rejected": 0,
            "complaints.illegalOperation": 0, "complaints.illegalEnrolment": 0, "complaints.other": 0, "complaints.medianHandlingHours": None,
        }
    else:
        counters["complaints"] = None
    return counters


def without_complaints(counters: dict) -> dict:
    return {k: v for k, v in counters.items() if not k.startswith("complaints")} | {"complaints": None}


def expected(complaints: bool = True, **values) -> dict:
    return zeros(complaints) | {k.replace("__", "."): v for k, v in values.items()}


async def statistics(gql, token: str, region: str | None = None, group: str | None = None, f: dict | None = None) -> dict:
    result = await gql(STATISTICS, {"r": region, "g": group, "f": f}, token=token)
    assert "errors" not in result, result
    return result["data"]["statistics"]


def assert_sums(view: dict, *, categories: bool = False) -> None:
    """Every counter of the total is the sum of the rows' (the median aside)."""
    rows = [flat(r) for r in view["rows"]]
    total = flat(view["total"])
    for name, value in total.items():
        if name.endswith("medianHandlingHours"):
            continue
        if value is None:  # not counted: null in every row too
            assert all(r[name] is None for r in rows), name
            continue
        summed = sum(r[name] for r in rows)
        if categories:
            assert summed >= value, name
        else:
            assert summed == value, (view["region"]["code"], name, summed, value)


@pytest.fixture
async def world(demo, sessionmaker):
    return await build_world(sessionmaker)


BUREAU_440106 = expected(
    institutions__registered=3, institutions__complete=2, institutions__compliant=1, institutions__deregistered=1,
    inspections__inspected=3, inspections__withProblems=2, inspections__rectifying=1, inspections__rectified=1,
    inspections__overdue=1, inspections__recorded=4,
    applications__pending=1, applications__approved=2, applications__compliance__approved=1,
    applications__deregistration__approved=1, applications__licence__pending=1,
    classes__filed=2, classes__pending=1,
    staff__active=4, staff__teachers=3, staff__certifiedTeachers=2,
    lists__white=1,
    complaints__total=4, complaints__submitted=1, complaints__accepted=1, complaints__replied=1, complaints__rejected=1,
    complaints__illegalOperation=2, complaints__illegalEnrolment=1, complaints__other=1, complaints__medianHandlingHours=20.0,
)
SUB_UNIT_01 = expected(
    institutions__registered=2, institutions__complete=1,
    inspections__inspected=1, inspections__withProblems=1, inspections__rectifying=1, inspections__recorded=1,
    applications__rejected=1, applications__compliance__rejected=1,
    classes__unfiled=2,
    staff__active=1, staff__teachers=1, staff__certifiedTeachers=1,
    lists__black=1,
)
SELF_440106 = expected(institutions__registered=1, staff__active=1)
TOTAL_440106 = expected(
    institutions__registered=6, institutions__complete=3, institutions__compliant=1, institutions__deregistered=1,
    inspections__inspected=4, inspections__withProblems=3, inspections__rectifying=2, inspections__rectified=1,
    inspections__overdue=1, inspections__recorded=5,
    applications__pending=1, applications__approved=2, applications__rejected=1, applications__compliance__approved=1,
    applications__compliance__rejected=1, applications__deregistration__approved=1, applications__licence__pending=1,
    classes__filed=2, classes__pending=1, classes__unfiled=2,
    staff__active=6, staff__teachers=4, staff__certifiedTeachers=3,
    lists__white=1, lists__black=1,
    complaints__total=4, complaints__submitted=1, complaints__accepted=1, complaints__replied=1, complaints__rejected=1,
    complaints__illegalOperation=2, complaints__illegalEnrolment=1, complaints__other=1, complaints__medianHandlingHours=20.0,
)
NATIONAL = expected(
    institutions__registered=12, institutions__complete=4, institutions__compliant=2, institutions__deregistered=1,
    inspections__inspected=6, inspections__withProblems=4, inspections__rectifying=3, inspections__rectified=1,
    inspections__overdue=2, inspections__recorded=7,
    applications__pending=2, applications__approved=3, applications__rejected=2,
    applications__compliance__approved=2, applications__compliance__rejected=1, applications__deregistration__approved=1,
    applications__licence__pending=1, applications__licence__rejected=1, applications__classFiling__pending=1,
    classes__filed=3, classes__pending=2, classes__unfiled=2,
    staff__active=7, staff__teachers=5, staff__certifiedTeachers=3,
    lists__white=2, lists__black=2,
    complaints__total=6, complaints__submitted=2, complaints__accepted=1, complaints__replied=2, complaints__rejected=1,
    complaints__illegalOperation=3, complaints__illegalEnrolment=1, complaints__other=2, complaints__medianHandlingHours=10.0,
)


async def test_a_county_counts_each_counter_by_registering_unit(gql, world, sessionmaker):
    # given: the county bureau of 天河
    token = await gql.login("edu-440106")
    # when: its own region, the default
    view = await statistics(gql, token)
    # then: the bureau itself, its two sub-units, the self-registered institutions, and the total
    async with sessionmaker() as db:
        units = dict((await db.execute(sa.select(Account.username, Account.id))).all())
    assert view["region"] == {"code": "440106", "name": "天河区"}
    assert view["groupBy"] == "REGION"
    assert view["takenAt"] == "2026-11-23T09:00:00+00:00"
    assert [(r["key"], r["label"], r["region"]) for r in view["rows"]] == [
        ("440106", "天河区教育局", {"code": "440106"}),
        (str(units["edu-440106-01"]), "天河区教育局下属单位一", None),
        (str(units["edu-440106-02"]), "天河区教育局下属单位二", None),
        ("SELF", "机构自主注册", None),
    ]
    assert [flat(r) for r in view["rows"]] == [BUREAU_440106, SUB_UNIT_01, zeros(), SELF_440106]
    assert (view["total"]["key"], view["total"]["label"], view["total"]["region"]) == ("TOTAL", "合计", {"code": "440106"})
    assert flat(view["total"]) == TOTAL_440106
    assert_sums(view)


async def test_drill_down_from_the_ministry_to_a_county_adds_up(gql, world):
    # given: the ministry
    token = await gql.login("edu-000000")
    # when: it drills down 全国 → 广东 → 广州 → 天河
    national = await statistics(gql, token)
    province = await statistics(gql, token, "440000")
    prefecture = await statistics(gql, token, "440100")
    county = await statistics(gql, token, "440106")
    # then: every level's total is the sum of its rows, and each row is the total one level down
    for view in (national, province, prefecture, county):
        assert_sums(view)
    assert flat(national["total"]) == NATIONAL
    assert len(national["rows"]) == 34 and national["rows"][0]["key"] == "110000"
    row = {r["key"]: flat(r) for r in national["rows"]}
    assert row["440000"] == flat(province["total"])
    assert row["420000"]["institutions.registered"] == 3
    assert row["110000"] == zeros()
    row = {r["key"]: flat(r) for r in province["rows"]}
    assert len(province["rows"]) == 21
    assert row["440100"] == flat(prefecture["total"])
    assert row["440300"] == expected(
        institutions__registered=1, inspections__inspected=1, inspections__withProblems=1, inspections__rectifying=1,
        inspections__overdue=1, inspections__recorded=1, applications__pending=1, applications__classFiling__pending=1,
        classes__pending=1, lists__black=1,
    )
    assert flat(province["total"])["complaints.medianHandlingHours"] == 10.0
    row = {r["key"]: flat(r) for r in prefecture["rows"]}
    assert row["440106"] == flat(county["total"]) == TOTAL_440106
    assert row["440104"] == expected(
        institutions__registered=2, institutions__complete=1, institutions__compliant=1, inspections__inspected=1,
        inspections__recorded=1, applications__approved=1, applications__compliance__approved=1, classes__filed=1, lists__white=1,
        complaints__total=1, complaints__replied=1, complaints__illegalOperation=1, complaints__medianHandlingHours=4.0,
    )
    assert flat(prefecture["total"])["complaints.medianHandlingHours"] == 10.0
    # a prefecture without counties (东莞) is a lowest region: its registering units, no bureau account here
    dongguan = await statistics(gql, token, "441900")
    assert [(r["key"], r["label"]) for r in dongguan["rows"]] == [("441900", "东莞市（本级）"), ("SELF", "机构自主注册")]


async def test_grouping_by_kind_mode_nature_category_and_department(gql, world):
    token = await gql.login("edu-000000")

    def registered(view: dict) -> list[tuple[str, str, int]]:
        return [(r["key"], r["label"], r["institutions"]["registered"]) for r in view["rows"]]

    kind = await statistics(gql, token, group="KIND")
    assert registered(kind) == [("SUBJECT", "学科类", 6), ("NON_SUBJECT", "非学科类", 6)]
    assert_sums(kind)
    assert kind["total"]["complaints"] is None and all(r["complaints"] is None for r in kind["rows"])
    assert flat(kind["total"]) == without_complaints(NATIONAL)
    mode = await statistics(gql, token, group="MODE")
    assert registered(mode) == [("ONLINE", "线上", 2), ("OFFLINE", "线下", 10)]
    assert_sums(mode)
    nature = await statistics(gql, token, group="NATURE")
    assert registered(nature) == [("FOR_PROFIT", "营利性", 1), ("NON_PROFIT", "非营利性", 11)]
    assert_sums(nature)
    # an institution with several categories (A2: sports and arts) counts in each
    category = await statistics(gql, token, "440000", "TRAINING_CATEGORY")
    assert registered(category) == [
        ("SUBJECT", "学科类", 5), ("SPORTS", "体育类", 2), ("ARTS", "文化艺术类", 2), ("SCIENCE_TECHNOLOGY", "科技类", 1),
        ("OTHER", "其他类", 0), ("NONE", "未填写培训类别", 0),
    ]
    assert category["total"]["institutions"]["registered"] == 9
    assert_sums(category, categories=True)
    assert [r["staff"]["active"] for r in category["rows"]] == [4, 1, 0, 1, 0, 0]
    assert category["total"]["staff"]["active"] == 6
    national_category = await statistics(gql, token, group="TRAINING_CATEGORY")
    assert [r["institutions"]["registered"] for r in national_category["rows"]] == [6, 2, 2, 1, 1, 1]
    # departments: the first non-subject category under one (sports before arts), else education
    department = await statistics(gql, token, group="DEPARTMENT")
    assert registered(department) == [("EDUCATION", "教育", 8), ("SPORTS", "体育", 2), ("CULTURE_TOURISM", "文化旅游", 1), ("SCIENCE_TECHNOLOGY", "科技", 1)]
    assert_sums(department)
    # a classification inside a county
    county = await statistics(gql, token, "440106", "KIND")
    assert registered(county) == [("SUBJECT", "学科类", 3), ("NON_SUBJECT", "非学科类", 3)]


async def test_filters_select_institutions_and_the_days_of_events(gql, world):
    token = await gql.login("edu-440000")
    subject = await statistics(gql, token, f={"kind": "SUBJECT"})
    assert_sums(subject)
    total = flat(subject["total"])
    assert (total["institutions.registered"], total["staff.active"], total["classes.filed"], total["complaints"]) == (5, 4, 3, None)
    complete = await statistics(gql, token, f={"complete": True, "mode": "OFFLINE", "nature": "NON_PROFIT"})
    assert complete["total"]["institutions"] == {"registered": 3, "complete": 3, "compliant": 2, "deregistered": 0}
    # days: inspections recorded, applications and complaints submitted in October and November
    autumn = await statistics(gql, token, f={"from": "2026-10-01", "to": "2026-11-30"})
    assert_sums(autumn)
    total = flat(autumn["total"])
    assert total["inspections.recorded"] == 3  # A1 10-10, B1 11-01, D1 10-15
    assert (total["applications.pending"], total["applications.approved"], total["applications.rejected"]) == (2, 0, 0)
    assert (total["complaints.total"], total["complaints.medianHandlingHours"]) == (4, 20.0)
    # states are as of now
    assert total["institutions.registered"] == 9 and total["inspections.inspected"] == 6
    # the last day counts whole, in Beijing time
    one_day = await statistics(gql, token, f={"from": "2026-11-20", "to": "2026-11-20"})
    assert one_day["total"]["complaints"]["total"] == 1
    # a range that ends before it starts
    result = await gql(STATISTICS, {"f": {"from": "2026-11-02", "to": "2026-11-01"}}, token=token)
    assert error_codes(result) == ["BAD_USER_INPUT"]


async def test_scope_matrix(gql, world, sessionmaker, clock):
    # (viewer, its default view's total: registered, staff, complaints)
    matrix = {
        "edu-000000": (12, 7, 6),
        "edu-440000": (9, 6, 5),
        "edu-440100": (8, 6, 5),
        "edu-440106": (6, 6, 4),
        "edu-440106-01": (2, 1, None),
        "sports-440106": (2, 1, None),
    }
    for username, (registered, staff, complaints) in matrix.items():
        token = await gql.login(username)
        view = await statistics(gql, token)
        assert_sums(view)
        total = view["total"]
        got = (total["institutions"]["registered"], total["staff"]["active"], total["complaints"] and total["complaints"]["total"])
        assert got == (registered, staff, complaints), username
        # the same numbers as the scope function's
        async with sessionmaker() as db:
            viewer = await viewer_for_token(db, token, clock.now, timedelta(hours=2))
            in_scope = (await db.execute(sa.select(sa.func.count()).select_from(Institution).where(scope(viewer, Institution)))).scalar()
            active = (await db.execute(sa.select(sa.func.count()).select_from(Staff).where(scope(viewer, Staff), Staff.status == "ACTIVE"))).scalar()
        assert (registered, staff) == (in_scope, active), username
    # the sports account: the non-subject sports institutions of its county (A2, B1)
    sports = await statistics(gql, await gql.login("sports-440106"))
    # the registering units it may not see (the education bureau and its sub-units) are not
    # named: the county's row by its region, the sub-units as one row
    assert [(r["key"], r["label"], r["institutions"]["registered"]) for r in sports["rows"]] == [
        ("440106", "天河区（本级）", 1), ("OTHER_UNITS", "其他登记单位", 1), ("SELF", "机构自主注册", 0),
    ]
    assert flat(sports["total"]) == expected(
        complaints=False, institutions__registered=2, institutions__complete=1, inspections__inspected=2,
        inspections__withProblems=1, inspections__rectifying=1, inspections__recorded=2, applications__pending=1,
        applications__rejected=1, applications__licence__pending=1, applications__compliance__rejected=1,
        staff__active=1, staff__teachers=1, staff__certifiedTeachers=1,
    )
    sports_department = await statistics(gql, await gql.login("sports-440106"), group="DEPARTMENT")
    assert [r["institutions"]["registered"] for r in sports_department["rows"]] == [0, 2, 0, 0]
    # a sub-unit: itself alone, what it registered
    sub_unit = await statistics(gql, await gql.login("edu-440106-01"))
    assert [r["label"] for r in sub_unit["rows"]] == ["天河区教育局下属单位一"]
    assert [flat(r) for r in sub_unit["rows"]] == [without_complaints(SUB_UNIT_01)]
    assert flat(sub_unit["total"]) == without_complaints(SUB_UNIT_01)
    # an institution account, and nobody
    await institution_account(sessionmaker, (await _name(sessionmaker, world["A1"])), "org-a1")
    institution = await gql.login("org-a1")
    assert error_codes(await gql(STATISTICS, token=institution)) == ["FORBIDDEN"]
    assert error_codes(await gql(SERIES, {"from": "2026-01-01", "to": "2026-02-01"}, token=institution)) == ["FORBIDDEN"]
    assert error_codes(await gql("{ statistics { total { institutions { registered } } } }")) == ["UNAUTHENTICATED"]


async def _name(sessionmaker, institution_id: uuid.UUID) -> str:
    async with sessionmaker() as db:
        return (await db.execute(sa.select(Institution.name).where(Institution.id == institution_id))).scalar_one()


async def test_a_region_out_of_scope_reads_like_an_unknown_one(gql, world):
    cases = {
        "edu-440000": ["420000", "420102", "000000"],
        "edu-440100": ["440000", "440300", "440304"],
        "edu-440106": ["440104", "440100"],
        "edu-440106-01": ["440104"],
    }
    unknown = await gql(STATISTICS, {"r": "999999"}, token=await gql.login("edu-440000"))
    assert error_codes(unknown) == ["BAD_USER_INPUT"]
    assert unknown["errors"][0]["extensions"]["field"] == "regionCode"
    for username, codes in cases.items():
        token = await gql.login(username)
        for code in codes:
            result = await gql(STATISTICS, {"r": code}, token=token)
            assert result["data"] is None, (username, code)
            assert [(e["message"], e["extensions"]) for e in result["errors"]] == [(e["message"], e["extensions"]) for e in unknown["errors"]]
            series = await gql(SERIES, {"r": code, "from": "2026-01-01", "to": "2026-01-31"}, token=token)
            assert error_codes(series) == ["BAD_USER_INPUT"]
    # in scope, below the caller
    assert (await statistics(gql, await gql.login("edu-440100"), "440104"))["total"]["institutions"]["registered"] == 2


async def test_the_monthly_series_has_every_month(gql, world, sessionmaker):
    token = await gql.login("edu-000000")
    result = await gql(SERIES, {"from": "2025-11-15", "to": "2026-11-23"}, token=token)
    assert "errors" not in result, result
    series = result["data"]["statisticsSeries"]
    assert (series["region"], series["from"], series["to"]) == ({"code": "000000"}, "2025-11-15", "2026-11-23")
    months = {m["month"]: (m["registrations"], m["inspections"], m["complaints"], m["approvals"]) for m in series["months"]}
    assert list(months) == [f"{y}-{m:02d}-01" for y, m in [(2025, 11), (2025, 12)] + [(2026, m) for m in range(1, 12)]]
    assert months == {
        "2025-11-01": (0, 0, 0, 0),
        "2025-12-01": (0, 1, 0, 0),  # C1 inspected; E1's rejection is no approval
        "2026-01-01": (0, 0, 0, 0),
        "2026-02-01": (0, 0, 1, 1),  # C1 approved on 31 January 20:00 UTC: 1 February in Beijing
        "2026-03-01": (12, 1, 0, 0),
        "2026-04-01": (0, 0, 0, 0),
        "2026-05-01": (0, 0, 0, 1),
        "2026-06-01": (0, 1, 0, 1),
        "2026-07-01": (0, 0, 0, 0),
        "2026-08-01": (0, 0, 0, 0),
        "2026-09-01": (0, 1, 1, 0),
        "2026-10-01": (0, 2, 1, 0),
        "2026-11-01": (0, 1, 3, 0),
    }
    # the range's days bound the first and last months
    part = (await gql(SERIES, {"from": "2026-10-12", "to": "2026-11-15"}, token=token))["data"]["statisticsSeries"]["months"]
    assert [(m["month"], m["inspections"], m["complaints"]) for m in part] == [("2026-10-01", 1, 0), ("2026-11-01", 1, 2)]
    # a county, and the sports account (no complaints in its scope: null)
    county = (await gql(SERIES, {"from": "2026-03-01", "to": "2026-03-31"}, token=await gql.login("edu-440106")))["data"]["statisticsSeries"]
    assert county["months"] == [{"month": "2026-03-01", "registrations": 6, "inspections": 1, "complaints": 0, "approvals": 0}]
    sports = (await gql(SERIES, {"from": "2026-03-01", "to": "2026-04-30"}, token=await gql.login("sports-440106")))["data"]["statisticsSeries"]
    assert [(m["registrations"], m["complaints"]) for m in sports["months"]] == [(2, None), (0, None)]
    # at most 36 months, and not backwards
    assert error_codes(await gql(SERIES, {"from": "2023-12-01", "to": "2026-11-30"}, token=token)) == []
    assert error_codes(await gql(SERIES, {"from": "2023-11-30", "to": "2026-11-01"}, token=token)) == ["BAD_USER_INPUT"]
    assert error_codes(await gql(SERIES, {"from": "2026-11-02", "to": "2026-11-01"}, token=token)) == ["BAD_USER_INPUT"]


async def test_the_spreadsheet_shows_the_same_view(gql, http, world, clock):
    token = await gql.login("edu-440000")
    headers = {"Authorization": f"Bearer {token}"}
    response = await http.get("/exports/statistics.xlsx?regionCode=440100&kind=SUBJECT&from=2026-10-01&to=2026-11-30", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "statistics-440100-20261123-090000.xlsx" in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == "校外培训机构分类数据统计"
    assert rows[1][:2] == ["统计区划", "广州市（440100）"]
    assert rows[2][:2] == ["分组", "按下级区划"]
    assert rows[3][:2] == ["筛选条件", "机构类型：学科类；日期：2026-10-01 至 2026-11-30（排查、申请、投诉）"]
    assert rows[4][:2] == ["统计时间", "2026-11-23 17:00:00（北京时间）"]
    header = rows[6]
    assert header[:4] == ["代码", "名称", "登记机构数", "登记完成（五部分均已保存）"]
    assert "投诉举报" not in header  # not counted under an institution filter
    data = {r[0]: dict(zip(header, r, strict=True)) for r in rows[7:]}
    assert list(data) == ["440103", "440104", "440105", "440106", "440111", "440112", "440113", "440114", "440115", "440117", "440118", "合计"]
    assert data["440106"]["名称"] == "天河区"
    assert (data["440106"]["登记机构数"], data["440104"]["登记机构数"], data["合计"]["登记机构数"]) == (3, 1, 4)
    assert data["合计"]["排查记录数"] == 1 and data["合计"]["已备案学科类班级"] == 3
    # the GraphQL view agrees
    view = await statistics(gql, token, "440100", f={"kind": "SUBJECT", "from": "2026-10-01", "to": "2026-11-30"})
    assert data["合计"]["在职从业人员"] == view["total"]["staff"]["active"]
    # complaints are columns of a plain region view, with the median
    plain = load_workbook(io.BytesIO((await http.get("/exports/statistics.xlsx?regionCode=440106", headers=headers)).content), read_only=True).active
    rows = [list(r) for r in plain.iter_rows(values_only=True)]
    assert rows[3][:2] == ["筛选条件", "无"]
    header, total = rows[6], rows[-1]
    assert total[0] == "合计" and dict(zip(header, total, strict=True))["投诉办理时长中位数（小时）"] == 20.0
    assert [r[1] for r in rows[7:]] == ["天河区教育局", "天河区教育局下属单位一", "天河区教育局下属单位二", "机构自主注册", "合计"]
    # by kind
    by_kind = load_workbook(io.BytesIO((await http.get("/exports/statistics.xlsx?groupBy=KIND", headers=headers)).content), read_only=True).active
    rows = [list(r) for r in by_kind.iter_rows(values_only=True)]
    assert rows[2][:2] == ["分组", "按机构类型"]
    assert [(r[0], r[1], r[2]) for r in rows[7:]] == [("SUBJECT", "学科类", 5), ("NON_SUBJECT", "非学科类", 4), ("合计", "合计", 9)]
    # the series
    series = await http.get("/exports/statistics.xlsx?series=1&from=2026-09-01&to=2026-11-30", headers=headers)
    assert series.status_code == 200, series.text
    rows = [list(r) for r in load_workbook(io.BytesIO(series.content), read_only=True).active.iter_rows(values_only=True)]
    assert rows[0][0] == "校外培训机构按月统计"
    assert rows[1][:2] == ["统计区划", "广东省（440000）"]
    assert rows[2][:2] == ["时间范围", "2026-09-01 至 2026-11-30"]
    assert rows[6] == ["月份", "新增登记", "排查记录", "投诉举报", "审批通过"]
    assert rows[7:] == [["2026-09", 0, 1, 1, 0], ["2026-10", 0, 2, 1, 0], ["2026-11", 0, 1, 3, 0]]
    # refusals, as the institutions' export answers them
    assert (await http.get("/exports/statistics.xlsx")).status_code == 401
    bad = await http.get("/exports/statistics.xlsx?regionCode=420000", headers=headers)
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "BAD_USER_INPUT")
    for query in ("groupBy=CITY", "kind=BIG", "complete=maybe", "from=2026-13-01", "series=1&from=2026-01-01", "series=1&from=2020-01-01&to=2026-01-01"):
        assert (await http.get(f"/exports/statistics.xlsx?{query}", headers=headers)).status_code == 400, query
    sports = await gql.login("sports-440106")
    assert (await http.get("/exports/statistics.xlsx", headers={"Authorization": f"Bearer {sports}"})).status_code == 200


async def test_an_institution_account_cannot_download(gql, http, world, sessionmaker):
    await institution_account(sessionmaker, await _name(sessionmaker, world["C1"]), "org-c1")
    token = await gql.login("org-c1")
    response = await http.get("/exports/statistics.xlsx", headers={"Authorization": f"Bearer {token}"})
    assert (response.status_code, response.json()["error"]["code"]) == (403, "FORBIDDEN")


async def test_statements_do_not_grow_with_the_rows(gql, demo, sessionmaker, sql):
    token = await gql.login("edu-000000")
    county = await gql.login("edu-440106")

    async def statements(query: str, variables: dict, as_token: str) -> int:
        sql.reset()
        result = await gql(query, variables, token=as_token)
        assert "errors" not in result, result
        return sql.count

    # (a session's first request reads its region's subtree, kept a minute per worker: auth.scope)
    assert [await statements(STATISTICS, {}, t) for t in (token, county)] == [5, 5]
    counts = []
    for per_county in (2, 40):
        await insert_institutions(sessionmaker, {"edu-440106": per_county, "edu-440106-01": per_county, "edu-440304": per_county})
        counts.append(
            (
                await statements(STATISTICS, {}, token),
                await statements(STATISTICS, {"r": "440100"}, token),
                await statements(STATISTICS, {"g": "TRAINING_CATEGORY"}, token),
                await statements(STATISTICS, {}, county),
                await statements(SERIES, {"from": "2026-01-01", "to": "2026-12-31"}, token),
            )
        )
    # the session, the region, the groups of a region view (none for a classification), the counts
    assert counts[0] == counts[1] == (4, 4, 3, 4, 3), counts


async def test_the_median_is_counted_only_when_asked_for(gql, world, sql):
    token = await gql.login("edu-000000")
    without = STATISTICS.replace(" medianHandlingHours", "")
    for region, median in ((None, 10.0), ("440100", 10.0), ("440106", 20.0)):
        # when: a view is asked for without the median, then with it
        sql.reset()
        result = await gql(without, {"r": region}, token=token)
        assert "errors" not in result, result
        # then: no statement reads the handling times, and the counts are those of the full view
        assert not any("percentile_cont" in s for s in sql.statements), region
        sql.reset()
        full = await statistics(gql, token, region)
        assert sum("percentile_cont" in s for s in sql.statements) == 1, region
        assert full["total"]["complaints"].pop("medianHandlingHours") == median
        for row in full["rows"]:
            row["complaints"].pop("medianHandlingHours")
        del full["takenAt"], result["data"]["statistics"]["takenAt"]
        assert result["data"]["statistics"] == full
