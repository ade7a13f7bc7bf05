"""Institutions (校外培训机构) and the county registration desk (校外培训机构信息登记):
the five-part registration, the list, the batch import (机构信息批量导入), deletion."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.file_uploads import Upload
from strawberry.scalars import JSON

from auth.permissions import Authenticated, Regulator, allow
from auth.viewer import Viewer
from models import InspectionStatus as InspectionStatusEnum
from models import Level
from models import Grade as GradeEnum
from models import Institution as InstitutionRow
from models import Kind, Mode, Nature, Premises, QualificationStatus
from models import Subject as SubjectEnum
from models import TrainingCategory as TrainingCategoryEnum
from resolvers import audit_trail, institution_excel, institutions as resolve
from resolvers.pagination import head
from resolvers.registration import FIELDS_BY_PART, SAVED_FLAG, FieldError, Part
from schema.accounts import RegulatorLevel
from schema.context import Info, note_personal_read
from schema.errors import UserError
from schema.regions import Region
from schema.relay import Connection, Node, selected

if TYPE_CHECKING:
    from schema.documents import DocumentCategory, InstitutionDocument, InstitutionFunds
    from schema.inspections import Inspection
    from schema.portal import Application, Finding, Material, PortalHome, Site, Staff, StaffStatus

_PORTAL = "schema.portal"

InstitutionKind = strawberry.enum(Kind, name="InstitutionKind", description="机构类型: 学科类 SUBJECT, 非学科类 NON_SUBJECT.")
InstitutionMode = strawberry.enum(Mode, name="InstitutionMode", description="办学形式: 线上 ONLINE, 线下 OFFLINE.")
InstitutionNature = strawberry.enum(Nature, name="InstitutionNature", description="机构性质: 营利性 FOR_PROFIT, 非营利性 NON_PROFIT.")
QualificationStatusType = strawberry.enum(
    QualificationStatus,
    name="QualificationStatus",
    description="办学资质: 证照齐全 FULL, 有照无证 BUSINESS_LICENCE_ONLY, 有证无照 LICENCE_ONLY, 无证无照 NONE.",
)
TrainingCategory = strawberry.enum(
    TrainingCategoryEnum,
    name="TrainingCategory",
    description="培训类别: 学科类, 体育类, 文化艺术类, 科技类, 其他类 (OTHER needs otherCategory).",
)
Subject = strawberry.enum(SubjectEnum, name="Subject", description="学科: 语文 数学 英语 物理 化学 生物 历史 地理 道德与法治.")
Grade = strawberry.enum(GradeEnum, name="Grade", description="学段: 小学 PRIMARY, 初中 JUNIOR_SECONDARY, 高中 SENIOR_SECONDARY.")
PremisesType = strawberry.enum(Premises, name="Premises", description="场地性质: 自有 OWNED, 租赁 LEASED.")
RegistrationPart = strawberry.enum(
    Part,
    name="RegistrationPart",
    description="登记的五部分: 1 基本情况 BASICS, 2 办学资质 QUALIFICATIONS, 3 办学情况 OPERATION, "
    "4 中小学学科类培训情况 SUBJECT_TRAINING, 5 办学条件 FACILITIES.",
)


InspectionStatus = strawberry.enum(
    InspectionStatusEnum,
    name="InspectionStatus",
    description="排查状态: 未排查 NOT_INSPECTED, 已排查无问题 NO_PROBLEMS, 整改中 RECTIFYING, 已整改 RECTIFIED (台账销号).",
)


@strawberry.enum(description="审核状态 of the institution (its latest compliance application, 合规申请).")
class ReviewStatus(enum.Enum):
    NOT_SUBMITTED = "NOT_SUBMITTED"  # 未提交
    PENDING = "PENDING"  # 审核中
    APPROVED = "APPROVED"  # 已通过（合规）
    REJECTED = "REJECTED"  # 未通过


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
    phone: str


@strawberry.type(description="登记单位: the county bureau or sub-unit that registered the institution.")
class RegisteringUnit:
    id: strawberry.ID
    name: str
    level: RegulatorLevel


@strawberry.type(description="登记进度")
class RegistrationProgress:
    saved_parts: list[RegistrationPart]
    missing_parts: list[RegistrationPart]
    complete: bool = strawberry.field(description="登记完成: all five parts saved.")

    @classmethod
    def from_row(cls, row: InstitutionRow) -> RegistrationProgress:
        saved: list[Part] = []
        missing: list[Part] = []
        for part, flag in _PART_FLAGS:
            (saved if flag is None or getattr(row, flag) else missing).append(part)
        return cls(saved_parts=saved, missing_parts=missing, complete=not missing)


#: The parts in the form's order, with the flag that records each one's save (none for
#: the basic situation, saved with the row).
_PART_FLAGS = tuple((part, SAVED_FLAG.get(part)) for part in Part)


@strawberry.type(description="2 办学资质")
class Qualifications:
    status: QualificationStatusType
    licence_number: str | None = strawberry.field(description="办学许可证编号")
    licence_issuer: str | None = strawberry.field(description="发证机关")
    licence_valid_from: dt.date | None
    licence_valid_to: dt.date | None
    business_licence_number: str | None = strawberry.field(description="营业执照/民办非企业单位登记证书编号")
    business_licence_issuer: str | None = strawberry.field(description="登记机关")


@strawberry.type(description="3 办学情况")
class Operation:
    training_categories: list[TrainingCategory]
    other_category: str | None
    student_count: int
    staff_count: int
    teacher_count: int


@strawberry.type(description="4 中小学学科类培训情况")
class SubjectTraining:
    no_subject_training: bool = strawberry.field(description="无中小学学科类培训")
    subjects: list[Subject]
    grades: list[Grade]
    class_times: str | None
    fee_per_hour: Decimal | None = strawberry.field(description="收费标准（元/课时）")


@strawberry.type(description="5 办学条件")
class Facilities:
    floor_area: Decimal = strawberry.field(description="建筑面积（平方米）")
    teaching_area: Decimal = strawberry.field(description="教学面积（平方米）")
    premises: PremisesType
    lease_end: dt.date | None
    fire_safety_approved: bool = strawberry.field(description="通过消防验收")


def _part(row: InstitutionRow, part: Part, cls: type, **renames: str):
    """The part's type from the row, or null while the part is unsaved."""
    if part in SAVED_FLAG and not getattr(row, SAVED_FLAG[part]):
        return None
    values = {spec.key: getattr(row, spec.key) for spec in FIELDS_BY_PART[part]}
    for new, old in renames.items():
        values[new] = values.pop(old)
    return cls(**values)


