"""The public service platform (服务平台): institution lookup (机构查询) and the black and
white lists (黑白名单), for parents and the public, without login.

Lookup: by part of the name within a region (a county, prefecture or province; required),
tolerant of typing slips through PostgreSQL's ``pg_trgm`` (word similarity against the GIN
trigram index on the name, which works on Chinese text under the database's ``C.UTF-8``
character classes), plus plain substring matches (the only ones for queries too short for
trigrams). A name is similar from a word similarity of 0.5; only when no name is that close
(a slip in a short query) from 0.3. Names share long endings (培训学校, 艺术培训中心), so at 0.3
a correct query also matched every name with the same ending: at national scale thousands
of them for one brand and type, 20 ms and more to rank, while the slips that need 0.3 are
exactly the queries that match nothing at 0.5. Ranked by relevance: the exact name, then
names starting with the query, then word similarity, then whole-name similarity; ties by
name and id. Pages of at most 20, at most 200 results deep (a lookup, not a way to copy the
registry).

What a parent reads of an institution (``PublicInstitution``) is what matters to choose
one: whether it is lawful (合法: licence and business registration, not deregistered, not on
the current black list) and compliant (合规: its compliance application approved), its
licence, its teachers (names and teacher certificate status; ID numbers never, certificate
numbers masked) and the names of its filed subject classes. Nothing else: no contacts of
staff, no funds, no inspection internals.

Lists: a regulator (education, county level and up) publishes the next period (第N期) of
its own region's white list (every approved, registered institution of the region that is
not deregistered) or black list (institutions of its scope, each with a reason). Entries
are snapshots; the public reads the current period and earlier ones, with what changed
since the previous period (by credit code), and downloads a period as ``.xlsx``.
"""

from __future__ import annotations

import base64
import io
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.dialects.postgresql import ARRAY
from openpyxl import Workbook
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from auth.scope import scope, subtree_of
from models import (
    Department,
    FilingStatus,
    Institution,
    Level,
    ListEntry,
    ListKind,
    ListPeriod,
    Post,
    QualificationStatus,
    Region,
    Staff,
    StaffStatus,
    TrainingClass,
)
from resolvers import audit, validation
from resolvers.endpoints import json_error
from resolvers.institutions import parse_id
from resolvers.pagination import Page
from resolvers.registration import FieldError
from schema.errors import BadUserInput, ErrorCode, Forbidden

MAX_PUBLIC_PAGE = 20
MAX_PUBLIC_DEPTH = 200
#: Word similarity (pg_trgm ``<%``) a name needs to be a candidate; the looser one when no
#: name reaches the first.
WORD_SIMILARITY = 0.5
LOOSE_WORD_SIMILARITY = 0.3
MAX_QUERY_LENGTH = 50


# --- lookup ---------------------------------------------------------------------------


def _offset_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def _offset(after: str | None, deepest: int = MAX_PUBLIC_DEPTH) -> int:
    if not after:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(after.encode()).decode().partition(":")
        offset = int(value)
    except (ValueError, UnicodeDecodeError):
        raise BadUserInput("after 游标无效", field="after") from None
    if kind != "o" or not 0 <= offset <= deepest:
        raise BadUserInput("after 游标无效", field="after")
    return offset


def page_size(first: int | None) -> int:
    size = 10 if first is None else first
    if not 0 <= size <= MAX_PUBLIC_PAGE:
        raise BadUserInput(f"first 必须在 0 到 {MAX_PUBLIC_PAGE} 之间", field="first", max=MAX_PUBLIC_PAGE)
    return size


async def _region(db: AsyncSession, code: str | None) -> Region:
    region = (await db.execute(sa.select(Region).where(Region.code == (code or "").strip()))).scalar_one_or_none() if code else None
    if region is None or region.level == 0:
        raise BadUserInput("请选择省、市或区县 (regionCode: a province, prefecture or county code)", field="regionCode")
    return region


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def _region_codes(db: AsyncSession, code: str | None) -> list[str]:
    """The codes of the region ``code`` and of every region under it, in one statement that
    also sets, for the transaction, the word-similarity threshold and custom plans.

    The search filters by these codes as a list, so that the planner sees how big the
    subtree is: through a subquery it guessed a handful of counties and checked every name
    of a province one by one (hundreds of milliseconds at national scale). And the best
    plan depends on the values: a region index for a two-character query (too short for
    trigrams), the trigram index for a longer one in a large region. A prepared statement
    turns generic after five runs on a connection, and the generic plan took the trigram
    index for a two-character query too: a full index scan, 300 ms instead of 10."""
    found = (
        await db.execute(
            sa.text(
                "SELECT set_config('pg_trgm.word_similarity_threshold', :threshold, true),"
                " set_config('plan_cache_mode', 'force_custom_plan', true), r.level,"
                " ARRAY(SELECT s.code FROM region s WHERE s.path LIKE r.path || '%') AS codes"
                " FROM region r WHERE r.code = :code"
            ),
            {"threshold": str(WORD_SIMILARITY), "code": (code or "").strip()},
        )
    ).first() if code else None
    if found is None or found.level == 0:
        raise BadUserInput("请选择省、市或区县 (regionCode: a province, prefecture or county code)", field="regionCode")
    return list(found.codes)


