"""Excel: the import template, the batch import (机构信息批量导入) and the export.

All three take their columns from ``resolvers.registration.FIELDS`` (plus the county code
in front), so a template, an export and the forms never disagree, and an exported file
imports back unchanged. The import reads with openpyxl's read-only mode and the export
writes with its write-only mode, so neither holds a workbook of rows in memory.
"""

from __future__ import annotations

import asyncio
import io
import re
import tempfile
import uuid
import zipfile
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from auth.scope import scope
from resolvers.endpoints import endpoint_viewer, json_error
from auth.viewer import Viewer
from models import InspectionStatus, Institution, Kind, Mode, Nature, Region
from resolvers import audit, spreadsheets
from resolvers.institutions import (
    PERSONAL,
    InstitutionFilter,
    check_writer,
    duplicate_credit_code,
    listed,
    province_of,
    sees_personal_data,
)
from resolvers.registration import (
    CHOICES,
    FIELDS,
    FIELDS_BY_PART,
    SAVED_FLAG,
    Context,
    FieldSpec,
    Part,
    kind_conflict,
    validate_part,
)
from schema.errors import ApiError

DATA_SHEET = "机构信息"
GUIDE_SHEET = "填写说明"
LISTS_SHEET = "_lists"
MARK_SHEET = "_template"
TEMPLATE_MARK = "xwpx-institutions-v1"
REGION_HEADER = "所在区县代码 *"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_ROWS = 50_000
#: Zip bombs: all parts decompressed (a full 50,000-row file is about 110 MB), each part's
#: ratio (a sheet compresses about 20:1), the shared strings (openpyxl reads them whole),
#: the cells of one row (it builds each row whole).
MAX_UNZIPPED_BYTES = 400 * 1024 * 1024
MAX_RATIO = 100
MAX_SHARED_STRINGS_BYTES = 128 * 1024 * 1024
MAX_ROW_CELLS = 1_000
_SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
MULTI_SEPARATOR = "、"
TEXT_FORMAT = "@"
DATE_FORMAT = "yyyy-mm-dd"
BOOL_LABELS = {True: "是", False: "否"}
_DIGITS = re.compile(r"[0-9]{1,12}")


def header(spec: FieldSpec) -> str:
    return spec.label + (" *" if spec.required and spec.part is Part.BASICS else "")


HEADERS = [REGION_HEADER] + [header(spec) for spec in FIELDS]
HEADER_OF = {spec.key: header(spec) for spec in FIELDS}


# --- template -------------------------------------------------------------------------


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
            "text": lambda s: f"文本，不超过 {s.max_length} 字" if s.max_length else "文本",
        }[spec.type](spec)
        yield [header(spec), spec.part.value, need, rule]
    yield []
    yield ["说明：第 1 部分（基本情况）每行必填；第 2–5 部分整部分留空表示尚未登记该部分，填写任一列即按该部分的规则校验。"]
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
        if spec.type == "text":  # text columns keep leading zeros and long digit strings
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


# --- cell values ----------------------------------------------------------------------


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
    return value


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a code typed into a number cell
    if isinstance(value, datetime | date):
        value = value.date().isoformat() if isinstance(value, datetime) else value.isoformat()
    return str(value).strip()


def from_cell(spec: FieldSpec, value: Any) -> Any:
    """A cell as the form's Python value; ValueError with a message when it cannot be read."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return [] if spec.type == "multi" else None
    if spec.type == "text":
        return _text(value)
    if spec.type in ("choice", "multi"):
        by_label = {label: key for key, label in CHOICES[spec.choices].items()}
        parts = [p.strip() for p in _text(value).replace(",", MULTI_SEPARATOR).replace("，", MULTI_SEPARATOR).split(MULTI_SEPARATOR)]
        keys = [by_label.get(p) or (p if p in CHOICES[spec.choices] else None) for p in parts if p]
        if None in keys or (spec.type == "choice" and len(keys) != 1):
            raise ValueError(f"{spec.label}的取值无效，可选：" + "、".join(CHOICES[spec.choices].values()))
        return keys[0] if spec.type == "choice" else keys
    if spec.type == "bool":
        text = _text(value)
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
            return date.fromisoformat(_text(value))
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
            number = Decimal(_text(value) if not isinstance(value, float) else repr(value))
            if not number.is_finite():
                raise ValueError
            return number.normalize() if number == number.to_integral() else number
        except (ArithmeticError, ValueError):
            raise ValueError(f"{spec.label}应为数字") from None
    raise AssertionError(spec.type)


def export_row(row: Institution, *, personal: bool = True) -> list[Any]:
    """A row in the template's layout; personal data masked unless ``personal``."""
    values: list[Any] = [row.region_code]
    for spec in FIELDS:
        value = getattr(row, spec.key)
        if not personal and spec.key in PERSONAL:
            value = PERSONAL[spec.key](value)
        if spec.part in SAVED_FLAG and not getattr(row, SAVED_FLAG[spec.part]):
            value = None  # an unsaved part stays empty, so it stays unsaved on re-import
        values.append(to_cell(spec, value))
    return values


