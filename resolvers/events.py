"""Events (``models.events``): raised by the changes regulators and institutions wait for, in
the change's own transaction, and read back by the workers that deliver them.

A change calls ``raise_event`` as its last statement before the commit: the event's trigger
takes the events' advisory lock (migration 0017), which is then held only for the commit, and
never while the transaction still waits for a row another event-writing transaction holds.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from models import Event, EventType, Region
from resolvers.pagination import encode_cursor


async def raise_event(
    db: AsyncSession,
    kind: EventType,
    record_id: uuid.UUID,
    region_code: str,
    now: datetime,
    *,
    institution_id: uuid.UUID | None = None,
    account_id: uuid.UUID | None = None,
) -> None:
    """Write an event of the transaction of ``db`` (delivered when it commits, never when it
    rolls back). Everything else the transaction writes is flushed first."""
    await db.flush()
    db.add(Event(type=kind, occurred_at=now, record_id=record_id, region_code=region_code, institution_id=institution_id, account_id=account_id))
    await db.flush()


@dataclass(frozen=True, slots=True)
class Raised:
    """An event as a worker reads it to deliver it: what tells which subscribers it may
    concern (``auth.scope.may_see_event``) without asking the database."""

    seq: int
    type: EventType
    occurred_at: datetime
    record_id: uuid.UUID
    region_path: str | None
    institution_id: uuid.UUID | None
    account_id: uuid.UUID | None

    @property
    def cursor(self) -> str:
        return encode_cursor([self.seq])


def _raised(where: sa.ColumnElement[bool]) -> sa.Select:
    return (
        sa.select(Event.seq, Event.type, Event.occurred_at, Event.record_id, Region.path, Event.institution_id, Event.account_id)
        .outerjoin(Region, Region.code == Event.region_code)
        .where(where)
        .order_by(Event.seq)
    )


def raised_of(row) -> Raised:
    return Raised(row[0], EventType(row[1]), *row[2:])


async def raised_after(db: AsyncSession, seq: int, limit: int) -> list[Raised]:
    """The events after ``seq``, oldest first, at most ``limit``."""
    return [raised_of(row) for row in (await db.execute(_raised(Event.seq > seq).limit(limit))).all()]


async def last_seq(db: AsyncSession) -> int:
    return (await db.execute(sa.select(sa.func.coalesce(sa.func.max(Event.seq), 0)))).scalar_one()


async def purge(db: AsyncSession, now: datetime, retention: timedelta) -> int:
    """Delete the events older than ``retention`` (the feed's horizon); how many went."""
    result = await db.execute(sa.delete(Event).where(Event.occurred_at < now - retention))
    await db.commit()
    return result.rowcount
