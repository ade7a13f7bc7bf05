"""Complaints (网上投诉/举报) from the public and institutions, handled by the county."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.columns import enum_column, timestamp_column


class TargetType(StrEnum):
    INSTITUTION = "INSTITUTION"  # 校外培训机构
    PUBLIC_SCHOOL = "PUBLIC_SCHOOL"  # 公办学校
    TEACHER = "TEACHER"  # 老师
    OTHER = "OTHER"  # 其他


class ComplaintType(StrEnum):
    ILLEGAL_OPERATION = "ILLEGAL_OPERATION"  # 违规办学
    ILLEGAL_ENROLMENT = "ILLEGAL_ENROLMENT"  # 违规招生
    OTHER = "OTHER"  # 其他


class ComplaintStatus(StrEnum):
    SUBMITTED = "SUBMITTED"  # 已提交，待受理
    ACCEPTED = "ACCEPTED"  # 已受理，处理中
    REPLIED = "REPLIED"  # 已办结（已答复）
    REJECTED = "REJECTED"  # 不予受理（附理由）


class Complaint(SQLModel, table=True):
    __tablename__ = "complaint"
    __table_args__ = (
        sa.Index("ix_complaint_client_time", "client_bucket", "submitted_at"),
        sa.Index("ix_complaint_mobile_time", "complainant_mobile", "submitted_at"),
        # Statistics: a region's complaints, by submission time (migration 0010).
        sa.Index(
            "ix_complaint_county_submitted",
            "county_code",
            "submitted_at",
            postgresql_include=["status", "complaint_type", "replied_at", "rejected_at"],
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tracking_number: str = Field(max_length=20, unique=True)
    complainant_name: str = Field(max_length=50)
    complainant_mobile: str = Field(max_length=20)
    target_type: TargetType = Field(sa_column=enum_column(TargetType, nullable=False))
    complaint_type: ComplaintType = Field(sa_column=enum_column(ComplaintType, nullable=False))
    #: The county it is filed with (the lowest region), whose desk handles it.
    county_code: str = Field(foreign_key="region.code", max_length=6, index=True)
    target_name: str = Field(max_length=100)
    institution_id: uuid.UUID | None = Field(default=None, foreign_key="institution.id", ondelete="SET NULL")
    content: str = Field(max_length=2000)
    status: ComplaintStatus = Field(default=ComplaintStatus.SUBMITTED, sa_column=enum_column(ComplaintStatus, nullable=False))
    submitted_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    client_address: str | None = Field(default=None, max_length=64)
    #: What the per-address limit counts: the IPv4 address, or the IPv6 /64 network (one
    #: client can hold a whole /64).
    client_bucket: str = Field(default="unknown", max_length=64)
    submitted_by: uuid.UUID | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    accepted_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    accepted_by: uuid.UUID | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    replied_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    replied_by: uuid.UUID | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    reply: str | None = Field(default=None, max_length=2000)
    rejected_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    rejected_by: uuid.UUID | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    reject_reason: str | None = Field(default=None, max_length=1000)


#: 办理时长: hours from submission to the reply or the rejection, computed by the database (a
#: column of the table, not of the model, so the ORM never writes it), for the statistics'
#: median, with an index of the handled complaints by county (migration 0013).
HANDLED = ("REPLIED", "REJECTED")
handling_hours = sa.Column(
    "handling_hours",
    sa.Float,
    sa.Computed("extract(epoch from coalesce(replied_at, rejected_at) - submitted_at) / 3600", persisted=True),
)
Complaint.__table__.append_column(handling_hours)
sa.Index(
    "ix_complaint_handled",
    Complaint.__table__.c.county_code,
    postgresql_include=["handling_hours"],
    # (an OR rather than IN: its definition reads back the same, so it can be rebuilt from it)
    postgresql_where=sa.or_(*(Complaint.__table__.c.status == status for status in HANDLED)),
)
