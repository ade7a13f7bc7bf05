"""The server: ``create_app()`` (Starlette + Strawberry) and the command line.

    python server.py serve [--demo] [--host H] [--port P] [--workers N]   migrate, seed, serve
    python server.py migrate                                 apply the Alembic migrations
    python server.py seed-demo                               the demo accounts and data
    python server.py create-admin --username U               the ministry's first account
    python server.py import FILE --account U                 机构信息批量导入 as a county desk account
    python server.py regions apply FILE [--dry-run]          区划调整: apply a change set (docs/regions.md)
    python server.py register-operations FILE                persisted operations for public traffic
    python server.py export-schema [--output schema.graphql] the subgraph SDL

With no ``DATABASE_URL`` the commands start the embedded PostgreSQL (data in ``.data/pg``);
it stops when the command exits, and the next start reuses its data. ``serve`` starts it
again should its postmaster die (``models.database.Supervisor``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import getpass
import logging
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route, WebSocketRoute
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from tqdm import tqdm

from auth import ratelimit, scope
from auth.passwords import STRENGTH_RULE, password_problem
from auth.ratelimit import RateLimiter
from auth.sessions import viewer_of
from core.clock import today, utcnow
from core.errors import ApiError
from core.logs import configure_logging
from core.settings import Settings, SettingsError, load_settings
from demo import seed_demo
from models import Account, Institution, Region, valid_on
from models.database import Supervisor, async_url, create_engine, create_sessionmaker, resolve_database_url, run_migrations
from models.statistics import compact_every
from models.storage import create_storage
from resolvers import findings, persisted
from resolvers.accounts import messaging
from resolvers.accounts.regulators import create_root_account
from resolvers.institutions.importing import ImportFileError, import_rows, read_rows
from resolvers.live import Hub
from resolvers.regions.applying import Operator, apply_change_set
from resolvers.regions.changes import ChangeSetError
from schema.root import schema
from web import exports, files, graphiql, health, metrics
from web.faults import AnswerFaults
from web.graphql import GraphQLApp
from web.middleware import RequestContext
from web.public_cache import PublicAnswers

log = logging.getLogger("xwpx")

#: How long the supervisor of `serve --workers N` waits for a worker to answer (see main).
WORKER_HEALTHCHECK_SECONDS = 60


def create_app(settings: Settings | None = None, *, database_url: str | None = None) -> Starlette:
    """The ASGI app. ``database_url`` (asyncpg) defaults to ``settings.database_url``; the
    embedded server, when wanted, is started by the caller (``serve``) before this."""
    settings = settings or Settings()
    url = database_url or settings.database_url
    if not url:
        raise ValueError("create_app needs a database URL (see models.database.resolve_database_url)")
    storage = create_storage(settings)
    messaging.sender_class(settings.sender)  # a misnamed XWPX_SENDER fails at start, not at the first code

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The signed-in pool holds what a worker serves at once (a session lookup, then the
        # operation's statements): overflow connections are opened and closed per request.
        scope.forget_subtrees()
        engine = create_engine(url, pool_size=settings.pool_size)
        # Public traffic (no session) gets its own small pool and a statement timeout: a
        # flood of lookups waits for, or is refused from, its own connections (SERVICE_BUSY)
        # and never takes the connections regulators and institutions work with.
        replica = async_url(settings.replica_database_url) if settings.replica_database_url else None
        public_options = dict(
            pool_size=settings.public_pool,
            max_overflow=0,
            pool_timeout=settings.public_pool_timeout,
            connect_args={"server_settings": {"statement_timeout": str(settings.public_statement_timeout_ms)}},
        )
        public_engine = create_engine(
            url,
            pool_size=settings.public_pool,
            max_overflow=0,
            pool_timeout=settings.public_pool_timeout,
            connect_args={"server_settings": {"statement_timeout": str(settings.public_statement_timeout_ms)}},
        )
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.public_engine = public_engine
        app.state.public_sessionmaker = create_sessionmaker(public_engine)
        # Reads that may lag (statistics; public lookups) go to the replica when there is
        # one, each kind of caller through a pool of its own there; writes never do.
        read_engine = create_engine(replica, pool_size=settings.pool_size) if replica else engine
        public_read_engine = create_engine(replica, **public_options) if replica else public_engine
        app.state.read_engine, app.state.public_read_engine = read_engine, public_read_engine
        app.state.read_sessionmaker = create_sessionmaker(read_engine) if replica else app.state.sessionmaker
        app.state.public_read_sessionmaker = create_sessionmaker(public_read_engine) if replica else app.state.public_sessionmaker
        # The public rate limit's one statement per request runs on two connections of its
        # own (auth.ratelimit), whatever holds the other pools.
        rate_engine = create_engine(url, **{**public_options, "pool_size": 2})
        app.state.rate_engine = rate_engine
        app.state.public_rate = RateLimiter(rate_engine, *settings.public_rate, clock=settings.clock)
        sweeping = asyncio.create_task(ratelimit.sweep_every(rate_engine, settings.clock, 60))
        app.state.persisted_cache = persisted.Cache()
        app.state.public_answers = PublicAnswers(settings.public_cache_seconds, settings.clock)
        app.state.signed_in_slots = asyncio.Semaphore(settings.signed_in_concurrency) if settings.signed_in_concurrency > 0 else None
        app.state.storage = storage
        compacting = asyncio.create_task(compact_every(engine, settings.tally_compact_seconds)) if settings.tally_compact_seconds > 0 else None
        # Live updates: one listening connection per worker, and two pooled connections of
        # their own for reading the events and checking the sockets' sessions (resolvers.live).
        hub_engine = create_engine(url, pool_size=2, max_overflow=0)
        app.state.hub = Hub(url, create_sessionmaker(hub_engine), settings).start()
        try:
            yield
        finally:
            await app.state.hub.stop()
            await hub_engine.dispose()
            await app.state.public_answers.close()
            for task in (compacting, sweeping):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await engine.dispose()
            await rate_engine.dispose()
            await public_engine.dispose()
            if replica:
                await read_engine.dispose()
                await public_read_engine.dispose()

    graphql = GraphQLApp(
        schema,
        graphql_ide="graphiql" if settings.graphiql else None,
        # GraphQL multipart request spec (importInstitutions, uploadInstitutionDocument); the
        # session cookie is SameSite=Lax, so a cross-site form cannot post one with the
        # caller's session.
        multipart_uploads_enabled=True,
        # Subscriptions (web.subscriptions): graphql-transport-ws only; a browser's handshake
        # from another origin than the listed front ends is refused (the cookie's CSRF rule).
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        allowed_origins=settings.cors_origins,
        max_subscriptions_per_connection=settings.subscriptions_per_session,
        connection_init_wait_timeout=timedelta(seconds=10),
    )
    middleware = [Middleware(RequestContext, hsts=settings.secure_cookies, served_by=settings.served_by_header)]
    if settings.cors_origins:
        # Closed unless configured: only the listed front-end origins, with credentials.
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_credentials=True,
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type", "x-requested-with"],
            )
        )
    middleware.append(Middleware(AnswerFaults))
    return Starlette(
        middleware=middleware,
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/graphiql/{name}", graphiql.asset),
            Route("/templates/institutions.xlsx", exports.institutions_template),
            Route("/exports/institutions.xlsx", exports.institutions_export),
            Route("/exports/findings.xlsx", exports.findings_export),
            Route("/exports/materials.xlsx", exports.materials_export),
            Route("/exports/statistics.xlsx", exports.statistics_export),
            Route("/files/{document_id}", files.document_download),
            Route("/public/lists/{period_id}.xlsx", files.list_download),
            Route("/healthz", health.healthz),
            Route("/readyz", health.readyz),
            Route("/metrics", metrics.metrics),
        ],
        lifespan=lifespan,
    )


def _stop_on_sigterm() -> None:
    """SIGTERM (a process manager's stop) unwinds like Ctrl-C, so the embedded database
    is stopped cleanly. uvicorn restores this handler and re-raises the signal to it."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, handler)


def _with_database(url: str, work):
    """Run ``await work(sessionmaker)`` on a short-lived engine, outside the server."""

    async def run():
        engine = create_engine(url)
        try:
            return await work(create_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _seed(url: str, settings: Settings) -> None:

    storage = create_storage(settings)
    log.info("demo data: %s", _with_database(url, lambda sessionmaker: seed_demo(sessionmaker, storage=storage)))


def _create_admin(url: str, settings: Settings, username: str, name: str) -> int:
    """The password comes from ``XWPX_ADMIN_PASSWORD`` or a prompt, never from arguments
    (which other users of the machine can read)."""


    given = settings.admin_password
    password = given.get_secret_value() if given else getpass.getpass(f"Password for {username}: ")
    if password_problem(password, username=username):
        print(f"The password does not meet the rule: {STRENGTH_RULE}", file=sys.stderr)
        return 2

    if error := _with_database(url, lambda sessionmaker: create_root_account(sessionmaker, username, name, password)):
        print(error, file=sys.stderr)
        return 1
    log.info("created %s (MINISTRY, EDUCATION); log in with it to create the accounts below", username)
    return 0


def _import(url: str, path: str, username: str) -> int:
    """机构信息批量导入 from the command line, as the county desk account ``username``: the
    same checks and the same single transaction as ``importInstitutions``; a progress bar
    while the rows are read and checked; every bad row listed; exit status 1 when nothing
    was imported."""



    content = Path(path).read_bytes()

    async def run(sessionmaker):
        async with sessionmaker() as db:
            found = (
                await db.execute(
                    sa.select(Account, sa.case((valid_on(today(utcnow())), Region.path), else_=None))
                    .outerjoin(Region, Region.code == Account.region_code)
                    .where(Account.username == username)
                )
            ).first()
        if found is None:
            raise SystemExit(f"no account {username!r}: name a county education account (区县教育局) or one of its sub-units")
        viewer = viewer_of(found[0], uuid.uuid4(), found[1])
        rows = list(read_rows(content))
        total = len(rows)

        def counted():
            for index, row in enumerate(rows, start=1):
                if index % 500 == 0 or index == total:
                    filled = 30 * index // max(total, 1)
                    print(f"\r  checking [{'#' * filled}{'.' * (30 - filled)}] {index}/{total}", end="", file=sys.stderr, flush=True)
                yield row
            print(file=sys.stderr)

        return await import_rows(sessionmaker, viewer, utcnow(), counted(), "command line")

    try:
        result = _with_database(url, run)
    except ImportFileError as e:
        print(f"{e.code}: {e.message}", file=sys.stderr)
        return 1
    except ApiError as e:
        print(f"{e.extensions.get('code')}: {e.message}", file=sys.stderr)
        return 1
    for error in result.errors:
        print(f"row {error.row}{' ' + error.column if error.column else ''}: {error.code} {error.message}", file=sys.stderr)
    if result.errors:
        print(f"{len(result.errors)} problems: nothing was imported; fix the rows and import the file again", file=sys.stderr)
        return 1
    print(f"imported: {result.created} created, {result.updated} updated")
    return 0


def _tallies(url: str, rebuild: bool) -> int:
    """Check the statistics' tallies against a recount (``models/statistics.py``), after
    recounting them with ``--rebuild``; exit status 1 when they differ. ``--rebuild`` first
    checks every institution's records again (``resolvers.findings.refresh_all``, with a
    progress bar: about ten minutes at national scale), so that the kept findings follow the
    rules after a migration that changes what they read (0019)."""

    async def run(sessionmaker):
        if rebuild:
            async with sessionmaker() as db:
                total = (await db.execute(sa.select(sa.func.count()).select_from(Institution))).scalar_one()
            with tqdm(total=total, desc="规则检查", unit="家", file=sys.stderr, leave=True) as bar:
                await findings.refresh_all(sessionmaker, on_batch=bar.update)
        async with sessionmaker() as db:
            if rebuild:
                started = time.perf_counter()
                await db.execute(sa.text("SELECT tally_rebuild()"))
                await db.commit()
                print(f"recounted in {time.perf_counter() - started:.1f} s", file=sys.stderr)
            folded = (await db.execute(sa.text("SELECT tally_compact()"))).scalar_one()
            await db.commit()
            print(f"folded the differences into {folded} county and county-day rows; checking against a recount (a minute at national scale) ...", file=sys.stderr)
            return (await db.execute(sa.text("SELECT tally, key FROM tally_check() ORDER BY 1, 2"))).all()

    differences = _with_database(url, run)
    for tally, key in differences[:20]:
        print(f"{tally} {key} differs from a recount")
    if differences:
        print(f"{len(differences)} tallies differ: run `python server.py tallies --rebuild` to recount them", file=sys.stderr)
        return 1
    print("the tallies agree with a recount")
    return 0


def _regions_apply(url: str, path: str, dry_run: bool) -> int:
    """区划调整: apply a change set (docs/regions.md) in one transaction, with a progress bar,
    and print what it moved; ``--dry-run`` prints the same and writes nothing. Exit status 1
    when the file is refused (every problem listed, nothing written)."""
    try:
        content = Path(path).read_bytes()
    except OSError as e:
        print(f"CHANGE_SET_INVALID: 无法读取 {path} (cannot read the file: {e.strerror})", file=sys.stderr)
        return 1
    operator = Operator(f"cli:{getpass.getuser()}"[:64])
    bar: list[tqdm] = []

    def started(total: int) -> None:
        bar.append(tqdm(total=total, desc="区划调整", unit="步", file=sys.stderr, leave=True))

    def progress(label: str) -> None:
        bar[0].set_postfix_str(label[:40], refresh=False)
        bar[0].update(1)

    async def run():
        engine = create_engine(url)
        try:
            return await apply_change_set(engine, content, utcnow(), operator, dry_run=dry_run, started=started, progress=progress)
        finally:
            await engine.dispose()

    try:
        checked, moved = asyncio.run(run())
    except ChangeSetError as e:
        for problem in e.problems:
            print(f"{e.code}: {problem.message}", file=sys.stderr)
        print(f"{len(e.problems)} problems: nothing was written", file=sys.stderr)
        return 1
    finally:
        for b in bar:
            b.close()
    change_set = checked.change_set
    print(f"{change_set.name}: {change_set.title} (生效 {change_set.effective.isoformat()})")
    for code in change_set.unverified:
        print(f"  注意：区划代码 {code} 尚未与官方名单核对 (unverified code)")
    for m in moved:
        print("  " + m.line())
    print("演练：未写入任何数据 (dry run: nothing written)" if dry_run else "已应用 (applied)")
    return 0


def _freeze() -> None:
    """What a serving process holds for good (the schemas, the modules) leaves the garbage
    collector's generations: a full collection then walks only what requests made, a short
    pause instead of one over the whole heap (measured: pauses of about 150 ms during
    requests of 10,000 representations, gone with it; under the soak, full collections of
    ~400 ms became ~170 ms). What is garbage already is collected first."""
    gc.collect()
    gc.freeze()


def worker_app() -> Starlette:
    """The app of one worker process of ``serve --workers N`` (settings from the environment)."""
    settings = load_settings()
    configure_logging(fmt=settings.log_format)
    app = create_app(settings)
    _freeze()
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python server.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="migrate and serve GraphQL at /graphql")
    serve.add_argument("--demo", action="store_true", help="seed the demo accounts and data first")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (they share nothing but PostgreSQL)")
    serve.add_argument(
        "--forwarded-allow-ips", default="127.0.0.1",
        help="proxies trusted for X-Forwarded-For/-Proto (the client address of rate limits and the audit trail)",
    )
    commands.add_parser("migrate", help="apply the migrations")
    commands.add_parser("seed-demo", help="migrate and seed the demo data (idempotent)")
    admin = commands.add_parser(
        "create-admin",
        help="create the ministry's education account (部级), the root of account management",
    )
    admin.add_argument("--username", required=True)
    admin.add_argument("--name", default="教育部")
    importing = commands.add_parser("import", help="机构信息批量导入: import an .xlsx of the template as a county desk account")
    importing.add_argument("file", help="the filled template (GET /templates/institutions.xlsx)")
    importing.add_argument("--account", required=True, help="the county education account (or sub-unit) registering them")
    tallying = commands.add_parser("tallies", help="check the statistics' maintained counts against a recount")
    tallying.add_argument(
        "--rebuild", action="store_true",
        help="check every institution's records against the rules again and recount them first (writes to the counted tables wait while it runs)",
    )
    regions = commands.add_parser("regions", help="区划调整: change the region table as data (docs/regions.md)")
    region_commands = regions.add_subparsers(dest="regions_command", required=True)
    applying = region_commands.add_parser("apply", help="apply a change set (JSON) in one transaction, moving what bears the old codes")
    applying.add_argument("file", help="the change set (data/region-changes/*.json)")
    applying.add_argument("--dry-run", action="store_true", help="print what it would move and write nothing")
    registering = commands.add_parser(
        "register-operations", help="register persisted operations (a JSON list of queries, or sha256 -> query)"
    )
    registering.add_argument("file")
    export = commands.add_parser("export-schema", help="print the subgraph SDL")
    export.add_argument("--output", help="write it to this file instead of standard output")
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except SettingsError as e:
        print(f"{e}\n设置见 docs/operations.md (the settings: docs/operations.md)", file=sys.stderr)
        return 2
    configure_logging(fmt=settings.log_format)

    if args.command == "export-schema":
        from schema.root import sdl

        if args.output:
            Path(args.output).write_text(sdl(), encoding="utf-8")
        else:
            sys.stdout.write(sdl())
        return 0

    _stop_on_sigterm()
    url, embedded = resolve_database_url(settings.database_url, settings.data_dir)
    supervisor = None
    try:
        log.info("applying migrations")
        run_migrations(url)
        if args.command == "create-admin":
            return _create_admin(url, settings, args.username, args.name)
        if args.command == "import":
            return _import(url, args.file, args.account)
        if args.command == "tallies":
            return _tallies(url, args.rebuild)
        if args.command == "regions":
            return _regions_apply(url, args.file, args.dry_run)
        if args.command == "register-operations":
            try:
                operations_ = persisted.read_manifest(Path(args.file).read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                print(f"cannot read {args.file}: {e}", file=sys.stderr)
                return 1
            print(f"registered {_with_database(url, lambda sm: persisted.register(sm, operations_))} operations")
            return 0
        if args.command == "seed-demo" or getattr(args, "demo", False):
            _seed(url, settings)
        if args.command == "serve":
            import uvicorn

            if embedded is not None:
                # In this process only: with --workers N, the parent of the workers.
                supervisor = Supervisor(embedded).start()
            log.info("GraphQL (GraphiQL in a browser) at http://%s:%s/graphql", args.host, args.port)
            options = dict(host=args.host, port=args.port, log_config=None, proxy_headers=True, forwarded_allow_ips=args.forwarded_allow_ips)
            if args.workers > 1:
                # Each worker process builds its own app (its own pools) from the environment.
                os.environ["DATABASE_URL"] = url
                # uvicorn kills a worker that does not answer its supervisor within the
                # timeout (5 s by default), which a worker still importing on a busy machine
                # can miss: it would be killed and started again, and again.
                uvicorn.run("server:worker_app", factory=True, workers=args.workers, timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS, **options)
            else:
                app = create_app(settings, database_url=url)
                _freeze()
                uvicorn.run(app, **options)
    except KeyboardInterrupt:
        pass
    finally:
        if supervisor is not None:
            supervisor.stop()
        if embedded is not None:
            log.info("stopping the embedded PostgreSQL")
            embedded.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
