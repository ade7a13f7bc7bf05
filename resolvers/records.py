"""What an institution keeps through the portal (docs/DOMAIN.md §P4–§P8): the one way its
records — staff, sites or business systems, courses, classes, materials — are created,
edited and deleted.

Who writes: the institution's own account (培训机构用户), on its own institution only; a
deregistered institution (已注销) is read-only. Regulators read through ``auth.scope``.
Every record carries a version: an edit names the version it was based on, and an older
one is refused (CONFLICT). An edit changes only the fields it is given (``merged``: an
explicit null clears an optional field) and checks the merged record whole, every problem
at once. Every mutation writes an audit record in its transaction.

The regulations' rules (class end times, fee periods, certificates, area per student …) are
not refused here: a record that breaks one is saved and shows up as a finding
(``resolvers.findings``, docs/DOMAIN.md §G4), checked again in the transaction of every
change (``findings.refresh``) so that the institution's standing follows at once. What is
refused is what cannot be true: a
missing required field, an invalid ID number, a schedule that ends before it starts, a
teacher who is not active staff of the same institution.

Each kind of record is a ``Record``: its table, its form's checks and what its domain adds
to the common steps (``resolvers.staff``, ``resolvers.sites``, ``resolvers.materials``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from auth.scope import scope
from auth.viewer import Viewer
from core.clock import today
from core.errors import ErrorCode, FieldError
from core.ids import parse_id
from models import Institution
from resolvers import audit, findings
from resolvers.forms import Form


@dataclass
class Owner:
    """The institution being written to, locked for the transaction."""

    institution: Institution
    db: AsyncSession


class Refused(Exception):
    def __init__(self, *errors: FieldError) -> None:
        self.errors = list(errors)


def not_found(label: str, key: str = "id") -> Refused:
    return Refused(FieldError(key, ErrorCode.NOT_FOUND, f"{label}不存在"))


DEREGISTERED = FieldError(None, ErrorCode.NOT_ALLOWED, "机构已注销，信息只读")


async def owner_of(db: AsyncSession, viewer: Viewer) -> Owner:
    """The caller's institution, locked; refused when it has been deregistered."""
    institution = (
        await db.execute(sa.select(Institution).where(Institution.id == viewer.institution_id).with_for_update())
    ).scalar_one_or_none()
    if institution is None:
        raise not_found("培训机构")
    if institution.deregistered_at is not None:
        raise Refused(DEREGISTERED)
    return Owner(institution, db)


async def deregistered(db: AsyncSession, institution_id: uuid.UUID | None) -> bool:
    """Whether the institution has been deregistered (注销): its data is read-only."""
    return bool(
        (await db.execute(sa.select(Institution.deregistered_at.is_not(None)).where(Institution.id == institution_id))).scalar()
    )


async def own(db: AsyncSession, viewer: Viewer, model: type, record_id: Any, label: str, key: str = "id"):
    """A row of the caller's institution, locked; missing and foreign rows read alike."""
    parsed = parse_id(record_id)
    row = (
        await db.execute(
            sa.select(model).where(model.id == parsed, scope(viewer, model)).with_for_update()
        )
    ).scalar_one_or_none() if parsed else None
    if row is None:
        raise not_found(label, key)
    return row


def merged(row: Any, data: dict[str, Any]) -> dict[str, Any]:
    """An edit's form: the record's stored values with the fields sent laid over them (a
    field left out keeps its value, an explicit None clears it), so the checks see the
    whole record as it would be saved."""
    return {column.key: getattr(row, column.key) for column in sa.inspect(type(row)).columns} | data


async def _nothing(*_: Any) -> None:
    return None


@dataclass(frozen=True, eq=False)
class Record:
    """A kind of portal record: its table, label and form, and what its domain adds to the
    common steps (each step may raise ``Refused``)."""

    model: type
    label: str
    check: Callable[[Form, Owner], None]
    #: The parent's model and the foreign key to it (courses under sites, classes under courses).
    parent: type | None = None
    parent_key: str | None = None
    #: (model, foreign key, label) of the children that keep a record from being deleted.
    children: tuple[tuple[type, str, str], ...] = ()
    #: Checks that read the database, after the form's own: (owner, form, parent).
    check_more: Callable[[Owner, Form, Any], Awaitable[None]] = _nothing
    #: Values a new row gets besides the form's, from its parent.
    defaults: Callable[[Any], dict[str, Any]] = lambda parent: {}
    #: Before an edit is applied: (row, new values).
    before_update: Callable[[Any, dict[str, Any]], None] = lambda row, values: None
    #: After an edit is applied: (db, row, changes so far), which it may add to.
    after_update: Callable[[AsyncSession, Any, dict], Awaitable[None]] = _nothing
    #: What else keeps a row from being deleted: (db, row) -> the problem, or None.
    in_use: Callable[[AsyncSession, Any], Awaitable[FieldError | None]] = _nothing
    #: Unique constraints, by name, and the error a duplicate gets.
    duplicates: dict[str, FieldError] = field(default_factory=dict)
    #: The most of them one institution keeps: refused beyond (NOT_ALLOWED), and the query
    #: limits count the nested lists by it (``schema/limits.py``).
    most: int = 0


