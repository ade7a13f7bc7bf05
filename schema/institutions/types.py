"""The institution (校外培训机构) as the graph shows it: its five registration parts (docs/DOMAIN.md
§R2.2) and everything it keeps, each read in the caller's scope."""

from __future__ import annotations

import datetime as dt
import enum
import functools
from decimal import Decimal

import strawberry

from auth.roles import is_supervisor, sees_institution_personal_data, sees_personal_data
from auth.viewer import Viewer
from core.clock import today
from core.masking import mask_id_number, mask_phone
from models import InspectionStatus as InspectionStatusEnum
from models import Institution as InstitutionRow
from models import Kind, Mode, Nature
from resolvers.institutions.listing import is_overdue
from resolvers.institutions.registration import FIELDS_BY_PART, SAVED_FLAG, Part
from resolvers.loaders import (
    ApplicationsByInstitutionLoader,
    CountsByInstitutionLoader,
    DocumentsByInstitutionLoader,
    FindingsByInstitutionLoader,
    FundsByInstitutionLoader,
    InspectionsByInstitutionLoader,
    InstitutionByIdLoader,
    MaterialsByInstitutionLoader,
    RegionByCodeLoader,
    SitesByInstitutionLoader,
    StaffByInstitutionLoader,
    StandingLoader,
    UnitByIdLoader,
)
from resolvers.pagination import head
from schema.applications import Application
from schema.context import Info, note_personal_read
from schema.documents import DocumentCategory, InstitutionDocument
from schema.enums import (
    Grade,
    InspectionStatus,
    InstitutionKind,
    InstitutionMode,
    InstitutionNature,
    PremisesType,
    QualificationStatusType,
    RegistrationPart,
    RegulatorLevel,
    ReviewStatus,
    Subject,
    TrainingCategory,
)
from schema.findings import Finding
from schema.funds import InstitutionFunds
from schema.inspections import Inspection
from schema.institutions.home import PortalHome, portal_home
from schema.materials import Material
from schema.regions import Region
from schema.relay import Node
from schema.sites import ClassSession, Site
from schema.staff import Staff, StaffStatus
from schema.standing import Standing


@strawberry.enum(description="可进行的操作 on an institution's inspection record, for this viewer now.")
class InspectionOperation(enum.Enum):
    RECORD_INSPECTION = "RECORD_INSPECTION"  # 录入排查结果
    CORRECT_INSPECTION = "CORRECT_INSPECTION"  # 修改排查记录
    UPDATE_PROGRESS = "UPDATE_PROGRESS"  # 更新整改进度
    ACCEPT = "ACCEPT"  # 录入验收意见
    URGE = "URGE"  # 督办


@strawberry.type(description="法定代表人. ID number and phone are masked unless the viewer keeps the record (the county desk) or is the institution itself.")
class LegalRepresentative:
    name: str
    shown_id_number: strawberry.Private[str]
    phone: str = strawberry.field(description="手机号")
    #: (record type, id, region) when the ID number is shown unmasked: the read is audited.
    read_key: strawberry.Private[tuple | None] = None

    @strawberry.field(description="身份证号 (an unmasked read is recorded in the audit trail)")
    def id_number(self, info: Info) -> str:
        note_personal_read(info, self.read_key, "legalRepresentative.idNumber")
        return self.shown_id_number


@strawberry.type(description="联系人. The mobile is masked unless the viewer keeps the record.")
class ContactPerson:
    name: str
    phone: str = strawberry.field(description="联系人手机号")


@strawberry.type(description="登记单位: the county bureau or sub-unit that registered the institution.")
class RegisteringUnit:
    id: strawberry.ID
    name: str
    level: RegulatorLevel


