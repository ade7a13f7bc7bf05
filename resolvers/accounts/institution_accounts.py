"""Institution accounts (培训机构用户, docs/DOMAIN.md §P2): registration by mobile number, forgotten
passwords and personal information.

**Registration** (§P2.1) is two steps, as the manual has them: (a) the mobile and its code
(and a password) activate the account, whose login name is the mobile; the account may log
in at once and reads which parts are still missing; (b) ``complete_institution`` fills in
the account holder's name, the county and the institution's basic situation (part 1); the
other parts are then saved one by one like every institution's. Both steps may also be
sent together. At step (b), a credit code nobody registered creates the institution (机构自主
注册, no registering unit) and binds it at once. A credit code already registered is not
taken over: the account stays unbound, with a pending claim (``resolvers.accounts.claims``);
the institution's data is left as it is."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from auth.passwords import hash_password_async, password_problem
from auth.scope import scope
from auth.sessions import end_sessions
from core.clock import today
from core.errors import ErrorCode, FieldError
from models import Account, AccountKind, Channel, ClaimStatus, CodePurpose, Institution, InstitutionClaim, LoginThrottle, Region
from resolvers import audit, findings, validation
from resolvers.accounts.codes import account_by, checked_email, checked_mobile, use_code
from resolvers.accounts.login import MAX_PASSWORD_LENGTH, throttle_key
from resolvers.institutions.registration import Context, Part, follow_kind, validate_part
from resolvers.institutions.saving import province_of
from resolvers.regions import find_region, unknown_region_message

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class NewInstitutionAccount:
    mobile: str | None
    code: str | None
    password: str | None
    name: str | None = None
    email: str | None = None
    county_code: str | None = None
    #: 1 基本情况, keyed like ``registration.FIELDS``; None: completed afterwards (step b).
    institution: dict[str, Any] | None = None


#: The account fields the trail records (the login name is the mobile, masked there).
AUDITED_FIELDS = ["name", "mobile", "email", "institution_id", "region_code"]


def _person_name(value: str | None, errors: list[FieldError]) -> str | None:
    name = validation.text(value)
    if name is None:
        errors.append(FieldError("name", ErrorCode.REQUIRED, "请填写姓名"))
    elif len(name) > 50:
        errors.append(FieldError("name", ErrorCode.TOO_LONG, "姓名不能超过 50 个字"))
    elif _CONTROL.search(name):
        errors.append(FieldError("name", ErrorCode.INVALID, "姓名不能包含控制字符"))
    return name


async def _county(db: AsyncSession, code: str | None, day: date, errors: list[FieldError]) -> Region | None:
    """The institution's county: a region in force on ``day`` with no children below the province level."""
    region, lowest = await find_region(db, code, day)
    if region is None:
        message = await unknown_region_message(db, code, day, "请选择机构所在区县")
        errors.append(FieldError("countyCode", ErrorCode.REQUIRED if not code else ErrorCode.NOT_FOUND, message))
        return None
    if not lowest:
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


async def _checked_institution(
    db: AsyncSession, ctx, county_code: str | None, data: dict[str, Any], errors: list[FieldError]
) -> tuple[Region | None, dict[str, Any]]:
    """Step (b)'s county and part 1, checked by the county desk's rules (errors keyed
    ``institution.<field>``)."""
    county = await _county(db, county_code, today(ctx.now), errors)
    checked = validate_part(Part.BASICS, data, Context(today=today(ctx.now), province_code=province_of(county.path) if county else ""))
    errors += [FieldError(f"institution.{e.key}", e.code, e.message) for e in checked.errors]
    return county, {k: getattr(v, "value", v) for k, v in checked.values.items()}


async def _registered(db: AsyncSession, values: dict[str, Any]) -> Institution | None:
    """The institution already registered with step (b)'s credit code, if any."""
    return (await db.execute(sa.select(Institution).where(Institution.credit_code == values["credit_code"]))).scalar_one_or_none()


def _bind(db: AsyncSession, ctx, account: Account, county: Region, values: dict[str, Any], institution: Institution | None) -> InstitutionClaim | None:
    """Step (b)'s writes: a new institution bound to the account, or, for a credit code
    already registered (``institution``), a pending claim. Returns the claim."""
    claim = None
    if institution is None:
        institution = Institution(**values, region_code=county.code, registering_unit_id=None, created_at=ctx.now, updated_at=ctx.now)
        follow_kind(institution)
        db.add(institution)
        account.institution_id = institution.id
        audit.record(db, ctx, "registerInstitution", "Institution", institution.id, institution.region_code,
                     changed=audit.changes(None, audit.values_of(institution, list(values))), viewer=account)
    else:
        claim = InstitutionClaim(account_id=account.id, institution_id=institution.id, status=ClaimStatus.PENDING, created_at=ctx.now)
        db.add(claim)
        audit.record(db, ctx, "claimInstitution", "InstitutionClaim", claim.id, institution.region_code,
                     changed=audit.changes(None, audit.values_of(claim, ["account_id", "institution_id", "status"])), viewer=account)
    account.region_code = institution.region_code
    return claim


