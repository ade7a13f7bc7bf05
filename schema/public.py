"""The public service platform (服务平台): institution lookup (机构查询) and the black and white
lists (黑白名单). Its types expose public fields only; they make up, with the regions, the
complaint form and the account forms, the public schema that anonymous callers see
(``schema.root``)."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

import strawberry

from core.clock import today
from core.masking import mask_certificate
from models import Institution as InstitutionRow
from models import Staff as StaffRow
from resolvers import public
from resolvers.loaders import PublicFactsLoader, RegionByCodeLoader, StandingLoader
from resolvers.pagination import head
from resolvers.standing import Standing as StandingRow
from schema.context import Info
from schema.enums import InstitutionKind, InstitutionMode
from schema.regions import Region
from schema.relay import Connection
from schema.standing import Standing


@strawberry.enum(description="机构状态 as the public reads it (from the standing).")
class PublicStatus(enum.Enum):
    COMPLIANT = "COMPLIANT"  # 合规（审核通过，仍合法，无违规）
    REGISTERED = "REGISTERED"  # 已登记，尚不合规
    BLACKLISTED = "BLACKLISTED"  # 列入黑名单
    DEREGISTERED = "DEREGISTERED"  # 已注销


@strawberry.type(description="办学许可证")
class PublicLicence:
    number: str | None = strawberry.field(description="办学许可证编号")
    issuer: str | None = strawberry.field(description="发证机关")
    valid_from: dt.date | None
    valid_to: dt.date | None
    valid: bool = strawberry.field(description="今天有效 (the standing's licensed)")


@strawberry.type(description="教师: the name and whether a teacher qualification certificate is held (its number masked).")
class PublicTeacher:
    name: str
    has_teacher_certificate: bool = strawberry.field(description="持有教师资格证")
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
    lawful: bool = strawberry.field(description="合法 (standing.lawful)")
    compliant: bool = strawberry.field(description="合规 (standing.compliant)")
    black_list_reason: str | None = strawberry.field(description="列入黑名单的原因 (the current black list)")
    licence: PublicLicence | None = strawberry.field(description="办学许可证 (null: none)")
    standing: Standing = strawberry.field(description="法律状态, with the reasons")
    region_code: strawberry.Private[str]
    row_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: InstitutionRow, standing: StandingRow) -> PublicInstitution:
        if standing.deregistered:
            status = PublicStatus.DEREGISTERED
        elif standing.black_listed:
            status = PublicStatus.BLACKLISTED
        else:
            status = PublicStatus.COMPLIANT if standing.compliant else PublicStatus.REGISTERED
        licence = None
        if row.licence_number:
            licence = PublicLicence(
                number=row.licence_number, issuer=row.licence_issuer, valid_from=row.licence_valid_from, valid_to=row.licence_valid_to,
                valid=standing.licensed,
            )
        return cls(
            id=strawberry.ID(str(row.id)), name=row.name, address=row.address, kind=row.kind, mode=row.mode, status=status,
            lawful=standing.lawful, compliant=standing.compliant, black_list_reason=standing.black_list_reason, licence=licence,
            standing=Standing.from_row(standing), region_code=row.region_code, row_id=row.id,
        )

    @strawberry.field(description="所在区县")
    async def county(self, info: Info) -> Region:
        return Region.from_row(await RegionByCodeLoader(info.context).load(self.region_code))

    @strawberry.field(description="在职教师 (teaching staff), by name: the first `first` (at most 100)")
    async def teachers(self, info: Info, first: int | None = 20) -> list[PublicTeacher]:
        facts = await PublicFactsLoader(info.context).load(self.row_id)
        return [PublicTeacher.from_row(t) for t in head(facts.teachers, first)]

    @strawberry.field(description="已备案的学科类培训班 (names)")
    async def filed_classes(self, info: Info) -> list[str]:
        return (await PublicFactsLoader(info.context).load(self.row_id)).filed_classes


async def _public(info: Info, rows: list[InstitutionRow]) -> list[PublicInstitution]:
    standings = await StandingLoader(info.context).load_many([r.id for r in rows])
    return [PublicInstitution.from_row(r, s) for r, s in zip(rows, standings, strict=True)]


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
        page, standings = await public.search(info.context.read_sessionmaker, name, region_code, first, after, today(info.context.now))
        loader = StandingLoader(info.context)
        for institution_id, found in standings.items():
            loader.prime(institution_id, found)  # read with the page's rows
        nodes = await _public(info, page.rows)
        by_id = {n.row_id: n for n in nodes}
        return Connection[PublicInstitution].from_page(page, lambda row: by_id[row.id], after=after)

    @strawberry.field(description="一家机构的公开信息, by id (null when unknown)")
    async def public_institution(self, info: Info, id: strawberry.ID) -> PublicInstitution | None:
        row = await public.get_public(info.context.read_sessionmaker, id)
        return (await _public(info, [row]))[0] if row else None
