"""Complaints (网上投诉): filed without login (or by an institution account), routed to the
county, which accepts and replies or rejects with a reason; followed by the complainant with
the tracking number and the contact number (联系方式: a mobile or a landline).

The complainant's name and mobile are shown to the handling county desk alone (the county
education bureau the complaint is filed with); every other viewer, upper levels included,
reads them masked and sees counts and contents for supervision.

Abuse limits (answered with ``RATE_LIMITED`` and ``retryAfterSeconds``): at most
``PER_CONTACT`` submissions per contact number per day, the tight one, and ``PER_ADDRESS``
per client address per hour, loose enough for an office or a school sharing one address; the content is at most 2,000 characters. The address is the client's as uvicorn
sees it (behind a reverse proxy, run uvicorn with ``--proxy-headers`` and
``--forwarded-allow-ips`` so that it is the real client's); IPv6 clients are counted per /64.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from auth.ratelimit import client_bucket
from auth.roles import handles_complaints_of, is_county_bureau
from auth.scope import scope
from auth.viewer import Viewer
from core.clock import today
from core.errors import ApiError, ErrorCode, FieldError, Forbidden
from core.ids import parse_id
from core.masking import mask_name, mask_phone
from models import Complaint, ComplaintStatus, ComplaintType, EventType, Institution, TargetType
from models.database import single_statements
from resolvers import audit, validation
from resolvers.events import raise_event
from resolvers.filters import condition, criterion
from resolvers.pagination import Page, paginate
from resolvers.regions import find_region, unknown_region_message

PER_ADDRESS = (30, timedelta(hours=1))
PER_CONTACT = (3, timedelta(days=1))
MAX_CONTENT = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # newlines and tabs are fine in content
_TRACKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def tracking_number(now: datetime) -> str:
    """TS + date + 8 random characters: unguessable, and readable over the phone."""
    return f"TS{now:%Y%m%d}" + "".join(secrets.choice(_TRACKING_ALPHABET) for _ in range(8))



@dataclass
class NewComplaint:
    complainant_name: str | None
    complainant_mobile: str | None
    target_type: Any
    complaint_type: Any
    county_code: str | None
    target_name: str | None
    content: str | None
    institution_id: str | None = None


async def _limit(db, column, value: str, limit: tuple[int, timedelta], now: datetime, what: str) -> None:
    count, window = limit
    rows = (
        await db.execute(
            sa.select(Complaint.submitted_at)
            .where(column == value, Complaint.submitted_at > now - window)
            .order_by(Complaint.submitted_at)
        )
    ).scalars().all()
    if len(rows) >= count:
        retry = max(1, int((rows[-count] + window - now).total_seconds() + 0.999))
        raise ApiError(
            f"{what}提交投诉过于频繁，请 {retry} 秒后再试 (too many complaints)", "RATE_LIMITED", retryAfterSeconds=retry
        )


async def submit(info, new: NewComplaint) -> tuple[Complaint | None, list[FieldError]]:
    ctx = info.context
    viewer = ctx.viewer
    if viewer is not None and viewer.is_regulator:
        raise Forbidden("投诉由公众或培训机构提交 (complaints are filed by the public or institutions)")
    errors: list[FieldError] = []
    name = validation.text(new.complainant_name)
    mobile = validation.text(new.complainant_mobile)
    target_name = validation.text(new.target_name)
    content = (new.content or "").strip()
    if name is None:
        errors.append(FieldError("complainantName", ErrorCode.REQUIRED, "请填写投诉人真实姓名"))
    elif len(name) > 50 or _CONTROL.search(name) or "\n" in name:
        errors.append(FieldError("complainantName", ErrorCode.INVALID, "姓名格式不正确"))
    if mobile is None:
        errors.append(FieldError("complainantMobile", ErrorCode.REQUIRED, "请填写联系方式（手机或固定电话）"))
    elif (contact := validation.normalized_phone(mobile)) is None:
        errors.append(FieldError("complainantMobile", ErrorCode.INVALID, "联系方式应为手机号码或固定电话（含区号）"))
    else:
        mobile = contact
    for key, value in (("targetType", new.target_type), ("complaintType", new.complaint_type)):
        if value is None:
            errors.append(FieldError(key, ErrorCode.REQUIRED, "请选择投诉对象" if key == "targetType" else "请选择投诉类型"))
    if target_name is None:
        errors.append(FieldError("targetName", ErrorCode.REQUIRED, "请填写投诉对象名称"))
    elif len(target_name) > 100 or _CONTROL.search(target_name):
        errors.append(FieldError("targetName", ErrorCode.INVALID, "投诉对象名称不能超过 100 个字"))
    if not content:
        errors.append(FieldError("content", ErrorCode.REQUIRED, "请填写投诉内容"))
    elif len(content) > MAX_CONTENT:
        errors.append(FieldError("content", ErrorCode.TOO_LONG, f"投诉内容不能超过 {MAX_CONTENT} 字"))
    elif _CONTROL.search(content):
        errors.append(FieldError("content", ErrorCode.INVALID, "投诉内容不能包含控制字符"))
    async with ctx.sessionmaker() as db:
        county, lowest = await find_region(db, new.county_code, today(ctx.now))
        if county is None:
            message = await unknown_region_message(db, new.county_code, today(ctx.now), "请选择投诉机构所在区县")
            errors.append(FieldError("countyCode", ErrorCode.REQUIRED if not new.county_code else ErrorCode.NOT_FOUND, message))
        elif not lowest:
            errors.append(FieldError("countyCode", ErrorCode.INVALID, "请选择区县（最低一级行政区划）"))
        institution_id = None
        if new.institution_id is not None:
            institution_id = parse_id(new.institution_id)
            # Linking needs no visibility of the record: only that it is registered in the county.
            linked = (
                await db.execute(
                    sa.select(sa.exists().where(Institution.id == institution_id, Institution.region_code == new.county_code))
                )
            ).scalar() if institution_id else False
            if not linked:
                errors.append(FieldError("institutionId", ErrorCode.NOT_FOUND, "所选机构不在该区县的登记机构中"))
        if errors:
            return None, errors
        bucket = client_bucket(ctx.client_address)
        # Count and insert under a lock per address and per mobile, so that simultaneous
        # submissions are counted one after another (released at commit).
        for key in (f"complaint-address:{bucket}", f"complaint-mobile:{mobile}"):
            await db.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(key))))
        await _limit(db, Complaint.client_bucket, bucket, PER_ADDRESS, ctx.now, "本网络地址")
        await _limit(db, Complaint.complainant_mobile, mobile, PER_CONTACT, ctx.now, "该联系方式")
        complaint = Complaint(
            tracking_number=tracking_number(ctx.now),
            complainant_name=name,
            complainant_mobile=mobile,
            target_type=TargetType(getattr(new.target_type, "value", new.target_type)),
            complaint_type=ComplaintType(getattr(new.complaint_type, "value", new.complaint_type)),
            county_code=county.code,
            target_name=target_name,
            institution_id=institution_id,
            content=content,
            submitted_at=ctx.now,
            client_address=ctx.client_address,
            client_bucket=bucket,
            submitted_by=viewer.account_id if viewer else None,
        )
        db.add(complaint)
        audit.record(db, ctx, "submitComplaint", "Complaint", complaint.id, county.code,
                     changed=audit.changes(None, audit.values_of(complaint, ["tracking_number", "complainant_name", "complainant_mobile", "target_type", "complaint_type", "county_code", "target_name", "institution_id"])))
        await raise_event(db, EventType.COMPLAINT_RECEIVED, complaint.id, county.code, ctx.now, institution_id=institution_id)
        await db.commit()
    return complaint, []


async def status(info, number: str, mobile: str) -> Complaint | None:
    """The complaint whose tracking number and contact number both match, else None."""
    contact = validation.normalized_phone(mobile or "")
    if contact is None:
        return None
    async with info.context.sessionmaker() as db:
        await single_statements(db)  # one SELECT: no BEGIN and ROLLBACK round trips on the public path
        return (
            await db.execute(
                sa.select(Complaint).where(
                    Complaint.tracking_number == (number or "").strip().upper(),
                    Complaint.complainant_mobile == contact,
                )
            )
        ).scalar_one_or_none()


@dataclass
class ComplaintFilter:
    """The complaint list's filter: every criterion optional, with AND."""

    status: ComplaintStatus | None = criterion("办理状态", lambda v, c: Complaint.status == v.value)
    complaint_type: ComplaintType | None = criterion("投诉类型", lambda v, c: Complaint.complaint_type == v.value)
    target_type: TargetType | None = criterion("投诉对象", lambda v, c: Complaint.target_type == v.value)