@strawberry.type(description="登记进度")
class RegistrationProgress:
    saved_parts: list[RegistrationPart] = strawberry.field(description="已保存的部分")
    missing_parts: list[RegistrationPart] = strawberry.field(description="待完善的部分")
    complete: bool = strawberry.field(description="登记完成: all five parts saved.")

    @classmethod
    def from_row(cls, row: InstitutionRow) -> RegistrationProgress:
        saved, missing = parts_of(tuple(flag is None or bool(getattr(row, flag)) for _, flag in _PART_FLAGS))
        return cls(saved_parts=list(saved), missing_parts=list(missing), complete=not missing)

    @classmethod
    def nothing_saved(cls) -> RegistrationProgress:
        """Before registration's step b: every part is still to be completed."""
        return cls(saved_parts=[], missing_parts=list(Part), complete=False)


#: The parts in the form's order, with the flag that records each one's save (none for
#: the basic situation, saved with the row).
_PART_FLAGS = tuple((part, SAVED_FLAG.get(part)) for part in Part)
#: The columns a row's registration progress depends on, all of it (``RegistrationProgress.from_row``).
SAVED_FLAG_COLUMNS = tuple(flag for _, flag in _PART_FLAGS if flag is not None)


@functools.cache
def parts_of(saved_flags: tuple[bool, ...]) -> tuple[tuple[Part, ...], tuple[Part, ...]]:
    """The parts saved and those missing, for the saves of ``_PART_FLAGS`` in their order (a
    few dozen combinations: each worked out once)."""
    return (
        tuple(part for (part, _), saved in zip(_PART_FLAGS, saved_flags, strict=True) if saved),
        tuple(part for (part, _), saved in zip(_PART_FLAGS, saved_flags, strict=True) if not saved),
    )


@strawberry.type(description="2 办学资质")
class Qualifications:
    status: QualificationStatusType
    licence_number: str | None = strawberry.field(description="办学许可证编号")
    licence_issuer: str | None = strawberry.field(description="发证机关")
    licence_valid_from: dt.date | None = strawberry.field(description="办学许可证有效期起")
    licence_valid_to: dt.date | None = strawberry.field(description="办学许可证有效期止")
    business_licence_number: str | None = strawberry.field(description="营业执照/民办非企业单位登记证书编号")
    business_licence_issuer: str | None = strawberry.field(description="登记机关")


@strawberry.type(description="3 办学情况")
class Operation:
    training_categories: list[TrainingCategory] = strawberry.field(description="培训类别")
    other_category: str | None = strawberry.field(description="其他培训类别")
    student_count: int = strawberry.field(description="在读学生数")
    staff_count: int = strawberry.field(description="从业人员数")
    teacher_count: int = strawberry.field(description="专职教师数")


@strawberry.type(description="4 中小学学科类培训情况")
class SubjectTraining:
    no_subject_training: bool = strawberry.field(description="无中小学学科类培训")
    subjects: list[Subject] = strawberry.field(description="培训学科")
    grades: list[Grade]
    class_sessions: list[ClassSession] = strawberry.field(description="上课时间 (每周的每次课：星期、上课和下课时间)")
    fee_months: int | None = strawberry.field(description="收费周期: 一次收费最长覆盖月数")
    fee_class_hours: int | None = strawberry.field(description="收费周期: 一次收费最长覆盖课时")
    fee_per_hour: Decimal | None = strawberry.field(description="收费标准（元/课时）")
    class_times_note: str | None = strawberry.field(description="上课时间说明 (备注; 迁移前的原文亦留于此)")


@strawberry.type(description="5 办学条件")
class Facilities:
    floor_area: Decimal = strawberry.field(description="建筑面积（平方米）")
    teaching_area: Decimal = strawberry.field(description="教学面积（平方米）")
    premises: PremisesType = strawberry.field(description="场地性质")
    lease_end: dt.date | None = strawberry.field(description="租赁到期日")
    fire_safety_approved: bool = strawberry.field(description="通过消防验收")


def _part(row: InstitutionRow, part: Part, cls: type, **renames: str):
    """The part's type from the row, or null while the part is unsaved."""
    if part in SAVED_FLAG and not getattr(row, SAVED_FLAG[part]):
        return None
    values = {spec.key: getattr(row, spec.key) for spec in FIELDS_BY_PART[part]}
    for new, old in renames.items():
        values[new] = values.pop(old)
    return cls(**values)


