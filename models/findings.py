"""The findings of the rules on an institution's own records (docs/DOMAIN.md §G4), as last
checked: ``resolvers.findings`` checks the records and keeps what it found here, in the
same transaction as every change of them, so that what reads an institution's standing —
one statement for a list page, a filter, a count — finds its open violations in one table
(their number is kept per institution in ``institution_tally.violations`` by a trigger,
migration 0018). Written only by ``resolvers.findings.refresh``."""

from __future__ import annotations

import uuid
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel


class Severity(StrEnum):
    VIOLATION = "VIOLATION"  # 违规: the institution is not compliant while it is open
    WARNING = "WARNING"  # 提示: shown, blocks nothing


class InstitutionFinding(SQLModel, table=True):
    __tablename__ = "institution_finding"
    # The findings list's and the institution list's filters by rule and severity (migration 0020).
    __table_args__ = (sa.Index("ix_institution_finding_rule", "rule", "severity", "institution_id"),)

    institution_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("institution.id", ondelete="CASCADE"), primary_key=True)
    )
    #: The order the rules found them in (the institution, its classes by name, sites, funds, materials).
    position: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False))
    rule: str = Field(max_length=40)
    severity: str = Field(max_length=16)
    message: str = Field(max_length=500)
    source: str = Field(max_length=300)
    record_type: str = Field(max_length=40)
    record_id: uuid.UUID
    record_name: str = Field(max_length=200)
    #: The other records the finding concerns, where it is shown too (the classes of a site
    #: over its area in one time slot, the classes of a teacher without a certificate).
    related_ids: list[uuid.UUID] = Field(
        default_factory=list, sa_column=sa.Column(ARRAY(sa.Uuid), nullable=False, server_default="{}")
    )
