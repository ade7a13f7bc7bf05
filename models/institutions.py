"""Institutions (校外培训机构) and their five-part registration (新增登记, docs/DOMAIN.md §R2.2).

Every part is stored in columns of the one row, so lists, filters, exports and statistics
read one table; ``*_saved`` records which parts have been saved (the basic situation is
saved when the row is created).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from core.clock import utcnow
from models.columns import enum_column, timestamp_column


class Kind(StrEnum):
    SUBJECT = "SUBJECT"  # 学科类
    NON_SUBJECT = "NON_SUBJECT"  # 非学科类


class Mode(StrEnum):
    ONLINE = "ONLINE"  # 线上
    OFFLINE = "OFFLINE"  # 线下


class Nature(StrEnum):
    FOR_PROFIT = "FOR_PROFIT"  # 营利性
    NON_PROFIT = "NON_PROFIT"  # 非营利性


class QualificationStatus(StrEnum):
    FULL = "FULL"  # 证照齐全
    BUSINESS_LICENCE_ONLY = "BUSINESS_LICENCE_ONLY"  # 有照无证
    LICENCE_ONLY = "LICENCE_ONLY"  # 有证无照
    NONE = "NONE"  # 无证无照


class TrainingCategory(StrEnum):
    SUBJECT = "SUBJECT"  # 学科类
    SPORTS = "SPORTS"  # 体育类
    ARTS = "ARTS"  # 文化艺术类
    SCIENCE_TECHNOLOGY = "SCIENCE_TECHNOLOGY"  # 科技类
    OTHER = "OTHER"  # 其他类 (free text required)


class Subject(StrEnum):
    CHINESE = "CHINESE"  # 语文
    MATHEMATICS = "MATHEMATICS"  # 数学
    ENGLISH = "ENGLISH"  # 英语
    PHYSICS = "PHYSICS"  # 物理
    CHEMISTRY = "CHEMISTRY"  # 化学
    BIOLOGY = "BIOLOGY"  # 生物
    HISTORY = "HISTORY"  # 历史
    GEOGRAPHY = "GEOGRAPHY"  # 地理
    MORALITY_LAW = "MORALITY_LAW"  # 道德与法治（思想政治）


class Grade(StrEnum):
    PRIMARY = "PRIMARY"  # 小学
    JUNIOR_SECONDARY = "JUNIOR_SECONDARY"  # 初中
    SENIOR_SECONDARY = "SENIOR_SECONDARY"  # 高中


class Premises(StrEnum):
    OWNED = "OWNED"  # 自有
    LEASED = "LEASED"  # 租赁


class ReviewStatus(StrEnum):
    """审核状态: the institution's latest compliance application (合规申请)."""

    NOT_SUBMITTED = "NOT_SUBMITTED"  # 未提交
    PENDING = "PENDING"  # 审核中
    APPROVED = "APPROVED"  # 已通过（合规）
    REJECTED = "REJECTED"  # 未通过


