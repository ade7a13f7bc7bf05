"""The query limits as a schema extension: tokens before parsing, the rest before validation,
each refusal one GraphQL error with its code, limit and what was counted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLSchema,
)
from graphql.language import (
    Lexer,
    OperationDefinitionNode,
    Source,
    TokenKind,
)
from strawberry.extensions import SchemaExtension

from schema.limits.budgets import BUDGETS, Budget, caller, limit_error
from schema.limits.cost import _aliases, _depth, _facts, _fragments, _Over, _Walk, introspection_budget
from schema.limits.inputs import check_inputs


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


def check(schema: GraphQLSchema, document, operation_name: str | None, variables: dict[str, Any], budget: Budget) -> GraphQLError | None:
    """The first limit the operation passes, or None."""
    fragments = _fragments(document)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if not operations:
        return None
    operation = operations[0]
    depth, aliases = _depth(operation, fragments), _aliases(operation, fragments)
    if depth > budget.depth:
        return limit_error("QUERY_TOO_DEEP", "查询嵌套过深", budget.depth, depth)
    if aliases > budget.aliases:
        return limit_error("TOO_MANY_ALIASES", "查询中的别名过多", budget.aliases, aliases)
    if problem := check_inputs(schema, document, variables, budget):
        return problem
    walk = _Walk(schema, _facts(schema), fragments, variables, cost_limit=budget.cost, introspection_limit=introspection_budget(schema))
    try:
        walk.operation(operation)
    except _Over as over:
        return limit_error("QUERY_TOO_COSTLY", "查询的数据量过大，请减少每页条数或嵌套", over.limit, over.actual)
    return None


class QueryLimits(SchemaExtension):
    """The limits of this module, by caller (anonymous, institution, regulator): tokens
    before parsing, the rest before validation (the walks take documents that may not
    validate: unknown names count nothing, a fragment spread inside itself once)."""

    def on_parse(self) -> Iterator[None]:
        # Tokens before parsing, so an oversized document is never parsed or validated.
        context = self.execution_context
        budget = BUDGETS[caller(getattr(context.context, "viewer", None))]
        tokens = _tokens(context.query or "", budget.tokens + 1)
        if tokens > budget.tokens:
            raise limit_error("TOO_MANY_TOKENS", "查询过长", budget.tokens, tokens)
        yield

    def on_validate(self) -> Iterator[None]:
        # Before validation (which a document over the limits would make slow too): the
        # refusal stands in for the validation's errors.
        context = self.execution_context
        if context.pre_execution_errors is None and context.graphql_document is not None:
            budget = BUDGETS[caller(getattr(context.context, "viewer", None))]
            problem = check(context.schema._schema, context.graphql_document, context.operation_name, context.variables or {}, budget)
            if problem is not None:
                context.pre_execution_errors = [problem]
        yield
