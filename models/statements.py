"""Statements compiled once to the text and values asyncpg is sent (``$1``, ``$2``, …):
``compile_statement`` for a statement whose values are all known, ``compile_template`` for
one whose values (some of them) are bound on every execution. The planned reads
(``resolvers.planner.statements``) and the request's session read (``auth.sessions``) send
them by ``exec_driver_sql``, so nothing is built or looked up again per request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

_DIALECT = asyncpg_dialect()


@dataclass(frozen=True, slots=True)
class Compiled:
    """A statement's text (``$1``, ``$2``, … placeholders) and its values in that order."""

    sql: str
    args: tuple[Any, ...]


def _compile(stmt: sa.Executable, unbound: tuple[str, ...] = ()) -> tuple[str, tuple[Any, ...], tuple[str, ...]]:
    """``stmt``'s text as the asyncpg dialect sends it, its bound values processed as
    SQLAlchemy processes them (enums, arrays), and their names, in the placeholders' order;
    the parameters ``unbound`` may have no value yet (None in their places)."""
    compiled = stmt.compile(dialect=_DIALECT, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params(_check=False) if unbound else compiled.construct_params()
    processors = compiled._bind_processors
    order = tuple(compiled.positiontup or ())
    args = tuple(
        None if name in unbound else processors[name](params[name]) if name in processors else params[name] for name in order
    )
    return str(compiled), args, order


def compile_statement(stmt: sa.Executable) -> Compiled:
    """``stmt`` as the asyncpg dialect sends it: its text, and its bound values."""
    sql, args, _ = _compile(stmt)
    return Compiled(sql, args)


@dataclass(frozen=True, slots=True)
class Template:
    """A statement compiled once with some of its values bound per execution: its text, its
    other values, and where each named value goes among the placeholders."""

    sql: str
    args: tuple[Any, ...]
    slots: tuple[tuple[str, int], ...]

    def bind(self, **values: Any) -> Compiled:
        """The statement with ``values`` (by bound parameter name) in their places."""
        args = list(self.args)
        for name, position in self.slots:
            args[position] = values[name]
        return Compiled(self.sql, tuple(args))


def compile_template(stmt: sa.Executable, names: tuple[str, ...]) -> Template:
    """``stmt`` compiled once, the bound parameters ``names`` left to ``Template.bind``
    (sent as the driver takes them: they get no SQLAlchemy processing; ``stmt`` need give
    them no value)."""
    sql, args, order = _compile(stmt, names)
    missing = [name for name in names if name not in order]
    if missing:
        raise ValueError(f"the statement binds no {missing}")
    return Template(sql, args, tuple((name, i) for i, name in enumerate(order) if name in names))
