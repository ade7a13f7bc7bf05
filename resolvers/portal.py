"""The institution portal's own data (seed 001 §6 人员管理, §7 材料管理, §8 课程管理): staff,
sites and business systems, courses, classes and training materials.

Who writes: the institution's own account (培训机构用户), on its own institution only; a
deregistered institution (已注销) is read-only. Regulators read through ``auth.scope``.
Every record carries a version: an edit names the version it was based on, and an older
one is refused (CONFLICT). Every mutation writes an audit record in its transaction.

The regulations' rules (class end times, fee periods, certificates, area per student …) are
not refused here: a record that breaks one is saved and shows up as a finding
(``resolvers.findings``), as DOMAIN.md asks. What is refused is what cannot be true: a
missing required field, an invalid ID number, a schedule that ends before it starts, a
teacher who is not active staff of the same institution.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from auth.scope import scope
from auth.viewer import Viewer
from models import (
    Course,
    Employment,
    FilingStatus,
    Gender,
    Grade,
    Institution,
    Kind,
    Material,
    MaterialReview,
    MaterialType,
    Mode,
    Post,
    Site,
    SiteType,
    Staff,
    StaffStatus,
    Subject,
    SystemType,
    TrainingCategory,
    TrainingClass,
)
from resolvers import audit
from resolvers.forms import Form
from resolvers.institutions import parse_id, sees_personal_data
from resolvers.registration import FieldError
from schema.errors import ErrorCode

_TEACHER_CERTIFICATE = re.compile(r"^[0-9A-Z]{8,30}$")
_ICP = re.compile(r"^.{1,6}ICP(备|证)[0-9]{4,12}号(-[0-9]+)?$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
MAX_AMOUNT = Decimal("99999999.99")
#: The most records of each kind one institution keeps, and per class its weekly sessions
#: and teachers: refused beyond (NOT_ALLOWED), and the query limits count the nested lists
#: by them (``schema/limits.py``).
MAX_SITES = 20
MAX_COURSES = 100
MAX_CLASSES = 200
MAX_STAFF = 500
MAX_MATERIALS = 200
MAX_SESSIONS = 10
MAX_TEACHERS = 5


def sees_staff_personal_data(viewer: Viewer | None, institution_id: uuid.UUID) -> bool:
    """A staff member's ID number and phone: shown to the institution itself and to the
    county desk that keeps its record; masked for everyone else."""
    if viewer is None:
        return False
    if viewer.is_institution:
        return viewer.institution_id == institution_id
    return sees_personal_data(viewer)


def mask_certificate(number: str | None) -> str | None:
    if not number:
        return number
    return number[:4] + "*" * max(len(number) - 8, 0) + number[-4:] if len(number) > 8 else "*" * len(number)


# --- forms ----------------------------------------------------------------------------


@dataclass
class Owner:
    """The institution being written to, locked for the transaction."""

    institution: Institution
    db: AsyncSession


def check_staff(form: Form, owner: Owner) -> None:
    form.text("name", "姓名", 50)
    form.choice("gender", "性别", Gender)
    form.resident_id("id_number", "身份证号")
    form.mobile("phone", "手机号")
    post = form.choice("post", "岗位", Post)
    form.choice("employment", "用工形式（专职/兼职）", Employment)
    subjects = form.choices("subjects", "任教学科", Subject)
    certificate = form.text(
        "teacher_certificate_number", "教师资格证编号", 30, required=False, pattern=_TEACHER_CERTIFICATE,
        hint="教师资格证编号应为 8 到 30 位数字或大写字母",
    )
    if post == Post.TEACHING and subjects and not certificate and not form.has_error("teacher_certificate_number"):
        form.error("teacher_certificate_number", ErrorCode.REQUIRED, "学科类教师须填写教师资格证编号（校外培训机构从业人员管理办法（试行））")
    form.integer("years_in_education", "从事教育工作年限", 0, 80, required=False)
    form.day("joined_on", "入职日期", not_after_today=True)


def check_site(form: Form, owner: Owner) -> None:
    form.values["type"] = SiteType.BUSINESS_SYSTEM.value if owner.institution.mode == Mode.ONLINE else SiteType.SITE.value
    if owner.institution.mode == Mode.ONLINE:
        form.text("name", "业务系统名称", 100)
        form.choice("system_type", "系统类型", SystemType)
        form.text("url", "访问地址", 300, pattern=_URL, hint="访问地址应以 http:// 或 https:// 开头")
        form.text("icp_filing", "ICP 备案号", 50, pattern=_ICP, hint="ICP 备案号格式如：京ICP备12345678号")
        for key in ("address", "teaching_area"):
            form.values[key] = None
    else:
        form.text("name", "办学点名称", 100)
        form.text("address", "办学点地址", 300)
        form.amount("teaching_area", "教学面积（平方米）", Decimal("0.01"), MAX_AMOUNT)
        for key in ("system_type", "url", "icp_filing"):
            form.values[key] = None


def _subject_fields(form: Form, owner: Owner) -> None:
    category = form.choice("category", "培训类别", TrainingCategory)
    if category == TrainingCategory.SUBJECT and owner.institution.kind != Kind.SUBJECT:
        form.error("category", ErrorCode.INVALID, "非学科类机构不能开设学科类课程")
    if category == TrainingCategory.SUBJECT:
        form.choice("subject", "学科", Subject)
    else:
        form.values["subject"] = None
    form.choices("grades", "适用学段", Grade, required=True)


def check_course(form: Form, owner: Owner) -> None:
    form.text("name", "课程名称", 100)
    _subject_fields(form, owner)
    form.integer("class_hours", "总课时", 1, 10000)
    form.text("description", "课程简介", 1000, required=False, lines=True)


def check_material(form: Form, owner: Owner) -> None:
    form.text("name", "材料名称", 200)
    _subject_fields(form, owner)
    form.choice("type", "材料类型", MaterialType)
    form.text("author", "编写人员", 100)
    form.text("publisher", "出版单位", 100, required=False)
    form.text("edition", "版次", 50, required=False)
    form.integer("author_years_in_education", "编写人员从事教育工作年限", 0, 80)
    form.text(
        "author_certificate_number", "编写人员教师资格证编号", 30, required=False, pattern=_TEACHER_CERTIFICATE,
        hint="教师资格证编号应为 8 到 30 位数字或大写字母",
    )
    form.values["review"] = form.choice("review", "审核状态", MaterialReview, required=False) or MaterialReview.NOT_REVIEWED.value


def _minutes(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def check_class(form: Form, owner: Owner) -> None:
    form.text("name", "班级名称", 100)
    sessions = []
    schedule = form.data.get("schedule") or []
    if len(schedule) > MAX_SESSIONS:
        form.error("schedule", ErrorCode.NOT_ALLOWED, f"每个班级每周最多 {MAX_SESSIONS} 次课")
        schedule = []
    for index, session in enumerate(schedule):
        key = f"schedule.{index}"
        weekday, start, end = session.get("weekday"), session.get("start") or "", session.get("end") or ""
        if not isinstance(weekday, int) or not 1 <= weekday <= 7:
            form.error(f"{key}.weekday", ErrorCode.INVALID, "星期应为 1（周一）到 7（周日）")
            continue
        if not _TIME.match(start) or not _TIME.match(end):
            form.error(key, ErrorCode.INVALID, "上课时间格式应为 HH:MM（24 小时制）")
            continue
        if _minutes(end) <= _minutes(start):
            form.error(f"{key}.end", ErrorCode.INVALID, "下课时间应晚于上课时间")
            continue
        sessions.append({"weekday": weekday, "start": start, "end": end})
    if not schedule and not form.has_error("schedule"):
        form.error("schedule", ErrorCode.REQUIRED, "请填写上课时间（星期、开始和结束时间）")
    form.values["schedule"] = sorted(sessions, key=lambda s: (s["weekday"], s["start"]))
    starts = form.day("starts_on", "开班日期")
    ends = form.day("ends_on", "结班日期")
    if starts and ends and ends < starts:
        form.error("ends_on", ErrorCode.INVALID, "结班日期不能早于开班日期")
    capacity = form.integer("capacity", "班额", 1, 10000)
    enrolled = form.integer("enrolled", "在读人数", 0, 10000, required=False)
    form.values["enrolled"] = enrolled or 0
    if capacity is not None and enrolled is not None and enrolled > capacity:
        form.error("enrolled", ErrorCode.INVALID, "在读人数不能超过班额")
    form.amount("fee", "每次收费金额（元）", Decimal("0"), MAX_AMOUNT)
    months = form.integer("fee_months", "每次收费覆盖月数", 1, 120, required=False)
    hours = form.integer("fee_class_hours", "每次收费覆盖课时", 1, 10000, required=False)
    if months is None and hours is None and not form.has_error("fee_months") and not form.has_error("fee_class_hours"):
        form.error("fee_months", ErrorCode.REQUIRED, "请填写每次收费覆盖的月数或课时数")
    online = owner.institution.mode == Mode.ONLINE
    form.integer("lesson_minutes", "每课时长（分钟）", 1, 600, required=online)
    form.integer("break_minutes", "课间休息（分钟）", 0, 600, required=online)


# --- the records ----------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    model: type
    label: str
    check: Callable[[Form, Owner], None]
    #: The parent's model and the foreign key to it (courses under sites, classes under courses).
    parent: type | None = None
    parent_key: str | None = None
    #: (model, foreign key, label) of the children that keep a record from being deleted.
    children: tuple[tuple[type, str, str], ...] = ()
    #: The most of them one institution keeps.
    most: int = 0


STAFF = Record(Staff, "从业人员", check_staff, most=MAX_STAFF)
SITE = Record(Site, "办学点/业务系统", check_site, children=((Course, "site_id", "培训课程"),), most=MAX_SITES)
COURSE = Record(Course, "培训课程", check_course, parent=Site, parent_key="site_id", children=((TrainingClass, "course_id", "班级"),), most=MAX_COURSES)
CLASS = Record(TrainingClass, "班级", check_class, parent=Course, parent_key="course_id", most=MAX_CLASSES)
MATERIAL = Record(Material, "培训材料", check_material, most=MAX_MATERIALS)


class Refused(Exception):
    def __init__(self, *errors: FieldError) -> None:
        self.errors = list(errors)


def not_found(label: str, key: str = "id") -> Refused:
    return Refused(FieldError(key, ErrorCode.NOT_FOUND, f"{label}不存在"))


async def owner_of(db: AsyncSession, viewer: Viewer) -> Owner:
    """The caller's institution, locked; refused when it has been deregistered."""
    institution = (
        await db.execute(sa.select(Institution).where(Institution.id == viewer.institution_id).with_for_update())
    ).scalar_one_or_none()
    if institution is None:
        raise not_found("培训机构")
    if institution.deregistered_at is not None:
        raise Refused(DEREGISTERED)
    return Owner(institution, db)


