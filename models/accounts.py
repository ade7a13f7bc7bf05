"""Accounts (regulators and institutions), their sessions, the login throttle and the rate of
requests without a session; the institution accounts' verification codes, outbox and claims
(docs/DOMAIN.md §P2)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.clock import utcnow
from models.columns import enum_column, timestamp_column


class AccountKind(StrEnum):
    REGULATOR = "REGULATOR"  # 管理用户
    INSTITUTION = "INSTITUTION"  # 培训机构用户


class Level(StrEnum):
    """Regulator levels, from the top. ``SUB_UNIT`` is a unit under one county."""

    MINISTRY = "MINISTRY"  # 部级
    PROVINCE = "PROVINCE"  # 省级
    PREFECTURE = "PREFECTURE"  # 地市级
    COUNTY = "COUNTY"  # 区县级
    SUB_UNIT = "SUB_UNIT"  # 区县下属单位

    @property
    def rank(self) -> int:
        return list(Level).index(self)


class Department(StrEnum):
    """Supervising departments (主管部门)."""

    EDUCATION = "EDUCATION"  # 教育
    SPORTS = "SPORTS"  # 体育
    CULTURE_TOURISM = "CULTURE_TOURISM"  # 文化旅游
    SCIENCE_TECHNOLOGY = "SCIENCE_TECHNOLOGY"  # 科技


class Account(SQLModel, table=True):
    """A login. Regulators carry level, region and department; a sub-unit (区县下属单位)
    carries its county account as ``parent_id``. An institution account manages one
    institution (``institution_id``; None while its claim waits for the county) and carries
    that institution's county as ``region_code``."""

    __tablename__ = "account"
    __table_args__ = (
        sa.Index("ix_account_username_lower", sa.func.lower(sa.column("username")), unique=True),
        # One account per (region node, department) at each level; sub-units are many.
        sa.Index(
            "uq_account_unit",
            "region_code",
            "department",
            "level",
            unique=True,
            postgresql_where=sa.text("kind = 'REGULATOR' AND level <> 'SUB_UNIT'"),
        ),
        # Institution accounts log in and recover their password by mobile or e-mail, so
        # each names one account; and one account manages one institution.
        sa.Index(
            "uq_account_institution_mobile",
            sa.func.lower(sa.column("mobile")),
            unique=True,
            postgresql_where=sa.text("kind = 'INSTITUTION'"),
        ),
        sa.Index(
            "uq_account_institution_email",
            sa.func.lower(sa.column("email")),
            unique=True,
            postgresql_where=sa.text("kind = 'INSTITUTION'"),
        ),
        sa.Index(
            "uq_account_institution",
            "institution_id",
            unique=True,
            postgresql_where=sa.text("kind = 'INSTITUTION' AND institution_id IS NOT NULL"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    username: str = Field(max_length=64)
    name: str = Field(max_length=100)
    kind: AccountKind = Field(sa_column=enum_column(AccountKind, nullable=False))
    level: Level | None = Field(default=None, sa_column=enum_column(Level, nullable=True))
    region_code: str | None = Field(default=None, foreign_key="region.code", index=True)
    department: Department | None = Field(default=None, sa_column=enum_column(Department, nullable=True))
    parent_id: uuid.UUID | None = Field(
        default=None, foreign_key="account.id", index=True, ondelete="RESTRICT"
    )
    institution_id: uuid.UUID | None = Field(default=None, index=True)
    mobile: str | None = Field(default=None, max_length=20)
    email: str | None = Field(default=None, max_length=254)
    password_hash: str = Field(max_length=200)
    must_change_password: bool = True
    enabled: bool = True
    #: Bumped by every edit of the account's details; an edit based on an older one is refused.
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False, server_default="1"))
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class AuthSession(SQLModel, table=True):
    """A login session. Only the SHA-256 of the token is stored."""

    __tablename__ = "auth_session"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    account_id: uuid.UUID = Field(foreign_key="account.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    last_seen_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    client_address: str | None = Field(default=None, max_length=64)


class LoginThrottle(SQLModel, table=True):
    """Failed logins per account (``account:<id>``, whichever login name reached it), or per
    login name that is no account's (so that guessing unknown names is throttled alike)."""

    __tablename__ = "login_throttle"

    username: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    last_failure_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    locked_until: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))


class ClientRate(SQLModel, table=True):
    """The rate of requests without a session per client address (``auth.ratelimit``): when
    the address's bucket is full again, in seconds since the epoch. UNLOGGED: a crash may
    forget it, which only refills the buckets."""

    __tablename__ = "client_rate"
    __table_args__ = {"prefixes": ["UNLOGGED"]}

    bucket: str = Field(primary_key=True, max_length=64)
    tat: float = Field(sa_column=sa.Column(sa.Float(precision=53), nullable=False))


class Channel(StrEnum):
    MOBILE = "MOBILE"  # 短信
    EMAIL = "EMAIL"  # 电子邮件


class CodePurpose(StrEnum):
    REGISTER = "REGISTER"  # 注册
    RESET_PASSWORD = "RESET_PASSWORD"  # 忘记密码
    CHANGE_MOBILE = "CHANGE_MOBILE"  # 更换手机号
    CHANGE_EMAIL = "CHANGE_EMAIL"  # 添加或更换电子邮箱


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
    channel: Channel = Field(sa_column=enum_column(Channel, nullable=False))
    #: An 11-digit mobile number or a lower-cased e-mail address.
    destination: str = Field(max_length=254)
    purpose: CodePurpose = Field(sa_column=enum_column(CodePurpose, nullable=False))
    #: ``<salt hex>$<HMAC-SHA256(salt, code) hex>``.
    code_hash: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    expires_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    #: Wrong tries so far; the code is dead at ``MAX_ATTEMPTS``.
    attempts: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))
    #: The client's address (IPv6: its /64), the key of the per-address limit.
    client_address: str | None = Field(default=None, max_length=64)


class OutboxMessage(SQLModel, table=True):
    """A message written by the default sender (``messaging.OutboxSender``) instead of
    going through an SMS or e-mail gateway: development and tests read it here."""

    __tablename__ = "outbox"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    channel: Channel = Field(sa_column=enum_column(Channel, nullable=False))
    destination: str = Field(max_length=254, index=True)
    body: str = Field(max_length=1000)
    created_at: datetime = Field(sa_column=timestamp_column(nullable=False))


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
    status: ClaimStatus = Field(sa_column=enum_column(ClaimStatus, nullable=False))
    created_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    decided_by: uuid.UUID | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    decided_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    reason: str | None = Field(default=None, max_length=500)