def _legal_representative(root: Institution) -> LegalRepresentative:
    row = root.row
    if root.personal:
        return LegalRepresentative(
            name=row.legal_rep_name, shown_id_number=row.legal_rep_id_number,
            read_key=("Institution", row.id, row.region_code, None), phone=row.legal_rep_phone,
        )
    return LegalRepresentative(
        name=row.legal_rep_name, shown_id_number=mask_id_number(row.legal_rep_id_number), phone=mask_phone(row.legal_rep_phone)
    )


def _contact_person(root: Institution) -> ContactPerson:
    phone = root.row.contact_phone
    return ContactPerson(name=root.row.contact_name, phone=phone if root.personal else mask_phone(phone))


def _qualifications(root: Institution) -> Qualifications | None:
    return _part(root.row, Part.QUALIFICATIONS, Qualifications, status="qualification_status")


def _operation(root: Institution) -> Operation | None:
    return _part(root.row, Part.OPERATION, Operation)


def _subject_training(root: Institution) -> SubjectTraining | None:
    part = _part(root.row, Part.SUBJECT_TRAINING, SubjectTraining)
    if part is not None:
        part.class_sessions = [ClassSession(**s) for s in part.class_sessions]
    return part


def _facilities(root: Institution) -> Facilities | None:
    return _part(root.row, Part.FACILITIES, Facilities)


async def _counted(info: Info, institution_id: object, index: int) -> int:
    return (await CountsByInstitutionLoader(info.context).load(institution_id))[index]


async def _unit(info: Info, unit_id: object) -> RegisteringUnit:
    unit = await UnitByIdLoader(info.context).load(unit_id)
    return RegisteringUnit(id=strawberry.ID(str(unit.id)), name=unit.name, level=unit.level)


