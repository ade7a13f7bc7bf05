"""The institutions' portal accounts (培训机构用户, seed 001 §2): verification codes, the
outbox of the default message sender, and claims of an institution that a county had
registered before its account existed."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.accounts import _enum, _timestamp


class Channel(StrEnum):
    MOBILE = "MOBILE"  # 短信
    EMAIL = "EMAIL"  # 电子邮件


class CodePurpose(StrEnum):
    REGISTER = "REGISTER"  # 注册
    RESET_PASSWORD = "RESET_PASSWORD"  # 忘记密码
    CHANGE_MOBILE = "CHANGE_MOBILE"  # 更换手机号


class ClaimStatus(StrEnum):
    PENDING = "PENDING"  # 待区县确认
    CONFIRMED = "CONFIRMED"  # 已确认绑定
    REJECTED = "REJECTED"  # 已驳回


class VerificationCode(SQLModel, table=True):
    """A code sent to a mobile number or e-mail address. Only a salted HMAC of the code is
    kept; the code is good for one use, until ``expires_at``, and dies after too many
    wrong tries. Requests for a destination without an account are recorded too (with a
    code nobody receives), so that the limits answer alike whether an account exists."""

    __tablename__ = "verification_code"
    __table_args__ = (
        sa.Index("ix_verification_code_destination_time", "destination", "created_at"),
        sa.Index("ix_verification_code_client_time", "client_address", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    channel: Channel = Field(sa_column=_enum(Channel, nullable=False))
    #: An 11-digit mobile number or a lower-cased e-mail address.
    destination: str = Field(max_length=254)
    purpose: CodePurpose = Field(sa_column=_enum(CodePurpose, nullable=False))
    #: ``<salt hex>$<HMAC-SHA256(salt, code) hex>``.
    code_hash: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=_timestamp(nullable=False))
    expires_at: datetime = Field(sa_column=_timestamp(nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    #: Wrong tries so far; the code is dead at ``MAX_ATTEMPTS``.
    attempts: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))
    #: The client's address (IPv6: its /64), the key of the per-address limit.
    client_address: str | None = Field(default=None, max_length=64)


class OutboxMessage(SQLModel, table=True):
    """A message written by the default sender (``messaging.OutboxSender``) instead of
    going through an SMS or e-mail gateway: development and tests read it here."""

    __tablename__ = "outbox"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    channel: Channel = Field(sa_column=_enum(Channel, nullable=False))
    destination: str = Field(max_length=254, index=True)
    body: str = Field(max_length=1000)
    created_at: datetime = Field(sa_column=_timestamp(nullable=False))


class InstitutionClaim(SQLModel, table=True):
    """认领: a self-registered account asks to manage an institution that a county had
    already registered (same credit code). The county confirms, which binds the account,
    or rejects with a reason; the institution's data is never changed by the claim."""

    __tablename__ = "institution_claim"
    __table_args__ = (
        # One open claim per account at a time.
        sa.Index("uq_institution_claim_pending", "account_id", unique=True, postgresql_where=sa.text("status = 'PENDING'")),
        sa.Index("ix_institution_claim_status_time", "status", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    account_id: uuid.UUID = Field(foreign_key="account.id", index=True, ondelete="CASCADE")
    institution_id: uuid.UUID = Field(foreign_key="institution.id", index=True, ondelete="CASCADE")
    status: ClaimStatus = Field(sa_column=_enum(ClaimStatus, nullable=False))
    created_at: datetime = Field(sa_column=_timestamp(nullable=False))
    decided_by: uuid.UUID | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    decided_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    reason: str | None = Field(default=None, max_length=500)
