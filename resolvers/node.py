"""Finding records by id whatever their table (Relay's ``node``/``nodes``), in the caller's
scope through the one scope function: a record out of scope is missing, exactly like an
unknown id."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from auth.scope import scope
from auth.viewer import Viewer
from core.ids import parse_id


async def find(sessionmaker, viewer: Viewer | None, ids: Sequence[str], models: Sequence[type]) -> list[tuple[int, Any] | None]:
    """For each id, (the index of its model in ``models``, its row), or None where unknown
    or out of scope: one statement to learn each id's table, one per table involved."""
    parsed = [parse_id(i) for i in ids]
    wanted = [p for p in parsed if p is not None]
    found: dict[uuid.UUID, tuple[int, Any]] = {}
    if wanted:
        async with sessionmaker() as db:
            where = sa.union_all(
                *(sa.select(model.id, sa.literal(index).label("table")).where(model.id.in_(wanted)) for index, model in enumerate(models))
            )
            tables: dict[int, list] = {}
            for record_id, table in await db.execute(where):
                tables.setdefault(table, []).append(record_id)
            for table, record_ids in tables.items():
                model = models[table]
                for row in (await db.execute(sa.select(model).where(model.id.in_(record_ids), scope(viewer, model)))).scalars():
                    found[row.id] = (table, row)
    return [found.get(p) if p is not None else None for p in parsed]
