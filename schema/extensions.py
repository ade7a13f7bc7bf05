"""Schema extensions of our own."""

from __future__ import annotations

import logging

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    get_named_type,
    get_nullable_type,
    is_list_type,
)
from graphql.language import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    Lexer,
    OperationDefinitionNode,
    SelectionSetNode,
    Source,
    StringValueNode,
    TokenKind,
    VariableNode,
    Visitor,
    visit,
)
from strawberry.extensions import MaskErrors, SchemaExtension

from faults import REFUSALS, fault_of, log_refusal
from schema.errors import is_expected


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_nul(v) for v in value)
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
        finder = _NulFinder()
        if context.graphql_document is not None:
            visit(context.graphql_document, finder)
        if finder.found or _holds_nul(context.variables):
            context.result = ExecutionResult(
                data=None,
                errors=[GraphQLError("输入中含有空字符（NUL），请删除后重试 (strings may not contain NUL)", extensions={"code": "BAD_USER_INPUT"})],
            )
        yield


# --- query limits ---------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    depth: int
    aliases: int
    tokens: int
    cost: int


#: Budgets by caller: anonymous traffic is the most limited, regulators the least.
BUDGETS = {
    "anonymous": Budget(depth=8, aliases=10, tokens=1_000, cost=2_000),
    "institution": Budget(depth=10, aliases=20, tokens=2_000, cost=5_000),
    "regulator": Budget(depth=12, aliases=40, tokens=5_000, cost=20_000),
}
#: What a list without a page size is assumed to hold (regions' children: up to ~100).
LIST_ESTIMATE = 20
DEFAULT_PAGE = 20
#: Lists with a typical size of their own (the portal's nested records of one institution).
LIST_ESTIMATES = {
    "Institution.sites": 5,
    "Site.courses": 10,
    "Course.classes": 10,
    "TrainingClass.teachers": 3,
    "TrainingClass.schedule": 3,
    "Institution.staff": 50,
    "Institution.materials": 50,
    "Institution.applications": 10,
    "Institution.findings": 20,
    "Application.findingsAtSubmission": 10,
    # A region's children (up to ~40 in the national table) or a county's units.
    "Statistics.rows": 40,
    "StatisticsSeries.months": 36,
}


def caller(viewer: Any) -> str:
    if viewer is None:
        return "anonymous"
    return "regulator" if viewer.is_regulator else "institution"


@dataclass
class Measured:
    depth: int = 0
    aliases: int = 0


def _argument(node: FieldNode, name: str, variables: dict[str, Any]) -> Any:
    for argument in node.arguments or ():
        if argument.name.value == name:
            value = argument.value
            if isinstance(value, VariableNode):
                return variables.get(value.name.value)
            if isinstance(value, IntValueNode):
                return int(value.value)
    return None


def measure(
    selection_set: SelectionSetNode | None,
    parent: GraphQLNamedType,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
    schema: GraphQLSchema,
    found: Measured,
    depth: int = 0,
) -> int:
    """The cost of a selection: 1 per field, children multiplied by the page size of
    connections (``first``) or an estimate for other lists. Records depth and aliases."""
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            found.depth = max(found.depth, depth + 1)
            if selection.alias is not None:
                found.aliases += 1
            fields = getattr(parent, "fields", {})
            definition = fields.get(selection.name.value)
            if definition is None:  # __typename and introspection (__schema, __type)
                total += 1
                continue
            child_type = get_named_type(definition.type)
            child = measure(selection.selection_set, child_type, fragments, variables, schema, found, depth + 1)
            first = _argument(selection, "first", variables)
            if "first" in definition.args:
                multiplier = first if isinstance(first, int) and first >= 0 else DEFAULT_PAGE
            elif is_list_type(get_nullable_type(definition.type)) and not parent.name.endswith("Connection"):
                multiplier = LIST_ESTIMATES.get(f"{parent.name}.{selection.name.value}", LIST_ESTIMATE)
            else:
                multiplier = 1
            total += 1 + multiplier * child
        elif isinstance(selection, InlineFragmentNode):
            target = schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent
            total += measure(selection.selection_set, target or parent, fragments, variables, schema, found, depth)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                target = schema.get_type(fragment.type_condition.name.value) or parent
                total += measure(fragment.selection_set, target, fragments, variables, schema, found, depth)
    return total


def _tokens(query: str, stop: int) -> int:
    """The document's tokens, counted up to ``stop``; a lexing error counts as none (the
    parser reports it)."""
    lexer = Lexer(Source(query))
    count = 0
    try:
        while count < stop and lexer.advance().kind is not TokenKind.EOF:
            count += 1
    except GraphQLError:
        return 0
    return count


