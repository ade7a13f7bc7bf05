"""The GraphQL input of a list's filter, built from its one declaration (``resolvers.filters``):
the same fields, descriptions and names, so the list, its export and its documentation agree."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Any

import strawberry

from resolvers import filters

_SCALARS: dict[Any, Any] = {str: str, bool: bool, int: int, date: date, filters.RecordId: strawberry.ID}


def graphql_input(cls: type, *, name: str, description: str) -> type:
    """A strawberry input named ``name`` with a field per criterion of ``cls`` (all
    optional); ``to_filter`` turns a value of it into ``cls``."""
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__annotations__": annotations, "__doc__": description}
    lists = set()
    for field, kind in filters.criteria(cls):
        item = filters.item_type(kind)
        graphql_type = _graphql_type(item if item is not None else kind)
        if item is not None:
            graphql_type = list[graphql_type]
            lists.add(field.name)
        annotations[field.name] = graphql_type | None
        namespace[field.name] = strawberry.field(
            default=None, description=field.metadata["description"], name=field.metadata.get("graphql_name")
        )
    namespace["to_filter"] = lambda self: cls(
        **{key: filters.several(getattr(self, key)) if key in lists else getattr(self, key) for key in annotations}
    )
    return strawberry.input(type(name, (), namespace), name=name, description=description)


def _graphql_type(kind: Any) -> Any:
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind  # a model enum, registered in schema.enums
    return _SCALARS[kind]


def to_filter(value: Any) -> Any:
    """The resolvers' filter of a GraphQL filter input (None stays None)."""
    return value.to_filter() if value is not None else None
