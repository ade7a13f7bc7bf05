"""Institution accounts (培训机构用户, seed 001 §2): verification codes, registration by
mobile number, claims of an institution a county registered first, forgotten passwords and
personal information. Login, logout and changing the password are ``resolvers.accounts``'.

**Verification codes** are six digits, sent through ``messaging``, and stored only as a
salted HMAC-SHA256. A code is good for ``CODE_TTL`` and one use, and dies after
``MAX_ATTEMPTS`` wrong tries; only the latest code of a destination and purpose counts.
Limits, answered with the GraphQL error ``RATE_LIMITED`` and ``retryAfterSeconds``: per
destination (whatever the purpose) one code per ``RESEND_AFTER`` and ``PER_DESTINATION`` an
hour; per client address (IPv6: per /64) ``PER_ADDRESS`` an hour. A code for a forgotten
password is answered alike whether or not an account has that mobile or e-mail: the request
is recorded (and counted) either way, and the message sent only when the account exists.

**Registration** creates an account whose login name is the mobile number. A credit code
nobody registered creates the institution (机构自主注册, no registering unit) and binds it at
once. A credit code already registered is not taken over: the account is created unbound,
with a pending claim that the county of that institution confirms (binding the account) or
rejects; the institution's data is left as it is. One account manages one institution:
a claim on an institution that has an account already cannot be confirmed, and confirming
one claim rejects the other pending claims on that institution.

Validation problems are data (``FieldError``); a wrong, used or dead code is
``INVALID_CODE`` and an expired one ``CODE_EXPIRED``, on the payload.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

import messaging
from auth.passwords import hash_password_async, password_problem
from auth.permissions import InstitutionUser
from auth.ratelimit import client_bucket
from auth.scope import scope
from auth.sessions import end_sessions
from models import (
    Account,
    AccountKind,
    Channel,
    ClaimStatus,
    CodePurpose,
    Department,
    Institution,
    InstitutionClaim,
    Level,
    LoginThrottle,
    Region,
    VerificationCode,
)
from resolvers import audit, validation
from resolvers.accounts import EMAIL, MAX_PASSWORD_LENGTH, throttle_key
from resolvers.institutions import parse_id, province_of
from resolvers.pagination import Page, paginate
from resolvers.registration import Context, FieldError, Part, validate_part
from schema.errors import ApiError, ErrorCode, Forbidden

CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5
RESEND_AFTER = timedelta(seconds=60)
PER_DESTINATION = (5, timedelta(hours=1))
PER_ADDRESS = (20, timedelta(hours=1))
_CODE = re.compile(r"[0-9]{6}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TEXTS = {
    CodePurpose.REGISTER: "您正在注册全国校外教育培训监管与服务综合平台机构账号，验证码 {code}，10 分钟内有效。如非本人操作请忽略。",
    CodePurpose.RESET_PASSWORD: "您正在找回全国校外教育培训监管与服务综合平台账号密码，验证码 {code}，10 分钟内有效。请勿告诉他人。",
    CodePurpose.CHANGE_MOBILE: "您正在将此号码设为全国校外教育培训监管与服务综合平台账号的手机号，验证码 {code}，10 分钟内有效。",
}


# --- codes ----------------------------------------------------------------------------


def hash_code(code: str) -> str:
    salt = secrets.token_bytes(16)
    return salt.hex() + "$" + hmac.new(salt, code.encode(), hashlib.sha256).hexdigest()


def code_matches(code_hash: str, code: str) -> bool:
    salt, _, digest = code_hash.partition("$")
    return hmac.compare_digest(hmac.new(bytes.fromhex(salt), code.encode(), hashlib.sha256).hexdigest(), digest)


def _mobile(value: str | None, key: str, errors: list[FieldError]) -> str | None:
    """The normalised mobile of a form field, or None with the problem added to ``errors``."""
    value = validation.text(value)
    if value is None:
        errors.append(FieldError(key, ErrorCode.REQUIRED, "请填写手机号码"))
        return None
    if problem := validation.mobile(value):
        errors.append(FieldError(key, *problem))
        return None
    return validation.normalized_mobile(value)


def _email(value: str | None, key: str, errors: list[FieldError]) -> str | None:
    value = validation.text(value)
    if value is None:
        return None
    if len(value) > 254 or not EMAIL.fullmatch(value):
        errors.append(FieldError(key, ErrorCode.INVALID, "电子邮箱格式不正确"))
        return None
    return value.lower()


def _account_by(channel: Channel, destination: str) -> sa.ColumnElement[bool]:
    """The institution account with this mobile or e-mail (the partial unique indexes)."""
    column = Account.mobile if channel is Channel.MOBILE else Account.email
    return sa.and_(Account.kind == AccountKind.INSTITUTION, sa.func.lower(column) == destination)


def _rate_limited(what: str, since: datetime, window: timedelta, now: datetime) -> ApiError:
    seconds = max(1, int((since + window - now).total_seconds() + 0.999))
    return ApiError(
        f"{what}获取验证码过于频繁，请 {seconds} 秒后再试 (too many verification codes)", "RATE_LIMITED", retryAfterSeconds=seconds
    )


async def _check_limits(db: AsyncSession, destination: str, bucket: str, now: datetime) -> None:
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
    sent = await times(VerificationCode.destination, destination, window)
    if sent and sent[-1] + RESEND_AFTER > now:
        raise _rate_limited("该号码", sent[-1], RESEND_AFTER, now)
    if len(sent) >= count:
        raise _rate_limited("该号码", sent[-count], window, now)
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
    """Record and send a code; returns how long it is good for. ``CHANGE_MOBILE`` is for a
    logged-in institution account (the new number); e-mail only recovers passwords."""
    ctx = info.context
    purpose = CodePurpose(getattr(request.purpose, "value", request.purpose))
    if purpose is CodePurpose.CHANGE_MOBILE:
        InstitutionUser().has_permission(None, info)  # raises the reason when not
    errors: list[FieldError] = []
    if validation.text(request.mobile) and validation.text(request.email):
        errors.append(FieldError(None, ErrorCode.INVALID, "请只填写手机号码或电子邮箱中的一项"))
    elif validation.text(request.email):
        if purpose is not CodePurpose.RESET_PASSWORD:
            errors.append(FieldError("email", ErrorCode.NOT_ALLOWED, "电子邮箱只能用于找回密码"))
        channel, destination = Channel.EMAIL, _email(request.email, "email", errors)
    else:
        channel, destination = Channel.MOBILE, _mobile(request.mobile, "mobile", errors)
    if errors:
        return None, errors
    now = ctx.now
    bucket = client_bucket(ctx.client_address)
    async with ctx.sessionmaker() as db:
        # Count and insert under a lock per destination and per address, so that
        # simultaneous requests are counted one after another (released at commit).
        for key in (f"code-destination:{destination}", f"code-address:{bucket}"):
            await db.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(key))))
        await _check_limits(db, destination, bucket, now)
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
            deliver = bool((await db.execute(sa.select(sa.exists().where(_account_by(channel, destination))))).scalar())
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


# --- registration ---------------------------------------------------------------------


@dataclass
class NewInstitutionAccount:
    mobile: str | None
    code: str | None
    password: str | None
    name: str | None
    email: str | None
    county_code: str | None
    #: 1 基本情况, keyed like ``registration.FIELDS``.
    institution: dict[str, Any]


#: The account fields the trail records (the login name is the mobile, masked there).
_ACCOUNT_FIELDS = ["name", "mobile", "email", "institution_id", "region_code"]


def _person_name(value: str | None, errors: list[FieldError]) -> str | None:
    name = validation.text(value)
    if name is None:
        errors.append(FieldError("name", ErrorCode.REQUIRED, "请填写姓名"))
    elif len(name) > 50:
        errors.append(FieldError("name", ErrorCode.TOO_LONG, "姓名不能超过 50 个字"))
    elif _CONTROL.search(name):
        errors.append(FieldError("name", ErrorCode.INVALID, "姓名不能包含控制字符"))
    return name


async def _county(db: AsyncSession, code: str | None, errors: list[FieldError]) -> Region | None:
    """The institution's county: a region with no children below the province level."""
    region = await db.get(Region, code) if code else None
    if region is None:
        errors.append(FieldError("countyCode", ErrorCode.REQUIRED if not code else ErrorCode.NOT_FOUND, "请选择机构所在区县"))
        return None
    has_children = (await db.execute(sa.select(sa.exists().where(Region.parent_code == region.code)))).scalar()
    if has_children or region.level < 2:
        errors.append(FieldError("countyCode", ErrorCode.INVALID, "请选择区县（最低一级行政区划）"))
        return None
    return region


