"""The institution list (机构信息查询, docs/DOMAIN.md §R2.1): its filters, a page in one statement, a
record by id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from auth.scope import scope, sees_whole_subtree, subtree_codes, subtree_of
from auth.viewer import Viewer
from core.clock import today
from core.ids import parse_id
from models import Account, InspectionStatus, Institution, Kind, Mode, Nature, Region, ReviewStatus, Site, Staff, valid_on
from models.database import single_statements
from models.statistics import county_tally, tally_rows
from resolvers.filters import RecordId, condition, criterion, given
from resolvers.institutions.registration import SAVED_FLAG, Part
from resolvers.pagination import Page, paginate_rows


def overdue_condition(today: date) -> sa.ColumnElement[bool]:
    """逾期: rectifying, with an unfinished item's deadline before ``today`` (never NULL, so
    its negation is exact)."""
    return sa.and_(
        Institution.inspection_status == "RECTIFYING",
        Institution.open_deadline.is_not(None),
        Institution.open_deadline < today,
    )


def _complete() -> sa.ColumnElement[bool]:
    return sa.and_(*(getattr(Institution, flag) for flag in SAVED_FLAG.values()))


def _yes_no(condition: sa.ColumnElement[bool], wanted: bool) -> sa.ColumnElement[bool]:
    return condition if wanted else sa.not_(condition)


def _missing(part: Part) -> sa.ColumnElement[bool]:
    flag = SAVED_FLAG.get(part)
    # The basic situation is never missing: the row exists because it was saved.
    return sa.not_(getattr(Institution, flag)) if flag else sa.false()


def _unit(value: str) -> sa.ColumnElement[bool]:
    unit = parse_id(value)
    return Institution.registering_unit_id == unit if unit else sa.false()


@dataclass
class InstitutionFilter:
    """The institution list's filter (its export's too): every criterion optional, combined
    with AND. "Overdue" is as of the request's day (``today`` in the context)."""

    name: str | None = criterion("机构名称包含 (part of the name)", lambda v, c: Institution.name.icontains(v.strip(), autoescape=True))
    region_code: str | None = criterion(
        "所在区划及其下级 (institutions in this region or below it; any region in scope)",
        lambda v, c: Institution.region_code.in_(subtree_of(v)),
        max_length=6,
    )
    kind: Kind | None = criterion("机构类型 (学科类/非学科类)", lambda v, c: Institution.kind == v.value)
    mode: Mode | None = criterion("办学形式 (线上/线下)", lambda v, c: Institution.mode == v.value)
    nature: Nature | None = criterion("机构性质 (营利性/非营利性)", lambda v, c: Institution.nature == v.value)
    complete: bool | None = criterion("登记完成 (all five parts saved, or not)", lambda v, c: _yes_no(_complete(), v))
    missing_part: Part | None = criterion("未保存此部分的机构 (institutions that have not saved this part)", lambda v, c: _missing(v))
    registering_unit_id: RecordId | None = criterion("登记单位 (the registering unit's account id)", lambda v, c: _unit(v), max_length=36)
    inspection_status: InspectionStatus | None = criterion("排查状态", lambda v, c: Institution.inspection_status == v.value)
    overdue: bool | None = criterion("逾期整改 (true) 或否 (false)", lambda v, c: _yes_no(overdue_condition(c["today"]), v))
    review_status: ReviewStatus | None = criterion("审核状态 (合规申请)", lambda v, c: Institution.review_status == v.value)
    region_retired: bool | None = criterion(
        "所在区划已撤销、待分配 (区划调整: institutions a split left on a retired county, for the supervisors above to assign; docs/regions.md)",
        lambda v, c: _yes_no(Institution.region_code.in_(sa.select(Region.code).where(~valid_on(c["today"]))), v),
    )


def listed(viewer: Viewer | None, f: InstitutionFilter | None, day: date) -> sa.ColumnElement[bool]:
    """The one condition of the list and the export: scope and filters, as of ``day``."""
    return sa.and_(scope(viewer, Institution), condition(f, today=day))


#: The columns of a list page whose nodes show only the institution's state (name, kind,
#: progress, statuses, dates) and what is read by its id: not the form's details.
LIST_COLUMNS = (
    "id", "name", "region_code", "registering_unit_id", "kind", "mode", "nature", "version", "created_at", "updated_at",
    "inspection_status", "open_deadline", "review_status", "deregistered_at", *SAVED_FLAG.values(),
)


def tallied_total(viewer: Viewer | None, f: InstitutionFilter | None) -> sa.Select | None:
    """The total of a list without filters, or filtered by region alone, for a viewer whose
    scope is its whole subtree (``auth.scope.sees_whole_subtree``): the institutions the
    county tallies count there (``models.statistics``), a few thousand rows at most instead of
    counting up to 500,000 institutions. None for any other list."""
    if not sees_whole_subtree(viewer):
        return None
    if set(given(f)) - {"region_code"}:
        return None
    codes = subtree_codes(viewer.region_path)
    if f is not None and f.region_code:
        codes = codes.where(Region.code.in_(subtree_of(f.region_code)))
    counted = tally_rows(county_tally, "region_code", "registered")
    return sa.select(sa.cast(sa.func.coalesce(sa.func.sum(counted.c.registered), 0), sa.BigInteger)).where(counted.c.region_code.in_(codes))


async def list_institutions(
    info, f: InstitutionFilter | None, first: int | None, after: str | None, *,
    unit: bool = False, counts: bool = False, total: bool = True, details: bool = True,
) -> Page:
    """A page of the list as rows of the institution's columns, in one statement, with what
    its nodes show besides: ``unit`` the registering unit's ``unit_name`` and ``unit_level``
    (named on every institution its viewers see, like the ``unit`` loader), ``counts`` the
    ``site_count`` and ``active_staff_count`` of each institution (all in scope with it, as
    the ``counts`` loader reads them); ``total`` the total count (0 without). Without
    ``details`` the rows hold ``LIST_COLUMNS`` only."""
    ctx = info.context
    columns: list[sa.ColumnElement[Any]] = []
    joins: list[tuple[Any, sa.ColumnElement[bool]]] = []
    if unit:
        columns += [Account.name.label("unit_name"), Account.level.label("unit_level")]
        joins.append((Account, Account.id == Institution.registering_unit_id))
    if counts:
        columns += [
            sa.select(sa.func.count()).where(Site.institution_id == Institution.id).scalar_subquery().label("site_count"),
            sa.select(sa.func.count())
            .where(Staff.institution_id == Institution.id, Staff.status == "ACTIVE")
            .scalar_subquery()
            .label("active_staff_count"),
        ]
    async with ctx.sessionmaker() as db:
        await single_statements(db)
        return await paginate_rows(
            db, Institution, listed(ctx.viewer, f, today(ctx.now)), [Institution.name, Institution.id],
            first=first, after=after, columns=columns, outer_joins=joins, count=total, counted=tallied_total(ctx.viewer, f),
            entity_columns=None if details else [Institution.__table__.c[name] for name in LIST_COLUMNS],
        )
