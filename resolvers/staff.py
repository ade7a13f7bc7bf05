"""An institution's staff (从业人员, docs/DOMAIN.md §P6): created, edited, deleted, and moved
between active (在职) and departed (离职) both ways, with dates."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from auth.scope import scope
from auth.viewer import Viewer
from core.clock import today
from core.errors import ErrorCode, FieldError
from models import Employment, Gender, Post, Staff, StaffStatus, Subject, TrainingClass
from resolvers import audit
from resolvers.forms import Form
from resolvers.records import Owner, Record, Refused, own, owner_of

#: The most staff one institution keeps (``resolvers.records.Record.most``).
MAX_STAFF = 500
#: A teacher qualification certificate number (教师资格证编号).
TEACHER_CERTIFICATE = re.compile(r"^[0-9A-Z]{8,30}$")


def check_staff(form: Form, owner: Owner) -> None:
    form.text("name", "姓名", 50)
    form.choice("gender", "性别", Gender)
    form.resident_id("id_number", "身份证号")
    form.mobile("phone", "手机号")
    post = form.choice("post", "岗位", Post)
    form.choice("employment", "用工形式（专职/兼职）", Employment)
    subjects = form.choices("subjects", "任教学科", Subject)
    certificate = form.text(
        "teacher_certificate_number", "教师资格证编号", 30, required=False, pattern=TEACHER_CERTIFICATE,
        hint="教师资格证编号应为 8 到 30 位数字或大写字母",
    )
    if post == Post.TEACHING and subjects and not certificate and not form.has_error("teacher_certificate_number"):
        form.error("teacher_certificate_number", ErrorCode.REQUIRED, "学科类教师须填写教师资格证编号（校外培训机构从业人员管理办法（试行））")
    form.integer("years_in_education", "从事教育工作年限", 0, 80, required=False)
    form.day("joined_on", "入职日期", not_after_today=True)


def _joined_before_departure(row: Staff, values: dict[str, Any]) -> None:
    if row.status == StaffStatus.DEPARTED and row.departed_on and values["joined_on"] > row.departed_on:
        raise Refused(FieldError("joined_on", ErrorCode.INVALID, "入职日期不能晚于离职日期"))


async def _teaching(db: AsyncSession, row: Staff) -> FieldError | None:
    classes = (
        await db.execute(sa.select(TrainingClass.name).where(TrainingClass.teacher_ids.contains([row.id])).order_by(TrainingClass.name))
    ).scalars().all()
    if classes:
        return FieldError("id", ErrorCode.HAS_DEPENDENTS, f"该人员是班级“{'、'.join(classes[:5])}”的授课教师，请先调整班级教师")
    return None


STAFF = Record(
    Staff, "从业人员", check_staff,
    before_update=_joined_before_departure,
    in_use=_teaching,
    duplicates={"uq_staff_institution_id_number": FieldError("id_number", ErrorCode.DUPLICATE, "本机构已有该身份证号的从业人员")},
    most=MAX_STAFF,
)


async def move_staff(info, staff_id: Any, version: int, status: StaffStatus, on: date | None) -> tuple[Staff | None, list[FieldError]]:
    """在职 → 离职 (with the departure date) and 离职 → 在职 (with the new joining date);
    a date left out is today (Beijing)."""
    ctx = info.context
    try:
        async with ctx.sessionmaker() as db:
            owner = await owner_of(db, ctx.viewer)
            row = await own(db, ctx.viewer, Staff, staff_id, "从业人员")
            if version != row.version:
                raise Refused(FieldError("version", ErrorCode.CONFLICT, "该从业人员已被修改，请刷新后重新操作"))
            if row.status == status:
                raise Refused(FieldError("id", ErrorCode.NOT_ALLOWED, "该人员已是" + ("在职" if status == StaffStatus.ACTIVE else "离职") + "状态"))
            label = "离职日期" if status == StaffStatus.DEPARTED else "入职日期"
            on = on or today(ctx.now)  # left out: today, as the schema says
            if on > today(ctx.now):
                raise Refused(FieldError("on", ErrorCode.INVALID, f"{label}不能晚于今天"))
            before = audit.values_of(row, ["status", "joined_on", "departed_on"])
            if status == StaffStatus.DEPARTED:
                if on < row.joined_on:
                    raise Refused(FieldError("on", ErrorCode.INVALID, "离职日期不能早于入职日期"))
                row.departed_on = on
            else:
                if row.departed_on and on < row.departed_on:
                    raise Refused(FieldError("on", ErrorCode.INVALID, "重新入职日期不能早于离职日期"))
                row.joined_on, row.departed_on = on, None
            row.status = status
            row.version += 1
            row.updated_at = ctx.now
            audit.record(
                db, ctx, "markStaffDeparted" if status == StaffStatus.DEPARTED else "markStaffActive", "Staff", row.id,
                owner.institution.region_code, changed=audit.changes(before, audit.values_of(row, list(before))),
            )
            await db.commit()
            return row, []
    except Refused as refused:
        return None, refused.errors


def staff_condition(viewer: Viewer | None, institution_id: uuid.UUID, status: str | None) -> sa.ColumnElement[bool]:
    condition = sa.and_(Staff.institution_id == institution_id, scope(viewer, Staff))
    if status is not None:
        condition = sa.and_(condition, Staff.status == status)
    return condition
