"""The GraphQL route (``/graphql``): Strawberry's ASGI app with the request's context, the public
schema for callers without a session, the public rate limit, persisted queries, and the parts
of the GraphQL over HTTP specification Strawberry leaves out."""

from __future__ import annotations

import contextvars
import json

import orjson
from cross_web import HTTPException
from graphql import GraphQLError, get_operation_ast, parse
from graphql import OperationType as GraphQLOperationType
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from strawberry import UNSET
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from auth.ratelimit import public_wait
from auth.sessions import request_viewer
from core import faults
from core.errors import ApiError
from core.settings import Settings
from models.database import RequestConnection
from resolvers import persisted
from schema.context import Context
from schema.errors import graphql_error
from schema.extensions import fault_error
from schema.limits import MAX_JSON_DEPTH
from schema.root import planner, public_schema, refusal_outside_public_part
from web import graphiql, metrics, public_cache, subscriptions

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"

#: The answer to a subscription sent over HTTP.
SUBSCRIPTION_OVER_HTTP = "订阅请通过 WebSocket 连接 /graphql (subscriptions are served over a WebSocket at /graphql, protocol graphql-transport-ws)"


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
    database or a busy pool (``core.faults``) is a 503 wherever it happened; any other
    request error (the request failed before execution) has the status of its code, else
    400."""
    if result.data is not None or not result.errors:
        return None
    codes = [(error.extensions or {}).get("code") for error in result.errors]
    if any(code in faults.BY_CODE for code in codes):
        return 503
    if any(error.path for error in result.errors):
        return None
    return next((_STATUS_BY_CODE[code] for code in codes if code in _STATUS_BY_CODE), 400)


def writes_answered(query: str | None, operation_name: str | None, data: dict | None) -> bool:
    """Whether ``data`` is a mutation's answer in which a root field has a value (a write
    that happened and must be reported), rather than anything that can be asked again."""
    if not data or not query or not any(value is not None for value in data.values()):
        return False
    try:
        operation = get_operation_ast(parse(query), operation_name)
    except GraphQLError:
        return False
    return operation is not None and operation.operation is GraphQLOperationType.MUTATION


class BodyTooDeep(HTTPException):
    def __init__(self) -> None:
        super().__init__(400, f"请求体的 JSON 嵌套过深 (the JSON body nests deeper than {MAX_JSON_DEPTH} levels)")


def json_depth(value: object, stop: int = MAX_JSON_DEPTH + 1) -> int:
    """How deep a parsed JSON value nests (a scalar: 0, ``[1]``: 1), counted level by level
    up to ``stop``: one pass over each level's containers, without recursion."""
    depth, level = 0, [value] if isinstance(value, dict | list) else []
    while level and depth < stop:
        depth += 1
        level = [v for c in level for v in (c.values() if isinstance(c, dict) else c) if isinstance(v, dict | list)]
    return depth


#: The refusal of the request being answered, from get_context (which runs before its body
#: is parsed) to execute_single; set on every request.
_refusal: contextvars.ContextVar[GraphQLError | None] = contextvars.ContextVar("refusal", default=None)


async def _rate_refusal(request: Request) -> GraphQLError | None:
    """RATE_LIMITED when the request's address is over the public rate; a fault of the
    database (the limiter's statement) as its error; else None."""
    try:
        wait = await public_wait(request)
    except Exception as error:
        if (fault := fault_error(error)) is None:
            raise
        return fault
    if wait is None:
        return None
    faults.log_refusal("RATE_LIMITED", f"anonymous requests from {request.client.host if request.client else None}")
    return graphql_error(ApiError("请求过于频繁，请稍后再试 (too many requests from this address)", code="RATE_LIMITED", retryAfterSeconds=wait))


