"""The institution's own data kept through the portal (seed 001 §6-§8) and its applications.

- Staff (从业人员), active or departed, with dates.
- Sites (办学点) of offline institutions and business systems (业务系统) of online ones, one
  table with a ``type``; each holds courses (培训课程), each course classes (班级) with a
  weekly schedule, capacity, teachers (staff of the same institution) and fees.
- Training materials (培训材料).
- Applications (合规申请, 注销申请, 办学许可申请, 学科类培训班备案), each addressed to one
  authority (region, department, level) fixed when it is submitted.

Every row carries ``institution_id`` (denormalised on courses and classes), so the scope
function limits them through their institution, and a ``version`` for optimistic
concurrency.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from config import utcnow
from models.accounts import _enum, _timestamp


def _version() -> sa.Column:
    return sa.Column(sa.Integer, nullable=False, server_default="1")


def _institution_fk() -> sa.Column:
    return sa.Column(sa.Uuid, sa.ForeignKey("institution.id", ondelete="CASCADE"), nullable=False, index=True)


def _strings() -> sa.Column:
    return sa.Column(ARRAY(sa.String(24)), nullable=False, server_default="{}")


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
    institution_id: uuid.UUID = Field(sa_column=_institution_fk())
    name: str = Field(max_length=50)
    gender: Gender = Field(sa_column=_enum(Gender, nullable=False))
    id_number: str = Field(max_length=18)
    phone: str = Field(max_length=20)
    post: Post = Field(sa_column=_enum(Post, nullable=False))
    employment: Employment = Field(sa_column=_enum(Employment, nullable=False))
    subjects: list[str] = Field(default_factory=list, sa_column=_strings())
    teacher_certificate_number: str | None = Field(default=None, max_length=30)
    years_in_education: int | None = None
    status: StaffStatus = Field(default=StaffStatus.ACTIVE, sa_column=_enum(StaffStatus, nullable=False))
    joined_on: date
    departed_on: date | None = None
    version: int = Field(default=1, sa_column=_version())
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(nullable=False))


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
    institution_id: uuid.UUID = Field(sa_column=_institution_fk())
    type: SiteType = Field(sa_column=_enum(SiteType, nullable=False))
    name: str = Field(max_length=100)
    # 办学点
    address: str | None = Field(default=None, max_length=300)
    teaching_area: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric(12, 2), nullable=True))
    # 业务系统
    system_type: SystemType | None = Field(default=None, sa_column=_enum(SystemType, nullable=True))
    url: str | None = Field(default=None, max_length=300)
    icp_filing: str | None = Field(default=None, max_length=50)
    version: int = Field(default=1, sa_column=_version())
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(nullable=False))


class Course(SQLModel, table=True):
    """培训课程 at a site or business system. ``subject`` set: a subject (学科类) course."""

    __tablename__ = "course"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    institution_id: uuid.UUID = Field(sa_column=_institution_fk())
    site_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, sa.ForeignKey("site.id", ondelete="RESTRICT"), nullable=False, index=True))
    name: str = Field(max_length=100)
    category: str = Field(max_length=24)  # TrainingCategory
    subject: str | None = Field(default=None, max_length=24)
    grades: list[str] = Field(default_factory=list, sa_column=_strings())
    class_hours: int
    description: str | None = Field(default=None, max_length=1000)
    version: int = Field(default=1, sa_column=_version())
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(nullable=False))


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
    institution_id: uuid.UUID = Field(sa_column=_institution_fk())
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
    filing_status: FilingStatus = Field(default=FilingStatus.NOT_REQUIRED, sa_column=_enum(FilingStatus, nullable=False))
    version: int = Field(default=1, sa_column=_version())
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(nullable=False))


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
    institution_id: uuid.UUID = Field(sa_column=_institution_fk())
    name: str = Field(max_length=200)
    category: str = Field(max_length=24)  # TrainingCategory
    subject: str | None = Field(default=None, max_length=24)
    grades: list[str] = Field(default_factory=list, sa_column=_strings())
    type: MaterialType = Field(sa_column=_enum(MaterialType, nullable=False))
    author: str = Field(max_length=100)
    publisher: str | None = Field(default=None, max_length=100)
    edition: str | None = Field(default=None, max_length=50)
    author_years_in_education: int
    author_certificate_number: str | None = Field(default=None, max_length=30)
    review: MaterialReview = Field(default=MaterialReview.NOT_REVIEWED, sa_column=_enum(MaterialReview, nullable=False))
    version: int = Field(default=1, sa_column=_version())
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(nullable=False))


class ApplicationType(StrEnum):
    COMPLIANCE = "COMPLIANCE"  # 合规申请
    DEREGISTRATION = "DEREGISTRATION"  # 注销申请
    LICENCE = "LICENCE"  # 办学许可申请
    CLASS_FILING = "CLASS_FILING"  # 学科类培训班备案


class ApplicationStatus(StrEnum):
    PENDING = "PENDING"  # 待审核
    APPROVED = "APPROVED"  # 通过
    REJECTED = "REJECTED"  # 不通过


class Application(SQLModel, table=True):
    """An application and its review. The authority (``authority_region_code``,
    ``authority_department``, ``authority_level``) is fixed at submission."""

    __tablename__ = "application"
    __table_args__ = (
        sa.Index("ix_application_authority", "authority_region_code", "authority_department", "status"),
        # At most one pending application of a type per institution (per class for filings).
        sa.Index(
            "uq_application_pending",
            "institution_id",
            "type",
            sa.text("coalesce(class_id, '00000000-0000-0000-0000-000000000000'::uuid)"),
            unique=True,
            postgresql_where=sa.text("status = 'PENDING'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    #: Submission order (several can share one instant).
    seq: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), nullable=False, unique=True))
    institution_id: uuid.UUID = Field(sa_column=_institution_fk())
    type: ApplicationType = Field(sa_column=_enum(ApplicationType, nullable=False))
    status: ApplicationStatus = Field(default=ApplicationStatus.PENDING, sa_column=_enum(ApplicationStatus, nullable=False))
    class_id: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, sa.ForeignKey("training_class.id", ondelete="CASCADE"), nullable=True)
    )
    proof_document_id: uuid.UUID | None = None
    statement: str | None = Field(default=None, max_length=2000)
    #: What the institution's data showed when it applied (findings, missing items).
    findings_at_submission: list = Field(default_factory=list, sa_column=sa.Column(JSONB, nullable=False, server_default="[]"))
    authority_region_code: str = Field(foreign_key="region.code", max_length=6)
    authority_department: str = Field(max_length=24)
    authority_level: str = Field(max_length=16)
    submitted_at: datetime = Field(sa_column=_timestamp(nullable=False))
    submitted_by: uuid.UUID | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    decided_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    decided_by: uuid.UUID | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    opinion: str | None = Field(default=None, max_length=2000)
