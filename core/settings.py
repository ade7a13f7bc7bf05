"""Settings: every environment variable the server reads, in one typed class.

Each has a safe default for local development; production sets them through the
environment, never through files in the repository. A value that does not parse is refused
at start with the variable's name (``SettingsError``). Booleans are written as people write
them: ``1``/``0``, ``true``/``false``, ``yes``/``no``, ``on``/``off`` (any case).

``docs/operations.md`` shows the same table for operators; ``tests/test_settings.py`` checks
that the two agree. A test or a tool passes values as keyword arguments, which win over the
environment (``Settings(database_url=..., clock=...)``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.clock import utcnow

#: The repository's root folder (the default data folder is below it).
ROOT = Path(__file__).resolve().parent.parent
PREFIX = "XWPX_"


def _env(name: str, description: str, **kwargs):
    """A field read from the environment variable ``name`` (without the prefix when the
    name is a standard one, such as ``DATABASE_URL``)."""
    return Field(validation_alias=AliasChoices(name, name.lower()), description=description, **kwargs)


#: Settings that only code sets (tests, tools), never the environment.
CODE_ONLY = frozenset({"clock", "session_idle_timeout"})


class SettingsError(ValueError):
    """A setting whose value cannot be used; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, populate_by_name=True, extra="forbid", validate_default=True)

    database_url: str | None = _env(
        "DATABASE_URL", "PostgreSQL to use (`postgresql://user:password@host/db`). Unset: an embedded PostgreSQL in the data folder.",
        default=None,
    )
    replica_database_url: str | None = Field(
        None, description="A read-only replica: public lookups and statistics read from it (they may lag the primary)."
    )
    data_dir: Path = Field(ROOT / ".data", description="The data folder: the embedded PostgreSQL (`pg/`) and uploaded files (`files/`).")
    secure_cookies: bool = Field(False, description="Mark the session cookie `Secure` and send HSTS (behind HTTPS).")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated front-end origins allowed to call the API from a browser (default none: CORS closed)."
    )
    storage: str = Field("local", description="Where uploaded files are kept: `local` (`<data dir>/files`) or `package.module:factory`.")
    sender: str = Field(
        "resolvers.accounts.messaging:OutboxSender",
        description="`module:Class` of the sender of verification codes; the default logs them and keeps them in the `outbox` table.",
    )
    pool_size: int = Field(
        20, ge=1, description="Database connections a worker keeps for signed-in callers: at least the requests it serves at once, so that none is opened and closed per request (10 more only at a peak)."
    )
    public_pool: int = Field(5, ge=1, description="Database connections for callers without a session (a pool of their own).")
    public_pool_timeout: float = Field(1.0, gt=0, description="Seconds a public request waits for a connection before `SERVICE_BUSY`.")
    public_statement_timeout_ms: int = Field(2000, ge=1, description="Milliseconds after which a public request's statement is cut (`SERVICE_BUSY`).")
    public_cache_seconds: float = Field(
        5.0, ge=0, description="Seconds a worker keeps the answer of a public lookup for the next anonymous caller asking the same (`0`: off; docs/rules.md, \"Public answers kept a few seconds\")."
    )
    signed_in_concurrency: int = Field(
        10, ge=0, description="GraphQL operations of signed-in callers a worker runs at once (`0`: no limit); the others wait their turn, first come first served."
    )
    public_rate: Annotated[tuple[float, float], NoDecode] = Field(
        (60.0, 1.0),
        description="Requests a client address may make without a valid session, as `burst/per-second`, counted in PostgreSQL for all workers and instances together.",
    )
    public_operations: Literal["any", "registered"] = Field(
        "any", description="`registered`: callers without a session may run only the operations registered with `register-operations`."
    )
    tally_compact_seconds: float = Field(
        60.0, ge=0, description="How often the statistics' county differences are folded (`0`: never; run `SELECT tally_compact()` elsewhere)."
    )
    planned_reads: bool = Field(
        True, description="Answer the list pages the planner covers from their plans (docs/read-path.md); `0`: every operation by normal execution (so does `XWPX_OTEL=1`)."
    )
    planned_literals: bool = Field(
        False,
        description=(
            "Send a planned page's statement with its values written in, so PostgreSQL plans it once per connection "
            "(1–2 ms less a page) at the price of a kept plan per distinct page (up to about 0.9 MB each, 100 per connection); docs/read-path.md."
        ),
    )
    event_retention_days: int = Field(
        90, ge=1, description="Days the event feed keeps its events (`events(after: ...)`, and resuming a subscription); older ones are purged."
    )
    subscriptions_per_session: int = Field(10, ge=1, description="Subscriptions one session may hold at once on a worker; more are refused (`TOO_MANY_SUBSCRIPTIONS`).")
    subscription_message_rate: Annotated[tuple[float, float], NoDecode] = Field(
        (20.0, 5.0), description="Messages a subscriber's socket may send, as `burst/per-second`; past it the socket is closed with 4429."
    )
    subscription_check_seconds: float = Field(
        60.0, gt=0, description="How often a worker checks the sessions of its open sockets (the idle rule); logout, a password change and a disabled account close them at once."
    )
    overdue_sweep_seconds: float = Field(
        300.0, ge=0, description="How often a worker raises the events of ledgers gone overdue (`rectificationOverdue`; `0`: never)."
    )
    graphiql: bool = Field(True, description="Serve GraphiQL at `/graphql` to browsers.")
    graphiql_assets: Path = Field(
        ROOT / "web" / "graphiql" / "node_modules",
        description="Where GraphiQL's npm packages are installed (`npm ci --prefix web/graphiql`); without them the page loads them from unpkg.com and says so.",
    )
    log_format: Literal["json", "text"] | None = Field(None, description="Log lines as `json` or `text` (default: text on a terminal, JSON otherwise).")
    served_by_header: bool = Field(False, description="Answer each worker's process id in `X-Served-By`, on HTTP answers and WebSocket handshakes (to watch a load spread over workers).")
    otel: bool = Field(False, description="OpenTelemetry tracing of GraphQL operations (install `.[otel]`; the `OTEL_*` variables configure the exporter).")
    argon2_profile: Literal["default", "test"] = Field(
        "default", description="`default`: RFC 9106 low-memory argon2id; `test`: minimal cost, for the test suite only."
    )
    admin_password: SecretStr | None = Field(None, description="The password `create-admin` gives the ministry's first account (else it asks).")
    otel_service_name: str = _env("OTEL_SERVICE_NAME", "The service's name in traces (OpenTelemetry's own variable).", default="xwpx-graphql")
    otel_traces_exporter: str | None = _env(
        "OTEL_TRACES_EXPORTER", "`console` prints spans; otherwise OTLP over HTTP to `OTEL_EXPORTER_OTLP_ENDPOINT` (OpenTelemetry's own variables).",
        default=None,
    )
    prometheus_multiproc_dir: Path | None = _env(
        "PROMETHEUS_MULTIPROC_DIR", "With several workers: a folder the Prometheus client shares between them, so `/metrics` sums them.",
        default=None,
    )

    #: The instant every time-dependent rule reads; tests pass a clock they move. Not read
    #: from the environment.
    clock: Callable[[], datetime] = Field(utcnow, exclude=True)
    #: The idle rule of docs/DOMAIN.md §P2.4: logged out after two hours without a request.
    session_idle_timeout: timedelta = Field(timedelta(hours=2), exclude=True)

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings):
        """Keyword arguments, then the environment (no ``.env`` or secrets files), which
        never sets the code-only settings."""

        def environment() -> dict:
            return {key: value for key, value in env_settings().items() if key not in CODE_ONLY}

        return (init_settings, environment)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return [item.strip() for item in value.split(",") if item.strip()] if isinstance(value, str) else value

    @field_validator("public_rate", "subscription_message_rate", mode="before")
    @classmethod
    def _rate(cls, value: object) -> object:
        if isinstance(value, str):
            burst, slash, per_second = value.partition("/")
            if not slash:
                raise ValueError("write it as burst/per-second, e.g. 60/1")
            return (burst, per_second)
        return value

    @field_validator("public_rate", "subscription_message_rate")
    @classmethod
    def _positive_rate(cls, value: tuple[float, float]) -> tuple[float, float]:
        if value[0] < 1 or value[1] < 0:
            raise ValueError("the burst must be at least 1 and the rate not negative")
        return value



def environment_variable(field: str) -> str:
    """The environment variable of a setting."""
    alias = Settings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return (PREFIX + field).upper()


@functools.cache
def current() -> Settings:
    """The process's settings from the environment, read once: for what is set up when a
    module is imported (the password hasher, tracing). The app reads the ``Settings`` it is
    given."""
    return load_settings()


def load_settings(**values: object) -> Settings:
    """The settings from the environment (and ``values``), or ``SettingsError`` naming each
    variable whose value cannot be used."""
    try:
        return Settings(**values)
    except ValidationError as e:
        problems = []
        for error in e.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            name = environment_variable(field) if field in Settings.model_fields else field
            problems.append(f"{name}: {error['msg']}")
        raise SettingsError("设置有误 (invalid settings): " + "; ".join(problems)) from None
