"""Reads of the region tree (public reference data, docs/DOMAIN.md §G2): a region by the code
a caller gives, in force on the request's day."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from auth.roles import is_lowest_region
from models import Complaint, Institution, Region, RegionSuccessor, valid_on

#: The most children a region has in force (重庆 500000: 38 in the 2023 table, 37 since the
#: 2026 change; the root: the 34 provinces). The table is reference data loaded by migration
#: 0001 and changed only by change sets (docs/regions.md); a test checks the bound against it.
MAX_CHILDREN = 40


def listed_on(day: date, region: Any = Region) -> ColumnElement[bool]:
    """The regions a view of their parent lists on ``day`` (statistics, rectification by
    region): those in force, and a retired one that still holds institutions or complaints
    (a split's, waiting for the province to assign them: docs/regions.md)."""
    # aliases: the outer statement may join the tables itself (rectification by region)
    institution, complaint = sa.orm.aliased(Institution), sa.orm.aliased(Complaint)
    return sa.or_(
        valid_on(day, region),
        sa.exists().where(institution.region_code == region.code),
        sa.exists().where(complaint.county_code == region.code),
    )


async def find_region(db: AsyncSession, code: str | None, day: date) -> tuple[Region | None, bool]:
    """The region ``code`` in force on ``day`` and whether it is a lowest region (a county,
    or a prefecture without counties), in one statement; ``(None, False)`` for an unknown
    code and for a retired one (``retired_note`` says what replaced it)."""
    if not code:
        return None, False
    row = (await db.execute(sa.select(Region, is_lowest_region(day)).where(Region.code == code, valid_on(day)))).first()
    return (row[0], bool(row[1])) if row is not None else (None, False)


async def retired_note(db: AsyncSession, code: str | None, day: date) -> str | None:
    """For a code retired by ``day``: a sentence naming when and its successors
    (``该区划已于 2026-01-25 撤销，继任区划：两江新区（500157）``); None otherwise."""
    if not code or len(code) > 6:
        return None
    successor = sa.orm.aliased(Region)
    rows = (
        await db.execute(
            sa.select(Region.valid_to, successor.code, successor.name)
            .outerjoin(RegionSuccessor, RegionSuccessor.code == Region.code)
            .outerjoin(successor, successor.code == RegionSuccessor.successor_code)
            .where(Region.code == code, Region.valid_to.is_not(None), Region.valid_to <= day)
            .order_by(successor.code)
        )
    ).all()
    if not rows:
        return None
    named = "、".join(f"{name}（{c}）" for _, c, name in rows if c)
    return f"该区划已于 {rows[0].valid_to.isoformat()} 撤销" + (f"，继任区划：{named}" if named else "") + " (the region is retired)"


async def unknown_region_message(db: AsyncSession, code: str | None, day: date, message: str) -> str:
    """The message for a code that names no region in force: ``message``, or for a retired
    code what replaced it (``retired_note``)."""
    return await retired_note(db, code, day) or message
