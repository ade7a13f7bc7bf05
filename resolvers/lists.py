"""Black and white lists (黑白名单, docs/DOMAIN.md §R5.3): numbered periods per region and kind,
published by education accounts from county level up; entries are snapshots, so later edits
or deletions do not change a published period.

A white list names the institutions of the region (in the publisher's scope, not
deregistered) that are white-list eligible as the standing says (``resolvers.standing``:
compliant today, so not on any current black list); the others are left out, counted by
reason with the period. A black list names institutions of the publisher's scope, each with
a reason. No institution is on a current white list while a current black list names it:
publishing a black list publishes, in the same transaction, the next period of every white
list whose current period names one of its institutions, without them (a note says why).
Publications take one lock, so that two of them, in any order, see each other whole.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field

import sqlalchemy as sa
import sqlalchemy.orm
from openpyxl import Workbook

from auth.roles import is_education_county_and_up
from auth.scope import scope, subtree_of
from core.clock import today
from core.errors import BadUserInput, ErrorCode, FieldError, Forbidden
from core.ids import parse_id
from models import Institution, ListEntry, ListKind, ListPeriod, Region
from models.lists import is_current
from resolvers import audit, spreadsheets, validation
from resolvers.pagination import Page
from resolvers.public import offset_cursor, offset_of, page_size, public_region
from resolvers.standing import REASONS, Effect, conditions, facts, reason_codes

#: The most institutions one black-list period names (its payload's errors are counted by it).
MAX_BLACK_ENTRIES = 500


def title_of(region_name: str, kind: ListKind, number: int) -> str:
    return f"{region_name}校外培训机构{'白名单' if kind is ListKind.WHITE else '黑名单'}（第{number}期）"


def entry_of(institution: Institution, reason: str | None = None) -> ListEntry:
    return ListEntry(
        institution_id=institution.id, name=institution.name, credit_code=institution.credit_code, county_code=institution.region_code,
        address=institution.address, licence_number=institution.licence_number, reason=reason,
    )


#: Every publication takes this transaction lock first (pg_advisory_xact_lock).
PUBLISHING_LOCK = 0x6C697374  # "list"
#: The left-out institutions a white list's payload names (all are counted).
MAX_LEFT_OUT = 100
#: The most white lists one black list revises: one per region above each of its
#: institutions (ministry, province, prefecture, county).
MAX_REVISED = 4 * MAX_BLACK_ENTRIES


@dataclass
class BlackEntryInput:
    institution_id: str
    reason: str | None


@dataclass
class LeftOut:
    """The institutions a white list left out: how many, by reason (an institution counts
    under each of its reasons), and the first ``MAX_LEFT_OUT`` by name with their reasons."""

    total: int = 0
    by_reason: list[tuple[str, int]] = field(default_factory=list)
    institutions: list[tuple[uuid.UUID, str, list[str]]] = field(default_factory=list)


@dataclass
class Published:
    period: ListPeriod
    left_out: LeftOut | None = None
    #: The white lists' periods published with a black list, without its institutions.
    revised: list[ListPeriod] = field(default_factory=list)


async def _left_out(db, candidates: sa.ColumnElement[bool], day) -> LeftOut:
    eligible = facts(day).white_list_eligible
    codes = reason_codes({c: w for c, w in conditions(day).items() if REASONS[c].effect is not Effect.WARNING})
    left = sa.and_(candidates, sa.not_(eligible))
    coded = sa.select(sa.func.unnest(codes).label("code")).where(left).subquery()
    counts = dict((await db.execute(sa.select(coded.c.code, sa.func.count()).group_by(coded.c.code))).all())
    total = (await db.execute(sa.select(sa.func.count()).select_from(Institution).where(left))).scalar_one()
    first = (
        await db.execute(sa.select(Institution.id, Institution.name, codes).where(left).order_by(Institution.name, Institution.id).limit(MAX_LEFT_OUT))
    ).all()
    return LeftOut(
        total=total, by_reason=[(code, counts[code]) for code in REASONS if code in counts], institutions=[(i, n, list(c)) for i, n, c in first]
    )


async def _revise_white_lists(db, ctx, black: ListPeriod, named: list[uuid.UUID]) -> list[ListPeriod]:
    """The next period of every white list whose current period names one of ``named``, without them."""
    current = sa.orm.aliased(ListPeriod)
    naming = sa.exists().where(ListEntry.period_id == current.id, ListEntry.institution_id.in_(named))
    periods = (
        await db.execute(sa.select(current).where(is_current(current, ListKind.WHITE), naming).order_by(current.region_code))
    ).scalars().all()
    revised = []
    for old in periods:
        kept = (
            await db.execute(
                sa.select(ListEntry).where(ListEntry.period_id == old.id, ListEntry.institution_id.not_in(named)).order_by(ListEntry.name, ListEntry.id)
            )
        ).scalars().all()
        name = (await db.execute(sa.select(Region.name).where(Region.code == old.region_code))).scalar_one()
        removed = old.entry_count - len(kept)
        period = ListPeriod(
            region_code=old.region_code, kind=ListKind.WHITE, number=old.number + 1, title=title_of(name, ListKind.WHITE, old.number + 1),
            published_at=ctx.now, published_by=ctx.viewer.account_id, entry_count=len(kept),
            note=f"因{black.title}调整：移出 {removed} 家",
        )
        db.add(period)
        await db.flush()
        db.add_all(
            ListEntry(
                period_id=period.id, institution_id=e.institution_id, name=e.name, credit_code=e.credit_code, county_code=e.county_code,
                address=e.address, licence_number=e.licence_number,
            )
            for e in kept
        )
        audit.record(
            db, ctx, "publishListPeriod", "ListPeriod", period.id, period.region_code,
            changed={"kind": [None, "WHITE"], "number": [None, period.number], "entries": [None, len(kept)], "note": [None, period.note]},
        )
        revised.append(period)
    return revised


async def publish(info, kind: ListKind, title: str | None, black: list[BlackEntryInput]) -> tuple[Published | None, list[FieldError]]:
    """Publish the next period of the caller's region's list."""
    ctx = info.context
    viewer = ctx.viewer
    if not is_education_county_and_up(viewer):
        raise Forbidden("只有县级及以上教育部门可以发布黑白名单 (education accounts from county level up)")
    errors: list[FieldError] = []
    title = validation.text(title)
    if title is not None and len(title) > 200:
        errors.append(FieldError("title", ErrorCode.TOO_LONG, "标题不能超过 200 个字"))
    day = today(ctx.now)
    left_out = None
    async with ctx.sessionmaker() as db:
        await db.execute(sa.select(sa.func.pg_advisory_xact_lock(PUBLISHING_LOCK)))
        region = (await db.execute(sa.select(Region).where(Region.code == viewer.region_code))).scalar_one()
        in_region = sa.and_(Institution.region_code.in_(subtree_of(region.code)), scope(viewer, Institution))
        if kind is ListKind.WHITE:
            if black:
                errors.append(FieldError("entries", ErrorCode.INVALID, "白名单由符合条件的机构自动生成，不能指定机构"))
            candidates = sa.and_(in_region, Institution.deregistered_at.is_(None))
            institutions = (
                await db.execute(
                    sa.select(Institution).where(candidates, facts(day).white_list_eligible).order_by(Institution.name, Institution.id)
                )
            ).scalars().all()
            entries = [entry_of(i) for i in institutions]
            if not errors:
                left_out = await _left_out(db, candidates, day)
        else:
            if not black:
                errors.append(FieldError("entries", ErrorCode.REQUIRED, "请列出列入黑名单的机构及原因"))
            elif len(black) > MAX_BLACK_ENTRIES:
                errors.append(FieldError("entries", ErrorCode.NOT_ALLOWED, f"每期黑名单最多列入 {MAX_BLACK_ENTRIES} 家机构"))
                black = []
            wanted: dict[uuid.UUID, str] = {}
            for index, item in enumerate(black):
                parsed = parse_id(item.institution_id)
                reason = validation.text(item.reason)
                if parsed is None:
                    errors.append(FieldError(f"entries.{index}.institutionId", ErrorCode.NOT_FOUND, "培训机构不存在"))
                if reason is None:
                    errors.append(FieldError(f"entries.{index}.reason", ErrorCode.REQUIRED, "请填写列入黑名单的原因"))
                elif len(reason) > 500:
                    errors.append(FieldError(f"entries.{index}.reason", ErrorCode.TOO_LONG, "原因不能超过 500 个字"))
                if parsed is not None:
                    if parsed in wanted:
                        errors.append(FieldError(f"entries.{index}.institutionId", ErrorCode.DUPLICATE, "同一机构只能列入一次"))
                    wanted[parsed] = reason or ""
            found = {
                i.id: i for i in (await db.execute(sa.select(Institution).where(Institution.id.in_(list(wanted)), in_region))).scalars()
            } if wanted else {}
            for index, item in enumerate(black):
                parsed = parse_id(item.institution_id)
                if parsed is not None and parsed not in found:
                    errors.append(FieldError(f"entries.{index}.institutionId", ErrorCode.NOT_FOUND, "培训机构不存在"))
            entries = [entry_of(found[i], wanted[i]) for i in sorted(found, key=lambda i: (found[i].name, i))]
        if errors:
            return None, errors
        # Numbers are per region and kind; the row lock orders simultaneous publications.
        await db.execute(sa.select(Region.code).where(Region.code == region.code).with_for_update())
        number = (
            await db.execute(sa.select(sa.func.coalesce(sa.func.max(ListPeriod.number), 0) + 1).where(ListPeriod.region_code == region.code, ListPeriod.kind == kind))
        ).scalar_one()
        period = ListPeriod(
            region_code=region.code, kind=kind, number=number, title=title or title_of(region.name, kind, number),
            published_at=ctx.now, published_by=viewer.account_id, entry_count=len(entries),
        )
        db.add(period)
        await db.flush()
        for entry in entries:
            entry.period_id = period.id
        db.add_all(entries)
        audit.record(db, ctx, "publishListPeriod", "ListPeriod", period.id, region.code, changed={"kind": [None, kind.value], "number": [None, number], "entries": [None, len(entries)]})
        revised = await _revise_white_lists(db, ctx, period, [e.institution_id for e in entries]) if kind is ListKind.BLACK else []
        await db.commit()
    return Published(period, left_out, revised), []


async def periods(sessionmaker, region_code: str, kind: ListKind, first: int | None, after: str | None) -> Page:
    size = page_size(first)
    offset = offset_of(after)
    async with sessionmaker() as db:
        region = await public_region(db, region_code)
        where = sa.and_(ListPeriod.region_code == region.code, ListPeriod.kind == kind)
        rows = (await db.execute(sa.select(ListPeriod).where(where).order_by(ListPeriod.number.desc()).offset(offset).limit(size + 1))).scalars().all()
        total = (await db.execute(sa.select(sa.func.count()).select_from(ListPeriod).where(where))).scalar_one()
    return Page(rows=list(rows[:size]), cursors=[offset_cursor(offset + i + 1) for i in range(min(len(rows), size))], has_next_page=len(rows) > size, total_count=total)


async def period(sessionmaker, region_code: str, kind: ListKind, number: int | None) -> ListPeriod | None:
    """Period ``number`` of the region's list, or the current (latest) one."""
    async with sessionmaker() as db:
        region = await public_region(db, region_code)
        stmt = sa.select(ListPeriod).where(ListPeriod.region_code == region.code, ListPeriod.kind == kind)
        stmt = stmt.where(ListPeriod.number == number) if number is not None else stmt.order_by(ListPeriod.number.desc()).limit(1)
        return (await db.execute(stmt)).scalar_one_or_none()


