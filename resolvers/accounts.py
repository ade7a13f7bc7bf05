"""Accounts: login, logout, passwords, and the management of accounts down the tree.

Validation problems are returned as ``UserError`` lists; authentication and permission
failures are raised as ``ApiError``. A target account outside the caller's scope reads as
``NOT_FOUND``, exactly like an id that does not exist.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from auth.passwords import (
    INITIAL_PASSWORD,
    hash_password_async,
    password_problem,
    verify_password_async,
)
from auth.scope import manages, scope, subtree_of
from auth.sessions import COOKIE_NAME, create_session, end_sessions
from models import ROOT_CODE, Account, AccountKind, AuthSession, Department, Level, LoginThrottle, Region
from resolvers import audit, validation
from resolvers.pagination import Page, paginate
from schema.errors import ApiError, ErrorCode, UserError

# Login throttle: after SLOW_AFTER failures for one username each attempt waits
# 2**(failures - SLOW_AFTER) seconds (at most MAX_DELAY); LOCK_AFTER failures lock it.
SLOW_AFTER = 3
MAX_DELAY = timedelta(seconds=30)
LOCK_AFTER = 10
LOCK_FOR = timedelta(minutes=15)
MAX_PASSWORD_LENGTH = 1024
MAX_USERNAME_LENGTH = 64
#: The most sub-units (区县下属单位) under one county account (their statistics rows and
#: lists are counted by it: ``schema/limits.py``).
MAX_SUB_UNITS = 50

# Used with fullmatch: "$" alone would also accept a trailing newline.
#: The account fields the trail records on create and edit.
_ACCOUNT_FIELDS = ["username", "name", "level", "region_code", "department", "parent_id", "mobile", "email", "enabled"]
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{2,63}")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
_MOBILE_SPELLING = re.compile(r"\+?[0-9][0-9 ()-]*")


def _retry_after(until: datetime, now: datetime) -> int:
    return max(1, int((until - now).total_seconds() + 0.999))


def _delay(failures: int) -> timedelta:
    return min(MAX_DELAY, timedelta(seconds=2 ** (failures - SLOW_AFTER)))


def _invalid_credentials() -> ApiError:
    return ApiError("用户名或密码错误 (wrong username or password)", "INVALID_CREDENTIALS")


def _wait(code: str, message: str, until: datetime, now: datetime) -> ApiError:
    """A login refused until ``until``; ``message`` has a ``{seconds}`` slot."""
    seconds = _retry_after(until, now)
    return ApiError(message.format(seconds=seconds), code, retryAfterSeconds=seconds)


def _locked(until: datetime, now: datetime) -> ApiError:
    return _wait("ACCOUNT_LOCKED", "登录失败次数过多，请 {seconds} 秒后再试 (too many failed logins for this username)", until, now)


async def _locked_throttle(db: AsyncSession, key: str) -> LoginThrottle:
    """The username's throttle row, created if missing and locked until the transaction
    ends: concurrent attempts on one username are checked one after another, so a burst
    of guesses cannot all pass the throttle before the first failure is counted."""
    await db.execute(
        pg_insert(LoginThrottle).values(username=key, failures=0).on_conflict_do_nothing(index_elements=["username"])
    )
    return (
        await db.execute(sa.select(LoginThrottle).where(LoginThrottle.username == key).with_for_update())
    ).scalar_one()


def _check_throttle(throttle: LoginThrottle, now: datetime) -> None:
    if throttle.locked_until and throttle.locked_until > now:
        raise _locked(throttle.locked_until, now)
    if throttle.failures >= SLOW_AFTER and throttle.last_failure_at:
        wait_until = throttle.last_failure_at + _delay(throttle.failures)
        if now < wait_until:
            raise _wait("LOGIN_THROTTLED", "请 {seconds} 秒后再试 (repeated failed logins: wait before the next attempt)", wait_until, now)


def _record_failure(throttle: LoginThrottle, now: datetime) -> None:
    if throttle.locked_until and throttle.locked_until <= now:
        throttle.failures, throttle.locked_until = 0, None
    throttle.failures += 1
    throttle.last_failure_at = now
    if throttle.failures >= LOCK_AFTER:
        throttle.locked_until = now + LOCK_FOR


def username_problem(username: str) -> str | None:
    """Why a regulator's login name is refused, or None. It may not read as a mobile number:
    institution accounts log in by theirs, so the two would reach different accounts."""
    if not USERNAME.fullmatch(username):
        return "登录名为 3–64 位字母、数字或 _ . @ -，以字母或数字开头"
    if login_mobile(username.lower()):
        return "登录名不能是手机号码（手机号是培训机构账号的登录名）"
    return None


def login_mobile(key: str) -> str | None:
    """The mobile number a login name stands for (11 digits), if it reads as one (digits
    and separators only: phonenumbers would also read letters as keypad digits)."""
    if not _MOBILE_SPELLING.fullmatch(key) or validation.mobile(key):
        return None
    return validation.normalized_mobile(key)


def throttle_key(account: Account | None, name: str) -> str:
    """The throttle row that counts failures: the account's, whatever login name reached it
    (its username, or an institution account's mobile in any spelling); for a name that is
    no account's, that name (a number as its 11 digits), so that guessing unknown names is
    throttled alike and the throttle tells nothing about which names exist."""
    return f"account:{account.id}" if account is not None else name


async def login(info, username: str, password: str) -> tuple[str, Account]:
    """Check the password and open a session; the token goes in the payload and in an
    HttpOnly cookie. Unknown usernames cost the same argon2 verification as known ones.

    ``username`` is a login name or an institution account's mobile number, in any
    spelling (``+86 138-0013-8000``); failures are counted per account, whichever name
    reached it. Login names and institution mobiles are one namespace (a regulator's login
    name may not read as a mobile number; an institution's is its mobile), so a name
    reaches one account at most."""
    ctx = info.context
    now = ctx.now
    key = username.strip().lower()
    if len(key) > MAX_USERNAME_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        await verify_password_async(None, "")  # the same cost as any other refusal
        raise _invalid_credentials()
    mobile = login_mobile(key)
    async with ctx.sessionmaker() as db:
        by_name = sa.func.lower(Account.username) == key
        stmt = sa.select(Account).where(by_name)
        if mobile:
            by_mobile = sa.and_(Account.kind == AccountKind.INSTITUTION, sa.func.lower(Account.mobile) == mobile)
            stmt = sa.select(Account).where(sa.or_(by_name, by_mobile)).order_by(by_name.desc()).limit(1)
        account = (await db.execute(stmt)).scalar_one_or_none()
        throttle = await _locked_throttle(db, throttle_key(account, mobile or key))
        _check_throttle(throttle, now)  # a refusal rolls back, which releases the lock
        ok = await verify_password_async(account.password_hash if account else None, password)
        if not ok:
            _record_failure(throttle, now)
            await db.commit()
            if throttle.locked_until:
                raise _locked(throttle.locked_until, now)
            raise _invalid_credentials()
        await db.delete(throttle)
        if not account.enabled:
            await db.commit()
            # Only someone who knows the password learns this, so it reveals nothing to a
            # guesser, and it tells the owner whom to ask.
            raise ApiError("账号已停用，请联系上级管理员 (account disabled)", "ACCOUNT_DISABLED")
        token = await create_session(db, account.id, now, ctx.client_address)
        audit.record(db, ctx, "login", "Account", account.id, account.region_code, viewer=account)
        await db.commit()
    ctx.response.set_cookie(
        COOKIE_NAME,
        token,
        httponly=True,
        secure=ctx.settings.secure_cookies,
        samesite="lax",
        path="/",
    )
    return token, account


async def logout(info) -> bool:
    ctx = info.context
    async with ctx.sessionmaker() as db:
        await db.execute(sa.delete(AuthSession).where(AuthSession.id == ctx.viewer.session_id))
        audit.record(db, ctx, "logout", "Account", ctx.viewer.account_id, ctx.viewer.region_code)
        await db.commit()
    ctx.response.delete_cookie(COOKIE_NAME, path="/")
    return True


async def me(info) -> Account | None:
    viewer = info.context.viewer
    if viewer is None:
        return None
    return await info.context.loaders.account.load(viewer.account_id)


async def change_password(info, current: str, new: str) -> tuple[Account | None, list[UserError]]:
    """The current password first; the new one differs and meets ``STRENGTH_RULE``.
    Other sessions of the account end; this one stays."""
    ctx = info.context
    viewer = ctx.viewer
    async with ctx.sessionmaker() as db:
        account = await db.get(Account, viewer.account_id)
        if not await verify_password_async(account.password_hash, current[:MAX_PASSWORD_LENGTH]):
            return None, [UserError(field="currentPassword", code=ErrorCode.WRONG_PASSWORD, message="当前密码不正确")]
        if new == current:
            return None, [UserError(field="newPassword", code=ErrorCode.SAME_AS_CURRENT, message="新密码不能与当前密码相同")]
        if problem := password_problem(new, username=account.username):
            return None, [UserError(field="newPassword", code=ErrorCode.WEAK_PASSWORD, message=problem)]
        account.password_hash = await hash_password_async(new)
        account.must_change_password = False
        account.updated_at = ctx.now
        await end_sessions(db, account.id, keep=viewer.session_id)
        audit.record(db, ctx, "changePassword", "Account", account.id, account.region_code, changed={"password_hash": ["***", "***"]})
        await db.commit()
    return account, []


# --- account management down the tree -------------------------------------------------


@dataclass
class AccountFilter:
    level: Level | None = None
    department: Department | None = None
    region_code: str | None = None
    enabled: bool | None = None
    search: str | None = None
    parent_id: str | None = None


def _filter_condition(f: AccountFilter | None) -> sa.ColumnElement[bool]:
    conditions: list[sa.ColumnElement[bool]] = [Account.kind == AccountKind.REGULATOR]
    if f is None:
        return sa.and_(*conditions)
    if f.level is not None:
        conditions.append(Account.level == f.level)
    if f.department is not None:
        conditions.append(Account.department == f.department)
    if f.region_code:
        conditions.append(Account.region_code.in_(subtree_of(f.region_code)))
    if f.enabled is not None:
        conditions.append(Account.enabled == f.enabled)
    if f.search:
        conditions.append(
            sa.or_(Account.name.icontains(f.search, autoescape=True), Account.username.icontains(f.search, autoescape=True))
        )
    if f.parent_id is not None:
        parent_id = parse_id(f.parent_id)
        conditions.append(Account.parent_id == parent_id if parent_id else sa.false())
    return sa.and_(*conditions)


async def list_accounts(info, f: AccountFilter | None, first: int | None, after: str | None) -> Page:
    ctx = info.context
    async with ctx.sessionmaker() as db:
        return await paginate(
            db,
            Account,
            sa.and_(scope(ctx.viewer, Account), _filter_condition(f)),
            [Account.username, Account.id],
            first=first,
            after=after,
        )


def parse_id(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


async def get_account(info, account_id: str) -> Account | None:
    parsed = parse_id(account_id)
    return await info.context.loaders.account.load(parsed) if parsed else None


def _not_found(field: str = "id") -> list[UserError]:
    return [UserError(field=field, code=ErrorCode.NOT_FOUND, message="账号不存在")]


async def _managed(db: AsyncSession, viewer, account_id: str) -> Account | None:
    """The account ``account_id`` if ``viewer`` manages it (locked for update), else None."""
    parsed = parse_id(account_id)
    if parsed is None:
        return None
    return (
        await db.execute(
            sa.select(Account).where(Account.id == parsed, manages(viewer)).with_for_update()
        )
    ).scalar_one_or_none()


def _contact_errors(mobile: str | None, email: str | None) -> list[UserError]:
    errors = []
    if mobile and (problem := validation.mobile(mobile)):
        errors.append(UserError(field="mobile", code=problem[0], message=problem[1]))
    if email and (len(email) > 254 or not EMAIL.fullmatch(email)):
        errors.append(UserError(field="email", code=ErrorCode.INVALID, message="电子邮箱格式不正确"))
    return errors


def _name_errors(name: str | None, *, required: bool) -> list[UserError]:
    if name is None or not name.strip():
        return [UserError(field="name", code=ErrorCode.REQUIRED, message="请填写单位名称")] if required else []
    if len(name.strip()) > 100:
        return [UserError(field="name", code=ErrorCode.TOO_LONG, message="单位名称不能超过 100 个字")]
    return []


def _username_taken() -> UserError:
    return UserError(field="username", code=ErrorCode.DUPLICATE, message="登录名已被使用")


def _unit_taken() -> UserError:
    return UserError(field="regionCode", code=ErrorCode.DUPLICATE, message="该区划的该部门已有此级别账号")


def _region_fits(level: Level, region: Region, has_children: bool) -> bool:
    if level is Level.PROVINCE:
        return region.level == 1
    if level is Level.PREFECTURE:
        return region.level == 2
    if level is Level.COUNTY:
        # Prefectures without counties (东莞 441900) are their own lowest level.
        return region.level == 3 or (region.level == 2 and not has_children)
    return False


@dataclass
class NewAccount:
    username: str
    name: str
    level: Level
    region_code: str | None = None
    department: Department | None = None
    parent_id: str | None = None
    mobile: str | None = None
    email: str | None = None
    enabled: bool = True


async def create_account(info, new: NewAccount) -> tuple[Account | None, list[UserError]]:
    """A regulator account strictly below the caller, in its subtree, on the initial
    password. A sub-unit takes its county account's region and department."""
    ctx = info.context
    viewer = ctx.viewer
    errors: list[UserError] = []
    username = new.username.strip()
    if problem := username_problem(username):
        errors.append(UserError(field="username", code=ErrorCode.INVALID, message=problem))
    errors += _name_errors(new.name, required=True)
    errors += _contact_errors(new.mobile, new.email)
    if new.level.rank <= viewer.level.rank:
        errors.append(UserError(field="level", code=ErrorCode.NOT_ALLOWED, message="只能创建下级账号"))
        return None, errors

    async with ctx.sessionmaker() as db:
        region_code, department, parent_id = new.region_code, new.department, None
        if new.level is Level.SUB_UNIT:
            parent_ref = new.parent_id or (str(viewer.account_id) if viewer.level is Level.COUNTY else None)
            parent = None
            if parent_ref:
                parsed = parse_id(parent_ref)
                parent = (
                    await db.execute(
                        sa.select(Account).where(
                            Account.id == parsed,
                            Account.level == Level.COUNTY,
                            sa.or_(Account.id == viewer.account_id, manages(viewer)),
                        )
                        # locked, so that simultaneous creates count the sub-units one after another
                        .with_for_update()
                    )
                ).scalar_one_or_none() if parsed else None
            if parent is None:
                code = ErrorCode.NOT_FOUND if parent_ref else ErrorCode.REQUIRED
                errors.append(UserError(field="parentId", code=code, message="请选择所属区县账号"))
            else:
                region_code, department, parent_id = parent.region_code, parent.department, parent.id
                units = (await db.execute(sa.select(sa.func.count()).where(Account.parent_id == parent.id))).scalar_one()
                if units >= MAX_SUB_UNITS:
                    errors.append(UserError(field="level", code=ErrorCode.NOT_ALLOWED, message=f"每个区县最多 {MAX_SUB_UNITS} 个下属单位账号"))
        else:
            region = await db.get(Region, region_code) if region_code else None
            if region is None:
                errors.append(UserError(field="regionCode", code=ErrorCode.REQUIRED if not region_code else ErrorCode.NOT_FOUND, message="请选择有效的行政区划"))
            else:
                in_subtree = region.path.startswith(viewer.region_path)
                has_children = bool(
                    (await db.execute(sa.select(sa.exists().where(Region.parent_code == region.code)))).scalar()
                )
                if not in_subtree:
                    errors.append(UserError(field="regionCode", code=ErrorCode.OUT_OF_SCOPE, message="只能在本辖区内创建账号"))
                elif not _region_fits(new.level, region, has_children):
                    errors.append(UserError(field="regionCode", code=ErrorCode.INVALID, message="账号级别与行政区划级别不符"))
            if department is None:
                errors.append(UserError(field="department", code=ErrorCode.REQUIRED, message="请选择主管部门"))
            elif viewer.department is not Department.EDUCATION and department is not viewer.department:
                errors.append(UserError(field="department", code=ErrorCode.NOT_ALLOWED, message="只能创建本部门的账号"))
            if not errors:
                taken = (
                    await db.execute(
                        sa.select(sa.exists().where(
                            Account.region_code == region_code,
                            Account.department == department,
                            Account.level == new.level,
                        ))
                    )
                ).scalar()
                if taken:
                    errors.append(_unit_taken())
        username_taken = (
            await db.execute(sa.select(sa.exists().where(sa.func.lower(Account.username) == username.lower())))
        ).scalar()
        if username_taken:
            errors.insert(0, _username_taken())
        if errors:
            return None, errors
        account = Account(
            username=username,
            name=new.name.strip(),
            kind=AccountKind.REGULATOR,
            level=new.level,
            region_code=region_code,
            department=department,
            parent_id=parent_id,
            mobile=validation.normalized_mobile(new.mobile) if new.mobile else None,
            email=new.email or None,
            password_hash=await hash_password_async(INITIAL_PASSWORD),
            must_change_password=True,
            enabled=new.enabled,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        db.add(account)
        audit.record(db, ctx, "createRegulatorAccount", "Account", account.id, account.region_code, changed=audit.changes(None, audit.values_of(account, _ACCOUNT_FIELDS)))
        try:
            await db.commit()
        except IntegrityError as e:
            # A concurrent create won the race past the checks above.
            return None, [_unit_taken() if "uq_account_unit" in str(e.orig) else _username_taken()]
    return account, []


async def update_account(
    info, account_id: str, version: int, name: str | None, mobile: str | None, email: str | None
) -> tuple[Account | None, list[UserError]]:
    """Edit name and contacts; ``None`` leaves a field as it is, ``""`` clears a contact.
    The edit names the version it was based on: an older one is refused (CONFLICT)."""
    ctx = info.context
    errors = _name_errors(name, required=False) + _contact_errors(mobile, email)
    async with ctx.sessionmaker() as db:
        account = await _managed(db, ctx.viewer, account_id)
        if account is None:
            return None, _not_found()
        if errors:
            return None, errors
        if version != account.version:
            return None, [UserError(field="version", code=ErrorCode.CONFLICT, message="该账号信息已被他人修改，请刷新后重新编辑")]
        account.version += 1
        before = audit.values_of(account, _ACCOUNT_FIELDS)
        if name is not None and name.strip():
            account.name = name.strip()
        if mobile is not None:
            account.mobile = validation.normalized_mobile(mobile) if mobile else None
        if email is not None:
            account.email = email or None
        account.updated_at = ctx.now
        audit.record(db, ctx, "updateRegulatorAccount", "Account", account.id, account.region_code, changed=audit.changes(before, audit.values_of(account, _ACCOUNT_FIELDS)))
        await db.commit()
    return account, []


async def set_enabled(info, account_id: str, enabled: bool) -> tuple[Account | None, list[UserError]]:
    """Enable or disable; disabling ends the account's sessions."""
    ctx = info.context
    async with ctx.sessionmaker() as db:
        account = await _managed(db, ctx.viewer, account_id)
        if account is None:
            return None, _not_found()
        changed = audit.changes({"enabled": account.enabled}, {"enabled": enabled})
        account.enabled = enabled
        account.updated_at = ctx.now
        if not enabled:
            await end_sessions(db, account.id)
        audit.record(db, ctx, "setRegulatorAccountEnabled", "Account", account.id, account.region_code, changed=changed)
        await db.commit()
    return account, []


async def reset_password(info, account_id: str) -> tuple[Account | None, list[UserError]]:
    """Back to the initial password (seed 000: 密码重置后还原为初始密码), to be changed at
    the next login; the account's sessions end."""
    ctx = info.context
    async with ctx.sessionmaker() as db:
        account = await _managed(db, ctx.viewer, account_id)
        if account is None:
            return None, _not_found()
        account.password_hash = await hash_password_async(INITIAL_PASSWORD)
        account.must_change_password = True
        account.updated_at = ctx.now
        await end_sessions(db, account.id)
        audit.record(db, ctx, "resetRegulatorAccountPassword", "Account", account.id, account.region_code, changed={"password_hash": ["***", "***"]})
        await db.commit()
    return account, []


async def delete_account(info, account_id: str) -> tuple[uuid.UUID | None, list[UserError]]:
    """Delete an account below the caller. A county account with sub-units is refused
    until they are deleted (or moved)."""
    ctx = info.context
    async with ctx.sessionmaker() as db:
        account = await _managed(db, ctx.viewer, account_id)
        if account is None:
            return None, _not_found()
        has_sub_units = (
            await db.execute(sa.select(sa.exists().where(Account.parent_id == account.id)))
        ).scalar()
        if has_sub_units:
            return None, [UserError(field="id", code=ErrorCode.HAS_DEPENDENTS, message="请先删除该账号的下属单位账号")]
        audit.record(db, ctx, "deleteRegulatorAccount", "Account", account.id, account.region_code, snapshot=audit.values_of(account))
        await db.delete(account)
        await db.commit()
    return account.id, []


async def create_root_account(sessionmaker, username: str, name: str, password: str) -> str | None:
    """The ministry's education account, from the command line (``create-admin``); returns
    why it was not created, or None."""
    if problem := username_problem(username):
        return f"The username is refused: {problem}"
    async with sessionmaker() as db:
        db.add(
            Account(
                username=username,
                name=name,
                kind=AccountKind.REGULATOR,
                level=Level.MINISTRY,
                region_code=ROOT_CODE,
                department=Department.EDUCATION,
                password_hash=await hash_password_async(password),
                must_change_password=False,
            )
        )
        try:
            await db.commit()
        except IntegrityError:
            return f"An account named {username!r} or a ministry education account exists already."
    return None