# The composite fields but the progress are built from the row when asked for: a list page
# asks for few.


def _legal_representative(root: Institution) -> LegalRepresentative:
    row = root.row
    if root.personal:
        return LegalRepresentative(
            name=row.legal_rep_name, shown_id_number=row.legal_rep_id_number,
            read_key=("Institution", row.id, row.region_code, None), phone=row.legal_rep_phone,
        )
    return LegalRepresentative(
        name=row.legal_rep_name, shown_id_number=resolve.mask_id_number(row.legal_rep_id_number), phone=resolve.mask_phone(row.legal_rep_phone)
    )


def _contact_person(root: Institution) -> ContactPerson:
    phone = root.row.contact_phone
    return ContactPerson(name=root.row.contact_name, phone=phone if root.personal else resolve.mask_phone(phone))


def _qualifications(root: Institution) -> Qualifications | None:
    return _part(root.row, Part.QUALIFICATIONS, Qualifications, status="qualification_status")


def _operation(root: Institution) -> Operation | None:
    return _part(root.row, Part.OPERATION, Operation)


def _subject_training(root: Institution) -> SubjectTraining | None:
    return _part(root.row, Part.SUBJECT_TRAINING, SubjectTraining)


def _facilities(root: Institution) -> Facilities | None:
    return _part(root.row, Part.FACILITIES, Facilities)


