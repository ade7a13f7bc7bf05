"""Statistics (分类数据统计): seed 000, 部级、省级、地市级以指导监管为主 … 能够对所辖范围内的摸排
整改情况、审批情况、备案情况、举报情况进行分类数据统计.

One view counts, within the caller's scope, the institutions of a region grouped by its child
regions (drill-down: ministry → provinces → prefectures → counties; in a lowest region, its
registering units: the county bureau itself, each sub-unit, and self-registered institutions)
or by kind, mode, nature, training category or supervising department, with a total. The
series counts registrations, inspections, complaints and approvals month by month.

Everything is counted in SQL, in a fixed number of statements whatever the number of rows:
the region (1), the groups of a region view (1), and the counts (1). The counts come mostly
from the maintained tallies (``models.tallies``: per institution, and per county), each
source counted with ``FILTER`` clauses or sums under ``ROLLUP(group)``, which yields every
group's row and the total in one pass, and a ``UNION ALL`` of the sources summed per group:

- A view by child region, without filters on the institutions or dates, for a viewer whose
  scope is its whole subtree (``by_county``), sums the county tallies of the regions below,
  each under its child (the region path gives it: ``split_part(path, '/', depth + 1)``);
  overdue (which depends on the day) is counted from the rectifying institutions' deadlines
  and the median handling time from the handled complaints.
- Every other view maps each institution in scope to its group once (a CTE over the
  institution table) and sums their ``institution_tally``; with a date range the events
  (inspections, applications) are counted from their rows, and complaints always are.
  In the training-category view, where an institution has several groups, each institution
  is placed once more under the total's key instead of ROLLUP.

Because each total comes from the same rows as the groups, every number of the total is the
sum of the rows' numbers (except medians, and in the training-category view, where an
institution with several categories counts in each of them and the total counts it once).

Scope (``auth.scope``): institutions are those of ``scope(viewer, Institution)``; inspections,
applications, classes and staff are counted through them (the scope rule of the records an
institution owns); complaints by ``scope(viewer, Complaint)``. Where that rule gives a viewer
nothing (sub-units and departments other than education), the complaint counters are null,
not zero, so that "none in scope" does not read as "none filed". They are null too in the
views by kind, mode, nature, category and department and under an institution filter, since
a complaint is filed with a county, not necessarily about a registered institution. The
county tallies stand for scoped counts only where ``auth.scope.sees_whole_subtree`` says the
scope of institutions and complaints is exactly the viewer's subtree (which holds the region).

Days are China Standard Time (UTC+8): a timestamp's day and month, and the bounds of a date
range, are Beijing's.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement, False_

from auth.scope import DEPARTMENT_CATEGORIES, scope, sees_whole_subtree, subtree_codes
from auth.viewer import Viewer
from models import (
    Account,
    AccountKind,
    Application,
    ApplicationStatus,
    ApplicationType,
    Complaint,
    ComplaintStatus,
    ComplaintType,
    Department,
    Inspection,
    InspectionStatus,
    Institution,
    Kind,
    Level,
    Mode,
    Nature,
    Region,
    TrainingCategory,
    county_day_tally,
    county_tally,
    institution_tally,
)
from models.complaints import HANDLED
from models import tallies
from models.tallies import APPLICATION_TALLIES, DAY_TALLIES, INSTITUTION_TALLIES
from resolvers.institutions import InstitutionFilter, filter_condition, overdue_condition
from resolvers.registration import CHOICES
from schema.errors import BadUserInput

#: China Standard Time: the day of a timestamp, and the bounds of a date range.
CHINA = timezone(timedelta(hours=8))
CHINA_ZONE = "Asia/Shanghai"
MAX_MONTHS = 36
TOTAL_KEY = "TOTAL"
SELF_KEY = "SELF"
OTHER_UNITS_KEY = "OTHER_UNITS"
#: Institutions with no training category saved yet (part 3 unsaved), in the category view.
NO_CATEGORY = "NONE"
#: The complaint table, with its computed handling time (``models.complaints.handling_hours``).
complaint_table = Complaint.__table__
NOT_FOUND = "区划不存在或不在本账号的管辖范围内 (region not found or out of scope)"


class Grouping(StrEnum):
    REGION = "REGION"  # 按下级区划 (in a lowest region: by registering unit)
    KIND = "KIND"  # 按机构类型
    MODE = "MODE"  # 按办学形式
    NATURE = "NATURE"  # 按机构性质
    TRAINING_CATEGORY = "TRAINING_CATEGORY"  # 按培训类别
    DEPARTMENT = "DEPARTMENT"  # 按主管部门


GROUPING_LABELS = {
    Grouping.REGION: "按下级区划",
    Grouping.KIND: "按机构类型",
    Grouping.MODE: "按办学形式",
    Grouping.NATURE: "按机构性质",
    Grouping.TRAINING_CATEGORY: "按培训类别（多类别机构计入每一类）",
    Grouping.DEPARTMENT: "按主管部门",
}
DEPARTMENT_LABELS = {
    Department.EDUCATION: "教育",
    Department.SPORTS: "体育",
    Department.CULTURE_TOURISM: "文化旅游",
    Department.SCIENCE_TECHNOLOGY: "科技",
}

#: Every counter of a row, with its Chinese label (the spreadsheet's columns), in order.
COUNTERS: tuple[tuple[str, str], ...] = (
    ("registered", "登记机构数"),
    ("complete", "登记完成（五部分均已保存）"),
    ("compliant", "合规（合规申请通过）"),
    ("deregistered", "已注销"),
    ("inspected", "已排查机构"),
    ("with_problems", "排查发现问题机构"),
    ("rectifying", "整改中"),
    ("rectified", "已整改（台账销号）"),
    ("overdue", "逾期未整改"),
    ("inspections", "排查记录数"),
    ("applications_pending", "申请·待审核"),
    ("applications_approved", "申请·通过"),
    ("applications_rejected", "申请·不通过"),
    *(
        (f"{t.value.lower()}_{s.value.lower()}", f"{label}·{status}")
        for t, label in (
            (ApplicationType.COMPLIANCE, "合规申请"),
            (ApplicationType.DEREGISTRATION, "注销申请"),
            (ApplicationType.LICENCE, "办学许可申请"),
            (ApplicationType.CLASS_FILING, "班级备案申请"),
        )
        for s, status in ((ApplicationStatus.PENDING, "待审核"), (ApplicationStatus.APPROVED, "通过"), (ApplicationStatus.REJECTED, "不通过"))
    ),
    ("classes_filed", "已备案学科类班级"),
    ("classes_pending", "备案审核中班级"),
    ("classes_unfiled", "未备案学科类班级"),
    ("staff_active", "在职从业人员"),
    ("teachers", "在职教师"),
    ("certified_teachers", "持教师资格证的在职教师"),
    ("white_listed", "在白名单机构"),
    ("black_listed", "在黑名单机构"),
    ("complaints", "投诉举报"),
    ("complaints_submitted", "投诉·待受理"),
    ("complaints_accepted", "投诉·处理中"),
    ("complaints_replied", "投诉·已办结"),
    ("complaints_rejected", "投诉·不予受理"),
    ("complaints_illegal_operation", "投诉·违规办学"),
    ("complaints_illegal_enrolment", "投诉·违规招生"),
    ("complaints_other", "投诉·其他"),
    ("complaints_median_hours", "投诉办理时长中位数（小时）"),
)
COMPLAINT_COUNTERS = tuple(name for name, _ in COUNTERS if name.startswith("complaints"))
MEDIAN = "complaints_median_hours"


@dataclass
class StatisticsFilter:
    kind: Kind | None = None
    mode: Mode | None = None
    nature: Nature | None = None
    #: 登记完成: all five parts saved (or not).
    complete: bool | None = None
    #: An inclusive range of days for the counters of events: inspections recorded
    #: (inspected_on), applications (submitted) and complaints (submitted). The counters of
    #: states (institutions, inspection status, classes, staff, lists) are as of now.
    from_: date | None = None
    to: date | None = None

    @property
    def about_institutions(self) -> bool:
        return any(v is not None for v in (self.kind, self.mode, self.nature, self.complete))

    def describe(self) -> str:
        """The filters in words (the spreadsheet's header)."""
        parts = []
        for label, value, choices in (
            ("机构类型", self.kind, CHOICES[Kind]),
            ("办学形式", self.mode, CHOICES[Mode]),
            ("机构性质", self.nature, CHOICES[Nature]),
        ):
            if value is not None:
                parts.append(f"{label}：{choices[value.value]}")
        if self.complete is not None:
            parts.append(f"登记完成：{'是' if self.complete else '否'}")
        if self.from_ or self.to:
            parts.append(f"日期：{self.from_ or '…'} 至 {self.to or '…'}（排查、申请、投诉）")
        return "；".join(parts) or "无"


@dataclass
class Group:
    key: str
    label: str
    region: Region | None = None
    #: The keys counted together in this row (the registering units the viewer may not
    #: see, as one "其他登记单位" row); empty: the row's own key.
    members: tuple[str, ...] = ()


@dataclass
class Row:
    group: Group
    counts: dict[str, Any]


@dataclass
class Statistics:
    region: Region
    grouping: Grouping
    filter: StatisticsFilter
    taken_at: datetime
    rows: list[Row]
    total: Row
    #: Whether the complaint counters are counted (else null).
    complaints_counted: bool = True
    #: A region view of a lowest region: rows by registering unit.
    by_unit: bool = False


@dataclass
class Month:
    month: date
    registrations: int
    inspections: int
    complaints: int | None
    approvals: int


@dataclass
class Series:
    region: Region
    from_: date
    to: date
    taken_at: datetime
    months: list[Month] = field(default_factory=list)


# --- the region ---------------------------------------------------------------------------


def day_start(day: date) -> datetime:
    """Midnight at the start of ``day`` in China Standard Time."""
    return datetime.combine(day, time(), CHINA)


def china_day(ts: ColumnElement) -> ColumnElement:
    """A timestamp's local (Beijing) date and time, without zone."""
    return sa.func.timezone(CHINA_ZONE, ts)


async def _target(db, viewer: Viewer, code: str | None) -> tuple[Region, bool]:
    """The region ``code`` (default: the viewer's) if it is in the viewer's subtree, and
    whether it is a lowest region (no children). Unknown and out of scope read alike.

    The same statement makes this transaction's plans custom: a prepared statement turns
    generic after five runs on a connection, and a generic plan cannot use the partial
    indexes of the rectifying institutions and the handled complaints, whose conditions
    are parameters there."""
    code = code if code is not None else viewer.region_code
    if viewer.region_path is None or not isinstance(code, str) or len(code) > 6:
        raise BadUserInput(NOT_FOUND, field="regionCode")
    child = sa.orm.aliased(Region)
    found = (
        await db.execute(
            sa.select(
                Region,
                sa.exists().where(child.parent_code == Region.code).label("has_children"),
                sa.func.set_config("plan_cache_mode", "force_custom_plan", True),
            ).where(Region.code == code, Region.path.startswith(viewer.region_path))
        )
    ).first()
    if found is None:
        raise BadUserInput(NOT_FOUND, field="regionCode")
    return found[0], not found.has_children


def _enum_groups(choices: Iterable[tuple[str, str]]) -> list[Group]:
    return [Group(key, label) for key, label in choices]


async def _groups(db, viewer: Viewer, region: Region, leaf: bool, grouping: Grouping) -> list[Group]:
    """The rows of a view, each with zeros until counted."""
    if grouping is Grouping.KIND:
        return _enum_groups(CHOICES[Kind].items())
    if grouping is Grouping.MODE:
        return _enum_groups(CHOICES[Mode].items())
    if grouping is Grouping.NATURE:
        return _enum_groups(CHOICES[Nature].items())
    if grouping is Grouping.TRAINING_CATEGORY:
        return _enum_groups([*CHOICES[TrainingCategory].items(), (NO_CATEGORY, "未填写培训类别")])
    if grouping is Grouping.DEPARTMENT:
        return _enum_groups((d.value, label) for d, label in DEPARTMENT_LABELS.items())
    if not leaf:
        children = (await db.execute(sa.select(Region).where(Region.parent_code == region.code).order_by(Region.code))).scalars()
        return [Group(r.code, r.name, r) for r in children]
    # A lowest region: its registering units (登记单位), named when the viewer may see
    # their accounts (auth.scope, as regulatorAccount(id) does), the others as one row.
    if viewer.level is Level.SUB_UNIT:
        return [Group(str(viewer.account_id), (await db.get(Account, viewer.account_id)).name)]
    units = (
        await db.execute(
            sa.select(Account.id, Account.name, Account.level, scope(viewer, Account).label("visible"))
            .where(
                Account.kind == AccountKind.REGULATOR,
                Account.region_code == region.code,
                sa.or_(
                    Account.level == Level.SUB_UNIT,
                    sa.and_(Account.level == Level.COUNTY, Account.department == Department.EDUCATION),
                ),
            )
            .order_by(Account.level, Account.name, Account.id)
        )
    ).all()
    bureau = next((u.name for u in units if u.level is Level.COUNTY and u.visible), f"{region.name}（本级）")
    hidden = tuple(str(u.id) for u in units if u.level is Level.SUB_UNIT and not u.visible)
    return [
        Group(region.code, bureau, region),
        *(Group(str(u.id), u.name) for u in units if u.level is Level.SUB_UNIT and u.visible),
        *([Group(OTHER_UNITS_KEY, "其他登记单位", members=hidden)] if hidden else []),
        Group(SELF_KEY, "机构自主注册"),
    ]


# --- the counts ---------------------------------------------------------------------------


def _department() -> ColumnElement:
    """The supervising department (主管部门) of an institution: the department of its first
    non-subject category under one (auth.scope's order: the department that reviews its
    applications), otherwise education. One per institution, so the rows add up."""
    return sa.case(
        *(
            (sa.and_(Institution.kind == Kind.NON_SUBJECT, Institution.training_categories.contains([category.value])), department.value)
            for department, category in DEPARTMENT_CATEGORIES.items()
        ),
        else_=Department.EDUCATION.value,
    )



def _below(region: Region | None) -> sa.Subquery:
    """Every region strictly below ``region``, with the child of ``region`` that holds it:
    the next code on its path. A few thousand rows at most, hashed once per statement.
    Without a region: the parameters ``below`` (the path's pattern) and ``depth`` (``_below_params``)."""
    if region is None:
        pattern, depth = sa.bindparam("below", type_=sa.String()), sa.bindparam("depth", type_=sa.Integer())
    else:
        pattern, depth = _below_params(region).values()
    return (
        sa.select(Region.code.label("code"), sa.func.split_part(Region.path, "/", depth).label("child"))
        .where(Region.path.like(pattern))
        .subquery("below")
    )


def _below_params(region: Region) -> dict[str, Any]:
    # Paths hold only digits and "/", so the prefix needs no LIKE escaping.
    return {"below": region.path + "_%", "depth": region.path.count("/") + 1}


@dataclass
class _Placement:
    """Where each institution (and each complaint, when they are grouped) goes."""

    key: ColumnElement
    source: Any
    where: ColumnElement[bool]
    #: The key itself names the total (TOTAL_KEY, one more row per institution) instead of
    #: ROLLUP: the training categories, where an institution has several groups.
    total_in_key: bool = False
    complaint_key: ColumnElement | None = None
    complaint_source: Any = None
    complaint_where: ColumnElement[bool] | None = None


def _placement(region: Region, leaf: bool, grouping: Grouping) -> _Placement:
    text = sa.String()
    if grouping is Grouping.REGION and not leaf:
        below = _below(region)
        return _Placement(
            key=below.c.child,
            source=sa.join(Institution, below, below.c.code == Institution.region_code),
            where=sa.true(),
            complaint_key=below.c.child,
            complaint_source=sa.join(Complaint, below, below.c.code == Complaint.county_code),
            complaint_where=sa.true(),
        )
    if grouping is Grouping.REGION:
        # A lowest region: by registering unit (登记单位).
        sub_units = sa.select(Account.id).where(
            Account.kind == AccountKind.REGULATOR, Account.level == Level.SUB_UNIT, Account.region_code == region.code
        )
        key = sa.case(
            (Institution.registering_unit_id.is_(None), SELF_KEY),
            (Institution.registering_unit_id.in_(sub_units), sa.cast(Institution.registering_unit_id, text)),
            # the county bureau itself (and any other county-level unit)
            else_=region.code,
        )
        return _Placement(
            key=key,
            source=Institution,
            where=Institution.region_code == region.code,
            # Complaints are the county bureau's: they go to its row.
            complaint_key=Complaint.county_code,
            complaint_source=Complaint,
            complaint_where=Complaint.county_code == region.code,
        )
    in_region = Institution.region_code.in_(subtree_codes(region.path))
    if grouping is Grouping.TRAINING_CATEGORY:
        array = Institution.training_categories.type
        categories = sa.case(
            (sa.func.cardinality(Institution.training_categories) == 0, sa.literal([NO_CATEGORY], array)),
            else_=Institution.training_categories,
        )
        # Each institution once per category, and once more in the total.
        keys = sa.func.array_append(categories, sa.cast(sa.literal(TOTAL_KEY), sa.String(24)), type_=array)
        return _Placement(key=sa.func.unnest(keys), source=Institution, where=in_region, total_in_key=True)
    if grouping is Grouping.DEPARTMENT:
        return _Placement(key=_department(), source=Institution, where=in_region)
    column = {Grouping.KIND: Institution.kind, Grouping.MODE: Institution.mode, Grouping.NATURE: Institution.nature}[grouping]
    return _Placement(key=sa.type_coerce(column, text), source=Institution, where=in_region)


def _in_days(column: ColumnElement, f: StatisticsFilter) -> ColumnElement[bool]:
    """``column`` (a timestamp) within the filter's days (Beijing time)."""
    conditions = []
    if f.from_ is not None:
        conditions.append(column >= day_start(f.from_))
    if f.to is not None:
        conditions.append(column < day_start(f.to + timedelta(days=1)))
    return sa.and_(sa.true(), *conditions)


def _tally_sums(table: Any, names: Iterable[str]) -> dict[str, ColumnElement]:
    """Sums of a tally table's columns (``models.tallies``) for the counters ``names``; the
    applications of a status are those of every type."""
    sums: dict[str, ColumnElement] = {}
    for name in names:
        if name in table.c:
            sums[name] = sa.func.sum(table.c[name])
        elif name.startswith("applications_"):
            status = name.removeprefix("applications_")
            sums[name] = sa.func.sum(sum((table.c[f"{t.value.lower()}_{status}"] for t in ApplicationType), sa.literal(0)))
    return sums


#: The counters of the records an institution owns that a date range counts as events.
DATED = ("inspections", *(f"applications_{s.value.lower()}" for s in ApplicationStatus), *APPLICATION_TALLIES)


def by_county(viewer: Viewer, leaf: bool, grouping: Grouping, f: StatisticsFilter) -> bool:
    """Whether a view is summed from ``county_tally`` (a few thousand rows for the whole
    country) rather than from the institution rows: by child region, without a filter on the
    institutions or a date range, for a viewer whose scope is its whole subtree."""
    return (
        grouping is Grouping.REGION
        and not leaf
        and not f.about_institutions
        and f.from_ is None
        and f.to is None
        and sees_whole_subtree(viewer)
    )


def _names(complaints: bool) -> list[str]:
    return [name for name, _ in COUNTERS if complaints or name not in COMPLAINT_COUNTERS]


def _part(names: list[str], source: Any, key: ColumnElement, counters: dict[str, ColumnElement], *where: ColumnElement[bool], total_in_key: bool = False) -> sa.Select:
    """One source's counters for every group and the total (t = 1), the others zero."""
    filler = {name: sa.literal_column("NULL::float8" if name == MEDIAN else "0") for name in names}
    if total_in_key:
        total, grouped = sa.case((key == TOTAL_KEY, 1), else_=0), key
    else:
        total, grouped = sa.func.grouping(key), sa.func.rollup(key)
    return (
        sa.select(total.label("t"), key.label("g"), *(counters.get(name, filler[name]).label(name) for name in names))
        .select_from(source)
        .where(*where)
        .group_by(grouped)
    )


def _summed(names: list[str], parts: list[sa.Select]) -> sa.Select:
    """The parts' counters summed per group (the median: the one part that has it)."""
    union = sa.union_all(*parts).subquery("counted")
    return sa.select(
        union.c.t,
        union.c.g,
        *(sa.func.max(union.c[name]).label(name) if name == MEDIAN else sa.func.sum(union.c[name]).label(name) for name in names),
    ).group_by(union.c.t, union.c.g)


def _median_hours() -> ColumnElement:
    return sa.func.percentile_cont(0.5).within_group(complaint_table.c.handling_hours).filter(complaint_table.c.status.in_(HANDLED))


@functools.cache
def _county_statement(complaints: bool, median: bool) -> sa.Select:
    """A view summed from the county tallies (``by_county``), built once per shape (building
    it takes longer than running it): its parameters are the region (``_below_params``) and
    the day (``today``)."""
    names = _names(complaints)
    below = _below(None)
    kept = tallies.kept(county_tally)
    overdue = (
        sa.select(Institution.region_code, sa.func.count().label("n"))
        .where(overdue_condition(sa.bindparam("today", type_=sa.Date())))
        .group_by(Institution.region_code)
        .subquery("overdue")
    )
    parts = [
        _part(names, sa.join(kept, below, below.c.code == kept.c.region_code), below.c.child, _tally_sums(kept, names)),
        # 逾期 depends on the day: counted per county from the index of the rectifying
        # institutions' deadlines, then summed like the tallies.
        _part(names, sa.join(overdue, below, below.c.code == overdue.c.region_code), below.c.child, {"overdue": sa.func.sum(overdue.c.n)}),
    ]
    if complaints and median:
        # The median needs the handled complaints' times (the counts are kept). The scope
        # of complaints is the viewer's subtree, which holds the region.
        parts.append(
            _part(
                names,
                sa.join(complaint_table, below, below.c.code == complaint_table.c.county_code),
                below.c.child,
                {MEDIAN: _median_hours()},
                complaint_table.c.status.in_(HANDLED),
            )
        )
    return _summed(names, parts)


def _counts_statement(
    viewer: Viewer, region: Region, leaf: bool, grouping: Grouping, f: StatisticsFilter, today: date, complaints: bool, median: bool = True
) -> tuple[sa.Select, dict[str, Any]]:
    """The counting statement of a view, and its parameters."""
    if by_county(viewer, leaf, grouping, f):
        return _county_statement(complaints, median), {**_below_params(region), "today": today}
    names = _names(complaints)
    place = _placement(region, leaf, grouping)
    part = functools.partial(_part, names)

    def n(column: ColumnElement, condition: ColumnElement[bool] | None = None) -> ColumnElement:
        counted = sa.func.count(column)
        return counted.filter(condition) if condition is not None else counted

    institution_filter = filter_condition(InstitutionFilter(kind=f.kind, mode=f.mode, nature=f.nature, complete=f.complete))
    inst = (
        sa.select(
            Institution.id.label("id"),
            sa.type_coerce(place.key, sa.String()).label("g"),
            filter_condition(InstitutionFilter(complete=True)).label("complete"),
            (Institution.review_status == "APPROVED").label("compliant"),
            Institution.deregistered_at.is_not(None).label("deregistered"),
            Institution.inspection_status.label("inspection_status"),
            overdue_condition(today).label("overdue"),
        )
        .select_from(place.source)
        .where(place.where, scope(viewer, Institution), institution_filter)
        .cte("inst")
    )
    status = inst.c.inspection_status
    dated = f.from_ is not None or f.to is not None
    tallied = [name for name in names if name in INSTITUTION_TALLIES or name.startswith("applications_")]
    parts = [
        part(
            inst,
            inst.c.g,
            {
                "registered": n(inst.c.id),
                "complete": n(inst.c.id, inst.c.complete),
                "compliant": n(inst.c.id, inst.c.compliant),
                "deregistered": n(inst.c.id, inst.c.deregistered),
                "inspected": n(inst.c.id, status != InspectionStatus.NOT_INSPECTED.value),
                "with_problems": n(inst.c.id, status.in_([InspectionStatus.RECTIFYING.value, InspectionStatus.RECTIFIED.value])),
                "rectifying": n(inst.c.id, status == InspectionStatus.RECTIFYING.value),
                "rectified": n(inst.c.id, status == InspectionStatus.RECTIFIED.value),
                "overdue": n(inst.c.id, inst.c.overdue),
            },
            total_in_key=place.total_in_key,
        ),
        # What the institutions own, from their tallies; within a date range, the events
        # (inspections, applications) are counted from their rows instead.
        part(
            inst.join(institution_tally, institution_tally.c.institution_id == inst.c.id),
            inst.c.g,
            _tally_sums(institution_tally, [name for name in tallied if not (dated and name in DATED)]),
            total_in_key=place.total_in_key,
        ),
    ]
    if dated:
        parts += [
            part(
                inst.join(Inspection, Inspection.institution_id == inst.c.id),
                inst.c.g,
                {"inspections": n(Inspection.id)},
                *([Inspection.inspected_on >= f.from_] if f.from_ else []),
                *([Inspection.inspected_on <= f.to] if f.to else []),
                total_in_key=place.total_in_key,
            ),
            part(
                inst.join(Application, Application.institution_id == inst.c.id),
                inst.c.g,
                {
                    **{f"applications_{s.value.lower()}": n(Application.id, Application.status == s) for s in ApplicationStatus},
                    **{
                        f"{t.value.lower()}_{s.value.lower()}": n(Application.id, sa.and_(Application.type == t, Application.status == s))
                        for t in ApplicationType
                        for s in ApplicationStatus
                    },
                },
                _in_days(Application.submitted_at, f),
                total_in_key=place.total_in_key,
            ),
        ]
    if complaints:
        parts.append(
            part(
                place.complaint_source,
                place.complaint_key,
                {
                    "complaints": sa.func.count(Complaint.id),
                    **{f"complaints_{s.value.lower()}": sa.func.count(Complaint.id).filter(Complaint.status == s) for s in ComplaintStatus},
                    **{f"complaints_{t.value.lower()}": sa.func.count(Complaint.id).filter(Complaint.complaint_type == t) for t in ComplaintType},
                    **({MEDIAN: _median_hours()} if median else {}),
                },
                place.complaint_where,
                scope(viewer, Complaint),
                _in_days(Complaint.submitted_at, f),
            )
        )
    return _summed(names, parts), {}


def _sum(counts: list[dict[str, Any]]) -> dict[str, Any]:
    """Rows of counters added up (a registering unit's row has no complaints: they are the
    county bureau's, so no median is summed)."""
    return {name: None if counts[0][name] is None else sum(c[name] or 0 for c in counts) for name in counts[0]}


def _zeros(complaints: bool) -> dict[str, Any]:
    return {name: (None if name == MEDIAN else 0) if complaints else None for name in COMPLAINT_COUNTERS} | {
        name: 0 for name, _ in COUNTERS if name not in COMPLAINT_COUNTERS
    }


def counts_complaints(viewer: Viewer, grouping: Grouping, f: StatisticsFilter) -> bool:
    """Complaints are counted by region, for the viewers ``scope`` lets see them."""
    return grouping is Grouping.REGION and not f.about_institutions and not isinstance(scope(viewer, Complaint), False_)


def check_range(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and start > end:
        raise BadUserInput("开始日期不能晚于结束日期 (from is after to)", field="from")


async def statistics(
    sessionmaker: async_sessionmaker,
    viewer: Viewer,
    now: datetime,
    region_code: str | None,
    grouping: Grouping,
    f: StatisticsFilter | None,
    *,
    median: bool = True,
) -> Statistics:
    """The view; ``median=False`` leaves the complaints' median handling time out (null): it
    is the one counter read from every handled complaint of the region, so it is counted
    only when asked for."""
    f = f or StatisticsFilter()
    check_range(f.from_, f.to)
    complaints = counts_complaints(viewer, grouping, f)
    async with sessionmaker() as db:
        region, leaf = await _target(db, viewer, region_code)
        groups = await _groups(db, viewer, region, leaf, grouping)
        statement, parameters = _counts_statement(viewer, region, leaf, grouping, f, now.date(), complaints, median)
        counted = (await db.execute(statement, parameters)).mappings().all()
    by_key: dict[Any, dict[str, Any]] = {}
    for row in counted:
        values = _zeros(complaints)
        for name in values:
            if name in row and row[name] is not None:
                values[name] = round(float(row[name]), 2) if name == MEDIAN else int(row[name])
        by_key[TOTAL_KEY if row["t"] else row["g"]] = values
    rows = [Row(g, _sum([by_key.get(k, _zeros(complaints)) for k in g.members]) if g.members else by_key.get(g.key, _zeros(complaints))) for g in groups]
    total = Row(Group(TOTAL_KEY, "合计", region), by_key.get(TOTAL_KEY, _zeros(complaints)))
    return Statistics(region, grouping, f, now, rows, total, complaints, by_unit=leaf and grouping is Grouping.REGION)


# --- the monthly series -------------------------------------------------------------------


def _counties_of(region: Region, column: ColumnElement) -> ColumnElement[bool]:
    """``column`` (a region code) within ``region``: every code for the root; otherwise the
    region's codes as one array, so that a day tally is read by an index scan per county
    (a semi-join with the region table made the planner read them all)."""
    if region.parent_code is None:
        return sa.true()
    codes = subtree_codes(region.path).with_only_columns(sa.func.array_agg(Region.code)).scalar_subquery()
    return column == sa.any_(sa.cast(codes, ARRAY(sa.String)))


def _month(value: date) -> int:
    return value.year * 12 + value.month - 1


def _month_of(local: ColumnElement) -> ColumnElement:
    return sa.cast(sa.func.date_trunc("month", local), sa.Date)


async def series(sessionmaker: async_sessionmaker, viewer: Viewer, now: datetime, region_code: str | None, start: date, end: date) -> Series:
    """Registrations (created), inspections (inspected_on), complaints (submitted) and
    approvals (decided) per month from ``start`` to ``end`` (inclusive days), a row for every
    month, zeros included, at most 36 months. For a viewer whose scope is its whole subtree,
    summed from the counties' day tallies; otherwise counted from the rows in scope."""
    check_range(start, end)
    if _month(end) - _month(start) + 1 > MAX_MONTHS:
        raise BadUserInput(f"时间序列最多 {MAX_MONTHS} 个月 (at most {MAX_MONTHS} months)", field="to")
    complaints = not isinstance(scope(viewer, Complaint), False_)
    f = StatisticsFilter(from_=start, to=end)
    async with sessionmaker() as db:
        region, _ = await _target(db, viewer, region_code)
        in_region = sa.and_(Institution.region_code.in_(subtree_codes(region.path)), scope(viewer, Institution))
        months = sa.select(
            sa.cast(
                sa.func.generate_series(
                    sa.cast(start.replace(day=1), sa.DateTime), sa.cast(end.replace(day=1), sa.DateTime), sa.text("interval '1 month'")
                ),
                sa.Date,
            ).label("month")
        ).subquery("months")

        if sees_whole_subtree(viewer):
            # Summed from the day tallies of the counties in the region.
            kept = tallies.kept(county_day_tally)
            month = _month_of(kept.c.day)
            counted = (
                sa.select(month.label("month"), *(sa.cast(sa.func.sum(kept.c[name]), sa.BigInteger).label(name) for name in DAY_TALLIES))
                .where(_counties_of(region, kept.c.region_code), kept.c.day.between(start, end))
                .group_by(month)
                .subquery("counted")
            )
            stmt = (
                sa.select(months.c.month, *(sa.func.coalesce(counted.c[name], 0).label(name) for name in DAY_TALLIES))
                .select_from(months.outerjoin(counted, counted.c.month == months.c.month))
                .order_by(months.c.month)
            )
            rows = (await db.execute(stmt)).mappings().all()
            return Series(
                region, start, end, now, [Month(r["month"], r["registrations"], r["inspections"], r["complaints"], r["approvals"]) for r in rows]
            )

        def monthly(name: str, month: ColumnElement, source: Any, *where: ColumnElement[bool]) -> sa.Subquery:
            return sa.select(month.label("month"), sa.func.count().label("n")).select_from(source).where(*where).group_by(month).subquery(name)

        sources = {
            "registrations": monthly(
                "registrations", _month_of(china_day(Institution.created_at)), Institution, in_region, _in_days(Institution.created_at, f)
            ),
            "inspections": monthly(
                "inspections",
                _month_of(sa.cast(Inspection.inspected_on, sa.DateTime)),
                sa.join(Inspection, Institution, Institution.id == Inspection.institution_id),
                in_region,
                Inspection.inspected_on.between(start, end),
            ),
            "approvals": monthly(
                "approvals",
                _month_of(china_day(Application.decided_at)),
                sa.join(Application, Institution, Institution.id == Application.institution_id),
                in_region,
                Application.status == ApplicationStatus.APPROVED,
                _in_days(Application.decided_at, f),
            ),
        }
        if complaints:
            sources["complaints"] = monthly(
                "complaints",
                _month_of(china_day(Complaint.submitted_at)),
                Complaint,
                Complaint.county_code.in_(subtree_codes(region.path)),
                scope(viewer, Complaint),
                _in_days(Complaint.submitted_at, f),
            )
        source = months
        for counted in sources.values():
            source = source.outerjoin(counted, counted.c.month == months.c.month)
        stmt = (
            sa.select(months.c.month, *(sa.func.coalesce(c.c.n, 0).label(name) for name, c in sources.items()))
            .select_from(source)
            .order_by(months.c.month)
        )
        rows = (await db.execute(stmt)).mappings().all()
    return Series(
        region,
        start,
        end,
        now,
        [Month(r["month"], r["registrations"], r["inspections"], r["complaints"] if complaints else None, r["approvals"]) for r in rows],
    )
