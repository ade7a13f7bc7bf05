"""Query limits (查询限制): what one request may ask for, by caller, checked before any
resolver runs and in time linear in the document.

- **Tokens** before the document is parsed.
- **Depth** of nested fields and **aliases** in the document as written (each fragment
  once; introspection's own nesting is not counted for depth: its cost is).
- **Inputs**: every string of the arguments (literals and variables) against its limit —
  ``STRING_LIMITS`` per argument or input field, ``FILTER_STRING`` for the fields of a
  ``…Filter`` input, ``MAX_STRING`` otherwise —, every list against ``MAX_LIST_ITEMS`` (a
  caller's ``representations`` for ``_entities``), and the nesting of JSON values.
- **Cost**: one for each field value the server would resolve. A field counts once per
  object it is selected on, so a list multiplies what is selected under it by the most
  items it can hold: a connection or a list with ``first`` by that page size (or the
  argument's default), ``_entities`` by its representations, and the other lists by the caps
  their records are created under (``BOUNDS``: an institution's sites, a class's
  teachers…). A bound may also be per owner: the courses of all the sites of one
  institution are at most ``MAX_COURSES`` together, however the sites split them. A fragment
  is measured once for each context it is spread in (memoised), and the walk stops as soon
  as the budget is passed. Introspection is counted alike, against a budget of its own
  (``introspection_budget``: the standard introspection query of that schema fits it, with
  room for the clients that ask a little more); its lists are bounded by the schema itself.

Over a limit the answer is one GraphQL error with ``extensions.code``
(``TOO_MANY_TOKENS``, ``QUERY_TOO_DEEP``, ``TOO_MANY_ALIASES``, ``INPUT_TOO_LONG``,
``TOO_MANY_ITEMS``, ``QUERY_TOO_COSTLY``), ``limit`` and ``actual`` (for the cost: what
had been counted when the walk stopped, so at least that much).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLSchema,
    TypeInfo,
    TypeInfoVisitor,
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
    ArgumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    Lexer,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Source,
    StringValueNode,
    TokenKind,
    ValueNode,
    VariableNode,
    Visitor,
    visit,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef
from strawberry.extensions import SchemaExtension

from models import ApplicationStatus, ApplicationType, TrainingCategory
from resolvers import documents, lists, materials, public, regions, sites, staff
from resolvers.accounts import regulators
from resolvers.inspections import ledgers
from resolvers.institutions import home
from resolvers.pagination import MAX_PAGE_SIZE
from resolvers.statistics import views
from schema.institutions.payloads import MAX_IMPORT_ERRORS
from schema.node import MAX_NODES

# --- budgets --------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    depth: int
    aliases: int
    tokens: int
    cost: int
    #: ``_entities`` representations per request.
    representations: int


#: Budgets by caller. Each lets the examples (docs/examples/) of that caller pass (the portal's
#: home page with the whole site → course → class → teacher tree; a county's overdue
#: ledgers); ``tests/test_examples.py`` runs them all.
BUDGETS = {
    "anonymous": Budget(depth=8, aliases=10, tokens=1_000, cost=2_000, representations=100),
    "institution": Budget(depth=10, aliases=20, tokens=2_000, cost=15_000, representations=100),
    "regulator": Budget(depth=12, aliases=40, tokens=5_000, cost=30_000, representations=500),
}

#: Strings: the default limit of any string in the arguments, that of a filter's fields, and
#: those of named arguments and input fields ("Type.field(argument)", "Input.field").
MAX_STRING = 10_000
FILTER_STRING = 100
STRING_LIMITS = {
    # Keys of a federation representation (ids, codes).
    "Query._entities(representations)": 100,
}
#: Lists in the arguments (ids, items, entries…), and the nesting of a JSON value
#: (``_Any``, ``JSON``) in them; the request body's nesting is checked before it is parsed
#: (``server.GraphQLApp``).
MAX_LIST_ITEMS = 1_000
MAX_JSON_DEPTH = 32


def caller(viewer: Any) -> str:
    if viewer is None:
        return "anonymous"
    return "regulator" if viewer.is_regulator else "institution"


# --- bounds of lists ------------------------------------------------------------------


@dataclass(frozen=True)
class Bound:
    """The most items a list field answers per object it is selected on: ``most``, or the
    value of its ``argument`` (a page size ``first``, capped at ``most``, or as many as the
    items of a list argument). With an ``owner``, the items under one object of that type
    number at most ``total`` together; ``owned`` items keep counting against their owner
    (an institution's sites' courses' classes), references (a class's teachers, a type's
    interfaces) do not."""

    most: int
    argument: str | None = None
    owner: str | None = None
    total: int | None = None
    owned: bool = True


#: Findings of one class (``resolvers.findings._check_class``): end time, two online lesson
#: rules, fee period, name, unfiled enrolment, and one per teacher without a certificate.
CLASS_FINDINGS = 6 + sites.MAX_TEACHERS
#: Errors of a mutation's payload: at most one per input field (the largest forms have
#: about 30); a ledger's three per item; a black list's two per entry.
USER_ERRORS = 50

PAGE = Bound(MAX_PAGE_SIZE, argument="first")
BOUNDS: dict[str, Bound] = {
    "Query.regions": Bound(regions.MAX_CHILDREN),
    "Region.children": Bound(regions.MAX_CHILDREN),
    "Query.rectificationByRegion": Bound(regions.MAX_CHILDREN),
    "Query.applicationCounts": Bound(len(ApplicationType) * len(ApplicationStatus)),
    "Query.nodes": Bound(MAX_NODES, argument="ids"),
    # As many as the representations, which the caller's budget caps (checked with the inputs).
    "Query._entities": Bound(0, argument="representations"),
    "Query.publicInstitutions": Bound(public.MAX_PUBLIC_PAGE, argument="first"),
    "Query.listPeriods": Bound(public.MAX_PUBLIC_PAGE, argument="first"),
    "Statistics.rows": Bound(max(regions.MAX_CHILDREN, regulators.MAX_SUB_UNITS + 3, len(TrainingCategory) + 1)),
    "StatisticsSeries.months": Bound(views.MAX_MONTHS),
    "Institution.sites": Bound(sites.MAX_SITES),
    "Site.courses": Bound(sites.MAX_COURSES, owner="Institution", total=sites.MAX_COURSES),
    "Course.classes": Bound(sites.MAX_CLASSES, owner="Institution", total=sites.MAX_CLASSES),
    "TrainingClass.schedule": Bound(sites.MAX_SESSIONS),
    "TrainingClass.teachers": Bound(sites.MAX_TEACHERS, owned=False),
    "Institution.staff": Bound(staff.MAX_STAFF),
    "Institution.materials": Bound(materials.MAX_MATERIALS),
    "Institution.documents": Bound(documents.MAX_DOCUMENTS),
    "Institution.inspections": PAGE,
    "Institution.applications": PAGE,
    "Institution.findings": PAGE,
    "Application.findingsAtSubmission": PAGE,
    "TrainingClassPayload.findings": Bound(CLASS_FINDINGS),
    "Inspection.items": Bound(ledgers.MAX_ITEMS),
    "PortalHome.missing": Bound(len(home.MISSING_CODES)),
    "PublicInstitution.teachers": PAGE,
    "ListChanges.added": PAGE,
    "ListChanges.removed": PAGE,
    "InspectionPayload.errors": Bound(3 * ledgers.MAX_ITEMS + 10),
    "PublishListPayload.errors": Bound(2 * lists.MAX_BLACK_ENTRIES + 5),
    "ImportInstitutionsPayload.errors": Bound(MAX_IMPORT_ERRORS + 1),
}
#: Lists of these items, wherever they are (mutation payloads).
BOUNDS_BY_ITEM = {"UserError": Bound(USER_ERRORS)}


def bound_of(parent: str, field: str, item: str) -> Bound | None:
    """The bound of a list field, or None when it has none (a list of scalars, or one the
    walk pages itself: a connection's ``edges``)."""
    return BOUNDS.get(f"{parent}.{field}") or BOUNDS_BY_ITEM.get(item)


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


# --- the cost walk --------------------------------------------------------------------


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


# --- depth and aliases ----------------------------------------------------------------


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


# --- inputs ---------------------------------------------------------------------------


class _InputProblem(Exception):
    def __init__(self, error: GraphQLError) -> None:
        self.error = error


def _too_long(where: str, limit: int, actual: int) -> _InputProblem:
    return _InputProblem(
        _limit_error("INPUT_TOO_LONG", f"参数 {where} 过长", limit, actual, argument=where)
    )


def _too_many(where: str, limit: int, actual: int) -> _InputProblem:
    return _InputProblem(_limit_error("TOO_MANY_ITEMS", f"参数 {where} 的项数过多", limit, actual, argument=where))


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


# --- the extension --------------------------------------------------------------------


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
        return _limit_error("QUERY_TOO_DEEP", "查询嵌套过深", budget.depth, depth)
    if aliases > budget.aliases:
        return _limit_error("TOO_MANY_ALIASES", "查询中的别名过多", budget.aliases, aliases)
    if problem := check_inputs(schema, document, variables, budget):
        return problem
    walk = _Walk(schema, _facts(schema), fragments, variables, cost_limit=budget.cost, introspection_limit=introspection_budget(schema))
    try:
        walk.operation(operation)
    except _Over as over:
        return _limit_error("QUERY_TOO_COSTLY", "查询的数据量过大，请减少每页条数或嵌套", over.limit, over.actual)
    return None


def cost(schema: GraphQLSchema, query: str, variables: dict[str, Any] | None = None, operation_name: str | None = None) -> tuple[int, int]:
    """(data cost, introspection cost) of an operation, without limits (tests, the examples)."""
    document = parse(query)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    walk = _Walk(schema, _facts(schema), _fragments(document), variables or {}, cost_limit=None, introspection_limit=None)
    walk.operation(operations[0])
    return walk.cost, walk.introspection


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
            raise _limit_error("TOO_MANY_TOKENS", "查询过长", budget.tokens, tokens)
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


def _limit_error(code: str, message: str, limit: int, actual: int, **extensions: Any) -> GraphQLError:
    return GraphQLError(
        f"{message}（上限 {limit}，本次 {actual}）", extensions={"code": code, "limit": limit, "actual": actual, **extensions}
    )
