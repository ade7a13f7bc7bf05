"""The cost of a document, its depth and aliases, in time linear in the document: each fragment
measured once per context it is spread in, the walk stopped once the budget is passed;
introspection against a budget of its own."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLSchema,
    get_introspection_query,
    get_named_type,
    get_nullable_type,
    is_input_object_type,
    is_interface_type,
    is_list_type,
    is_object_type,
    parse,
)
from graphql.language import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef

from resolvers.pagination import MAX_PAGE_SIZE
from schema.limits.budgets import BOUNDS, PAGE, Bound, bound_of


@dataclass(frozen=True)
class _SchemaFacts:
    """What introspection can answer about one schema: its lists' bounds, the deepest
    wrapping of a type reference (``[X!]!``: three ``ofType`` below the reference), and
    the introspection budget."""

    bounds: dict[str, Bound]
    wrapping: int
    introspection: int


def _wrapping(graphql_type) -> int:
    depth = 0
    while isinstance(graphql_type, GraphQLNonNull | GraphQLList):
        graphql_type = graphql_type.of_type
        depth += 1
    return depth


@functools.cache
def _facts(schema: GraphQLSchema) -> _SchemaFacts:
    types = list(schema.type_map.values())
    fields = [t.fields for t in types if is_object_type(t) or is_interface_type(t)]
    inputs = [t.fields for t in types if is_input_object_type(t)]
    values = [t.values for t in types if hasattr(t, "values") and isinstance(getattr(t, "values"), dict)]
    interfaces = [t.interfaces for t in types if is_object_type(t) or is_interface_type(t)]
    possible = [schema.get_possible_types(t) for t in types if hasattr(t, "resolve_type")]
    args = [f.args for group in fields for f in group.values()]
    directive_args = [d.args for d in schema.directives]

    def bound(groups: list, *, owned: bool = True) -> Bound:
        return Bound(max((len(g) for g in groups), default=0), owner="__Schema", total=sum(len(g) for g in groups), owned=owned)

    bounds = {
        "__Schema.types": Bound(len(types)),
        "__Schema.directives": Bound(len(schema.directives)),
        "__Type.fields": bound(fields),
        "__Type.inputFields": bound(inputs),
        "__Type.enumValues": bound(values),
        "__Type.interfaces": bound(interfaces, owned=False),
        "__Type.possibleTypes": bound(possible, owned=False),
        "__Field.args": bound(args),
        "__Directive.args": bound(directive_args),
    }
    wrapping = max(
        [_wrapping(f.type) for group in fields for f in group.values()]
        + [_wrapping(a.type) for group in args + directive_args + inputs for a in group.values()]
    )
    facts = _SchemaFacts(bounds, wrapping, 0)
    # The standard introspection query with every option (GraphiQL's asks for a subset),
    # with half again of room.
    document = parse(
        get_introspection_query(
            specified_by_url=True, directive_is_repeatable=True, schema_description=True, input_value_deprecation=True, one_of=True
        )
    )
    walk = _Walk(schema, facts, _fragments(document), {}, cost_limit=None, introspection_limit=None)
    walk.operation(next(d for d in document.definitions if isinstance(d, OperationDefinitionNode)))
    return _SchemaFacts(bounds, wrapping, walk.introspection * 3 // 2)


def introspection_budget(schema: GraphQLSchema) -> int:
    return _facts(schema).introspection


class _Over(Exception):
    def __init__(self, limit: int, actual: int) -> None:
        self.limit, self.actual = limit, actual


def _fragments(document) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _int_argument(node: FieldNode, name: str, variables: dict[str, Any]) -> int | None:
    for argument in node.arguments or ():
        if argument.name.value == name:
            value = argument.value
            if isinstance(value, VariableNode):
                value = variables.get(value.name.value)
                return value if isinstance(value, int) and not isinstance(value, bool) else None
            return int(value.value) if isinstance(value, IntValueNode) else None
    return None


def _list_argument(node: FieldNode, name: str, variables: dict[str, Any]) -> int:
    for argument in node.arguments or ():
        if argument.name.value == name:
            value = argument.value
            if isinstance(value, VariableNode):
                value = variables.get(value.name.value)
                return len(value) if isinstance(value, list) else int(value is not None)
            return len(value.values) if isinstance(value, ListValueNode) else 1
    return 0


#: The types that own bounded lists below them (``Bound.owner``).
_OWNERS = frozenset(b.owner for b in BOUNDS.values() if b.owner is not None)


def _owning(graphql_type: GraphQLNamedType, objects: int, owners: tuple) -> tuple:
    """``owners`` once the walk stands on ``objects`` objects of ``graphql_type``: an owner
    type counts from there (an entity's fragment, a list's items)."""
    if graphql_type.name not in _OWNERS:
        return owners
    return (*(o for o in owners if o[0] != graphql_type.name), (graphql_type.name, objects))


class _Walk:
    """The cost of an operation: ``cost`` (the data) and ``introspection``, each compared to
    its limit as it grows (``_Over`` when passed; ``None``: no limit)."""

    def __init__(self, schema: GraphQLSchema, facts: _SchemaFacts, fragments, variables, *, cost_limit, introspection_limit) -> None:
        self.schema, self.facts, self.fragments, self.variables = schema, facts, fragments, variables
        self.cost_limit, self.introspection_limit = cost_limit, introspection_limit
        self.cost = 0
        self.introspection = 0
        #: (fragment, type, objects, owners, introspection, ofType levels, page) -> (cost, introspection)
        self.memo: dict[tuple, tuple[int, int]] = {}
        #: The fragments being walked (a spread of one of them inside itself is a cycle).
        self.active: set[str] = set()

    def operation(self, operation: OperationDefinitionNode) -> None:
        root = self.schema.get_root_type(operation.operation)
        if root is not None:
            self.selections(operation.selection_set, root, 1, (), False, 0, 0)

    def _spend(self, amount: int, meta: bool) -> None:
        if meta:
            self.introspection += amount
            if self.introspection_limit is not None and self.introspection > self.introspection_limit:
                raise _Over(self.introspection_limit, self.introspection)
        else:
            self.cost += amount
            if self.cost_limit is not None and self.cost > self.cost_limit:
                raise _Over(self.cost_limit, self.cost)

    def selections(self, selection_set: SelectionSetNode, parent: GraphQLNamedType, objects: int, owners: tuple, meta: bool, levels: int, page: int) -> None:
        """Count ``selection_set`` on ``objects`` objects of type ``parent``. ``owners``: the
        number of objects of each owner type above, on an owned path; ``levels``: how many
        ``ofType`` a ``__Type`` may still answer; ``page``: a connection's page size."""
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self.field(selection, parent, objects, owners, meta, levels, page)
            elif isinstance(selection, InlineFragmentNode):
                target = (self.schema.get_type(selection.type_condition.name.value) if selection.type_condition else None) or parent
                self.selections(selection.selection_set, target, objects, _owning(target, objects, owners), meta, levels, page)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is None:
                    continue
                target = self.schema.get_type(fragment.type_condition.name.value) or parent
                owners = _owning(target, objects, owners)
                key = (fragment.name.value, target.name, objects, owners, meta, levels, page)
                if key in self.memo:
                    cost, introspection = self.memo[key]
                    self._spend(cost, False)
                    self._spend(introspection, True)
                    continue
                if fragment.name.value in self.active:
                    continue  # a cycle, which validation refuses: counted once
                self.active.add(fragment.name.value)
                before = (self.cost, self.introspection)
                self.selections(fragment.selection_set, target, objects, owners, meta, levels, page)
                self.memo[key] = (self.cost - before[0], self.introspection - before[1])
                self.active.discard(fragment.name.value)

    def field(self, node: FieldNode, parent: GraphQLNamedType, objects: int, owners: tuple, meta: bool, levels: int, page: int) -> None:
        name = node.name.value
        if name == "__typename":
            self._spend(objects, meta)
            return
        if parent is self.schema.query_type and name in ("__schema", "__type"):
            definition, meta = (SchemaMetaFieldDef if name == "__schema" else TypeMetaFieldDef), True
        else:
            definition = getattr(parent, "fields", {}).get(name)
        if definition is None:
            return  # validation has refused it already
        self._spend(objects, meta)
        if node.selection_set is None:
            return
        child = get_named_type(definition.type)
        count, child_owners, child_levels, child_page = objects, (), 0, 0
        if is_list_type(get_nullable_type(definition.type)):
            if name == "edges" and parent.name.endswith("Connection"):
                each, bound = page, None
            else:
                bound = (self.facts.bounds if meta else {}).get(f"{parent.name}.{name}") or bound_of(parent.name, name, child.name)
                each = self._each(bound, node, definition)
            count = objects * each
            if bound is not None and bound.owner is not None:
                held = dict(owners).get(bound.owner)
                if held is not None:
                    count = min(count, held * bound.total)
            if bound is not None and bound.owned:
                child_owners = owners
        elif "first" in definition.args and child.name.endswith("Connection"):
            bound = BOUNDS.get(f"{parent.name}.{name}", PAGE)
            child_page = self._each(bound, node, definition)
        if meta:
            if name in ("type", "ofType") and child.name == "__Type":
                # A type reference answers as many ofType as its wrapping, then null.
                child_levels = self.facts.wrapping if name == "type" else levels - 1
                if child_levels < 0:
                    count = 0
            if child.name == "__Schema":
                child_owners = (("__Schema", count),)
        else:
            child_owners = _owning(child, count, child_owners)
        self.selections(node.selection_set, child, count, child_owners, meta, child_levels, child_page)

    def _each(self, bound: Bound | None, node: FieldNode, definition) -> int:
        if bound is None:
            return MAX_PAGE_SIZE  # a list without a declared bound (tests keep there being none)
        if bound.argument is None:
            return bound.most
        argument = definition.args.get(bound.argument)
        if argument is not None and is_list_type(get_nullable_type(argument.type)):
            return _list_argument(node, bound.argument, self.variables)
        value = _int_argument(node, bound.argument, self.variables)
        if value is None and argument is not None and isinstance(argument.default_value, int):
            value = argument.default_value
        return max(0, min(bound.most, value if value is not None else bound.most))


