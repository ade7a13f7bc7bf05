"""The institution portal (全国校外教育培训监管与服务综合平台 · 培训机构端): the institution's
staff (人员管理), training materials (材料管理), sites or business systems with their courses
and classes (课程管理), the home page (后台首页), the rules' findings, and applications with
their review (合规申请、注销申请、办学许可申请、学科类培训班备案)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import strawberry

from auth.permissions import Authenticated, InstitutionUser, Regulator, allow
from models import Application as ApplicationRow
from models import ApplicationStatus as ApplicationStatusEnum
from models import ApplicationType as ApplicationTypeEnum
from models import Course as CourseRow
from models import Employment as EmploymentEnum
from models import FilingStatus as FilingStatusEnum
from models import Gender as GenderEnum
from models import Material as MaterialRow
from models import MaterialReview as MaterialReviewEnum
from models import MaterialType as MaterialTypeEnum
from models import Post as PostEnum
from models import Site as SiteRow
from models import SiteType as SiteTypeEnum
from models import Staff as StaffRow
from models import StaffStatus as StaffStatusEnum
from models import SystemType as SystemTypeEnum
from models import TrainingClass as ClassRow
from resolvers import applications as applications_resolver
from resolvers import portal as resolve
from resolvers.findings import RULES, Finding as FindingRow
from resolvers.institutions import mask_id_number, mask_phone
from resolvers.pagination import head
from schema.context import Info, note_personal_read
from schema.errors import UserError
from schema.institutions import Grade, Institution, ReviewStatus, Subject, TrainingCategory, _optional, user_errors
from schema.regions import Region
from schema.relay import Connection, Node

Gender = strawberry.enum(GenderEnum, name="Gender", description="性别: 男 MALE, 女 FEMALE.")
Post = strawberry.enum(PostEnum, name="StaffPost", description="岗位: 教学 TEACHING, 教研 RESEARCH, 管理 MANAGEMENT, 其他 OTHER.")
Employment = strawberry.enum(EmploymentEnum, name="Employment", description="用工形式: 专职 FULL_TIME, 兼职 PART_TIME.")
StaffStatus = strawberry.enum(StaffStatusEnum, name="StaffStatus", description="在职 ACTIVE, 离职 DEPARTED.")
SiteType = strawberry.enum(SiteTypeEnum, name="SiteType", description="办学点 SITE (线下), 业务系统 BUSINESS_SYSTEM (线上).")
SystemType = strawberry.enum(SystemTypeEnum, name="SystemType", description="业务系统类型: 移动应用 APP, 网站 WEBSITE, 小程序 MINI_PROGRAM, 其他 OTHER.")
FilingStatus = strawberry.enum(
    FilingStatusEnum,
    name="FilingStatus",
    description="学科类培训班备案: 无需备案 NOT_REQUIRED (非学科类), 未备案 NOT_FILED, 审核中 PENDING, 已备案 FILED, 未通过 REJECTED.",
)
MaterialType = strawberry.enum(
    MaterialTypeEnum, name="MaterialType", description="材料类型: 教材 TEXTBOOK, 讲义 HANDOUT, 练习册 EXERCISES, 音视频 AUDIOVISUAL, 其他 OTHER."
)
MaterialReview = strawberry.enum(MaterialReviewEnum, name="MaterialReview", description="材料审核: 未审核, 审核通过, 审核未通过 (the institution's own review).")
ApplicationType = strawberry.enum(
    ApplicationTypeEnum,
    name="ApplicationType",
    description="合规申请 COMPLIANCE, 注销申请 DEREGISTRATION, 办学许可申请 LICENCE, 学科类培训班备案 CLASS_FILING.",
)
ApplicationStatus = strawberry.enum(ApplicationStatusEnum, name="ApplicationStatus", description="待审核 PENDING, 通过 APPROVED, 不通过 REJECTED.")


def _id(value: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(str(value))


# --- staff ----------------------------------------------------------------------------


@strawberry.type(description="从业人员. ID number, phone and certificate number are shown to the institution and its county desk, masked for others.")
class Staff(Node):
    id: strawberry.ID
    name: str = strawberry.field(description="姓名")
    gender: Gender
    shown_id_number: strawberry.Private[str]
    read_key: strawberry.Private[tuple | None]
    phone: str = strawberry.field(description="手机号")
    post: Post
    employment: Employment
    subjects: list[Subject] = strawberry.field(description="任教学科")
    teacher_certificate_number: str | None = strawberry.field(description="教师资格证编号")
    has_teacher_certificate: bool = strawberry.field(description="持有教师资格证")
    years_in_education: int | None = strawberry.field(description="从事教育工作年限")
    status: StaffStatus
    joined_on: dt.date = strawberry.field(description="入职日期")
    departed_on: dt.date | None = strawberry.field(description="离职日期")
    version: int
    updated_at: dt.datetime

    @strawberry.field(description="身份证号 (an unmasked read is recorded in the audit trail)")
    def id_number(self, info: Info) -> str:
        note_personal_read(info, self.read_key, "idNumber")
        return self.shown_id_number

    @classmethod
    def from_row(cls, row: StaffRow, info: Info) -> Staff:
        full = resolve.sees_staff_personal_data(info.context.viewer, row.institution_id)
        return cls(
            id=_id(row.id), name=row.name, gender=GenderEnum(row.gender),
            shown_id_number=row.id_number if full else mask_id_number(row.id_number),
            read_key=("Staff", row.id, None, row.institution_id) if full else None,
            phone=row.phone if full else mask_phone(row.phone),
            post=PostEnum(row.post), employment=EmploymentEnum(row.employment),
            subjects=[Subject(s) for s in row.subjects],
            teacher_certificate_number=row.teacher_certificate_number if full else resolve.mask_certificate(row.teacher_certificate_number),
            has_teacher_certificate=bool(row.teacher_certificate_number),
            years_in_education=row.years_in_education, status=StaffStatusEnum(row.status),
            joined_on=row.joined_on, departed_on=row.departed_on, version=row.version, updated_at=row.updated_at,
        )


# --- sites, courses, classes ----------------------------------------------------------


@strawberry.type(description="上课时间: weekday 1 (Monday) to 7 (Sunday), start and end as HH:MM.")
class ClassSession:
    weekday: int
    start: str
    end: str


@strawberry.type(description="班级")
class TrainingClass(Node):
    id: strawberry.ID
    name: str = strawberry.field(description="班级名称 (学科类: 年级+学科+培训班)")
    schedule: list[ClassSession] = strawberry.field(description="上课时间")
    starts_on: dt.date = strawberry.field(description="开班日期")
    ends_on: dt.date = strawberry.field(description="结班日期")
    capacity: int = strawberry.field(description="班额")
    enrolled: int = strawberry.field(description="在读人数")
    fee: Decimal = strawberry.field(description="每次收费金额（元）")
    fee_months: int | None = strawberry.field(description="每次收费覆盖月数")
    fee_class_hours: int | None = strawberry.field(description="每次收费覆盖课时")
    lesson_minutes: int | None = strawberry.field(description="每课时长（分钟）")
    break_minutes: int | None = strawberry.field(description="课间休息（分钟）")
    filing_status: FilingStatus = strawberry.field(description="备案状态")
    version: int
    teacher_ids: strawberry.Private[list]

    @classmethod
    def from_row(cls, row: ClassRow) -> TrainingClass:
        return cls(
            id=_id(row.id), name=row.name, schedule=[ClassSession(**s) for s in row.schedule], starts_on=row.starts_on,
            ends_on=row.ends_on, capacity=row.capacity, enrolled=row.enrolled, fee=row.fee, fee_months=row.fee_months,
            fee_class_hours=row.fee_class_hours, lesson_minutes=row.lesson_minutes, break_minutes=row.break_minutes,
            filing_status=FilingStatusEnum(row.filing_status), version=row.version, teacher_ids=row.teacher_ids,
        )

    @strawberry.field(description="授课教师")
    async def teachers(self, info: Info) -> list[Staff]:
        rows = await info.context.loaders.staff.load_many(self.teacher_ids)
        return [Staff.from_row(r, info) for r in rows if r is not None]


@strawberry.type(description="培训课程")
class Course(Node):
    id: strawberry.ID
    name: str = strawberry.field(description="课程名称")
    category: TrainingCategory = strawberry.field(description="培训类别")
    subject: Subject | None = strawberry.field(description="学科 (学科类课程)")
    grades: list[Grade] = strawberry.field(description="适用学段")
    class_hours: int = strawberry.field(description="总课时")
    description: str | None = strawberry.field(description="课程简介")
    version: int
    row_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: CourseRow) -> Course:
        return cls(
            id=_id(row.id), name=row.name, category=TrainingCategory(row.category),
            subject=Subject(row.subject) if row.subject else None, grades=[Grade(g) for g in row.grades],
            class_hours=row.class_hours, description=row.description, version=row.version, row_id=row.id,
        )

    @strawberry.field(description="班级")
    async def classes(self, info: Info) -> list[TrainingClass]:
        return [TrainingClass.from_row(r) for r in await info.context.loaders.classes.load(self.row_id)]


@strawberry.type(description="办学点 (线下: address and teaching area) or 业务系统 (线上: app, website or mini program with its ICP filing).")
class Site(Node):
    id: strawberry.ID
    type: SiteType
    name: str
    address: str | None = strawberry.field(description="办学点地址")
    teaching_area: Decimal | None = strawberry.field(description="教学面积（平方米）")
    system_type: SystemType | None = strawberry.field(description="业务系统类型")
    url: str | None = strawberry.field(description="访问地址")
    icp_filing: str | None = strawberry.field(description="ICP 备案号")
    version: int
    row_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: SiteRow) -> Site:
        return cls(
            id=_id(row.id), type=SiteTypeEnum(row.type), name=row.name, address=row.address, teaching_area=row.teaching_area,
            system_type=SystemTypeEnum(row.system_type) if row.system_type else None, url=row.url, icp_filing=row.icp_filing,
            version=row.version, row_id=row.id,
        )

    @strawberry.field(description="培训课程")
    async def courses(self, info: Info) -> list[Course]:
        return [Course.from_row(r) for r in await info.context.loaders.courses.load(self.row_id)]


# --- materials ------------------------------------------------------------------------


@strawberry.type(description="培训材料")
class Material(Node):
    id: strawberry.ID
    name: str = strawberry.field(description="材料名称")
    category: TrainingCategory
    subject: Subject | None
    grades: list[Grade]
    type: MaterialType
    author: str = strawberry.field(description="编写人员")
    publisher: str | None = strawberry.field(description="出版单位")
    edition: str | None = strawberry.field(description="版次")
    author_years_in_education: int = strawberry.field(description="编写人员从事教育工作年限")
    author_has_teacher_certificate: bool = strawberry.field(description="编写人员持有教师资格证")
    author_certificate_number: str | None = strawberry.field(description="编写人员教师资格证编号 (masked for regulators above the county desk)")
    review: MaterialReview
    version: int

    @classmethod
    def from_row(cls, row: MaterialRow, info: Info) -> Material:
        full = resolve.sees_staff_personal_data(info.context.viewer, row.institution_id)
        return cls(
            id=_id(row.id), name=row.name, category=TrainingCategory(row.category), subject=Subject(row.subject) if row.subject else None,
            grades=[Grade(g) for g in row.grades], type=MaterialTypeEnum(row.type), author=row.author, publisher=row.publisher,
            edition=row.edition, author_years_in_education=row.author_years_in_education,
            author_has_teacher_certificate=bool(row.author_certificate_number),
            author_certificate_number=row.author_certificate_number if full else resolve.mask_certificate(row.author_certificate_number),
            review=MaterialReviewEnum(row.review), version=row.version,
        )


# --- findings, home, applications -----------------------------------------------------


@strawberry.type(description="规则检查发现的问题: a rule of the regulations that the institution's data breaks.")
class Finding:
    rule: str = strawberry.field(description="规则编号 (e.g. CLASS_END_TIME)")
    title: str = strawberry.field(description="规则")
    message: str = strawberry.field(description="问题说明")
    source: str = strawberry.field(description="依据")
    record_type: str = strawberry.field(description="涉及的记录类型: Institution, Site, TrainingClass, Material, InstitutionFunds")
    record_id: strawberry.ID
    record_name: str

    @classmethod
    def from_row(cls, row: FindingRow) -> Finding:
        return cls(
            rule=row.rule, title=RULES[row.rule].title, message=row.message, source=row.source, record_type=row.record_type,
            record_id=_id(row.record_id), record_name=row.record_name,
        )

    @classmethod
    def from_json(cls, data: dict) -> Finding:
        rule = RULES.get(data["rule"])
        return cls(
            rule=data["rule"], title=rule.title if rule else data["rule"], message=data["message"], source=data["source"],
            record_type=data["recordType"], record_id=strawberry.ID(data["recordId"]), record_name=data["recordName"],
        )


@strawberry.type(description="待补全事项: what stops a compliance application now.")
class MissingItem:
    code: str = strawberry.field(description=", ".join(applications_resolver.MISSING_CODES))
    message: str


@strawberry.type(description="后台首页: review status, rectification flags and what is missing before a compliance application.")
class PortalHome:
    review_status: ReviewStatus = strawberry.field(description="审核状态")
    deregistered: bool = strawberry.field(description="已注销 (read-only)")
    needs_non_profit_conversion: bool = strawberry.field(description="营转非: a subject institution still for-profit")
    needs_online_approval: bool = strawberry.field(description="备案转审批: an online subject institution without a licence")
    missing: list[MissingItem] = strawberry.field(description="合规申请前须补全的事项")
    can_apply_for_compliance: bool = strawberry.field(description="可提交合规申请")
    findings_count: int


async def portal_home(info: Info, row) -> PortalHome:
    """The home page of an institution the viewer sees (batched over a list by loaders)."""
    findings = await info.context.loaders.findings.load(row.id)
    missing = await info.context.loaders.missing.load(row.id)
    return PortalHome(
        review_status=ReviewStatus(row.review_status),
        deregistered=row.deregistered_at is not None,
        needs_non_profit_conversion=applications_resolver.needs_non_profit(row),
        needs_online_approval=applications_resolver.needs_approval(row),
        missing=[MissingItem(code=m.code, message=m.message) for m in missing],
        can_apply_for_compliance=not missing and row.review_status not in ("PENDING", "APPROVED"),
        findings_count=len(findings),
    )


@strawberry.type(description="申请 and its review (审核).")
class Application(Node):
    id: strawberry.ID
    type: ApplicationType
    status: ApplicationStatus
    statement: str | None = strawberry.field(description="申请说明")
    proof_document_id: strawberry.ID | None = strawberry.field(description="注销证明材料")
    submitted_at: dt.datetime
    decided_at: dt.datetime | None
    opinion: str | None = strawberry.field(description="审核意见")
    authority_department: str = strawberry.field(description="审核部门 (EDUCATION, SPORTS, CULTURE_TOURISM, SCIENCE_TECHNOLOGY)")
    authority_level: str = strawberry.field(description="审核层级 (COUNTY, PROVINCE)")
    row: strawberry.Private[ApplicationRow]

    @classmethod
    def from_row(cls, row: ApplicationRow) -> Application:
        return cls(
            id=_id(row.id), type=ApplicationTypeEnum(row.type), status=ApplicationStatusEnum(row.status), statement=row.statement,
            proof_document_id=_id(row.proof_document_id) if row.proof_document_id else None, submitted_at=row.submitted_at,
            decided_at=row.decided_at, opinion=row.opinion, authority_department=row.authority_department,
            authority_level=row.authority_level, row=row,
        )

    @strawberry.field(description="提交时的规则检查结果: the first `first` (at most 100)")
    def findings_at_submission(self, first: int | None = 100) -> list[Finding]:
        return [Finding.from_json(f) for f in head(self.row.findings_at_submission, first)]

    @strawberry.field(description="审核单位所在地区")
    async def authority_region(self, info: Info) -> Region:
        return Region.from_row(await info.context.loaders.region.load(self.row.authority_region_code))

    @strawberry.field(description="申请机构")
    async def institution(self, info: Info) -> Institution | None:
        row = await info.context.loaders.institution.load(self.row.institution_id)
        return Institution.from_row(row, info.context.viewer) if row else None

    @strawberry.field(description="备案的班级 (CLASS_FILING)")
    async def training_class(self, info: Info) -> TrainingClass | None:
        row = await info.context.loaders.training_class.load(self.row.class_id) if self.row.class_id else None
        return TrainingClass.from_row(row) if row else None

    @strawberry.field(description="可由我审核: the caller is the reviewing authority and the application is pending")
    def reviewable(self, info: Info) -> bool:
        return self.row.status == ApplicationStatusEnum.PENDING and applications_resolver.is_authority(info.context.viewer, self.row)


@strawberry.type
class ApplicationCount:
    type: ApplicationType
    status: ApplicationStatus
    count: int


# --- inputs and payloads --------------------------------------------------------------


@strawberry.input(description="从业人员. A teaching post with subjects needs teacherCertificateNumber.")
class StaffInput:
    name: str | None = _optional("姓名 *")
    gender: Gender | None = _optional("性别 *")
    id_number: str | None = _optional("身份证号 * (GB 11643)")
    phone: str | None = _optional("手机号 *")
    post: Post | None = _optional("岗位 *")
    employment: Employment | None = _optional("专职/兼职 *")
    subjects: list[Subject] | None = _optional("任教学科")
    teacher_certificate_number: str | None = _optional("教师资格证编号 (required for subject teachers)")
    years_in_education: int | None = _optional("从事教育工作年限")
    joined_on: dt.date | None = _optional("入职日期 *")


@strawberry.input(description="办学点 (offline institutions: name, address, teachingArea) or 业务系统 (online: name, systemType, url, icpFiling); the type follows the institution's mode.")
class SiteInput:
    name: str | None = _optional("名称 *")
    address: str | None = _optional("办学点地址 * (offline)")
    teaching_area: Decimal | None = _optional("教学面积（平方米）* (offline)")
    system_type: SystemType | None = _optional("系统类型 * (online)")
    url: str | None = _optional("访问地址 * (online)")
    icp_filing: str | None = _optional("ICP 备案号 * (online)")


@strawberry.input(description="培训课程. SUBJECT courses need a subject (and a subject institution).")
class CourseInput:
    name: str | None = _optional("课程名称 *")
    category: TrainingCategory | None = _optional("培训类别 *")
    subject: Subject | None = _optional("学科 (学科类 *)")
    grades: list[Grade] | None = _optional("适用学段 *")
    class_hours: int | None = _optional("总课时 *")
    description: str | None = None


@strawberry.input
class ClassSessionInput:
    weekday: int = strawberry.field(description="1 (Monday) to 7 (Sunday)")
    start: str = strawberry.field(description="HH:MM")
    end: str = strawberry.field(description="HH:MM")


@strawberry.input(description="班级. Online institutions state lessonMinutes and breakMinutes. Editing a filed class sends it back to NOT_FILED (except enrolled).")
class TrainingClassInput:
    name: str | None = _optional("班级名称 * (学科类: 年级+学科+培训班)")
    schedule: list[ClassSessionInput] | None = _optional("上课时间 *")
    starts_on: dt.date | None = _optional("开班日期 *")
    ends_on: dt.date | None = _optional("结班日期 *")
    capacity: int | None = _optional("班额 *")
    enrolled: int | None = _optional("在读人数")
    fee: Decimal | None = _optional("每次收费金额（元）*")
    fee_months: int | None = _optional("每次收费覆盖月数 (this or feeClassHours *)")
    fee_class_hours: int | None = _optional("每次收费覆盖课时")
    lesson_minutes: int | None = _optional("每课时长（分钟）(online *)")
    break_minutes: int | None = _optional("课间休息（分钟）(online *)")
    teacher_ids: list[strawberry.ID] | None = _optional("授课教师: active staff of the institution *")


@strawberry.input(description="培训材料")
class MaterialInput:
    name: str | None = _optional("材料名称 *")
    category: TrainingCategory | None = _optional("培训类别 *")
    subject: Subject | None = _optional("学科 (学科类 *)")
    grades: list[Grade] | None = _optional("适用学段 *")
    type: MaterialType | None = _optional("材料类型 *")
    author: str | None = _optional("编写人员 *")
    publisher: str | None = None
    edition: str | None = _optional("版次")
    author_years_in_education: int | None = _optional("编写人员从事教育工作年限 *")
    author_certificate_number: str | None = _optional("编写人员教师资格证编号")
    review: MaterialReview | None = _optional("审核状态 (default NOT_REVIEWED)")


@strawberry.input(description="A new application. DEREGISTRATION needs proofDocumentId and a statement; LICENCE a statement; CLASS_FILING a classId.")
class ApplicationInput:
    type: ApplicationType
    statement: str | None = _optional("申请说明")
    class_id: strawberry.ID | None = _optional("备案的班级 (CLASS_FILING)")
    proof_document_id: strawberry.ID | None = _optional("注销证明材料 (DEREGISTRATION)")


@strawberry.input(description="审核决定. Approving a LICENCE application issues the licence: number, issuer, validity.")
class ReviewInput:
    approve: bool
    opinion: str | None = _optional("审核意见 *")
    licence_number: str | None = None
    licence_issuer: str | None = None
    licence_valid_from: dt.date | None = None
    licence_valid_to: dt.date | None = None


@strawberry.input
class ApplicationFilter:
    status: ApplicationStatus | None = None
    type: ApplicationType | None = None
    institution_id: strawberry.ID | None = None
    for_my_review: bool | None = _optional("true: only those the caller decides (待我审核)")


@strawberry.type
class StaffPayload:
    staff: Staff | None
    errors: list[UserError]


@strawberry.type
class SitePayload:
    site: Site | None
    errors: list[UserError]


@strawberry.type
class CoursePayload:
    course: Course | None
    errors: list[UserError]


@strawberry.type
class TrainingClassPayload:
    training_class: TrainingClass | None
    findings: list[Finding] = strawberry.field(description="规则检查: the class's findings after the save")
    errors: list[UserError]


@strawberry.type
class MaterialPayload:
    material: Material | None
    errors: list[UserError]


@strawberry.type
class DeletePayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]


@strawberry.type
class ApplicationPayload:
    application: Application | None
    errors: list[UserError]


def _data(input: object) -> dict:
    data = dict(vars(input))
    if "schedule" in data and data["schedule"] is not None:
        data["schedule"] = [vars(s) for s in data["schedule"]]
    return data


async def _class_payload(info: Info, result) -> TrainingClassPayload:
    row, errors = result
    if row is None:
        return TrainingClassPayload(training_class=None, findings=[], errors=user_errors(errors))
    findings = await info.context.loaders.findings.load(row.institution_id)
    return TrainingClassPayload(
        training_class=TrainingClass.from_row(row),
        findings=[Finding.from_row(f) for f in findings if f.record_id == row.id],
        errors=[],
    )


def _deleted(result) -> DeletePayload:
    deleted, errors = result
    return DeletePayload(deleted_id=_id(deleted) if deleted else None, errors=user_errors(errors))


def _application_payload(result) -> ApplicationPayload:
    row, errors = result
    return ApplicationPayload(application=Application.from_row(row) if row else None, errors=user_errors(errors))


_OWN = allow(InstitutionUser())


@strawberry.type
class PortalQuery:
    @strawberry.field(description="本机构: the caller's own institution (institution accounts).", extensions=_OWN)
    async def my_institution(self, info: Info) -> Institution | None:
        row = await info.context.loaders.institution.load(info.context.viewer.institution_id)
        return Institution.from_row(row, info.context.viewer) if row else None

    @strawberry.field(
        description="申请 in the caller's scope (an institution: its own), oldest first; forMyReview: those the caller decides.",
        extensions=allow(Authenticated()),
    )
    async def applications(
        self, info: Info, filter: ApplicationFilter | None = None, first: int | None = 20, after: str | None = None
    ) -> Connection[Application]:
        f = applications_resolver.ApplicationFilter(**vars(filter)) if filter else None
        page = await applications_resolver.list_applications(info, f, first, after)
        return Connection[Application].from_page(page, Application.from_row, after=after)

    @strawberry.field(description="申请数 by type and status, same filter and scope as applications.", extensions=allow(Regulator()))
    async def application_counts(self, info: Info, filter: ApplicationFilter | None = None) -> list[ApplicationCount]:
        f = applications_resolver.ApplicationFilter(**vars(filter)) if filter else None
        return [
            ApplicationCount(type=ApplicationTypeEnum(t), status=ApplicationStatusEnum(s), count=n)
            for t, s, n in await applications_resolver.counts(info, f)
        ]


@strawberry.type
class PortalMutation:
    @strawberry.mutation(description="创建在职人员", extensions=_OWN)
    async def create_staff(self, info: Info, input: StaffInput) -> StaffPayload:
        row, errors = await resolve.create(info, resolve.STAFF, _data(input))
        return StaffPayload(staff=Staff.from_row(row, info) if row else None, errors=user_errors(errors))

    @strawberry.mutation(description="编辑在职或离职人员", extensions=_OWN)
    async def update_staff(self, info: Info, id: strawberry.ID, version: int, input: StaffInput) -> StaffPayload:
        row, errors = await resolve.update(info, resolve.STAFF, id, version, _data(input))
        return StaffPayload(staff=Staff.from_row(row, info) if row else None, errors=user_errors(errors))

    @strawberry.mutation(description="在职人员转离职 (with the departure date)", extensions=_OWN)
    async def mark_staff_departed(self, info: Info, id: strawberry.ID, version: int, departed_on: dt.date | None = None) -> StaffPayload:
        row, errors = await resolve.move_staff(info, id, version, StaffStatusEnum.DEPARTED, departed_on)
        return StaffPayload(staff=Staff.from_row(row, info) if row else None, errors=user_errors(errors))

    @strawberry.mutation(description="离职人员转在职 (with the new joining date)", extensions=_OWN)
    async def mark_staff_active(self, info: Info, id: strawberry.ID, version: int, joined_on: dt.date | None = None) -> StaffPayload:
        row, errors = await resolve.move_staff(info, id, version, StaffStatusEnum.ACTIVE, joined_on)
        return StaffPayload(staff=Staff.from_row(row, info) if row else None, errors=user_errors(errors))

    @strawberry.mutation(description="删除在职或离职人员 (not while teaching a class)", extensions=_OWN)
    async def delete_staff(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return _deleted(await resolve.delete(info, resolve.STAFF, id))

    @strawberry.mutation(description="创建办学点/业务系统 (the manual's 创建办学点: then add courses, then classes)", extensions=_OWN)
    async def create_site(self, info: Info, input: SiteInput) -> SitePayload:
        row, errors = await resolve.create(info, resolve.SITE, _data(input))
        return SitePayload(site=Site.from_row(row) if row else None, errors=user_errors(errors))

    @strawberry.mutation(description="编辑办学点/业务系统", extensions=_OWN)
    async def update_site(self, info: Info, id: strawberry.ID, version: int, input: SiteInput) -> SitePayload:
        row, errors = await resolve.update(info, resolve.SITE, id, version, _data(input))
        return SitePayload(site=Site.from_row(row) if row else None, errors=user_errors(errors))

    @strawberry.mutation(description="删除办学点/业务系统 (without courses)", extensions=_OWN)
    async def delete_site(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return _deleted(await resolve.delete(info, resolve.SITE, id))

    @strawberry.mutation(description="创建培训课程 at a site or business system", extensions=_OWN)
    async def create_course(self, info: Info, site_id: strawberry.ID, input: CourseInput) -> CoursePayload:
        row, errors = await resolve.create(info, resolve.COURSE, _data(input), site_id)
        return CoursePayload(course=Course.from_row(row) if row else None, errors=user_errors(errors))

    @strawberry.mutation(description="编辑培训课程", extensions=_OWN)
    async def update_course(self, info: Info, id: strawberry.ID, version: int, input: CourseInput) -> CoursePayload:
        row, errors = await resolve.update(info, resolve.COURSE, id, version, _data(input))
        return CoursePayload(course=Course.from_row(row) if row else None, errors=user_errors(errors))

    @strawberry.mutation(description="删除培训课程 (without classes)", extensions=_OWN)
    async def delete_course(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return _deleted(await resolve.delete(info, resolve.COURSE, id))

    @strawberry.mutation(description="创建班级 in a course; the payload lists the class's findings", extensions=_OWN)
    async def create_training_class(self, info: Info, course_id: strawberry.ID, input: TrainingClassInput) -> TrainingClassPayload:
        return await _class_payload(info, await resolve.create(info, resolve.CLASS, _data(input), course_id))

    @strawberry.mutation(description="编辑班级", extensions=_OWN)
    async def update_training_class(self, info: Info, id: strawberry.ID, version: int, input: TrainingClassInput) -> TrainingClassPayload:
        return await _class_payload(info, await resolve.update(info, resolve.CLASS, id, version, _data(input)))

    @strawberry.mutation(description="删除班级", extensions=_OWN)
    async def delete_training_class(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return _deleted(await resolve.delete(info, resolve.CLASS, id))

    @strawberry.mutation(description="创建培训材料", extensions=_OWN)
    async def create_material(self, info: Info, input: MaterialInput) -> MaterialPayload:
        row, errors = await resolve.create(info, resolve.MATERIAL, _data(input))
        return MaterialPayload(material=Material.from_row(row, info) if row else None, errors=user_errors(errors))

    @strawberry.mutation(description="编辑培训材料", extensions=_OWN)
    async def update_material(self, info: Info, id: strawberry.ID, version: int, input: MaterialInput) -> MaterialPayload:
        row, errors = await resolve.update(info, resolve.MATERIAL, id, version, _data(input))
        return MaterialPayload(material=Material.from_row(row, info) if row else None, errors=user_errors(errors))

    @strawberry.mutation(description="删除培训材料", extensions=_OWN)
    async def delete_material(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return _deleted(await resolve.delete(info, resolve.MATERIAL, id))

    @strawberry.mutation(
        description="提交申请 (合规申请 needs nothing missing: see myInstitution.home; 注销申请 a proof document; 备案 a subject class). "
        "It goes to the authority of DOMAIN.md; one pending application per type (per class for filings).",
        extensions=_OWN,
    )
    async def submit_application(self, info: Info, input: ApplicationInput) -> ApplicationPayload:
        new = applications_resolver.NewApplication(
            type=input.type, statement=input.statement, class_id=input.class_id, proof_document_id=input.proof_document_id
        )
        return _application_payload(await applications_resolver.submit(info, new))

    @strawberry.mutation(
        description="审核申请: approve or reject with an opinion; only the application's authority (others: FORBIDDEN; out of scope: NOT_FOUND).",
        extensions=allow(Regulator(applications_resolver.Level.COUNTY, applications_resolver.Level.PROVINCE)),
    )
    async def review_application(self, info: Info, id: strawberry.ID, input: ReviewInput) -> ApplicationPayload:
        decision = applications_resolver.Decision(**vars(input))
        return _application_payload(await applications_resolver.review(info, id, decision))