async def _counted(info: Info, institution_id: object, index: int) -> int:
    return (await info.context.loaders.counts.load(institution_id))[index]


async def _unit(info: Info, unit_id: object) -> RegisteringUnit:
    unit = await info.context.loaders.unit.load(unit_id)
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
    legal_representative: LegalRepresentative = strawberry.field(resolver=_legal_representative)
    contact_person: ContactPerson = strawberry.field(resolver=_contact_person)
    registration_progress: RegistrationProgress
    qualifications: Qualifications | None = strawberry.field(resolver=_qualifications, description="null until part 2 is saved")
    operation: Operation | None = strawberry.field(resolver=_operation, description="null until part 3 is saved")
    subject_training: SubjectTraining | None = strawberry.field(resolver=_subject_training, description="null until part 4 is saved")
    facilities: Facilities | None = strawberry.field(resolver=_facilities, description="null until part 5 is saved")
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
            personal=resolve.sees_personal_data(viewer) or (viewer is not None and viewer.is_institution and viewer.institution_id == row.id),
            counts=counts,
            unit=unit,
        )

    @strawberry.field(description="逾期: rectifying, and an unfinished ledger item's deadline has passed")
    def overdue(self, info: Info) -> bool:
        return (
            self.inspection_status is InspectionStatusEnum.RECTIFYING
            and self.open_deadline is not None
            and self.open_deadline < info.context.now.date()
        )

    @strawberry.field(description="排查记录, newest first: the latest `first` (at most 100)")
    async def inspections(self, info: Info, first: int | None = 10) -> list[Annotated["Inspection", strawberry.lazy("schema.inspections")]]:
        from schema.inspections import Inspection

        return [Inspection.from_row(r) for r in head(await info.context.loaders.inspections.load(self.row_id), first)]

    @strawberry.field(
        description="机构资料 (办学许可证, 机构证照, 党建情况, 其他资料, 合同, 注销证明), newest first; of one category when given"
    )
    async def documents(
        self, info: Info, category: Annotated["DocumentCategory", strawberry.lazy("schema.documents")] | None = None
    ) -> list[Annotated["InstitutionDocument", strawberry.lazy("schema.documents")]]:
        from schema.documents import InstitutionDocument

        rows = await info.context.loaders.documents.load(self.row_id)
        return [InstitutionDocument.from_row(r) for r in rows if category is None or r.category == category]

    @strawberry.field(description="资金管理 (收费信息, 监管信息, 基本账户); null until the institution first saves it")
    async def funds(self, info: Info) -> Annotated["InstitutionFunds", strawberry.lazy("schema.documents")] | None:
        from schema.documents import InstitutionFunds

        row = await info.context.loaders.funds.load(self.row_id)
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
        self, info: Info, status: Annotated["StaffStatus", strawberry.lazy(_PORTAL)] | None = None
    ) -> list[Annotated["Staff", strawberry.lazy(_PORTAL)]]:
        from schema.portal import Staff

        rows = await info.context.loaders.staff_of.load(self.row_id)
        return [Staff.from_row(r, info) for r in rows if status is None or r.status == status.value]

    @strawberry.field(description="办学点 (线下) or 业务系统 (线上), by name, with their courses and classes")
    async def sites(self, info: Info) -> list[Annotated["Site", strawberry.lazy(_PORTAL)]]:
        from schema.portal import Site

        return [Site.from_row(r) for r in await info.context.loaders.sites.load(self.row_id)]

    @strawberry.field(description="培训材料, by name (export: GET /exports/materials.xlsx)")
    async def materials(self, info: Info) -> list[Annotated["Material", strawberry.lazy(_PORTAL)]]:
        from schema.portal import Material

        return [Material.from_row(r, info) for r in await info.context.loaders.materials.load(self.row_id)]

    @strawberry.field(
        description="规则检查发现的问题 (the regulations' rules on the institution's data): the first `first` (at most 100; home.findingsCount counts them all)"
    )
    async def findings(self, info: Info, first: int | None = 100) -> list[Annotated["Finding", strawberry.lazy(_PORTAL)]]:
        from schema.portal import Finding

        return [Finding.from_row(f) for f in head(await info.context.loaders.findings.load(self.row_id), first)]

    @strawberry.field(description="申请, newest first: the latest `first` (at most 100)")
    async def applications(self, info: Info, first: int | None = 20) -> list[Annotated["Application", strawberry.lazy(_PORTAL)]]:
        from schema.portal import Application

        return [Application.from_row(r) for r in head(await info.context.loaders.applications.load(self.row_id), first)]

    @strawberry.field(description="后台首页: review status, 营转非 / 备案转审批 flags, what is missing before a compliance application")
    async def home(self, info: Info) -> Annotated["PortalHome", strawberry.lazy(_PORTAL)]:
        from schema.portal import portal_home

        row = await info.context.loaders.institution.load(self.row_id)
        return await portal_home(info, row)

    @strawberry.field(description="所在区县 (the lowest region where it is)")
    async def county(self, info: Info) -> Region:
        return Region.from_row(await info.context.loaders.region.load(self.region_code))

    @strawberry.field(description="登记单位; null = 机构自主注册 (registered by the institution's own account)")
    def registering_unit(self, info: Info) -> RegisteringUnit | None:
        if self.registering_unit_id is None or self.unit is not None:
            return self.unit
        return _unit(info, self.registering_unit_id)

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Institution | None:
        row = await resolve.get_institution(info, id)
        return cls.from_row(row, info.context.viewer) if row else None


