"""ASGI middleware of every HTTP response: the request id (an incoming ``X-Request-ID`` of up to 64
letters, digits, ``-``, ``_``, ``.`` is kept, otherwise one is made; answered in the same header
and carried by every log line of the request; ``Server-Timing: app;dur=`` answers the
milliseconds the server took), the request's metrics, and the security headers: one wrapper,
so that a response's start is rewritten once."""

from __future__ import annotations

import os
import re
import time
import uuid

from core.logs import request_id
from web.metrics import LATENCY, REQUESTS

_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _route(scope) -> str:
    """The route's path template (never the raw path: ids would blow up the label set)."""
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


_SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


# API answers load nothing; the GraphiQL page (HTML) sets a policy of its own (web/graphiql.py).
_API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


def security_headers(headers: list, hsts: bool) -> list:
    """``headers`` with the security headers they do not set themselves (a Content Security
    Policy on anything but HTML; HSTS when ``hsts``)."""
    present = {name.lower() for name, _ in headers}
    content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
    extra = list(_SECURITY_HEADERS)
    if not content_type.startswith(b"text/html"):
        extra.append(_API_CSP)
    if hsts:
        extra.append(_HSTS)
    return headers + [(name, value) for name, value in extra if name not in present]


class RequestContext:
    """ASGI middleware of every HTTP response, in one wrapper of ``send``: the request id,
    ``Server-Timing``, the security headers (HSTS when ``hsts``: cookies are Secure, i.e.
    behind HTTPS) and the request's metrics."""

    def __init__(self, app, *, hsts: bool, served_by: bool = False) -> None:
        self.app = app
        self.hsts = hsts
        #: ``served_by`` (``XWPX_SERVED_BY_HEADER``): answer the worker process's id in
        #: ``X-Served-By`` (to see how a load spreads over ``--workers``; off by default).
        self.served_by = [(b"x-served-by", str(os.getpid()).encode())] if served_by else []

    def _accept_served_by(self, send):
        """``send`` with ``X-Served-By`` on a WebSocket's handshake answer (its accept)."""

        async def accept_with_pid(message) -> None:
            if message["type"] == "websocket.accept":
                message = {**message, "headers": [*message.get("headers", []), *self.served_by]}
            await send(message)

        return accept_with_pid

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "websocket" and self.served_by:
            await self.app(scope, receive, self._accept_served_by(send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _ACCEPTED_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # The time the app took until it answered (W3C Server Timing): the whole
                # request but the streaming of the body.
                timing = (b"server-timing", f"app;dur={(time.perf_counter() - started) * 1000:.1f}".encode())
                headers = security_headers(list(message.get("headers", ())), self.hsts)
                message = {**message, "headers": [*headers, (b"x-request-id", rid.encode()), timing, *self.served_by]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            route = _route(scope)
            if route != "/metrics":
                REQUESTS.labels(scope.get("method", ""), route, str(status)).inc()
                LATENCY.labels(route).observe(time.perf_counter() - started)
            request_id.reset(token)
