"""Reads of the region tree (public, through the loaders, which apply the scope)."""

from __future__ import annotations

from models import ROOT_CODE, Region

#: The most children a region has in the national table (重庆 500000: 37; the root: the 34
#: provinces). The table is reference data loaded by migration 0001 (no API writes it); a
#: test checks the bound against it.
MAX_CHILDREN = 40


async def regions(info, parent_code: str | None) -> list[Region]:
    return await info.context.loaders.region_children.load(parent_code or ROOT_CODE)


async def region(info, code: str) -> Region | None:
    return await info.context.loaders.region.load(code)
