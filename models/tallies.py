"""Maintained counts for statistics (issue 7): what the statistics would otherwise count by
joining 2,000,000 staff, 2,000,000 classes, 400,000 inspections and the applications to the
institutions of a region, kept up to date by triggers in the same transaction as each change
(migration 0013 defines them), so a statistic reads a few rows instead.

- ``institution_tally``: one row per institution (made with it), its counts of records it
  owns: inspections, active staff, teachers and certified teachers, subject classes by filing
  state, applications by type and status. Written only by the triggers on those tables, each
  change touching its own institution's row, so writers to different institutions never
  wait for each other.
- ``county_tally``: one row per lowest region, the sum over its institutions of their
  states (registered, registration complete, compliant, deregistered, inspection status) and
  of their ``institution_tally``. The triggers never update it: they append each change's
  difference to ``county_tally_delta`` (no row is shared, so no writer waits), and
  ``tally_compact()`` folds the differences into ``county_tally`` in one transaction (the
  server runs it every minute). A count is ``county_tally`` plus the differences not folded
  yet, which any snapshot sees consistently: it is exact at every moment.

``tally_rebuild()`` recomputes both from the source tables (the dataset generator loads with
the triggers off and calls it), and ``tally_check()`` lists every row that differs from a
recount (none, unless something bypassed the triggers).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import SQLModel

#: The counts an institution's own records give: (column, label), in the statistics' order.
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
)
#: The counts an institution's own state gives (1 or 0 per institution).
STATE_TALLIES = ("registered", "complete", "compliant", "deregistered", "inspected", "with_problems", "rectifying", "rectified")
COUNTY_TALLIES = STATE_TALLIES + INSTITUTION_TALLIES


def _counts(names: tuple[str, ...]) -> list[sa.Column]:
    return [sa.Column(name, sa.BigInteger, nullable=False, server_default="0") for name in names]


institution_tally = sa.Table(
    "institution_tally",
    SQLModel.metadata,
    sa.Column("institution_id", sa.Uuid, sa.ForeignKey("institution.id", ondelete="CASCADE"), primary_key=True),
    #: The institution's region, copied so a removed institution's counts leave its county.
    sa.Column("region_code", sa.String(6), nullable=False),
    *_counts(INSTITUTION_TALLIES),
)

county_tally = sa.Table(
    "county_tally",
    SQLModel.metadata,
    sa.Column("region_code", sa.String(6), sa.ForeignKey("region.code"), primary_key=True),
    *_counts(COUNTY_TALLIES),
)

county_tally_delta = sa.Table(
    "county_tally_delta",
    SQLModel.metadata,
    sa.Column("region_code", sa.String(6), nullable=False),
    *_counts(COUNTY_TALLIES),
)
