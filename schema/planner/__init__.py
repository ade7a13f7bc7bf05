"""The planned read path (docs/read-path.md): a query whose every root field the planner
knows is answered from the statements its plan holds, without graphql-core resolving each
field of each row; anything else, and any request whose arguments, variables or limits the
plan would have to judge, goes to normal execution, so an answer never depends on what the
planner covers.

A plan is made once per (schema, document, operation, kind of viewer): the document parsed
within the caller's token budget, validated against the schema, free of directives; every
root field planned (``institutions``: ``schema.planner.institutions``; ``institution``:
``schema.planner.detail``) and allowed to this kind of viewer by the field's own permission
classes. Per request: the variables coerced
by graphql-core, the query limits (``schema.limits.check``) and the NUL rule checked, the
arguments converted as Strawberry converts them, then the plan's statements run on the
request's pooled connection (the one its session was read on) and its answer is built. Unmasked personal data read is recorded as
``schema.extensions.RecordPersonalReads`` records it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from cachetools import LRUCache
from graphql import GraphQLError, OperationDefinitionNode, OperationType, get_operation_ast, parse, validate
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry.permission import PermissionExtension
from strawberry.types import ExecutionResult
from strawberry.types.arguments import convert_arguments

from auth.viewer import Viewer
from core import faults
from models.database import single_statement_engine
from resolvers.planner.statements import Statements
from schema.extensions import holds_nul, record_personal_reads
from schema.limits import BUDGETS, caller, check
from schema.planner.detail import plan_institution
from schema.planner.document import NotCovered, Selected, collect, fragments_of, has_directives
from schema.planner.institutions import plan_institutions

log = logging.getLogger("xwpx")

#: How a request was answered (``Planner.answer``; the label of ``xwpx_graphql_planned_total``).
PLANNED, NORMAL, FAILED = "planned", "normal", "failed"

#: The root fields the planner plans, by name.
ROOTS: dict[str, Callable] = {"institutions": plan_institutions, "institution": plan_institution}


def viewer_kind(viewer: Viewer | None) -> Hashable:
    """What a plan may depend on of its viewer: who it is for the permission classes and
    the scope function's form (not its values, bound per request)."""
    if viewer is None:
        return None
    return (viewer.kind, viewer.level, viewer.department, viewer.must_change_password, viewer.institution_id is None, viewer.region_path is None)


@dataclass
class _Root:
    selected: Selected
    field: Any  # the GraphQL field definition
    strawberry_field: Any
    plan: Any


@dataclass
class Plan:
    document: Any
    operation: OperationDefinitionNode
    roots: list[_Root]