def _optional(description: str = ""):
    return strawberry.field(default=None, description=description or None)


@strawberry.input(description="1 基本情况. All fields are checked on the server; missing ones come back as REQUIRED errors.")
class InstitutionBasicsInput:
    name: str | None = _optional("机构名称 *")
    credit_code: str | None = _optional("统一社会信用代码 * (GB 32100-2015, in the institution's province)")
    address: str | None = _optional("机构地址 *")
    postal_code: str | None = _optional("邮政编码")
    phone: str | None = _optional("机构电话")
    email: str | None = _optional("电子邮箱")
    kind: InstitutionKind | None = _optional("机构类型 *")
    mode: InstitutionMode | None = _optional("办学形式 *")
    nature: InstitutionNature | None = _optional("机构性质 *")
    legal_rep_name: str | None = _optional("法定代表人姓名 *")
    legal_rep_id_number: str | None = _optional("法定代表人身份证号 * (GB 11643)")
    legal_rep_phone: str | None = _optional("法定代表人手机号 *")
    contact_name: str | None = _optional("联系人姓名 *")
    contact_phone: str | None = _optional("联系人手机号 *")


@strawberry.input(description="2 办学资质. Licence fields are required for FULL and LICENCE_ONLY, business licence fields for FULL and BUSINESS_LICENCE_ONLY.")
class InstitutionQualificationsInput:
    qualification_status: QualificationStatusType | None = _optional("办学资质情况 *")
    licence_number: str | None = None
    licence_issuer: str | None = None
    licence_valid_from: dt.date | None = None
    licence_valid_to: dt.date | None = _optional("after licenceValidFrom")
    business_licence_number: str | None = None
    business_licence_issuer: str | None = None


@strawberry.input(description="3 办学情况. Choosing OTHER requires otherCategory.")
class InstitutionOperationInput:
    training_categories: list[TrainingCategory] | None = _optional("培训类别 * (multi-select)")
    other_category: str | None = None
    student_count: int | None = _optional("在读学生数 *")
    staff_count: int | None = _optional("从业人员数 *")
    teacher_count: int | None = _optional("专职教师数 * (not more than staffCount)")


