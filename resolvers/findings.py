"""The regulations' rules (docs/DOMAIN.md §G4), checked on an institution's data. A rule that fails
is a finding (rule id, severity, message, source, and the record it concerns), listed on the
institution for its own account and for regulators, and shown before an application is
submitted. Nothing here refuses a save or raises: findings are data. A finding is a
violation (违规: while one is open the institution is not compliant, ``resolvers.standing``)
or a warning (提示); every rule on the records is a violation.

``findings_for(db, ids)`` checks many institutions with one statement per kind of record
(institutions, sites, courses, classes, teachers, materials, funds), whatever their
number. What it finds is kept (``models.findings``): every change of an institution's
records calls ``refresh`` in its transaction, and reads go to ``stored`` (one statement).
The licence's rules depend on the day, not on the records: ``resolvers.standing`` derives
them (``LICENCE_RULES``) with the institution's standing.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import time
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Course,
    FilingStatus,
    Grade,
    Institution,
    InstitutionFinding,
    InstitutionFunds,
    Kind,
    Material,
    Mode,
    Nature,
    Severity,
    Site,
    Staff,
    TrainingClass,
)


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    source: str
    severity: Severity = Severity.VIOLATION


#: The rules on the licence (许可证须在有效期内；到期前提示), derived from the institution's
#: qualifications and the day by ``resolvers.standing``, never stored.
LICENCE_RULES = {
    rule.id: rule
    for rule in (
        Rule("LICENCE_REQUIRED", "学科类培训须取得办学许可证", "《中华人民共和国民办教育促进法》；国办发〔2018〕80号"),
        Rule("LICENCE_EXPIRED", "办学许可证须在有效期内", "《中华人民共和国民办教育促进法》；国办发〔2018〕80号"),
        Rule("LICENCE_EXPIRING", "办学许可证即将到期，请及时办理延续", "国办发〔2018〕80号", Severity.WARNING),
    )
}


RULES = {
    rule.id: rule
    for rule in (
        Rule("CLASS_END_TIME", "培训结束时间：线下不晚于 20:30，线上不晚于 21:00", "国办发〔2018〕80号；《关于进一步减轻义务教育阶段学生作业负担和校外培训负担的意见》（2021）"),
        Rule("ONLINE_LESSON_LENGTH", "线上培训每课时不超过 30 分钟，课程间隔不少于 10 分钟", "《关于进一步减轻义务教育阶段学生作业负担和校外培训负担的意见》（2021）"),
        Rule("FEE_PERIOD", "一次性收费不得超过 3 个月或 60 课时", "国办发〔2018〕80号；教监管函〔2021〕2号"),
        Rule("TEACHER_CERTIFICATE", "学科类培训教师须具有相应教师资格", "《校外培训机构从业人员管理办法（试行）》"),
        Rule("AREA_PER_STUDENT", "同一时段内生均面积不低于 3 平方米", "各地校外培训机构设置标准"),
        Rule("NON_PROFIT", "面向义务教育阶段学生的学科类培训机构须登记为非营利性机构", "教育部办公厅等三部门关于将面向义务教育阶段学生的学科类校外培训机构统一登记为非营利性机构的通知（2021）"),
        Rule("CLASS_NAME", "学科类培训班名称应为“年级+学科+培训班”", "教基厅〔2018〕8号"),
        Rule("UNFILED_ENROLMENT", "未备案的学科类培训班不得招生", "教基厅〔2018〕8号"),
        Rule("MATERIAL_AUTHOR_EXPERIENCE", "培训材料编写人员须从事相关教育工作 3 年以上", "《中小学生校外培训材料管理办法（试行）》"),
        Rule("MATERIAL_AUTHOR_CERTIFICATE", "学科类培训材料编写人员须具有相应教师资格", "《中小学生校外培训材料管理办法（试行）》"),
    )
} | LICENCE_RULES

LATEST_END = {Mode.OFFLINE.value: time(20, 30), Mode.ONLINE.value: time(21, 0)}
MAX_LESSON_MINUTES, MIN_BREAK_MINUTES = 30, 10
MAX_FEE_MONTHS, MAX_FEE_CLASS_HOURS = 3, 60
AREA_PER_STUDENT = Decimal(3)
COMPULSORY_GRADES = {Grade.PRIMARY.value, Grade.JUNIOR_SECONDARY.value}

SUBJECT_NAMES = {
    "CHINESE": ("语文",),
    "MATHEMATICS": ("数学",),
    "ENGLISH": ("英语",),
    "PHYSICS": ("物理",),
    "CHEMISTRY": ("化学",),
    "BIOLOGY": ("生物",),
    "HISTORY": ("历史",),
    "GEOGRAPHY": ("地理",),
    "MORALITY_LAW": ("道德与法治", "思想政治", "政治"),
}
_GRADE_WORDS = "一年级|二年级|三年级|四年级|五年级|六年级|七年级|八年级|九年级|初一|初二|初三|高一|高二|高三|小学|初中|高中"
_CLASS_NAME = re.compile(rf"^({_GRADE_WORDS})(?P<subject>[^\s（(]+?)培训班([（(][^）)]*[）)])?$")


@dataclass(frozen=True)
class Finding:
    rule: str
    message: str
    source: str
    record_type: str
    record_id: uuid.UUID
    record_name: str
    severity: str = Severity.VIOLATION.value

    def as_json(self) -> dict:
        return {
            "rule": self.rule, "severity": self.severity, "message": self.message, "source": self.source,
            "recordType": self.record_type, "recordId": str(self.record_id), "recordName": self.record_name,
        }


def finding(rule: str, message: str, record_type: str, record_id: uuid.UUID, record_name: str) -> Finding:
    return Finding(rule, message, RULES[rule].source, record_type, record_id, record_name, RULES[rule].severity.value)




def class_name_fits(name: str, subject: str | None) -> bool:
    match = _CLASS_NAME.match(name)
    return bool(match) and (subject is None or match.group("subject") in SUBJECT_NAMES.get(subject, ()))


def _minutes(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _site_peak(classes: list[TrainingClass]) -> int:
    """The most students a site holds at once: classes count together when their terms
    (start to end date) overlap and their sessions overlap on the same weekday. For each
    stretch of days between the terms' boundaries, a sweep per weekday over the sessions of
    the classes running then."""
    boundaries = sorted({c.starts_on for c in classes} | {c.ends_on for c in classes})
    peak = 0
    for day in boundaries:
        running = [c for c in classes if c.starts_on <= day <= c.ends_on]
        events: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for c in running:
            for s in c.schedule:
                events[s["weekday"]].append((_minutes(s["start"]), c.capacity))
                events[s["weekday"]].append((_minutes(s["end"]), -c.capacity))
        for sessions in events.values():
            current = 0
            # Ends sort before starts at the same minute: back-to-back classes do not overlap.
            for _, change in sorted(sessions, key=lambda e: (e[0], e[1])):
                current += change
                peak = max(peak, current)
    return peak


def _check_class(institution: Institution, course: Course, c: TrainingClass, teachers: dict[uuid.UUID, Staff]) -> list[Finding]:
    found: list[Finding] = []
    add = lambda rule, message: found.append(finding(rule, message, "TrainingClass", c.id, c.name))  # noqa: E731
    latest = LATEST_END[institution.mode]
    late = [s for s in c.schedule if time.fromisoformat(s["end"]) > latest]
    if late:
        add("CLASS_END_TIME", f"班级“{c.name}”的下课时间 {max(s['end'] for s in late)} 晚于 {latest:%H:%M}")
    if institution.mode == Mode.ONLINE:
        if c.lesson_minutes is not None and c.lesson_minutes > MAX_LESSON_MINUTES:
            add("ONLINE_LESSON_LENGTH", f"班级“{c.name}”每课时 {c.lesson_minutes} 分钟，超过 {MAX_LESSON_MINUTES} 分钟")
        if c.break_minutes is not None and c.break_minutes < MIN_BREAK_MINUTES:
            add("ONLINE_LESSON_LENGTH", f"班级“{c.name}”课间休息 {c.break_minutes} 分钟，少于 {MIN_BREAK_MINUTES} 分钟")
    if (c.fee_months or 0) > MAX_FEE_MONTHS or (c.fee_class_hours or 0) > MAX_FEE_CLASS_HOURS:
        covered = "、".join(x for x in (c.fee_months and f"{c.fee_months} 个月", c.fee_class_hours and f"{c.fee_class_hours} 课时") if x)
        add("FEE_PERIOD", f"班级“{c.name}”一次收费覆盖 {covered}，超过 3 个月或 60 课时")
    if course.subject:
        for teacher_id in c.teacher_ids:
            teacher = teachers.get(teacher_id)
            if teacher is not None and not teacher.teacher_certificate_number:
                add("TEACHER_CERTIFICATE", f"学科类班级“{c.name}”的授课教师{teacher.name}没有教师资格证")
        if not class_name_fits(c.name, course.subject):
            add("CLASS_NAME", f"学科类培训班“{c.name}”的名称不符合“年级+学科+培训班”（如：三年级数学培训班）")
        if c.filing_status != FilingStatus.FILED and c.enrolled > 0:
            add("UNFILED_ENROLMENT", f"学科类培训班“{c.name}”尚未备案，已招生 {c.enrolled} 人")
    return found


async def findings_for(db: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Finding]]:
    """The findings of each institution of ``ids`` (the caller has checked scope)."""
    found: dict[uuid.UUID, list[Finding]] = {i: [] for i in ids}
    if not ids:
        return found
    institutions = {i.id: i for i in (await db.execute(sa.select(Institution).where(Institution.id.in_(ids)))).scalars()}
    sites = {s.id: s for s in (await db.execute(sa.select(Site).where(Site.institution_id.in_(ids)))).scalars()}
    courses = {c.id: c for c in (await db.execute(sa.select(Course).where(Course.institution_id.in_(ids)))).scalars()}
    classes = (
        await db.execute(sa.select(TrainingClass).where(TrainingClass.institution_id.in_(ids)).order_by(TrainingClass.name, TrainingClass.id))
    ).scalars().all()
    teacher_ids = {t for c in classes for t in c.teacher_ids}
    teachers = (
        {s.id: s for s in (await db.execute(sa.select(Staff).where(Staff.id.in_(teacher_ids)))).scalars()} if teacher_ids else {}
    )
    materials = (
        await db.execute(sa.select(Material).where(Material.institution_id.in_(ids)).order_by(Material.name, Material.id))
    ).scalars().all()

    # The grades of each institution's subject courses, gathered once (not per institution: a batch holds thousands).
    subject_grades: dict[uuid.UUID, set[str]] = defaultdict(set)
    for c in courses.values():
        if c.subject:
            subject_grades[c.institution_id].update(c.grades)
    for institution in institutions.values():
        grades = set(institution.grades) | subject_grades[institution.id]
        if institution.kind == Kind.SUBJECT and institution.nature == Nature.FOR_PROFIT and (grades & COMPULSORY_GRADES or not grades):
            found[institution.id].append(
                finding("NON_PROFIT", "学科类机构仍为营利性，须完成“营转非”登记", "Institution", institution.id, institution.name)
            )
    by_site: dict[uuid.UUID, list[TrainingClass]] = defaultdict(list)
    for c in classes:
        course = courses[c.course_id]
        found[c.institution_id].extend(_check_class(institutions[c.institution_id], course, c, teachers))
        by_site[course.site_id].append(c)
    for site in sorted(sites.values(), key=lambda s: (s.name, s.id)):
        if site.teaching_area is None:
            continue
        peak = _site_peak(by_site.get(site.id, []))
        if peak and site.teaching_area / peak < AREA_PER_STUDENT:
            found[site.institution_id].append(
                finding(
                    "AREA_PER_STUDENT",
                    f"办学点“{site.name}”教学面积 {site.teaching_area} 平方米，同一时段最多 {peak} 名学生，生均不足 3 平方米",
                    "Site", site.id, site.name,
                )
            )
    for funds in (await db.execute(sa.select(InstitutionFunds).where(InstitutionFunds.institution_id.in_(ids)))).scalars():
        months, hours = funds.max_months_per_payment or 0, funds.max_class_hours_per_payment or 0
        if months > MAX_FEE_MONTHS or hours > MAX_FEE_CLASS_HOURS:
            covered = "、".join(x for x in (months and f"{months} 个月", hours and f"{hours} 课时") if x)
            found[funds.institution_id].append(
                finding("FEE_PERIOD", f"收费信息：一次收费最长覆盖 {covered}，超过 3 个月或 60 课时", "InstitutionFunds", funds.institution_id, "收费信息")
            )
    for m in materials:
        if m.author_years_in_education < 3:
            found[m.institution_id].append(
                finding("MATERIAL_AUTHOR_EXPERIENCE", f"培训材料“{m.name}”的编写人员从事教育工作不足 3 年", "Material", m.id, m.name)
            )
        if m.subject and not m.author_certificate_number:
            found[m.institution_id].append(
                finding("MATERIAL_AUTHOR_CERTIFICATE", f"学科类培训材料“{m.name}”的编写人员没有教师资格证", "Material", m.id, m.name)
            )
    return found


async def stored(db: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Finding]]:
    """The findings kept for each institution of ``ids``, in one statement."""
    found: dict[uuid.UUID, list[Finding]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = await db.execute(
        sa.select(InstitutionFinding).where(InstitutionFinding.institution_id.in_(ids)).order_by(InstitutionFinding.institution_id, InstitutionFinding.position)
    )
    for row in rows.scalars():
        found[row.institution_id].append(
            Finding(row.rule, row.message, row.source, row.record_type, row.record_id, row.record_name, row.severity)
        )
    return found


async def refresh(db: AsyncSession, ids: list[uuid.UUID], chunk: int = 2000) -> None:
    """Check the institutions' records again and keep what the rules find, in the caller's
    transaction (before its commit): every writer of an institution's records calls it."""
    ids = sorted(set(ids))
    if not ids:
        return
    await db.flush()
    for start in range(0, len(ids), chunk):
        await _refresh(db, ids[start : start + chunk])


