"""Black and white lists (黑白名单, docs/DOMAIN.md §R5.3): published periods, read by anyone."""

from __future__ import annotations

import datetime as dt

import strawberry

from auth.permissions import Regulator, allow
from models import ListEntry as ListEntryRow
from models import ListKind as ListKindEnum
from models import ListPeriod as ListPeriodRow
from resolvers import lists
from resolvers.lists import BlackEntryInput
from resolvers.loaders import RegionByCodeLoader, StandingLoader
from resolvers.pagination import head
from resolvers.standing import REASONS, ReasonCode
from schema.context import Info
from schema.errors import UserError, user_errors
from schema.regions import Region
from schema.relay import Connection
from schema.standing import Standing, StandingReasonCode

ListKind = strawberry.enum(ListKindEnum, name="ListKind", description="白名单 WHITE, 黑名单 BLACK.")


@strawberry.type(description="名单中的一家机构 (a snapshot taken when the period was published).")
class ListEntry:
    name: str
    credit_code: str = strawberry.field(description="统一社会信用代码")
    address: str = strawberry.field(description="机构地址")
    licence_number: str | None = strawberry.field(description="办学许可证编号")
    reason: str | None = strawberry.field(description="列入黑名单的原因")
    county_code: strawberry.Private[str]
    institution_id: strawberry.Private[object]

    @classmethod
    def from_row(cls, row: ListEntryRow) -> ListEntry:
        return cls(
            name=row.name, credit_code=row.credit_code, address=row.address, licence_number=row.licence_number, reason=row.reason,
            county_code=row.county_code, institution_id=row.institution_id,
        )

    @strawberry.field(description="所在区县")
    async def county(self, info: Info) -> Region:
        return Region.from_row(await RegionByCodeLoader(info.context).load(self.county_code))

    @strawberry.field(
        description="该机构今天的法律状态 (the period is a snapshot: a white-listed institution may have lost its eligibility since); null once the institution was deleted"
    )
    async def standing(self, info: Info) -> Standing | None:
        row = await StandingLoader(info.context).load(self.institution_id)
        return Standing.from_row(row) if row else None


@strawberry.type(description="与上一期相比: entries added and removed (by credit code).")
class ListChanges:
    added_entries: strawberry.Private[list[ListEntry]]
    removed_entries: strawberry.Private[list[ListEntry]]

    @strawberry.field(description="新列入: the first `first` (at most 100)")
    def added(self, first: int | None = 100) -> list[ListEntry]:
        return head(self.added_entries, first)

    @strawberry.field(description="移出: the first `first` (at most 100)")
    def removed(self, first: int | None = 100) -> list[ListEntry]:
        return head(self.removed_entries, first)


@strawberry.type(description="黑/白名单的一期 (第N期). Download: GET /public/lists/<id>.xlsx")
class ListPeriod:
    id: strawberry.ID
    kind: ListKind
    number: int = strawberry.field(description="期数")
    title: str
    published_at: dt.datetime = strawberry.field(description="发布时间")
    entry_count: int = strawberry.field(description="名单中的机构数")
    download_url: str
    note: str | None = strawberry.field(description="说明: why it was published when not by hand (a white list revised for a black list)")
    row: strawberry.Private[ListPeriodRow]

    @classmethod
    def from_row(cls, row: ListPeriodRow) -> ListPeriod:
        return cls(
            id=strawberry.ID(str(row.id)), kind=ListKindEnum(row.kind), number=row.number, title=row.title, published_at=row.published_at,
            entry_count=row.entry_count, download_url=f"/public/lists/{row.id}.xlsx", note=row.note, row=row,
        )

    @strawberry.field(description="发布地区")
    async def region(self, info: Info) -> Region:
        return Region.from_row(await RegionByCodeLoader(info.context).load(self.row.region_code))

    @strawberry.field(description="名单, by name")
    async def entries(self, info: Info, first: int | None = 50, after: str | None = None) -> Connection[ListEntry]:
        page = await lists.entries(info.context.read_sessionmaker, self.row.id, first, after)
        return Connection[ListEntry].from_page(page, ListEntry.from_row, after=after)

    @strawberry.field(description="与上一期相比的变化")
    async def changes(self, info: Info) -> ListChanges:
        added, removed = await lists.changes(info.context.read_sessionmaker, self.row)
        return ListChanges(added_entries=[ListEntry.from_row(e) for e in added], removed_entries=[ListEntry.from_row(e) for e in removed])


