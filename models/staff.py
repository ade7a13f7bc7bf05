"""An institution's staff (从业人员, docs/DOMAIN.md §P6)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.clock import utcnow
from models.columns import enum_column, institution_fk, strings_column, timestamp_column, version_column


class Gender(StrEnum):
    MALE = "MALE"  # 男
    FEMALE = "FEMALE"  # 女


class Post(StrEnum):
    TEACHING = "TEACHING"  # 教学
    RESEARCH = "RESEARCH"  # 教研
    MANAGEMENT = "MANAGEMENT"  # 管理
    OTHER = "OTHER"  # 其他


class Employment(StrEnum):
    FULL_TIME = "FULL_TIME"  # 专职
    PART_TIME = "PART_TIME"  # 兼职


class StaffStatus(StrEnum):
    ACTIVE = "ACTIVE"  # 在职
    DEPARTED = "DEPARTED"  # 离职


class Staff(SQLModel, table=True):
    """从业人员. A teacher of subjects (学科类) must hold a teacher qualification certificate."""

    __tablename__ = "staff"
    __table_args__ = (
        sa.UniqueConstraint("institution_id", "id_number", name="uq_staff_institution_id_number"),
        sa.Index("ix_staff_institution_status_name", "institution_id", "status", "name", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    institution_id: uuid.UUID = Field(sa_column=institution_fk())
    name: str = Field(max_length=50)
    gender: Gender = Field(sa_column=enum_column(Gender, nullable=False))
    id_number: str = Field(max_length=18)
    phone: str = Field(max_length=20)
    post: Post = Field(sa_column=enum_column(Post, nullable=False))
    employment: Employment = Field(sa_column=enum_column(Employment, nullable=False))
    subjects: list[str] = Field(default_factory=list, sa_column=strings_column())
    teacher_certificate_number: str | None = Field(default=None, max_length=30)
    years_in_education: int | None = None
    status: StaffStatus = Field(default=StaffStatus.ACTIVE, sa_column=enum_column(StaffStatus, nullable=False))
    joined_on: date
    departed_on: date | None = None
    version: int = Field(default=1, sa_column=version_column())
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
