"""Statements compiled once: a SQLAlchemy statement built by the resolvers' own code (the
scope function, the filters, the list's page) is compiled to PostgreSQL's text and its
bound values the first time a key asks for it, and then sent as it is.

The key says everything the statement depends on (the plan's shape, the viewer, the
arguments, the day), so a hit is the same statement with the same values: nothing is built
again. The compiled text goes to the driver through SQLAlchemy's ``exec_driver_sql`` on a
pooled connection: the engine's events (statement counts, ``handle_error`` discarding a
broken connection) see it like any other, and asyncpg prepares it once per connection.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from cachetools import LRUCache
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncConnection

_DIALECT = asyncpg_dialect()


@dataclass(frozen=True, slots=True)
class Compiled:
    """A statement's text (``$1``, ``$2``, … placeholders) and its values in that order."""

    sql: str
    args: tuple[Any, ...]


def compile_statement(stmt: sa.Executable) -> Compiled:
    """``stmt`` as the asyncpg dialect sends it: its text, and its bound values processed as
    SQLAlchemy processes them (enums, arrays) in the placeholders' order."""
    compiled = stmt.compile(dialect=_DIALECT, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    processors = compiled._bind_processors
    args = tuple(processors[name](params[name]) if name in processors else params[name] for name in compiled.positiontup or ())
    return Compiled(str(compiled), args)


class Statements:
    """Compiled statements by key, the most recently used ``size`` kept."""

    def __init__(self, size: int = 1024) -> None:
        self._kept: LRUCache = LRUCache(maxsize=size)

    def get(self, key: Hashable, build: Callable[[], sa.Executable]) -> Compiled:
        compiled = self._kept.get(key)
        if compiled is None:
            compiled = self._kept[key] = compile_statement(build())
        return compiled


async def fetch(connection: AsyncConnection, statement: Compiled) -> Sequence[sa.Row]:
    """The rows of ``statement`` on ``connection``."""
    return (await connection.exec_driver_sql(statement.sql, statement.args)).all()
