"""Findings as data (规则检查发现的问题, docs/DOMAIN.md §G4): the regulators' list of the findings
kept for the institutions in their scope (``models.findings``), its filter, and its export.

A finding is in scope exactly when its institution is (``auth.scope``: findings are owned by
their institution). The list is ordered by institution, then by the order the rules found
them in (the table's primary key: a page reads only its rows). The licence's rules
(``resolvers.findings.LICENCE_RULES``) are not kept: they follow from the standing and the
day, which the institution list filters by (``licensed``, ``standingReason``).

What the filters of the findings and of the institution list say of findings comes from one
place (``has_finding``), so that an institution listed with a filter has exactly the
findings the findings list shows for it.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook

from auth.scope import scope, subtree_of
from auth.viewer import Viewer
from core.ids import parse_id
from models import Institution, InstitutionFinding, Region, Severity
from models.database import single_statements
from resolvers import spreadsheets
from resolvers.filters import RecordId, condition, criterion
from resolvers.findings import LICENCE_RULES, RULES
from resolvers.pagination import Page, decode_cursor, page_of, page_size

#: The rules whose findings are kept (every rule but the licence's), as a GraphQL enum's values.
FindingRule = StrEnum("FindingRule", {rule: rule for rule in RULES if rule not in LICENCE_RULES})

def has_finding(*conditions: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    """The institution has a kept finding meeting ``conditions`` (an index probe per institution)."""
    return sa.exists().where(InstitutionFinding.institution_id == Institution.id, *conditions)


def rule_in(rules: Iterable[FindingRule]) -> sa.ColumnElement[bool]:
    return InstitutionFinding.rule.in_([r.value for r in rules])


def _institution(value: str) -> sa.ColumnElement[bool]:
    institution = parse_id(value)
    return InstitutionFinding.institution_id == institution if institution else sa.false()


def _in_region(code: str) -> sa.ColumnElement[bool]:
    return InstitutionFinding.institution_id.in_(sa.select(Institution.id).where(Institution.region_code.in_(subtree_of(code))))


@dataclass
class FindingFilter:
    """The findings list's filter (its export's too): every criterion optional, combined with AND."""

    rules: tuple[FindingRule, ...] | None = criterion("规则编号, any of them (an empty list: every rule)", lambda v, c: rule_in(v), max_length=1000)
    severity: Severity | None = criterion("严重程度: VIOLATION 违规 or WARNING 提示", lambda v, c: InstitutionFinding.severity == v.value)
    region_code: str | None = criterion(
        "机构所在区划及其下级 (institutions in this region or below it; any region in scope)", lambda v, c: _in_region(v), max_length=6
    )
    institution_id: RecordId | None = criterion("培训机构 (an institution's id)", lambda v, c: _institution(v), max_length=36)
    record_type: str | None = criterion(
        "涉及的记录类型 (as `recordType` of a finding: Institution, Site, TrainingClass, Material, InstitutionFunds, …)",
        lambda v, c: InstitutionFinding.record_type == v, max_length=40,
    )


def listed(viewer: Viewer | None, f: FindingFilter | None) -> sa.ColumnElement[bool]:
    """The one condition of the list and the export: scope and filters."""
    return sa.and_(scope(viewer, InstitutionFinding), condition(f))


#: The list's order (and its cursors' keys): the table's primary key.
ORDER = (InstitutionFinding.institution_id, InstitutionFinding.position)
#: What a row shows of its institution besides the finding.
INSTITUTION_COLUMNS = (Institution.name.label("institution_name"), Institution.region_code.label("region_code"), Region.name.label("region_name"))


def _rows(viewer: Viewer | None, f: FindingFilter | None) -> sa.Select:
    """The findings in scope and the filter with their institutions' names and regions, in the list's order."""
    return (
        sa.select(*InstitutionFinding.__table__.c, *INSTITUTION_COLUMNS)
        .join(Institution, Institution.id == InstitutionFinding.institution_id)
        .join(Region, Region.code == Institution.region_code)
        .where(listed(viewer, f))
        .order_by(*ORDER)
    )


def list_statement(viewer: Viewer | None, f: FindingFilter | None, size: int, after: str | None) -> tuple[sa.Select, sa.Select]:
    """The statement of a page of ``size`` (read one past it, with the total alongside), and
    that of the total alone for a page that comes back empty. The keys are the primary key,
    unique together (not the last alone, as ``pagination.page_statement`` needs)."""
    counted = sa.select(sa.func.count()).select_from(InstitutionFinding).where(listed(viewer, f))
    stmt = _rows(viewer, f).add_columns(counted.scalar_subquery().label("total_count")).limit(size + 1)
    if after:
        stmt = stmt.where(sa.tuple_(*ORDER) > sa.tuple_(*decode_cursor(after, ORDER)))
    return stmt, counted


async def list_findings(info, f: FindingFilter | None, first: int | None, after: str | None) -> Page:
    """A page of the findings in the caller's scope, with their institutions' names and
    regions, and the total: one statement (two for an empty page)."""
    ctx = info.context
    size = page_size(first)
    stmt, counted = list_statement(ctx.viewer, f, size, after)
    async with ctx.sessionmaker() as db:
        await single_statements(db)
        rows = list(await db.execute(stmt))
        count = rows[0].total_count if rows else (await db.execute(counted)).scalar_one()
    return page_of(rows, ORDER, size, count)


#: The export's columns.
HEADERS = ("机构所在区划代码", "机构所在区划", "机构名称", "规则编号", "规则", "严重程度", "问题说明", "依据", "涉及的记录类型", "相关记录的名称")
SEVERITY_LABELS = {Severity.VIOLATION.value: "违规", Severity.WARNING.value: "提示"}


def export_row(row: Any) -> list[Any]:
    rule = RULES.get(row.rule)
    return [
        row.region_code, row.region_name, row.institution_name, row.rule, rule.title if rule else row.rule,
        SEVERITY_LABELS.get(row.severity, row.severity), row.message, row.source, row.record_type, row.record_name,
    ]


async def export_workbook(sessionmaker, viewer: Viewer, f: FindingFilter | None) -> tempfile.SpooledTemporaryFile:
    """The findings in scope and the filter, in the list's order, written row by row
    (write-only mode) from a server-side cursor; the file spools to disk past 8 MB."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("规则检查发现的问题")
    spreadsheets.append(sheet, list(HEADERS))
    stmt = _rows(viewer, f)

    def append(rows: list) -> None:
        for row in rows:
            spreadsheets.append(sheet, export_row(row))

    async with sessionmaker() as db:
        stream = await db.stream(stmt.execution_options(yield_per=1000))
        async for rows in stream.partitions(1000):
            await asyncio.to_thread(append, rows)
    output = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    await asyncio.to_thread(book.save, output)
    output.seek(0)
    return output
