"""A list's filter, declared once (Saleor's filters, in a dataclass).

A filter is a dataclass whose fields are ``criterion(...)``\\ s: each names its meaning (the
Chinese description the GraphQL input shows), the SQL condition a value adds, and how long
a text may be. From that one declaration come

- the GraphQL input (``schema.filters.graphql_input``), field for field;
- the SQL condition of a list, its count and its export (``condition``);
- the query string of an export (``from_query``), with the GraphQL names and the same
  checks, every problem reported at once.

A criterion typed ``tuple[X, ...]`` takes several values, any of which may match (a list in
GraphQL, values separated by commas in a query string); an empty list sets no criterion.

So the list, the export and their documentation cannot drift apart: a new criterion is a new
field, and tests/test_filters.py checks that the export honours every field of every filter.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from datetime import date
from enum import Enum
from types import UnionType
from typing import Any, NewType

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from core.errors import BadUserInput

#: A criterion whose value is a record's id (``ID`` in GraphQL).
RecordId = NewType("RecordId", str)
#: Texts are cut at this length unless a criterion says otherwise.
MAX_TEXT = 100

Where = Callable[[Any, Mapping[str, Any]], ColumnElement[bool]]


def criterion(description: str, where: Where | None = None, *, graphql_name: str | None = None, max_length: int = MAX_TEXT) -> Any:
    """A filter's field. ``where(value, context)`` is the SQL condition of a value (the
    context holds what the list knows besides: ``today``, ``viewer``); None when the list
    applies the value itself (a date range of events, say)."""
    return dataclasses.field(
        default=None, metadata={"description": description, "where": where, "graphql_name": graphql_name, "max_length": max_length}
    )


def criteria(cls: type) -> list[tuple[dataclasses.Field, type]]:
    """The criteria of a filter class with each one's value type (``X`` of ``X | None``)."""
    hints = typing.get_type_hints(cls)
    return [(f, _value_type(hints[f.name])) for f in dataclasses.fields(cls) if "description" in f.metadata]


def _value_type(hint: Any) -> type:
    if isinstance(hint, UnionType) or typing.get_origin(hint) is typing.Union:
        return next(a for a in typing.get_args(hint) if a is not type(None))
    return hint


def item_type(kind: Any) -> type | None:
    """The type of each value of a criterion that takes several (``tuple[X, ...]``), else None."""
    return typing.get_args(kind)[0] if typing.get_origin(kind) is tuple else None


def several(values: Any) -> tuple | None:
    """The values of a criterion that takes several, as the filter holds them: a tuple, or
    None for none (an empty list sets no criterion)."""
    return tuple(values) or None if values is not None else None


def graphql_name(field: dataclasses.Field) -> str:
    """A criterion's name in the API (and in a query string): camelCase, or its own."""
    if field.metadata.get("graphql_name"):
        return field.metadata["graphql_name"]
    head, *rest = field.name.split("_")
    return head + "".join(word.title() for word in rest)


def given(f: Any) -> dict[str, Any]:
    """The criteria a filter value sets (not None)."""
    if f is None:
        return {}
    return {field.name: getattr(f, field.name) for field, _ in criteria(type(f)) if getattr(f, field.name) is not None}


def condition(f: Any, **context: Any) -> ColumnElement[bool]:
    """The SQL condition of a filter value: every criterion it sets, combined with AND."""
    if f is None:
        return sa.true()
    conditions = []
    for field, _ in criteria(type(f)):
        value = getattr(f, field.name)
        where = field.metadata["where"]
        if value is not None and where is not None:
            conditions.append(where(value, context))
    return sa.and_(sa.true(), *conditions)


def _parse(value: str, kind: type, name: str, problems: list[str]) -> Any:
    if kind is bool:
        if value in ("true", "false"):
            return value == "true"
        problems.append(f"{name} 应为 true 或 false ({name} must be true or false)")
    elif kind is int:
        try:
            return int(value)
        except ValueError:
            problems.append(f"{name} 应为整数 ({name} must be a whole number)")
    elif kind is date:
        try:
            return date.fromisoformat(value)
        except ValueError:
            problems.append(f"{name} 应为日期 YYYY-MM-DD ({name} must be a date)")
    elif isinstance(kind, type) and issubclass(kind, Enum):
        try:
            return kind(value)
        except ValueError:
            choices = "、".join(m.value for m in kind)
            problems.append(f"{name} 的取值应为 {choices} 之一 ({name}: unknown value {value!r})")
    else:
        return value
    return None


def from_query(cls: type, params: Mapping[str, str], **fixed: Any) -> Any:
    """A filter value from query parameters named as in the API; ``BadUserInput`` naming
    every parameter that is wrong (an unknown value, a bad date, a text too long)."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    for field, kind in criteria(cls):
        name = graphql_name(field)
        raw = params.get(name)
        if raw is None or raw == "":
            continue
        if len(raw) > field.metadata["max_length"]:
            problems.append(f"{name} 不能超过 {field.metadata['max_length']} 个字符 ({name} is too long)")
            continue
        item = item_type(kind)
        if item is not None:
            values[field.name] = several(_parse(part.strip(), item, name, problems) for part in raw.split(",") if part.strip())
        else:
            values[field.name] = _parse(raw, kind, name, problems)
    if problems:
        raise BadUserInput("；".join(problems), problems=problems)
    return cls(**values, **fixed)

