"""The regulations' rules (docs/DOMAIN.md §G4), declared once (``RULES``: code, severity, 中文
title, source) with the checks that read each kind of record, whoever entered it: the
county's five-part registration (the institution's row), and the portal's sites and business
systems, classes (with their courses and teachers), materials, funds and documents
(docs/rules.md, "Rules of the regulations", says which rule reads which record). A check is
a pure function of the records handed to it (``resolvers.findings`` loads them and keeps
what they find); it never refuses a save or raises: findings are data.

A finding points to the record it concerns (``record_type``/``record_id``) and names the
other records it concerns too (``related``: the classes of a site in its crowded time slot,
the teacher of a class), so that it shows on each of them and on the institution.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import time
from decimal import Decimal

from models import (
    Course,
    Document,
    FilingStatus,
    Grade,
    Institution,
    InstitutionFunds,
    Kind,
    Material,
    Mode,
    Nature,
    Premises,
    QualificationStatus,
    Severity,
    Site,
    SiteType,
    Staff,
    TrainingClass,
)
from resolvers.class_times import minutes


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    source: str
    severity: Severity = Severity.VIOLATION


_DOUBLE_REDUCTION = "《关于进一步减轻义务教育阶段学生作业负担和校外培训负担的意见》（2021）"
_PREMISES = "国办发〔2018〕80号（场所条件）"

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

#: Every rule, once: the checks below, the stored findings, the schema and docs/rules.md read it.
RULES = {
    rule.id: rule
    for rule in (
        Rule("CLASS_END_TIME", "培训结束时间：线下不晚于 20:30，线上不晚于 21:00", f"国办发〔2018〕80号；{_DOUBLE_REDUCTION}"),
        Rule("ONLINE_LESSON_LENGTH", "线上培训每课时不超过 30 分钟，课程间隔不少于 10 分钟", _DOUBLE_REDUCTION),
        Rule("FEE_PERIOD", "一次性收费不得超过 3 个月或 60 课时", "国办发〔2018〕80号；教监管函〔2021〕2号"),
        Rule("TEACHER_CERTIFICATE", "学科类培训教师须具有相应教师资格", "《校外培训机构从业人员管理办法（试行）》"),
        Rule("AREA_PER_STUDENT", "同一时段内生均面积不低于 3 平方米", "各地校外培训机构设置标准"),
        Rule("NON_PROFIT", "面向义务教育阶段学生的学科类培训机构须登记为非营利性机构", "教育部办公厅等三部门关于将面向义务教育阶段学生的学科类校外培训机构统一登记为非营利性机构的通知（2021）"),
        Rule("CLASS_NAME", "学科类培训班名称应为“年级+学科+培训班”", "教基厅〔2018〕8号"),
        Rule("UNFILED_ENROLMENT", "未备案的学科类培训班不得招生", "教基厅〔2018〕8号"),
        Rule("MATERIAL_AUTHOR_EXPERIENCE", "培训材料编写人员须从事相关教育工作 3 年以上", "《中小学生校外培训材料管理办法（试行）》"),
        Rule("MATERIAL_AUTHOR_CERTIFICATE", "学科类培训材料编写人员须具有相应教师资格", "《中小学生校外培训材料管理办法（试行）》"),
        Rule("FIRE_SAFETY", "线下培训场所须通过消防验收或备案", _PREMISES),
        Rule("LEASE_BEFORE_LICENCE_END", "租赁场所的租期应覆盖办学许可证有效期", _PREMISES, Severity.WARNING),
        Rule(
            "SUBJECT_TRAINING_REVIEW", "中小学学科类培训情况的上课时间和收费周期待核对（未能按星期、起止时间和月数或课时填写）",
            "国办发〔2018〕80号；教监管函〔2021〕2号", Severity.WARNING,
        ),
        Rule("CONTRACT_MODEL_TEXT", "培训服务合同宜使用示范文本", "《中小学生校外培训服务合同（示范文本）》（教育部、市场监管总局，2021）", Severity.WARNING),
    )
} | LICENCE_RULES

LATEST_END = {Mode.OFFLINE.value: time(20, 30), Mode.ONLINE.value: time(21, 0)}
MAX_LESSON_MINUTES, MIN_BREAK_MINUTES = 30, 10
MAX_FEE_MONTHS, MAX_FEE_CLASS_HOURS = 3, 60
AREA_PER_STUDENT = Decimal(3)
COMPULSORY_GRADES = {Grade.PRIMARY.value, Grade.JUNIOR_SECONDARY.value}
#: How a part of the registration is named as the record of a finding on the institution.
SUBJECT_TRAINING_PART, FACILITIES_PART = "4 中小学学科类培训情况", "5 办学条件"

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
    #: The other records the finding concerns (shown on them too).
    related: tuple[uuid.UUID, ...] = ()

    def concerns(self, record_id: uuid.UUID) -> bool:
        """Whether the finding shows on the record ``record_id``."""
        return record_id == self.record_id or record_id in self.related

    def as_json(self) -> dict:
        return {
            "rule": self.rule, "severity": self.severity, "message": self.message, "source": self.source,
            "recordType": self.record_type, "recordId": str(self.record_id), "recordName": self.record_name,
            "relatedIds": [str(r) for r in self.related],
        }


def finding(rule: str, message: str, record_type: str, record_id: uuid.UUID, record_name: str, related=()) -> Finding:
    return Finding(rule, message, RULES[rule].source, record_type, record_id, record_name, RULES[rule].severity.value, tuple(related))


def class_name_fits(name: str, subject: str | None) -> bool:
    match = _CLASS_NAME.match(name)
    return bool(match) and (subject is None or match.group("subject") in SUBJECT_NAMES.get(subject, ()))


def _late(sessions: list[dict], mode: str) -> str | None:
    """The latest end of ``sessions`` when it is past the mode's latest end, else None."""
    ends = [s["end"] for s in sessions if time.fromisoformat(s["end"]) > LATEST_END[mode]]
    return max(ends) if ends else None