def _duplicate(key: str, e: IntegrityError) -> FieldError:
    text = str(e.orig)
    if "uq_account_institution_email" in text:
        return FieldError("email", ErrorCode.DUPLICATE, "该电子邮箱已被其他机构账号使用")
    if "credit_code" in text:
        return FieldError("institution.credit_code", ErrorCode.DUPLICATE, "该统一社会信用代码刚刚被登记，请重新提交")
    return FieldError(key, ErrorCode.DUPLICATE, "该手机号已注册，请直接登录或找回密码")


async def register(info, new: NewInstitutionAccount) -> tuple[Account | None, InstitutionClaim | None, list[FieldError]]:
    """Register an account with its institution's basic situation (part 1, the county
    desk's rules). Returns the account and, when the institution was registered before,
    the pending claim."""
    ctx = info.context
    errors: list[FieldError] = []
    mobile = _mobile(new.mobile, "mobile", errors)
    if not validation.text(new.code):
        errors.append(FieldError("code", ErrorCode.REQUIRED, "请填写验证码"))
    password = new.password or ""
    if not password:
        errors.append(FieldError("password", ErrorCode.REQUIRED, "请设置密码"))
    elif problem := password_problem(password[: MAX_PASSWORD_LENGTH + 1], username=mobile):
        errors.append(FieldError("password", ErrorCode.WEAK_PASSWORD, problem))
    name = _person_name(new.name, errors)
    email = _email(new.email, "email", errors)
    async with ctx.sessionmaker() as db:
        county = await _county(db, new.county_code, errors)
        checked = validate_part(
            Part.BASICS, new.institution, Context(today=ctx.now.date(), province_code=province_of(county.path) if county else "")
        )
        errors += [FieldError(f"institution.{e.key}", e.code, e.message) for e in checked.errors]
        if errors:
            return None, None, errors
        if problem := await use_code(db, Channel.MOBILE, mobile, CodePurpose.REGISTER, new.code, ctx.now):
            await db.commit()
            return None, None, [problem]
        # Checked only once the code proves the number, so that only its holder learns it.
        duplicates = []
        if (await db.execute(sa.select(sa.exists().where(sa.or_(sa.func.lower(Account.username) == mobile, _account_by(Channel.MOBILE, mobile)))))).scalar():
            duplicates.append(FieldError("mobile", ErrorCode.DUPLICATE, "该手机号已注册，请直接登录或找回密码"))
        if email and (await db.execute(sa.select(sa.exists().where(_account_by(Channel.EMAIL, email))))).scalar():
            duplicates.append(FieldError("email", ErrorCode.DUPLICATE, "该电子邮箱已被其他机构账号使用"))
        if duplicates:
            await db.commit()  # the code is spent: each probe costs one
            return None, None, duplicates
        values = {k: getattr(v, "value", v) for k, v in checked.values.items()}
        institution = (
            await db.execute(sa.select(Institution).where(Institution.credit_code == values["credit_code"]))
        ).scalar_one_or_none()
        account = Account(
            username=mobile,
            name=name,
            kind=AccountKind.INSTITUTION,
            mobile=mobile,
            email=email,
            password_hash=await hash_password_async(password),
            must_change_password=False,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        claim = None
        if institution is None:
            institution = Institution(**values, region_code=county.code, registering_unit_id=None, created_at=ctx.now, updated_at=ctx.now)
            db.add(institution)
            account.institution_id = institution.id
        else:
            claim = InstitutionClaim(account_id=account.id, institution_id=institution.id, status=ClaimStatus.PENDING, created_at=ctx.now)
        account.region_code = institution.region_code
        db.add(account)
        audit.record(db, ctx, "registerInstitutionAccount", "Account", account.id, account.region_code,
                     changed=audit.changes(None, audit.values_of(account, _ACCOUNT_FIELDS)), viewer=account)
        if claim is None:
            audit.record(db, ctx, "registerInstitution", "Institution", institution.id, institution.region_code,
                         changed=audit.changes(None, audit.values_of(institution, list(values))), viewer=account)
        else:
            db.add(claim)
            audit.record(db, ctx, "claimInstitution", "InstitutionClaim", claim.id, institution.region_code,
                         changed=audit.changes(None, audit.values_of(claim, ["account_id", "institution_id", "status"])), viewer=account)
        try:
            await db.commit()
        except IntegrityError as e:
            # A concurrent registration won the race past the checks above; the code is
            # not spent (rolled back with the rest).
            return None, None, [_duplicate("mobile", e)]
    return account, claim, []


# --- claims ---------------------------------------------------------------------------


@dataclass
class ClaimView:
    """A claim with what its readers are shown of the institution and the applicant."""

    claim: InstitutionClaim
    institution_name: str
    credit_code: str
    applicant_name: str
    applicant_mobile: str | None
    applicant_email: str | None


async def claim_views(db: AsyncSession, claims: list[InstitutionClaim]) -> list[ClaimView]:
    if not claims:
        return []
    rows = (
        await db.execute(
            sa.select(InstitutionClaim.id, Institution.name, Institution.credit_code, Account.name, Account.mobile, Account.email)
            .join(Institution, Institution.id == InstitutionClaim.institution_id)
            .join(Account, Account.id == InstitutionClaim.account_id)
            .where(InstitutionClaim.id.in_([c.id for c in claims]))
        )
    ).all()
    found = {r[0]: r[1:] for r in rows}
    return [ClaimView(c, *found[c.id]) for c in claims]


async def list_claims(info, status: ClaimStatus | None, first: int | None, after: str | None) -> Page:
    """The claims on institutions in the caller's scope, oldest first."""
    ctx = info.context
    _check_claim_reader(ctx.viewer)
    condition = scope(ctx.viewer, InstitutionClaim)
    if status is not None:
        condition = sa.and_(condition, InstitutionClaim.status == ClaimStatus(getattr(status, "value", status)))
    async with ctx.sessionmaker() as db:
        page = await paginate(db, InstitutionClaim, condition, [InstitutionClaim.created_at, InstitutionClaim.id], first=first, after=after)
        page.rows = await claim_views(db, page.rows)
    return page


async def my_claim(info, account_id: uuid.UUID) -> ClaimView | None:
    """The latest claim of an account, as the caller may see it."""
    ctx = info.context
    async with ctx.sessionmaker() as db:
        claim = (
            await db.execute(
                sa.select(InstitutionClaim)
                .where(InstitutionClaim.account_id == account_id, scope(ctx.viewer, InstitutionClaim))
                .order_by(InstitutionClaim.created_at.desc(), InstitutionClaim.id)
                .limit(1)
            )
        ).scalar_one_or_none()
        return (await claim_views(db, [claim]))[0] if claim else None


def _check_claim_reader(viewer) -> None:
    if viewer.department is not Department.EDUCATION or viewer.level is Level.SUB_UNIT:
        raise Forbidden("只有区县及以上教育部门可以查看机构认领申请 (education accounts from county level up)")


def _check_claim_decider(viewer) -> None:
    if viewer.department is not Department.EDUCATION or viewer.level is not Level.COUNTY:
        raise Forbidden("只有区县教育部门可以确认或驳回机构认领申请 (county education accounts only)")


async def _pending_claim(db: AsyncSession, viewer, claim_id: str) -> tuple[InstitutionClaim | None, FieldError | None]:
    parsed = parse_id(claim_id)
    claim = (
        await db.execute(
            sa.select(InstitutionClaim).where(InstitutionClaim.id == parsed, scope(viewer, InstitutionClaim)).with_for_update()
        )
    ).scalar_one_or_none() if parsed else None
    if claim is None:
        return None, FieldError("id", ErrorCode.NOT_FOUND, "认领申请不存在")
    if claim.status is not ClaimStatus.PENDING:
        return None, FieldError("id", ErrorCode.NOT_ALLOWED, "该认领申请已处理")
    return claim, None


def _decide(ctx, db: AsyncSession, claim: InstitutionClaim, status: ClaimStatus, reason: str | None, region_code: str, operation: str) -> None:
    before = audit.values_of(claim, ["status", "reason"])
    claim.status = status
    claim.reason = reason
    claim.decided_by = ctx.viewer.account_id
    claim.decided_at = ctx.now
    audit.record(db, ctx, operation, "InstitutionClaim", claim.id, region_code,
                 changed=audit.changes(before, audit.values_of(claim, ["status", "reason"])))


#: Why the other pending claims on an institution are rejected when one is confirmed.
OTHER_CLAIM_CONFIRMED = "该机构已确认由其他账号管理"


async def confirm_claim(info, claim_id: str) -> tuple[ClaimView | None, list[FieldError]]:
    """Bind the claiming account to the institution (the county of the institution)."""
    ctx = info.context
    _check_claim_decider(ctx.viewer)
    async with ctx.sessionmaker() as db:
        claim, problem = await _pending_claim(db, ctx.viewer, claim_id)
        if problem:
            return None, [problem]
        # The institution row's lock orders confirmations of claims on one institution.
        institution = (
            await db.execute(sa.select(Institution).where(Institution.id == claim.institution_id).with_for_update())
        ).scalar_one()
        bound = (
            await db.execute(
                sa.select(sa.exists().where(Account.kind == AccountKind.INSTITUTION, Account.institution_id == institution.id))
            )
        ).scalar()
        if bound:
            return None, [FieldError("id", ErrorCode.NOT_ALLOWED, "该机构已有机构账号，一个机构只能由一个账号管理")]
        account = (await db.execute(sa.select(Account).where(Account.id == claim.account_id).with_for_update())).scalar_one()
        before = audit.values_of(account, _ACCOUNT_FIELDS)
        account.institution_id = institution.id
        account.region_code = institution.region_code
        account.updated_at = ctx.now
        _decide(ctx, db, claim, ClaimStatus.CONFIRMED, None, institution.region_code, "confirmInstitutionClaim")
        audit.record(db, ctx, "bindInstitutionAccount", "Account", account.id, account.region_code,
                     changed=audit.changes(before, audit.values_of(account, _ACCOUNT_FIELDS)))
        others = (
            await db.execute(
                sa.select(InstitutionClaim)
                .where(InstitutionClaim.institution_id == institution.id, InstitutionClaim.status == ClaimStatus.PENDING, InstitutionClaim.id != claim.id)
                .with_for_update()
            )
        ).scalars().all()
        for other in others:
            _decide(ctx, db, other, ClaimStatus.REJECTED, OTHER_CLAIM_CONFIRMED, institution.region_code, "rejectInstitutionClaim")
        await db.commit()
        return (await claim_views(db, [claim]))[0], []


async def reject_claim(info, claim_id: str, reason: str | None) -> tuple[ClaimView | None, list[FieldError]]:
    ctx = info.context
    _check_claim_decider(ctx.viewer)
    reason = validation.text(reason)
    errors = []
    if reason is None:
        errors.append(FieldError("reason", ErrorCode.REQUIRED, "请填写驳回理由"))
    elif len(reason) > 500:
        errors.append(FieldError("reason", ErrorCode.TOO_LONG, "驳回理由不能超过 500 字"))
    async with ctx.sessionmaker() as db:
        claim, problem = await _pending_claim(db, ctx.viewer, claim_id)
        if problem:
            return None, [problem]
        if errors:
            return None, errors
        region_code = (await db.execute(sa.select(Institution.region_code).where(Institution.id == claim.institution_id))).scalar_one()
        _decide(ctx, db, claim, ClaimStatus.REJECTED, reason, region_code, "rejectInstitutionClaim")
        await db.commit()
        return (await claim_views(db, [claim]))[0], []


# --- forgotten password ---------------------------------------------------------------


async def reset_password(info, mobile_or_email: str | None, code: str | None, new_password: str | None) -> list[FieldError]:
    """找回密码 with a code sent to the account's mobile or e-mail. Every session of the
    account ends and its failed logins are forgotten. Unknown destinations answer like a
    wrong code."""
    ctx = info.context
    errors: list[FieldError] = []
    value = validation.text(mobile_or_email)
    if value is not None and "@" in value:
        channel, destination = Channel.EMAIL, _email(value, "mobileOrEmail", errors)
    else:
        channel, destination = Channel.MOBILE, _mobile(value, "mobileOrEmail", errors)
    if not validation.text(code):
        errors.append(FieldError("code", ErrorCode.REQUIRED, "请填写验证码"))
    password = new_password or ""
    if problem := password_problem(password[: MAX_PASSWORD_LENGTH + 1]):
        errors.append(FieldError("newPassword", ErrorCode.WEAK_PASSWORD, problem))
    if errors:
        return errors
    async with ctx.sessionmaker() as db:
        if problem := await use_code(db, channel, destination, CodePurpose.RESET_PASSWORD, code, ctx.now):
            await db.commit()
            return [problem]
        account = (await db.execute(sa.select(Account).where(_account_by(channel, destination)).with_for_update())).scalar_one_or_none()
        if account is None:  # the number or address moved to no account since the code was sent
            await db.commit()
            return [FieldError("code", ErrorCode.INVALID_CODE, "验证码无效，请重新获取")]
        if problem := password_problem(password, username=account.username):
            return [FieldError("newPassword", ErrorCode.WEAK_PASSWORD, problem)]  # the code stays good
        account.password_hash = await hash_password_async(password)
        account.must_change_password = False
        account.updated_at = ctx.now
        await end_sessions(db, account.id)
        await db.execute(sa.delete(LoginThrottle).where(LoginThrottle.username == throttle_key(account, account.username)))
        audit.record(db, ctx, "resetPasswordByCode", "Account", account.id, account.region_code,
                     changed={"password_hash": ["***", "***"]}, viewer=account)
        await db.commit()
    return []


# --- personal information -------------------------------------------------------------


@dataclass
class ProfileChanges:
    """个人信息: None leaves a field as it is; an empty phone or postal code clears it."""

    name: str | None = None
    mobile: str | None = None
    mobile_code: str | None = None
    institution_phone: str | None = None
    postal_code: str | None = None
    address: str | None = None
    institution_version: int | None = None


#: Profile field -> institution column.
_INSTITUTION_FIELDS = {"institution_phone": "phone", "postal_code": "postal_code", "address": "address"}


def _institution_values(changes: ProfileChanges, errors: list[FieldError]) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    if changes.institution_phone is not None:
        phone = validation.text(changes.institution_phone)
        if phone and (problem := validation.phone(phone)):
            errors.append(FieldError("institutionPhone", *problem))
        elif phone and len(phone) > 40:
            errors.append(FieldError("institutionPhone", ErrorCode.TOO_LONG, "机构电话不能超过 40 个字符"))
        values["phone"] = phone
    if changes.postal_code is not None:
        postal = validation.text(changes.postal_code)
        if postal and (problem := validation.postal_code(postal)):
            errors.append(FieldError("postalCode", *problem))
        values["postal_code"] = postal
    if changes.address is not None:
        address = validation.text(changes.address)
        if address is None:
            errors.append(FieldError("address", ErrorCode.REQUIRED, "请填写机构联系地址"))
        elif len(address) > 300:
            errors.append(FieldError("address", ErrorCode.TOO_LONG, "机构联系地址不能超过 300 个字"))
        elif _CONTROL.search(address):
            errors.append(FieldError("address", ErrorCode.INVALID, "机构联系地址不能包含换行、制表符等控制字符"))
        values["address"] = address
    return values


async def update_profile(info, changes: ProfileChanges) -> tuple[Account | None, Institution | None, list[FieldError]]:
    """The account holder's name and mobile (a new mobile needs a ``CHANGE_MOBILE`` code
    sent to it; a login name that was the old mobile follows it), and the institution's
    phone, postal code and address: an edit of those names the institution's version it
    was based on, like every edit of an institution."""
    ctx = info.context
    viewer = ctx.viewer
    errors: list[FieldError] = []
    name = _person_name(changes.name, errors) if changes.name is not None else None
    mobile = _mobile(changes.mobile, "mobile", errors) if changes.mobile is not None else None
    values = _institution_values(changes, errors)
    async with ctx.sessionmaker() as db:
        account = (await db.execute(sa.select(Account).where(Account.id == viewer.account_id).with_for_update())).scalar_one()
        institution = (
            await db.execute(
                sa.select(Institution).where(Institution.id == viewer.institution_id, scope(viewer, Institution)).with_for_update()
            )
        ).scalar_one_or_none()
        if institution is None:  # deleted by the county since the session began
            return None, None, [FieldError(None, ErrorCode.NOT_FOUND, "培训机构不存在")]
        if mobile == account.mobile:
            mobile = None  # unchanged: no code needed
        if mobile and not validation.text(changes.mobile_code):
            errors.append(FieldError("mobileCode", ErrorCode.REQUIRED, "更换手机号请填写发送到新号码的验证码"))
        values = {k: v for k, v in values.items() if getattr(institution, k) != v}
        if values and institution.review_status == "PENDING":
            errors.append(FieldError(None, ErrorCode.NOT_ALLOWED, "合规申请审核中，审核结束后再修改机构信息"))
        if values and institution.deregistered_at is not None:
            errors.append(FieldError(None, ErrorCode.NOT_ALLOWED, "机构已注销，信息只读"))
        if values and not errors:
            if changes.institution_version is None:
                errors.append(FieldError("institutionVersion", ErrorCode.REQUIRED, "修改机构信息时请带上读取到的版本号 (version)"))
            elif changes.institution_version != institution.version:
                errors.append(FieldError("institutionVersion", ErrorCode.CONFLICT, "该机构信息已被他人修改，请刷新后重新编辑"))
        if errors:
            return None, None, errors
        if mobile:
            if problem := await use_code(db, Channel.MOBILE, mobile, CodePurpose.CHANGE_MOBILE, changes.mobile_code, ctx.now, key="mobileCode"):
                await db.commit()
                return None, None, [problem]
            taken = (
                await db.execute(
                    sa.select(sa.exists().where(
                        sa.or_(sa.func.lower(Account.username) == mobile, _account_by(Channel.MOBILE, mobile)), Account.id != account.id
                    ))
                )
            ).scalar()
            if taken:
                await db.commit()
                return None, None, [FieldError("mobile", ErrorCode.DUPLICATE, "该手机号已被其他账号使用")]
        account_before = audit.values_of(account, _ACCOUNT_FIELDS)
        if name is not None:
            account.name = name
        if mobile:
            if account.username == account.mobile:
                account.username = mobile
            account.mobile = mobile
        account_changes = audit.changes(account_before, audit.values_of(account, _ACCOUNT_FIELDS))
        if account_changes:
            account.updated_at = ctx.now
            audit.record(db, ctx, "updateMyProfile", "Account", account.id, account.region_code, changed=account_changes)
        if values:
            before = audit.values_of(institution, list(values))
            for key, value in values.items():
                setattr(institution, key, value)
            institution.version += 1
            institution.updated_at = ctx.now
            audit.record(db, ctx, "updateInstitutionContact", "Institution", institution.id, institution.region_code,
                         changed=audit.changes(before, audit.values_of(institution, list(values))))
        try:
            await db.commit()
        except IntegrityError:
            return None, None, [FieldError("mobile", ErrorCode.DUPLICATE, "该手机号已被其他账号使用")]
    return account, institution, []
