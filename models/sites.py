"""Sites or business systems, their courses and classes (办学点/业务系统 → 培训课程 → 班级,
docs/DOMAIN.md §P8), with the classes' filing (备案)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from core.clock import utcnow
from models.columns import enum_column, institution_fk, strings_column, timestamp_column, version_column


class SiteType(StrEnum):
    SITE = "SITE"  # 办学点 (offline)
    BUSINESS_SYSTEM = "BUSINESS_SYSTEM"  # 业务系统 (online)


class SystemType(StrEnum):
    APP = "APP"  # 移动应用
    WEBSITE = "WEBSITE"  # 网站
    MINI_PROGRAM = "MINI_PROGRAM"  # 小程序
    OTHER = "OTHER"


class Site(SQLModel, table=True):
    """办学点 (an address with a teaching area) or 业务系统 (an app, website or mini program
    with its ICP filing number)."""

    __tablename__ = "site"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    institution_id: uuid.UUID = Field(sa_column=institution_fk())
    type: SiteType = Field(sa_column=enum_column(SiteType, nullable=False))
    name: str = Field(max_length=100)
    # 办学点
    address: str | None = Field(default=None, max_length=300)
    teaching_area: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric(12, 2), nullable=True))
    # 业务系统
    system_type: SystemType | None = Field(default=None, sa_column=enum_column(SystemType, nullable=True))
    url: str | None = Field(default=None, max_length=300)
    icp_filing: str | None = Field(default=None, max_length=50)
    version: int = Field(default=1, sa_column=version_column())
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class Course(SQLModel, table=True):
    """培训课程 at a site or business system. ``subject`` set: a subject (学科类) course."""

    __tablename__ = "course"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    institution_id: uuid.UUID = Field(sa_column=institution_fk())
    site_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("site.id", ondelete="RESTRICT"), nullable=False, index=True))
    name: str = Field(max_length=100)
    category: str = Field(max_length=24)  # TrainingCategory
    subject: str | None = Field(default=None, max_length=24)
    grades: list[str] = Field(default_factory=list, sa_column=strings_column())
    class_hours: int
    description: str | None = Field(default=None, max_length=1000)
    version: int = Field(default=1, sa_column=version_column())
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class FilingStatus(StrEnum):
    NOT_REQUIRED = "NOT_REQUIRED"  # 非学科类, no filing
    NOT_FILED = "NOT_FILED"  # 未备案
    PENDING = "PENDING"  # 备案审核中
    FILED = "FILED"  # 已备案
    REJECTED = "REJECTED"  # 备案未通过


class TrainingClass(SQLModel, table=True):
    """班级: ``schedule`` is a list of ``{"weekday": 1-7, "start": "HH:MM", "end": "HH:MM"}``.
    One payment (``fee``) covers ``fee_months`` months or ``fee_class_hours`` class hours.
    Online classes state the lesson length and the break between lessons."""

    __tablename__ = "training_class"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    institution_id: uuid.UUID = Field(sa_column=institution_fk())
    course_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("course.id", ondelete="RESTRICT"), nullable=False, index=True))
    name: str = Field(max_length=100)
    schedule: list = Field(default_factory=list, sa_column=sa.Column(JSONB, nullable=False, server_default="[]"))
    starts_on: date
    ends_on: date
    capacity: int
    enrolled: int = 0
    fee: Decimal = Field(sa_column=sa.Column(sa.Numeric(10, 2), nullable=False))
    fee_months: int | None = None
    fee_class_hours: int | None = None
    lesson_minutes: int | None = None
    break_minutes: int | None = None
    teacher_ids: list[uuid.UUID] = Field(default_factory=list, sa_column=sa.Column(ARRAY(sa.Uuid), nullable=False, server_default="{}"))
    filing_status: FilingStatus = Field(default=FilingStatus.NOT_REQUIRED, sa_column=enum_column(FilingStatus, nullable=False))
    version: int = Field(default=1, sa_column=version_column())
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
