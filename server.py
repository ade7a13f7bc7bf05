"""The server: ``create_app()`` (Starlette + Strawberry) and the command line.

    python server.py serve [--demo] [--host H] [--port P] [--workers N]   migrate, seed, serve
    python server.py migrate                                 apply the Alembic migrations
    python server.py seed-demo                               the demo accounts and data
    python server.py create-admin --username U               the ministry's first account
    python server.py import FILE --account U                 机构信息批量导入 as a county desk account
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
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from cross_web import HTTPException
from strawberry import UNSET
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

import faults
import messaging
import operations
import persisted
import public_cache
from operations import RequestContext
from auth.ratelimit import RateLimiter
from auth.sessions import request_viewer
from config import Settings
from models import tallies
from models.database import Supervisor, async_url, create_engine, create_sessionmaker, resolve_database_url, run_migrations
from resolvers import documents, institution_excel, material_excel, public, statistics_excel
from resolvers.endpoints import json_error
from resolvers.loaders import create_loaders
from schema import schema
from schema.context import Context
from schema.errors import ApiError
from schema.root import needs_login, public_schema
from storage import create_storage

log = logging.getLogger("xwpx")


GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
#: Statuses of a response without data under application/graphql-response+json (besides the
#: faults' 503, ``request_error_status``); any other request error (syntax, validation,
#: variables, query limits, NUL) is a 400.
_STATUS_BY_CODE = {"RATE_LIMITED": 429, "INTERNAL_SERVER_ERROR": 500}


def response_media_type(accept: str) -> str:
    """The media type of a GraphQL answer for an ``Accept`` header (GraphQL over HTTP,
    "Accept"): ``application/graphql-response+json`` when the caller prefers it (the
    highest q; on a tie, the first listed), otherwise ``application/json``, which also
    answers callers that send no ``Accept`` or accept neither (the spec's legacy clients)."""
    chosen, chosen_q = "application/json", 0.0
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        media = media.lower()
        if media == GRAPHQL_RESPONSE_JSON:
            kind = GRAPHQL_RESPONSE_JSON
        elif media in ("application/json", "application/*", "*/*"):
            kind = "application/json"
        else:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > chosen_q:
            chosen, chosen_q = kind, q
    return chosen


def request_error_status(result: ExecutionResult) -> int | None:
    """The HTTP status of a result without data, or None when execution ran and answered
    data: a field error, even one that nulls ``data``, is a 200. Without data, a lost
    database or a busy pool (``faults``) is a 503 wherever it happened; any other request
    error (the request failed before execution) has the status of its code, else 400."""
    if result.data is not None or not result.errors:
        return None
    codes = [(error.extensions or {}).get("code") for error in result.errors]
    if any(code in faults.BY_CODE for code in codes):
        return 503
    if any(error.path for error in result.errors):
        return None
    return next((_STATUS_BY_CODE[code] for code in codes if code in _STATUS_BY_CODE), 400)


def _writes_answered(query: str | None, operation_name: str | None, data: dict | None) -> bool:
    """Whether ``data`` is a mutation's answer in which a root field has a value (a write
    that happened and must be reported), rather than anything that can be asked again."""
    if not data or not query or not any(value is not None for value in data.values()):
        return False
    from graphql import GraphQLError, OperationType as Kind, get_operation_ast, parse

    try:
        operation = get_operation_ast(parse(query), operation_name)
    except GraphQLError:
        return False
    return operation is not None and operation.operation is Kind.MUTATION


def fault_answer(request: Request, fault: faults.Fault) -> Response:
    """The answer to a request that met a lost database or a busy pool outside GraphQL
    execution (the session lookup, a persisted query, a download, an export, readiness): a
    503 with ``Retry-After`` and the code, in the route's own shape: a GraphQL response
    on /graphql (a 200 under ``application/json``, as every GraphQL result there), the
    endpoints' ``{"error": {"code", "message"}}`` elsewhere."""
    headers = {"Retry-After": str(fault.retry_after)}
    if request.url.path != "/graphql":
        response = json_error(503, fault.code, fault.message)
        response.headers.update(headers)
        return response
    error = {"message": fault.message, "extensions": {"code": fault.code, "retryAfterSeconds": fault.retry_after}}
    if response_media_type(request.headers.get("accept", "")) == GRAPHQL_RESPONSE_JSON:
        return JSONResponse({"errors": [error]}, status_code=503, headers=headers, media_type=f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8")
    return JSONResponse({"data": None, "errors": [error]}, headers=headers)


class AnswerFaults:
    """ASGI middleware: a lost database or a busy pool that escapes a route (``faults``)
    is answered with ``fault_answer`` and logged as one WARNING line, never a plain 500.
    Once a response has started (a download streaming) it cannot change: the connection is
    cut, so the client sees an incomplete answer, not a complete-looking one."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watching_send(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        except Exception as error:
            fault = faults.fault_of(error)
            if fault is None:
                raise
            faults.log_refusal(fault.code, f"{scope.get('method')} {scope.get('path')}", error)
            if scope.get("path") == "/graphql":
                operations.GRAPHQL_ERRORS.labels(fault.code).inc()
            if not started:
                await fault_answer(Request(scope, receive), fault)(scope, receive, send)


class GraphQLApp(GraphQL):
    """Strawberry's ASGI app with our per-request context, and the parts of the GraphQL over
    HTTP specification Strawberry leaves out: ``application/graphql-response+json`` (with
    4xx/5xx statuses and no ``data`` entry for requests that fail before execution), 405 for
    a mutation over GET, and a string ``operationName``."""

    async def run(self, request, context=UNSET, root_value=UNSET):
        try:
            response = await super().run(request, context, root_value)
        except HTTPException as e:
            if e.status_code != 405:
                raise
            return PlainTextResponse(e.reason, status_code=405, headers={"Allow": "POST"})
        finally:
            if isinstance(request, Request):
                # Uploaded files spool to temporary files; close them whether or not a
                # resolver read them (a refused upload never reaches one).
                await request.close()
        # create_response answers application/json; the caller may prefer the newer type.
        if getattr(response, "media_type", None) == "application/json" and self._media_type(request) == GRAPHQL_RESPONSE_JSON:
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
        return response

    @staticmethod
    def _media_type(request: Request) -> str:
        return response_media_type(request.headers.get("accept", ""))

    async def parse_http_body(self, request_adapter):
        data = await super().parse_http_body(request_adapter)
        if not isinstance(data, list) and not isinstance(data.operation_name, str | None):
            raise HTTPException(400, "The GraphQL operation's `operationName` must be a string or null, if provided.")
        return data

    async def process_result(self, request, result):
        response = await super().process_result(request, result)
        if self._media_type(request) == GRAPHQL_RESPONSE_JSON and request_error_status(result):
            # The spec: a request error's response has no data entry (not even null).
            response.pop("data", None)
        return response

    async def execute_single(self, request, request_adapter, sub_response, context, root_value, request_data):
        """A caller without a session is served from the public schema (``schema.root``):
        its introspection shows the public part alone. An operation that only the full
        schema knows runs there, where the fields' permissions answer UNAUTHENTICATED (and
        federation lookups null) exactly as for any caller; validation errors of an
        operation neither schema knows come from the public one, so they name public fields
        only."""
        chosen = self.schema
        state = request.app.state
        anonymous = context.viewer is None and context.anonymous_reason is None
        if anonymous:
            wait = state.public_rate.take(context.client_address)
            if wait is not None:
                faults.log_refusal("RATE_LIMITED", f"anonymous requests from {context.client_address}")
                return self._with_status(request, sub_response, ExecutionResult(
                    data=None,
                    errors=[ApiError("请求过于频繁，请稍后再试 (too many requests from this address)", code="RATE_LIMITED", retryAfterSeconds=max(1, round(wait)))],
                ))
        problem = await persisted.resolve(
            request_data, sessionmaker=state.sessionmaker, cache=state.persisted_cache,
            registered_only=anonymous and state.settings.public_operations == "registered",
        )
        if problem is not None:
            return self._with_status(request, sub_response, ExecutionResult(data=None, errors=[problem]))
        if anonymous:
            if not (request_data.query and needs_login(request_data.query)):
                chosen = public_schema
        allowed = OperationType.from_http(request_adapter.method)
        if not self.allow_queries_via_get and request_adapter.method == "GET":
            allowed = allowed - {OperationType.QUERY}

        async def execute() -> ExecutionResult:
            try:
                result = await chosen.execute(
                    request_data.query,
                    root_value=root_value,
                    variable_values=request_data.variables,
                    context_value=context,
                    operation_name=request_data.operation_name,
                    allowed_operation_types=allowed,
                    operation_extensions=request_data.extensions,
                )
            except CannotGetOperationTypeError as e:
                raise HTTPException(400, e.as_http_error_reason()) from e
            except InvalidOperationTypeError as e:
                # The spec: a mutation over GET is 405 Method Not Allowed (with Allow: POST).
                status = 405 if request_adapter.method == "GET" else 400
                raise HTTPException(status, e.as_http_error_reason(request_adapter.method)) from e
            except MissingQueryError as e:
                raise HTTPException(400, "No GraphQL query found in the request") from e
            operations.count_graphql_errors(result.errors)
            return result

        if chosen is public_schema and isinstance(request_data.query, str) and public_cache.cacheable(request_data.query, request_data.operation_name):
            key = state.public_answers.key(request_adapter.method, request_data.query, request_data.operation_name, request_data.variables)
            result = await state.public_answers.answer(key, execute)
        elif context.viewer is not None and state.signed_in_slots is not None:
            async with state.signed_in_slots:
                result = await execute()
        else:
            result = await execute()
        if (
            result.data is not None
            and any((error.extensions or {}).get("code") in faults.BY_CODE for error in result.errors or ())
            and not _writes_answered(request_data.query, request_data.operation_name, result.data)
        ):
            # A lost database or a busy pool fails the operation as a whole (ask again), so
            # that its status can say so: partial data is kept only for a mutation's writes.
            result = ExecutionResult(data=None, errors=result.errors, extensions=result.extensions)
        return self._with_status(request, sub_response, result)

    def _with_status(self, request: Request, sub_response: Response, result: ExecutionResult) -> ExecutionResult:
        """Under application/graphql-response+json a request error is a 4xx or 5xx (429 for
        RATE_LIMITED, 503 for DATABASE_UNAVAILABLE and SERVICE_BUSY); under
        application/json every GraphQL result stays a 200, as the spec asks for the older
        type. Either way an answer whose errors say when to retry (``retryAfterSeconds``)
        has ``Retry-After``."""
        retry = max((e.extensions["retryAfterSeconds"] for e in result.errors or () if (e.extensions or {}).get("retryAfterSeconds")), default=None)
        if retry is not None:
            sub_response.headers["retry-after"] = str(retry)
        if self._media_type(request) == GRAPHQL_RESPONSE_JSON and (status := request_error_status(result)):
            sub_response.status_code = status
        return result

    async def get_context(self, request: Request, response: Response) -> Context:
        state = request.app.state
        settings: Settings = state.settings
        now = settings.clock()
        viewer, anonymous_reason = await request_viewer(request, now)
        # Callers without a session use a pool of their own (see create_app).
        sessionmaker = state.public_sessionmaker if viewer is None else state.sessionmaker
        return Context(
            request=request,
            response=response,
            settings=settings,
            sessionmaker=sessionmaker,
            viewer=viewer,
            loaders=create_loaders(sessionmaker, viewer),
            storage=state.storage,
            anonymous_reason=anonymous_reason,
            read_sessionmaker=state.read_sessionmaker if viewer is not None else state.public_read_sessionmaker,
            client_address=request.client.host if request.client else None,
            now=now,
        )


_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# API answers load nothing; the GraphiQL page (HTML) loads its scripts and is left without.
_API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class SecurityHeaders:
    """Security headers on every HTTP response (HSTS when cookies are Secure, i.e. behind
    HTTPS)."""

    def __init__(self, app, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                extra = list(_SECURITY_HEADERS)
                if not content_type.startswith(b"text/html"):
                    extra.append(_API_CSP)
                if self.hsts:
                    extra.append(_HSTS)
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


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
        engine = create_engine(url)
        # Public traffic (no session) gets its own small pool and a statement timeout: a
        # flood of lookups waits for, or is refused from, its own connections (SERVICE_BUSY)
        # and never takes the connections regulators and institutions work with.
        replica = async_url(settings.replica_database_url) if settings.replica_database_url else None
        public_options = dict(
            pool_size=settings.public_pool_size,
            max_overflow=0,
            pool_timeout=settings.public_pool_timeout,
            connect_args={"server_settings": {"statement_timeout": str(settings.public_statement_timeout_ms)}},
        )
        public_engine = create_engine(
            url,
            pool_size=settings.public_pool_size,
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
        read_engine = create_engine(replica) if replica else engine
        public_read_engine = create_engine(replica, **public_options) if replica else public_engine
        app.state.read_engine, app.state.public_read_engine = read_engine, public_read_engine
        app.state.read_sessionmaker = create_sessionmaker(read_engine) if replica else app.state.sessionmaker
        app.state.public_read_sessionmaker = create_sessionmaker(public_read_engine) if replica else app.state.public_sessionmaker
        app.state.public_rate = RateLimiter(*settings.public_rate, clock=settings.clock)
        app.state.persisted_cache = persisted.Cache()
        app.state.public_answers = public_cache.PublicAnswers(settings.public_cache_seconds, settings.clock)
        app.state.signed_in_slots = asyncio.Semaphore(settings.signed_in_concurrency) if settings.signed_in_concurrency > 0 else None
        app.state.storage = storage
        compacting = asyncio.create_task(tallies.compact_every(engine, settings.tally_compact_seconds)) if settings.tally_compact_seconds > 0 else None
        try:
            yield
        finally:
            await app.state.public_answers.close()
            if compacting is not None:
                compacting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await compacting
            await engine.dispose()
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
    )
    middleware = [Middleware(RequestContext), Middleware(SecurityHeaders, hsts=settings.secure_cookies)]
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
            Route("/templates/institutions.xlsx", institution_excel.template_endpoint),
            Route("/exports/institutions.xlsx", institution_excel.export_endpoint),
            Route("/exports/materials.xlsx", material_excel.export_endpoint),
            Route("/exports/statistics.xlsx", statistics_excel.export_endpoint),
            Route("/files/{document_id}", documents.download_endpoint),
            Route("/public/lists/{period_id}.xlsx", public.list_download),
            Route("/healthz", healthz),
            Route("/readyz", operations.readyz),
            Route("/metrics", operations.metrics),
        ],
        lifespan=lifespan,
    )


# --- command line ---------------------------------------------------------------------


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
    from resolvers.demo import seed_demo
    from storage import create_storage

    storage = create_storage(settings)
    log.info("demo data: %s", _with_database(url, lambda sessionmaker: seed_demo(sessionmaker, storage=storage)))


def _create_admin(url: str, username: str, name: str) -> int:
    """The password comes from ``XWPX_ADMIN_PASSWORD`` or a prompt, never from arguments
    (which other users of the machine can read)."""
    import getpass
    import os

    from auth.passwords import STRENGTH_RULE, password_problem
    from resolvers.accounts import create_root_account

    password = os.environ.get("XWPX_ADMIN_PASSWORD") or getpass.getpass(f"Password for {username}: ")
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
    import uuid

    import sqlalchemy as sa

    from auth.sessions import viewer_of
    from config import utcnow
    from models import Account, Region
    from resolvers.institution_excel import ImportFileError, import_rows, read_rows
    from schema.errors import ApiError

    content = Path(path).read_bytes()

    async def run(sessionmaker):
        async with sessionmaker() as db:
            found = (
                await db.execute(
                    sa.select(Account, Region.path).outerjoin(Region, Region.code == Account.region_code).where(Account.username == username)
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
    """Check the statistics' tallies against a recount (``models/tallies.py``), after
    recounting them with ``--rebuild``; exit status 1 when they differ."""
    import time

    import sqlalchemy as sa

    async def run(sessionmaker):
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


def worker_app() -> Starlette:
    """The app of one worker process of ``serve --workers N`` (settings from the environment)."""
    operations.configure_logging()
    app = create_app(Settings())
    _settle_heap()
    return app


def _settle_heap() -> None:
    """Take what a serving process built before its first request (modules, the schemas,
    the models: most of its heap) out of the garbage collector's full collections
    (``gc.freeze``). Under load those run every second or two, and every request waits for
    them: measured under the soak, one took ~400 ms scanning the whole heap, ~170 ms
    scanning only what requests made."""
    import gc

    gc.collect()
    gc.freeze()


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
    tallying.add_argument("--rebuild", action="store_true", help="recount them first (writes to the counted tables wait while it runs)")
    registering = commands.add_parser(
        "register-operations", help="register persisted operations (a JSON list of queries, or sha256 -> query)"
    )
    registering.add_argument("file")
    export = commands.add_parser("export-schema", help="print the subgraph SDL")
    export.add_argument("--output", help="write it to this file instead of standard output")
    args = parser.parse_args(argv)

    operations.configure_logging()
    settings = Settings()

    if args.command == "export-schema":
        from schema import sdl

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
            return _create_admin(url, args.username, args.name)
        if args.command == "import":
            return _import(url, args.file, args.account)
        if args.command == "tallies":
            return _tallies(url, args.rebuild)
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
                uvicorn.run("server:worker_app", factory=True, workers=args.workers, **options)
            else:
                app = create_app(settings, database_url=url)
                _settle_heap()
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
