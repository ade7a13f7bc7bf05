"""Relay-style pagination by keyset: the cursor holds the sort key of the last row."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import BadUserInput

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass
class Page:
    rows: list[Any]
    cursors: list[str]
    has_next_page: bool
    total_count: int


def encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps([str(v) for v in values]).encode()).decode()


def _invalid_cursor() -> BadUserInput:
    return BadUserInput("分页游标无效 (invalid cursor)", field="after")


def decode_cursor(cursor: str, columns: Sequence[sa.ColumnElement[Any]]) -> list[Any]:
    """The cursor's values, converted to the Python types of ``columns``."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError, RecursionError) as e:
        raise _invalid_cursor() from e
    if not isinstance(values, list) or len(values) != len(columns) or not all(isinstance(v, str) for v in values):
        raise _invalid_cursor()
    typed = []
    for value, column in zip(values, columns, strict=True):
        kind = column.type
        if isinstance(kind, sa.types.TypeDecorator):  # e.g. SQLModel's AutoString
            kind = kind.impl_instance
        try:
            if isinstance(kind, sa.Uuid):
                typed.append(uuid.UUID(value))
            elif isinstance(kind, sa.DateTime):
                typed.append(datetime.fromisoformat(value))
            elif isinstance(kind, sa.Integer):
                typed.append(int(value))
            elif isinstance(kind, sa.String):
                typed.append(value)
            else:
                raise TypeError(f"no cursor conversion for {kind!r}")
        except ValueError as e:
            raise _invalid_cursor() from e
    return typed


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if not 0 <= first <= MAX_PAGE_SIZE:
        raise BadUserInput(f"first 必须在 0 到 {MAX_PAGE_SIZE} 之间", field="first", max=MAX_PAGE_SIZE)
    return first


def head(items: list, first: int | None) -> list:
    """The first ``first`` items of a list that takes a page size but no cursor (a record's
    history, its findings): 0 to ``MAX_PAGE_SIZE``, as a connection's."""
    return items[: page_size(first)]


async def paginate(
    db: AsyncSession,
    entity: Any,
    where: sa.ColumnElement[bool],
    order_by: Sequence[sa.ColumnElement[Any]],
    *,
    first: int | None,
    after: str | None,
) -> Page:
    """One page of ``entity`` rows matching ``where``, ascending by ``order_by`` (whose last
    column must be unique), and the total count: two statements."""
    size = page_size(first)
    stmt = sa.select(entity).where(where).order_by(*order_by)
    if after:
        values = decode_cursor(after, order_by)
        stmt = stmt.where(sa.tuple_(*order_by) > sa.tuple_(*values))
    rows = list((await db.execute(stmt.limit(size + 1))).scalars())
    total = (await db.execute(sa.select(sa.func.count()).select_from(entity).where(where))).scalar_one()
    return page_of(rows, order_by, size, total)


def page_of(rows: list, order_by: Sequence[sa.ColumnElement[Any]], size: int, total: int, *, cursors: bool = True) -> Page:
    """The page of ``rows`` (read one past ``size``, to tell whether a next page exists);
    without ``cursors`` (a planned page that shows none) each row's cursor is None."""
    keys = [col.key for col in order_by]
    shown = rows[:size]
    return Page(
        rows=shown,
        cursors=[encode_cursor([getattr(r, k) for k in keys]) for r in shown] if cursors else [None] * len(shown),
        has_next_page=len(rows) > size,
        total_count=total,
    )


def page_statement(
    entity: Any,
    where: sa.ColumnElement[bool],
    order_by: Sequence[sa.ColumnElement[Any]],
    *,
    size: int,
    after: str | None,
    columns: Sequence[sa.ColumnElement[Any]] = (),
    outer_joins: Sequence[tuple[Any, sa.ColumnElement[bool]]] = (),
    count: bool = True,
    entity_columns: Sequence[sa.ColumnElement[Any]] | None = None,
    counted: sa.Select | None = None,
) -> tuple[sa.Select, sa.Select]:
    """One page of ``size`` rows (read one past it, to tell whether a next page exists) of
    ``entity``'s columns (or ``entity_columns``) and ``columns`` (which may be correlated to
    ``entity``, or read from ``outer_joins``), in one statement: the page's sort keys come
    first from ``where`` alone (an index on them serves it, and only the page's rows are
    read), then the rows by their last, unique key, with the total count alongside as
    ``total_count`` (``counted``, a statement of one number, when given: a count kept
    elsewhere; none without ``count``). Also the statement of the total alone, for a page
    that comes back empty."""
    keys = sa.select(*order_by).where(where)
    if after:
        keys = keys.where(sa.tuple_(*order_by) > sa.tuple_(*decode_cursor(after, order_by)))
    keys = keys.order_by(*order_by).limit(size + 1).subquery("page")
    if counted is None:
        counted = sa.select(sa.func.count()).select_from(entity).where(where)
    stmt = sa.select(*(entity.__table__.c if entity_columns is None else entity_columns), *columns)
    if count:
        stmt = stmt.add_columns(counted.correlate(None).scalar_subquery().label("total_count"))
    stmt = stmt.join_from(entity, keys, order_by[-1] == keys.c[order_by[-1].key])
    for target, on in outer_joins:
        stmt = stmt.outerjoin(target, on)
    return stmt.order_by(*(keys.c[col.key] for col in order_by)), counted
