"""An institution's funds (资金管理, docs/DOMAIN.md §P5): fee information, supervision
information and the basic account, versioned."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.clock import utcnow
from models.columns import enum_column, timestamp_column


class ChargingMethod(StrEnum):
    BY_CLASS_HOUR = "BY_CLASS_HOUR"  # 按课时收费
    BY_TERM = "BY_TERM"  # 按期（按课程）收费
    BY_MONTH = "BY_MONTH"  # 按月收费
    OTHER = "OTHER"  # 其他（见收费标准说明）


class InstitutionFunds(SQLModel, table=True):
    """One row per institution, created by its first save."""

    __tablename__ = "institution_funds"

    institution_id: uuid.UUID = Field(primary_key=True, foreign_key="institution.id", ondelete="CASCADE")
    # 收费信息
    charging_method: ChargingMethod | None = Field(default=None, sa_column=enum_column(ChargingMethod, nullable=True))
    fee_standard: str | None = Field(default=None, max_length=500)
    #: The longest period one payment covers, as declared (the rule of at most 3 months or
    #: 60 class hours is checked elsewhere, as a finding; never refused here).
    max_months_per_payment: int | None = None
    max_class_hours_per_payment: int | None = None
    refund_policy: str | None = Field(default=None, max_length=2000)
    # 监管信息
    escrow_bank: str | None = Field(default=None, max_length=100)
    supervised_account_number: str | None = Field(default=None, max_length=32)
    risk_reserve: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric(14, 2), nullable=True))
    # 基本账户
    basic_account_bank: str | None = Field(default=None, max_length=100)
    basic_account_name: str | None = Field(default=None, max_length=100)
    basic_account_number: str | None = Field(default=None, max_length=32)
    #: Bumped by every save; a save based on an older version is refused.
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False, server_default="1"))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    updated_by: uuid.UUID | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
