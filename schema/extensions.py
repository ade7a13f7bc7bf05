"""Schema extensions of our own."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from graphql import ExecutionResult, GraphQLError
from graphql.language import DocumentNode, StringValueNode, Visitor, visit
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.types.graphql import OperationType

from core.faults import REFUSALS, fault_of, log_refusal
from models import Institution
from resolvers import audit
from schema.errors import is_expected


def holds_nul(value: Any) -> bool:
    """Whether a value (variables), or a document's string literals, hold a NUL character."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(holds_nul(v) for v in value)
    if isinstance(value, DocumentNode):
        finder = _NulFinder()
        visit(value, finder)
        return finder.found
    return False


class _NulFinder(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        self.found = self.found or "\x00" in node.value


class RefuseNulCharacters(SchemaExtension):
    """Refuse any operation whose strings (literals or variables) hold a NUL character,
    before anything runs: PostgreSQL text cannot store it, and no field of this API needs
    it. One check here instead of one in every resolver."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if holds_nul(context.graphql_document) or holds_nul(context.variables):
            context.result = ExecutionResult(
                data=None,
                errors=[GraphQLError("输入中含有空字符（NUL），请删除后重试 (strings may not contain NUL)", extensions={"code": "BAD_USER_INPUT"})],
            )
        yield


class SubscriptionsOnSockets(SchemaExtension):
    """A subscriber's socket runs subscriptions only (``web.subscriptions``): a query or a
    mutation sent over it is refused with ``SUBSCRIPTION_ONLY`` (send it over HTTP), as a
    subscription over HTTP is refused by the HTTP view."""

    def on_validate(self) -> Iterator[None]:
        yield
        context = self.execution_context
        if (
            context.pre_execution_errors is None
            and getattr(context.context, "socket", None) is not None
            and context.operation_type is not OperationType.SUBSCRIPTION
        ):
            context.pre_execution_errors = [
                GraphQLError(
                    "WebSocket 连接只用于订阅，查询和变更请通过 HTTP 发送 (the socket runs subscriptions only: send queries and mutations over HTTP)",
                    extensions={"code": "SUBSCRIPTION_ONLY"},
                )
            ]


# --- errors ---------------------------------------------------------------------------


def fault_error(error: BaseException | None, nodes=None, path=None) -> GraphQLError | None:
    """The error a fault of the database answers (``core.faults``: ``SERVICE_BUSY`` or
    ``DATABASE_UNAVAILABLE``, with ``retryAfterSeconds``), or None when ``error`` is no
    such fault."""
    fault = fault_of(error)
    if fault is None:
        return None
    return GraphQLError(fault.message, nodes=nodes, path=path, extensions={"code": fault.code, "retryAfterSeconds": fault.retry_after})


class MaskUnexpectedErrors(MaskErrors):
    """Our errors (``ApiError``) and GraphQL's own pass as they are. A lost database answers
    ``DATABASE_UNAVAILABLE`` and a busy pool ``SERVICE_BUSY`` (``core.faults``; try again:
    the pool reconnects by itself when the database is back), with ``retryAfterSeconds``;
    anything else becomes "Unexpected error." with no detail."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: not is_expected(error))

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        if fault := fault_error(error.original_error, error.nodes, error.path):
            return fault
        return GraphQLError(self.error_message, nodes=error.nodes, path=error.path, extensions={"code": "INTERNAL_SERVER_ERROR"})


def log_errors(errors: list[GraphQLError], unexpected, *, answered_as: str | None = None) -> None:
    """The log of a GraphQL result's errors (``Schema.process_errors``): an expected refusal
    (``core.faults.REFUSALS``: a lost database, a busy pool, a rate limit) is one WARNING
    line with its code, the client's other mistakes one INFO line, without a traceback;
    anything unexpected goes to ``unexpected`` (Strawberry's log, with the traceback).
    ``answered_as``: the one code the caller is answered instead (a document outside the
    public part is one UNAUTHENTICATED error), logged as one INFO line."""
    if answered_as is not None and errors:
        logging.getLogger("xwpx").info("%s: %s", answered_as, errors[0].message, extra={"code": answered_as})
        return
    for error in errors:
        fault = fault_of(error.original_error)
        if fault is not None:
            where = ".".join(map(str, error.path)) if error.path else "the operation"
            log_refusal(fault.code, f"GraphQL {where}", error.original_error)
        elif is_expected(error):
            code = (error.extensions or {}).get("code") or "GRAPHQL_VALIDATION_FAILED"
            if code in REFUSALS:
                log_refusal(code, error.message)
            else:
                logging.getLogger("xwpx").info("%s: %s", code, error.message, extra={"code": code})
        else:
            unexpected(error)


class RecordPersonalReads(SchemaExtension):
    """Unmasked personal data read in a request (ID numbers, complainants' identity: see
    ``schema.context.note_personal_read``) goes to the audit trail when the request ends:
    one record per record read, operation ``readPersonalData``, with the fields read, in
    one transaction. A failure to write it is logged (the answer has been computed). A
    subscription's reads are written with each event it delivers."""

    async def on_execute(self):
        yield
        await record_personal_reads(self.execution_context.context)

    async def on_stream_result(self, result) -> None:
        await record_personal_reads(self.execution_context.context)


async def record_personal_reads(context) -> None:
    """The audit records of the unmasked personal data a request read (its answer computed,
    by normal execution, a plan: ``schema.planner``, or a subscription's event), each read
    recorded once."""
    reads = getattr(context, "personal_reads", None)
    if not reads or context.viewer is None:
        return
    taken = dict(reads)
    reads.clear()
    try:
        await _write_reads(context, taken)
    except Exception as error:  # noqa: BLE001 - logged; the answer stands
        fault = fault_of(error)
        if fault is None:
            logging.getLogger("xwpx").exception("could not record %d personal-data reads", len(taken))
        else:
            logging.getLogger("xwpx").error("could not record %d personal-data reads: %s", len(taken), fault.code)


async def _write_reads(context, reads: dict) -> None:
    missing = {institution_id for region, institution_id, _ in reads.values() if region is None and institution_id}
    async with context.sessionmaker() as db:
        regions = dict((await db.execute(sa.select(Institution.id, Institution.region_code).where(Institution.id.in_(missing)))).all()) if missing else {}
        for (record_type, record_id), (region, institution_id, fields) in reads.items():
            audit.record(
                db, context, "readPersonalData", record_type, record_id, region or regions.get(institution_id),
                changed={"fields": [None, sorted(fields)]},
            )
        await db.commit()
