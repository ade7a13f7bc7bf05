"""Subscriptions over a WebSocket at ``/graphql`` (the ``graphql-transport-ws`` protocol):
who the subscriber is, and the socket's rules (docs/http.md, "Subscriptions").

- The session: the token in ``connection_init``'s payload (``{"authorization": "Bearer
  <token>"}``) or the session cookie of the handshake. A browser sends the cookie on a
  handshake from any page, so the CSRF rule for sockets is the handshake's origin: the
  server's own, or one of ``XWPX_CORS_ORIGINS`` (any other is refused with 403 before
  anything else runs). Without a valid session the socket is closed with 4403.
- Only subscriptions run over the socket (``schema.extensions.SubscriptionsOnSockets``);
  queries and mutations go over HTTP.
- The socket is closed with 4401 when its session ends (logout, a password change, idle for
  two hours) and with 4403 when the account is disabled (``resolvers.live``); with 4429
  when it sends more than ``XWPX_SUBSCRIPTION_MESSAGE_RATE`` messages; with 1013 when the
  database cannot be reached to check the session (connect again shortly).
"""

from __future__ import annotations

import contextlib
import time

from cross_web import HTTPException
from starlette.websockets import WebSocket, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import NonJsonMessageReceived, WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler

from auth.sessions import COOKIE_NAME, EXPIRED, viewer_for_token
from core.faults import fault_of, log_refusal
from resolvers.live import Socket
from schema.context import Context

#: Close codes of the socket beside the protocol's own (4400, 4408, 4409, 4429 ...).
NO_SESSION = 4403
TOO_MANY_MESSAGES = (4429, "消息过于频繁 (too many messages on this socket)")
TRY_AGAIN = 1013


def socket_context(websocket: WebSocket) -> Context:
    """The context of a socket, before ``connection_init`` says who it is."""
    state = websocket.app.state
    settings = state.settings
    return Context(
        request=websocket,
        response=websocket,
        settings=settings,
        sessionmaker=state.sessionmaker,
        viewer=None,
        storage=state.storage,
        read_sessionmaker=state.read_sessionmaker,
        client_address=websocket.client.host if websocket.client else None,
        now=settings.clock(),
    )


def socket_token(websocket: WebSocket, payload: dict) -> str | None:
    """The session token of a socket: ``authorization`` in the ``connection_init`` payload
    (``Bearer <token>``), else the handshake's session cookie."""
    given = next((v for k, v in payload.items() if isinstance(k, str) and k.lower() == "authorization"), None)
    if isinstance(given, str):
        scheme, _, value = given.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return websocket.cookies.get(COOKIE_NAME) or None


class _Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


class _Bucket:
    """Messages a socket may send: ``burst`` at once, then ``per_second``."""

    def __init__(self, burst: float, per_second: float) -> None:
        self.burst, self.per_second = burst, per_second
        self.tokens, self.at = burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.per_second)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class SocketAdapter(ASGIWebSocketAdapter):
    """A message nested too deep (``GraphQLApp.decode_json``) is refused like one that is not
    JSON (4400); nothing is sent on a socket that is closed already."""

    async def iter_json(self, *, ignore_parsing_errors: bool = False):
        messages = super().iter_json(ignore_parsing_errors=ignore_parsing_errors)
        try:
            async for message in messages:
                yield message
        except HTTPException as refused:
            raise NonJsonMessageReceived() from refused

    async def send_json(self, message) -> None:
        if self.ws.application_state == WebSocketState.DISCONNECTED:
            raise WebSocketDisconnected()
        await super().send_json(message)

    async def close(self, code: int, reason: str) -> None:
        if self.ws.application_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(RuntimeError):
                await super().close(code, reason)


class SocketHandler(BaseGraphQLTransportWSHandler):
    """graphql-transport-ws with the session, the message rate and the worker's hub
    (``resolvers.live.Hub``)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.bucket = _Bucket(*self.context.settings.subscription_message_rate)
        self.socket: Socket | None = None

    async def handle_message(self, message) -> None:
        if not self.bucket.take():
            await self.websocket.close(*TOO_MANY_MESSAGES)
            return
        await super().handle_message(message)

    async def handle_connection_init(self, message) -> None:
        payload = message.get("payload") or {}
        if not self.connection_init_received and isinstance(payload, dict):
            try:
                await self._authenticate(payload)
            except _Refused as refused:
                if self.connection_init_timeout_task:
                    self.connection_init_timeout_task.cancel()
                self.connection_init_received = True
                await self.websocket.close(refused.code, refused.reason)
                return
        await super().handle_connection_init(message)

    async def _authenticate(self, payload: dict) -> None:
        context: Context = self.context
        request = context.request
        token = socket_token(request, payload)
        if not token:
            raise _Refused(NO_SESSION, "请先登录 (log in first: send authorization: Bearer <token> in connection_init)")
        now = context.settings.clock()
        try:
            async with context.sessionmaker() as db:
                viewer = await viewer_for_token(db, token, now, context.settings.session_idle_timeout)
        except Exception as error:
            fault = fault_of(error)
            if fault is None:
                raise
            log_refusal(fault.code, "a subscriber's session check", error)
            raise _Refused(TRY_AGAIN, fault.message) from None
        if viewer is None:
            raise _Refused(NO_SESSION, EXPIRED)
        hub = request.app.state.hub
        context.viewer = viewer
        context.now = now
        self.socket = Socket(hub, viewer, self.websocket.close)
        context.socket = self.socket
        hub.join(self.socket)

    async def shutdown(self) -> None:
        try:
            await super().shutdown()
        finally:
            if self.socket is not None:
                self.socket.hub.leave(self.socket)
