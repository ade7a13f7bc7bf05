"""Reads of the region tree (public, through the loaders, which apply the scope)."""

from __future__ import annotations

from models import ROOT_CODE, Region


async def regions(info, parent_code: str | None) -> list[Region]:
    return await info.context.loaders.region_children.load(parent_code or ROOT_CODE)


async def region(info, code: str) -> Region | None:
    return await info.context.loaders.region.load(code)
