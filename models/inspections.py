"""Inspection (排查), rectification ledgers (整改台账) and urging notices (督办)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from core.clock import utcnow
from models.columns import enum_column, timestamp_column


class Problem(StrEnum):
    """Problems an inspection finds (排查发现的问题)."""

    NO_LICENCES = "NO_LICENCES"  # 无证无照
    BUSINESS_LICENCE_ONLY = "BUSINESS_LICENCE_ONLY"  # 有照无证
    LICENCE_ONLY = "LICENCE_ONLY"  # 有证无照
    SAFETY_HAZARD = "SAFETY_HAZARD"  # 存在安全隐患
    BEYOND_CURRICULUM = "BEYOND_CURRICULUM"  # 超纲教学、提前教学
    EXCESSIVE_FEES = "EXCESSIVE_FEES"  # 一次性收费超过3个月或60课时
    LATE_CLASSES = "LATE_CLASSES"  # 培训结束时间晚于20:30
    UNQUALIFIED_TEACHERS = "UNQUALIFIED_TEACHERS"  # 教师无教师资格
    FALSE_ADVERTISING = "FALSE_ADVERTISING"  # 虚假宣传
    OTHER = "OTHER"  # 其他 (text)


class InspectionStatus(StrEnum):
    NOT_INSPECTED = "NOT_INSPECTED"  # 未排查
    NO_PROBLEMS = "NO_PROBLEMS"  # 已排查无问题
    RECTIFYING = "RECTIFYING"  # 整改中
    RECTIFIED = "RECTIFIED"  # 已整改（台账销号）


class ItemProgress(StrEnum):
    NOT_STARTED = "NOT_STARTED"  # 未开始
    IN_PROGRESS = "IN_PROGRESS"  # 整改中
    DONE = "DONE"  # 已完成


class Inspection(SQLModel, table=True):
    """One inspection of an institution. With problems it opens a rectification ledger
    (its items), closed by an acceptance opinion (验收意见, 台账销号), after which the
    record is read-only."""

    __tablename__ = "inspection"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    #: Recording order: the latest inspection is the last by (inspected_on, seq).
    seq: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), nullable=False))
    institution_id: uuid.UUID = Field(foreign_key="institution.id", index=True, ondelete="CASCADE")
    inspected_on: date
    inspecting_unit: str = Field(max_length=100)
    result: str = Field(max_length=1000)
    problems: list[str] = Field(
        default_factory=list, sa_column=sa.Column(ARRAY(sa.String(32)), nullable=False, server_default="{}")
    )
    other_problem: str | None = Field(default=None, max_length=200)
    recorded_by: uuid.UUID = Field(foreign_key="account.id", ondelete="RESTRICT")
    acceptance_opinion: str | None = Field(default=None, max_length=1000)
    accepted_on: date | None = None
    accepted_by: uuid.UUID | None = Field(default=None, foreign_key="account.id", ondelete="RESTRICT")
    #: Bumped by every correction and by the acceptance; a correction based on an older one is refused.
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False, server_default="1"))
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class RectificationItem(SQLModel, table=True):
    """One line of a rectification ledger (整改台账): a problem, the measures, a deadline."""

    __tablename__ = "rectification_item"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    inspection_id: uuid.UUID = Field(foreign_key="inspection.id", index=True, ondelete="CASCADE")
    problem: str = Field(max_length=32)
    measures: str = Field(max_length=1000)
    deadline: date
    progress: ItemProgress = Field(default=ItemProgress.NOT_STARTED, sa_column=enum_column(ItemProgress, nullable=False))
    progress_note: str | None = Field(default=None, max_length=1000)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class UrgingNotice(SQLModel, table=True):
    """督办: an upper level urges a county about one institution or its overdue ledgers."""

    __tablename__ = "urging_notice"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    sender_id: uuid.UUID = Field(foreign_key="account.id", index=True, ondelete="RESTRICT")
    #: The county (lowest region) the notice is addressed to.
    county_code: str = Field(foreign_key="region.code", max_length=6, index=True)
    institution_id: uuid.UUID | None = Field(default=None, foreign_key="institution.id", ondelete="SET NULL")
    message: str = Field(max_length=1000)
    sent_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    handled_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    handled_by: uuid.UUID | None = Field(default=None, foreign_key="account.id", ondelete="RESTRICT")
    handling_note: str | None = Field(default=None, max_length=1000)