async def register(info, new: NewInstitutionAccount) -> tuple[Account | None, InstitutionClaim | None, list[FieldError]]:
    """Step (a): the mobile, its REGISTER code and a password activate the account; with
    the county and the institution's basic situation (part 1) sent too, step (b) is done in
    the same call. Returns the account and, when the institution was registered before, the
    pending claim."""
    ctx = info.context
    errors: list[FieldError] = []
    mobile = checked_mobile(new.mobile, "mobile", errors)
    if not validation.text(new.code):
        errors.append(FieldError("code", ErrorCode.REQUIRED, "请填写验证码"))
    password = new.password or ""
    if not password:
        errors.append(FieldError("password", ErrorCode.REQUIRED, "请设置密码"))
    elif problem := password_problem(password[: MAX_PASSWORD_LENGTH + 1], username=mobile):
        errors.append(FieldError("password", ErrorCode.WEAK_PASSWORD, problem))
    completing = new.institution is not None or new.county_code is not None
    name = _person_name(new.name, errors) if completing or new.name is not None else None
    email = checked_email(new.email, "email", errors)
    async with ctx.sessionmaker() as db:
        county, values = await _checked_institution(db, ctx, new.county_code, new.institution or {}, errors) if completing else (None, {})
        if errors:
            return None, None, errors
        if problem := await use_code(db, Channel.MOBILE, mobile, CodePurpose.REGISTER, new.code, ctx.now):
            await db.commit()
            return None, None, [problem]
        # Checked only once the code proves the number, so that only its holder learns it.
        duplicates = []
        if (await db.execute(sa.select(sa.exists().where(sa.or_(sa.func.lower(Account.username) == mobile, account_by(Channel.MOBILE, mobile)))))).scalar():
            duplicates.append(FieldError("mobile", ErrorCode.DUPLICATE, "该手机号已注册，请直接登录或找回密码"))
        if email and (await db.execute(sa.select(sa.exists().where(account_by(Channel.EMAIL, email))))).scalar():
            duplicates.append(FieldError("email", ErrorCode.DUPLICATE, "该电子邮箱已被其他机构账号使用"))
        if duplicates:
            await db.commit()  # the code is spent: each probe costs one
            return None, None, duplicates
        account = Account(
            username=mobile,
            name=name or "",
            kind=AccountKind.INSTITUTION,
            mobile=mobile,
            email=email,
            password_hash=await hash_password_async(password),
            must_change_password=False,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        registered = await _registered(db, values) if completing else None
        account.region_code = registered.region_code if registered else county.code if county else None
        db.add(account)
        audit.record(db, ctx, "registerInstitutionAccount", "Account", account.id, account.region_code,
                     changed=audit.changes(None, audit.values_of(account, AUDITED_FIELDS)), viewer=account)
        claim = _bind(db, ctx, account, county, values, registered) if completing else None
        try:
            if completing and claim is None:  # a new institution: its findings kept from the start
                await findings.refresh(db, [account.institution_id])
            await db.commit()
        except IntegrityError as e:
            # A concurrent registration won the race past the checks above; the code is
            # not spent (rolled back with the rest).
            return None, None, [_duplicate("mobile", e)]
    return account, claim, []


async def complete_institution(
    info, name: str | None, county_code: str | None, data: dict[str, Any]
) -> tuple[Account | None, InstitutionClaim | None, list[FieldError]]:
    """Step (b), 完善机构信息: the account holder's name (账户信息), the institution's county and
    basic situation (机构信息、法定代表人信息、联系人信息), for an activated account that has no
    institution yet. A credit code nobody registered creates the institution and binds it; a
    registered one makes a pending claim, which the county confirms."""
    ctx = info.context
    errors: list[FieldError] = []
    async with ctx.sessionmaker() as db:
        account = (await db.execute(sa.select(Account).where(Account.id == ctx.viewer.account_id).with_for_update())).scalar_one()
        if account.institution_id is not None:
            return None, None, [FieldError(None, ErrorCode.NOT_ALLOWED, "机构信息已完善，请在机构信息中修改")]
        pending = (
            await db.execute(sa.select(sa.exists().where(InstitutionClaim.account_id == account.id, InstitutionClaim.status == ClaimStatus.PENDING)))
        ).scalar()
        if pending:
            return None, None, [FieldError(None, ErrorCode.NOT_ALLOWED, "机构认领申请待区县确认，请耐心等待")]
        person = _person_name(name if name is not None else (account.name or None), errors)
        county, values = await _checked_institution(db, ctx, county_code, data, errors)
        if errors:
            return None, None, errors
        before = audit.values_of(account, AUDITED_FIELDS)
        account.name = person
        claim = _bind(db, ctx, account, county, values, await _registered(db, values))
        account.version += 1
        account.updated_at = ctx.now
        audit.record(db, ctx, "completeInstitutionRegistration", "Account", account.id, account.region_code,
                     changed=audit.changes(before, audit.values_of(account, AUDITED_FIELDS)))
        try:
            await db.commit()
        except IntegrityError as e:
            return None, None, [_duplicate("institution.credit_code", e)]
    return account, claim, []


async def reset_password(info, mobile_or_email: str | None, code: str | None, new_password: str | None) -> list[FieldError]:
    """找回密码 with a code sent to the account's mobile or e-mail. Every session of the
    account ends and its failed logins are forgotten. Unknown destinations answer like a
    wrong code."""
    ctx = info.context
    errors: list[FieldError] = []
    value = validation.text(mobile_or_email)
    if value is not None and "@" in value:
        channel, destination = Channel.EMAIL, checked_email(value, "mobileOrEmail", errors)
    else:
        channel, destination = Channel.MOBILE, checked_mobile(value, "mobileOrEmail", errors)
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
        account = (await db.execute(sa.select(Account).where(account_by(channel, destination)).with_for_update())).scalar_one_or_none()
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


@dataclass
class ProfileChanges:
    """个人信息: None leaves a field as it is; an empty phone or postal code clears it."""

    name: str | None = None
    mobile: str | None = None
    mobile_code: str | None = None
    #: A new e-mail needs ``email_code`` (a ``CHANGE_EMAIL`` code sent to it); "" removes it.
    email: str | None = None
    email_code: str | None = None
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
    """The account holder's name, mobile (a new mobile needs a ``CHANGE_MOBILE`` code
    sent to it; a login name that was the old mobile follows it) and e-mail (a new one
    needs a ``CHANGE_EMAIL`` code sent to it, which proves the address; "" removes it), and the institution's
    phone, postal code and address: an edit of those names the institution's version it
    was based on, like every edit of an institution."""
    ctx = info.context
    viewer = ctx.viewer
    errors: list[FieldError] = []
    name = _person_name(changes.name, errors) if changes.name is not None else None
    mobile = checked_mobile(changes.mobile, "mobile", errors) if changes.mobile is not None else None
    email = checked_email(changes.email, "email", errors) if changes.email is not None else None
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
        remove_email = changes.email is not None and email is None and not errors
        if email == account.email:
            email = None  # unchanged: no code needed
        if email and not validation.text(changes.email_code):
            errors.append(FieldError("emailCode", ErrorCode.REQUIRED, "设置电子邮箱请填写发送到该邮箱的验证码"))
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
                        sa.or_(sa.func.lower(Account.username) == mobile, account_by(Channel.MOBILE, mobile)), Account.id != account.id
                    ))
                )
            ).scalar()
            if taken:
                await db.commit()
                return None, None, [FieldError("mobile", ErrorCode.DUPLICATE, "该手机号已被其他账号使用")]
        if email:
            if problem := await use_code(db, Channel.EMAIL, email, CodePurpose.CHANGE_EMAIL, changes.email_code, ctx.now, key="emailCode"):
                await db.commit()
                return None, None, [problem]
            if (await db.execute(sa.select(sa.exists().where(account_by(Channel.EMAIL, email), Account.id != account.id)))).scalar():
                await db.commit()
                return None, None, [FieldError("email", ErrorCode.DUPLICATE, "该电子邮箱已被其他机构账号使用")]
        account_before = audit.values_of(account, AUDITED_FIELDS)
        if email or remove_email:
            account.email = email
        if name is not None:
            account.name = name
        if mobile:
            if account.username == account.mobile:
                account.username = mobile
            account.mobile = mobile
        account_changes = audit.changes(account_before, audit.values_of(account, AUDITED_FIELDS))
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
        except IntegrityError as e:
            if "uq_account_institution_email" in str(e.orig):
                return None, None, [FieldError("email", ErrorCode.DUPLICATE, "该电子邮箱已被其他机构账号使用")]
            return None, None, [FieldError("mobile", ErrorCode.DUPLICATE, "该手机号已被其他账号使用")]
    return account, institution, []