def _area(value: Decimal) -> str:
    """An area as stored (NUMERIC(12, 2)), whether read back or just saved: ``10.00``."""
    return f"{value.quantize(Decimal('0.01'))}"


def _fee_too_long(months: int | None, hours: int | None) -> str | None:
    """What one payment covers (``12 个月、60 课时``) when it is beyond the rule, else None."""
    if (months or 0) <= MAX_FEE_MONTHS and (hours or 0) <= MAX_FEE_CLASS_HOURS:
        return None
    return "、".join(x for x in (months and f"{months} 个月", hours and f"{hours} 课时") if x)


# --- the county's registration (parts 1–5, the institution's row) --------------------------


def check_registration(i: Institution, course_grades: Collection[str] = ()) -> list[Finding]:
    """The rules on the five parts: part 1's nature with part 4's grades and those of the
    institution's subject courses (``course_grades``), part 4's class times and fee terms,
    part 5's premises (with part 3's students and part 2's licence)."""
    found: list[Finding] = []
    on_part = lambda rule, message, part: found.append(finding(rule, message, "Institution", i.id, part))  # noqa: E731
    grades = set(i.grades) | set(course_grades)
    if i.kind == Kind.SUBJECT and i.nature == Nature.FOR_PROFIT and (grades & COMPULSORY_GRADES or not grades):
        found.append(finding("NON_PROFIT", "学科类机构仍为营利性，须完成“营转非”登记", "Institution", i.id, i.name))
    if i.subject_training_saved and i.no_subject_training is False:
        if late := _late(i.class_sessions, i.mode):
            on_part("CLASS_END_TIME", f"中小学学科类培训的下课时间 {late} 晚于 {LATEST_END[i.mode]:%H:%M}", SUBJECT_TRAINING_PART)
        if covered := _fee_too_long(i.fee_months, i.fee_class_hours):
            on_part("FEE_PERIOD", f"中小学学科类培训一次收费覆盖 {covered}，超过 3 个月或 60 课时", SUBJECT_TRAINING_PART)
        if not i.class_sessions or (i.fee_months is None and i.fee_class_hours is None):
            note = f"（原填写：{i.class_times_note}）" if i.class_times_note else ""
            on_part("SUBJECT_TRAINING_REVIEW", f"上课时间或收费周期未按结构填写，请核对后补充{note}", SUBJECT_TRAINING_PART)
    if i.facilities_saved:
        offline = i.mode == Mode.OFFLINE
        if offline and i.operation_saved and i.student_count and i.teaching_area is not None and i.teaching_area / i.student_count < AREA_PER_STUDENT:
            on_part(
                "AREA_PER_STUDENT", f"教学面积 {_area(i.teaching_area)} 平方米，在读学生 {i.student_count} 人，生均不足 3 平方米", FACILITIES_PART
            )
        if offline and i.fire_safety_approved is False:
            on_part("FIRE_SAFETY", "线下培训场所未通过消防验收", FACILITIES_PART)
        held = i.qualifications_saved and i.qualification_status in (QualificationStatus.FULL, QualificationStatus.LICENCE_ONLY)
        if i.premises == Premises.LEASED and held and i.lease_end and i.licence_valid_to and i.lease_end < i.licence_valid_to:
            on_part(
                "LEASE_BEFORE_LICENCE_END", f"场地租赁到期日 {i.lease_end} 早于办学许可证有效期止 {i.licence_valid_to}", FACILITIES_PART
            )
    return found


# --- the portal's records ----------------------------------------------------------------


