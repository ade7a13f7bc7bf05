"""The institution list (机构信息查询, docs/DOMAIN.md §R2.1): its filters, a page in one statement, a
record by id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from auth.scope import in_subtree, scope, sees_whole_subtree, subtree_of
from auth.viewer import Viewer
from core.clock import today
from core.errors import BadUserInput
from core.ids import parse_id
from models import Account, InspectionStatus, Institution, InstitutionFinding, Kind, Mode, Nature, Region, ReviewStatus, Severity, Site, Staff, valid_on
from models.database import single_statements
from models.statistics import county_tally, tally_rows
from resolvers.filters import RecordId, condition, criterion, given
from resolvers.finding_list import FindingRule, has_finding, rule_in
from resolvers.institutions.registration import SAVED_FLAG, Part
from resolvers.pagination import Page, page_of, page_size, page_statement
from resolvers.standing import TALLY_JOIN, ReasonCode, conditions, criterion_where, licence_expiring_within
from resolvers.standing import columns as standing_columns


def overdue_condition(today: date) -> sa.ColumnElement[bool]:
    """逾期: rectifying, with an unfinished item's deadline before ``today`` (never NULL, so
    its negation is exact)."""
    return sa.and_(
        Institution.inspection_status == "RECTIFYING",
        Institution.open_deadline.is_not(None),
        Institution.open_deadline < today,
    )


def is_overdue(inspection_status: str, open_deadline: date | None, today: date) -> bool:
    """``overdue_condition`` of one institution's values."""
    return inspection_status == "RECTIFYING" and open_deadline is not None and open_deadline < today


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


#: The furthest ahead ``licenceExpiringWithinDays`` looks.
MAX_EXPIRING_DAYS = 3650


def _days(value: int) -> int:
    if not 0 <= value <= MAX_EXPIRING_DAYS:
        raise BadUserInput(
            f"licenceExpiringWithinDays 应在 0 到 {MAX_EXPIRING_DAYS} 之间", field="licenceExpiringWithinDays", max=MAX_EXPIRING_DAYS
        )
    return value


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
    # The standing (法律状态, resolvers.standing), as of the request's day.
    licensed: bool | None = criterion("持有今天有效的办学许可证 (true) 或否 (false)", criterion_where(lambda x: x.licensed))
    lawful: bool | None = criterion("合法 (true) 或否 (false)", criterion_where(lambda x: x.lawful))
    compliant: bool | None = criterion("合规 (true) 或否 (false)", criterion_where(lambda x: x.compliant))
    white_list_eligible: bool | None = criterion("可列入白名单 (true) 或否 (false)", criterion_where(lambda x: x.white_list_eligible))
    black_listed: bool | None = criterion("列入当前一期黑名单 (true) 或否 (false)", criterion_where(lambda x: x.black_listed))
    licence_expiring_within_days: int | None = criterion(
        f"办学许可证今天有效、在此天数内到期 (0–{MAX_EXPIRING_DAYS}; 0: today)", lambda v, c: licence_expiring_within(c["today"], _days(v))
    )
    standing_reason: ReasonCode | None = criterion("法律状态有此原因", lambda v, c: conditions(c["today"])[v.value])
    region_retired: bool | None = criterion(
        "所在区划已撤销、待分配 (区划调整: institutions a split left on a retired county, for the supervisors above to assign; docs/regions.md)",
        lambda v, c: _yes_no(Institution.region_code.in_(sa.select(Region.code).where(~valid_on(c["today"]))), v),
    )
    # The findings of the rules kept on the institution's records (resolvers.finding_list).
    has_findings: bool | None = criterion("有规则检查发现的问题 (true) 或没有 (false)", lambda v, c: _yes_no(has_finding(), v))
    finding_rules: tuple[FindingRule, ...] | None = criterion(
        "有这些规则之一的问题 (a finding of any of these rules; an empty list: no criterion)", lambda v, c: has_finding(rule_in(v)), max_length=1000
    )
    finding_severity: Severity | None = criterion(
        "有此严重程度的问题 (VIOLATION 违规, WARNING 提示)", lambda v, c: has_finding(InstitutionFinding.severity == v.value)
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
    counted = tally_rows(county_tally, "region_code", "registered")
    where = in_subtree(counted.c.region_code, viewer)
    if f is not None and f.region_code:
        where = sa.and_(where, counted.c.region_code.in_(subtree_of(f.region_code)))
    return sa.select(sa.cast(sa.func.coalesce(sa.func.sum(counted.c.registered), 0), sa.BigInteger)).where(where)


#: The list's order (and its cursors' keys).
ORDER = (Institution.name, Institution.id)


def list_statement(
    viewer: Viewer | None, f: InstitutionFilter | None, size: int, after: str | None, day: date, *,
    unit: bool = False, counts: bool = False, total: bool = True, details: bool = True, standing: bool = False,
    own: tuple[str, ...] | None = None,
) -> tuple[sa.Select, sa.Select]:
    """The statement of a page of ``size`` of the list (``list_institutions``), and that of
    its total for a page that comes back empty. ``own``: the institution's columns to read
    (among ``LIST_COLUMNS``; ``id`` and ``name`` always), when a caller knows what it reads of
    a row (``schema.planner.institutions``); otherwise every column, or ``LIST_COLUMNS``
    without ``details``."""
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
    if standing:
        columns += standing_columns(day)
        joins.append(TALLY_JOIN)
    return page_statement(
        Institution, listed(viewer, f, day), ORDER, size=size, after=after, columns=columns, outer_joins=joins, count=total,
        counted=tallied_total(viewer, f), entity_columns=None if details and own is None else [Institution.__table__.c[name] for name in _own_columns(own)],
    )


def _own_columns(own: tuple[str, ...] | None) -> tuple[str, ...]:
    """``own`` with the order's columns, in ``LIST_COLUMNS``' order (``LIST_COLUMNS`` when None)."""
    if own is None:
        return LIST_COLUMNS
    unknown = set(own) - set(LIST_COLUMNS)
    if unknown:
        raise ValueError(f"not columns of a list page: {sorted(unknown)}")
    return tuple(name for name in LIST_COLUMNS if name in {"id", "name", *own})


async def list_institutions(
    info, f: InstitutionFilter | None, first: int | None, after: str | None, *,
    unit: bool = False, counts: bool = False, total: bool = True, details: bool = True, standing: bool = False,
) -> Page:
    """A page of the list as rows of the institution's columns, in one statement, with what
    its nodes show besides: ``unit`` the registering unit's ``unit_name`` and ``unit_level``
    (named on every institution its viewers see, like the ``unit`` loader), ``counts`` the
    ``site_count`` and ``active_staff_count`` of each institution (all in scope with it, as
    the ``counts`` loader reads them), ``standing`` what ``resolvers.standing.standing_of``
    builds each one's standing from; ``total`` the total count (0 without). Without
    ``details`` the rows hold ``LIST_COLUMNS`` only."""
    ctx = info.context
    size = page_size(first)
    stmt, counted = list_statement(
        ctx.viewer, f, size, after, today(ctx.now), unit=unit, counts=counts, total=total, details=details, standing=standing,
    )
    async with ctx.sessionmaker() as db:
        await single_statements(db)
        rows = list(await db.execute(stmt))
        count = 0
        if total:
            count = rows[0].total_count if rows else (await db.execute(counted)).scalar_one()
    return page_of(rows, ORDER, size, count)