class Planner:
    """The plans of one schema, the most recent ``size`` kept (with the documents it does
    not plan, so that they are read once)."""

    def __init__(self, strawberry_schema: Any, size: int = 1024) -> None:
        self.strawberry_schema = strawberry_schema
        self.schema = strawberry_schema._schema
        self.statements = Statements()
        self._plans: LRUCache = LRUCache(maxsize=size)
        query_type = strawberry_schema.schema_converter.type_map[self.schema.query_type.name].definition
        names = strawberry_schema.config.name_converter
        self._fields = {names.get_graphql_name(f): f for f in query_type.fields}

    def plan(self, query: str, operation_name: str | None, viewer: Viewer | None) -> Plan | None:
        if not any(root in query for root in ROOTS):
            return None  # no root the planner knows: not even parsed here
        key = (query, operation_name, viewer_kind(viewer))
        if key in self._plans:
            return self._plans[key]
        try:
            plan = self._make(query, operation_name, viewer)
        except NotCovered:
            plan = None
        self._plans[key] = plan
        return plan

    def _make(self, query: str, operation_name: str | None, viewer: Viewer | None) -> Plan:
        budget = BUDGETS[caller(viewer)]
        try:
            document = parse(query, max_tokens=budget.tokens)
        except GraphQLError as error:
            raise NotCovered("syntax") from error
        if has_directives(document) or holds_nul(document):
            raise NotCovered("directives")
        # The limits first, as normal execution checks them (over them, validation is not run).
        if check(self.schema, document, operation_name, {}, budget) is not None or validate(self.schema, document):
            raise NotCovered("invalid")
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation is not OperationType.QUERY:
            raise NotCovered("operation")
        roots = []
        for selected in collect(operation.selection_set, fragments_of(document)):
            if selected.name == "__typename":
                roots.append(_Root(selected, None, None, None))
                continue
            make = ROOTS.get(selected.name)
            if make is None:
                raise NotCovered(selected.name)
            strawberry_field = self._fields[selected.name]
            if not self._allowed(strawberry_field, viewer):
                raise NotCovered("permission")
            roots.append(_Root(selected, self.schema.query_type.fields[selected.name], strawberry_field, make(self.schema, selected, self.statements, viewer)))
        return Plan(document, operation, roots)

    @staticmethod
    def _allowed(strawberry_field: Any, viewer: Viewer | None) -> bool:
        """Whether the field's permission classes let this kind of viewer call it (a refusal
        is normal execution's to answer)."""
        info = SimpleNamespace(context=SimpleNamespace(viewer=viewer, anonymous_reason=None))
        for extension in strawberry_field.extensions:
            if isinstance(extension, PermissionExtension):
                for permission in extension.permissions:
                    try:
                        if not permission.has_permission(None, info):
                            return False
                    except Exception:  # noqa: BLE001 - a refusal: normal execution answers it
                        return False
        return True

    async def answer(self, query: Any, operation_name: str | None, variables: dict | None, context: Any) -> tuple[str, ExecutionResult | None]:
        """How the request is answered (``PLANNED``, ``NORMAL``, or ``FAILED``: its plan
        failed while it ran, a bug that normal execution covers) and the planned answer, or
        None for normal execution to answer it."""
        if not isinstance(query, str):
            return NORMAL, None
        plan = self.plan(query, operation_name, context.viewer)
        if plan is None:
            return NORMAL, None
        return await self._answer(plan, operation_name, variables, context)

    async def _answer(self, plan: Plan, operation_name: str | None, variables: dict | None, context: Any) -> tuple[str, ExecutionResult | None]:
        variables = variables or {}
        # Without variables the limits were checked with the plan (the same document, budget
        # and inputs); with them, they are checked again.
        if variables and (holds_nul(variables) or check(self.schema, plan.document, operation_name, variables, BUDGETS[caller(context.viewer)]) is not None):
            return NORMAL, None
        coerced = get_variable_values(self.schema, plan.operation.variable_definitions or (), variables)
        if isinstance(coerced, list):
            return NORMAL, None
        try:
            arguments = [
                None if root.plan is None else convert_arguments(
                    get_argument_values(root.field, root.selected.nodes[0], coerced),
                    root.strawberry_field.arguments, self.strawberry_schema.schema_converter.scalar_registry, self.strawberry_schema.config,
                )
                for root in plan.roots
            ]
        except Exception:  # noqa: BLE001 - arguments normal execution refuses
            return NORMAL, None
        try:
            data = await self._run(plan, arguments, context)
        except Exception as error:  # noqa: BLE001 - normal execution answers it, and reports it
            context.personal_reads.clear()
            if faults.fault_of(error) is not None:
                return NORMAL, None  # the database's fault: normal execution meets it too
            log.warning("planned answer failed (%s); normal execution answers", type(error).__name__, exc_info=True)
            return FAILED, None
        await record_personal_reads(context)
        return PLANNED, ExecutionResult(data=data, errors=None)

    async def _run(self, plan: Plan, arguments: list, context: Any) -> dict:
        # Reads without a transaction (no BEGIN and COMMIT around the page's statement), on
        # the connection the session was read on when the request has one.
        if context.reads is not None:
            return await self._run_on(plan, arguments, context, await context.reads.get())
        async with single_statement_engine(context.sessionmaker.kw["bind"]).connect() as connection:
            return await self._run_on(plan, arguments, context, connection)

    async def _run_on(self, plan: Plan, arguments: list, context: Any, connection: Any) -> dict:
        data: dict[str, Any] = {}
        for root, args in zip(plan.roots, arguments, strict=True):
            data[root.selected.key] = self.schema.query_type.name if root.plan is None else await root.plan.run(context, args, connection)
        return data
