"""Persisted operations: automatic persisted queries (APQ, the Apollo protocol) and the
registered operations that public traffic may be limited to."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.columns import timestamp_column


class PersistedQuery(SQLModel, table=True):
    __tablename__ = "persisted_query"

    #: Lower-case hex SHA-256 of the query text.
    sha256: str = Field(primary_key=True, max_length=64)
    query: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    #: Registered by an operator (``python server.py register-operations``), not just cached
    #: by a client: the only ones accepted from public traffic in the registered-only mode.
    registered: bool = False
    created_at: datetime = Field(sa_column=timestamp_column(nullable=False))
