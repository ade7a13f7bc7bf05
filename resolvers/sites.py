"""Sites or business systems, their courses and classes (办学点/业务系统 → 培训课程 → 班级,
docs/DOMAIN.md §P8). The type of a site follows the institution's mode; a subject class
is to be filed (学科类培训班备案), and a filed class that changes is to be filed again."""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import ErrorCode, FieldError
from core.ids import parse_id
from models import Course, FilingStatus, Grade, Kind, Mode, Site, SiteType, Staff, StaffStatus, Subject, SystemType, TrainingCategory, TrainingClass
from resolvers import class_times
from resolvers.forms import Form
from resolvers.records import Owner, Record, Refused

_ICP = re.compile(r"^.{1,6}ICP(备|证)[0-9]{4,12}号(-[0-9]+)?$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
MAX_AMOUNT = Decimal("99999999.99")
#: The most sites, courses and classes one institution keeps, and per class its weekly
#: sessions and teachers (``resolvers.records.Record.most``; the query limits count by them).
MAX_SITES = 20
MAX_COURSES = 100
MAX_CLASSES = 200
MAX_SESSIONS = class_times.MAX_SESSIONS
MAX_TEACHERS = 5


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


def subject_fields(form: Form, owner: Owner) -> None:
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
    subject_fields(form, owner)
    form.integer("class_hours", "总课时", 1, 10000)
    form.text("description", "课程简介", 1000, required=False, lines=True)


def check_class(form: Form, owner: Owner) -> None:
    form.text("name", "班级名称", 100)
    schedule = form.data.get("schedule") or []
    sessions, problems = class_times.check_sessions(schedule, "schedule")
    for key, code, message in problems:
        form.error(key, code, message)
    if not schedule:
        form.error("schedule", ErrorCode.REQUIRED, "请填写上课时间（星期、开始和结束时间）")
    form.values["schedule"] = sessions
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


def _filing_of_new_class(course: Course) -> dict[str, Any]:
    return {"filing_status": FilingStatus.NOT_FILED if course.subject else FilingStatus.NOT_REQUIRED}


async def _refile_changed_class(db: AsyncSession, row: TrainingClass, changed: dict) -> None:
    if not set(changed) - {"enrolled"}:
        return
    if row.filing_status == FilingStatus.PENDING:
        # The reviewer decides on what was submitted.
        raise Refused(FieldError("id", ErrorCode.NOT_ALLOWED, "该班级备案审核中，审核结束前只能修改在读人数"))
    if row.filing_status in (FilingStatus.FILED, FilingStatus.REJECTED):
        # A filed class that changes must be filed again (学科类培训班备案).
        changed["filing_status"] = [row.filing_status, FilingStatus.NOT_FILED.value]
        row.filing_status = FilingStatus.NOT_FILED


async def _refile_classes(db: AsyncSession, course: Course, changed: dict) -> None:
    if "subject" not in changed:
        return
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


SITE = Record(Site, "办学点/业务系统", check_site, children=((Course, "site_id", "培训课程"),), most=MAX_SITES)
COURSE = Record(
    Course, "培训课程", check_course, parent=Site, parent_key="site_id", children=((TrainingClass, "course_id", "班级"),),
    after_update=_refile_classes, most=MAX_COURSES,
)
async def _under_review(db: AsyncSession, row: TrainingClass) -> FieldError | None:
    """A class whose filing (备案) is being reviewed keeps its application: not deleted until decided."""
    if row.filing_status == FilingStatus.PENDING:
        return FieldError("id", ErrorCode.HAS_DEPENDENTS, "该班级有待审核的备案申请，审核结束前不能删除")
    return None


CLASS = Record(
    TrainingClass, "班级", check_class, parent=Course, parent_key="course_id",
    check_more=_check_teachers, defaults=_filing_of_new_class, after_update=_refile_changed_class, in_use=_under_review,
    most=MAX_CLASSES,
)


def class_end(schedule: list[dict]) -> time | None:
    """The latest end time of a class's weekly schedule."""
    ends = [s["end"] for s in schedule]
    return time.fromisoformat(max(ends)) if ends else None
