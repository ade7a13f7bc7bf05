"""Verification codes (验证码) of the institution accounts (docs/DOMAIN.md §P2.1, §P2.3, §P2.7).

Six digits, sent through ``resolvers.accounts.messaging``, stored only as a salted
HMAC-SHA256. A code is good for ``CODE_TTL`` and one use, and dies after ``MAX_ATTEMPTS``
wrong tries; only the latest code of a destination and purpose counts. Limits, answered
with the GraphQL error ``RATE_LIMITED`` and ``retryAfterSeconds``: per destination (whatever
the purpose) one code per ``RESEND_AFTER`` and ``PER_DESTINATION`` an hour; per client
address (IPv6: per /64) ``PER_ADDRESS`` an hour. A code for a forgotten password is
answered alike whether or not an account has that mobile or e-mail: the request is
recorded (and counted) either way, and the message sent only when the account exists.
A wrong, used or dead code is ``INVALID_CODE`` and an expired one ``CODE_EXPIRED``."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from auth.permissions import InstitutionUser
from auth.ratelimit import client_bucket
from core.errors import ApiError, ErrorCode, FieldError
from models import Account, AccountKind, Channel, CodePurpose, VerificationCode
from resolvers import audit, validation
from resolvers.accounts import messaging
from resolvers.validation import EMAIL

CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5
RESEND_AFTER = timedelta(seconds=60)
PER_DESTINATION = (5, timedelta(hours=1))
PER_ADDRESS = (20, timedelta(hours=1))
_CODE = re.compile(r"[0-9]{6}")
_TEXTS = {
    CodePurpose.REGISTER: "您正在注册全国校外教育培训监管与服务综合平台机构账号，验证码 {code}，10 分钟内有效。如非本人操作请忽略。",
    CodePurpose.RESET_PASSWORD: "您正在找回全国校外教育培训监管与服务综合平台账号密码，验证码 {code}，10 分钟内有效。请勿告诉他人。",
    CodePurpose.CHANGE_MOBILE: "您正在将此号码设为全国校外教育培训监管与服务综合平台账号的手机号，验证码 {code}，10 分钟内有效。",
    CodePurpose.CHANGE_EMAIL: "您正在将此邮箱设为全国校外教育培训监管与服务综合平台机构账号的电子邮箱，验证码 {code}，10 分钟内有效。如非本人操作请忽略。",
}


def hash_code(code: str) -> str:
    salt = secrets.token_bytes(16)
    return salt.hex() + "$" + hmac.new(salt, code.encode(), hashlib.sha256).hexdigest()


def code_matches(code_hash: str, code: str) -> bool:
    salt, _, digest = code_hash.partition("$")
    return hmac.compare_digest(hmac.new(bytes.fromhex(salt), code.encode(), hashlib.sha256).hexdigest(), digest)


def checked_mobile(value: str | None, key: str, errors: list[FieldError]) -> str | None:
    """The normalised mobile of a form field, or None with the problem added to ``errors``."""
    value = validation.text(value)
    if value is None:
        errors.append(FieldError(key, ErrorCode.REQUIRED, "请填写手机号码"))
        return None
    if problem := validation.mobile(value):
        errors.append(FieldError(key, *problem))
        return None
    return validation.normalized_mobile(value)


def checked_email(value: str | None, key: str, errors: list[FieldError]) -> str | None:
    value = validation.text(value)
    if value is None:
        return None
    if len(value) > 254 or not EMAIL.fullmatch(value):
        errors.append(FieldError(key, ErrorCode.INVALID, "电子邮箱格式不正确"))
        return None
    return value.lower()


def account_by(channel: Channel, destination: str) -> sa.ColumnElement[bool]:
    """The institution account with this mobile or e-mail (the partial unique indexes)."""
    column = Account.mobile if channel is Channel.MOBILE else Account.email
    return sa.and_(Account.kind == AccountKind.INSTITUTION, sa.func.lower(column) == destination)


def _rate_limited(what: str, since: datetime, window: timedelta, now: datetime) -> ApiError:
    seconds = max(1, int((since + window - now).total_seconds() + 0.999))
    return ApiError(
        f"{what}获取验证码过于频繁，请 {seconds} 秒后再试 (too many verification codes)", "RATE_LIMITED", retryAfterSeconds=seconds
    )


async def _check_limits(db: AsyncSession, channel: Channel, destination: str, bucket: str, now: datetime) -> None:
    async def times(column, value: str, window: timedelta) -> list[datetime]:
        return list(
            (
                await db.execute(
                    sa.select(VerificationCode.created_at)
                    .where(column == value, VerificationCode.created_at > now - window)
                    .order_by(VerificationCode.created_at)
                )
            ).scalars()
        )

    count, window = PER_DESTINATION
    what = "该邮箱" if channel is Channel.EMAIL else "该号码"
    sent = await times(VerificationCode.destination, destination, window)
    if sent and sent[-1] + RESEND_AFTER > now:
        raise _rate_limited(what, sent[-1], RESEND_AFTER, now)
    if len(sent) >= count:
        raise _rate_limited(what, sent[-count], window, now)
    count, window = PER_ADDRESS
    sent = await times(VerificationCode.client_address, bucket, window)
    if len(sent) >= count:
        raise _rate_limited("本网络地址", sent[-count], window, now)


@dataclass
class CodeRequest:
    purpose: CodePurpose
    mobile: str | None = None
    email: str | None = None


async def request_code(info, request: CodeRequest) -> tuple[timedelta | None, list[FieldError]]:
    """Record and send a code; returns how long it is good for. ``CHANGE_MOBILE`` and
    ``CHANGE_EMAIL`` are for a logged-in institution account (to the new number or
    address); an e-mail receives codes to recover a password or to become the account's."""
    ctx = info.context
    purpose = CodePurpose(getattr(request.purpose, "value", request.purpose))
    if purpose in (CodePurpose.CHANGE_MOBILE, CodePurpose.CHANGE_EMAIL):
        InstitutionUser().has_permission(None, info)  # raises the reason when not
    errors: list[FieldError] = []
    if validation.text(request.mobile) and validation.text(request.email):
        errors.append(FieldError(None, ErrorCode.INVALID, "请只填写手机号码或电子邮箱中的一项"))
    elif validation.text(request.email):
        if purpose not in (CodePurpose.RESET_PASSWORD, CodePurpose.CHANGE_EMAIL):
            errors.append(FieldError("email", ErrorCode.NOT_ALLOWED, "电子邮箱只能用于找回密码或更换电子邮箱"))
        channel, destination = Channel.EMAIL, checked_email(request.email, "email", errors)
    elif purpose is CodePurpose.CHANGE_EMAIL:
        errors.append(FieldError("email", ErrorCode.REQUIRED, "请填写新的电子邮箱"))
        channel, destination = Channel.EMAIL, None
    else:
        channel, destination = Channel.MOBILE, checked_mobile(request.mobile, "mobile", errors)
    if errors:
        return None, errors
    now = ctx.now
    bucket = client_bucket(ctx.client_address)
    async with ctx.sessionmaker() as db:
        # Count and insert under a lock per destination and per address, so that
        # simultaneous requests are counted one after another (released at commit).
        for key in (f"code-destination:{destination}", f"code-address:{bucket}"):
            await db.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(key))))
        await _check_limits(db, channel, destination, bucket, now)
        code = f"{secrets.randbelow(10**6):06d}"
        row = VerificationCode(
            channel=channel,
            destination=destination,
            purpose=purpose,
            code_hash=hash_code(code),
            created_at=now,
            expires_at=now + CODE_TTL,
            client_address=bucket,
        )
        db.add(row)
        deliver = True
        if purpose is CodePurpose.RESET_PASSWORD:
            deliver = bool((await db.execute(sa.select(sa.exists().where(account_by(channel, destination))))).scalar())
        if deliver:
            await messaging.sender(ctx.settings, db, now).send(channel, destination, _TEXTS[purpose].format(code=code))
        audit.record(
            db, ctx, "requestVerificationCode", "VerificationCode", row.id, None,
            changed={"channel": [None, channel.value], "destination": [None, messaging.masked_destination(channel, destination)], "purpose": [None, purpose.value]},
        )
        await db.commit()
    return CODE_TTL, []


