"""What a statistics view is (分类数据统计, docs/DOMAIN.md §R4): its groupings, counters, filter, rows
and the monthly series' months."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from core.errors import BadUserInput
from models import ApplicationStatus, ApplicationType, Complaint, Department, Kind, Mode, Nature, Region
from resolvers.filters import criterion
from resolvers.institutions.registration import CHOICES

#: China Standard Time: the day of a timestamp, and the bounds of a date range.
MAX_MONTHS = 36
TOTAL_KEY = "TOTAL"
SELF_KEY = "SELF"
OTHER_UNITS_KEY = "OTHER_UNITS"


#: Institutions with no training category saved yet (part 3 unsaved), in the category view.
NO_CATEGORY = "NONE"


#: The complaint table, with its computed handling time (``models.complaints.handling_hours``).
complaint_table = Complaint.__table__
NOT_FOUND = "区划不存在或不在本账号的管辖范围内 (region not found or out of scope)"


class Grouping(StrEnum):
    REGION = "REGION"  # 按下级区划 (in a lowest region: by registering unit)
    KIND = "KIND"  # 按机构类型
    MODE = "MODE"  # 按办学形式
    NATURE = "NATURE"  # 按机构性质
    TRAINING_CATEGORY = "TRAINING_CATEGORY"  # 按培训类别
    DEPARTMENT = "DEPARTMENT"  # 按主管部门


GROUPING_LABELS = {
    Grouping.REGION: "按下级区划",
    Grouping.KIND: "按机构类型",
    Grouping.MODE: "按办学形式",
    Grouping.NATURE: "按机构性质",
    Grouping.TRAINING_CATEGORY: "按培训类别（多类别机构计入每一类）",
    Grouping.DEPARTMENT: "按主管部门",
}
DEPARTMENT_LABELS = {
    Department.EDUCATION: "教育",
    Department.SPORTS: "体育",
    Department.CULTURE_TOURISM: "文化旅游",
    Department.SCIENCE_TECHNOLOGY: "科技",
}


#: Every counter of a row, with its Chinese label (the spreadsheet's columns), in order.
COUNTERS: tuple[tuple[str, str], ...] = (
    ("registered", "登记机构数"),
    ("complete", "登记完成（五部分均已保存）"),
    ("compliant", "合规（合规申请通过，今天仍合法且无违规）"),
    ("deregistered", "已注销"),
    ("inspected", "已排查机构"),
    ("with_problems", "排查发现问题机构"),
    ("rectifying", "整改中"),
    ("rectified", "已整改（台账销号）"),
    ("overdue", "逾期未整改"),
    ("inspections", "排查记录数"),
    ("applications_pending", "申请·待审核"),
    ("applications_approved", "申请·通过"),
    ("applications_rejected", "申请·不通过"),
    *(
        (f"{t.value.lower()}_{s.value.lower()}", f"{label}·{status}")
        for t, label in (
            (ApplicationType.COMPLIANCE, "合规申请"),
            (ApplicationType.DEREGISTRATION, "注销申请"),
            (ApplicationType.LICENCE, "办学许可申请"),
            (ApplicationType.CLASS_FILING, "班级备案申请"),
        )
        for s, status in ((ApplicationStatus.PENDING, "待审核"), (ApplicationStatus.APPROVED, "通过"), (ApplicationStatus.REJECTED, "不通过"))
    ),
    ("classes_filed", "已备案学科类班级"),
    ("classes_pending", "备案审核中班级"),
    ("classes_unfiled", "未备案学科类班级"),
    ("staff_active", "在职从业人员"),
    ("teachers", "在职教师"),
    ("certified_teachers", "持教师资格证的在职教师"),
    ("white_listed", "在白名单机构"),
    ("black_listed", "在黑名单机构"),
    ("complaints", "投诉举报"),
    ("complaints_submitted", "投诉·待受理"),
    ("complaints_accepted", "投诉·处理中"),
    ("complaints_replied", "投诉·已办结"),
    ("complaints_rejected", "投诉·不予受理"),
    ("complaints_illegal_operation", "投诉·违规办学"),
    ("complaints_illegal_enrolment", "投诉·违规招生"),
    ("complaints_other", "投诉·其他"),
    ("complaints_median_hours", "投诉办理时长中位数（小时）"),
)
COMPLAINT_COUNTERS = tuple(name for name, _ in COUNTERS if name.startswith("complaints"))
MEDIAN = "complaints_median_hours"


@dataclass
class StatisticsFilter:
    """A statistics view's filter (its export's too): kind, mode, nature and complete select
    the institutions counted; from/to the days of the counters of events (the counting
    applies them: none is a plain condition on one table)."""

    kind: Kind | None = criterion("机构类型 (学科类/非学科类)")
    mode: Mode | None = criterion("办学形式 (线上/线下)")
    nature: Nature | None = criterion("机构性质 (营利性/非营利性)")
    complete: bool | None = criterion("登记完成 (all five registration parts saved, or not)")
    from_: date | None = criterion(
        "起始日期 (inclusive, Beijing time) of the counters of events: inspections recorded (排查日期), applications "
        "and complaints (submitted). The other counters are states as of now.",
        graphql_name="from",
    )
    to: date | None = criterion("截止日期 (inclusive), like `from`.")

    @property
    def about_institutions(self) -> bool:
        return any(v is not None for v in (self.kind, self.mode, self.nature, self.complete))

    def describe(self) -> str:
        """The filters in words (the spreadsheet's header)."""
        parts = []
        for label, value, choices in (
            ("机构类型", self.kind, CHOICES[Kind]),
            ("办学形式", self.mode, CHOICES[Mode]),
            ("机构性质", self.nature, CHOICES[Nature]),
        ):
            if value is not None:
                parts.append(f"{label}：{choices[value.value]}")
        if self.complete is not None:
            parts.append(f"登记完成：{'是' if self.complete else '否'}")
        if self.from_ or self.to:
            parts.append(f"日期：{self.from_ or '…'} 至 {self.to or '…'}（排查、申请、投诉）")
        return "；".join(parts) or "无"


@dataclass
class Group:
    key: str
    label: str
    region: Region | None = None
    #: The keys counted together in this row (the registering units the viewer may not
    #: see, as one "其他登记单位" row); empty: the row's own key.
    members: tuple[str, ...] = ()


@dataclass
class Row:
    group: Group
    counts: dict[str, Any]
    #: Its findings per rule (``resolvers.statistics.findings.RuleCount``), when counted.
    findings: list[Any] | None = None


@dataclass
class Statistics:
    region: Region
    grouping: Grouping
    filter: StatisticsFilter
    taken_at: datetime
    rows: list[Row]
    total: Row
    #: Whether the complaint counters are counted (else null).
    complaints_counted: bool = True
    #: A region view of a lowest region: rows by registering unit.
    by_unit: bool = False


@dataclass
class Month:
    month: date
    registrations: int
    inspections: int
    complaints: int | None
    approvals: int


@dataclass
class Series:
    region: Region
    from_: date
    to: date
    taken_at: datetime
    months: list[Month] = field(default_factory=list)


def check_range(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and start > end:
        raise BadUserInput("开始日期不能晚于结束日期 (from is after to)", field="from")
