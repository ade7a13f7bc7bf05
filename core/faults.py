"""Faults of the database told apart from bugs, in one place for every layer: the GraphQL
errors (``schema.extensions``), the HTTP routes and the session lookup before GraphQL
(``web.middleware.AnswerFaults``), the pools' connections (``models.database``), the
public rate limiter (``auth.ratelimit``) and the logs (docs/rules.md, "Faults").

- ``DATABASE_UNAVAILABLE``: the database refused or lost the connection (stopped,
  restarting, unreachable). Try again in a few seconds.
- ``SERVICE_BUSY``: no pooled connection was free in time, or a statement ran into its
  timeout. Try again shortly.

Both are expected refusals, like ``RATE_LIMITED``: logged as one WARNING line with the code
(and the request id, added to every line), never with a traceback.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import asyncpg
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger("xwpx")


@dataclass(frozen=True)
class Fault:
    code: str
    message: str
    #: What ``Retry-After`` (and ``extensions.retryAfterSeconds``) says, in seconds.
    retry_after: int


DATABASE_UNAVAILABLE = Fault("DATABASE_UNAVAILABLE", "数据库暂时不可用，请稍后重试 (the database is unavailable; try again shortly)", 5)
SERVICE_BUSY = Fault("SERVICE_BUSY", "访问繁忙，请稍后再试 (the service is busy; try again shortly)", 1)
BY_CODE = {fault.code: fault for fault in (DATABASE_UNAVAILABLE, SERVICE_BUSY)}

#: Codes of refusals that say "not now" rather than "not like this": WARNING lines.
REFUSALS = frozenset({"RATE_LIMITED", "LOGIN_THROTTLED", "SERVICE_BUSY", "DATABASE_UNAVAILABLE"})

#: The database went away or will not take connections now (SQLSTATE classes 08 and 57P).
_LOST = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    OperationalError,
)
#: The driver's words for a connection it can no longer use.
_UNUSABLE = ("connection is closed", "another operation is in progress", "another operation is cancelling")


def _chain(error: BaseException | None):
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _raised_by_driver(error: BaseException) -> bool:
    """Whether ``error`` came up through asyncpg (a socket of the database, not a file of the
    storage or anything else that raises OSError)."""
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__", "").startswith("asyncpg"):
            return True
        tb = tb.tb_next
    return False


def _unavailable(error: BaseException) -> bool:
    if isinstance(error, _LOST):
        return True
    if isinstance(error, asyncpg.exceptions.InterfaceError) and any(words in str(error) for words in _UNUSABLE):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OSError) and _raised_by_driver(error)


def _busy(error: BaseException) -> bool:
    return isinstance(error, PoolTimeout | asyncpg.exceptions.QueryCanceledError | asyncpg.exceptions.TooManyConnectionsError)


def fault_of(error: BaseException | None) -> Fault | None:
    """The fault behind ``error`` (or anything in its chain of causes), or None for any
    other failure."""
    chain = list(_chain(error))
    if any(_busy(e) for e in chain):
        return SERVICE_BUSY
    if any(_unavailable(e) for e in chain):
        return DATABASE_UNAVAILABLE
    return None


def connection_broken(error: BaseException | None) -> bool:
    """Whether the connection that raised ``error`` must be thrown away, not lent again: the
    database is gone, or the driver's protocol is out of step (``another operation is in
    progress``, after an operation was interrupted)."""
    return any(_unavailable(e) or isinstance(e, asyncpg.exceptions.InternalClientError) for e in _chain(error))


def log_refusal(code: str, what: str, cause: BaseException | None = None) -> None:
    """One WARNING line for an expected refusal: its code, what was refused, and the
    cause's type and first line when there is one (no traceback)."""
    detail = f" ({type(cause).__name__}: {str(cause).splitlines()[0][:200] if str(cause) else ''})" if cause is not None else ""
    log.warning("%s: %s%s", code, what, detail, extra={"code": code})