DEREGISTERED = FieldError(None, ErrorCode.NOT_ALLOWED, "机构已注销，信息只读")


async def deregistered(db: AsyncSession, institution_id: uuid.UUID | None) -> bool:
    """Whether the institution has been deregistered (注销): its data is read-only."""
    return bool(
        (await db.execute(sa.select(Institution.deregistered_at.is_not(None)).where(Institution.id == institution_id))).scalar()
    )


async def _own(db: AsyncSession, viewer: Viewer, model: type, record_id: Any, label: str, key: str = "id"):
    """A row of the caller's institution, locked; missing and foreign rows read alike."""
    parsed = parse_id(record_id)
    row = (
        await db.execute(
            sa.select(model).where(model.id == parsed, scope(viewer, model)).with_for_update()
        )
    ).scalar_one_or_none() if parsed else None
    if row is None:
        raise not_found(label, key)
    return row


async def _check_teachers(owner: Owner, form: Form, course: Course) -> None:
    ids = [parse_id(i) for i in form.data.get("teacher_ids") or []]
    if not ids:
        form.error("teacher_ids", ErrorCode.REQUIRED, "请选择授课教师")
        form.values["teacher_ids"] = []
        return
    if None in ids:
        form.error("teacher_ids", ErrorCode.NOT_FOUND, "授课教师须是本机构的在职人员")
        return
    ids = list(dict.fromkeys(ids))
    if len(ids) > MAX_TEACHERS:
        form.error("teacher_ids", ErrorCode.NOT_ALLOWED, f"每个班级最多 {MAX_TEACHERS} 名授课教师")
        return
    active = set(
        (
            await owner.db.execute(
                sa.select(Staff.id).where(
                    Staff.id.in_(ids), Staff.institution_id == owner.institution.id, Staff.status == StaffStatus.ACTIVE
                )
            )
        ).scalars()
    )
    if set(ids) - active:
        form.error("teacher_ids", ErrorCode.NOT_FOUND, "授课教师须是本机构的在职人员")
    form.values["teacher_ids"] = ids


