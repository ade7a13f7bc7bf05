"""Supervision from above (督促区域整改, docs/DOMAIN.md §R3): urging notices (督办) from the prefecture,
province and ministry to a county, and the rectification counts per child region."""

from __future__ import annotations

import sqlalchemy as sa

from auth.roles import is_county_bureau, is_supervisor, is_under
from auth.scope import scope, subtree_of
from auth.viewer import Viewer
from core.clock import today
from core.errors import ErrorCode, FieldError, Forbidden
from core.ids import parse_id
from models import EventType, InspectionStatus, Institution, Region, UrgingNotice
from resolvers import audit, validation
from resolvers.events import raise_event
from resolvers.inspections.ledgers import not_allowed_errors, not_found_errors
from resolvers.institutions.listing import overdue_condition
from resolvers.pagination import Page, paginate
from resolvers.regions import find_region, listed_on, unknown_region_message


def check_supervisor(viewer: Viewer) -> None:
    if not is_supervisor(viewer):
        raise Forbidden("只有地市级、省级、部级教育部门可以督办 (prefecture, province and ministry education accounts)")


async def send_notice(info, institution_id: str | None, county_code: str | None, message: str | None) -> tuple[UrgingNotice | None, list[FieldError]]:
    """督办 a county about one institution (its county is the addressee) or about the
    county's overdue ledgers."""
    ctx = info.context
    viewer = ctx.viewer
    check_supervisor(viewer)
    errors: list[FieldError] = []
    message = validation.text(message)
    if message is None:
        errors.append(FieldError("message", ErrorCode.REQUIRED, "请填写督办内容"))
    elif len(message) > 1000:
        errors.append(FieldError("message", ErrorCode.TOO_LONG, "督办内容不能超过 1000 个字"))
    if (institution_id is None) == (county_code is None):
        errors.append(FieldError(None, ErrorCode.INVALID, "请选择督办的机构或区县（二选一）"))
        return None, errors
    async with ctx.sessionmaker() as db:
        institution = None
        if institution_id is not None:
            parsed = parse_id(institution_id)
            institution = (
                await db.execute(sa.select(Institution).where(Institution.id == parsed, scope(viewer, Institution)))
            ).scalar_one_or_none() if parsed else None
            if institution is None:
                errors.append(FieldError("institutionId", ErrorCode.NOT_FOUND, "培训机构不存在"))
            else:
                county_code = institution.region_code
        else:
            region, lowest = await find_region(db, county_code, today(ctx.now))
            if region is None:
                errors.append(FieldError("countyCode", ErrorCode.NOT_FOUND, await unknown_region_message(db, county_code, today(ctx.now), "行政区划不存在")))
            elif not is_under(viewer, region.path):
                errors.append(FieldError("countyCode", ErrorCode.OUT_OF_SCOPE, "只能督办本辖区内的区县"))
            elif not lowest:
                errors.append(FieldError("countyCode", ErrorCode.INVALID, "请选择区县（最低一级行政区划）"))
        if errors:
            return None, errors
        notice = UrgingNotice(
            sender_id=viewer.account_id,
            county_code=county_code,
            institution_id=institution.id if institution else None,
            message=message,
            sent_at=ctx.now,
        )
        db.add(notice)
        audit.record(db, ctx, "sendUrgingNotice", "UrgingNotice", notice.id, county_code,
                     changed=audit.changes(None, audit.values_of(notice, ["county_code", "institution_id", "message"])))
        await raise_event(db, EventType.URGING_NOTICE_RECEIVED, notice.id, county_code, ctx.now, institution_id=notice.institution_id)
        await db.commit()
    return notice, []


async def mark_handled(info, notice_id: str, note: str | None) -> tuple[UrgingNotice | None, list[FieldError]]:
    """The county marks a notice addressed to it handled (once)."""
    ctx = info.context
    viewer = ctx.viewer
    if not is_county_bureau(viewer):
        raise Forbidden("只有区县教育部门可以办理督办 (county education accounts only)")
    async with ctx.sessionmaker() as db:
        parsed = parse_id(notice_id)
        notice = (
            await db.execute(sa.select(UrgingNotice).where(UrgingNotice.id == parsed, scope(viewer, UrgingNotice)).with_for_update())
        ).scalar_one_or_none() if parsed else None
        if notice is None:
            return None, not_found_errors()
        errors = not_allowed_errors("该督办已办理") if notice.handled_at is not None else []
        note = validation.text(note)
        if note is None:
            errors.append(FieldError("note", ErrorCode.REQUIRED, "请填写办理情况"))
        elif problem := validation.text_problem(note, "办理情况", 1000, lines=True):
            errors.append(FieldError("note", *problem))
        if errors:
            return None, errors
        notice.handled_at, notice.handled_by, notice.handling_note = ctx.now, viewer.account_id, note
        audit.record(db, ctx, "markUrgingNoticeHandled", "UrgingNotice", notice.id, notice.county_code,
                     changed=audit.changes(None, audit.values_of(notice, ["handled_at", "handling_note"])))
        await db.commit()
    return notice, []


async def overdue_counts(info, region_code: str | None) -> list[tuple[Region, int, int]]:
    """(child region, rectifying, overdue) for each child of ``region_code`` (default: the
    caller's region), counted in SQL over the caller's scope."""
    ctx = info.context
    viewer = ctx.viewer
    code = region_code or viewer.region_code
    day = today(ctx.now)
    child = sa.orm.aliased(Region)
    below = sa.orm.aliased(Region)
    stmt = (
        sa.select(
            child,
            sa.func.count(Institution.id).filter(Institution.inspection_status == InspectionStatus.RECTIFYING),
            sa.func.count(Institution.id).filter(overdue_condition(day)),
        )
        .select_from(child)
        .join(below, below.path.like(child.path + "%"))
        .outerjoin(Institution, sa.and_(Institution.region_code == below.code, scope(viewer, Institution)))
        .where(child.parent_code == code, listed_on(day, child), child.code.in_(subtree_of(viewer.region_code)))
        .group_by(child.code)
        .order_by(child.code)
    )
    async with ctx.sessionmaker() as db:
        return [(r, rectifying, overdue) for r, rectifying, overdue in (await db.execute(stmt)).all()]


async def list_notices(info, handled: bool | None, first: int | None, after: str | None) -> Page:
    ctx = info.context
    where = scope(ctx.viewer, UrgingNotice)
    if handled is not None:
        where = sa.and_(where, UrgingNotice.handled_at.is_not(None) if handled else UrgingNotice.handled_at.is_(None))
    async with ctx.sessionmaker() as db:
        return await paginate(db, UrgingNotice, where, [UrgingNotice.sent_at, UrgingNotice.id], first=first, after=after)