@strawberry.federation.type(keys=["id"], description="校外培训机构. Read in the caller's scope; out of scope is null.")
class Institution(Node):
    id: strawberry.ID
    name: str = strawberry.field(description="机构名称")
    credit_code: str = strawberry.field(description="统一社会信用代码")
    address: str = strawberry.field(description="机构地址")
    postal_code: str | None = strawberry.field(description="邮政编码")
    phone: str | None = strawberry.field(description="机构电话")
    email: str | None = strawberry.field(description="电子邮箱")
    kind: InstitutionKind
    mode: InstitutionMode
    nature: InstitutionNature
    legal_representative: LegalRepresentative = strawberry.field(resolver=_legal_representative, description="法定代表人信息")
    contact_person: ContactPerson = strawberry.field(resolver=_contact_person, description="联系人信息")
    registration_progress: RegistrationProgress = strawberry.field(description="登记进度")
    qualifications: Qualifications | None = strawberry.field(resolver=_qualifications, description="2 办学资质 (null until part 2 is saved)")
    operation: Operation | None = strawberry.field(resolver=_operation, description="null until part 3 is saved")
    subject_training: SubjectTraining | None = strawberry.field(resolver=_subject_training, description="4 中小学学科类培训情况 (null until part 4 is saved)")
    facilities: Facilities | None = strawberry.field(resolver=_facilities, description="5 办学条件 (null until part 5 is saved)")
    version: int = strawberry.field(description="版本号: send it back when saving a part; an older one is refused (CONFLICT)")
    created_at: dt.datetime
    updated_at: dt.datetime
    inspection_status: InspectionStatus = strawberry.field(description="排查状态 (from the latest inspection)")
    review_status: ReviewStatus = strawberry.field(description="审核状态 (合规申请)")
    deregistered_at: dt.datetime | None = strawberry.field(description="注销时间: a deregistered institution is read-only")
    region_code: strawberry.Private[str]
    registering_unit_id: strawberry.Private[object]
    row_id: strawberry.Private[object]
    open_deadline: strawberry.Private[object]
    #: The row (an ORM object or a Core row), and whether the viewer reads its personal data.
    row: strawberry.Private[object]
    personal: strawberry.Private[bool]
    #: What a list page read with the row: (sites, active staff), and the registering unit.
    counts: strawberry.Private[tuple[int, int] | None] = None
    unit: strawberry.Private[RegisteringUnit | None] = None

    @classmethod
    def from_row(
        cls, row: InstitutionRow, viewer: Viewer | None, *,
        counts: tuple[int, int] | None = None, unit: RegisteringUnit | None = None, details: bool = True,
    ) -> Institution:
        """The node of a row. Without ``details`` the row holds the columns of a list page
        whose nodes ask for none of the form's details (``LIST_FIELDS``), which stay unread."""
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            credit_code=row.credit_code if details else None,
            address=row.address if details else None,
            postal_code=row.postal_code if details else None,
            phone=row.phone if details else None,
            email=row.email if details else None,
            kind=Kind(row.kind),
            mode=Mode(row.mode),
            nature=Nature(row.nature),
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            inspection_status=InspectionStatusEnum(row.inspection_status),
            review_status=ReviewStatus(row.review_status),
            deregistered_at=row.deregistered_at,
            registration_progress=RegistrationProgress.from_row(row),
            region_code=row.region_code,
            registering_unit_id=row.registering_unit_id,
            row_id=row.id,
            open_deadline=row.open_deadline,
            row=row,
            # The county desk, and the institution itself, read its personal data in full.
            personal=sees_institution_personal_data(viewer, row.id),
            counts=counts,
            unit=unit,
        )

    @strawberry.field(description="逾期: rectifying, and an unfinished ledger item's deadline has passed")
    def overdue(self, info: Info) -> bool:
        return is_overdue(self.inspection_status.value, self.open_deadline, today(info.context.now))

    @strawberry.field(description="排查记录, newest first: the latest `first` (at most 100)")
    async def inspections(self, info: Info, first: int | None = 10) -> list[Inspection]:
        return [Inspection.from_row(r) for r in head(await InspectionsByInstitutionLoader(info.context).load(self.row_id), first)]

    @strawberry.field(
        description="机构资料 (办学许可证, 机构证照, 党建情况, 其他资料, 合同, 注销证明), newest first; of one category when given"
    )
    async def documents(
        self, info: Info, category: DocumentCategory | None = None
    ) -> list[InstitutionDocument]:
        rows = await DocumentsByInstitutionLoader(info.context).load(self.row_id)
        return [InstitutionDocument.from_row(r) for r in rows if category is None or r.category == category]

    @strawberry.field(description="资金管理 (收费信息, 监管信息, 基本账户); null until the institution first saves it")
    async def funds(self, info: Info) -> InstitutionFunds | None:
        row = await FundsByInstitutionLoader(info.context).load(self.row_id)
        return InstitutionFunds.from_row(row, info.context.viewer) if row else None

    @strawberry.field(description="可进行的操作: what the caller may do with the inspection record now")
    def inspection_operations(self, info: Info) -> list[InspectionOperation]:
        return [InspectionOperation(op) for op in inspection_operations(info.context.viewer, self.inspection_status)]

    # The counts and the registering unit are plain values on a list page, which reads them
    # with its rows; elsewhere the resolvers answer an awaitable of the loader's batch.

    @strawberry.field(description="办学点/业务系统数")
    def site_count(self, info: Info) -> int:
        return self.counts[0] if self.counts is not None else _counted(info, self.row_id, 0)

    @strawberry.field(description="在职从业人员数")
    def active_staff_count(self, info: Info) -> int:
        return self.counts[1] if self.counts is not None else _counted(info, self.row_id, 1)

    @strawberry.field(description="从业人员 by name (status: 在职 ACTIVE or 离职 DEPARTED; all when omitted)")
    async def staff(
        self, info: Info, status: StaffStatus | None = None
    ) -> list[Staff]:
        rows = await StaffByInstitutionLoader(info.context).load(self.row_id)
        return [Staff.from_row(r, info) for r in rows if status is None or r.status == status.value]

    @strawberry.field(description="办学点 (线下) or 业务系统 (线上), by name, with their courses and classes")
    async def sites(self, info: Info) -> list[Site]:
        return [Site.from_row(r) for r in await SitesByInstitutionLoader(info.context).load(self.row_id)]

    @strawberry.field(description="培训材料, by name (export: GET /exports/materials.xlsx)")
    async def materials(self, info: Info) -> list[Material]:
        return [Material.from_row(r, info) for r in await MaterialsByInstitutionLoader(info.context).load(self.row_id)]

    @strawberry.field(
        description="规则检查发现的问题 (the regulations' rules on the institution's data): the first `first` (at most 100; home.findingsCount counts them all)"
    )
    async def findings(self, info: Info, first: int | None = 100) -> list[Finding]:
        return [Finding.from_row(f) for f in head(await FindingsByInstitutionLoader(info.context).load(self.row_id), first)]

    @strawberry.field(description="申请, newest first: the latest `first` (at most 100)")
    async def applications(self, info: Info, first: int | None = 20) -> list[Application]:
        return [Application.from_row(r) for r in head(await ApplicationsByInstitutionLoader(info.context).load(self.row_id), first)]

    @strawberry.field(description="法律状态 (docs/DOMAIN.md §G5): licensed, lawful, compliant, white-list eligible, black-listed, with the reasons")
    async def standing(self, info: Info) -> Standing:
        return Standing.from_row(await StandingLoader(info.context).load(self.row_id))

    @strawberry.field(description="后台首页: review status, 营转非 / 备案转审批 flags, what is missing before a compliance application")
    async def home(self, info: Info) -> PortalHome:
        row = await InstitutionByIdLoader(info.context).load(self.row_id)
        return await portal_home(info, row)

    @strawberry.field(description="所在区县 (the lowest region where it is)")
    async def county(self, info: Info) -> Region:
        return Region.from_row(await RegionByCodeLoader(info.context).load(self.region_code))

    @strawberry.field(description="登记单位; null = 机构自主注册 (registered by the institution's own account)")
    def registering_unit(self, info: Info) -> RegisteringUnit | None:
        if self.registering_unit_id is None or self.unit is not None:
            return self.unit
        return _unit(info, self.registering_unit_id)

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Institution | None:
        row = await InstitutionByIdLoader(info.context).load_id(id)
        return cls.from_row(row, info.context.viewer) if row else None