async def search(sessionmaker, name: str, region_code: str, first: int | None, after: str | None) -> Page:
    """Institutions of the region whose name matches ``name``, most relevant first: the page
    and the total in one statement, and one more at the looser similarity when nothing
    matched."""
    query = validation.text(name) or ""
    if not query:
        raise BadUserInput("请输入机构名称 (name)", field="name")
    if len(query) > MAX_QUERY_LENGTH:
        raise BadUserInput(f"机构名称不能超过 {MAX_QUERY_LENGTH} 个字", field="name")
    size = page_size(first)
    offset = _offset(after)
    if offset + size > MAX_PUBLIC_DEPTH:
        size = max(MAX_PUBLIC_DEPTH - offset, 0)
    q = sa.literal(query, sa.String)
    pattern = "%" + _escape_like(query) + "%"
    # Without letters that have a case (Chinese names), LIKE finds the same names as ILIKE,
    # three times faster.
    cased = query.lower() != query or query.upper() != query
    contains = Institution.name.ilike(pattern, escape="\\") if cased else Institution.name.like(pattern, escape="\\")
    # Shorter than a trigram, a query has no word similarity with anything: substrings only.
    matches = sa.or_(contains, q.op("<%")(Institution.name)) if len(query) >= 3 else contains
    ranking = (
        (Institution.name == q).desc(),
        Institution.name.startswith(query, autoescape=True).desc(),
        sa.func.word_similarity(q, Institution.name).desc(),
        sa.func.similarity(q, Institution.name).desc(),
        Institution.name,
        Institution.id,
    )
    async with sessionmaker() as db:
        codes = await _region_codes(db, region_code)
        where = sa.and_(Institution.region_code == sa.any_(sa.bindparam("codes", codes, type_=ARRAY(sa.String))), matches)

        async def matching() -> tuple[list, int]:
            # Ranked and counted on (region, name, id) alone, which the region index holds, so
            # a scan of a region reads no table rows; only the page's rows are read in full.
            page = (
                sa.select(Institution.id, sa.func.count().over().label("total"))
                .where(where)
                .order_by(*ranking)
                .offset(offset)
                .limit(size + 1)
                .subquery()
            )
            found = (
                await db.execute(sa.select(Institution, page.c.total).join(page, page.c.id == Institution.id).order_by(*ranking))
            ).all()
            if found:
                return found, found[0].total
            # Past the last match, the window had no row to count on.
            total = (await db.execute(sa.select(sa.func.count()).select_from(Institution).where(where))).scalar_one() if offset else 0
            return found, total

        found, total = await matching()
        if total == 0 and len(query) >= 3:
            await db.execute(sa.select(sa.func.set_config("pg_trgm.word_similarity_threshold", str(LOOSE_WORD_SIMILARITY), True)))
            found, total = await matching()
    rows = [row.Institution for row in found]
    has_next = len(rows) > size and offset + size < MAX_PUBLIC_DEPTH
    rows = rows[:size]
    return Page(
        rows=rows,
        cursors=[_offset_cursor(offset + i + 1) for i in range(len(rows))],
        has_next_page=has_next,
        total_count=total,
    )


async def get_public(sessionmaker, institution_id: Any) -> Institution | None:
    parsed = parse_id(institution_id)
    if parsed is None:
        return None
    async with sessionmaker() as db:
        return await db.get(Institution, parsed)


# --- what the public reads of an institution ---------------------------------------------


@dataclass(frozen=True)
class TeacherRow:
    """What the public reads of a teacher."""

    name: str
    teacher_certificate_number: str | None


@dataclass
class PublicFacts:
    teachers: list[TeacherRow]
    filed_classes: list[str]
    black_reason: str | None