async def _refresh(db: AsyncSession, ids: list[uuid.UUID]) -> None:
    # One writer at a time per institution (in id order: no deadlock between batches).
    await db.execute(sa.select(Institution.id).where(Institution.id.in_(ids)).order_by(Institution.id).with_for_update())
    fresh = await findings_for(db, ids)
    kept = await stored(db, ids)
    changed = [i for i in ids if fresh.get(i, []) != kept[i]]
    if not changed:
        return
    await db.execute(sa.delete(InstitutionFinding).where(InstitutionFinding.institution_id.in_(changed)))
    rows = [
        {
            "institution_id": i, "position": n, "rule": f.rule, "severity": f.severity, "message": f.message, "source": f.source,
            "record_type": f.record_type, "record_id": f.record_id, "record_name": f.record_name,
        }
        for i in changed
        for n, f in enumerate(fresh.get(i, []))
    ]
    if rows:
        await db.execute(sa.insert(InstitutionFinding), rows)


async def _batches(sessionmaker, batch: int) -> AsyncIterator[tuple[AsyncSession, list[uuid.UUID]]]:
    """Every institution's id, ``batch`` at a time in id order, each batch with a session of its own."""
    after = None
    while True:
        async with sessionmaker() as db:
            stmt = sa.select(Institution.id).order_by(Institution.id).limit(batch)
            if after is not None:
                stmt = stmt.where(Institution.id > after)
            ids = list((await db.execute(stmt)).scalars())
            if not ids:
                return
            yield db, ids
        after = ids[-1]


async def refresh_all(sessionmaker, batch: int = 2000) -> int:
    """``refresh`` every institution, a batch per transaction (the demo, the national
    dataset, ``python server.py tallies --rebuild``); returns how many were checked."""
    checked = 0
    async for db, ids in _batches(sessionmaker, batch):
        await refresh(db, ids)
        await db.commit()
        checked += len(ids)
    return checked


async def differing(sessionmaker, batch: int = 2000) -> list[uuid.UUID]:
    """The institutions whose kept findings differ from a check of their records now
    (``python server.py tallies``)."""
    found: list[uuid.UUID] = []
    async for db, ids in _batches(sessionmaker, batch):
        fresh, kept = await findings_for(db, ids), await stored(db, ids)
        found += [i for i in ids if fresh[i] != kept[i]]
    return found
