"""Column helpers every table uses: enums stored as their values, timestamps with their zone,
versions for optimistic locking, the owning institution, arrays of codes."""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY


def enum_column(enum: type[StrEnum], **kwargs) -> sa.Column:
    return sa.Column(
        sa.Enum(enum, native_enum=False, length=24, values_callable=lambda e: [m.value for m in e]),
        **kwargs,
    )


def timestamp_column(**kwargs) -> sa.Column:
    return sa.Column(sa.DateTime(timezone=True), **kwargs)


def version_column() -> sa.Column:
    return sa.Column(sa.Integer, nullable=False, server_default="1")


def institution_fk() -> sa.Column:
    return sa.Column(sa.Uuid, sa.ForeignKey("institution.id", ondelete="CASCADE"), nullable=False, index=True)


def strings_column() -> sa.Column:
    return sa.Column(ARRAY(sa.String(24)), nullable=False, server_default="{}")
