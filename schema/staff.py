"""Staff (从业人员, docs/DOMAIN.md §P6): active and departed, moved both ways."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import strawberry

from auth.permissions import InstitutionUser, allow
from auth.roles import sees_institution_personal_data
from core.masking import mask_certificate, mask_id_number, mask_phone
from models import Employment as EmploymentEnum
from models import Gender as GenderEnum
from models import Post as PostEnum
from models import Staff as StaffRow
from models import StaffStatus as StaffStatusEnum
from resolvers import records, staff
from schema.context import Info, note_personal_read
from schema.enums import Subject
from schema.errors import UserError, user_errors
from schema.fields import editable, node_id
from schema.findings import ON_RECORD, Finding, findings_on
from schema.records import DeletePayload, deleted_payload, input_data
from schema.relay import Node

Gender = strawberry.enum(GenderEnum, name="Gender", description="性别: 男 MALE, 女 FEMALE.")
Post = strawberry.enum(PostEnum, name="StaffPost", description="岗位: 教学 TEACHING, 教研 RESEARCH, 管理 MANAGEMENT, 其他 OTHER.")
Employment = strawberry.enum(EmploymentEnum, name="Employment", description="用工形式: 专职 FULL_TIME, 兼职 PART_TIME.")
StaffStatus = strawberry.enum(StaffStatusEnum, name="StaffStatus", description="在职 ACTIVE, 离职 DEPARTED.")


@strawberry.type(description="从业人员. ID number, phone and certificate number are shown to the institution and its county desk, masked for others.")
class Staff(Node):
    id: strawberry.ID
    name: str = strawberry.field(description="姓名")
    gender: Gender = strawberry.field(description="性别")
    shown_id_number: strawberry.Private[str]
    read_key: strawberry.Private[tuple | None]
    phone: str = strawberry.field(description="手机号")
    post: Post = strawberry.field(description="岗位")
    employment: Employment = strawberry.field(description="用工形式（专职/兼职）")
    subjects: list[Subject] = strawberry.field(description="任教学科")
    teacher_certificate_number: str | None = strawberry.field(description="教师资格证编号")
    has_teacher_certificate: bool = strawberry.field(description="持有教师资格证")
    years_in_education: int | None = strawberry.field(description="从事教育工作年限")
    status: StaffStatus
    joined_on: dt.date = strawberry.field(description="入职日期")
    departed_on: dt.date | None = strawberry.field(description="离职日期")
    version: int
    updated_at: dt.datetime
    institution_key: strawberry.Private[uuid.UUID]
    row_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="身份证号 (an unmasked read is recorded in the audit trail)")
    def id_number(self, info: Info) -> str:
        note_personal_read(info, self.read_key, "idNumber")
        return self.shown_id_number

    @classmethod
    def from_row(cls, row: StaffRow, info: Info) -> Staff:
        full = sees_institution_personal_data(info.context.viewer, row.institution_id)
        return cls(
            id=node_id(row.id), name=row.name, gender=GenderEnum(row.gender),
            shown_id_number=row.id_number if full else mask_id_number(row.id_number),
            read_key=("Staff", row.id, None, row.institution_id) if full else None,
            phone=row.phone if full else mask_phone(row.phone),
            post=PostEnum(row.post), employment=EmploymentEnum(row.employment),
            subjects=[Subject(s) for s in row.subjects],
            teacher_certificate_number=row.teacher_certificate_number if full else mask_certificate(row.teacher_certificate_number),
            has_teacher_certificate=bool(row.teacher_certificate_number),
            years_in_education=row.years_in_education, status=StaffStatusEnum(row.status),
            joined_on=row.joined_on, departed_on=row.departed_on, version=row.version, updated_at=row.updated_at,
            institution_key=row.institution_id, row_id=row.id,
        )


    @strawberry.field(description=ON_RECORD)
    async def findings(self, info: Info) -> list[Finding]:
        return await findings_on(info, self.institution_key, self.row_id)

@strawberry.input(description="从业人员. A teaching post with subjects needs teacherCertificateNumber.")
class StaffInput:
    name: str | None = editable("姓名 *")
    gender: Gender | None = editable("性别 *")
    id_number: str | None = editable("身份证号 * (GB 11643)")
    phone: str | None = editable("手机号 *")
    post: Post | None = editable("岗位 *")
    employment: Employment | None = editable("专职/兼职 *")
    subjects: list[Subject] | None = editable("任教学科")
    teacher_certificate_number: str | None = editable("教师资格证编号 (required for subject teachers)")
    years_in_education: int | None = editable("从事教育工作年限")
    joined_on: dt.date | None = editable("入职日期 *")


@strawberry.type
class StaffPayload:
    staff: Staff | None
    errors: list[UserError]


_OWN = allow(InstitutionUser())


@strawberry.type
class StaffMutation:
    @strawberry.mutation(description="创建在职人员", extensions=_OWN)
    async def create_staff(self, info: Info, input: StaffInput) -> StaffPayload:
        row, errors = await records.create(info, staff.STAFF, input_data(input))
        return StaffPayload(staff=Staff.from_row(row, info) if row else None, errors=user_errors(errors))

    @strawberry.mutation(description="编辑在职或离职人员: only the fields sent change (null clears an optional one); the merged record is checked whole", extensions=_OWN)
    async def update_staff(self, info: Info, id: strawberry.ID, version: int, input: StaffInput) -> StaffPayload:
        row, errors = await records.update(info, staff.STAFF, id, version, input_data(input))
        return StaffPayload(staff=Staff.from_row(row, info) if row else None, errors=user_errors(errors))

    @strawberry.mutation(description="在职人员转离职 (with the departure date)", extensions=_OWN)
    async def mark_staff_departed(
        self, info: Info, id: strawberry.ID, version: int,
        departed_on: Annotated[dt.date | None, strawberry.argument(description="离职日期 (default: today, Beijing)")] = None,
    ) -> StaffPayload:
        row, errors = await staff.move_staff(info, id, version, StaffStatusEnum.DEPARTED, departed_on)
        return StaffPayload(staff=Staff.from_row(row, info) if row else None, errors=user_errors(errors))

    @strawberry.mutation(description="离职人员转在职 (with the new joining date)", extensions=_OWN)
    async def mark_staff_active(
        self, info: Info, id: strawberry.ID, version: int,
        joined_on: Annotated[dt.date | None, strawberry.argument(description="重新入职日期 (default: today, Beijing)")] = None,
    ) -> StaffPayload:
        row, errors = await staff.move_staff(info, id, version, StaffStatusEnum.ACTIVE, joined_on)
        return StaffPayload(staff=Staff.from_row(row, info) if row else None, errors=user_errors(errors))

    @strawberry.mutation(description="删除在职或离职人员 (not while teaching a class)", extensions=_OWN)
    async def delete_staff(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return deleted_payload(await records.delete(info, staff.STAFF, id))
