"""The institution list (机构信息查询, docs/DOMAIN.md §R2.1): its filters, a page in one statement, a
record by id."""

from __future__ import annotations

from core.clock import today, utcnow
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any
import sqlalchemy as sa
from auth.scope import scope, sees_whole_subtree, subtree_codes, subtree_of
from auth.viewer import Viewer
from models import Account, Institution, Region, Site, Staff
from models.statistics import county_tally, tally_rows
from models.database import single_statements
from resolvers.pagination import Page, paginate_rows
from resolvers.institutions.registration import SAVED_FLAG, Part
from core.ids import parse_id


@dataclass
class InstitutionFilter:
    name: str | None = None
    region_code: str | None = None
    kind: str | None = None
    mode: str | None = None
    nature: str | None = None
    complete: bool | None = None
    missing_part: Part | None = None
    registering_unit_id: str | None = None
    inspection_status: str | None = None
    overdue: bool | None = None
    review_status: str | None = None
    #: "Overdue" is relative to this day (the request's).
    today: date | None = None


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


def filter_condition(f: InstitutionFilter | None) -> sa.ColumnElement[bool]:
    conditions: list[sa.ColumnElement[bool]] = []
    if f is None:
        return sa.true()
    if f.name:
        conditions.append(Institution.name.icontains(f.name.strip(), autoescape=True))
    if f.region_code:
        conditions.append(Institution.region_code.in_(subtree_of(f.region_code)))
    for key in ("kind", "mode", "nature"):
        value = getattr(f, key)
        if value is not None:
            conditions.append(getattr(Institution, key) == (value.value if isinstance(value, Enum) else value))
    if f.complete is not None:
        conditions.append(_complete() if f.complete else sa.not_(_complete()))
    if f.missing_part is not None:
        flag = SAVED_FLAG.get(f.missing_part)
        # The basic situation is never missing: the row exists because it was saved.
        conditions.append(sa.not_(getattr(Institution, flag)) if flag else sa.false())
    if f.registering_unit_id is not None:
        unit = parse_id(f.registering_unit_id)
        conditions.append(Institution.registering_unit_id == unit if unit else sa.false())
    if f.inspection_status is not None:
        conditions.append(Institution.inspection_status == getattr(f.inspection_status, "value", f.inspection_status))
    if f.review_status is not None:
        conditions.append(Institution.review_status == getattr(f.review_status, "value", f.review_status))
    if f.overdue is not None:
        overdue = overdue_condition(f.today or today(utcnow()))
        conditions.append(overdue if f.overdue else sa.not_(overdue))
    return sa.and_(sa.true(), *conditions)


def listed(viewer: Viewer | None, f: InstitutionFilter | None) -> sa.ColumnElement[bool]:
    """The one condition of the list and the export: scope and filters."""
    return sa.and_(scope(viewer, Institution), filter_condition(f))


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
    if f is not None and any(value not in (None, "") for key, value in vars(f).items() if key not in ("region_code", "today")):
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
            db, Institution, listed(ctx.viewer, f), [Institution.name, Institution.id],
            first=first, after=after, columns=columns, outer_joins=joins, count=total, counted=tallied_total(ctx.viewer, f),
            entity_columns=None if details else [Institution.__table__.c[name] for name in LIST_COLUMNS],
        )


async def get_institution(info, institution_id: Any) -> Institution | None:
    parsed = parse_id(institution_id)
    return await info.context.loaders.institution.load(parsed) if parsed else None
