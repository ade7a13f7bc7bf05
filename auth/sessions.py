"""Login sessions: opaque random tokens, stored only as SHA-256 hashes, ended after a
period without activity (sliding: authenticated requests move the deadline, written at most
once a minute: ``TOUCH_EVERY``)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from auth.scope import subtree_codes_of
from auth.viewer import Viewer
from core.clock import today
from models import Account, AccountKind, AuthSession, Department, Level, Region, RegionChangeSet, valid_on
from models.database import single_statement_engine
from models.events import SESSIONS_CHANNEL
from models.statements import compile_template

COOKIE_NAME = "xwpx_session"

#: How stale a session's last request may be written: the idle deadline moves when a request
#: comes this long after the last one written, not on every request (a write per request
#: for a read of a page). So that no request goes unseen, a session ends when it has been
#: idle for its timeout plus this much since the last written request: between two hours
#: and two hours and a minute after its very last request, never before.
TOUCH_EVERY = timedelta(minutes=1)


def is_idle(last_seen_at: datetime, now: datetime, idle_timeout: timedelta) -> bool:
    """The idle rule, read by requests (``viewer_for_token``) and by the sockets' checks
    (``ended_sessions``) alike: a session is idle once unseen for ``idle_timeout`` plus
    ``TOUCH_EVERY``, since its last request is written at most once a ``TOUCH_EVERY``."""
    return now - last_seen_at >= idle_timeout + TOUCH_EVERY


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_session(
    db: AsyncSession, account_id: uuid.UUID, now: datetime, client_address: str | None
) -> str:
    token = secrets.token_urlsafe(32)
    db.add(
        AuthSession(
            token_hash=token_hash(token),
            account_id=account_id,
            created_at=now,
            last_seen_at=now,
            client_address=client_address,
        )
    )
    return token


def viewer_of(account: Account, session_id: uuid.UUID, region_path: str | None, subtree: tuple[str, ...] | None = None) -> Viewer:
    """The viewer of an account (its region's materialised path given, and the codes of its
    subtree when read)."""
    return Viewer(
        account_id=account.id,
        session_id=session_id,
        kind=account.kind,
        username=account.username,
        must_change_password=account.must_change_password,
        level=account.level,
        region_code=account.region_code,
        region_path=region_path,
        department=account.department,
        parent_id=account.parent_id,
        institution_id=account.institution_id,
        subtree=subtree,
    )


def _lookup() -> sa.Select:
    """The session of the token hash ``digest`` and its viewer's columns (``viewer_of``),
    touching it (sliding expiry: last seen at ``moment``) in the same statement when it is
    live (last seen after ``cutoff``), its account enabled, and its last request written
    before ``stale`` (``TOUCH_EVERY`` ago); the region's path only when the region is in
    force on ``today``. PostgreSQL runs a data-modifying WITH query whether or not the statement
    reads its result. (The parameters are not named after columns of ``auth_session``: an
    update would take such a name for a value to set.)"""
    found = (
        sa.select(
            AuthSession.id.label("session_id"), AuthSession.last_seen_at,
            Account.id, Account.kind, Account.username, Account.must_change_password, Account.level, Account.region_code,
            Account.department, Account.parent_id, Account.institution_id, Account.enabled,
            # A region retired (区划调整) gives its accounts no scope: they read nothing.
            sa.case((valid_on(sa.bindparam("today", type_=sa.Date())), Region.path), else_=None).label("region_path"),
            # Which regions' table the subtree's kept codes belong to: the change sets applied
            # (区划调整), a few a year; after another one, they are read again.
            sa.select(sa.func.md5(sa.func.string_agg(sa.cast(RegionChangeSet.id, sa.Text), aggregate_order_by(sa.literal(","), RegionChangeSet.id))))
            .scalar_subquery().label("regions_version"),
        )
        .join(Account, Account.id == AuthSession.account_id)
        .outerjoin(Region, Region.code == Account.region_code)
        .where(AuthSession.token_hash == sa.bindparam("digest"))
        .cte("found")
    )
    touch = (
        sa.update(AuthSession)
        .where(
            AuthSession.id == found.c.session_id,
            found.c.enabled,
            found.c.last_seen_at < sa.bindparam("stale"),
            found.c.last_seen_at > sa.bindparam("cutoff"),
        )
        .values(last_seen_at=sa.bindparam("moment"))
        .cte("touch")
    )
    return sa.select(found).add_cte(touch)


#: Built once: every authenticated request runs it.
_LOOKUP = _lookup()
#: ... and compiled once, sent as it is with the request's values (``models.statements``).
_LOOKUP_SENT = compile_template(_LOOKUP, ("digest", "moment", "stale", "cutoff", "today"))


def _found(row: sa.Row) -> SimpleNamespace:
    """The looked-up session's columns, with the account's enums as the ORM reads them
    (the text sent by ``exec_driver_sql`` gets no result processing)."""
    found = SimpleNamespace(**row._mapping)
    found.kind = AccountKind(found.kind)
    found.level = None if found.level is None else Level(found.level)
    found.department = None if found.department is None else Department(found.department)
    return found


async def viewer_for_token(
    db: AsyncSession | AsyncConnection, token: str, now: datetime, idle_timeout: timedelta
) -> Viewer | None:
    """The viewer behind ``token``, or None when it is unknown, idle too long or its
    account is disabled. Touches the session (sliding expiry, at most once a
    ``TOUCH_EVERY``) in the statement that reads it: one statement per authenticated
    request (and one a minute per region for the subtree's codes)."""
    sent = _LOOKUP_SENT.bind(digest=token_hash(token), moment=now, stale=now - TOUCH_EVERY, cutoff=now - idle_timeout - TOUCH_EVERY, today=today(now))
    connection = db if isinstance(db, AsyncConnection) else await db.connection()
    found = (await connection.exec_driver_sql(sent.sql, sent.args)).first()
    if found is None:
        return None
    row = _found(found)
    if is_idle(row.last_seen_at, now, idle_timeout):
        await end_idle_sessions(db, [row.session_id])
        return None
    if not row.enabled:
        return None
    await db.commit()
    subtree = await subtree_codes_of(db, row.region_path, row.regions_version) if row.region_path is not None and row.kind is AccountKind.REGULATOR else None
    return viewer_of(row, row.session_id, row.region_path, subtree)


async def end_sessions(db: AsyncSession, account_id: uuid.UUID, *, keep: uuid.UUID | None = None, disabled: bool = False) -> None:
    """End every session of an account (all but ``keep``); ``disabled``: because the account
    is disabled, which every worker hears first (its sockets close with ``ACCOUNT_DISABLED``,
    not ``SESSION_ENDED``)."""
    ending = AuthSession.account_id == account_id
    if keep is not None:
        ending &= AuthSession.id != keep
    if disabled:
        await _tell_why(db, DISABLED_PREFIX, list((await db.execute(sa.select(AuthSession.id).where(ending))).scalars()))
    await db.execute(sa.delete(AuthSession).where(ending))


#: A cookie-authenticated POST must carry this header. Browsers send no custom header
#: cross-site without a CORS preflight, which the server does not grant by default, so a
#: foreign page cannot post with the caller's cookie (CSRF). Bearer tokens need nothing.
CSRF_HEADER = "x-requested-with"

EXPIRED = "登录已超时或已失效，请重新登录 (session expired or invalid: log in again)"
CSRF = (
    "使用 Cookie 会话的 POST 请求须带 X-Requested-With 请求头 "
    "(cookie sessions need the X-Requested-With header on POST; or send Authorization: Bearer)"
)


def request_token(request) -> tuple[str | None, bool]:
    """The session token of an HTTP request (``Authorization: Bearer …`` or the cookie),
    and whether it came from the cookie."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), False
    cookie = request.cookies.get(COOKIE_NAME) or None
    return cookie, cookie is not None


async def request_viewer(request, now: datetime, connect: Callable[[], Awaitable[AsyncConnection]] | None = None) -> tuple[Viewer | None, str | None]:
    """The viewer of an HTTP request, or None with the reason a token was not honoured
    (``EXPIRED`` or ``CSRF``; None when no token came). One statement (two, once a minute
    per region, for the subtree's codes) on a Core connection without a transaction: no
    session's bookkeeping on every request. ``connect``: the request's own connection of
    the main pool (``single_statement_engine``), which the caller keeps for the request's
    next statements and closes; without it, one is checked out for the read alone."""
    token, from_cookie = request_token(request)
    if not token:
        return None, None
    if from_cookie and request.method == "POST" and CSRF_HEADER not in request.headers:
        return None, CSRF
    state = request.app.state
    if connect is not None:
        viewer = await viewer_for_token(await connect(), token, now, state.settings.session_idle_timeout)
    else:
        async with single_statement_engine(state.sessionmaker.kw["bind"]).connect() as db:
            viewer = await viewer_for_token(db, token, now, state.settings.session_idle_timeout)
    return viewer, EXPIRED if viewer is None else None


#: Why a socket's session no longer holds (``ended_sessions``), by the close code the socket
#: gets: 4401 log in again (logged out, the password changed, idle too long), 4403 the
#: account is disabled.
SESSION_ENDED = (4401, "会话已结束，请重新登录 (the session ended: logged out, or the password was changed)")
SESSION_IDLE = (4401, "登录已超时，请重新登录 (the session expired after two hours without a request)")
ACCOUNT_DISABLED = (4403, "账号已停用 (the account is disabled)")


async def ended_sessions(db: AsyncSession, session_ids: set[uuid.UUID], now: datetime, idle_timeout: timedelta) -> dict[uuid.UUID, tuple[int, str]]:
    """Of ``session_ids``, those that no longer hold at ``now``, each with its close code and
    reason: gone (logout, a password change, a disabled account end sessions), of a
    disabled account, or idle (``is_idle``; the caller ends those with
    ``delete_sessions`` once their sockets are closed, as ``viewer_for_token`` ends them).
    One statement, however many sessions; an open socket is not a request, so it does not
    keep its session alive."""
    rows = (
        await db.execute(
            sa.select(AuthSession.id, AuthSession.last_seen_at, Account.enabled)
            .join(Account, Account.id == AuthSession.account_id)
            .where(AuthSession.id.in_(session_ids))
        )
    ).all()
    ended = {session_id: SESSION_ENDED for session_id in session_ids}
    for session_id, last_seen_at, enabled in rows:
        if not enabled:
            ended[session_id] = ACCOUNT_DISABLED
        elif is_idle(last_seen_at, now, idle_timeout):
            ended[session_id] = SESSION_IDLE
        else:
            del ended[session_id]
    return ended


#: Why a session ended, notified before its deletion's own notification (``xwpx_sessions``,
#: migration 0017; those of one transaction arrive in the order sent), so that every worker
#: closes its sockets with the reason (``closing``): idle, or its account disabled; a bare
#: deletion (logout, a password change or reset) is ``SESSION_ENDED``.
IDLE_PREFIX = "idle "
DISABLED_PREFIX = "disabled "
_WHY = {IDLE_PREFIX: SESSION_IDLE, DISABLED_PREFIX: ACCOUNT_DISABLED}

_NOTIFY_WHY = sa.text("SELECT pg_notify(:channel, :prefix || id::text) FROM unnest(:ids) AS id").bindparams(sa.bindparam("ids", type_=ARRAY(sa.Uuid)))


async def _tell_why(db: AsyncSession | AsyncConnection, prefix: str, session_ids: list[uuid.UUID]) -> None:
    if session_ids:
        await db.execute(_NOTIFY_WHY, {"channel": SESSIONS_CHANNEL, "prefix": prefix, "ids": session_ids})


def closing(payload: str) -> tuple[uuid.UUID, tuple[int, str]] | None:
    """The session a ``xwpx_sessions`` notification names and the code and reason its sockets
    close with (None for a payload that names none)."""
    prefix = next((p for p in _WHY if payload.startswith(p)), "")
    try:
        return uuid.UUID(payload.removeprefix(prefix)), _WHY.get(prefix, SESSION_ENDED)
    except ValueError:
        return None


async def end_idle_sessions(db: AsyncSession | AsyncConnection, session_ids: list[uuid.UUID]) -> None:
    """End these sessions as idle (committed); every worker hears why before it hears of
    the deletion."""
    await _tell_why(db, IDLE_PREFIX, session_ids)
    await db.execute(sa.delete(AuthSession).where(AuthSession.id.in_(session_ids)))
    await db.commit()
