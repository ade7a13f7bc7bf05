"""Statistics (分类数据统计) for regulators: counts by child region (drill-down) or by a
classification, and a monthly series (``resolvers.statistics``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import strawberry

from auth.permissions import Regulator, allow
from models import ApplicationStatus
from resolvers.findings import RULES
from resolvers.statistics import counting, series, views
from schema.context import Info
from schema.filters import graphql_input, to_filter
from schema.regions import Region
from schema.relay import asks_for

StatisticsGrouping = strawberry.enum(
    views.Grouping,
    name="StatisticsGrouping",
    description=(
        "统计分组: REGION 按下级区划 (drill-down: 全国 → 省 → 地市 → 区县; in a lowest region (区县) its registering "
        "units (登记单位): the county bureau itself, each sub-unit (区县下属单位), and self-registered institutions "
        "(机构自主注册)); KIND 按机构类型; MODE 按办学形式; NATURE 按机构性质; TRAINING_CATEGORY 按培训类别 (an "
        "institution with several categories counts in each, so its rows may add up to more than the total, which "
        "counts it once; NONE: no category saved yet); DEPARTMENT 按主管部门 (the department of the first non-subject "
        "category it has among 体育类, 文化艺术类, 科技类 — the one that reviews its applications — otherwise 教育)."
    ),
)
StatisticsFilter = graphql_input(
    views.StatisticsFilter, name="StatisticsFilter",
    description="统计筛选条件 (kind, mode, nature and complete select institutions; from/to the days of events; the export takes the same as query parameters).",
)


@strawberry.type(description="机构登记情况")
class InstitutionCounts:
    registered: int = strawberry.field(description="登记机构数 (deregistered ones included)")
    complete: int = strawberry.field(description="登记完成: all five parts saved")
    compliant: int = strawberry.field(description="合规: compliance application approved")
    deregistered: int = strawberry.field(description="已注销")


@strawberry.type(description="摸排整改情况: the institutions by the status of their latest inspection, and the inspections recorded.")
class InspectionCounts:
    inspected: int = strawberry.field(description="已排查机构")
    with_problems: int = strawberry.field(description="排查发现问题的机构 (rectifying or rectified)")
    rectifying: int = strawberry.field(description="整改中")
    rectified: int = strawberry.field(description="已整改 (台账销号)")
    overdue: int = strawberry.field(description="逾期: rectifying with an unfinished item past its deadline, as of the request's day")
    recorded: int = strawberry.field(description="排查记录数 (inspections recorded; `from`/`to` apply)")


@strawberry.type(description="申请 of one type (or all) by status.")
class ApplicationStatusCounts:
    pending: int = strawberry.field(description="待审核")
    approved: int = strawberry.field(description="通过")
    rejected: int = strawberry.field(description="不通过")


@strawberry.type(description="审批情况: applications of the institutions (submitted within `from`/`to`), by status, in all and per type.")
class ApplicationCounts:
    pending: int = strawberry.field(description="待审核")
    approved: int = strawberry.field(description="通过")
    rejected: int = strawberry.field(description="不通过")
    compliance: ApplicationStatusCounts = strawberry.field(description="合规申请")
    deregistration: ApplicationStatusCounts = strawberry.field(description="注销申请")
    licence: ApplicationStatusCounts = strawberry.field(description="办学许可申请")
    class_filing: ApplicationStatusCounts = strawberry.field(description="学科类培训班备案申请")


@strawberry.type(description="备案情况: subject classes (学科类培训班) by filing status.")
class ClassCounts:
    filed: int = strawberry.field(description="已备案")
    pending: int = strawberry.field(description="备案审核中")
    unfiled: int = strawberry.field(description="未备案 (not filed, or filing rejected)")


@strawberry.type(description="举报情况: complaints filed with the counties of the group (submitted within `from`/`to`).")
class ComplaintCounts:
    total: int = strawberry.field(description="投诉举报总数")
    submitted: int = strawberry.field(description="待受理")
    accepted: int = strawberry.field(description="处理中")
    replied: int = strawberry.field(description="已办结 (已答复)")
    rejected: int = strawberry.field(description="不予受理")
    illegal_operation: int = strawberry.field(description="违规办学")
    illegal_enrolment: int = strawberry.field(description="违规招生")
    other: int = strawberry.field(description="其他")
    median_handling_hours: float | None = strawberry.field(
        description="办理时长中位数 (hours from submission to the reply or rejection, over those handled; null if none). Not a sum of the rows."
    )


@strawberry.type(description="从业人员: active staff.")
class StaffCounts:
    active: int = strawberry.field(description="在职从业人员")
    teachers: int = strawberry.field(description="在职教师 (teaching post)")
    certified_teachers: int = strawberry.field(description="持教师资格证的在职教师")


@strawberry.type(description="黑白名单: institutions named in the current period (the latest) of any region's list.")
class ListCounts:
    white: int = strawberry.field(description="在白名单")
    black: int = strawberry.field(description="在黑名单")


@strawberry.type(description="规则检查发现的问题 of one rule and severity in the group: the findings and the institutions with one.")
class FindingCount:
    rule: str = strawberry.field(description="规则编号 (FindingRule's values)")
    title: str = strawberry.field(description="规则")
    severity: str = strawberry.field(description="严重程度: VIOLATION 违规 or WARNING 提示")
    findings: int = strawberry.field(description="发现的问题数")
    institutions: int = strawberry.field(description="有此问题的机构数 (an institution counts once, whatever its findings of the rule)")


def _status_counts(counts: dict[str, Any], prefix: str) -> ApplicationStatusCounts:
    return ApplicationStatusCounts(**{s.value.lower(): counts[f"{prefix}_{s.value.lower()}"] for s in ApplicationStatus})


@strawberry.type(description="统计行: one group (or the total) and its counters.")
class StatisticsRow:
    key: str = strawberry.field(
        description=(
            "The group: a region code; in a lowest region a registering unit's account id, the county's code for the "
            "county bureau itself, or SELF (机构自主注册); an enum value (InstitutionKind, InstitutionMode, "
            "InstitutionNature, TrainingCategory or NONE, Department); TOTAL for the total."
        )
    )
    label: str = strawberry.field(description="中文名称 of the group")
    region: Region | None = strawberry.field(description="The group's region (a child region; the county for its bureau; the view's region for the total)")
    institutions: InstitutionCounts = strawberry.field(description="机构统计")
    inspections: InspectionCounts = strawberry.field(description="排查统计")
    applications: ApplicationCounts = strawberry.field(description="申请统计")
    classes: ClassCounts = strawberry.field(description="班级备案统计")
    staff: StaffCounts = strawberry.field(description="从业人员统计")
    lists: ListCounts = strawberry.field(description="黑白名单统计")
    findings: list[FindingCount] = strawberry.field(
        description=(
            "规则检查发现的问题 per rule (every rule whose findings are kept, zeros included, in the rules' order), counted from "
            "the findings kept on the records of the group's institutions (docs/DOMAIN.md §G4); the licence's rules are the "
            "standing's (`institutions.compliant`)."
        )
    )
    complaints: ComplaintCounts | None = strawberry.field(
        description=(
            "举报情况; null where complaints are not counted: for viewers the scope rule gives no complaints (sub-units, "
            "departments other than education), in views other than REGION, and under an institution filter."
        )
    )

    @classmethod
    def from_row(cls, row: views.Row) -> StatisticsRow:
        c = row.counts
        return cls(
            key=row.group.key,
            label=row.group.label,
            region=Region.from_row(row.group.region) if row.group.region is not None else None,
            institutions=InstitutionCounts(
                registered=c["registered"], complete=c["complete"], compliant=c["compliant"], deregistered=c["deregistered"]
            ),
            inspections=InspectionCounts(
                inspected=c["inspected"], with_problems=c["with_problems"], rectifying=c["rectifying"],
                rectified=c["rectified"], overdue=c["overdue"], recorded=c["inspections"],
            ),
            applications=ApplicationCounts(
                pending=c["applications_pending"], approved=c["applications_approved"], rejected=c["applications_rejected"],
                compliance=_status_counts(c, "compliance"), deregistration=_status_counts(c, "deregistration"),
                licence=_status_counts(c, "licence"), class_filing=_status_counts(c, "class_filing"),
            ),
            classes=ClassCounts(filed=c["classes_filed"], pending=c["classes_pending"], unfiled=c["classes_unfiled"]),
            staff=StaffCounts(active=c["staff_active"], teachers=c["teachers"], certified_teachers=c["certified_teachers"]),
            lists=ListCounts(white=c["white_listed"], black=c["black_listed"]),
            findings=[
                FindingCount(rule=r.rule, title=RULES[r.rule].title if r.rule in RULES else r.rule, severity=r.severity, findings=r.findings, institutions=r.institutions)
                for r in row.findings or ()
            ],
            complaints=None if c["complaints"] is None else ComplaintCounts(
                total=c["complaints"], submitted=c["complaints_submitted"], accepted=c["complaints_accepted"],
                replied=c["complaints_replied"], rejected=c["complaints_rejected"],
                illegal_operation=c["complaints_illegal_operation"], illegal_enrolment=c["complaints_illegal_enrolment"],
                other=c["complaints_other"], median_handling_hours=c["complaints_median_hours"],
            ),
        )


@strawberry.type(description="分类数据统计 of a region in the caller's scope.")
class Statistics:
    region: Region = strawberry.field(description="统计区划")
    group_by: StatisticsGrouping = strawberry.field(description="分组方式")
    taken_at: dt.datetime = strawberry.field(description="统计时间")
    rows: list[StatisticsRow] = strawberry.field(description="各组的统计 (One row per group, zeros included, in order (regions by code))")
    total: StatisticsRow = strawberry.field(description="合计: each number is the sum of the rows' (except the median, and categories)")


@strawberry.type(description="One month of the series.")
class StatisticsMonth:
    month: dt.date = strawberry.field(description="月份 (its first day)")
    registrations: int = strawberry.field(description="新增登记 (institutions created)")
    inspections: int = strawberry.field(description="排查记录 (inspection dates)")
    complaints: int | None = strawberry.field(description="投诉举报 (submitted); null where complaints are not in the caller's scope")
    approvals: int = strawberry.field(description="审批通过 (applications approved, by decision date)")


@strawberry.type(description="按月统计: a row for every month of the range, zeros included.")
class StatisticsSeries:
    region: Region
    from_: dt.date = strawberry.field(name="from", description="起始日期")
    to: dt.date = strawberry.field(description="截止日期")
    taken_at: dt.datetime = strawberry.field(description="统计时间")
    months: list[StatisticsMonth] = strawberry.field(description="逐月数据")


@strawberry.type
class StatisticsQuery:
    @strawberry.field(
        description=(
            "分类数据统计 (docs/DOMAIN.md §R4: 摸排整改、审批、备案、举报情况) of `regionCode` (default: the caller's region; any region "
            "in the caller's scope, else BAD_USER_INPUT, the same for an unknown code), counted in the caller's scope."
        ),
        extensions=allow(Regulator()),
    )
    async def statistics(
        self,
        info: Info,
        region_code: str | None = None,
        group_by: StatisticsGrouping | None = views.Grouping.REGION,
        filter: StatisticsFilter | None = None,
    ) -> Statistics:
        ctx = info.context
        result = await counting.statistics(
            ctx.read_sessionmaker,
            ctx.viewer,
            ctx.now,
            region_code,
            group_by or views.Grouping.REGION,
            to_filter(filter),
            median=asks_for(info.selected_fields, "medianHandlingHours"),
            findings=asks_for(info.selected_fields, "findings"),
        )
        return Statistics(
            region=Region.from_row(result.region),
            group_by=result.grouping,
            taken_at=result.taken_at,
            rows=[StatisticsRow.from_row(r) for r in result.rows],
            total=StatisticsRow.from_row(result.total),
        )

    @strawberry.field(
        description="按月统计 of `regionCode` (as `statistics`) from `from` to `to` (inclusive days, at most 36 months).",
        extensions=allow(Regulator()),
    )
    async def statistics_series(
        self,
        info: Info,
        region_code: str | None = None,
        *,
        from_: Annotated[dt.date, strawberry.argument(name="from")],
        to: dt.date,
    ) -> StatisticsSeries:
        ctx = info.context
        result = await series.series(ctx.read_sessionmaker, ctx.viewer, ctx.now, region_code, from_, to)
        return StatisticsSeries(
            region=Region.from_row(result.region),
            from_=result.from_,
            to=result.to,
            taken_at=result.taken_at,
            months=[
                StatisticsMonth(month=m.month, registrations=m.registrations, inspections=m.inspections, complaints=m.complaints, approvals=m.approvals)
                for m in result.months
            ],
        )