def inspection_operations(viewer: Viewer | None, status: InspectionStatusEnum) -> list[str]:
    """可进行的操作 of the manual's inspection list, for this viewer and status."""
    if viewer is None or not viewer.is_regulator:
        return []
    if sees_personal_data(viewer):  # the county desk that keeps the record
        if status is InspectionStatusEnum.RECTIFYING:
            return ["CORRECT_INSPECTION", "UPDATE_PROGRESS", "ACCEPT"]
        if status is InspectionStatusEnum.NO_PROBLEMS:  # the latest record stays correctable
            return ["RECORD_INSPECTION", "CORRECT_INSPECTION"]
        return ["RECORD_INSPECTION"]
    if is_supervisor(viewer):
        return ["URGE"]
    return []


#: The node fields a list page answers from ``resolvers.institutions.listing.LIST_COLUMNS`` (and
#: what it reads by the institution's id); asking for any other reads every column.
LIST_FIELDS = frozenset({
    "__typename", "id", "name", "kind", "mode", "nature", "registrationProgress", "version", "createdAt", "updatedAt",
    "inspectionStatus", "reviewStatus", "deregisteredAt", "overdue", "inspections", "documents", "funds",
    "inspectionOperations", "siteCount", "activeStaffCount", "staff", "sites", "materials", "findings", "applications",
    "county", "registeringUnit", "standing",
})
