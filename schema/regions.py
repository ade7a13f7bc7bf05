"""Regions (行政区划): public reference data, the tree every scope is computed on."""

from __future__ import annotations

from enum import Enum

import strawberry

from models import Region as RegionRow
from models.regions import ROOT_CODE
from resolvers.loaders import RegionByCodeLoader, RegionChildrenLoader
from schema.context import Info


@strawberry.enum(description="区划级别: the national root (部级), province (省), prefecture (地市), county (区县).")
class RegionLevel(Enum):
    MINISTRY = 0
    PROVINCE = 1
    PREFECTURE = 2
    COUNTY = 3


@strawberry.federation.type(
    keys=["code"],
    description=(
        "行政区划 (GB/T 2260). The root `000000` (全国) is the ministry's region, above the "
        "provinces. Some provinces have counties right under them (直辖市, 省直辖县级行政单位), "
        "and some prefectures have no counties (东莞 441900): there the prefecture is the lowest level."
    ),
)
class Region:
    code: str = strawberry.field(description="六位区划代码")
    name: str = strawberry.field(description="名称")
    level: RegionLevel = strawberry.field(description="级别")
    parent_code: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: RegionRow) -> Region:
        return cls(code=row.code, name=row.name, level=RegionLevel(row.level), parent_code=row.parent_code)

    @strawberry.field(description="上级区划 (null for the root)")
    async def parent(self, info: Info) -> Region | None:
        if self.parent_code is None:
            return None
        row = await RegionByCodeLoader(info.context).load(self.parent_code)
        return Region.from_row(row) if row else None

    @strawberry.field(description="下级区划, by code")
    async def children(self, info: Info) -> list[Region]:
        return [Region.from_row(r) for r in await RegionChildrenLoader(info.context).load(self.code)]

    @classmethod
    async def resolve_reference(cls, info: Info, code: str) -> Region | None:
        row = await RegionByCodeLoader(info.context).load(code)
        return cls.from_row(row) if row else None


@strawberry.type
class RegionQuery:
    @strawberry.field(description="下级区划: the children of `parentCode`, or the provinces when it is omitted. Public.")
    async def regions(self, info: Info, parent_code: str | None = None) -> list[Region]:
        return [Region.from_row(r) for r in await RegionChildrenLoader(info.context).load(parent_code or ROOT_CODE)]

    @strawberry.field(description="One region by code (`000000` is the national root), or null. Public.")
    async def region(self, info: Info, code: str) -> Region | None:
        row = await RegionByCodeLoader(info.context).load(code)
        return Region.from_row(row) if row else None