async def entries(sessionmaker, period_id: uuid.UUID, first: int | None, after: str | None) -> Page:
    size = 50 if first is None else first
    if not 0 <= size <= 100:
        raise BadUserInput("first 必须在 0 到 100 之间", field="first", max=100)
    offset = offset_of(after, deepest=10**7)
    async with sessionmaker() as db:
        rows = (
            await db.execute(
                sa.select(ListEntry).where(ListEntry.period_id == period_id).order_by(ListEntry.name, ListEntry.id).offset(offset).limit(size + 1)
            )
        ).scalars().all()
        total = (await db.execute(sa.select(sa.func.count()).select_from(ListEntry).where(ListEntry.period_id == period_id))).scalar_one()
    return Page(rows=list(rows[:size]), cursors=[offset_cursor(offset + i + 1) for i in range(min(len(rows), size))], has_next_page=len(rows) > size, total_count=total)


async def changes(sessionmaker, current: ListPeriod) -> tuple[list[ListEntry], list[ListEntry]]:
    """(added, removed) since the previous period of the same list, by credit code."""
    async with sessionmaker() as db:
        previous = (
            await db.execute(
                sa.select(ListPeriod.id).where(
                    ListPeriod.region_code == current.region_code, ListPeriod.kind == current.kind, ListPeriod.number == current.number - 1
                )
            )
        ).scalar_one_or_none()
        now = (await db.execute(sa.select(ListEntry).where(ListEntry.period_id == current.id).order_by(ListEntry.name, ListEntry.id))).scalars().all()
        before = (
            await db.execute(sa.select(ListEntry).where(ListEntry.period_id == previous).order_by(ListEntry.name, ListEntry.id))
        ).scalars().all() if previous else []
    codes_now, codes_before = {e.credit_code for e in now}, {e.credit_code for e in before}
    return [e for e in now if e.credit_code not in codes_before], [e for e in before if e.credit_code not in codes_now]