@strawberry.input(description="4 中小学学科类培训情况. noSubjectTraining: true completes the part without content.")
class InstitutionSubjectTrainingInput:
    no_subject_training: bool | None = _optional("无中小学学科类培训 *")
    subjects: list[Subject] | None = None
    grades: list[Grade] | None = None
    class_times: str | None = None
    fee_per_hour: Decimal | None = None


@strawberry.input(description="5 办学条件. Teaching area not larger than floor area; leased premises need leaseEnd.")
class InstitutionFacilitiesInput:
    floor_area: Decimal | None = _optional("建筑面积 *")
    teaching_area: Decimal | None = _optional("教学面积 *")
    premises: PremisesType | None = _optional("场地性质 *")
    lease_end: dt.date | None = None
    fire_safety_approved: bool | None = _optional("通过消防验收 *")


PART_INPUTS = {
    Part.BASICS: InstitutionBasicsInput,
    Part.QUALIFICATIONS: InstitutionQualificationsInput,
    Part.OPERATION: InstitutionOperationInput,
    Part.SUBJECT_TRAINING: InstitutionSubjectTrainingInput,
    Part.FACILITIES: InstitutionFacilitiesInput,
}


@strawberry.input(description="Filters of the institution list; all optional, combined with AND.")
class InstitutionFilter:
    name: str | None = _optional("Part of the name.")
    region_code: str | None = _optional("Institutions in this region or below it (any region in scope).")
    kind: InstitutionKind | None = None
    mode: InstitutionMode | None = None
    nature: InstitutionNature | None = None
    complete: bool | None = _optional("Registration complete (all five parts) or not.")
    missing_part: RegistrationPart | None = _optional("Institutions that have not saved this part.")
    registering_unit_id: strawberry.ID | None = _optional("登记单位")
    inspection_status: InspectionStatus | None = _optional("排查状态")
    overdue: bool | None = _optional("逾期整改 (true) or not (false)")
    review_status: ReviewStatus | None = _optional("审核状态")


def inspection_operations(viewer: Viewer | None, status: InspectionStatusEnum) -> list[str]:
    """可进行的操作 of the manual's inspection list, for this viewer and status."""
    if viewer is None or not viewer.is_regulator:
        return []
    if resolve.sees_personal_data(viewer):  # the county desk that keeps the record
        if status is InspectionStatusEnum.RECTIFYING:
            return ["CORRECT_INSPECTION", "UPDATE_PROGRESS", "ACCEPT"]
        if status is InspectionStatusEnum.NO_PROBLEMS:  # the latest record stays correctable
            return ["RECORD_INSPECTION", "CORRECT_INSPECTION"]
        return ["RECORD_INSPECTION"]
    if viewer.level in (Level.MINISTRY, Level.PROVINCE, Level.PREFECTURE) and viewer.department.value == "EDUCATION":
        return ["URGE"]
    return []


def camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(word.title() for word in rest)


def user_errors(errors: list[FieldError]) -> list[UserError]:
    return [
        UserError(
            field=camel(e.key) if e.key else None,
            code=e.code,
            message=e.message,
            related_id=strawberry.ID(e.related_id) if e.related_id else None,
        )
        for e in errors
    ]


@strawberry.type
class RegistrationPayload:
    institution: Institution | None
    progress: RegistrationProgress | None = strawberry.field(description="登记进度 after the save")
    errors: list[UserError]


@strawberry.type
class DeleteInstitutionPayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]


@strawberry.type(description="删除记录: who deleted which institution, when, with a snapshot (personal data masked).")
class InstitutionDeletion:
    id: strawberry.ID
    at: dt.datetime
    username: str = strawberry.field(description="操作账号")
    institution_id: strawberry.ID
    client_address: str | None
    snapshot: JSON
    region_code: strawberry.Private[str]

    @strawberry.field
    async def county(self, info: Info) -> Region:
        return Region.from_row(await info.context.loaders.region.load(self.region_code))


@strawberry.type(description="One problem of an imported row.")
class ImportRowError:
    row: int = strawberry.field(description="Excel row number")
    column: str | None = strawberry.field(description="The column header")
    code: str
    message: str


