"""The event feed (``events(after, types)``) and each event's record as its reader may see it:
an event is in scope exactly when its record is (``auth.scope``, ``models.events.RECORDS``),
for the feed and for every delivery alike."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from auth.scope import scope
from auth.viewer import Viewer
from core.faults import fault_of, log_refusal
from models import Event, EventType, InstitutionClaim
from models.database import single_statements
from models.events import RECORDS
from resolvers.accounts.claims import claim_views
from resolvers.pagination import Page, decode_cursor, paginate

#: The feed's order and cursor.
ORDER = [Event.seq]


def after_seq(cursor: str | None) -> int:
    """The seq a cursor of the feed stands for (0: from the oldest event kept)."""
    return decode_cursor(cursor, ORDER)[0] if cursor else 0


async def records(db: AsyncSession, viewer: Viewer | None, wanted: Iterable[tuple[EventType, uuid.UUID]]) -> dict[tuple[EventType, uuid.UUID], object]:
    """The records of ``wanted`` events that ``viewer`` may see, one statement per model: a
    complaint, an urging notice, an application, a claim (with what its readers are shown,
    ``ClaimView``) or an inspection."""
    by_model: dict[type, set[uuid.UUID]] = defaultdict(set)
    for kind, record_id in wanted:
        by_model[RECORDS[kind]].add(record_id)
    found: dict[uuid.UUID, object] = {}
    for model, ids in by_model.items():
        rows = list((await db.execute(sa.select(model).where(model.id.in_(ids), scope(viewer, model)))).scalars())
        if model is InstitutionClaim:
            rows = await claim_views(db, rows)
            found.update((view.claim.id, view) for view in rows)
        else:
            found.update((row.id, row) for row in rows)
    return {(kind, record_id): found[record_id] for kind, record_id in wanted if record_id in found}


async def feed(sessionmaker, viewer: Viewer | None, types: Iterable[EventType] | None, after: str | None, first: int | None) -> Page:
    """The events in ``viewer``'s scope after the cursor ``after``, oldest first, each row
    ``(event, record)``."""
    where = scope(viewer, Event)
    if types:
        where = sa.and_(where, Event.type.in_([EventType(getattr(t, "value", t)) for t in types]))
    async with sessionmaker() as db:
        page = await paginate(db, Event, where, ORDER, first=first, after=after)
        found = await records(db, viewer, [(EventType(e.type), e.record_id) for e in page.rows])
    # An event is in scope when its record is: the two statements saw the same records
    # unless one changed in between; one that left the scope meanwhile is left out.
    kept = [(i, (e, found[(EventType(e.type), e.record_id)])) for i, e in enumerate(page.rows) if (EventType(e.type), e.record_id) in found]
    page.cursors = [page.cursors[i] for i, _ in kept]
    page.rows = [row for _, row in kept]
    return page


async def visible(sessionmaker, viewer: Viewer, kind: EventType, record_id: uuid.UUID) -> object | None:
    """The record of one event as ``viewer`` may see it, or None when it is out of scope. A
    lost database is waited out (every retry-after seconds) rather than failing the
    subscription: the event is delivered when the database is back."""
    while True:
        try:
            async with sessionmaker() as db:
                await single_statements(db)
                return (await records(db, viewer, [(kind, record_id)])).get((kind, record_id))
        except Exception as error:
            fault = fault_of(error)
            if fault is None:
                raise
            log_refusal(fault.code, "live updates: reading an event's record", error)
            await asyncio.sleep(fault.retry_after)


async def replay(sessionmaker, viewer: Viewer, types: Iterable[EventType], seq: int, limit: int) -> tuple[list[tuple[Event, object]], int | None]:
    """The events in scope after ``seq`` (at most ``limit`` read), each with its record, and
    the seq of the last one read (None: there were none)."""
    where = sa.and_(scope(viewer, Event), Event.type.in_(list(types)), Event.seq > seq)
    async with sessionmaker() as db:
        events = list((await db.execute(sa.select(Event).where(where).order_by(*ORDER).limit(limit))).scalars())
        found = await records(db, viewer, [(EventType(e.type), e.record_id) for e in events])
    rows = [(e, found[(EventType(e.type), e.record_id)]) for e in events if (EventType(e.type), e.record_id) in found]
    return rows, events[-1].seq if events else None
