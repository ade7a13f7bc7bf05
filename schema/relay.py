"""Relay conventions: connections (edges, pageInfo, totalCount) and the ``Node`` interface.

Ids are UUIDs, unique across every table, so they are global ids as they are: ``node(id)``
finds the record whatever its type (Relay's global object identification), and the ids
a client already holds keep working.

Every record type is a ``Node``, and ``Node.named`` finds one by its GraphQL name. The graph
has edges back up its tree (an application's institution, an urging notice's institution):
such a field names its type with ``strawberry.lazy`` and builds its value with
``Node.named``, so that a domain module imports only the types below it and the modules'
imports never run in a circle."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import strawberry
from strawberry.types.nodes import SelectedField

from resolvers.pagination import Page

T = TypeVar("T")


@strawberry.interface(description="Relay: an object with a global id; fetch any of them again with `node(id)`.")
class Node:
    id: strawberry.ID

    #: Every record type, by its GraphQL name (filled as the types are defined).
    _types: ClassVar[dict[str, type]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Node._types[cls.__name__] = cls

    @staticmethod
    def named(name: str) -> Any:
        """The record type called ``name`` (defined by the time the schema is built)."""
        return Node._types[name]


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int = strawberry.field(description="Rows matching the filter, in the viewer's scope.")

    @classmethod
    def from_page(cls, page: Page, to_node: Callable[[Any], T], *, after: str | None) -> Connection[T]:
        edges = [Edge(cursor=c, node=to_node(r)) for r, c in zip(page.rows, page.cursors, strict=True)]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=after is not None,
                start_cursor=page.cursors[0] if page.cursors else None,
                end_cursor=page.cursors[-1] if page.cursors else None,
            ),
            total_count=page.total_count,
        )


def fields(selections: Iterable[Any]) -> Iterator[SelectedField]:
    """The fields of a selection, through fragments (spread and inline)."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        else:
            yield from fields(selection.selections)


def asks_for(selections: Iterable[Any], name: str) -> bool:
    """Whether the field ``name`` is asked for anywhere in the selections."""
    return any(field.name == name or asks_for(field.selections, name) for field in fields(selections))


@dataclass(frozen=True)
class Selected:
    """The field names asked for on a connection and on its nodes."""

    connection: frozenset[str]
    node: frozenset[str]


def selected(info: Any) -> Selected:
    """What the operation asks of the connection that ``info``'s field answers: a list
    reads in its one statement what its nodes show (see ``resolvers.institutions``)."""
    connection: set[str] = set()
    node: set[str] = set()
    for field in fields(info.selected_fields):
        for part in fields(field.selections):
            connection.add(part.name)
            if part.name == "edges":
                for edge_field in fields(part.selections):
                    if edge_field.name == "node":
                        node.update(f.name for f in fields(edge_field.selections))
    return Selected(frozenset(connection), frozenset(node))