# --- import ---------------------------------------------------------------------------


@dataclass
class RowError:
    row: int
    column: str | None
    code: str
    message: str


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)


class ImportFileError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _too_large() -> ImportFileError:
    return ImportFileError(
        "DECOMPRESSED_TOO_LARGE",
        f"文件解压后过大或压缩比异常（解压后最多 {MAX_UNZIPPED_BYTES // (1024 * 1024)} MB，压缩比最多 {MAX_RATIO}:1，每行最多 {MAX_ROW_CELLS} 个单元格），请使用导入模板",
    )


def _check_rows(part) -> None:
    """A worksheet part, read in chunks: no row holds more than ``MAX_ROW_CELLS`` cells
    (openpyxl builds each row whole). Counted on the bytes (fast, constant memory): the
    row and cell start tags with the prefix the part gives SpreadsheetML's namespace."""
    first = part.read(1 << 22)
    found = re.search(rb"<([A-Za-z_][\w.-]*:)?worksheet[\s>]", first[:4096])
    prefix = (found.group(1) or b"") if found else b""
    row = b"<" + prefix + b"row"
    cell_tags = [b"<" + prefix + b"c" + end for end in (b" ", b">", b"/", b"\t", b"\n", b"\r")]
    cells, carry, chunk = 0, b"", first
    while chunk:
        data, chunk = carry + chunk, part.read(1 << 22)
        # A tag never spans the last ">": the rest waits for the next chunk.
        cut = data.rfind(b">") + 1
        body, carry = data[:cut], data[cut:]
        if len(carry) > 1024 * 1024:  # a text longer than any cell may hold
            raise _too_large()
        for index, piece in enumerate(body.split(row)):
            cells = 0 if index else cells
            cells += sum(piece.count(tag) for tag in cell_tags)
            if cells > MAX_ROW_CELLS:
                raise _too_large()


