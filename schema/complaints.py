"""Complaints (网上投诉): public submission and tracking, county handling, supervision."""

from __future__ import annotations

import datetime as dt

import strawberry

from auth.permissions import Regulator, allow
from models import Complaint as ComplaintRow
from models import ComplaintStatus as ComplaintStatusEnum
from models import ComplaintType as ComplaintTypeEnum
from models import Level
from models import TargetType as TargetTypeEnum
from resolvers import complaints
from resolvers.loaders import RegionByCodeLoader
from schema.context import Info, note_personal_read
from schema.errors import UserError, user_errors
from schema.filters import graphql_input, to_filter
from schema.regions import Region
from schema.relay import Connection, Node

TargetType = strawberry.enum(TargetTypeEnum, name="ComplaintTargetType", description="投诉对象: 校外培训机构, 公办学校, 老师, 其他.")
ComplaintType = strawberry.enum(ComplaintTypeEnum, name="ComplaintType", description="投诉类型: 违规办学, 违规招生, 其他.")
ComplaintStatus = strawberry.enum(
    ComplaintStatusEnum,
    name="ComplaintStatus",
    description="处理状态: 待受理 SUBMITTED, 处理中 ACCEPTED, 已答复 REPLIED, 不予受理 REJECTED.",
)


@strawberry.type(description="投诉进度, as the complainant sees it (no names, no handlers).")
class ComplaintProgress:
    tracking_number: str
    status: ComplaintStatus
    submitted_at: dt.datetime
    accepted_at: dt.datetime | None
    replied_at: dt.datetime | None
    reply: str | None = strawberry.field(description="答复")
    rejected_at: dt.datetime | None
    reject_reason: str | None = strawberry.field(description="不予受理的理由")

    @classmethod
    def from_row(cls, row: ComplaintRow) -> ComplaintProgress:
        return cls(
            tracking_number=row.tracking_number, status=ComplaintStatusEnum(row.status), submitted_at=row.submitted_at,
            accepted_at=row.accepted_at, replied_at=row.replied_at, reply=row.reply, rejected_at=row.rejected_at,
            reject_reason=row.reject_reason,
        )


@strawberry.type(description="投诉. The complainant's name and mobile are masked for all but the handling county.")
class Complaint(ComplaintProgress, Node):
    id: strawberry.ID
    shown_name: strawberry.Private[str]
    complainant_mobile: str = strawberry.field(description="联系方式")
    read_key: strawberry.Private[tuple | None]
    target_type: TargetType = strawberry.field(description="投诉对象")
    complaint_type: ComplaintType = strawberry.field(description="投诉类型")
    target_name: str = strawberry.field(description="投诉对象名称")
    content: str = strawberry.field(description="投诉内容")
    county_code: strawberry.Private[str]

    @strawberry.field(description="投诉人 (the handling county's unmasked read is recorded in the audit trail)")
    def complainant_name(self, info: Info) -> str:
        note_personal_read(info, self.read_key, "complainantName")
        return self.shown_name

    @classmethod
    def for_viewer(cls, row: ComplaintRow, viewer) -> Complaint:
        name, mobile = complaints.shown_identity(viewer, row)
        progress = vars(ComplaintProgress.from_row(row))
        return cls(
            **progress, id=strawberry.ID(str(row.id)), shown_name=name, complainant_mobile=mobile,
            read_key=("Complaint", row.id, row.county_code, None) if name == row.complainant_name else None,
            target_type=TargetTypeEnum(row.target_type), complaint_type=ComplaintTypeEnum(row.complaint_type),
            target_name=row.target_name, content=row.content, county_code=row.county_code,
        )

    @strawberry.field(description="受理区县")
    async def county(self, info: Info) -> Region:
        return Region.from_row(await RegionByCodeLoader(info.context).load(self.county_code))


