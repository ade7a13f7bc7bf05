"""Applications (合规申请, 注销申请, 办学许可审批, 备案) and their review (docs/DOMAIN.md §P1.3)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from models.columns import enum_column, institution_fk, timestamp_column


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
        # An institution's latest application of a type (the standing's compliance application).
        sa.Index("ix_application_institution_type_seq", "institution_id", "type", "seq"),
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
    institution_id: uuid.UUID = Field(sa_column=institution_fk())
    type: ApplicationType = Field(sa_column=enum_column(ApplicationType, nullable=False))
    status: ApplicationStatus = Field(default=ApplicationStatus.PENDING, sa_column=enum_column(ApplicationStatus, nullable=False))
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
    submitted_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    submitted_by: uuid.UUID | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    decided_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    decided_by: uuid.UUID | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    opinion: str | None = Field(default=None, max_length=2000)