class QueryLimits(SchemaExtension):
    """Depth, aliases, tokens and a cost budget per operation, by caller (anonymous,
    institution, regulator): tokens before parsing, the rest after validation and before
    any resolver runs.
    Lists cost by their page size (``first``, at most 100 anyway). Over a limit the answer
    is one GraphQL error with ``extensions.code`` (``QUERY_TOO_DEEP``, ``TOO_MANY_ALIASES``,
    ``TOO_MANY_TOKENS``, ``QUERY_TOO_COSTLY``), ``limit`` and ``actual``."""

    def on_parse(self) -> Iterator[None]:
        # Tokens before parsing, so an oversized document is never parsed or validated.
        context = self.execution_context
        budget = BUDGETS[caller(getattr(context.context, "viewer", None))]
        tokens = _tokens(context.query or "", budget.tokens + 1)
        if tokens > budget.tokens:
            raise _limit_error("TOO_MANY_TOKENS", "查询过长", budget.tokens, tokens)
        yield

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.result is None and context.graphql_document is not None:
            problem = self.check(context)
            if problem is not None:
                context.result = ExecutionResult(data=None, errors=[problem])
        yield

    def check(self, context: Any) -> GraphQLError | None:
        viewer = getattr(context.context, "viewer", None)
        budget = BUDGETS[caller(viewer)]
        schema = self.execution_context.schema._schema
        document = context.graphql_document
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if context.operation_name:
            operations = [o for o in operations if o.name and o.name.value == context.operation_name]
        found = Measured()
        cost = 0
        for operation in operations[:1]:
            root = schema.get_root_type(operation.operation)
            cost = measure(operation.selection_set, root, fragments, context.variables or {}, schema, found)
        if found.depth > budget.depth:
            return _limit_error("QUERY_TOO_DEEP", "查询嵌套过深", budget.depth, found.depth)
        if found.aliases > budget.aliases:
            return _limit_error("TOO_MANY_ALIASES", "查询中的别名过多", budget.aliases, found.aliases)
        if cost > budget.cost:
            return _limit_error("QUERY_TOO_COSTLY", "查询的数据量过大，请减少每页条数或嵌套", budget.cost, cost)
        return None


def _limit_error(code: str, message: str, limit: int, actual: int) -> GraphQLError:
    return GraphQLError(f"{message}（上限 {limit}，本次 {actual}）", extensions={"code": code, "limit": limit, "actual": actual})


# --- errors ---------------------------------------------------------------------------


class MaskUnexpectedErrors(MaskErrors):
    """Our errors (``ApiError``) and GraphQL's own pass as they are. A lost database answers
    ``DATABASE_UNAVAILABLE`` and a busy pool ``SERVICE_BUSY`` (``faults``; try again: the
    pool reconnects by itself when the database is back), with ``retryAfterSeconds``;
    anything else becomes "Unexpected error." with no detail."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: not is_expected(error))

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        fault = fault_of(error.original_error)
        if fault is not None:
            return GraphQLError(
                fault.message, nodes=error.nodes, path=error.path, extensions={"code": fault.code, "retryAfterSeconds": fault.retry_after}
            )
        return GraphQLError(self.error_message, nodes=error.nodes, path=error.path, extensions={"code": "INTERNAL_SERVER_ERROR"})


def log_errors(errors: list[GraphQLError], unexpected) -> None:
    """The log of a GraphQL result's errors (``Schema.process_errors``): an expected refusal
    (``faults.REFUSALS``: a lost database, a busy pool, a rate limit) is one WARNING line
    with its code, the client's other mistakes one INFO line, without a traceback; anything
    unexpected goes to ``unexpected`` (Strawberry's log, with the traceback)."""
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
    one transaction. A failure to write it is logged (the answer has been computed)."""

    async def on_execute(self):
        yield
        context = self.execution_context.context
        reads = getattr(context, "personal_reads", None)
        if not reads or context.viewer is None:
            return
        try:
            await _write_reads(context, reads)
        except Exception as error:  # noqa: BLE001 - logged; the answer stands
            fault = fault_of(error)
            if fault is None:
                logging.getLogger("xwpx").exception("could not record %d personal-data reads", len(reads))
            else:
                logging.getLogger("xwpx").error("could not record %d personal-data reads: %s", len(reads), fault.code)


async def _write_reads(context, reads: dict) -> None:
    import sqlalchemy as sa

    from models import Institution
    from resolvers import audit

    missing = {institution_id for region, institution_id, _ in reads.values() if region is None and institution_id}
    async with context.sessionmaker() as db:
        regions = dict((await db.execute(sa.select(Institution.id, Institution.region_code).where(Institution.id.in_(missing)))).all()) if missing else {}
        for (record_type, record_id), (region, institution_id, fields) in reads.items():
            audit.record(
                db, context, "readPersonalData", record_type, record_id, region or regions.get(institution_id),
                changed={"fields": [None, sorted(fields)]},
            )
        await db.commit()
