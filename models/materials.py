"""Training materials (培训材料, docs/DOMAIN.md §P7)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.clock import utcnow
from models.columns import enum_column, institution_fk, strings_column, timestamp_column, version_column


class MaterialType(StrEnum):
    TEXTBOOK = "TEXTBOOK"  # 教材
    HANDOUT = "HANDOUT"  # 讲义
    EXERCISES = "EXERCISES"  # 练习册
    AUDIOVISUAL = "AUDIOVISUAL"  # 音视频
    OTHER = "OTHER"  # 其他


class MaterialReview(StrEnum):
    NOT_REVIEWED = "NOT_REVIEWED"  # 未审核
    APPROVED = "APPROVED"  # 审核通过
    REJECTED = "REJECTED"  # 审核未通过


class Material(SQLModel, table=True):
    """培训材料, with what the materials rules look at: the author's years in education and,
    for subject materials, the author's teacher qualification certificate."""

    __tablename__ = "material"
    __table_args__ = (sa.Index("ix_material_institution_name", "institution_id", "name", "id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    institution_id: uuid.UUID = Field(sa_column=institution_fk())
    name: str = Field(max_length=200)
    category: str = Field(max_length=24)  # TrainingCategory
    subject: str | None = Field(default=None, max_length=24)
    grades: list[str] = Field(default_factory=list, sa_column=strings_column())
    type: MaterialType = Field(sa_column=enum_column(MaterialType, nullable=False))
    author: str = Field(max_length=100)
    publisher: str | None = Field(default=None, max_length=100)
    edition: str | None = Field(default=None, max_length=50)
    author_years_in_education: int
    author_certificate_number: str | None = Field(default=None, max_length=30)
    #: Set by the regulator that reviews the institution (docs/DOMAIN.md §P1.3.1), never by
    #: the institution; an edit of the material makes it NOT_REVIEWED again.
    review: MaterialReview = Field(default=MaterialReview.NOT_REVIEWED, sa_column=enum_column(MaterialReview, nullable=False))
    reviewed_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    reviewed_by: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, sa.ForeignKey("account.id", ondelete="SET NULL", name="material_reviewed_by_fkey"), nullable=True)
    )
    review_opinion: str | None = Field(default=None, max_length=500)
    version: int = Field(default=1, sa_column=version_column())
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
