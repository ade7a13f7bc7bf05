"""A lost database or a busy pool (``core.faults``) that escapes a route — the session lookup,
a persisted query, an upload, a download, an export, the template — is answered with its code
and ``Retry-After``, never a plain 500 (docs/rules.md, "Faults")."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core import faults
from web.graphql import GRAPHQL_RESPONSE_JSON, response_media_type
from web.metrics import GRAPHQL_ERRORS
from web.responses import json_error


def fault_answer(request: Request, fault: faults.Fault) -> Response:
    """A 503 with ``Retry-After`` and the code, in the route's own shape: a GraphQL response
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
    """ASGI middleware: a fault of the database that escapes a route is answered with
    ``fault_answer`` and logged as one WARNING line. Once a response has started (a download
    streaming) it cannot change: the connection is cut, so the client sees an incomplete
    answer, not a complete-looking one."""

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
                GRAPHQL_ERRORS.labels(fault.code).inc()
            if not started:
                await fault_answer(Request(scope, receive), fault)(scope, receive, send)
