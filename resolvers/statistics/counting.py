"""Counting a statistics view (the package docstring says how): the region and its place in the
tree, the one counting statement of each shape — summed from the county tallies, or from each
institution in scope — and the view's rows and total. One idea, the counting statement, whose
parts (placement, sources, sums) only make sense together; hence its length."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement, False_

from auth.scope import scope, sees_whole_subtree, subtree_codes
from auth.viewer import Viewer
from core.clock import CHINA_ZONE, day_start, today
from core.errors import BadUserInput
from models import (
    Account,
    AccountKind,
    Application,
    ApplicationStatus,
    ApplicationType,
    Complaint,
    ComplaintStatus,
    ComplaintType,
    Inspection,
    InspectionStatus,
    Institution,
    Level,
    Region,
    county_tally,
    institution_tally,
    valid_on,
)
from models.complaints import HANDLED
from models.statistics import APPLICATION_TALLIES, INSTITUTION_TALLIES, tally_rows
from resolvers.filters import condition
from resolvers.institutions.listing import InstitutionFilter, overdue_condition
from resolvers.regions import unknown_region_message
from resolvers.standing import compliant_by_region, facts
from resolvers.statistics import findings as finding_counts
from resolvers.statistics.groups import supervising_department, view_groups
from resolvers.statistics.views import (
    COMPLAINT_COUNTERS,
    COUNTERS,
    MEDIAN,
    NO_CATEGORY,
    NOT_FOUND,
    SELF_KEY,
    TOTAL_KEY,
    Group,
    Grouping,
    Row,
    Statistics,
    StatisticsFilter,
    check_range,
    complaint_table,
)


def china_day(ts: ColumnElement) -> ColumnElement:
    """A timestamp's local (Beijing) date and time, without zone."""
    return sa.func.timezone(CHINA_ZONE, ts)


async def target_region(db, viewer: Viewer, code: str | None, day: date) -> tuple[Region, bool]:
    """The region ``code`` (default: the viewer's) if it is in the viewer's subtree and in
    force on ``day``, and whether it is a lowest region (no children in force). Unknown and
    out of scope read alike; a retired region in scope answers what replaced it.

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
                sa.exists().where(child.parent_code == Region.code, valid_on(day, child)).label("has_children"),
                valid_on(day).label("in_force"),
                sa.func.set_config("plan_cache_mode", "force_custom_plan", True),
            ).where(Region.code == code, Region.path.startswith(viewer.region_path))
        )
    ).first()
    if found is None:
        raise BadUserInput(NOT_FOUND, field="regionCode")
    if not found.in_force:
        raise BadUserInput(await unknown_region_message(db, code, day, NOT_FOUND), field="regionCode")
    return found[0], not found.has_children


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
        return _Placement(key=supervising_department(), source=Institution, where=in_region)
    column = {Grouping.KIND: Institution.kind, Grouping.MODE: Institution.mode, Grouping.NATURE: Institution.nature}[grouping]
    return _Placement(key=sa.type_coerce(column, text), source=Institution, where=in_region)


def in_days(column: ColumnElement, f: StatisticsFilter) -> ColumnElement[bool]:
    """``column`` (a timestamp) within the filter's days (Beijing time)."""
    conditions = []
    if f.from_ is not None:
        conditions.append(column >= day_start(f.from_))
    if f.to is not None:
        conditions.append(column < day_start(f.to + timedelta(days=1)))
    return sa.and_(sa.true(), *conditions)


def _tally_sums(table: Any, names: Iterable[str]) -> dict[str, ColumnElement]:
    """Sums of a tally table's columns (``models.statistics``) for the counters ``names``; the
    applications of a status are those of every type."""
    sums: dict[str, ColumnElement] = {}
    for name in names:
        if name in table.c:
            sums[name] = sa.func.sum(table.c[name])
        elif name.startswith("applications_"):
            status = name.removeprefix("applications_")
            sums[name] = sa.func.sum(sum((table.c[f"{t.value.lower()}_{status}"] for t in ApplicationType), sa.literal(0)))
    return sums