@strawberry.input(description="网上投诉. Real name and mobile number are required (实名投诉).")
class ComplaintInput:
    complainant_name: str | None = strawberry.field(default=None, description="联系人 * (投诉人真实姓名, the complainant's real name)")
    complainant_mobile: str | None = strawberry.field(default=None, description="联系方式 * (手机号码或固定电话（含区号）, a mobile or a landline with its area code)")
    target_type: TargetType | None = strawberry.field(default=None, description="投诉对象 *")
    complaint_type: ComplaintType | None = strawberry.field(default=None, description="投诉类型 *")
    county_code: str | None = strawberry.field(default=None, description="投诉机构所在区县 * (the lowest region)")
    target_name: str | None = strawberry.field(default=None, description="投诉对象名称 *")
    institution_id: strawberry.ID | None = strawberry.field(default=None, description="所投诉的登记机构 (optional: a registered institution of that county)")
    content: str | None = strawberry.field(default=None, description="投诉内容 * (at most 2,000 characters)")


ComplaintFilter = graphql_input(
    complaints.ComplaintFilter, name="ComplaintFilter", description="投诉列表的筛选条件 (the complaint list's filters; all optional, combined with AND)."
)


@strawberry.type
class SubmitComplaintPayload:
    tracking_number: str | None = strawberry.field(description="查询编号: keep it to follow the complaint")
    errors: list[UserError]


@strawberry.type
class ComplaintPayload:
    complaint: Complaint | None
    errors: list[UserError]


def _payload(info: Info, result) -> ComplaintPayload:
    row, errors = result
    return ComplaintPayload(complaint=Complaint.for_viewer(row, info.context.viewer) if row else None, errors=user_errors(errors))


_HANDLE = allow(Regulator(Level.COUNTY))


@strawberry.type(description="The public part: 投诉进度查询.")
class ComplaintPublicQuery:
    @strawberry.field(description="投诉进度查询, without login: null unless the tracking number and the mobile match.")
    async def complaint_status(self, info: Info, tracking_number: str, mobile: str) -> ComplaintProgress | None:
        row = await complaints.status(info, tracking_number, mobile)
        return ComplaintProgress.from_row(row) if row else None


@strawberry.type
class ComplaintQuery(ComplaintPublicQuery):
    @strawberry.field(description="网上投诉 in the caller's scope: a county's inbox, or the subtree for supervision.", extensions=allow(Regulator()))
    async def complaints(self, info: Info, filter: ComplaintFilter | None = None, first: int | None = 20, after: str | None = None) -> Connection[Complaint]:
        f = to_filter(filter)
        page = await complaints.list_complaints(info, f, first, after)
        viewer = info.context.viewer
        return Connection[Complaint].from_page(page, lambda row: Complaint.for_viewer(row, viewer), after=after)


@strawberry.type(description="The public part: 网上投诉.")
class ComplaintPublicMutation:
    @strawberry.mutation(
        description="网上投诉: public (no login) or an institution account. Rate limited per client address and per mobile (RATE_LIMITED)."
    )
    async def submit_complaint(self, info: Info, input: ComplaintInput) -> SubmitComplaintPayload:
        row, errors = await complaints.submit(info, complaints.NewComplaint(**vars(input)))
        return SubmitComplaintPayload(tracking_number=row.tracking_number if row else None, errors=user_errors(errors))


@strawberry.type
class ComplaintMutation(ComplaintPublicMutation):
    @strawberry.mutation(description="受理投诉 (the handling county)", extensions=_HANDLE)
    async def accept_complaint(self, info: Info, id: strawberry.ID) -> ComplaintPayload:
        return _payload(info, await complaints.handle(info, id, "accept", None))

    @strawberry.mutation(description="答复投诉: the handling result (after accepting)", extensions=_HANDLE)
    async def reply_complaint(self, info: Info, id: strawberry.ID, reply: str) -> ComplaintPayload:
        return _payload(info, await complaints.handle(info, id, "reply", reply))

    @strawberry.mutation(description="不予受理, with a reason", extensions=_HANDLE)
    async def reject_complaint(self, info: Info, id: strawberry.ID, reason: str) -> ComplaintPayload:
        return _payload(info, await complaints.handle(info, id, "reject", reason))
