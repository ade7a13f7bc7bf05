"""整改逾期 as an event (``RECTIFICATION_OVERDUE``): a ledger goes overdue when a Beijing day
begins after its earliest unfinished deadline, which no change of the ledger marks. A sweep
raises the event once per ledger and deadline (a corrected deadline that passes again is a
new one), whichever worker runs it and however often.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import today
from models import Event, EventType, Inspection, Institution
from models.events import EVENT_LOCK_KEY
from resolvers.inspections.ledgers import LATEST_FIRST
from resolvers.institutions.listing import overdue_condition

#: The events' advisory lock (migration 0017), taken first so that concurrent sweeps of
#: several workers see each other's events.
_EVENT_LOCK = sa.func.pg_advisory_xact_lock(sa.func.hashtext(EVENT_LOCK_KEY))


async def raise_overdue(db: AsyncSession, now: datetime, retention: timedelta) -> int:
    """Raise ``RECTIFICATION_OVERDUE`` for each ledger overdue at ``now`` that has not had it
    for its deadline, and commit; how many were raised. Deadlines older than the feed's
    ``retention`` are left alone: their events have been purged, and must not come again."""
    day = today(now)
    overdue = (
        sa.select(Institution.id, Institution.region_code, Institution.open_deadline)
        .where(overdue_condition(day), Institution.open_deadline >= day - timedelta(days=retention.days))
        .subquery("overdue")
    )
    latest = sa.select(Inspection.id).where(Inspection.institution_id == overdue.c.id).order_by(*LATEST_FIRST).limit(1).lateral("latest")
    once = sa.func.concat("overdue:", latest.c.id, ":", overdue.c.open_deadline)
    rows = (
        sa.select(
            sa.literal(EventType.RECTIFICATION_OVERDUE.value), sa.literal(now, sa.DateTime(timezone=True)), latest.c.id, overdue.c.region_code,
            overdue.c.id, once,
        )
        .select_from(overdue.join(latest, sa.true()))
        .where(~sa.exists().where(Event.once == once))
    )
    await db.execute(sa.select(_EVENT_LOCK))
    result = await db.execute(
        sa.insert(Event).from_select([Event.type, Event.occurred_at, Event.record_id, Event.region_code, Event.institution_id, Event.once], rows)
    )
    await db.commit()
    return result.rowcount