class GraphQLApp(GraphQL):
    """Strawberry's ASGI app with our per-request context, and the parts of the GraphQL over
    HTTP specification Strawberry leaves out: ``application/graphql-response+json`` (with
    4xx/5xx statuses and no ``data`` entry for requests that fail before execution), 405 for
    a mutation over GET, and a string ``operationName``. Browsers get the server's own
    GraphiQL page (``web.graphiql``). Subscriptions: ``web.subscriptions``."""

    graphql_transport_ws_handler_class = subscriptions.SocketHandler
    websocket_adapter_class = subscriptions.SocketAdapter

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql.page(request.app.state.settings.graphiql_assets)

    async def run(self, request, context=UNSET, root_value=UNSET):
        try:
            response = await super().run(request, context, root_value)
        except BodyTooDeep as e:
            return JSONResponse({"errors": [{"message": e.reason, "extensions": {"code": "JSON_TOO_DEEP", "limit": MAX_JSON_DEPTH}}]}, status_code=400)
        except HTTPException as e:
            if e.status_code != 405:
                raise
            return PlainTextResponse(e.reason, status_code=405, headers={"Allow": "POST"})
        finally:
            if isinstance(request, Request):
                # Uploaded files spool to temporary files; close them whether or not a
                # resolver read them (a refused upload never reaches one).
                await request.close()
                if (reads := getattr(request.state, "reads", None)) is not None:
                    await reads.release()
        # create_response answers application/json; the caller may prefer the newer type.
        if getattr(response, "media_type", None) == "application/json" and self._media_type(request) == GRAPHQL_RESPONSE_JSON:
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
        return response

    @staticmethod
    def _media_type(request: Request) -> str:
        return response_media_type(request.headers.get("accept", ""))

    def decode_json(self, data: str | bytes) -> object:
        """JSON nested at most ``MAX_JSON_DEPTH`` deep (a deeper body is refused before
        anything recurses over it)."""
        try:
            value = json.loads(data)
        except RecursionError:
            raise BodyTooDeep() from None
        if json_depth(value) > MAX_JSON_DEPTH:
            raise BodyTooDeep()
        return value

    def encode_json(self, data: object) -> bytes:
        """Answers by orjson (UTF-8, no escapes of other characters; several times faster
        than the standard library's on a page of fifty nodes)."""
        return orjson.dumps(data)

    async def parse_http_body(self, request_adapter):
        if _refusal.get() is not None:
            # Over the public rate (get_context): the body is not even read.
            return GraphQLRequestData(query=None, variables=None, operation_name=None, extensions=None)
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
        """A caller without a valid session (none, or a token that was not honoured) is
        limited by its address's rate (shared by every worker, ``auth.ratelimit``) and
        always served from the public schema (``schema.root``): its introspection and SDL
        show the public part alone, and a document that does not validate there is refused
        with UNAUTHENTICATED, whether the full schema knows it or not."""
        chosen = self.schema
        state = request.app.state
        anonymous = context.viewer is None
        if (refusal := _refusal.get()) is not None:
            return self._answer(request, sub_response, ExecutionResult(data=None, errors=[refusal]))
        problem = await persisted.resolve(
            request_data, sessionmaker=state.sessionmaker, cache=state.persisted_cache,
            registered_only=anonymous and state.settings.public_operations == "registered",
        )
        if problem is not None:
            return self._answer(request, sub_response, ExecutionResult(data=None, errors=[graphql_error(problem)]))
        # Subscriptions are served over the WebSocket alone (web.subscriptions).
        allowed = OperationType.from_http(request_adapter.method) - {OperationType.SUBSCRIPTION}
        if not self.allow_queries_via_get and request_adapter.method == "GET":
            allowed = allowed - {OperationType.QUERY}
        if anonymous:
            chosen = public_schema

        async def execute() -> ExecutionResult:
            if chosen is self.schema and OperationType.QUERY in allowed and state.settings.planned_reads and not state.settings.otel:
                # A document the planner covers is answered from its plan (schema.planner).
                how, planned = await planner.answer(request_data.query, request_data.operation_name, request_data.variables, context)
                metrics.PLANNED_READS.labels(how).inc()
                if planned is not None:
                    return planned
            if context.reads is not None:
                # Normal execution reads through sessions of its own.
                await context.reads.release()
            try:
                return await chosen.execute(
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
                if e.operation_type is OperationType.SUBSCRIPTION:
                    return ExecutionResult(data=None, errors=[graphql_error(ApiError(SUBSCRIPTION_OVER_HTTP, code="SUBSCRIPTION_OVER_WEBSOCKET"))])
                # The spec: a mutation over GET is 405 Method Not Allowed (with Allow: POST).
                status = 405 if request_adapter.method == "GET" else 400
                raise HTTPException(status, e.as_http_error_reason(request_adapter.method)) from e
            except MissingQueryError as e:
                raise HTTPException(400, "No GraphQL query found in the request") from e

        if anonymous and isinstance(request_data.query, str) and public_cache.cacheable(request_data.query, request_data.operation_name):
            # Public lookups only (web.public_cache): one answer for every anonymous caller.
            key = state.public_answers.key(request_adapter.method, request_data.query, request_data.operation_name, request_data.variables)
            result = await state.public_answers.answer(key, execute)
        elif not anonymous and state.signed_in_slots is not None:
            # Signed-in operations take turns (XWPX_SIGNED_IN_CONCURRENCY), so that public
            # lookups never wait behind all of them on the worker's one event loop; one that
            # waits holds no connection meanwhile.
            if state.signed_in_slots.locked():
                await context.reads.release()
            async with state.signed_in_slots:
                result = await execute()
        else:
            result = await execute()
        if (
            result.data is not None
            and any((error.extensions or {}).get("code") in faults.BY_CODE for error in result.errors or ())
            and not writes_answered(request_data.query, request_data.operation_name, result.data)
        ):
            # A lost database or a busy pool fails the operation as a whole (ask again), so
            # that its status can say so: partial data is kept only for a mutation's writes.
            result = ExecutionResult(data=None, errors=result.errors, extensions=result.extensions)
        if context.outside_public_part:
            result = ExecutionResult(data=None, errors=[refusal_outside_public_part(result.errors[0], context.anonymous_reason)])
        return self._answer(request, sub_response, result)

    def _answer(self, request: Request, sub_response: Response, result: ExecutionResult) -> ExecutionResult:
        metrics.count_graphql_errors(result.errors)
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
        if self.is_websocket_request(request):
            return subscriptions.socket_context(request)
        state = request.app.state
        settings: Settings = state.settings
        now = settings.clock()
        # The session is read on the request's connection, which a planned answer reads on next.
        reads = request.state.reads = RequestConnection(state.sessionmaker.kw["bind"])
        viewer, anonymous_reason = await request_viewer(request, now, reads.get)
        # Every request without a valid session counts against its address, before its
        # body is read; over the rate it is answered RATE_LIMITED (execute_single).
        _refusal.set(await _rate_refusal(request) if viewer is None else None)
        # Callers without a session use a pool of their own (see create_app).
        sessionmaker = state.public_sessionmaker if viewer is None else state.sessionmaker
        return Context(
            request=request,
            response=response,
            settings=settings,
            sessionmaker=sessionmaker,
            viewer=viewer,
            storage=state.storage,
            anonymous_reason=anonymous_reason,
            read_sessionmaker=state.read_sessionmaker if viewer is not None else state.public_read_sessionmaker,
            client_address=request.client.host if request.client else None,
            now=now,
            reads=reads,
        )