async def _values(record: Record, owner: Owner, data: dict[str, Any], parent: Any, today: date) -> dict[str, Any]:
    form = Form(data, today=today)
    record.check(form, owner)
    if record is CLASS:
        await _check_teachers(owner, form, parent)
    if form.errors:
        raise Refused(*form.errors)
    return form.values


def _mutation(record: Record, verb: str) -> str:
    return f"{verb}{record.model.__name__}"


async def _commit(db: AsyncSession, record: Record, *, flush_only: bool = False) -> None:
    try:
        await (db.flush() if flush_only else db.commit())
    except IntegrityError as error:
        await db.rollback()
        if "uq_staff_institution_id_number" in str(error):
            raise Refused(FieldError("id_number", ErrorCode.DUPLICATE, "本机构已有该身份证号的从业人员")) from None
        raise


async def create(info, record: Record, data: dict[str, Any], parent_id: Any = None) -> tuple[Any, list[FieldError]]:
    ctx = info.context
    try:
        async with ctx.sessionmaker() as db:
            owner = await owner_of(db, ctx.viewer)  # locked: the count below holds until commit
            kept = (await db.execute(sa.select(sa.func.count()).where(record.model.institution_id == owner.institution.id))).scalar_one()
            if kept >= record.most:
                raise Refused(FieldError(None, ErrorCode.NOT_ALLOWED, f"每个机构最多 {record.most} 个{record.label}"))
            parent = None
            extra: dict[str, Any] = {}
            if record.parent is not None:
                parent = await _own(db, ctx.viewer, record.parent, parent_id, "上级" + ("办学点/业务系统" if record.parent is Site else "培训课程"), record.parent_key)
                extra[record.parent_key] = parent.id
            values = await _values(record, owner, data, parent, ctx.now.date())
            if record is CLASS:
                extra["filing_status"] = FilingStatus.NOT_FILED if parent.subject else FilingStatus.NOT_REQUIRED
            row = record.model(**values, **extra, institution_id=owner.institution.id, created_at=ctx.now, updated_at=ctx.now)
            db.add(row)
            await _commit(db, record, flush_only=True)
            audit.record(
                db, ctx, _mutation(record, "create"), record.model.__name__, row.id, owner.institution.region_code,
                changed=audit.changes(None, audit.values_of(row, list(values))),
            )
            await _commit(db, record)
            return row, []
    except Refused as refused:
        return None, refused.errors


