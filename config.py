"""Settings read from the environment, in one place.

Every setting has a safe default for local development; production sets them through the
environment (never through files in the repository).

- ``DATABASE_URL``: PostgreSQL to use. Unset: an embedded PostgreSQL whose data lives in
  ``.data/pg`` (``XWPX_DATA_DIR`` moves it).
- ``XWPX_SECURE_COOKIES``: ``1`` (default ``0`` for local development) marks the session
  cookie ``Secure``.
- ``XWPX_CORS_ORIGINS``: comma-separated origins allowed to call the API from a browser
  (default none: CORS is closed).
- ``XWPX_STORAGE``: where uploaded files are kept (``storage.py``): ``local`` (default,
  ``<data dir>/files``) or ``package.module:factory`` for another storage.
- ``XWPX_SENDER``: ``module:Class`` of the sender of verification codes (``messaging``);
  default ``messaging:OutboxSender``, which logs each message and keeps it in the
  ``outbox`` table instead of sending it. Name an SMS or e-mail gateway's class here.
- ``XWPX_REPLICA_DATABASE_URL``: an optional read-only replica; public lookups and statistics
  read from it (they may lag the primary by the replication delay), everything else uses
  ``DATABASE_URL``.
- ``XWPX_PUBLIC_POOL``: database connections for callers without a session (default 5), a
  pool of their own so that heavy public traffic cannot take the regulators' connections;
  ``XWPX_PUBLIC_STATEMENT_TIMEOUT_MS`` (default 2000) bounds each of their statements.
- ``XWPX_SIGNED_IN_CONCURRENCY``: GraphQL operations of signed-in callers a worker runs at
  once (default 10, the standing connections of their pool; ``0``: no limit); the others
  wait their turn, first come first served. The worker's one event loop runs them all: more
  at once only lengthens every request's wait for it, public lookups' included.
- ``XWPX_PUBLIC_CACHE_SECONDS``: how long a worker keeps the answer of a public lookup for
  the next anonymous caller asking the same (``public_cache.py``; default 5, ``0``: off).
- ``XWPX_PUBLIC_RATE``: requests a client address may make without a session, as
  ``burst/per-second`` (default ``60/1``: 60 at once, then one a second), per worker.
- ``XWPX_PUBLIC_OPERATIONS``: ``any`` (default) or ``registered``: callers without a session
  may run only the operations registered with ``python server.py register-operations``
  (``persisted.py``).
- ``XWPX_TALLY_COMPACT_SECONDS``: how often the server folds the statistics' county
  differences into ``county_tally`` (``models/tallies.py``; default 60, ``0``: never — then
  run ``SELECT tally_compact()`` from elsewhere, or the differences table keeps growing).
- ``XWPX_ARGON2_PROFILE``: ``default`` (RFC 9106 low-memory argon2id) or ``test`` (argon2id
  with minimal cost, for the test suite only).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Settings:
    database_url: str | None = field(default_factory=lambda: os.environ.get("DATABASE_URL"))
    data_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("XWPX_DATA_DIR", ROOT / ".data"))
    )
    secure_cookies: bool = field(
        default_factory=lambda: os.environ.get("XWPX_SECURE_COOKIES", "0") == "1"
    )
    storage: str = field(default_factory=lambda: os.environ.get("XWPX_STORAGE", "local"))
    cors_origins: list[str] = field(
        default_factory=lambda: [o.strip() for o in os.environ.get("XWPX_CORS_ORIGINS", "").split(",") if o.strip()]
    )
    sender: str = field(default_factory=lambda: os.environ.get("XWPX_SENDER", "messaging:OutboxSender"))
    # The manual: "已登录用户在平台停留时间超过2小时未操作，平台自动退出当前账户".
    session_idle_timeout: timedelta = timedelta(hours=2)
    # The clock every time-dependent rule reads; tests replace it.
    clock: Callable[[], datetime] = utcnow
    graphiql: bool = True
    replica_database_url: str | None = field(default_factory=lambda: os.environ.get("XWPX_REPLICA_DATABASE_URL") or None)
    public_pool_size: int = field(default_factory=lambda: int(os.environ.get("XWPX_PUBLIC_POOL", "5")))
    public_pool_timeout: float = 1.0
    public_statement_timeout_ms: int = field(default_factory=lambda: int(os.environ.get("XWPX_PUBLIC_STATEMENT_TIMEOUT_MS", "2000")))
    signed_in_concurrency: int = field(default_factory=lambda: int(os.environ.get("XWPX_SIGNED_IN_CONCURRENCY", "10")))
    public_cache_seconds: float = field(default_factory=lambda: float(os.environ.get("XWPX_PUBLIC_CACHE_SECONDS", "5")))
    public_operations: str = field(default_factory=lambda: os.environ.get("XWPX_PUBLIC_OPERATIONS", "any"))
    tally_compact_seconds: float = field(default_factory=lambda: float(os.environ.get("XWPX_TALLY_COMPACT_SECONDS", "60")))
    public_rate: tuple[float, float] = field(
        default_factory=lambda: tuple(float(x) for x in os.environ.get("XWPX_PUBLIC_RATE", "60/1").split("/", 1))  # type: ignore[return-value]
    )