@strawberry.input(description="列入黑名单的机构 and the reason")
class BlackListEntryInput:
    institution_id: strawberry.ID
    reason: str = strawberry.field(description="列入黑名单的原因")


@strawberry.type(description="未列入白名单的机构, counted by one reason of their standing")
class LeftOutReason:
    code: StandingReasonCode
    title: str
    count: int = strawberry.field(description="机构数")


@strawberry.type(description="未列入白名单的机构 and why")
class LeftOutInstitution:
    id: strawberry.ID
    name: str
    reasons: list[StandingReasonCode] = strawberry.field(description="未列入的原因")


@strawberry.type(description="发布白名单时未列入的机构 (of the region, in the publisher's scope, not deregistered)")
class LeftOut:
    total: int = strawberry.field(description="未列入的机构数")
    by_reason: list[LeftOutReason] = strawberry.field(description="按原因计数 (an institution counts under each of its reasons)")
    institutions: list[LeftOutInstitution] = strawberry.field(description=f"未列入的机构: the first {lists.MAX_LEFT_OUT} by name")

    @classmethod
    def from_row(cls, row: lists.LeftOut) -> LeftOut:
        return cls(
            total=row.total,
            by_reason=[LeftOutReason(code=ReasonCode(c), title=REASONS[c].title, count=n) for c, n in row.by_reason],
            institutions=[LeftOutInstitution(id=strawberry.ID(str(i)), name=n, reasons=[ReasonCode(c) for c in codes]) for i, n, codes in row.institutions],
        )


@strawberry.type
class PublishListPayload:
    period: ListPeriod | None
    left_out: LeftOut | None = strawberry.field(description="白名单: the institutions left out and why")
    revised: list[ListPeriod] = strawberry.field(description="黑名单: the white lists' next periods published without its institutions")
    errors: list[UserError]


@strawberry.type
class ListMutation:
    @strawberry.mutation(
        description=(
            "发布黑/白名单的下一期 for the caller's region (education, county level and up). The white list is every "
            "white-list eligible institution of the region (its standing), the others left out with their reasons; the black "
            "list names institutions of the caller's scope with reasons, and the white lists naming them get a next period "
            "without them. Entries are snapshots."
        ),
        extensions=allow(Regulator()),
    )
    async def publish_list_period(
        self, info: Info, kind: ListKind, title: str | None = None, entries: list[BlackListEntryInput] | None = None
    ) -> PublishListPayload:
        black = [BlackEntryInput(institution_id=e.institution_id, reason=e.reason) for e in entries or []]
        published, errors = await lists.publish(info, ListKindEnum(kind), title, black)
        if published is None:
            return PublishListPayload(period=None, left_out=None, revised=[], errors=user_errors(errors))
        return PublishListPayload(
            period=ListPeriod.from_row(published.period),
            left_out=LeftOut.from_row(published.left_out) if published.left_out else None,
            revised=[ListPeriod.from_row(p) for p in published.revised],
            errors=user_errors(errors),
        )


@strawberry.type
class ListQuery:
    @strawberry.field(description="黑/白名单的各期 of a region, newest first")
    async def list_periods(
        self, info: Info, region_code: str, kind: ListKind, first: int | None = 10, after: str | None = None
    ) -> Connection[ListPeriod]:
        page = await lists.periods(info.context.read_sessionmaker, region_code, kind, first, after)
        return Connection[ListPeriod].from_page(page, ListPeriod.from_row, after=after)

    @strawberry.field(description="黑/白名单的一期: `number`, or the current one when omitted (null: none published)")
    async def list_period(self, info: Info, region_code: str, kind: ListKind, number: int | None = None) -> ListPeriod | None:
        row = await lists.period(info.context.read_sessionmaker, region_code, kind, number)
        return ListPeriod.from_row(row) if row else None
