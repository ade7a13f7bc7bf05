"""An institution's documents (机构管理: 办学许可证, 机构证照, 党建情况, 其他资料, and the
contracts of 资金管理) and its funds (资金管理: 收费信息, 监管信息, 基本账户), kept by the
institution itself through the portal (docs/DOMAIN.md §P4, §P5).

A document's file lives outside the database, in the configured storage (``models/storage.py``),
under ``storage_key``; the row holds its metadata, what the file is (type from its bytes,
size, SHA-256) and the name it was uploaded with, sanitised, for downloads only.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.clock import utcnow
from models.columns import enum_column, timestamp_column


class DocumentCategory(StrEnum):
    LICENCE = "LICENCE"  # 办学许可证
    CERTIFICATE = "CERTIFICATE"  # 机构证照（营业执照、民办非企业单位登记证书等）
    PARTY_BUILDING = "PARTY_BUILDING"  # 党建情况
    OTHER = "OTHER"  # 其他资料
    CONTRACT = "CONTRACT"  # 合同（如所用培训服务合同文本）
    DEREGISTRATION_PROOF = "DEREGISTRATION_PROOF"  # 注销证明


class Document(SQLModel, table=True):
    __tablename__ = "document"
    __table_args__ = (sa.Index("ix_document_institution_uploaded", "institution_id", "uploaded_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    institution_id: uuid.UUID = Field(foreign_key="institution.id", ondelete="CASCADE")
    category: DocumentCategory = Field(sa_column=enum_column(DocumentCategory, nullable=False))
    title: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    #: 证照编号 / 合同编号
    number: str | None = Field(default=None, max_length=50)
    #: 发证机关 / 签发单位
    issuer: str | None = Field(default=None, max_length=100)
    valid_from: date | None = None
    valid_to: date | None = None
    #: 是否使用示范文本 (contracts only): the national model text of training contracts.
    follows_model_text: bool | None = None
    #: The uploaded file's name, sanitised; shown and offered on download, never a path.
    file_name: str = Field(max_length=255)
    #: From the file's bytes, never from its name or the declared type.
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    storage_key: str = Field(max_length=200, unique=True)
    uploaded_by: uuid.UUID | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    uploaded_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
