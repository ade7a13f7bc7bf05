"""The batch import (机构信息批量导入, docs/DOMAIN.md §R2.3): every row checked by the forms' rules, all
or nothing, in one transaction; a credit code already registered in the caller's scope
updates that institution."""

from __future__ import annotations

import asyncio
import io
import re
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from openpyxl import load_workbook
from sqlalchemy.exc import IntegrityError

from auth.scope import scope
from auth.viewer import Viewer
from core.clock import today
from models import Institution, Region
from resolvers import audit, findings
from resolvers.institutions.registration import (
    FIELDS,
    FIELDS_BY_PART,
    SAVED_FLAG,
    Context,
    Part,
    kind_conflict,
    part_four_of_kind,
    validate_part,
)
from resolvers.institutions.saving import check_writer, duplicate_credit_code, province_of
from resolvers.institutions.template import DATA_SHEET, HEADER_OF, HEADERS, MAX_ROWS, REGION_HEADER, cell_text, from_cell, header

#: Zip bombs: all parts decompressed (a full 50,000-row file is about 110 MB), each part's
#: ratio (a sheet compresses about 20:1), the shared strings (openpyxl reads them whole),
#: the cells of one row (it builds each row whole).
MAX_UNZIPPED_BYTES = 400 * 1024 * 1024
MAX_RATIO = 100
MAX_SHARED_STRINGS_BYTES = 128 * 1024 * 1024
MAX_ROW_CELLS = 1_000
MAX_UPLOAD_BYTES = 20 * 1024 * 1024




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
    #: The data rows the file held: 0 for a template imported as downloaded, which is a
    #: plain "nothing to import", not an error.
    rows: int = 0


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
        found = [(cell_text(v) if v is not None else "") for v in (first or ())]
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
    """A row by the forms' rules, every problem of it at once: a cell that cannot be read is
    its error, and the rest of the row is checked all the same."""
    before = len(errors)
    region_code = cell_text(cells[0]) if cells[0] is not None else ""
    if region_code != viewer.region_code:
        errors.append(RowError(number, REGION_HEADER, "OUT_OF_SCOPE", f"所在区县代码应为本账号所在区县 {viewer.region_code}"))
    raw: dict[str, Any] = {}
    unreadable: set[str] = set()
    for spec, cell in zip(FIELDS, cells[1:], strict=True):
        try:
            raw[spec.key] = from_cell(spec, cell)
        except ValueError as e:
            errors.append(RowError(number, header(spec), "INVALID", str(e)))
            raw[spec.key] = None
            unreadable.add(spec.key)
    values: dict[str, Any] = {}
    parts = set()
    for part in Part:
        specs = FIELDS_BY_PART[part]
        if part is not Part.BASICS and all(raw[s.key] in (None, []) and s.key not in unreadable for s in specs):
            continue  # the part is left for later
        checked = validate_part(part, raw, Context(today=today, province_code=province, kind=values.get("kind")))
        for e in checked.errors:
            if e.key not in unreadable:  # that cell's error is said already
                errors.append(RowError(number, HEADER_OF.get(e.key), e.code.value, e.message))
        values.update(checked.values)
        parts.add(part)
    return None if len(errors) > before else _Row(number, region_code, values, parts)


def _follow_kind(row: _Row, saved: bool, no_subject_training: bool | None) -> None:
    """Part 4 as the row's kind makes it (``part_four_of_kind``) when the row leaves part 4
    out (a row that fills it in was checked against the kind): ``saved`` and
    ``no_subject_training`` are the institution's as registered (a new one: False, None)."""
    if Part.SUBJECT_TRAINING not in row.parts:
        row.values.update(part_four_of_kind(row.values["kind"], saved, no_subject_training))


def check_rows(rows: Iterable[tuple[int, tuple]], viewer: Viewer, province: str, today: date) -> tuple[list[_Row], list[RowError], int]:
    """Every row by the forms' rules, and duplicates within the file, and how many data
    rows there were. Pure Python: the import runs it in a worker thread so the server keeps
    answering meanwhile."""
    errors: list[RowError] = []
    parsed: list[_Row] = []
    seen: dict[str, int] = {}
    count = 0
    for number, cells in rows:
        count += 1
        row = _parse(number, cells, viewer, province, today, errors)
        if row is None:
            continue
        code = row.values["credit_code"]
        if code in seen:
            errors.append(RowError(number, HEADER_OF["credit_code"], "DUPLICATE", f"与第 {seen[code]} 行的统一社会信用代码重复"))
            continue
        seen[code] = number
        parsed.append(row)
    return parsed, errors, count


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
    parsed, errors, count = await asyncio.to_thread(check_rows, rows, viewer, province_of(path), today(now))
    result = ImportResult(errors=errors, rows=count)
    if count == 0:
        return result  # the template as downloaded: nothing to import, nothing written
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
                    Institution.subject_training_saved,
                    Institution.no_subject_training,
                    scope(viewer, Institution).label("mine"),
                ).where(Institution.credit_code.in_(codes[chunk : chunk + 5000]))
            )
            for code, institution_id, operation_saved, categories, part_four_saved, no_subject_training, mine in found:
                row = by_code[code]
                if not mine:
                    problem = await duplicate_credit_code(db, viewer, code)
                    result.errors.append(RowError(row.number, HEADER_OF["credit_code"], "DUPLICATE", problem.message))
                    continue
                existing[code] = institution_id
                if operation_saved and Part.OPERATION not in row.parts and kind_conflict(row.values["kind"], categories):
                    # As in the form: a new kind the saved categories do not fit reopens part 3.
                    row.values["operation_saved"] = False
                _follow_kind(row, part_four_saved, no_subject_training)
        if result.errors:
            result.errors.sort(key=lambda e: e.row)
            return result
        inserts: dict[frozenset, list[dict]] = {}
        updates: dict[frozenset, list[dict]] = {}
        for row in parsed:
            if row.values["credit_code"] not in existing:
                _follow_kind(row, False, None)
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
            await findings.refresh(db, [row["id"] for batch in (*inserts.values(), *updates.values()) for row in batch])
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
