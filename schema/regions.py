"""Regions (行政区划): public reference data, the tree every scope is computed on, with the
history of its changes (区划调整, docs/DOMAIN.md §G2)."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Any

import strawberry

from core.clock import today
from models import Region as RegionRow
from models import RegionChange as RegionChangeRow
from models.regions import ROOT_CODE, in_force
from resolvers.loaders import RegionByCodeLoader, RegionChangesLoader, RegionChildrenLoader, RegionPredecessorsLoader, RegionSuccessorsLoader
from schema.context import Info


@strawberry.enum(description="区划级别: the national root (部级), province (省), prefecture (地市), county (区县).")
class RegionLevel(Enum):
    MINISTRY = 0
    PROVINCE = 1
    PREFECTURE = 2
    COUNTY = 3


@strawberry.enum(description="区划调整的类别 (docs/DOMAIN.md §G2)")
class RegionChangeKind(Enum):
    CREATE = strawberry.enum_value("CREATE", description="设立")
    RENAME = strawberry.enum_value("RENAME", description="更名")
    RECODE = strawberry.enum_value("RECODE", description="变更代码")
    MERGE = strawberry.enum_value("MERGE", description="合并")
    SPLIT = strawberry.enum_value("SPLIT", description="拆分")
    MOVE = strawberry.enum_value("MOVE", description="改变隶属关系")
    TRANSFER = strawberry.enum_value("TRANSFER", description="部分区域移交")


def _codes(values: Any) -> str:
    return "、".join(values) if isinstance(values, list) else str(values)


def describe(kind: str, details: dict[str, Any]) -> str:
    """What one change did to its region, in a sentence."""
    if "name" in details:
        return f"由「{details['name'][0]}」更名为「{details['name'][1]}」"
    if kind == "MOVE":
        return f"上级区划由 {details['parent'][0]} 改为 {details['parent'][1]}"
    if kind == "CREATE":
        return f"设立，上级区划 {details['parent']}"
    if "into" in details:
        verb = {"MERGE": "并入", "RECODE": "代码变更为", "SPLIT": "拆分为", "TRANSFER": "部分区域移交给"}[kind]
        review = f"；{details['review']} 个机构待分配" if details.get("review") else ""
        moved = f"（{details['institutions']} 个机构）" if kind == "TRANSFER" else ""
        return f"{verb} {_codes(details['into'])}{moved}{review}"
    verb = {"MERGE": "由 {} 并入", "RECODE": "由 {} 变更代码而来", "SPLIT": "承接 {} 拆分出的区域", "TRANSFER": "承接 {} 移交的部分区域"}[kind]
    return verb.format(_codes(details["from"]))


@strawberry.type(name="RegionChange", description="本区划在一次区划调整中的变化 (docs/DOMAIN.md §G2)")
class RegionChange:
    kind: RegionChangeKind = strawberry.field(description="调整类别")
    effective: date = strawberry.field(description="生效日期")
    description: str = strawberry.field(description="说明，如「并入 500157」「由 500105 并入」")

    @classmethod
    def from_row(cls, row: RegionChangeRow) -> RegionChange:
        return cls(kind=RegionChangeKind(row.kind), effective=row.effective, description=describe(row.kind, row.details))


@strawberry.federation.type(
    keys=["code"],
    description=(
        "行政区划 (GB/T 2260, docs/DOMAIN.md §G2). The root `000000` (全国) is the ministry's region, above the "
        "provinces. Some provinces have counties right under them (直辖市, 省直辖县级行政单位), "
        "and some prefectures have no counties (东莞 441900): there the prefecture is the lowest level. "
        "区划调整: a retired code still resolves, with its `validTo` and `successors`."
    ),
)
class Region:
    code: str = strawberry.field(description="六位区划代码")
    name: str = strawberry.field(description="名称")
    level: RegionLevel = strawberry.field(description="级别")
    valid_from: date | None = strawberry.field(description="生效日期 (docs/DOMAIN.md §G2); null: 基础区划表（2023-06-30）中已有")
    valid_to: date | None = strawberry.field(description="撤销日期：自这一天起不再有效 (docs/DOMAIN.md §G2); null: 现行有效")
    parent_code: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: RegionRow) -> Region:
        return cls(
            code=row.code, name=row.name, level=RegionLevel(row.level), valid_from=row.valid_from, valid_to=row.valid_to, parent_code=row.parent_code
        )

    @strawberry.field(description="今天（北京时间）是否有效：已生效且未撤销 (docs/DOMAIN.md §G2)")
    def in_force(self, info: Info) -> bool:
        return in_force(self.valid_from, self.valid_to, today(info.context.now))

    @strawberry.field(description="上级区划 (null for the root); a retired region keeps the parent it had")
    async def parent(self, info: Info) -> Region | None:
        if self.parent_code is None:
            return None
        row = await RegionByCodeLoader(info.context).load(self.parent_code)
        return Region.from_row(row) if row else None

    @strawberry.field(description="下级区划, by code: those in force today (docs/DOMAIN.md §G2)")
    async def children(self, info: Info) -> list[Region]:
        return [Region.from_row(r) for r in await RegionChildrenLoader(info.context).load(self.code)]

    @strawberry.field(description="继任区划: the regions that took the place of a retired one (one for a merge or a recode, several for a split); empty while in force (docs/DOMAIN.md §G2)")
    async def successors(self, info: Info) -> list[Region]:
        return [Region.from_row(r) for r in await RegionSuccessorsLoader(info.context).load(self.code)]

    @strawberry.field(description="前身区划: the retired regions this one took the place of (docs/DOMAIN.md §G2)")
    async def predecessors(self, info: Info) -> list[Region]:
        return [Region.from_row(r) for r in await RegionPredecessorsLoader(info.context).load(self.code)]

    @strawberry.field(description="区划调整记录: this region's changes, in the order applied (docs/DOMAIN.md §G2)")
    async def history(self, info: Info) -> list[RegionChange]:
        return [RegionChange.from_row(r) for r in await RegionChangesLoader(info.context).load(self.code)]

    @classmethod
    async def resolve_reference(cls, info: Info, code: str) -> Region | None:
        row = await RegionByCodeLoader(info.context).load(code)
        return cls.from_row(row) if row else None


@strawberry.type
class RegionQuery:
    @strawberry.field(description="下级区划: the children of `parentCode` in force today, or the provinces when it is omitted. Public.")
    async def regions(self, info: Info, parent_code: str | None = None) -> list[Region]:
        return [Region.from_row(r) for r in await RegionChildrenLoader(info.context).load(parent_code or ROOT_CODE)]

    @strawberry.field(description="One region by code (`000000` is the national root), or null; a retired code too, with `validTo` and `successors` (docs/DOMAIN.md §G2). Public.")
    async def region(self, info: Info, code: str) -> Region | None:
        row = await RegionByCodeLoader(info.context).load(code)
        return Region.from_row(row) if row else None
