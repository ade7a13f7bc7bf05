"""Reads of the region tree (public reference data, docs/DOMAIN.md §G2)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from auth.roles import is_lowest_region
from models import Region

#: The most children a region has in the national table (重庆 500000: 37; the root: the 34
#: provinces). The table is reference data loaded by migration 0001 (no API writes it); a
#: test checks the bound against it.
MAX_CHILDREN = 40


async def find_region(db: AsyncSession, code: str | None) -> tuple[Region | None, bool]:
    """The region ``code`` and whether it is a lowest region (a county, or a prefecture
    without counties), in one statement; ``(None, False)`` for an unknown code."""
    if not code:
        return None, False
    row = (await db.execute(sa.select(Region, is_lowest_region()).where(Region.code == code))).first()
    return (row[0], bool(row[1])) if row is not None else (None, False)