def _depth(operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]) -> int:
    """The operation's depth, each fragment measured once; an introspection field counts
    as one level (its cost is counted)."""
    depths: dict[str, int] = {}

    def depth(selection_set: SelectionSetNode | None) -> int:
        deepest = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                inner = 0 if selection.name.value.startswith("__") else depth(selection.selection_set)
                deepest = max(deepest, 1 + inner)
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, depth(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value in fragments:
                name = selection.name.value
                if name not in depths:
                    depths[name] = 0  # validation refuses cycles; this guards the walk anyway
                    depths[name] = depth(fragments[name].selection_set)
                deepest = max(deepest, depths[name])
        return deepest

    return depth(operation.selection_set)


def _aliases(operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]) -> int:
    """The aliases in the operation and the fragments it spreads, as written: introspection
    included, each fragment once."""
    count, seen, pending = 0, set(), [operation.selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                count += selection.alias is not None
                if selection.selection_set is not None:
                    pending.append(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value in fragments and selection.name.value not in seen:
                seen.add(selection.name.value)
                pending.append(fragments[selection.name.value].selection_set)
    return count


def cost(schema: GraphQLSchema, query: str, variables: dict[str, Any] | None = None, operation_name: str | None = None) -> tuple[int, int]:
    """(data cost, introspection cost) of an operation, without limits (tests, the examples)."""
    document = parse(query)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    walk = _Walk(schema, _facts(schema), _fragments(document), variables or {}, cost_limit=None, introspection_limit=None)
    walk.operation(operations[0])
    return walk.cost, walk.introspection
