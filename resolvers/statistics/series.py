"""The monthly series (statisticsSeries): registrations, inspections, complaints and approvals per
month of a region, zeros included, from the per-county day tallies (``models.statistics``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement, False_

from auth.scope import scope, sees_whole_subtree, subtree_codes
from auth.viewer import Viewer
from core.clock import today
from core.errors import BadUserInput
from models import Application, ApplicationStatus, Complaint, Inspection, Institution, Region, county_day_tally
from models.statistics import DAY_TALLIES, tally_rows
from resolvers.statistics.counting import china_day, in_days, target_region
from resolvers.statistics.views import MAX_MONTHS, Month, Series, StatisticsFilter, check_range


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
        region, _ = await target_region(db, viewer, region_code, today(now))
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
            kept = tally_rows(county_day_tally)
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
                "registrations", _month_of(china_day(Institution.created_at)), Institution, in_region, in_days(Institution.created_at, f)
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
                in_days(Application.decided_at, f),
            ),
        }
        if complaints:
            sources["complaints"] = monthly(
                "complaints",
                _month_of(china_day(Complaint.submitted_at)),
                Complaint,
                Complaint.county_code.in_(subtree_codes(region.path)),
                scope(viewer, Complaint),
                in_days(Complaint.submitted_at, f),
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