async def public_facts(sessionmaker, ids: list[uuid.UUID]) -> list[PublicFacts]:
    """Teachers, filed classes and black-list reasons of many institutions, in one statement
    (every search asks for them: the reasons decide the status)."""
    # The current period of each region's black list: the highest number.
    current = sa.orm.aliased(ListPeriod)
    newest = (
        sa.select(sa.func.max(ListPeriod.number))
        .where(ListPeriod.region_code == current.region_code, ListPeriod.kind == ListKind.BLACK)
        .scalar_subquery()
    )
    facts = sa.union_all(
        sa.select(sa.literal("teacher").label("fact"), Staff.institution_id, Staff.name.label("name"),
                  Staff.teacher_certificate_number.label("detail"), Staff.id)
        .where(Staff.institution_id.in_(ids), Staff.status == StaffStatus.ACTIVE, Staff.post == Post.TEACHING),
        sa.select(sa.literal("class"), TrainingClass.institution_id, TrainingClass.name, sa.null(), TrainingClass.id)
        .where(TrainingClass.institution_id.in_(ids), TrainingClass.filing_status == FilingStatus.FILED),
        sa.select(sa.literal("black"), ListEntry.institution_id, ListEntry.name, ListEntry.reason, ListEntry.id)
        .join(current, current.id == ListEntry.period_id)
        .where(ListEntry.institution_id.in_(ids), current.kind == ListKind.BLACK, current.number == newest),
    ).order_by("fact", "name", "id")
    teachers: dict[uuid.UUID, list[TeacherRow]] = defaultdict(list)
    classes: dict[uuid.UUID, list[str]] = defaultdict(list)
    reasons: dict[uuid.UUID, str | None] = {}
    async with sessionmaker() as db:
        for fact, institution_id, name, detail, _ in await db.execute(facts):
            if fact == "teacher":
                teachers[institution_id].append(TeacherRow(name, detail))
            elif fact == "class":
                classes[institution_id].append(name)
            else:
                reasons[institution_id] = detail
    return [PublicFacts(teachers[i], classes[i], reasons.get(i)) for i in ids]


def is_lawful(institution: Institution, today: date, black_reason: str | None) -> bool:
    """合法: a licence valid today and business registration (证照齐全), not deregistered, not
    on the current black list."""
    return (
        institution.qualification_status == QualificationStatus.FULL
        and institution.licence_valid_to is not None
        and (institution.licence_valid_from is None or institution.licence_valid_from <= today)
        and today <= institution.licence_valid_to
        and institution.deregistered_at is None
        and black_reason is None
    )


# --- lists ----------------------------------------------------------------------------

PUBLISHERS = (Level.MINISTRY, Level.PROVINCE, Level.PREFECTURE, Level.COUNTY)


def _entry(institution: Institution, reason: str | None = None) -> ListEntry:
    return ListEntry(
        institution_id=institution.id, name=institution.name, credit_code=institution.credit_code, county_code=institution.region_code,
        address=institution.address, licence_number=institution.licence_number, reason=reason,
    )


@dataclass
class BlackEntryInput:
    institution_id: str
    reason: str | None


async def publish(info, kind: ListKind, title: str | None, black: list[BlackEntryInput]) -> tuple[ListPeriod | None, list[FieldError]]:
    """Publish the next period of the caller's region's list."""
    ctx = info.context
    viewer = ctx.viewer
    if viewer.level not in PUBLISHERS or viewer.department is not Department.EDUCATION:
        raise Forbidden("只有县级及以上教育部门可以发布黑白名单 (education accounts from county level up)")
    errors: list[FieldError] = []
    title = validation.text(title)
    if title is not None and len(title) > 200:
        errors.append(FieldError("title", ErrorCode.TOO_LONG, "标题不能超过 200 个字"))
    async with ctx.sessionmaker() as db:
        region = (await db.execute(sa.select(Region).where(Region.code == viewer.region_code))).scalar_one()
        in_region = sa.and_(Institution.region_code.in_(subtree_of(region.code)), scope(viewer, Institution))
        if kind is ListKind.WHITE:
            if black:
                errors.append(FieldError("entries", ErrorCode.INVALID, "白名单由审核通过的机构自动生成，不能指定机构"))
            institutions = (
                await db.execute(
                    sa.select(Institution)
                    .where(in_region, Institution.review_status == "APPROVED", Institution.deregistered_at.is_(None))
                    .order_by(Institution.name, Institution.id)
                )
            ).scalars().all()
            entries = [_entry(i) for i in institutions]
        else:
            if not black:
                errors.append(FieldError("entries", ErrorCode.REQUIRED, "请列出列入黑名单的机构及原因"))
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
            entries = [_entry(found[i], wanted[i]) for i in sorted(found, key=lambda i: (found[i].name, i))]
        if errors:
            return None, errors
        # Numbers are per region and kind; the row lock orders simultaneous publications.
        await db.execute(sa.select(Region.code).where(Region.code == region.code).with_for_update())
        number = (
            await db.execute(sa.select(sa.func.coalesce(sa.func.max(ListPeriod.number), 0) + 1).where(ListPeriod.region_code == region.code, ListPeriod.kind == kind))
        ).scalar_one()
        label = "白名单" if kind is ListKind.WHITE else "黑名单"
        period = ListPeriod(
            region_code=region.code, kind=kind, number=number, title=title or f"{region.name}校外培训机构{label}（第{number}期）",
            published_at=ctx.now, published_by=viewer.account_id, entry_count=len(entries),
        )
        db.add(period)
        await db.flush()
        for entry in entries:
            entry.period_id = period.id
        db.add_all(entries)
        audit.record(db, ctx, "publishListPeriod", "ListPeriod", period.id, region.code, changed={"kind": [None, kind.value], "number": [None, number], "entries": [None, len(entries)]})
        await db.commit()
    return period, []


