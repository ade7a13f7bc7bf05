"""Events (live updates, docs/rules.md "Live updates"): an append-only table, one row for each
thing a regulator or an institution waits for, written in the transaction of the change
that raised it.

A trigger of migration 0017 gives each row its ``seq`` in commit order (event-writing
transactions take turns from their first event to their commit, under one advisory lock) and
sends ``NOTIFY xwpx_events`` with it, which PostgreSQL delivers on commit only: a rolled-back
change leaves neither a row nor a notification. ``seq`` is therefore a cursor that never
skips: every event committed after a reader saw ``seq = n`` has a larger ``seq``.

Each row names its record (``record_id``, of the model ``RECORDS`` gives for its type), and
the region and institution it concerns, so that a worker can tell quickly which of its
subscribers an event cannot concern; whether it does concern one is the record's scope
(``auth.scope``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.accounts import InstitutionClaim
from models.applications import Application
from models.columns import enum_column, timestamp_column
from models.complaints import Complaint
from models.inspections import Inspection, UrgingNotice

#: The channel of the events' notifications (payload: the event's seq).
EVENTS_CHANNEL = "xwpx_events"
#: The key (``hashtext``) of the advisory lock event-writing transactions take in turn.
EVENT_LOCK_KEY = "xwpx_events"
#: The channel of ended sessions (payload: the session's id), for the sockets they hold.
SESSIONS_CHANNEL = "xwpx_sessions"


class EventType(StrEnum):
    COMPLAINT_RECEIVED = "COMPLAINT_RECEIVED"  # 收到投诉: the handling county
    URGING_NOTICE_RECEIVED = "URGING_NOTICE_RECEIVED"  # 收到督办: the county
    APPLICATION_SUBMITTED = "APPLICATION_SUBMITTED"  # 新的申请: the reviewing authority
    APPLICATION_DECIDED = "APPLICATION_DECIDED"  # 申请已审核: the institution
    CLAIM_DECIDED = "CLAIM_DECIDED"  # 认领已处理: the claiming account
    RECTIFICATION_OVERDUE = "RECTIFICATION_OVERDUE"  # 整改逾期: the county and the levels above


#: The model of each event type's record: an event is in a viewer's scope exactly when its
#: record is (``auth.scope``).
RECORDS: dict[EventType, type] = {
    EventType.COMPLAINT_RECEIVED: Complaint,
    EventType.URGING_NOTICE_RECEIVED: UrgingNotice,
    EventType.APPLICATION_SUBMITTED: Application,
    EventType.APPLICATION_DECIDED: Application,
    EventType.CLAIM_DECIDED: InstitutionClaim,
    EventType.RECTIFICATION_OVERDUE: Inspection,
}


class Event(SQLModel, table=True):
    __tablename__ = "event"
    __table_args__ = (
        # The overdue sweep raises one event per ledger and deadline, whichever worker runs it.
        sa.Index("ux_event_once", "once", unique=True, postgresql_where=sa.text("once IS NOT NULL")),
        sa.Index("ix_event_occurred", "occurred_at"),
    )

    #: Given by the trigger, in commit order (never by the application).
    seq: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=False, server_default=sa.text("0")))
    type: EventType = Field(sa_column=enum_column(EventType, nullable=False))
    occurred_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    record_id: uuid.UUID
    #: The region the event concerns: the county of the complaint, the notice or the
    #: institution (whose province, when it is an application's authority, lies above it).
    region_code: str = Field(max_length=6)
    institution_id: uuid.UUID | None = None
    #: The account it is addressed to, when one is (the claiming account).
    account_id: uuid.UUID | None = None
    #: A key raised once only (the overdue sweep's), or None.
    once: str | None = Field(default=None, max_length=80)