async def update(info, record: Record, record_id: Any, version: int, data: dict[str, Any]) -> tuple[Any, list[FieldError]]:
    ctx = info.context
    try:
        async with ctx.sessionmaker() as db:
            owner = await owner_of(db, ctx.viewer)
            row = await _own(db, ctx.viewer, record.model, record_id, record.label)
            if version != row.version:
                raise Refused(FieldError("version", ErrorCode.CONFLICT, f"该{record.label}已被修改，请刷新后重新编辑"))
            parent = None
            if record.parent is not None:
                parent = (await db.execute(sa.select(record.parent).where(record.parent.id == getattr(row, record.parent_key)))).scalar_one()
            values = await _values(record, owner, data, parent, ctx.now.date())
            if record is STAFF and row.status == StaffStatus.DEPARTED and row.departed_on and values["joined_on"] > row.departed_on:
                raise Refused(FieldError("joined_on", ErrorCode.INVALID, "入职日期不能晚于离职日期"))
            before = audit.values_of(row, list(values))
            for key, value in values.items():
                setattr(row, key, value)
            after = audit.values_of(row, list(values))
            changed = audit.changes(before, after)
            if record is CLASS and set(changed) - {"enrolled"}:
                if row.filing_status == FilingStatus.PENDING:
                    # The reviewer decides on what was submitted.
                    raise Refused(FieldError("id", ErrorCode.NOT_ALLOWED, "该班级备案审核中，审核结束前只能修改在读人数"))
                if row.filing_status in (FilingStatus.FILED, FilingStatus.REJECTED):
                    # A filed class that changes must be filed again (学科类培训班备案).
                    changed["filing_status"] = [row.filing_status, FilingStatus.NOT_FILED.value]
                    row.filing_status = FilingStatus.NOT_FILED
            if record is COURSE and "subject" in changed:
                await _refile_classes(db, row, changed)
            row.version += 1
            row.updated_at = ctx.now
            audit.record(db, ctx, _mutation(record, "update"), record.model.__name__, row.id, owner.institution.region_code, changed=changed)
            await _commit(db, record)
            return row, []
    except Refused as refused:
        return None, refused.errors


