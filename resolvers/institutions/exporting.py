"""The institution list exported in the template's layout (so it imports back unchanged), from a
server-side cursor; ID numbers in full only for the county desk, whose export is a recorded
read of personal data."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from datetime import date
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from auth.roles import sees_personal_data
from auth.viewer import Viewer
from core.masking import mask_field
from models import Institution
from resolvers import audit, spreadsheets
from resolvers.institutions.listing import InstitutionFilter, listed
from resolvers.institutions.registration import FIELDS, SAVED_FLAG
from resolvers.institutions.template import DATA_SHEET, DATE_FORMAT, HEADERS, MARK_SHEET, TEMPLATE_MARK, to_cell


def export_row(row: Institution, *, personal: bool = True) -> list[Any]:
    """A row in the template's layout; personal data masked unless ``personal``."""
    values: list[Any] = [row.region_code]
    for spec in FIELDS:
        value = getattr(row, spec.key)
        if not personal:
            value = mask_field(spec.key, value)
        if spec.part in SAVED_FLAG and not getattr(row, SAVED_FLAG[spec.part]):
            value = None  # an unsaved part stays empty, so it stays unsaved on re-import
        values.append(to_cell(spec, value))
    return values


async def export_workbook(sessionmaker, viewer: Viewer, f: InstitutionFilter | None, day: date) -> tempfile.SpooledTemporaryFile:
    """The rows in scope and the filter as of ``day``, in the template's layout, written row by row (write-only mode)
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

    stmt = sa.select(Institution).where(listed(viewer, f, day)).order_by(Institution.name, Institution.id)
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


async def record_export(sessionmaker, viewer: Viewer, now, client_address: str | None, filters: dict) -> None:
    """An export with ID numbers in full is a read of personal data: one audit record, with
    the export's filters."""
    ctx = SimpleNamespace(viewer=viewer, now=now, client_address=client_address)
    async with sessionmaker() as db:
        audit.record(
            db, ctx, "exportInstitutions", "InstitutionExport", uuid.uuid4(), viewer.region_code,
            changed={"filter": [None, filters], "fields": [None, ["legalRepresentative.idNumber"]]},
        )
        await db.commit()
