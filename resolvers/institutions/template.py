"""The batch import's template (机构信息批量导入, docs/DOMAIN.md §R2.3): one sheet of the registration's
fields (``resolvers.institutions.registration``), with required marks and drop-down lists, an
instruction sheet, and how values go into cells and come out of them."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from resolvers import class_times
from resolvers.institutions.registration import CHOICES, FIELDS, PART_LABELS, YES_NO, FieldSpec, Part

DATA_SHEET = "机构信息"
GUIDE_SHEET = "填写说明"
LISTS_SHEET = "_lists"
MARK_SHEET = "_template"
TEMPLATE_MARK = "xwpx-institutions-v2"  # v2: part 4's class times and fee terms as their own columns (migration 0019)


#: Rows a filled template may hold (the import refuses more; the drop-downs reach that far).
MAX_ROWS = 50_000
REGION_HEADER = "所在区县代码 *"
MULTI_SEPARATOR = "、"
TEXT_FORMAT = "@"
DATE_FORMAT = "yyyy-mm-dd"
BOOL_LABELS = YES_NO
SESSIONS_EXAMPLE = "周一至周五 19:00-20:30；周六、周日 09:00-12:00"
_DIGITS = re.compile(r"[0-9]{1,12}")


def header(spec: FieldSpec) -> str:
    return spec.label + (" *" if spec.required and spec.part is Part.BASICS else "")


def part_name(part: Part) -> str:
    """``1 基本情况``: a part as the form numbers and names it."""
    return f"{list(Part).index(part) + 1} {PART_LABELS[part]}"


HEADERS = [REGION_HEADER] + [header(spec) for spec in FIELDS]
HEADER_OF = {spec.key: header(spec) for spec in FIELDS}


def _guide_rows() -> Iterator[list[str]]:
    yield ["列", "所属部分", "是否必填", "填写要求"]
    yield [REGION_HEADER, "—", "必填", "机构所在区县的六位行政区划代码，须为本账号所在区县"]
    for spec in FIELDS:
        if spec.part is Part.BASICS:
            need = "必填" if spec.required else "选填"
        else:
            need = ("填写本部分时必填" if spec.required else "选填") + (f"；{spec.condition}" if spec.condition else "")
        rule = {
            "choice": lambda s: "从下拉列表选择：" + "、".join(CHOICES[s.choices].values()),
            "multi": lambda s: f"可多选，用“{MULTI_SEPARATOR}”分隔：" + "、".join(CHOICES[s.choices].values()),
            "date": lambda s: "日期，格式 YYYY-MM-DD",
            "int": lambda s: "不小于 0 的整数",
            "decimal": lambda s: "不小于 0 的数，最多两位小数",
            "bool": lambda s: "是 / 否",
            "sessions": lambda s: f"每周上课的星期和起止时间，如：{SESSIONS_EXAMPLE}",
            "text": lambda s: f"文本，不超过 {s.max_length} 字" if s.max_length else "文本",
        }[spec.type](spec)
        yield [header(spec), part_name(spec.part), need, rule]
    yield []
    yield ["说明：带 * 的列每行必填（所在区县代码和第 1 部分“基本情况”的必填项）；第 2–5 部分整部分留空表示尚未登记该部分，"
           "填写任一列即按该部分的规则校验，其“填写本部分时必填”的列随之必填；按所选情况“须留空”的列填写了即为错误。"]
    yield ["下载的模板原样导入时没有数据行，不会导入任何机构，也不算错误。"]
    yield ["统一社会信用代码相同的行会更新已登记的机构，不会重复登记；任一行有错误时整个文件都不会导入。"]


def template_workbook() -> Workbook:
    """The import template: one column per field, required columns marked *, drop-down
    lists for choices, an instruction sheet."""
    wb = Workbook()
    sheet = wb.active
    sheet.title = DATA_SHEET
    sheet.append(HEADERS)
    bold, required_fill = Font(bold=True), PatternFill("solid", fgColor="FFF2CC")
    for index, title in enumerate(HEADERS, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = bold
        if title.endswith("*"):
            cell.fill = required_fill
        sheet.column_dimensions[get_column_letter(index)].width = max(12, len(title) * 2)
    sheet.freeze_panes = "A2"

    lists = wb.create_sheet(LISTS_SHEET)
    lists.sheet_state = "hidden"
    list_columns: dict[str, str] = {}
    for index, (enum, labels) in enumerate([*CHOICES.items(), (bool, {"": ""})], start=1):
        values = list(BOOL_LABELS.values()) if enum is bool else list(labels.values())
        letter = get_column_letter(index)
        for row, value in enumerate(values, start=1):
            lists.cell(row=row, column=index, value=value)
        list_columns[enum.__name__] = f"{LISTS_SHEET}!${letter}$1:${letter}${len(values)}"
    for index, spec in enumerate(FIELDS, start=2):
        letter = get_column_letter(index)
        cells = f"{letter}2:{letter}{MAX_ROWS + 1}"
        if spec.type in ("choice", "bool"):
            source = list_columns["bool" if spec.type == "bool" else spec.choices.__name__]
            validation = DataValidation(type="list", formula1=source, allow_blank=True)
            validation.error = f"请从下拉列表选择{spec.label}"
            validation.add(cells)
            sheet.add_data_validation(validation)
        if spec.type in ("text", "sessions"):  # text columns keep leading zeros and long digit strings
            sheet.column_dimensions[letter].number_format = TEXT_FORMAT
    sheet.column_dimensions["A"].number_format = TEXT_FORMAT

    guide = wb.create_sheet(GUIDE_SHEET)
    for row in _guide_rows():
        guide.append(row)
    guide.column_dimensions["A"].width = 36
    guide.column_dimensions["D"].width = 80

    mark = wb.create_sheet(MARK_SHEET)
    mark.sheet_state = "hidden"
    mark["A1"] = TEMPLATE_MARK
    return wb


def template_bytes() -> bytes:
    buffer = io.BytesIO()
    template_workbook().save(buffer)
    return buffer.getvalue()


def to_cell(spec: FieldSpec, value: Any) -> Any:
    """A stored value as the template writes it."""
    if value is None or value == []:
        return None
    if spec.type == "choice":
        return CHOICES[spec.choices][value]
    if spec.type == "multi":
        return MULTI_SEPARATOR.join(CHOICES[spec.choices][v] for v in value)
    if spec.type == "bool":
        return BOOL_LABELS[value]
    if spec.type == "sessions":
        return class_times.format_sessions(value)
    return value


def cell_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a code typed into a number cell
    if isinstance(value, datetime | date):
        value = value.date().isoformat() if isinstance(value, datetime) else value.isoformat()
    return str(value).strip()


def from_cell(spec: FieldSpec, value: Any) -> Any:
    """A cell as the form's Python value; ValueError with a message when it cannot be read."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return [] if spec.type in ("multi", "sessions") else None
    if spec.type == "text":
        return cell_text(value)
    if spec.type == "sessions":
        parsed = class_times.parse(cell_text(value))
        if parsed is None or parsed.fee_months is not None or parsed.fee_class_hours is not None:
            raise ValueError(f"{spec.label}无法识别，请按“{SESSIONS_EXAMPLE}”的格式填写")
        return parsed.sessions
    if spec.type in ("choice", "multi"):
        by_label = {label: key for key, label in CHOICES[spec.choices].items()}
        parts = [p.strip() for p in cell_text(value).replace(",", MULTI_SEPARATOR).replace("，", MULTI_SEPARATOR).split(MULTI_SEPARATOR)]
        keys = [by_label.get(p) or (p if p in CHOICES[spec.choices] else None) for p in parts if p]
        if None in keys or (spec.type == "choice" and len(keys) != 1):
            raise ValueError(f"{spec.label}的取值无效，可选：" + "、".join(CHOICES[spec.choices].values()))
        return keys[0] if spec.type == "choice" else keys
    if spec.type == "bool":
        text = cell_text(value)
        if isinstance(value, bool):
            return value
        if text in ("是", "否"):
            return text == "是"
        raise ValueError(f"{spec.label}应填“是”或“否”")
    if spec.type == "date":
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(cell_text(value))
        except ValueError:
            raise ValueError(f"{spec.label}应为日期，格式 YYYY-MM-DD") from None
    if spec.type == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
            return int(value.strip())
        raise ValueError(f"{spec.label}应为不小于 0 的整数")
    if spec.type == "decimal":
        try:
            number = Decimal(cell_text(value) if not isinstance(value, float) else repr(value))
            if not number.is_finite():
                raise ValueError
            return number.normalize() if number == number.to_integral() else number
        except (ArithmeticError, ValueError):
            raise ValueError(f"{spec.label}应为数字") from None
    raise AssertionError(spec.type)
