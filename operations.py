"""What operators run the service with: a request id on every request and log line, JSON
logs, Prometheus metrics and a readiness check.

- **Request ids**: an incoming ``X-Request-ID`` (up to 64 characters of letters, digits,
  ``-``, ``_``, ``.``) is kept, otherwise one is made; it is answered in the same header
  and carried by every log line written while the request runs.
- **JSON logs** (``XWPX_LOG_FORMAT=json``, the default outside a terminal): one object a
  line with time, level, logger, message and request id; ``text`` for reading by eye.
- **Metrics** (``GET /metrics``, Prometheus text format): requests by method, route and
  status; request latency (histogram) by route; GraphQL errors by code; the database pools'
  connections in use and size (the regulators' and the public one). Counted per worker
  process: with several workers, scrape each, or set ``PROMETHEUS_MULTIPROC_DIR`` (the
  client library's multi-process mode) and the endpoint aggregates them.
- **Readiness** (``GET /readyz``): 200 when the database answers ``SELECT 1`` within two
  seconds, otherwise 503 with ``Retry-After`` and the code (``DATABASE_UNAVAILABLE``, or
  ``SERVICE_BUSY`` when no connection was free); ``/healthz`` says only that the process
  is up (it never asks the database).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import re
import sys
import time
import uuid

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

import faults

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

REQUESTS = Counter("xwpx_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "xwpx_http_request_duration_seconds", "HTTP request latency", ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
GRAPHQL_ERRORS = Counter("xwpx_graphql_errors_total", "GraphQL errors by code", ["code"])
POOL_IN_USE = Gauge("xwpx_db_pool_connections_in_use", "Database connections checked out", ["pool"], multiprocess_mode="livesum")
POOL_SIZE = Gauge("xwpx_db_pool_size", "Database pool size", ["pool"], multiprocess_mode="livesum")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def configure_logging(level: int = logging.INFO, fmt: str | None = None) -> None:
    """Root logging: JSON lines (default when stderr is not a terminal) or text."""
    fmt = fmt or os.environ.get("XWPX_LOG_FORMAT") or ("text" if sys.stderr.isatty() else "json")
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    if fmt == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(
            JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s", rename_fields={"asctime": "time", "levelname": "level", "name": "logger"})
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True


def _route(scope) -> str:
    """The route's path template (never the raw path: ids would blow up the label set)."""
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


class RequestContext:
    """ASGI middleware: the request id, and the request's metrics."""

    def __init__(self, app) -> None:
        self.app = app
        #: ``XWPX_SERVED_BY_HEADER=1``: answer the worker process's id in ``X-Served-By``
        #: (to see how a load spreads over ``--workers``; off by default).
        self.served_by = [(b"x-served-by", str(os.getpid()).encode())] if os.environ.get("XWPX_SERVED_BY_HEADER") == "1" else []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _ACCEPTED_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", rid.encode()), *self.served_by]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = _route(scope)
            if route != "/metrics":
                REQUESTS.labels(scope.get("method", ""), route, str(status)).inc()
                LATENCY.labels(route).observe(time.perf_counter() - started)
            request_id.reset(token)


def count_graphql_errors(errors) -> None:
    for error in errors or ():
        code = ((getattr(error, "extensions", None) or {}).get("code")) or "GRAPHQL_VALIDATION_FAILED"
        GRAPHQL_ERRORS.labels(str(code)).inc()


async def metrics(request: Request) -> Response:
    state = request.app.state
    for name, engine in (("main", state.engine), ("public", state.public_engine)):
        pool = engine.pool
        POOL_IN_USE.labels(name).set(pool.checkedout())
        POOL_SIZE.labels(name).set(pool.size())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest()
    return Response(body, media_type=CONTENT_TYPE_LATEST)


async def readyz(request: Request) -> Response:
    import sqlalchemy as sa

    try:
        async with asyncio.timeout(2):
            async with request.app.state.engine.connect() as connection:
                await connection.execute(sa.text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure means "not ready"
        fault = faults.fault_of(error) or faults.DATABASE_UNAVAILABLE
        faults.log_refusal(fault.code, "readiness check", error)
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable", "error": {"code": fault.code, "message": fault.message}},
            status_code=503, headers={"Retry-After": str(fault.retry_after)},
        )
    return JSONResponse({"status": "ready", "database": "ok"})