async def _values(record: Record, owner: Owner, data: dict[str, Any], parent: Any, day) -> dict[str, Any]:
    form = Form(data, today=day)
    record.check(form, owner)
    await record.check_more(owner, form, parent)
    if form.errors:
        raise Refused(*form.errors)
    return form.values


def _mutation(record: Record, verb: str) -> str:
    return f"{verb}{record.model.__name__}"


async def _commit(db: AsyncSession, record: Record, *, flush_only: bool = False) -> None:
    try:
        await (db.flush() if flush_only else db.commit())
    except IntegrityError as error:
        await db.rollback()
        for constraint, problem in record.duplicates.items():
            if constraint in str(error):
                raise Refused(problem) from None
        raise


async def create(info, record: Record, data: dict[str, Any], parent_id: Any = None) -> tuple[Any, list[FieldError]]:
    ctx = info.context
    try:
        async with ctx.sessionmaker() as db:
            owner = await owner_of(db, ctx.viewer)  # locked: the count below holds until commit
            kept = (await db.execute(sa.select(sa.func.count()).where(record.model.institution_id == owner.institution.id))).scalar_one()
            if kept >= record.most:
                raise Refused(FieldError(None, ErrorCode.NOT_ALLOWED, f"每个机构最多 {record.most} 个{record.label}"))
            parent = None
            extra: dict[str, Any] = {}
            if record.parent is not None:
                parent_label = "上级" + ("办学点/业务系统" if record.parent_key == "site_id" else "培训课程")
                parent = await own(db, ctx.viewer, record.parent, parent_id, parent_label, record.parent_key)
                extra[record.parent_key] = parent.id
            values = await _values(record, owner, data, parent, today(ctx.now))
            extra.update(record.defaults(parent))
            row = record.model(**values, **extra, institution_id=owner.institution.id, created_at=ctx.now, updated_at=ctx.now)
            db.add(row)
            await _commit(db, record, flush_only=True)
            audit.record(
                db, ctx, _mutation(record, "create"), record.model.__name__, row.id, owner.institution.region_code,
                changed=audit.changes(None, audit.values_of(row, list(values))),
            )
            await findings.refresh(db, [owner.institution.id])
            await _commit(db, record)
            return row, []
    except Refused as refused:
        return None, refused.errors


async def update(info, record: Record, record_id: Any, version: int, data: dict[str, Any]) -> tuple[Any, list[FieldError]]:
    ctx = info.context
    try:
        async with ctx.sessionmaker() as db:
            owner = await owner_of(db, ctx.viewer)
            row = await own(db, ctx.viewer, record.model, record_id, record.label)
            if version != row.version:
                raise Refused(FieldError("version", ErrorCode.CONFLICT, f"该{record.label}已被修改，请刷新后重新编辑"))
            parent = None
            if record.parent is not None:
                parent = (await db.execute(sa.select(record.parent).where(record.parent.id == getattr(row, record.parent_key)))).scalar_one()
            values = await _values(record, owner, merged(row, data), parent, today(ctx.now))
            record.before_update(row, values)
            before = audit.values_of(row, list(values))
            for key, value in values.items():
                setattr(row, key, value)
            changed = audit.changes(before, audit.values_of(row, list(values)))
            await record.after_update(db, row, changed)
            row.version += 1
            row.updated_at = ctx.now
            audit.record(db, ctx, _mutation(record, "update"), record.model.__name__, row.id, owner.institution.region_code, changed=changed)
            await findings.refresh(db, [owner.institution.id])
            await _commit(db, record)
            return row, []
    except Refused as refused:
        return None, refused.errors


async def delete(info, record: Record, record_id: Any) -> tuple[uuid.UUID | None, list[FieldError]]:
    ctx = info.context
    try:
        async with ctx.sessionmaker() as db:
            owner = await owner_of(db, ctx.viewer)
            row = await own(db, ctx.viewer, record.model, record_id, record.label)
            for model, key, label in record.children:
                count = (await db.execute(sa.select(sa.func.count()).select_from(model).where(getattr(model, key) == row.id))).scalar_one()
                if count:
                    raise Refused(FieldError("id", ErrorCode.HAS_DEPENDENTS, f"该{record.label}下还有 {count} 个{label}，请先删除"))
            if problem := await record.in_use(db, row):
                raise Refused(problem)
            audit.record(db, ctx, _mutation(record, "delete"), record.model.__name__, row.id, owner.institution.region_code, snapshot=audit.values_of(row))
            await db.delete(row)
            await findings.refresh(db, [owner.institution.id])
            await db.commit()
            return row.id, []
    except Refused as refused:
        return None, refused.errors
