"""Statements compiled once: a SQLAlchemy statement built by the resolvers' own code (the
scope function, the filters, the list's page) is compiled to PostgreSQL's text and its
bound values the first time a key asks for it, and then sent as it is.

The key says everything the statement depends on (the plan's shape, the viewer, the
arguments, the day), so a hit is the same statement with the same values: nothing is built
again. The compiled text goes to the driver through SQLAlchemy's ``exec_driver_sql`` on a
pooled connection: the engine's events (statement counts, ``handle_error`` discarding a
broken connection) see it like any other, and asyncpg prepares it once per connection.

**Planned once** (``XWPX_PLANNED_LITERALS=1``, off by default). A statement's values are
written into its text (``inline``: quoted literals, with the casts SQLAlchemy already
renders), so that it has no parameters: PostgreSQL plans a prepared statement without
parameters once, with its values known, and runs that plan every time it is sent again on
the connection. With parameters it plans it again on every execution (a custom plan: for
the list page with standing, 1–2 ms of the request) or, after five, might keep one generic
plan for every region, which can walk the whole ``(name, id)`` index for a county. The
price is memory: each distinct text (a viewer's region, filter, page and day) is a plan kept
by the connection while asyncpg keeps the statement (the latest 100 per connection), about
0.17 MB for the plain page and 0.9 MB for the page with standing (``pg_backend_memory_contexts``
on the national dataset), against one kept text for every region with parameters — so it is
off unless a deployment has few regions per worker or the memory to spare. A value that
``inline`` does not write with certainty (a string with a backslash or a NUL, an empty or
untyped list, a type it does not know) leaves the whole statement with its parameters.
"""

from __future__ import annotations

import collections
import functools
import math
import re
import uuid
from collections.abc import Callable, Hashable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from cachetools import LRUCache
from sqlalchemy.ext.asyncio import AsyncConnection

from models.statements import Compiled, Template, compile_statement, compile_template


class NotInlined(Exception):
    """A value ``inline`` does not write into a statement's text."""


#: A quoted string or identifier (skipped), or a placeholder ``$n`` (group 1), and what follows
#: it: a cast (group 2) when one does.
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\$(\d+)(::)?")


def _literal(value: Any, cast: bool) -> str:
    """``value`` as a PostgreSQL literal of the same meaning where its placeholder stood
    (``cast``: the placeholder is followed by a cast, which types the literal)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        if not math.isfinite(value):
            raise NotInlined("number")
        text = repr(value) if isinstance(value, float) else str(value)
        # In parentheses when negative: ``a - $1`` must not become the comment ``a --1``.
        return f"({text})" if value < 0 else text
    if isinstance(value, str):
        # Doubling the quotes is the whole of quoting in a standard string; a backslash
        # would depend on standard_conforming_strings, and PostgreSQL's text holds no NUL.
        if "\\" in value or "\x00" in value:
            raise NotInlined("string")
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, list | tuple):
        if not value or not cast:
            raise NotInlined("list")  # ARRAY[] has no type without the placeholder's cast
        return "ARRAY[" + ", ".join(_literal(item, False) for item in value) + "]"
    # The rest are quoted, and typed where the placeholder has no cast of its own.
    if isinstance(value, timedelta):
        text, name = f"'{value.days} days {value.seconds} seconds {value.microseconds} microseconds'", "interval"
    elif isinstance(value, datetime):
        text, name = f"'{value.isoformat()}'", "timestamptz" if value.tzinfo else "timestamp"
    elif isinstance(value, date | time):
        text, name = f"'{value.isoformat()}'", "date" if isinstance(value, date) else "time"
    elif isinstance(value, uuid.UUID):
        text, name = f"'{value}'", "uuid"
    else:
        raise NotInlined(type(value).__name__)
    return text if cast else f"{text}::{name}"


def inline(sql: str, args: Sequence[Any]) -> str:
    """``sql`` with each placeholder ``$n`` replaced by ``args[n - 1]`` written as a literal
    (``NotInlined`` when a value cannot be); quoted text is left as it is."""

    def replace(match: re.Match) -> str:
        if match.group(1) is None:
            return match.group(0)
        return _literal(args[int(match.group(1)) - 1], match.group(2) is not None) + (match.group(2) or "")

    return _TOKENS.sub(replace, sql)


def planned_once(compiled: Compiled) -> Compiled:
    """``compiled`` without parameters (``inline``), or as it is when a value cannot be written."""
    if not compiled.args:
        return compiled
    try:
        return Compiled(inline(compiled.sql, compiled.args), ())
    except NotInlined:
        return compiled


class Statements:
    """Compiled statements by key, the most recently used ``size`` kept."""

    def __init__(self, size: int = 1024) -> None:
        self._kept: LRUCache = LRUCache(maxsize=size)

    def template(self, key: Hashable, build: Callable[[], sa.Executable], names: tuple[str, ...]) -> Template:
        """The template of ``key`` (``compile_template``; never with its values written in:
        the values bound per execution would make every text a new one)."""
        key = (key, "template")
        made = self._kept.get(key)
        if made is None:
            made = self._kept[key] = compile_template(build(), names)
        return made

    def get(self, key: Hashable, build: Callable[[], sa.Executable], *, literals: bool = False) -> Compiled:
        """The statement of ``key``; with ``literals`` its values written in (``planned_once``)."""
        key = (key, literals)
        compiled = self._kept.get(key)
        if compiled is None:
            compiled = compile_statement(build())
            compiled = self._kept[key] = planned_once(compiled) if literals else compiled
        return compiled


@functools.lru_cache(maxsize=256)
def _row_type(keys: tuple[str, ...]) -> type:
    """A named tuple of the result's columns (a name that is no Python name, or said twice,
    is read by position only)."""
    return collections.namedtuple("PlannedRow", keys, rename=True)


async def fetch(connection: AsyncConnection, statement: Compiled) -> list[tuple]:
    """The rows of ``statement`` on ``connection``, as named tuples: read by attribute at the
    cost of a tuple's index (a result ``Row``'s attribute costs ten times as much, and a
    planned page reads a few dozen a row)."""
    result = await connection.exec_driver_sql(statement.sql, statement.args)
    make = _row_type(tuple(result.keys()))._make
    return [make(row) for row in result.all()]