def check_archive(content: bytes) -> None:
    """Refuse a zip bomb before the workbook is opened: the parts' sizes once decompressed
    (as their headers declare them; ``zipfile`` reads no more, and a part that lies fails
    its CRC), each part's compression ratio, the shared strings (read whole) and the width
    of every worksheet's rows."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError):
        raise ImportFileError("NOT_XLSX", "文件不是有效的 Excel（.xlsx）文件，请下载导入模板填写后上传") from None
    with archive:
        parts = archive.infolist()
        if sum(p.file_size for p in parts) > MAX_UNZIPPED_BYTES:
            raise _too_large()
        for part in parts:
            if part.file_size > 1024 * 1024 and part.file_size > MAX_RATIO * max(part.compress_size, 1):
                raise _too_large()
            if part.filename == "xl/sharedStrings.xml" and part.file_size > MAX_SHARED_STRINGS_BYTES:
                raise _too_large()
        for part in parts:
            if part.filename.startswith("xl/worksheets/") and part.filename.endswith(".xml"):
                try:
                    with archive.open(part) as stream:
                        _check_rows(stream)
                except ImportFileError:
                    raise
                except Exception:  # noqa: BLE001 - not XML, or a part that fails its CRC
                    raise ImportFileError("NOT_XLSX", "文件内容已损坏，无法读取") from None


def read_rows(content: bytes) -> Iterator[tuple[int, tuple]]:
    """The data rows (Excel row number, cells) of an import file, or ImportFileError."""
    if not content:
        raise ImportFileError("EMPTY_FILE", "文件为空，请上传填写好的导入模板")
    check_archive(content)
    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - whatever the parsers (zip, XML, openpyxl) reject is not an xlsx
        raise ImportFileError("NOT_XLSX", "文件不是有效的 Excel（.xlsx）文件，请下载导入模板填写后上传") from None
    try:
        if DATA_SHEET not in wb.sheetnames:
            raise ImportFileError("WRONG_TEMPLATE", f"文件中没有“{DATA_SHEET}”工作表，请使用导入模板")
        rows = wb[DATA_SHEET].iter_rows(values_only=True)
        first = next(rows, None)
        found = [(_text(v) if v is not None else "") for v in (first or ())]
        while found and not found[-1]:
            found.pop()
        if found != HEADERS:
            raise ImportFileError("WRONG_TEMPLATE", "表头与导入模板不一致，请下载最新的导入模板")
        for number, cells in enumerate(rows, start=2):
            if number - 1 > MAX_ROWS:
                raise ImportFileError("TOO_MANY_ROWS", f"一次最多导入 {MAX_ROWS} 行")
            cells = tuple(cells[: len(HEADERS)]) + (None,) * (len(HEADERS) - len(cells))
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                continue
            yield number, cells
    except ImportFileError:
        raise
    except Exception:  # noqa: BLE001 - a damaged part of the file, found while reading it
        raise ImportFileError("NOT_XLSX", "文件内容已损坏，无法读取") from None
    finally:
        wb.close()


@dataclass
class _Row:
    number: int
    region_code: str
    values: dict[str, Any]
    parts: set[Part]


def _parse(number: int, cells: tuple, viewer: Viewer, province: str, today: date, errors: list[RowError]) -> _Row | None:
    before = len(errors)
    region_code = _text(cells[0]) if cells[0] is not None else ""
    if region_code != viewer.region_code:
        errors.append(RowError(number, REGION_HEADER, "OUT_OF_SCOPE", f"所在区县代码应为本账号所在区县 {viewer.region_code}"))
    raw: dict[str, Any] = {}
    for spec, cell in zip(FIELDS, cells[1:], strict=True):
        try:
            raw[spec.key] = from_cell(spec, cell)
        except ValueError as e:
            errors.append(RowError(number, header(spec), "INVALID", str(e)))
    if len(errors) > before:
        return None
    values: dict[str, Any] = {}
    parts = set()
    for part in Part:
        specs = FIELDS_BY_PART[part]
        if part is not Part.BASICS and all(raw[s.key] in (None, []) for s in specs):
            continue  # the part is left for later
        checked = validate_part(part, raw, Context(today=today, province_code=province, kind=values.get("kind")))
        for e in checked.errors:
            errors.append(RowError(number, HEADER_OF.get(e.key), e.code.value, e.message))
        values.update(checked.values)
        parts.add(part)
    return None if len(errors) > before else _Row(number, region_code, values, parts)


def check_rows(rows: Iterable[tuple[int, tuple]], viewer: Viewer, province: str, today: date) -> tuple[list[_Row], list[RowError]]:
    """Every row by the forms' rules, and duplicates within the file. Pure Python: the
    import runs it in a worker thread so the server keeps answering meanwhile."""
    errors: list[RowError] = []
    parsed: list[_Row] = []
    seen: dict[str, int] = {}
    for number, cells in rows:
        row = _parse(number, cells, viewer, province, today, errors)
        if row is None:
            continue
        code = row.values["credit_code"]
        if code in seen:
            errors.append(RowError(number, HEADER_OF["credit_code"], "DUPLICATE", f"与第 {seen[code]} 行的统一社会信用代码重复"))
            continue
        seen[code] = number
        parsed.append(row)
    if not parsed and not errors:
        errors.append(RowError(1, None, "EMPTY_FILE", "模板中没有数据行"))
    return parsed, errors


@dataclass
class _AuditContext:
    """What the audit trail reads from a request, for imports run outside one (the bench)."""

    now: datetime
    client_address: str | None
    viewer: Viewer | None = None


async def import_rows(
    sessionmaker, viewer: Viewer, now: datetime, rows: Iterable[tuple[int, tuple]], client_address: str | None = None
) -> ImportResult:
    """Check every row by the forms' rules, then write all rows in one transaction, or
    none when any row is wrong. The credit code is the natural key: a code already
    registered in the caller's scope updates that institution."""
    check_writer(viewer)
    async with sessionmaker() as db:
        path = (await db.execute(sa.select(Region.path).where(Region.code == viewer.region_code))).scalar_one()
    parsed, errors = await asyncio.to_thread(check_rows, rows, viewer, province_of(path), now.date())
    result = ImportResult(errors=errors)
    by_code = {r.values["credit_code"]: r for r in parsed}
    async with sessionmaker() as db:
        existing: dict[str, uuid.UUID] = {}
        codes = list(by_code)
        for chunk in range(0, len(codes), 5000):
            found = await db.execute(
                sa.select(
                    Institution.credit_code,
                    Institution.id,
                    Institution.operation_saved,
                    Institution.training_categories,
                    scope(viewer, Institution).label("mine"),
                ).where(Institution.credit_code.in_(codes[chunk : chunk + 5000]))
            )
            for code, institution_id, operation_saved, categories, mine in found:
                row = by_code[code]
                if not mine:
                    problem = await duplicate_credit_code(db, viewer, code)
                    result.errors.append(RowError(row.number, HEADER_OF["credit_code"], "DUPLICATE", problem.message))
                    continue
                existing[code] = institution_id
                if operation_saved and Part.OPERATION not in row.parts and kind_conflict(row.values["kind"], categories):
                    # As in the form: a new kind the saved categories do not fit reopens part 3.
                    row.values["operation_saved"] = False
        if result.errors:
            result.errors.sort(key=lambda e: e.row)
            return result
        inserts: dict[frozenset, list[dict]] = {}
        updates: dict[frozenset, list[dict]] = {}
        for row in parsed:
            values = dict(row.values)
            values.update({SAVED_FLAG[p]: True for p in row.parts if p in SAVED_FLAG})
            values["updated_at"] = now
            if row.values["credit_code"] in existing:
                values["id"] = existing[row.values["credit_code"]]
                target = updates
            else:
                values.update(
                    {flag: values.get(flag, False) for flag in SAVED_FLAG.values()},
                    id=uuid.uuid4(),
                    region_code=row.region_code,
                    registering_unit_id=viewer.account_id,
                    created_at=now,
                )
                target = inserts
            # Rows differ in which parts they carry: one executemany per set of columns.
            target.setdefault(frozenset(values), []).append(values)
        try:
            for batch in inserts.values():
                await db.execute(sa.insert(Institution), batch)
            for batch in updates.values():
                await db.execute(sa.update(Institution), batch)
            updated_ids = [row["id"] for batch in updates.values() for row in batch]
            for chunk in range(0, len(updated_ids), 5000):
                await db.execute(
                    sa.update(Institution)
                    .where(Institution.id.in_(updated_ids[chunk : chunk + 5000]))
                    .values(version=Institution.version + 1)
                    .execution_options(synchronize_session=False)
                )
            audit.record(
                db, _AuditContext(now, client_address), "importInstitutions", "InstitutionImport", uuid.uuid4(), viewer.region_code,
                changed={"created": [None, sum(map(len, inserts.values()))], "updated": [None, len(updated_ids)]}, viewer=viewer,
            )
            await db.commit()
        except IntegrityError:
            # Another registration or import took one of the credit codes meanwhile.
            await db.rollback()
            result.errors.append(RowError(0, None, "DUPLICATE", "导入期间有统一社会信用代码被其他登记占用，未导入任何数据，请重新导入"))
            return result
    result.created = sum(map(len, inserts.values()))
    result.updated = sum(map(len, updates.values()))
    return result