async def list_complaints(info, f: ComplaintFilter | None, first: int | None, after: str | None) -> Page:
    ctx = info.context
    conditions = [scope(ctx.viewer, Complaint), condition(f)]
    async with ctx.sessionmaker() as db:
        return await paginate(db, Complaint, sa.and_(*conditions), [Complaint.submitted_at, Complaint.id], first=first, after=after)


_ALLOWED = {
    "accept": ({ComplaintStatus.SUBMITTED}, "只能受理待受理的投诉"),
    "reply": ({ComplaintStatus.ACCEPTED}, "请先受理，再答复"),
    "reject": ({ComplaintStatus.SUBMITTED, ComplaintStatus.ACCEPTED}, "已办结的投诉不能再驳回"),
}


async def handle(info, complaint_id: str, action: str, text: str | None) -> tuple[Complaint | None, list[FieldError]]:
    """受理 (accept), 答复 (reply with the handling result) or 驳回 (reject with a reason):
    the handling county desk only, each step once, timestamped with the handler."""
    ctx = info.context
    viewer = ctx.viewer
    if not is_county_bureau(viewer):
        raise Forbidden("投诉由所在区县教育部门办理 (the county education bureau handles complaints)")
    async with ctx.sessionmaker() as db:
        parsed = parse_id(complaint_id)
        complaint = (
            await db.execute(sa.select(Complaint).where(Complaint.id == parsed, scope(viewer, Complaint)).with_for_update())
        ).scalar_one_or_none() if parsed else None
        if complaint is None or not handles_complaints_of(viewer, complaint.county_code):
            return None, [FieldError("id", ErrorCode.NOT_FOUND, "投诉不存在")]
        errors = []
        allowed, message = _ALLOWED[action]
        if complaint.status not in allowed:
            errors.append(FieldError(None, ErrorCode.NOT_ALLOWED, message))
        text = validation.text(text)
        if action in ("reply", "reject"):
            key, label, limit = ("reply", "答复内容", 2000) if action == "reply" else ("reason", "驳回理由", 1000)
            if text is None:
                errors.append(FieldError(key, ErrorCode.REQUIRED, f"请填写{label}"))
            elif problem := validation.text_problem(text, label, limit, lines=True):
                errors.append(FieldError(key, *problem))
        if errors:
            return None, errors
        before = audit.values_of(complaint, ["status", "reply", "reject_reason"])
        if action == "accept":
            complaint.status, complaint.accepted_at, complaint.accepted_by = ComplaintStatus.ACCEPTED, ctx.now, viewer.account_id
        elif action == "reply":
            complaint.status, complaint.replied_at, complaint.replied_by, complaint.reply = ComplaintStatus.REPLIED, ctx.now, viewer.account_id, text
        else:
            complaint.status, complaint.rejected_at, complaint.rejected_by, complaint.reject_reason = ComplaintStatus.REJECTED, ctx.now, viewer.account_id, text
        audit.record(db, ctx, f"{action}Complaint", "Complaint", complaint.id, complaint.county_code,
                     changed=audit.changes(before, audit.values_of(complaint, ["status", "reply", "reject_reason"])))
        await db.commit()
    return complaint, []


def shown_identity(viewer: Viewer | None, complaint: Complaint) -> tuple[str, str]:
    if handles_complaints_of(viewer, complaint.county_code):
        return complaint.complainant_name, complaint.complainant_mobile
    return mask_name(complaint.complainant_name), mask_phone(complaint.complainant_mobile)
