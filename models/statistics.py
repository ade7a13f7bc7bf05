"""Maintained counts for statistics (issue 7): what the statistics would otherwise count by
joining 2,000,000 staff, 2,000,000 classes, 400,000 inspections and the applications to the
institutions of a region, kept up to date by triggers in the same transaction as each change
(migration 0013 defines them), so a statistic reads a few rows instead.

- ``institution_tally``: one row per institution (made with it), its counts of records it
  owns: inspections, active staff, teachers and certified teachers, subject classes by filing
  state, applications by type and status; and whether a current period of a white or black
  list names it (the triggers on the lists' tables recount the institutions a new period or
  entry concerns). Written only by the triggers on those tables, each
  change touching its own institution's row, so writers to different institutions never
  wait for each other.
- ``county_tally``: one row per lowest region, the sum over its institutions of their
  states (registered, registration complete, compliant, deregistered, inspection status) and
  of their ``institution_tally``, and its complaints by status and type. The triggers never
  update it: they append each change's difference to ``county_tally_delta`` (no row is
  shared, so no writer waits), and
  ``tally_compact()`` folds the differences into ``county_tally`` in one transaction (the
  server runs it every minute). A count is ``county_tally`` plus the differences not folded
  yet (``kept``), which any snapshot sees consistently: it is exact at every moment.
- ``county_day_tally``: per lowest region and Beijing day, what the monthly series counts:
  registrations, inspections, complaints and approvals, kept the same way (differences in
  ``county_day_delta``, folded by ``tally_compact()``). A record counts for its
  institution's region: an institution that moves takes its days along, one deleted takes
  them away.

``tally_rebuild()`` recomputes them all from the source tables (the dataset generator loads with
the triggers off and calls it), and ``tally_check()`` lists every row that differs from a
recount (none, unless something bypassed the triggers).
"""

from __future__ import annotations

import asyncio
import logging

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from core import faults

log = logging.getLogger("xwpx.tallies")

#: The counts an institution's own records give, in the statistics' order.
APPLICATION_TALLIES = tuple(
    f"{kind}_{status}"
    for kind in ("compliance", "deregistration", "licence", "class_filing")
    for status in ("pending", "approved", "rejected")
)
INSTITUTION_TALLIES = (
    "inspections",
    *APPLICATION_TALLIES,
    "classes_filed",
    "classes_pending",
    "classes_unfiled",
    "staff_active",
    "teachers",
    "certified_teachers",
    # 1 while the institution is named in a current period of any white (black) list.
    "white_listed",
    "black_listed",
)
#: The counts an institution's own state gives (1 or 0 per institution).
STATE_TALLIES = ("registered", "complete", "compliant", "deregistered", "inspected", "with_problems", "rectifying", "rectified")
#: The complaints filed with a county, by status and by type.
COMPLAINT_TALLIES = (
    "complaints",
    *(f"complaints_{status}" for status in ("submitted", "accepted", "replied", "rejected")),
    *(f"complaints_{kind}" for kind in ("illegal_operation", "illegal_enrolment", "other")),
)
COUNTY_TALLIES = STATE_TALLIES + INSTITUTION_TALLIES + COMPLAINT_TALLIES


def _counts(names: tuple[str, ...]) -> list[sa.Column]:
    return [sa.Column(name, sa.BigInteger, nullable=False, server_default="0") for name in names]


