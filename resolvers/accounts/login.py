"""Login, logout, the viewer's own account and changing the password (docs/DOMAIN.md §R1,
§P2.2–§P2.5), with the login throttle: failures counted per login name."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from auth.passwords import hash_password_async, password_problem, verify_password_async
from auth.sessions import COOKIE_NAME, create_session, end_sessions
from core.errors import ApiError, ErrorCode, FieldError
from models import Account, AccountKind, AuthSession, LoginThrottle
from resolvers import audit, validation

# Login throttle: after SLOW_AFTER failures for one username each attempt waits
# 2**(failures - SLOW_AFTER) seconds (at most MAX_DELAY); LOCK_AFTER failures lock it.
SLOW_AFTER = 3
MAX_DELAY = timedelta(seconds=30)
LOCK_AFTER = 10
LOCK_FOR = timedelta(minutes=15)
MAX_PASSWORD_LENGTH = 1024
MAX_USERNAME_LENGTH = 64

#: How people write a mobile number: digits, perhaps with +, spaces, dashes, parentheses.
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


async def change_password(info, current: str, new: str) -> tuple[Account | None, list[FieldError]]:
    """The current password first; the new one differs and meets ``STRENGTH_RULE``.
    Other sessions of the account end; this one stays."""
    ctx = info.context
    viewer = ctx.viewer
    async with ctx.sessionmaker() as db:
        account = await db.get(Account, viewer.account_id)
        errors = []
        if not await verify_password_async(account.password_hash, current[:MAX_PASSWORD_LENGTH]):
            errors.append(FieldError("currentPassword", ErrorCode.WRONG_PASSWORD, "当前密码不正确"))
        if new == current:
            errors.append(FieldError("newPassword", ErrorCode.SAME_AS_CURRENT, "新密码不能与当前密码相同"))
        elif problem := password_problem(new, username=account.username):
            errors.append(FieldError("newPassword", ErrorCode.WEAK_PASSWORD, problem))
        if errors:
            return None, errors
        account.password_hash = await hash_password_async(new)
        account.must_change_password = False
        account.updated_at = ctx.now
        await end_sessions(db, account.id, keep=viewer.session_id)
        audit.record(db, ctx, "changePassword", "Account", account.id, account.region_code, changed={"password_hash": ["***", "***"]})
        await db.commit()
    return account, []