def check_class(institution: Institution, course: Course, c: TrainingClass, teachers: dict[uuid.UUID, Staff]) -> list[Finding]:
    found: list[Finding] = []
    add = lambda rule, message, related=(): found.append(finding(rule, message, "TrainingClass", c.id, c.name, related))  # noqa: E731
    if late := _late(c.schedule, institution.mode):
        add("CLASS_END_TIME", f"班级“{c.name}”的下课时间 {late} 晚于 {LATEST_END[institution.mode]:%H:%M}")
    if institution.mode == Mode.ONLINE:
        if c.lesson_minutes is not None and c.lesson_minutes > MAX_LESSON_MINUTES:
            add("ONLINE_LESSON_LENGTH", f"班级“{c.name}”每课时 {c.lesson_minutes} 分钟，超过 {MAX_LESSON_MINUTES} 分钟")
        if c.break_minutes is not None and c.break_minutes < MIN_BREAK_MINUTES:
            add("ONLINE_LESSON_LENGTH", f"班级“{c.name}”课间休息 {c.break_minutes} 分钟，少于 {MIN_BREAK_MINUTES} 分钟")
    if covered := _fee_too_long(c.fee_months, c.fee_class_hours):
        add("FEE_PERIOD", f"班级“{c.name}”一次收费覆盖 {covered}，超过 3 个月或 60 课时")
    if course.subject:
        for teacher_id in c.teacher_ids:
            teacher = teachers.get(teacher_id)
            if teacher is not None and not teacher.teacher_certificate_number:
                add("TEACHER_CERTIFICATE", f"学科类班级“{c.name}”的授课教师{teacher.name}没有教师资格证", (teacher.id,))
        if not class_name_fits(c.name, course.subject):
            add("CLASS_NAME", f"学科类培训班“{c.name}”的名称不符合“年级+学科+培训班”（如：三年级数学培训班）")
        if c.filing_status != FilingStatus.FILED and c.enrolled > 0:
            add("UNFILED_ENROLMENT", f"学科类培训班“{c.name}”尚未备案，已招生 {c.enrolled} 人")
    return found


def _site_peak(classes: list[TrainingClass]) -> tuple[int, list[uuid.UUID]]:
    """The most students a site holds at once, and the classes there then: classes count
    together when their terms (start to end date) overlap and their sessions overlap on the
    same weekday. For each stretch of days between the terms' boundaries, a sweep per
    weekday over the sessions of the classes running then."""
    boundaries = sorted({c.starts_on for c in classes} | {c.ends_on for c in classes})
    peak, at_peak = 0, []
    for day in boundaries:
        running = [c for c in classes if c.starts_on <= day <= c.ends_on]
        events: dict[int, list[tuple[int, int, TrainingClass]]] = defaultdict(list)
        for c in running:
            for s in c.schedule:
                events[s["weekday"]].append((minutes(s["start"]), c.capacity, c))
                events[s["weekday"]].append((minutes(s["end"]), -c.capacity, c))
        for sessions in events.values():
            current, present = 0, []
            # Ends sort before starts at the same minute: back-to-back classes do not overlap.
            for _, change, c in sorted(sessions, key=lambda e: (e[0], e[1])):
                current += change
                present = [*present, c.id] if change > 0 else [p for p in present if p != c.id]
                if current > peak:
                    peak, at_peak = current, sorted(set(present))
    return peak, at_peak


def check_site(site: Site, classes: list[TrainingClass]) -> list[Finding]:
    if site.type != SiteType.SITE or site.teaching_area is None:
        return []
    peak, crowded = _site_peak(classes)
    if not peak or site.teaching_area / peak >= AREA_PER_STUDENT:
        return []
    return [
        finding(
            "AREA_PER_STUDENT", f"办学点“{site.name}”教学面积 {_area(site.teaching_area)} 平方米，同一时段最多 {peak} 名学生，生均不足 3 平方米",
            "Site", site.id, site.name, crowded,
        )
    ]


def check_funds(funds: InstitutionFunds) -> list[Finding]:
    if covered := _fee_too_long(funds.max_months_per_payment, funds.max_class_hours_per_payment):
        return [finding("FEE_PERIOD", f"收费信息：一次收费最长覆盖 {covered}，超过 3 个月或 60 课时", "InstitutionFunds", funds.institution_id, "收费信息")]
    return []


def check_material(m: Material) -> list[Finding]:
    found = []
    if m.author_years_in_education < 3:
        found.append(finding("MATERIAL_AUTHOR_EXPERIENCE", f"培训材料“{m.name}”的编写人员从事教育工作不足 3 年", "Material", m.id, m.name))
    if m.subject and not m.author_certificate_number:
        found.append(finding("MATERIAL_AUTHOR_CERTIFICATE", f"学科类培训材料“{m.name}”的编写人员没有教师资格证", "Material", m.id, m.name))
    return found


def check_document(d: Document) -> list[Finding]:
    if d.category == "CONTRACT" and d.follows_model_text is False:
        return [finding("CONTRACT_MODEL_TEXT", f"合同“{d.title}”未使用示范文本", "Document", d.id, d.title)]
    return []
