"""Inspection and rectification (校外培训机构排查及整改信息登记) and supervision from above
(监管整改过程，督促区域整改)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from auth.permissions import Regulator, allow
from models import Inspection as InspectionRow
from models import ItemProgress as ItemProgressEnum
from models import Level
from models import Problem as ProblemEnum
from models import RectificationItem as ItemRow
from models import UrgingNotice as NoticeRow
from resolvers.inspections import ledgers, notices
from resolvers.loaders import InstitutionByIdLoader, RectificationItemsLoader, RegionByCodeLoader, UnitByIdLoader
from schema.context import Info
from schema.errors import UserError, user_errors
from schema.regions import Region
from schema.relay import Connection, Node

InspectionProblem = strawberry.enum(
    ProblemEnum,
    name="InspectionProblem",
    description="排查发现的问题: " + "; ".join(f"{k} {v}" for k, v in ledgers.PROBLEM_LABELS.items()) + ".",
)
ItemProgress = strawberry.enum(ItemProgressEnum, name="RectificationProgress", description="整改进度: 未开始, 整改中, 已完成.")


@strawberry.type(description="整改台账的一项: a problem, the measures, a deadline and the progress.")
class RectificationItem:
    id: strawberry.ID
    problem: InspectionProblem
    measures: str = strawberry.field(description="整改措施")
    deadline: dt.date = strawberry.field(description="整改期限")
    progress: ItemProgress = strawberry.field(description="整改进度")
    progress_note: str | None = strawberry.field(description="整改进度说明")
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: ItemRow) -> RectificationItem:
        return cls(
            id=strawberry.ID(str(row.id)), problem=ProblemEnum(row.problem), measures=row.measures,
            deadline=row.deadline, progress=ItemProgressEnum(row.progress), progress_note=row.progress_note,
            updated_at=row.updated_at,
        )


@strawberry.type(description="排查记录. With problems it carries a rectification ledger (整改台账), closed by an acceptance opinion.")
class Inspection(Node):
    id: strawberry.ID
    inspected_on: dt.date = strawberry.field(description="排查日期")
    inspecting_unit: str = strawberry.field(description="排查单位")
    result: str = strawberry.field(description="排查情况")
    problems: list[InspectionProblem]
    other_problem: str | None
    acceptance_opinion: str | None = strawberry.field(description="验收意见")
    accepted_on: dt.date | None = strawberry.field(description="验收日期 (台账销号); the record is read-only after it")
    version: int = strawberry.field(description="版本号: send it back with correctInspection; an older one is refused (CONFLICT)")
    created_at: dt.datetime
    updated_at: dt.datetime
    row_id: strawberry.Private[object]

    @classmethod
    def from_row(cls, row: InspectionRow) -> Inspection:
        return cls(
            id=strawberry.ID(str(row.id)), inspected_on=row.inspected_on, inspecting_unit=row.inspecting_unit,
            result=row.result, problems=[ProblemEnum(p) for p in row.problems], other_problem=row.other_problem,
            acceptance_opinion=row.acceptance_opinion, accepted_on=row.accepted_on, version=row.version,
            created_at=row.created_at, updated_at=row.updated_at, row_id=row.id,
        )

    @strawberry.field(description="整改台账")
    async def items(self, info: Info) -> list[RectificationItem]:
        return [RectificationItem.from_row(r) for r in await RectificationItemsLoader(info.context).load(self.row_id)]


@strawberry.type(description="督办: from a prefecture, province or the ministry to a county.")
class UrgingNotice(Node):
    id: strawberry.ID
    message: str
    sent_at: dt.datetime = strawberry.field(description="督办时间")
    handled_at: dt.datetime | None = strawberry.field(description="办理时间 (null while unhandled)")
    handling_note: str | None = strawberry.field(description="处理说明")
    county_code: strawberry.Private[str]
    institution_id: strawberry.Private[object]
    sender_id: strawberry.Private[object]

    @classmethod
    def from_row(cls, row: NoticeRow) -> UrgingNotice:
        return cls(
            id=strawberry.ID(str(row.id)), message=row.message, sent_at=row.sent_at, handled_at=row.handled_at,
            handling_note=row.handling_note, county_code=row.county_code, institution_id=row.institution_id,
            sender_id=row.sender_id,
        )

    @strawberry.field(description="The county it is addressed to")
    async def county(self, info: Info) -> Region:
        return Region.from_row(await RegionByCodeLoader(info.context).load(self.county_code))

    @strawberry.field(description="The institution it is about (null: the county's overdue ledgers, or out of scope)")
    async def institution(self, info: Info) -> Annotated["Institution", strawberry.lazy("schema.institutions.types")] | None:  # noqa: F821
        if self.institution_id is None:
            return None
        row = await InstitutionByIdLoader(info.context).load(self.institution_id)
        return Node.named("Institution").from_row(row, info.context.viewer) if row else None

    @strawberry.field(description="发送单位")
    async def sender_name(self, info: Info) -> str:
        return (await UnitByIdLoader(info.context).load(self.sender_id)).name


@strawberry.type
class RegionRectificationCount:
    region: Region
    rectifying: int = strawberry.field(description="整改中的机构数")
    overdue: int = strawberry.field(description="逾期未整改的机构数")


@strawberry.input
class RectificationItemInput:
    problem: InspectionProblem
    measures: str | None = strawberry.field(default=None, description="整改措施")
    deadline: dt.date | None = strawberry.field(default=None, description="整改期限")
    id: strawberry.ID | None = strawberry.field(default=None, description="correctInspection: an existing item to keep")


@strawberry.input(description="排查结果. Every problem needs at least one ledger item; OTHER needs otherProblem.")
class InspectionInput:
    inspected_on: dt.date | None = strawberry.field(default=None, description="排查日期")
    inspecting_unit: str | None = strawberry.field(default=None, description="排查单位")
    result: str | None = strawberry.field(default=None, description="排查结果")
    problems: list[InspectionProblem] = strawberry.field(default_factory=list)
    other_problem: str | None = None
    items: list[RectificationItemInput] = strawberry.field(default_factory=list, description="整改事项")


def _input(data: InspectionInput) -> ledgers.InspectionInput:
    return ledgers.InspectionInput(
        inspected_on=data.inspected_on,
        inspecting_unit=data.inspecting_unit,
        result=data.result,
        problems=list(data.problems),
        other_problem=data.other_problem,
        items=[ledgers.ItemInput(problem=i.problem, measures=i.measures, deadline=i.deadline, id=i.id) for i in data.items],
    )


@strawberry.type
class InspectionPayload:
    inspection: Inspection | None
    errors: list[UserError]


@strawberry.type
class RectificationItemPayload:
    item: RectificationItem | None
    errors: list[UserError]


@strawberry.type
class UrgingNoticePayload:
    notice: UrgingNotice | None
    errors: list[UserError]


def _inspection_payload(result) -> InspectionPayload:
    row, errors = result
    return InspectionPayload(inspection=Inspection.from_row(row) if row else None, errors=user_errors(errors))


def _notice_payload(result) -> UrgingNoticePayload:
    row, errors = result
    return UrgingNoticePayload(notice=UrgingNotice.from_row(row) if row else None, errors=user_errors(errors))


_WRITE = allow(Regulator(Level.COUNTY, Level.SUB_UNIT))


@strawberry.type
class InspectionQuery:
    @strawberry.field(
        description="逾期整改 per child region of `regionCode` (default: the caller's region): institutions rectifying and overdue.",
        extensions=allow(Regulator()),
    )
    async def rectification_by_region(self, info: Info, region_code: str | None = None) -> list[RegionRectificationCount]:
        return [
            RegionRectificationCount(region=Region.from_row(r), rectifying=rectifying, overdue=overdue)
            for r, rectifying, overdue in await notices.overdue_counts(info, region_code)
        ]

    @strawberry.field(description="督办 in the caller's scope: addressed to its county, or sent within its subtree.", extensions=allow(Regulator()))
    async def urging_notices(self, info: Info, handled: bool | None = None, first: int | None = 20, after: str | None = None) -> Connection[UrgingNotice]:
        page = await notices.list_notices(info, handled, first, after)
        return Connection[UrgingNotice].from_page(page, UrgingNotice.from_row, after=after)


@strawberry.type
class InspectionMutation:
    @strawberry.mutation(description="录入排查结果. Refused (NOT_ALLOWED) while the institution's ledger is open.", extensions=_WRITE)
    async def record_inspection(self, info: Info, institution_id: strawberry.ID, input: InspectionInput) -> InspectionPayload:
        return _inspection_payload(await ledgers.record_inspection(info, institution_id, _input(input)))

    @strawberry.mutation(description="修改排查记录 until the ledger is closed; items with an id keep their progress.", extensions=_WRITE)
    async def correct_inspection(self, info: Info, id: strawberry.ID, version: int, input: InspectionInput) -> InspectionPayload:
        return _inspection_payload(await ledgers.correct_inspection(info, id, version, _input(input)))

    @strawberry.mutation(description="更新整改进度 of one ledger item.", extensions=_WRITE)
    async def update_rectification_progress(
        self, info: Info, id: strawberry.ID, progress: ItemProgress, note: str | None = None
    ) -> RectificationItemPayload:
        row, errors = await ledgers.update_progress(info, id, progress, note)
        return RectificationItemPayload(item=RectificationItem.from_row(row) if row else None, errors=user_errors(errors))

    @strawberry.mutation(description="录入验收意见: closes the ledger (台账销号) once every item is done.", extensions=_WRITE)
    async def accept_rectification(
        self, info: Info, id: strawberry.ID, opinion: str, accepted_on: dt.date | None = None
    ) -> InspectionPayload:
        return _inspection_payload(await ledgers.accept_rectification(info, id, opinion, accepted_on))

    @strawberry.mutation(
        description="督办: to the county of an institution (institutionId) or about a county's overdue ledgers (countyCode).",
        extensions=allow(Regulator(Level.MINISTRY, Level.PROVINCE, Level.PREFECTURE)),
    )
    async def send_urging_notice(
        self, info: Info, message: str, institution_id: strawberry.ID | None = None, county_code: str | None = None
    ) -> UrgingNoticePayload:
        return _notice_payload(await notices.send_notice(info, institution_id, county_code, message))

    @strawberry.mutation(description="办理督办: the county marks a notice addressed to it handled.", extensions=allow(Regulator(Level.COUNTY)))
    async def mark_urging_notice_handled(self, info: Info, id: strawberry.ID, note: str) -> UrgingNoticePayload:
        return _notice_payload(await notices.mark_handled(info, id, note))

