"""The audit trail: every mutation writes one record in its own transaction (who, level,
region, department, what operation, which record, which fields changed with old and new
values, when, from which client address). Personal data and bank account numbers in the
changes and snapshots are masked. Records are append-only (a database trigger refuses updates and deletes)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import sqlalchemy as sa

from auth.scope import scope
from core.ids import parse_id
from core.masking import mask_field, mask_login_name
from models import ROOT_CODE, AuditRecord, Level
from resolvers.filters import RecordId, condition, criterion
from resolvers.pagination import Page, paginate


def jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def masked(key: str, value: Any) -> Any:
    """A stored field's value as the trail keeps it: JSON, personal data masked."""
    return mask_field(key, jsonable(value))


def values_of(row: Any, keys: list[str] | None = None) -> dict[str, Any]:
    """The row's column values (or those of ``keys``), as JSON, masked."""
    keys = keys if keys is not None else [c.key for c in type(row).__table__.columns]
    # A staff member's phone is a personal mobile, an account's e-mail its holder's (an
    # institution's phone and e-mail are not).
    personal = {"staff": {"phone": "mobile"}, "account": {"email": "personal_email"}}.get(type(row).__tablename__, {})
    return {k: masked(personal.get(k, k), getattr(row, k)) for k in keys}


def changes(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, list[Any]]:
    before = before or {}
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def record(
    db,
    ctx,
    operation: str,
    record_type: str,
    record_id: uuid.UUID,
    region_code: str | None,
    *,
    changed: dict[str, list[Any]] | None = None,
    snapshot: dict[str, Any] | None = None,
    viewer: Any = None,
) -> None:
    """Add the record to ``db``'s transaction (committed with the change itself)."""
    db.add(AuditRecord(**entry(ctx, viewer or ctx.viewer, operation, record_type, record_id, region_code, changed=changed, snapshot=snapshot)))


def entry(
    ctx,
    actor: Any,
    operation: str,
    record_type: str,
    record_id: uuid.UUID,
    region_code: str | None,
    *,
    changed: dict[str, list[Any]] | None = None,
    snapshot: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The columns of one record: ``ctx`` gives the instant and the client address, ``actor``
    (a Viewer, the Account row of a login, or any object with a ``username``) who."""
    return dict(
        at=ctx.now,
        account_id=(getattr(actor, "account_id", None) or getattr(actor, "id", None)) if actor else None,
        username=mask_login_name(actor.username) if actor else "anonymous",
        level=jsonable(getattr(actor, "level", None)),
        department=jsonable(getattr(actor, "department", None)),
        operation=operation,
        record_type=record_type,
        record_id=record_id,
        region_code=region_code or ROOT_CODE,
        client_address=ctx.client_address,
        changes=changed,
        snapshot=snapshot,
    )


# --- reading the trail -----------------------------------------------------------------


#: Who reads deletion snapshots (seed: the ministry and the province above).
SNAPSHOT_READERS = (Level.MINISTRY, Level.PROVINCE)


def _record(value: str) -> sa.ColumnElement[bool]:
    record_id = parse_id(value)
    return AuditRecord.record_id == record_id if record_id else sa.false()


@dataclass
class AuditFilter:
    """The audit trail's filter: every criterion optional, with AND."""

    operation: str | None = criterion("操作 (the mutation's name, e.g. saveInstitutionBasics)", lambda v, c: AuditRecord.operation == v)
    record_type: str | None = criterion("记录类型 (e.g. Institution)", lambda v, c: AuditRecord.record_type == v)
    record_id: RecordId | None = criterion("记录", lambda v, c: _record(v), max_length=36)
    username: str | None = criterion("操作账号 (login name; an institution's mobile as the trail keeps it, masked)", lambda v, c: AuditRecord.username == v)


async def list_records(info, f: AuditFilter | None, first: int | None, after: str | None) -> Page:
    """Oldest first (in the order written), in the caller's scope."""
    ctx = info.context
    conditions = [scope(ctx.viewer, AuditRecord), condition(f)]
    async with ctx.sessionmaker() as db:
        return await paginate(db, AuditRecord, sa.and_(*conditions), [AuditRecord.seq], first=first, after=after)