async def _refile_classes(db: AsyncSession, course: Course, changed: dict) -> None:
    """A course that becomes a subject course (or stops being one) takes its classes with
    it: they are to be filed (NOT_FILED), or need no filing (NOT_REQUIRED). Not while a
    class's filing is being reviewed."""
    classes = (await db.execute(sa.select(TrainingClass).where(TrainingClass.course_id == course.id).with_for_update())).scalars().all()
    if any(c.filing_status == FilingStatus.PENDING for c in classes):
        raise Refused(FieldError("subject", ErrorCode.NOT_ALLOWED, "该课程有班级正在备案审核，审核结束前不能更改学科"))
    for c in classes:
        # A new subject (or a subject course at last): filed again; no subject: no filing.
        wanted = FilingStatus.NOT_FILED if course.subject else FilingStatus.NOT_REQUIRED
        if c.filing_status != wanted:
            c.filing_status = wanted
            c.version += 1
    if classes:
        changed["classes.filing_status"] = [None, sorted({c.filing_status.value if hasattr(c.filing_status, "value") else c.filing_status for c in classes})]


async def delete(info, record: Record, record_id: Any) -> tuple[uuid.UUID | None, list[FieldError]]:
    ctx = info.context
    try:
        async with ctx.sessionmaker() as db:
            owner = await owner_of(db, ctx.viewer)
            row = await _own(db, ctx.viewer, record.model, record_id, record.label)
            for model, key, label in record.children:
                count = (await db.execute(sa.select(sa.func.count()).select_from(model).where(getattr(model, key) == row.id))).scalar_one()
                if count:
                    raise Refused(FieldError("id", ErrorCode.HAS_DEPENDENTS, f"该{record.label}下还有 {count} 个{label}，请先删除"))
            if record is STAFF:
                classes = (
                    await db.execute(sa.select(TrainingClass.name).where(TrainingClass.teacher_ids.contains([row.id])).order_by(TrainingClass.name))
                ).scalars().all()
                if classes:
                    raise Refused(FieldError("id", ErrorCode.HAS_DEPENDENTS, f"该人员是班级“{'、'.join(classes[:5])}”的授课教师，请先调整班级教师"))
            audit.record(db, ctx, _mutation(record, "delete"), record.model.__name__, row.id, owner.institution.region_code, snapshot=audit.values_of(row))
            await db.delete(row)
            await db.commit()
            return row.id, []
    except Refused as refused:
        return None, refused.errors


async def move_staff(info, staff_id: Any, version: int, status: StaffStatus, on: date | None) -> tuple[Staff | None, list[FieldError]]:
    """在职 → 离职 (with the departure date) and 离职 → 在职 (with the new joining date)."""
    ctx = info.context
    try:
        async with ctx.sessionmaker() as db:
            owner = await owner_of(db, ctx.viewer)
            row = await _own(db, ctx.viewer, Staff, staff_id, "从业人员")
            if version != row.version:
                raise Refused(FieldError("version", ErrorCode.CONFLICT, "该从业人员已被修改，请刷新后重新操作"))
            if row.status == status:
                raise Refused(FieldError("id", ErrorCode.NOT_ALLOWED, "该人员已是" + ("在职" if status == StaffStatus.ACTIVE else "离职") + "状态"))
            label = "离职日期" if status == StaffStatus.DEPARTED else "入职日期"
            if on is None:
                raise Refused(FieldError("on", ErrorCode.REQUIRED, f"请填写{label}"))
            if on > ctx.now.date():
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


# --- reading --------------------------------------------------------------------------


def staff_condition(viewer: Viewer | None, institution_id: uuid.UUID, status: str | None) -> sa.ColumnElement[bool]:
    condition = sa.and_(Staff.institution_id == institution_id, scope(viewer, Staff))
    if status is not None:
        condition = sa.and_(condition, Staff.status == status)
    return condition


def class_end(schedule: list[dict]) -> time | None:
    """The latest end time of a class's weekly schedule."""
    ends = [s["end"] for s in schedule]
    return time.fromisoformat(max(ends)) if ends else None
