"""The public service platform (服务平台): institution lookup (机构查询) and the black and white
lists (黑白名单). Its types expose public fields only; they make up, with the regions, the
complaint form and the account forms, the public schema that anonymous callers see
(``schema.root``)."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

import strawberry

from auth.permissions import Regulator, allow
from models import Institution as InstitutionRow
from models import ListEntry as ListEntryRow
from models import ListKind as ListKindEnum
from models import ListPeriod as ListPeriodRow
from models import Staff as StaffRow
from resolvers import public as resolve
from resolvers.pagination import head
from resolvers.portal import mask_certificate
from resolvers.public import BlackEntryInput
from schema.context import Info
from schema.errors import UserError
from schema.institutions import InstitutionKind, InstitutionMode, user_errors
from schema.regions import Region
from schema.relay import Connection

ListKind = strawberry.enum(ListKindEnum, name="ListKind", description="白名单 WHITE, 黑名单 BLACK.")


@strawberry.enum(description="机构状态 as the public reads it.")
class PublicStatus(enum.Enum):
    COMPLIANT = "COMPLIANT"  # 合规（审核通过）
    REGISTERED = "REGISTERED"  # 已登记，尚未通过合规审核
    BLACKLISTED = "BLACKLISTED"  # 列入黑名单
    DEREGISTERED = "DEREGISTERED"  # 已注销


@strawberry.type(description="办学许可证")
class PublicLicence:
    number: str | None
    issuer: str | None
    valid_from: dt.date | None
    valid_to: dt.date | None
    valid: bool = strawberry.field(description="今天在有效期内")


@strawberry.type(description="教师: the name and whether a teacher qualification certificate is held (its number masked).")
class PublicTeacher:
    name: str
    has_teacher_certificate: bool
    certificate_number: str | None = strawberry.field(description="教师资格证编号, masked")

    @classmethod
    def from_row(cls, row: StaffRow) -> PublicTeacher:
        return cls(
            name=row.name,
            has_teacher_certificate=bool(row.teacher_certificate_number),
            certificate_number=mask_certificate(row.teacher_certificate_number),
        )


@strawberry.type(description="校外培训机构, as the public reads it: lawful and compliant, licence, teachers, filed classes.")
class PublicInstitution:
    id: strawberry.ID
    name: str = strawberry.field(description="机构名称")
    address: str = strawberry.field(description="机构地址")
    kind: InstitutionKind
    mode: InstitutionMode
    status: PublicStatus
    lawful: bool = strawberry.field(description="合法: 证照齐全且在有效期内, not deregistered, not on the black list")
    compliant: bool = strawberry.field(description="合规: 合规申请审核通过")
    black_list_reason: str | None = strawberry.field(description="列入黑名单的原因 (the current black list)")
    licence: PublicLicence | None = strawberry.field(description="办学许可证 (null: none)")
    region_code: strawberry.Private[str]
    row_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: InstitutionRow, facts: resolve.PublicFacts, today: dt.date) -> PublicInstitution:
        compliant = row.review_status == "APPROVED" and row.deregistered_at is None
        if row.deregistered_at is not None:
            status = PublicStatus.DEREGISTERED
        elif facts.black_reason is not None:
            status = PublicStatus.BLACKLISTED
        else:
            status = PublicStatus.COMPLIANT if compliant else PublicStatus.REGISTERED
        licence = None
        if row.licence_number:
            valid = (row.licence_valid_from is None or row.licence_valid_from <= today) and (row.licence_valid_to is None or today <= row.licence_valid_to)
            licence = PublicLicence(number=row.licence_number, issuer=row.licence_issuer, valid_from=row.licence_valid_from, valid_to=row.licence_valid_to, valid=valid)
        return cls(
            id=strawberry.ID(str(row.id)), name=row.name, address=row.address, kind=row.kind, mode=row.mode, status=status,
            lawful=resolve.is_lawful(row, today, facts.black_reason), compliant=compliant and facts.black_reason is None,
            black_list_reason=facts.black_reason, licence=licence, region_code=row.region_code, row_id=row.id,
        )

    @strawberry.field(description="所在区县")
    async def county(self, info: Info) -> Region:
        return Region.from_row(await info.context.loaders.region.load(self.region_code))

    @strawberry.field(description="在职教师 (teaching staff), by name: the first `first` (at most 100)")
    async def teachers(self, info: Info, first: int | None = 20) -> list[PublicTeacher]:
        facts = await info.context.loaders.public_facts.load(self.row_id)
        return [PublicTeacher.from_row(t) for t in head(facts.teachers, first)]

    @strawberry.field(description="已备案的学科类培训班 (names)")
    async def filed_classes(self, info: Info) -> list[str]:
        return (await info.context.loaders.public_facts.load(self.row_id)).filed_classes


async def _public(info: Info, rows: list[InstitutionRow]) -> list[PublicInstitution]:
    facts = await info.context.loaders.public_facts.load_many([r.id for r in rows])
    today = info.context.now.date()
    return [PublicInstitution.from_row(r, f, today) for r, f in zip(rows, facts, strict=True)]


@strawberry.type(description="名单中的一家机构 (a snapshot taken when the period was published).")
class ListEntry:
    name: str
    credit_code: str = strawberry.field(description="统一社会信用代码")
    address: str
    licence_number: str | None
    reason: str | None = strawberry.field(description="列入黑名单的原因")
    county_code: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: ListEntryRow) -> ListEntry:
        return cls(name=row.name, credit_code=row.credit_code, address=row.address, licence_number=row.licence_number, reason=row.reason, county_code=row.county_code)

    @strawberry.field(description="所在区县")
    async def county(self, info: Info) -> Region:
        return Region.from_row(await info.context.loaders.region.load(self.county_code))


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
    published_at: dt.datetime
    entry_count: int
    download_url: str
    row: strawberry.Private[ListPeriodRow]

    @classmethod
    def from_row(cls, row: ListPeriodRow) -> ListPeriod:
        return cls(
            id=strawberry.ID(str(row.id)), kind=ListKindEnum(row.kind), number=row.number, title=row.title, published_at=row.published_at,
            entry_count=row.entry_count, download_url=f"/public/lists/{row.id}.xlsx", row=row,
        )

    @strawberry.field(description="发布地区")
    async def region(self, info: Info) -> Region:
        return Region.from_row(await info.context.loaders.region.load(self.row.region_code))

    @strawberry.field(description="名单, by name")
    async def entries(self, info: Info, first: int | None = 50, after: str | None = None) -> Connection[ListEntry]:
        page = await resolve.entries(info.context.read_sessionmaker, self.row.id, first, after)
        return Connection[ListEntry].from_page(page, ListEntry.from_row, after=after)

    @strawberry.field(description="与上一期相比的变化")
    async def changes(self, info: Info) -> ListChanges:
        added, removed = await resolve.changes(info.context.read_sessionmaker, self.row)
        return ListChanges(added_entries=[ListEntry.from_row(e) for e in added], removed_entries=[ListEntry.from_row(e) for e in removed])


@strawberry.type
class PublicQuery:
    @strawberry.field(
        description=(
            "机构查询, without login: institutions of a region (regionCode: a province, prefecture or county) whose name "
            "matches part of `name`, tolerant of typing slips, most relevant first. At most 20 a page and 200 in all."
        )
    )
    async def public_institutions(
        self, info: Info, name: str, region_code: str, first: int | None = 10, after: str | None = None
    ) -> Connection[PublicInstitution]:
        page = await resolve.search(info.context.read_sessionmaker, name, region_code, first, after)
        nodes = await _public(info, page.rows)
        by_id = {n.row_id: n for n in nodes}
        return Connection[PublicInstitution].from_page(page, lambda row: by_id[row.id], after=after)

    @strawberry.field(description="一家机构的公开信息, by id (null when unknown)")
    async def public_institution(self, info: Info, id: strawberry.ID) -> PublicInstitution | None:
        row = await resolve.get_public(info.context.read_sessionmaker, id)
        return (await _public(info, [row]))[0] if row else None

    @strawberry.field(description="黑/白名单的各期 of a region, newest first")
    async def list_periods(
        self, info: Info, region_code: str, kind: ListKind, first: int | None = 10, after: str | None = None
    ) -> Connection[ListPeriod]:
        page = await resolve.periods(info.context.read_sessionmaker, region_code, kind, first, after)
        return Connection[ListPeriod].from_page(page, ListPeriod.from_row, after=after)

    @strawberry.field(description="黑/白名单的一期: `number`, or the current one when omitted (null: none published)")
    async def list_period(self, info: Info, region_code: str, kind: ListKind, number: int | None = None) -> ListPeriod | None:
        row = await resolve.period(info.context.read_sessionmaker, region_code, kind, number)
        return ListPeriod.from_row(row) if row else None


@strawberry.input(description="列入黑名单的机构 and the reason")
class BlackListEntryInput:
    institution_id: strawberry.ID
    reason: str


@strawberry.type
class PublishListPayload:
    period: ListPeriod | None
    errors: list[UserError]


@strawberry.type
class ListMutation:
    @strawberry.mutation(
        description=(
            "发布黑/白名单的下一期 for the caller's region (education, county level and up). The white list is every "
            "approved, registered institution of the region; the black list names institutions of the caller's scope "
            "with reasons. Entries are snapshots."
        ),
        extensions=allow(Regulator()),
    )
    async def publish_list_period(
        self, info: Info, kind: ListKind, title: str | None = None, entries: list[BlackListEntryInput] | None = None
    ) -> PublishListPayload:
        black = [BlackEntryInput(institution_id=e.institution_id, reason=e.reason) for e in entries or []]
        row, errors = await resolve.publish(info, ListKindEnum(kind), title, black)
        return PublishListPayload(period=ListPeriod.from_row(row) if row else None, errors=user_errors(errors))