async def import_upload(info, upload) -> ImportResult:
    ctx = info.context
    check_writer(ctx.viewer)
    if not hasattr(upload, "read"):
        return ImportResult(errors=[RowError(0, None, "NOT_A_FILE", "请上传 Excel 文件 (a multipart file part, not a value)")])
    content = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(content) > MAX_UPLOAD_BYTES:
        return ImportResult(errors=[RowError(0, None, "FILE_TOO_LARGE", f"文件不能超过 {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")])
    try:
        return await import_rows(ctx.sessionmaker, ctx.viewer, ctx.now, read_rows(content), ctx.client_address)
    except ImportFileError as e:
        return ImportResult(errors=[RowError(0, None, e.code, e.message)])


# --- export ---------------------------------------------------------------------------


async def export_workbook(sessionmaker, viewer: Viewer, f: InstitutionFilter | None) -> tempfile.SpooledTemporaryFile:
    """The rows in scope, in the template's layout, written row by row (write-only mode)
    from a server-side cursor; the file spools to disk past 8 MB."""
    wb = Workbook(write_only=True)
    sheet = wb.create_sheet(DATA_SHEET)
    spreadsheets.append(sheet, HEADERS)
    # Text values are written as strings, which Excel keeps as they are (codes keep their
    # leading zeros; one that reads as a formula is quoted: resolvers.spreadsheets); only
    # dates need a cell format.
    date_columns = [i for i, spec in enumerate(FIELDS, start=1) if spec.type == "date"]
    personal = sees_personal_data(viewer)

    def cells(values: list[Any]) -> list[Any]:
        for index, value in enumerate(values):
            if value is not None and index in date_columns:
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = DATE_FORMAT
                values[index] = cell
        return values

    def append(rows: list[Institution]) -> None:
        for row in rows:
            spreadsheets.append(sheet, cells(export_row(row, personal=personal)))

    stmt = sa.select(Institution).where(listed(viewer, f)).order_by(Institution.name, Institution.id)
    async with sessionmaker() as db:
        stream = await db.stream_scalars(stmt.execution_options(yield_per=1000))
        async for rows in stream.partitions(1000):
            # openpyxl is CPU-bound Python: off the event loop, a thousand rows at a time.
            await asyncio.to_thread(append, rows)
    mark = wb.create_sheet(MARK_SHEET)
    mark.sheet_state = "hidden"
    spreadsheets.append(mark, [TEMPLATE_MARK])
    output = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    await asyncio.to_thread(wb.save, output)
    output.seek(0)
    return output