async def use_code(
    db: AsyncSession, channel: Channel, destination: str, purpose: CodePurpose, code: str | None, now: datetime, key: str = "code"
) -> FieldError | None:
    """Check ``code`` against the latest code of the destination and purpose, and mark it
    used. A wrong code counts a try: the caller commits even when this returns a problem
    (nothing else may be pending in ``db`` then)."""
    row = (
        await db.execute(
            sa.select(VerificationCode)
            .where(VerificationCode.channel == channel, VerificationCode.destination == destination, VerificationCode.purpose == purpose)
            .order_by(VerificationCode.created_at.desc())
            .limit(1)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if row is None or row.used_at is not None or row.attempts >= MAX_ATTEMPTS:
        return FieldError(key, ErrorCode.INVALID_CODE, "验证码无效，请重新获取")
    if row.expires_at <= now:
        return FieldError(key, ErrorCode.CODE_EXPIRED, "验证码已过期，请重新获取")
    code = (code or "").strip()
    if not _CODE.fullmatch(code) or not code_matches(row.code_hash, code):
        row.attempts += 1
        if row.attempts >= MAX_ATTEMPTS:
            return FieldError(key, ErrorCode.INVALID_CODE, "验证码错误次数过多，请重新获取")
        return FieldError(key, ErrorCode.INVALID_CODE, "验证码错误")
    row.used_at = now
    return None