#: The most problems an import's payload lists: the first ones, then one row that says how
#: many more were found (the command line lists them all).
MAX_IMPORT_ERRORS = 1000


@strawberry.type(description=f"All or nothing: when errors is not empty, nothing was written. At most {MAX_IMPORT_ERRORS + 1} errors: the first {MAX_IMPORT_ERRORS}, then TOO_MANY_ERRORS with how many more.")
class ImportInstitutionsPayload:
    created: int
    updated: int
    errors: list[ImportRowError]


#: The node fields a list page answers from ``resolvers.institutions.LIST_COLUMNS`` (and
#: what it reads by the institution's id); asking for any other reads every column.
LIST_FIELDS = frozenset({
    "__typename", "id", "name", "kind", "mode", "nature", "registrationProgress", "version", "createdAt", "updatedAt",
    "inspectionStatus", "reviewStatus", "deregisteredAt", "overdue", "inspections", "documents", "funds",
    "inspectionOperations", "siteCount", "activeStaffCount", "staff", "sites", "materials", "findings", "applications",
    "county", "registeringUnit",
})


def _payload(info: Info, result) -> RegistrationPayload:
    row, errors = result
    if row is None:
        return RegistrationPayload(institution=None, progress=None, errors=user_errors(errors))
    institution = Institution.from_row(row, info.context.viewer)
    return RegistrationPayload(institution=institution, progress=institution.registration_progress, errors=[])


def _data(input: object) -> dict:
    return {spec_key: getattr(input, spec_key) for spec_key in vars(input)}


@strawberry.type
class InstitutionQuery:
    @strawberry.field(
        description=(
            "校外培训机构登记列表 in the caller's scope, by name then id. Download the import template "
            "at GET /templates/institutions.xlsx and export the list (same filters as query "
            "parameters) at GET /exports/institutions.xlsx."
        ),
        extensions=allow(Regulator()),
    )
    async def institutions(
        self, info: Info, filter: InstitutionFilter | None = None, first: int | None = 20, after: str | None = None
    ) -> Connection[Institution]:
        f = resolve.InstitutionFilter(**vars(filter)) if filter else None
        if f is not None:
            f.today = info.context.now.date()
        asked = selected(info)
        unit = "registeringUnit" in asked.node
        counts = "siteCount" in asked.node or "activeStaffCount" in asked.node
        details = not asked.node <= LIST_FIELDS
        page = await resolve.list_institutions(
            info, f, first, after, unit=unit, counts=counts, total="totalCount" in asked.connection, details=details
        )
        viewer = info.context.viewer

        def node(row) -> Institution:
            return Institution.from_row(
                row, viewer,
                counts=(row.site_count, row.active_staff_count) if counts else None,
                unit=RegisteringUnit(id=strawberry.ID(str(row.registering_unit_id)), name=row.unit_name, level=row.unit_level)
                if unit and row.registering_unit_id is not None else None,
                details=details,
            )

        return Connection[Institution].from_page(page, node, after=after)

    @strawberry.field(description="One institution, or null when it does not exist or is outside the caller's scope.", extensions=allow(Authenticated()))
    async def institution(self, info: Info, id: strawberry.ID) -> Institution | None:
        row = await resolve.get_institution(info, id)
        return Institution.from_row(row, info.context.viewer) if row else None

    @strawberry.field(
        description="Deleted institutions with their snapshots: the ministry and provinces, in their subtree.",
        extensions=allow(Regulator(Level.MINISTRY, Level.PROVINCE)),
    )
    async def institution_deletions(self, info: Info, first: int | None = 20, after: str | None = None) -> Connection[InstitutionDeletion]:
        page = await audit_trail.list_records(info, audit_trail.AuditFilter(operation="deleteInstitution"), first, after)
        return Connection[InstitutionDeletion].from_page(
            page,
            lambda r: InstitutionDeletion(
                id=strawberry.ID(str(r.id)),
                at=r.at,
                username=r.username,
                institution_id=strawberry.ID(str(r.record_id)),
                client_address=r.client_address,
                snapshot=r.snapshot,
                region_code=r.region_code,
            ),
            after=after,
        )