async def list_workbook(sessionmaker, period_id: str) -> tuple[bytes, str] | None:
    """One published period as a workbook, with its file name; None for an unknown period."""
    parsed = parse_id(period_id)
    async with sessionmaker() as db:
        found = await db.get(ListPeriod, parsed) if parsed else None
        if found is None:
            return None
        rows = (await db.execute(sa.select(ListEntry).where(ListEntry.period_id == found.id).order_by(ListEntry.name, ListEntry.id))).scalars().all()
        counties = dict((await db.execute(sa.select(Region.code, Region.name).where(Region.code.in_({r.county_code for r in rows})))).all())
    black = found.kind == ListKind.BLACK
    book = Workbook(write_only=True)
    sheet = book.create_sheet("黑名单" if black else "白名单")
    spreadsheets.append(sheet, [found.title])
    spreadsheets.append(sheet, [f"发布时间 {found.published_at:%Y-%m-%d %H:%M}，共 {found.entry_count} 家"])
    headers = ["序号", "机构名称", "统一社会信用代码", "所在区县", "地址", "办学许可证编号"]
    spreadsheets.append(sheet, headers + (["列入原因"] if black else []))
    for n, e in enumerate(rows, 1):
        row = [n, e.name, e.credit_code, counties.get(e.county_code, e.county_code), e.address, e.licence_number or ""]
        spreadsheets.append(sheet, row + ([e.reason or ""] if black else []))
    output = io.BytesIO()
    book.save(output)
    return output.getvalue(), f"{'black' if black else 'white'}-list-{found.region_code}-{found.number}.xlsx"
