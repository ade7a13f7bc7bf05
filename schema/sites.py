"""Sites or business systems, their courses and classes (办学点/业务系统 → 培训课程 → 班级, docs/DOMAIN.md
§P8), with the classes' filing (学科类培训班备案)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import strawberry

from auth.permissions import InstitutionUser, allow
from models import Course as CourseRow
from models import FilingStatus as FilingStatusEnum
from models import Site as SiteRow
from models import SiteType as SiteTypeEnum
from models import SystemType as SystemTypeEnum
from models import TrainingClass as ClassRow
from resolvers import records, sites
from resolvers.loaders import ClassesByCourseLoader, CoursesBySiteLoader, FindingsByInstitutionLoader, StaffByIdLoader
from schema.context import Info
from schema.enums import Grade, Subject, TrainingCategory
from schema.errors import UserError, user_errors
from schema.fields import editable, node_id
from schema.findings import ON_RECORD, Finding, findings_on
from schema.records import DeletePayload, deleted_payload, input_data
from schema.relay import Node
from schema.staff import Staff

SiteType = strawberry.enum(SiteTypeEnum, name="SiteType", description="办学点 SITE (线下), 业务系统 BUSINESS_SYSTEM (线上).")
SystemType = strawberry.enum(SystemTypeEnum, name="SystemType", description="业务系统类型: 移动应用 APP, 网站 WEBSITE, 小程序 MINI_PROGRAM, 其他 OTHER.")
FilingStatus = strawberry.enum(
    FilingStatusEnum,
    name="FilingStatus",
    description="学科类培训班备案: 无需备案 NOT_REQUIRED (非学科类), 未备案 NOT_FILED, 审核中 PENDING, 已备案 FILED, 未通过 REJECTED.",
)


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
    institution_key: strawberry.Private[uuid.UUID]
    row_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: ClassRow) -> TrainingClass:
        return cls(
            id=node_id(row.id), name=row.name, schedule=[ClassSession(**s) for s in row.schedule], starts_on=row.starts_on,
            ends_on=row.ends_on, capacity=row.capacity, enrolled=row.enrolled, fee=row.fee, fee_months=row.fee_months,
            fee_class_hours=row.fee_class_hours, lesson_minutes=row.lesson_minutes, break_minutes=row.break_minutes,
            filing_status=FilingStatusEnum(row.filing_status), version=row.version, teacher_ids=row.teacher_ids,
            institution_key=row.institution_id, row_id=row.id,
        )

    @strawberry.field(description=ON_RECORD)
    async def findings(self, info: Info) -> list[Finding]:
        return await findings_on(info, self.institution_key, self.row_id)

    @strawberry.field(description="授课教师")
    async def teachers(self, info: Info) -> list[Staff]:
        rows = await StaffByIdLoader(info.context).load_many(self.teacher_ids)
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
            id=node_id(row.id), name=row.name, category=TrainingCategory(row.category),
            subject=Subject(row.subject) if row.subject else None, grades=[Grade(g) for g in row.grades],
            class_hours=row.class_hours, description=row.description, version=row.version, row_id=row.id,
        )

    @strawberry.field(description="班级")
    async def classes(self, info: Info) -> list[TrainingClass]:
        return [TrainingClass.from_row(r) for r in await ClassesByCourseLoader(info.context).load(self.row_id)]


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
    institution_key: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: SiteRow) -> Site:
        return cls(
            id=node_id(row.id), type=SiteTypeEnum(row.type), name=row.name, address=row.address, teaching_area=row.teaching_area,
            system_type=SystemTypeEnum(row.system_type) if row.system_type else None, url=row.url, icp_filing=row.icp_filing,
            version=row.version, row_id=row.id, institution_key=row.institution_id,
        )

    @strawberry.field(description=ON_RECORD)
    async def findings(self, info: Info) -> list[Finding]:
        return await findings_on(info, self.institution_key, self.row_id)

    @strawberry.field(description="培训课程")
    async def courses(self, info: Info) -> list[Course]:
        return [Course.from_row(r) for r in await CoursesBySiteLoader(info.context).load(self.row_id)]


@strawberry.input(description="办学点 (offline institutions: name, address, teachingArea) or 业务系统 (online: name, systemType, url, icpFiling); the type follows the institution's mode.")
class SiteInput:
    name: str | None = editable("名称 *")
    address: str | None = editable("办学点地址 * (offline)")
    teaching_area: Decimal | None = editable("教学面积（平方米）* (offline)")
    system_type: SystemType | None = editable("系统类型 * (online)")
    url: str | None = editable("访问地址 * (online)")
    icp_filing: str | None = editable("ICP 备案号 * (online)")


@strawberry.input(description="培训课程. SUBJECT courses need a subject (and a subject institution).")
class CourseInput:
    name: str | None = editable("课程名称 *")
    category: TrainingCategory | None = editable("培训类别 *")
    subject: Subject | None = editable("学科 (学科类 *)")
    grades: list[Grade] | None = editable("适用学段 *")
    class_hours: int | None = editable("总课时 *")
    description: str | None = editable("课程简介 (at most 1,000 characters)")


@strawberry.input
class ClassSessionInput:
    weekday: int = strawberry.field(description="1 (Monday) to 7 (Sunday)")
    start: str = strawberry.field(description="HH:MM")
    end: str = strawberry.field(description="HH:MM")


@strawberry.input(description="班级. Online institutions state lessonMinutes and breakMinutes. Editing a filed class sends it back to NOT_FILED (except enrolled).")
class TrainingClassInput:
    name: str | None = editable("班级名称 * (学科类: 年级+学科+培训班)")
    schedule: list[ClassSessionInput] | None = editable("上课时间 *")
    starts_on: dt.date | None = editable("开班日期 *")
    ends_on: dt.date | None = editable("结班日期 *")
    capacity: int | None = editable("班额 *")
    enrolled: int | None = editable("在读人数")
    fee: Decimal | None = editable("每次收费金额（元）*")
    fee_months: int | None = editable("每次收费覆盖月数 (this or feeClassHours *)")
    fee_class_hours: int | None = editable("每次收费覆盖课时")
    lesson_minutes: int | None = editable("每课时长（分钟）(online *)")
    break_minutes: int | None = editable("课间休息（分钟）(online *)")
    teacher_ids: list[strawberry.ID] | None = editable("授课教师: active staff of the institution *")


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


async def _class_payload(info: Info, result) -> TrainingClassPayload:
    row, errors = result
    if row is None:
        return TrainingClassPayload(training_class=None, findings=[], errors=user_errors(errors))
    findings = await FindingsByInstitutionLoader(info.context).load(row.institution_id)
    return TrainingClassPayload(
        training_class=TrainingClass.from_row(row),
        findings=[Finding.from_row(f) for f in findings if f.concerns(row.id)],
        errors=[],
    )


_OWN = allow(InstitutionUser())


@strawberry.type
class SiteMutation:
    @strawberry.mutation(description="创建办学点/业务系统 (the manual's 创建办学点: then add courses, then classes)", extensions=_OWN)
    async def create_site(self, info: Info, input: SiteInput) -> SitePayload:
        row, errors = await records.create(info, sites.SITE, input_data(input))
        return SitePayload(site=Site.from_row(row) if row else None, errors=user_errors(errors))

    @strawberry.mutation(description="编辑办学点/业务系统", extensions=_OWN)
    async def update_site(self, info: Info, id: strawberry.ID, version: int, input: SiteInput) -> SitePayload:
        row, errors = await records.update(info, sites.SITE, id, version, input_data(input))
        return SitePayload(site=Site.from_row(row) if row else None, errors=user_errors(errors))

    @strawberry.mutation(description="删除办学点/业务系统 (without courses)", extensions=_OWN)
    async def delete_site(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return deleted_payload(await records.delete(info, sites.SITE, id))

    @strawberry.mutation(description="创建培训课程 at a site or business system", extensions=_OWN)
    async def create_course(self, info: Info, site_id: strawberry.ID, input: CourseInput) -> CoursePayload:
        row, errors = await records.create(info, sites.COURSE, input_data(input), site_id)
        return CoursePayload(course=Course.from_row(row) if row else None, errors=user_errors(errors))

    @strawberry.mutation(description="编辑培训课程", extensions=_OWN)
    async def update_course(self, info: Info, id: strawberry.ID, version: int, input: CourseInput) -> CoursePayload:
        row, errors = await records.update(info, sites.COURSE, id, version, input_data(input))
        return CoursePayload(course=Course.from_row(row) if row else None, errors=user_errors(errors))

    @strawberry.mutation(description="删除培训课程 (without classes)", extensions=_OWN)
    async def delete_course(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return deleted_payload(await records.delete(info, sites.COURSE, id))

    @strawberry.mutation(description="创建班级 in a course; the payload lists the class's findings", extensions=_OWN)
    async def create_training_class(self, info: Info, course_id: strawberry.ID, input: TrainingClassInput) -> TrainingClassPayload:
        return await _class_payload(info, await records.create(info, sites.CLASS, input_data(input), course_id))

    @strawberry.mutation(description="编辑班级", extensions=_OWN)
    async def update_training_class(self, info: Info, id: strawberry.ID, version: int, input: TrainingClassInput) -> TrainingClassPayload:
        return await _class_payload(info, await records.update(info, sites.CLASS, id, version, input_data(input)))

    @strawberry.mutation(description="删除班级", extensions=_OWN)
    async def delete_training_class(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return deleted_payload(await records.delete(info, sites.CLASS, id))
