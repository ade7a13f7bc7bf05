"""Relay's global object identification: ``node(id)`` and ``nodes(ids)`` find any record by
its id (a UUID, unique across tables), in the caller's scope, through the one scope
function: a record out of scope is null, exactly like an unknown id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
import strawberry

from auth.permissions import Authenticated, allow
from auth.scope import scope
from models import Account, AccountKind, Application, Complaint, Course, Document, Inspection, Institution, Material, Site, Staff, TrainingClass, UrgingNotice
from core.ids import parse_id
from schema.context import Info
from core.errors import BadUserInput
from schema.relay import Node

MAX_NODES = 100


def _converters() -> list[tuple[type, Callable[[Any, Info], Node]]]:
    from schema.accounts import InstitutionAccount, RegulatorAccount
    from schema.complaints import Complaint as ComplaintType
    from schema.documents import InstitutionDocument
    from schema.inspections import Inspection as InspectionType
    from schema.inspections import UrgingNotice as NoticeType
    from schema.institutions import Institution as InstitutionType
    from schema.portal import Application as ApplicationType
    from schema.portal import Course as CourseType
    from schema.portal import Material as MaterialType
    from schema.portal import Site as SiteType
    from schema.portal import Staff as StaffType
    from schema.portal import TrainingClass as ClassType

    return [
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


async def find(info: Info, ids: list[str]) -> list[Node | None]:
    """The records of ``ids`` in the caller's scope (None where unknown or out of scope):
    one statement to learn each id's table, one per table involved."""
    converters = _converters()
    parsed = [parse_id(i) for i in ids]
    wanted = [p for p in parsed if p is not None]
    found: dict[Any, Node] = {}
    if wanted:
        viewer = info.context.viewer
        async with info.context.sessionmaker() as db:
            where = sa.union_all(
                *(sa.select(model.id, sa.literal(index).label("table")).where(model.id.in_(wanted)) for index, (model, _) in enumerate(converters))
            )
            tables: dict[int, list] = {}
            for record_id, table in await db.execute(where):
                tables.setdefault(table, []).append(record_id)
            for table, record_ids in tables.items():
                model, convert = converters[table]
                for row in (await db.execute(sa.select(model).where(model.id.in_(record_ids), scope(viewer, model)))).scalars():
                    found[row.id] = convert(row, info)
    return [found.get(p) if p is not None else None for p in parsed]


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Relay: any record by its id, in the caller's scope (null when unknown or out of scope).", extensions=allow(Authenticated()))
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return (await find(info, [id]))[0]

    @strawberry.field(description=f"Relay: records by their ids (at most {MAX_NODES}), in order, null where unknown or out of scope.", extensions=allow(Authenticated()))
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > MAX_NODES:
            raise BadUserInput(f"ids 最多 {MAX_NODES} 个", field="ids", max=MAX_NODES)
        return await find(info, list(ids))