institution_tally = sa.Table(
    "institution_tally",
    SQLModel.metadata,
    sa.Column("institution_id", sa.Uuid, sa.ForeignKey("institution.id", ondelete="CASCADE"), primary_key=True),
    #: The institution's region, copied so a removed institution's counts leave its county.
    sa.Column("region_code", sa.String(6), nullable=False),
    *_counts(INSTITUTION_TALLIES),
    # What the standing (``resolvers.standing``) reads besides the institution's row, kept by
    # the triggers of migration 0018: its open violations (``institution_finding``), and, for
    # counting the compliant institutions of a region by an index, the part of compliance
    # that does not depend on the day (``STANDING_BASIS``) with the dates of a licence held.
    sa.Column("violations", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("standing_basis", sa.Boolean, nullable=False, server_default="false"),
    sa.Column("licence_valid_from", sa.Date, nullable=True),
    sa.Column("licence_valid_to", sa.Date, nullable=True),
    # The compliant institutions of each region, with their licences' dates (migration 0018).
    sa.Index(
        "ix_institution_tally_compliant", "region_code",
        postgresql_include=["licence_valid_from", "licence_valid_to"],
        postgresql_where=sa.text("standing_basis AND black_listed = 0 AND violations = 0"),
    ),
)

county_tally = sa.Table(
    "county_tally",
    SQLModel.metadata,
    sa.Column("region_code", sa.String(6), sa.ForeignKey("region.code"), primary_key=True),
    *_counts(COUNTY_TALLIES),
)

#: What the monthly series counts, per county and Beijing day.
DAY_TALLIES = ("registrations", "inspections", "complaints", "approvals")

county_day_tally = sa.Table(
    "county_day_tally",
    SQLModel.metadata,
    sa.Column("region_code", sa.String(6), sa.ForeignKey("region.code"), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True, index=True),
    *_counts(DAY_TALLIES),
)

county_day_delta = sa.Table(
    "county_day_delta",
    SQLModel.metadata,
    sa.Column("region_code", sa.String(6), nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    *_counts(DAY_TALLIES),
)

county_tally_delta = sa.Table(
    "county_tally_delta",
    SQLModel.metadata,
    sa.Column("region_code", sa.String(6), nullable=False),
    *_counts(COUNTY_TALLIES),
)


#: The findings (``institution_finding``) per lowest region, rule and severity: how many, and
#: how many institutions have one (migration 0020: statement triggers over the changed rows).
FINDING_TALLIES = ("findings", "institutions")


county_finding_tally = sa.Table(
    "county_finding_tally",
    SQLModel.metadata,
    sa.Column("region_code", sa.String(6), sa.ForeignKey("region.code"), primary_key=True),
    sa.Column("rule", sa.String(40), primary_key=True),
    sa.Column("severity", sa.String(16), primary_key=True),
    *_counts(FINDING_TALLIES),
)

county_finding_delta = sa.Table(
    "county_finding_delta",
    SQLModel.metadata,
    sa.Column("region_code", sa.String(6), nullable=False),
    sa.Column("rule", sa.String(40), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    *_counts(FINDING_TALLIES),
)


def tally_rows(tally: sa.Table, *columns: str) -> sa.Subquery:
    """The rows of a county tally (``county_tally``, ``county_day_tally`` or
    ``county_finding_tally``) and its differences not folded yet (``county_tally_delta``,
    ``county_day_delta``, ``county_finding_delta``): summed, the exact counts. All columns,
    or ``columns`` only."""
    delta = {county_tally: county_tally_delta, county_day_tally: county_day_delta, county_finding_tally: county_finding_delta}[tally]

    def rows(table: sa.Table) -> sa.Select:
        return sa.select(*(table.c[name] for name in columns)) if columns else sa.select(table)

    return sa.union_all(rows(tally), rows(delta)).subquery("kept")


async def compact(engine: AsyncEngine) -> int:
    """Fold the differences into ``county_tally`` and ``county_day_tally``; returns the rows folded."""
    async with engine.begin() as conn:
        return (await conn.execute(sa.text("SELECT tally_compact()"))).scalar_one()


async def compact_every(engine: AsyncEngine, seconds: float) -> None:
    """``compact`` every ``seconds`` until cancelled (the server runs it; with several workers
    or servers each does, which is safe: a difference is folded once). A failed round is
    logged and the next one tries again; the counts are exact meanwhile."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await compact(engine)
        except Exception as error:
            fault = faults.fault_of(error)
            log.warning(
                "folding the statistics' county differences failed%s; retrying in %s s", f" ({fault.code})" if fault else "", seconds,
                exc_info=fault is None,
            )