_WRITE = allow(Regulator(Level.COUNTY, Level.SUB_UNIT))
#: The parts are saved by the county desk and, on its own institution, by the institution.
_SAVE = allow(Authenticated())


@strawberry.type
class InstitutionMutation:
    @strawberry.mutation(
        description="1 基本情况: without id registers a new institution in the caller's county (登记单位 = the caller); with id (and the version read) edits it. "
        "An institution account edits its own institution's parts (not while its compliance application is reviewed).",
        extensions=_SAVE,
    )
    async def save_institution_basics(
        self, info: Info, input: InstitutionBasicsInput, id: strawberry.ID | None = None, version: int | None = None
    ) -> RegistrationPayload:
        return _payload(info, await resolve.save_part(info, Part.BASICS, id, _data(input), version))

    @strawberry.mutation(description="2 办学资质", extensions=_SAVE)
    async def save_institution_qualifications(
        self, info: Info, id: strawberry.ID, version: int, input: InstitutionQualificationsInput
    ) -> RegistrationPayload:
        return _payload(info, await resolve.save_part(info, Part.QUALIFICATIONS, id, _data(input), version))

    @strawberry.mutation(description="3 办学情况", extensions=_SAVE)
    async def save_institution_operation(
        self, info: Info, id: strawberry.ID, version: int, input: InstitutionOperationInput
    ) -> RegistrationPayload:
        return _payload(info, await resolve.save_part(info, Part.OPERATION, id, _data(input), version))

    @strawberry.mutation(description="4 中小学学科类培训情况", extensions=_SAVE)
    async def save_institution_subject_training(
        self, info: Info, id: strawberry.ID, version: int, input: InstitutionSubjectTrainingInput
    ) -> RegistrationPayload:
        return _payload(info, await resolve.save_part(info, Part.SUBJECT_TRAINING, id, _data(input), version))

    @strawberry.mutation(description="5 办学条件", extensions=_SAVE)
    async def save_institution_facilities(
        self, info: Info, id: strawberry.ID, version: int, input: InstitutionFacilitiesInput
    ) -> RegistrationPayload:
        return _payload(info, await resolve.save_part(info, Part.FACILITIES, id, _data(input), version))

    @strawberry.mutation(
        description="删除培训机构信息: county education accounts only; type the name again to confirm. Cannot be undone.",
        extensions=allow(Regulator(Level.COUNTY)),
    )
    async def delete_institution(self, info: Info, id: strawberry.ID, confirm_name: str) -> DeleteInstitutionPayload:
        deleted, errors = await resolve.delete_institution(info, id, confirm_name)
        return DeleteInstitutionPayload(deleted_id=strawberry.ID(str(deleted)) if deleted else None, errors=user_errors(errors))

    @strawberry.mutation(
        description=(
            "机构信息批量导入 from the template (GET /templates/institutions.xlsx), as a GraphQL multipart "
            "upload. Every row is checked by the form's rules; all or nothing. A row whose credit code is "
            "registered in the caller's scope updates it."
        ),
        extensions=_WRITE,
    )
    async def import_institutions(self, info: Info, file: Upload) -> ImportInstitutionsPayload:
        result = await institution_excel.import_upload(info, file)
        errors = [ImportRowError(row=e.row, column=e.column, code=e.code, message=e.message) for e in result.errors[:MAX_IMPORT_ERRORS]]
        if len(result.errors) > MAX_IMPORT_ERRORS:
            more = len(result.errors) - MAX_IMPORT_ERRORS
            errors.append(ImportRowError(row=0, column=None, code="TOO_MANY_ERRORS", message=f"另有 {more} 个问题未列出，请先修改以上问题后重新导入"))
        return ImportInstitutionsPayload(created=result.created, updated=result.updated, errors=errors)