# --- HTTP -----------------------------------------------------------------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _regulator(request: Request) -> Viewer | JSONResponse:
    return await endpoint_viewer(request, regulators_only=True)


async def template_endpoint(request: Request) -> Response:
    """GET /templates/institutions.xlsx: the import template, for a logged-in regulator."""
    viewer = await _regulator(request)
    if isinstance(viewer, Response):
        return viewer
    return Response(
        template_bytes(),
        media_type=XLSX,
        headers={"Content-Disposition": "attachment; filename*=UTF-8''institutions-template.xlsx"},
    )


def query_boolean(params, name: str) -> bool | None:
    """A ``true``/``false`` query parameter (absent: None)."""
    value = params.get(name)
    if value is None:
        return None
    if value not in ("true", "false"):
        raise ApiError(f"{name} must be true or false", "BAD_USER_INPUT")
    return value == "true"


def query_choice(params, name: str, enum) -> Any:
    """A query parameter naming a member of ``enum`` (absent: None)."""
    value = params.get(name)
    if value is None:
        return None
    try:
        return enum(value)
    except ValueError:
        raise ApiError(f"{name}: unknown value {value!r}", "BAD_USER_INPUT") from None


def filter_from_query(params, today: date) -> InstitutionFilter:
    """The list's filters from query parameters (the GraphQL names)."""
    return InstitutionFilter(
        name=params.get("name"),
        region_code=params.get("regionCode"),
        kind=query_choice(params, "kind", Kind),
        mode=query_choice(params, "mode", Mode),
        nature=query_choice(params, "nature", Nature),
        complete=query_boolean(params, "complete"),
        missing_part=query_choice(params, "missingPart", Part),
        registering_unit_id=params.get("registeringUnitId"),
        inspection_status=query_choice(params, "inspectionStatus", InspectionStatus),
        overdue=query_boolean(params, "overdue"),
        today=today,
    )


async def _record_export(request: Request, viewer: Viewer) -> None:
    """An export with ID numbers in full is a read of personal data: one audit record, with
    the export's filters."""
    import uuid
    from types import SimpleNamespace

    from resolvers import audit

    ctx = SimpleNamespace(viewer=viewer, now=request.app.state.settings.clock(), client_address=request.client.host if request.client else None)
    async with request.app.state.sessionmaker() as db:
        audit.record(
            db, ctx, "exportInstitutions", "InstitutionExport", uuid.uuid4(), viewer.region_code,
            changed={"filter": [None, dict(request.query_params)], "fields": [None, ["legalRepresentative.idNumber"]]},
        )
        await db.commit()


async def export_endpoint(request: Request) -> Response:
    """GET /exports/institutions.xlsx?name=…&regionCode=…: the list in the caller's scope."""
    viewer = await _regulator(request)
    if isinstance(viewer, Response):
        return viewer
    try:
        f = filter_from_query(request.query_params, request.app.state.settings.clock().date())
    except ApiError as e:
        return json_error(400, "BAD_USER_INPUT", e.message)
    output = await export_workbook(request.app.state.sessionmaker, viewer, f)
    if sees_personal_data(viewer):
        await _record_export(request, viewer)

    async def chunks() -> AsyncIterator[bytes]:
        try:
            while chunk := output.read(64 * 1024):
                yield chunk
        finally:
            output.close()

    stamp = request.app.state.settings.clock().strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(
        chunks(),
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''institutions-{stamp}.xlsx"},
    )

