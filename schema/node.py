"""Relay's global object identification: ``node(id)`` and ``nodes(ids)`` find any record by
its id (a UUID, unique across tables), in the caller's scope (``resolvers.node``): a record
out of scope is null, exactly like an unknown id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry

from auth.permissions import Authenticated, allow
from core.errors import BadUserInput
from models import Account, AccountKind, Application, Complaint, Course, Document, Inspection, Institution, Material, Site, Staff, TrainingClass, UrgingNotice
from resolvers import node
from schema.accounts.types import InstitutionAccount, RegulatorAccount
from schema.applications import Application as ApplicationType
from schema.complaints import Complaint as ComplaintType
from schema.context import Info
from schema.documents import InstitutionDocument
from schema.inspections import Inspection as InspectionType
from schema.inspections import UrgingNotice as NoticeType
from schema.institutions.types import Institution as InstitutionType
from schema.materials import Material as MaterialType
from schema.relay import Node
from schema.sites import Course as CourseType
from schema.sites import Site as SiteType
from schema.sites import TrainingClass as ClassType
from schema.staff import Staff as StaffType

MAX_NODES = 100

#: Each table a node may come from, and how its row becomes the node.
CONVERTERS: list[tuple[type, Callable[[Any, Info], Node]]] = [
    (Institution, lambda row, info: InstitutionType.from_row(row, info.context.viewer)),
    (Account, lambda row, info: RegulatorAccount.from_row(row) if row.kind == AccountKind.REGULATOR else InstitutionAccount.from_row(row)),
    (Staff, lambda row, info: StaffType.from_row(row, info)),
    (Site, lambda row, info: SiteType.from_row(row)),
    (Course, lambda row, info: CourseType.from_row(row)),
    (TrainingClass, lambda row, info: ClassType.from_row(row)),
    (Material, lambda row, info: MaterialType.from_row(row, info)),
    (Application, lambda row, info: ApplicationType.from_row(row)),
    (Document, lambda row, info: InstitutionDocument.from_row(row)),
    (Inspection, lambda row, info: InspectionType.from_row(row)),
    (UrgingNotice, lambda row, info: NoticeType.from_row(row)),
    (Complaint, lambda row, info: ComplaintType.for_viewer(row, info.context.viewer)),
]
MODELS = [model for model, _ in CONVERTERS]


async def find(info: Info, ids: list[str]) -> list[Node | None]:
    found = await node.find(info.context.sessionmaker, info.context.viewer, ids, MODELS)
    return [CONVERTERS[hit[0]][1](hit[1], info) if hit is not None else None for hit in found]


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Relay: any record by its id, in the caller's scope (null when unknown or out of scope).", extensions=allow(Authenticated()))
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return (await find(info, [id]))[0]

    @strawberry.field(description=f"按全局标识批量读取记录 (Relay: records by their ids, at most {MAX_NODES}, in order, null where unknown or out of scope).", extensions=allow(Authenticated()))
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > MAX_NODES:
            raise BadUserInput(f"ids 最多 {MAX_NODES} 个", field="ids", max=MAX_NODES)
        return await find(info, list(ids))
