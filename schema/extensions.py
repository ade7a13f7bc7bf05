"""Schema extensions of our own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import ExecutionResult, GraphQLError
from graphql.language import StringValueNode, Visitor, visit
from strawberry.extensions import SchemaExtension


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
