"""Prometheus metrics (``GET /metrics``, the text format): requests by method, route and status;
request latency by route; GraphQL errors by code; signed-in queries answered from a plan, by normal execution, or by normal execution after a
plan failed; the database pools' connections in use and
size (the regulators' and the public one). Counted per worker process: with several workers,
scrape each, or set ``PROMETHEUS_MULTIPROC_DIR`` (the client library's multi-process mode) and
the endpoint aggregates them."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from starlette.requests import Request
from starlette.responses import Response

REQUESTS = Counter("xwpx_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "xwpx_http_request_duration_seconds", "HTTP request latency", ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
#: ``path``: ``planned``, ``normal``, or ``failed`` (a plan that failed while it ran — a bug of
#: the planner, logged with its traceback — and normal execution answered).
PLANNED_READS = Counter("xwpx_graphql_planned_total", "Queries of signed-in callers by how they were answered: planned, normal, or failed (the plan failed, normal execution answered)", ["path"])
GRAPHQL_ERRORS = Counter("xwpx_graphql_errors_total", "GraphQL errors by code", ["code"])
POOL_IN_USE = Gauge("xwpx_db_pool_connections_in_use", "Database connections checked out", ["pool"], multiprocess_mode="livesum")
POOL_SIZE = Gauge("xwpx_db_pool_size", "Database pool size", ["pool"], multiprocess_mode="livesum")


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
    if state.settings.prometheus_multiproc_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest()
    return Response(body, media_type=CONTENT_TYPE_LATEST)