class Institution(SQLModel, table=True):
    __tablename__ = "institution"
    __table_args__ = (
        sa.Index("ix_institution_name_id", "name", "id"),
        sa.Index("ix_institution_region_name", "region_code", "name", "id"),
        sa.Index("ix_institution_name_trgm", "name", postgresql_using="gin", postgresql_ops={"name": "gin_trgm_ops"}),
        # The names' character bigrams (migration 0015's SQL function): the public lookup's forgiving stage.
        sa.Index("ix_institution_name_bigrams", sa.text("name_bigrams(name)"), postgresql_using="gin"),
        # Statistics read a region's institutions by an index-only scan (migration 0010).
        sa.Index(
            "ix_institution_statistics",
            "region_code",
            postgresql_include=[
                "id", "registering_unit_id", "kind", "mode", "nature", "training_categories", "inspection_status",
                "open_deadline", "review_status", "deregistered_at", "qualifications_saved", "operation_saved",
                "subject_training_saved", "facilities_saved", "created_at",
            ],
        ),
        # 逾期 by region: the rectifying institutions and their deadlines (migration 0013).
        sa.Index("ix_institution_rectifying", "region_code", "open_deadline", postgresql_where=sa.text("inspection_status = 'RECTIFYING'")),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # Part 1: basic situation (基本情况)
    name: str = Field(max_length=200)
    credit_code: str = Field(max_length=18, unique=True)
    region_code: str = Field(foreign_key="region.code", max_length=6)
    address: str = Field(max_length=300)
    postal_code: str | None = Field(default=None, max_length=6)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)
    kind: Kind = Field(sa_column=enum_column(Kind, nullable=False))
    mode: Mode = Field(sa_column=enum_column(Mode, nullable=False))
    nature: Nature = Field(sa_column=enum_column(Nature, nullable=False))
    legal_rep_name: str = Field(max_length=50)
    legal_rep_id_number: str = Field(max_length=18)
    legal_rep_phone: str = Field(max_length=20)
    contact_name: str = Field(max_length=50)
    contact_phone: str = Field(max_length=20)
    #: 登记单位; None for an institution registered by its own account (机构自主注册).
    registering_unit_id: uuid.UUID | None = Field(default=None, foreign_key="account.id", index=True, ondelete="RESTRICT")
    # Part 2: qualifications (办学资质)
    qualification_status: QualificationStatus | None = Field(
        default=None, sa_column=enum_column(QualificationStatus, nullable=True)
    )
    licence_number: str | None = Field(default=None, max_length=50)
    licence_issuer: str | None = Field(default=None, max_length=100)
    licence_valid_from: date | None = None
    licence_valid_to: date | None = None
    business_licence_number: str | None = Field(default=None, max_length=50)
    business_licence_issuer: str | None = Field(default=None, max_length=100)
    # Part 3: operation (办学情况)
    training_categories: list[str] = Field(
        default_factory=list, sa_column=sa.Column(ARRAY(sa.String(24)), nullable=False, server_default="{}")
    )
    other_category: str | None = Field(default=None, max_length=100)
    student_count: int | None = None
    staff_count: int | None = None
    teacher_count: int | None = None
    # Part 4: K-12 subject training (中小学学科类培训情况)
    no_subject_training: bool | None = None
    subjects: list[str] = Field(
        default_factory=list, sa_column=sa.Column(ARRAY(sa.String(24)), nullable=False, server_default="{}")
    )
    grades: list[str] = Field(
        default_factory=list, sa_column=sa.Column(ARRAY(sa.String(24)), nullable=False, server_default="{}")
    )
    #: 上课时间: ``[{"weekday": 1-7, "start": "HH:MM", "end": "HH:MM"}]`` (``resolvers.class_times``).
    class_sessions: list = Field(default_factory=list, sa_column=sa.Column(JSONB, nullable=False, server_default="[]"))
    #: 上课时间说明: free text, a note only (what migration 0019 could not read stays here).
    class_times_note: str | None = Field(default=None, max_length=200)
    #: 收费周期: the longest one payment covers, in months and in class hours.
    fee_months: int | None = None
    fee_class_hours: int | None = None
    fee_per_hour: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric(10, 2), nullable=True))
    # Part 5: facilities (办学条件)
    floor_area: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric(12, 2), nullable=True))
    teaching_area: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric(12, 2), nullable=True))
    premises: Premises | None = Field(default=None, sa_column=enum_column(Premises, nullable=True))
    lease_end: date | None = None
    fire_safety_approved: bool | None = None
    # Inspection (排查), kept by the inspection mutations in the same transaction so that
    # lists filter and count by it: the latest inspection's status, and the earliest
    # deadline of the open ledger's unfinished items (overdue once it has passed).
    inspection_status: str = Field(default="NOT_INSPECTED", max_length=16, index=True)
    open_deadline: date | None = None
    # Review (审核状态) of the latest compliance application, and deregistration (注销):
    # a deregistered institution is read-only and its accounts cannot log in.
    review_status: str = Field(
        default="NOT_SUBMITTED", sa_column=sa.Column(sa.String(16), nullable=False, server_default="NOT_SUBMITTED", index=True)
    )
    deregistered_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    # Progress (登记进度)
    qualifications_saved: bool = False
    operation_saved: bool = False
    subject_training_saved: bool = False
    facilities_saved: bool = False
    #: Bumped by every save of the form's data; a save based on an older version is refused.
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False, server_default="1"))
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
