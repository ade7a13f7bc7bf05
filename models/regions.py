"""The national administrative divisions (行政区划) as a tree under the ministry's root, with
their history: when each took effect and was retired, its successors, and the change sets
(区划调整) that made them so (docs/DOMAIN.md §G2, docs/regions.md)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Field, SQLModel

from models.columns import timestamp_column

#: The root above the provinces: the ministry's (部级) region.
ROOT_CODE = "000000"
ROOT_NAME = "全国"
#: The day the base table (data/regions.csv) describes: regions without ``valid_from`` were
#: in force then.
BASE_TABLE_DAY = date(2023, 6, 30)


class Region(SQLModel, table=True):
    """One region. ``level``: 0 the national root, 1 province, 2 prefecture, 3 county.

    ``path`` is the chain of codes from the root down to this region, each followed by
    ``/`` (``000000/440000/440100/440106/``), so a subtree is one indexed prefix match. A
    region retired into one successor (a merge, a recode) is kept under that successor's
    path (``…/500157/500105/``): what still bears its code (the audit trail, published
    lists) is read with the successor's subtree. ``parent_code`` stays the parent it had.

    ``valid_from`` is the day it took effect (None: in force in the base table, 2023-06-30);
    ``valid_to`` the first day it is no longer in force (None: in force). A retired region
    stays in the table, so an old code still resolves.
    """

    __tablename__ = "region"
    __table_args__ = (
        sa.Index("ix_region_path", "path", postgresql_ops={"path": "varchar_pattern_ops"}),
    )

    code: str = Field(primary_key=True, max_length=6)
    name: str = Field(max_length=64)
    level: int = Field(ge=0, le=3)
    parent_code: str | None = Field(default=None, foreign_key="region.code", index=True)
    path: str = Field(max_length=200)
    valid_from: date | None = None
    valid_to: date | None = None


def valid_on(day: date | ColumnElement, region: Any = Region) -> ColumnElement[bool]:
    """The regions in force on ``day`` (of ``region``, an alias of the table if given)."""
    return sa.and_(
        sa.or_(region.valid_from.is_(None), region.valid_from <= day),
        sa.or_(region.valid_to.is_(None), region.valid_to > day),
    )


def in_force(valid_from: date | None, valid_to: date | None, day: date) -> bool:
    """``valid_on`` for one region's dates, in Python."""
    return (valid_from is None or valid_from <= day) and (valid_to is None or day < valid_to)


class RegionSuccessor(SQLModel, table=True):
    """继任区划: a retired region and each region that took its place (one for a merge or a
    recode, several for a split)."""

    __tablename__ = "region_successor"

    code: str = Field(foreign_key="region.code", primary_key=True, max_length=6)
    successor_code: str = Field(foreign_key="region.code", primary_key=True, max_length=6, index=True)


class RegionChangeSet(SQLModel, table=True):
    """A change set (区划调整) as applied: its name (the file's ``id``, applied once), the file
    itself and what the application moved."""

    __tablename__ = "region_change_set"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    title: str = Field(max_length=200)
    effective: date
    #: SHA-256 of the file as applied.
    digest: str = Field(max_length=64)
    applied_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    applied_by: str = Field(max_length=64)
    content: dict = Field(sa_column=sa.Column(JSONB, nullable=False))
    #: What was moved, by change and kind of record.
    moved: list = Field(sa_column=sa.Column(JSONB, nullable=False))


class RegionChange(SQLModel, table=True):
    """One change of one region, in the order applied: ``kind`` (CREATE, RENAME, RECODE,
    MERGE, SPLIT, MOVE, TRANSFER) and ``details`` (``{"name": [old, new]}``, ``{"parent": [old,
    new]}``, ``{"into": [...]}``, ``{"from": [...]}``)."""

    __tablename__ = "region_change"
    __table_args__ = (sa.Index("ix_region_change_region", "region_code", "seq"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    seq: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), nullable=False, unique=True))
    change_set_id: uuid.UUID = Field(foreign_key="region_change_set.id")
    region_code: str = Field(foreign_key="region.code", max_length=6)
    kind: str = Field(max_length=16)
    effective: date
    details: dict = Field(sa_column=sa.Column(JSONB, nullable=False))
