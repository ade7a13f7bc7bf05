"""The audit trail's records (append-only: a database trigger refuses updates and deletes)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from models.columns import timestamp_column


class AuditRecord(SQLModel, table=True):
    """Who did what to which record, when, from where; ``changes`` the fields changed and
    ``snapshot`` the data of a deleted record (personal data masked in both). Written in the
    same transaction as the change; the database refuses to update or delete it."""

    __tablename__ = "audit_record"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    #: Append order (several records can share one instant).
    seq: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), nullable=False, unique=True))
    at: datetime = Field(sa_column=timestamp_column(nullable=False))
    account_id: uuid.UUID | None = Field(default=None, index=True)
    username: str = Field(max_length=64)
    level: str | None = Field(default=None, max_length=16)
    department: str | None = Field(default=None, max_length=24)
    operation: str = Field(max_length=64, index=True)
    record_type: str = Field(max_length=64)
    record_id: uuid.UUID
    #: The record's region, so reads of the trail are scoped like the record was.
    region_code: str = Field(foreign_key="region.code", max_length=6, index=True)
    client_address: str | None = Field(default=None, max_length=64)
    #: Changed fields: {field: [old, new]}, personal data masked.
    changes: dict | None = Field(default=None, sa_column=sa.Column(JSONB, nullable=True))
    snapshot: dict | None = Field(default=None, sa_column=sa.Column(JSONB, nullable=True))