async def periods(sessionmaker, region_code: str, kind: ListKind, first: int | None, after: str | None) -> Page:
    size = page_size(first)
    offset = _offset(after)
    async with sessionmaker() as db:
        region = await _region(db, region_code)
        where = sa.and_(ListPeriod.region_code == region.code, ListPeriod.kind == kind)
        rows = (await db.execute(sa.select(ListPeriod).where(where).order_by(ListPeriod.number.desc()).offset(offset).limit(size + 1))).scalars().all()
        total = (await db.execute(sa.select(sa.func.count()).select_from(ListPeriod).where(where))).scalar_one()
    return Page(rows=list(rows[:size]), cursors=[_offset_cursor(offset + i + 1) for i in range(min(len(rows), size))], has_next_page=len(rows) > size, total_count=total)


async def period(sessionmaker, region_code: str, kind: ListKind, number: int | None) -> ListPeriod | None:
    """Period ``number`` of the region's list, or the current (latest) one."""
    async with sessionmaker() as db:
        region = await _region(db, region_code)
        stmt = sa.select(ListPeriod).where(ListPeriod.region_code == region.code, ListPeriod.kind == kind)
        stmt = stmt.where(ListPeriod.number == number) if number is not None else stmt.order_by(ListPeriod.number.desc()).limit(1)
        return (await db.execute(stmt)).scalar_one_or_none()


async def entries(sessionmaker, period_id: uuid.UUID, first: int | None, after: str | None) -> Page:
    size = 50 if first is None else first
    if not 0 <= size <= 100:
        raise BadUserInput("first 必须在 0 到 100 之间", field="first", max=100)
    offset = _offset(after, deepest=10**7)
    async with sessionmaker() as db:
        rows = (
            await db.execute(
                sa.select(ListEntry).where(ListEntry.period_id == period_id).order_by(ListEntry.name, ListEntry.id).offset(offset).limit(size + 1)
            )
        ).scalars().all()
        total = (await db.execute(sa.select(sa.func.count()).select_from(ListEntry).where(ListEntry.period_id == period_id))).scalar_one()
    return Page(rows=list(rows[:size]), cursors=[_offset_cursor(offset + i + 1) for i in range(min(len(rows), size))], has_next_page=len(rows) > size, total_count=total)


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


async def list_download(request: Request) -> Response:
    """GET /public/lists/{period_id}.xlsx: one period, no login: on the public pool, as every
    read without a session."""
    period_id = parse_id(request.path_params.get("period_id", ""))
    sessionmaker = request.app.state.public_read_sessionmaker
    async with sessionmaker() as db:
        found = await db.get(ListPeriod, period_id) if period_id else None
        if found is None:
            return json_error(404, "NOT_FOUND", "名单不存在")
        rows = (await db.execute(sa.select(ListEntry).where(ListEntry.period_id == found.id).order_by(ListEntry.name, ListEntry.id))).scalars().all()
        counties = dict((await db.execute(sa.select(Region.code, Region.name).where(Region.code.in_({r.county_code for r in rows})))).all())
    book = Workbook(write_only=True)
    sheet = book.create_sheet("黑名单" if found.kind == ListKind.BLACK else "白名单")
    sheet.append([found.title])
    sheet.append([f"发布时间 {found.published_at:%Y-%m-%d %H:%M}，共 {found.entry_count} 家"])
    headers = ["序号", "机构名称", "统一社会信用代码", "所在区县", "地址", "办学许可证编号"]
    sheet.append(headers + (["列入原因"] if found.kind == ListKind.BLACK else []))
    for n, e in enumerate(rows, 1):
        row = [n, e.name, e.credit_code, counties.get(e.county_code, e.county_code), e.address, e.licence_number or ""]
        sheet.append(row + ([e.reason or ""] if found.kind == ListKind.BLACK else []))
    output = io.BytesIO()
    book.save(output)
    name = f"{'black' if found.kind == ListKind.BLACK else 'white'}-list-{found.region_code}-{found.number}.xlsx"
    return Response(
        output.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
    )