#: The counters that depend on the day, which no tally keeps.
BY_DAY = ("overdue", "compliant")
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
    kept = tally_rows(county_tally)
    day = sa.bindparam("today", type_=sa.Date())
    overdue = (
        sa.select(Institution.region_code, sa.func.count().label("n"))
        .where(overdue_condition(day))
        .group_by(Institution.region_code)
        .subquery("overdue")
    )
    compliant = compliant_by_region(day).subquery("compliant")
    parts = [
        _part(names, sa.join(kept, below, below.c.code == kept.c.region_code), below.c.child, _tally_sums(kept, [n for n in names if n not in BY_DAY])),
        # 逾期 and 合规 depend on the day: counted per county from the index of the rectifying
        # institutions' deadlines and the tally's index of the compliant ones with their
        # licences' dates, then summed like the tallies.
        _part(names, sa.join(overdue, below, below.c.code == overdue.c.region_code), below.c.child, {"overdue": sa.func.sum(overdue.c.n)}),
        _part(names, sa.join(compliant, below, below.c.code == compliant.c.region_code), below.c.child, {"compliant": sa.func.sum(compliant.c.n)}),
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


def counted_institutions(f: StatisticsFilter) -> ColumnElement[bool]:
    """The institutions a view's filter selects."""
    return condition(InstitutionFilter(kind=f.kind, mode=f.mode, nature=f.nature, complete=f.complete))


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

    institution_filter = counted_institutions(f)
    standing = facts(today, institution_tally.c.black_listed, institution_tally.c.violations)
    inst = (
        sa.select(
            Institution.id.label("id"),
            sa.type_coerce(place.key, sa.String()).label("g"),
            condition(InstitutionFilter(complete=True)).label("complete"),
            standing.compliant.label("compliant"),
            Institution.deregistered_at.is_not(None).label("deregistered"),
            Institution.inspection_status.label("inspection_status"),
            overdue_condition(today).label("overdue"),
        )
        .select_from(place.source)
        .outerjoin(institution_tally, institution_tally.c.institution_id == Institution.id)
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
                in_days(Application.submitted_at, f),
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
                in_days(Complaint.submitted_at, f),
            )
        )
    return _summed(names, parts), {}


def _findings_statement(viewer: Viewer, region: Region, leaf: bool, grouping: Grouping, f: StatisticsFilter) -> sa.Select:
    """The findings of the view (``resolvers.statistics.findings``), from the same source as its counters."""
    if by_county(viewer, leaf, grouping, f):
        return finding_counts.county_statement(_below(region))
    place = _placement(region, leaf, grouping)
    where = sa.and_(place.where, scope(viewer, Institution), counted_institutions(f))
    return finding_counts.rows_statement(place.key, place.source, where, total_in_key=place.total_in_key)


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


async def statistics(
    sessionmaker: async_sessionmaker,
    viewer: Viewer,
    now: datetime,
    region_code: str | None,
    grouping: Grouping,
    f: StatisticsFilter | None,
    *,
    median: bool = True,
    findings: bool = False,
) -> Statistics:
    """The view; ``median=False`` leaves the complaints' median handling time out (null): it
    is the one counter read from every handled complaint of the region, so it is counted
    only when asked for. ``findings`` counts each row's findings per rule (one more statement)."""
    f = f or StatisticsFilter()
    check_range(f.from_, f.to)
    complaints = counts_complaints(viewer, grouping, f)
    async with sessionmaker() as db:
        region, leaf = await target_region(db, viewer, region_code, today(now))
        groups = await view_groups(db, viewer, region, leaf, grouping, today(now))
        statement, parameters = _counts_statement(viewer, region, leaf, grouping, f, today(now), complaints, median)
        counted = (await db.execute(statement, parameters)).mappings().all()
        found = finding_counts.by_group(await db.execute(_findings_statement(viewer, region, leaf, grouping, f))) if findings else None
    by_key: dict[Any, dict[str, Any]] = {}
    for row in counted:
        values = _zeros(complaints)
        for name in values:
            if name in row and row[name] is not None:
                values[name] = round(float(row[name]), 2) if name == MEDIAN else int(row[name])
        by_key[TOTAL_KEY if row["t"] else row["g"]] = values
    rows = [Row(g, _sum([by_key.get(k, _zeros(complaints)) for k in g.members]) if g.members else by_key.get(g.key, _zeros(complaints))) for g in groups]
    total = Row(Group(TOTAL_KEY, "合计", region), by_key.get(TOTAL_KEY, _zeros(complaints)))
    if found is not None:
        for row in [*rows, total]:
            row.findings = finding_counts.listed(finding_counts.summed([found.get(k, {}) for k in (row.group.members or (row.group.key,))]))
    return Statistics(region, grouping, f, now, rows, total, complaints, by_unit=leaf and grouping is Grouping.REGION)
