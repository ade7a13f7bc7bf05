"""Reading the audit trail (the writing is resolvers.audit)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from auth.scope import scope
from models import AuditRecord, Level
from core.ids import parse_id
from resolvers.pagination import Page, paginate

#: Who reads deletion snapshots (seed: the ministry and the province above).
SNAPSHOT_READERS = (Level.MINISTRY, Level.PROVINCE)


@dataclass
class AuditFilter:
    operation: str | None = None
    record_type: str | None = None
    record_id: str | None = None
    username: str | None = None


async def list_records(info, f: AuditFilter | None, first: int | None, after: str | None) -> Page:
    """Oldest first (in the order written), in the caller's scope."""
    ctx = info.context
    conditions = [scope(ctx.viewer, AuditRecord)]
    if f is not None:
        for key in ("operation", "record_type", "username"):
            if getattr(f, key):
                conditions.append(getattr(AuditRecord, key) == getattr(f, key))
        if f.record_id is not None:
            record_id = parse_id(f.record_id)
            conditions.append(AuditRecord.record_id == record_id if record_id else sa.false())
    async with ctx.sessionmaker() as db:
        return await paginate(db, AuditRecord, sa.and_(*conditions), [AuditRecord.seq], first=first, after=after)
