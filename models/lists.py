"""Black and white lists (黑白名单), published by regulators in numbered periods (第N期) per
region, as snapshots: an entry copies what the public reads of the institution when the
period is published, so later edits (or the institution's deletion) do not change a
published period."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.columns import enum_column, timestamp_column


class ListKind(StrEnum):
    WHITE = "WHITE"  # 白名单: approved and registered institutions
    BLACK = "BLACK"  # 黑名单: with the reason


class ListPeriod(SQLModel, table=True):
    __tablename__ = "list_period"
    __table_args__ = (sa.UniqueConstraint("region_code", "kind", "number", name="uq_list_period_number"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    region_code: str = Field(foreign_key="region.code", max_length=6)
    kind: ListKind = Field(sa_column=enum_column(ListKind, nullable=False))
    #: 第N期, from 1 per region and kind.
    number: int
    title: str = Field(max_length=200)
    published_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    published_by: uuid.UUID | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    entry_count: int = 0
    #: Why it was published, when not by hand: a white list revised because a black list
    #: named some of its institutions (resolvers.lists).
    note: str | None = Field(default=None, max_length=300)


class ListEntry(SQLModel, table=True):
    __tablename__ = "list_entry"
    __table_args__ = (
        sa.Index("ix_list_entry_period_name", "period_id", "name", "id"),
        sa.Index("ix_list_entry_institution", "institution_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    period_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("list_period.id", ondelete="CASCADE"), nullable=False))
    #: The institution it was taken from (no foreign key: the snapshot outlives a deletion).
    institution_id: uuid.UUID
    name: str = Field(max_length=200)
    credit_code: str = Field(max_length=18)
    county_code: str = Field(max_length=6)
    address: str = Field(max_length=300)
    licence_number: str | None = Field(default=None, max_length=50)
    #: 列入黑名单的原因 (black list only).
    reason: str | None = Field(default=None, max_length=500)


def is_current(period: Any, kind: ListKind) -> sa.ColumnElement[bool]:
    """Whether ``period`` (an alias of ``ListPeriod``) is its region's current period of
    ``kind``: the highest number."""
    newest = (
        sa.select(sa.func.max(ListPeriod.number))
        .where(ListPeriod.region_code == period.region_code, ListPeriod.kind == kind)
        .correlate(period)
        .scalar_subquery()
    )
    return sa.and_(period.kind == kind, period.number == newest)
