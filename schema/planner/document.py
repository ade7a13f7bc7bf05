"""Reading a document for the planner: its fields merged by response key as execution merges
them (GraphQL's CollectFields: aliases, fragments spread and inline, in document order),
for documents without directives; and what a leaf's value looks like, by the schema's own
serializers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    InlineFragmentNode,
    SelectionSetNode,
    Visitor,
    visit,
)


class NotCovered(Exception):
    """The document asks for something the planner does not plan: normal execution answers."""


@dataclass
class Selected:
    """One response key of a selection: the field, its nodes (several when the document
    asks for it more than once), and what is selected under it, merged."""

    key: str
    name: str
    nodes: list[FieldNode]
    children: list[Selected] = field(default_factory=list)

    def child_names(self) -> frozenset[str]:
        return frozenset(child.name for child in self.children)


class _Directives(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
        self.found = True


def has_directives(document: DocumentNode) -> bool:
    """Whether anything in the document carries a directive (``@include``, ``@skip``, …),
    which the planner leaves to normal execution."""
    finder = _Directives()
    visit(document, finder)
    return finder.found


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def collect(selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode]) -> list[Selected]:
    """The fields of a selection on a concrete object type (every fragment that validates on
    it applies), by response key in document order, sub-selections merged."""
    merged: dict[str, Selected] = {}

    def walk(selections: SelectionSetNode | None) -> None:
        for selection in selections.selections if selections else ():
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                entry = merged.get(key)
                if entry is None:
                    entry = merged[key] = Selected(key, selection.name.value, [])
                entry.nodes.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                walk(fragments[selection.name.value].selection_set)

    walk(selection_set)
    for entry in merged.values():
        subselections = [node.selection_set for node in entry.nodes if node.selection_set is not None]
        if subselections:
            entry.children = collect(SelectionSetNode(selections=tuple(s for ss in subselections for s in ss.selections)), fragments)
    return list(merged.values())


def only(selected: list[Selected], names: frozenset[str] | set[str]) -> None:
    """Refuse a selection that asks for a field outside ``names``."""
    for entry in selected:
        if entry.name not in names:
            raise NotCovered(entry.name)


def serializer(parent: GraphQLObjectType, name: str) -> Callable[[Any], Any]:
    """How the schema writes the value of ``parent.name`` (a leaf or a list of leaves) in an
    answer: its scalar's or enum's own ``serialize``; an enum's stored value (a model enum's
    value) is taken as the enum it stands for. Null stays null."""
    graphql_type = parent.fields[name].type
    if isinstance(graphql_type, GraphQLNonNull):
        graphql_type = graphql_type.of_type
    listed = isinstance(graphql_type, GraphQLList)
    leaf = graphql_type.of_type.of_type if listed and isinstance(graphql_type.of_type, GraphQLNonNull) else graphql_type.of_type if listed else graphql_type
    if isinstance(leaf, GraphQLEnumType):
        wrapped = getattr(leaf, "wrapped_cls", None)
        by_value = {member.value: leaf.serialize(member) for member in wrapped} if wrapped is not None else {}
        by_member = {member: leaf.serialize(member) for member in wrapped} if wrapped is not None else {}

        def one(value: Any) -> Any:
            return None if value is None else by_member[value] if value in by_member else by_value[value]
    elif isinstance(leaf, GraphQLScalarType):
        serialize = leaf.serialize

        def one(value: Any) -> Any:
            return None if value is None else serialize(value)
    else:
        raise NotCovered(name)
    if listed:
        return lambda values: None if values is None else [one(v) for v in values]
    return one
