"""The limits of a document's inputs: every string of its arguments (literals, variables and
their defaults) against its limit, every list against ``MAX_LIST_ITEMS``, the nesting of
JSON values."""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLSchema,
    TypeInfo,
    TypeInfoVisitor,
    get_nullable_type,
    is_list_type,
)
from graphql.language import (
    ArgumentNode,
    FieldNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    Visitor,
    visit,
)

from schema.limits.budgets import FILTER_STRING, MAX_JSON_DEPTH, MAX_LIST_ITEMS, MAX_STRING, STRING_LIMITS, Budget, limit_error


class _InputProblem(Exception):
    def __init__(self, error: GraphQLError) -> None:
        self.error = error


def _too_long(where: str, limit: int, actual: int) -> _InputProblem:
    return _InputProblem(
        limit_error("INPUT_TOO_LONG", f"参数 {where} 过长", limit, actual, argument=where)
    )


def _too_many(where: str, limit: int, actual: int) -> _InputProblem:
    return _InputProblem(limit_error("TOO_MANY_ITEMS", f"参数 {where} 的项数过多", limit, actual, argument=where))


def _string_limit(where: str, input_type: str | None) -> int:
    if where in STRING_LIMITS:
        return STRING_LIMITS[where]
    if input_type is not None and input_type.endswith("Filter"):
        return FILTER_STRING
    return MAX_STRING


class _Inputs:
    """Checks the argument values of an operation (literals and variables) against their
    types' limits."""

    def __init__(self, variables: dict[str, Any], defaults: dict[str, ValueNode], representations: int) -> None:
        self.variables = variables
        #: The variables' default values, which stand in for those not sent.
        self.defaults = defaults
        self.representations = representations

    def argument(self, where: str, graphql_type, node: ValueNode) -> None:
        limit = self.representations if where == "Query._entities(representations)" else None
        self.ast(where, None, graphql_type, node, items=limit)

    def _items(self, where: str, count: int, items: int | None) -> None:
        limit = items if items is not None else MAX_LIST_ITEMS
        if count > limit:
            raise _too_many(where, limit, count)

    def ast(self, where: str, owner: str | None, graphql_type, node: ValueNode, *, items: int | None = None) -> None:
        if isinstance(node, VariableNode):
            name = node.name.value
            if name not in self.variables and name in self.defaults:
                self.ast(where, owner, graphql_type, self.defaults[name], items=items)
            else:
                self.raw(where, owner, graphql_type, self.variables.get(name), items=items)
            return
        nullable = get_nullable_type(graphql_type)
        if is_list_type(nullable):
            values = node.values if isinstance(node, ListValueNode) else [node]
            self._items(where, len(values), items)
            for value in values:
                self.ast(where, owner, nullable.of_type, value)
            return
        if isinstance(nullable, GraphQLInputObjectType) and isinstance(node, ObjectValueNode):
            for field_node in node.fields:
                field = nullable.fields.get(field_node.name.value)
                if field is not None:
                    self.ast(f"{nullable.name}.{field_node.name.value}", nullable.name, field.type, field_node.value)
            return
        if isinstance(node, StringValueNode):
            limit = _string_limit(where, owner)
            if len(node.value) > limit:
                raise _too_long(where, limit, len(node.value))
        elif isinstance(node, ListValueNode | ObjectValueNode):
            self.json_ast(where, node, 1)

    def json_ast(self, where: str, node: ValueNode, depth: int) -> None:
        """A literal given to a scalar that takes any value (``_Any``, ``JSON``)."""
        if depth > MAX_JSON_DEPTH:
            raise _too_long(where + " (nesting)", MAX_JSON_DEPTH, depth)
        if isinstance(node, ListValueNode):
            self._items(where, len(node.values), None)
            for value in node.values:
                self.json_ast(where, value, depth + 1)
        elif isinstance(node, ObjectValueNode):
            for field in node.fields:
                self.json_ast(where, field.value, depth + 1)
        elif isinstance(node, StringValueNode):
            limit = _string_limit(where, None)
            if len(node.value) > limit:
                raise _too_long(where, limit, len(node.value))
        elif isinstance(node, VariableNode):
            self.json(where, self.variables.get(node.name.value), depth)

    def raw(self, where: str, owner: str | None, graphql_type, value: Any, *, items: int | None = None) -> None:
        """A variable's value, as sent (JSON), at a position of ``graphql_type``."""
        if value is None:
            return
        nullable = get_nullable_type(graphql_type)
        if is_list_type(nullable):
            values = value if isinstance(value, list) else [value]
            self._items(where, len(values), items)
            for item in values:
                self.raw(where, owner, nullable.of_type, item)
        elif isinstance(nullable, GraphQLInputObjectType):
            if isinstance(value, dict):
                for name, item in value.items():
                    field = nullable.fields.get(name)
                    if field is not None:
                        self.raw(f"{nullable.name}.{name}", nullable.name, field.type, item)
        elif isinstance(value, str):
            limit = _string_limit(where, owner)
            if len(value) > limit:
                raise _too_long(where, limit, len(value))
        elif isinstance(value, dict | list):
            self.json(where, value, 1)  # a scalar that takes any value (_Any, JSON)

    def json(self, where: str, value: Any, depth: int) -> None:
        """A JSON value (``_Any``, ``JSON``): its strings, lists and nesting, without recursion."""
        stack = [(value, depth)]
        while stack:
            item, level = stack.pop()
            if level > MAX_JSON_DEPTH:
                raise _too_long(where + " (nesting)", MAX_JSON_DEPTH, level)
            if isinstance(item, str):
                limit = _string_limit(where, None)
                if len(item) > limit:
                    raise _too_long(where, limit, len(item))
            elif isinstance(item, list):
                self._items(where, len(item), None)
                stack.extend((v, level + 1) for v in item)
            elif isinstance(item, dict):
                stack.extend((v, level + 1) for v in item.values())


class _ArgumentVisitor(Visitor):
    def __init__(self, type_info: TypeInfo, inputs: _Inputs) -> None:
        super().__init__()
        self.type_info, self.inputs = type_info, inputs

    def enter_argument(self, node: ArgumentNode, key: Any, parent: Any, path: Any, ancestors: list) -> None:
        argument = self.type_info.get_argument()
        owner = ancestors[-1] if ancestors else None
        if argument is None:
            return
        if isinstance(owner, FieldNode):
            where = f"{getattr(self.type_info.get_parent_type(), 'name', '?')}.{owner.name.value}({node.name.value})"
        else:
            where = f"@{getattr(getattr(owner, 'name', None), 'value', '?')}({node.name.value})"
        self.inputs.argument(where, argument.type, node.value)


def check_inputs(schema: GraphQLSchema, document, variables: dict[str, Any], budget: Budget) -> GraphQLError | None:
    """The first input of the document (its operations and fragments) over a limit."""
    type_info = TypeInfo(schema)
    defaults = {
        d.variable.name.value: d.default_value
        for o in document.definitions if isinstance(o, OperationDefinitionNode)
        for d in o.variable_definitions or () if d.default_value is not None
    }
    try:
        visit(document, TypeInfoVisitor(type_info, _ArgumentVisitor(type_info, _Inputs(variables, defaults, budget.representations))))
    except _InputProblem as problem:
        return problem.error
    return None
