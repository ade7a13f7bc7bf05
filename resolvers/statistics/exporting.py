"""``GET /exports/statistics.xlsx``: a statistics view (or the monthly series) as a
spreadsheet, with a header naming the region, the grouping, the filters and the time it was
taken. The same resolvers as the GraphQL fields, the same auth and scope as the
institutions' export (bearer token or session cookie; 401, 403 and 400 as JSON errors).

Query parameters, named as in GraphQL: ``regionCode``, ``groupBy``, ``kind``, ``mode``,
``nature``, ``complete``, ``from``, ``to``; ``series=1`` with ``from`` and ``to`` for the
monthly series.
"""

from __future__ import annotations

import io
from datetime import datetime

from openpyxl import Workbook

from core.clock import CHINA
from resolvers import spreadsheets
from resolvers.statistics.views import COMPLAINT_COUNTERS, COUNTERS, GROUPING_LABELS, Grouping, Series, Statistics

NOTE = "合计为各行之和（投诉办理时长中位数除外）。"
CATEGORY_NOTE = "多类别机构计入其每一个培训类别，各行之和可能大于合计（合计中每家机构只计一次）。"
NO_COMPLAINTS_NOTE = "投诉举报按区划统计，仅对县级及以上教育部门账号、按下级区划且未按机构条件筛选时列出。"


def _header(sheet, title: str, region, lines: list[tuple[str, str]], taken_at: datetime) -> None:
    spreadsheets.append(sheet, [title])
    spreadsheets.append(sheet, ["统计区划", f"{region.name}（{region.code}）"])
    for line in lines:
        spreadsheets.append(sheet, list(line))
    spreadsheets.append(sheet, ["统计时间", f"{taken_at.astimezone(CHINA):%Y-%m-%d %H:%M:%S}（北京时间）"])


def _save(book: Workbook) -> bytes:
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def statistics_workbook(result: Statistics) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("分类统计")
    grouping = "按登记单位（区县本级、下属单位、机构自主注册）" if result.by_unit else GROUPING_LABELS[result.grouping]
    notes = NOTE + (CATEGORY_NOTE if result.grouping is Grouping.TRAINING_CATEGORY else "")
    if not result.complaints_counted:
        notes += NO_COMPLAINTS_NOTE
    _header(sheet, "校外培训机构分类数据统计", result.region, [("分组", grouping), ("筛选条件", result.filter.describe())], result.taken_at)
    spreadsheets.append(sheet, ["说明", notes])
    counters = [(name, label) for name, label in COUNTERS if result.complaints_counted or name not in COMPLAINT_COUNTERS]
    spreadsheets.append(sheet, ["代码", "名称", *(label for _, label in counters)])
    for row in result.rows:
        code = row.group.region.code if row.group.region is not None else ("" if result.grouping is Grouping.REGION else row.group.key)
        spreadsheets.append(sheet, [code, row.group.label, *(row.counts[name] for name, _ in counters)])
    spreadsheets.append(sheet, ["合计", "合计", *(result.total.counts[name] for name, _ in counters)])
    return _save(book)


def series_workbook(result: Series) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("按月统计")
    complaints = any(m.complaints is not None for m in result.months)
    _header(sheet, "校外培训机构按月统计", result.region, [("时间范围", f"{result.from_} 至 {result.to}"), ("筛选条件", "无")], result.taken_at)
    spreadsheets.append(sheet, ["说明", "各月只计时间范围内的日期（北京时间）。" + ("" if complaints else "投诉举报不在本账号的统计范围内。")])
    spreadsheets.append(sheet, ["月份", "新增登记", "排查记录", *(["投诉举报"] if complaints else []), "审批通过"])
    for m in result.months:
        spreadsheets.append(sheet, [f"{m.month:%Y-%m}", m.registrations, m.inspections, *([m.complaints] if complaints else []), m.approvals])
    return _save(book)
