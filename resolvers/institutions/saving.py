"""The county registration desk's writes (新增登记, docs/DOMAIN.md §R2.2, §R2.5): each of the five
parts saved on "next", and deletion. An institution account completes and updates its own
parts through the portal (§P4)."""

from __future__ import annotations

import uuid
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from auth.roles import is_county_bureau, is_county_desk
from auth.scope import scope
from auth.viewer import Viewer
from core.clock import today
from core.errors import ErrorCode, FieldError, Forbidden
from core.ids import parse_id
from models import Document, Institution, Region
from models.storage import discard
from resolvers import audit, findings
from resolvers.institutions.registration import SAVED_FLAG, Context, Part, follow_kind, kind_conflict, validate_part
from resolvers.records import merged


def check_writer(viewer: Viewer) -> None:
    """Registration is the county desk's work (the county bureau and its sub-units)."""
    if not is_county_desk(viewer):
        raise Forbidden("只有区县教育部门及其下属单位可以登记、修改培训机构信息 (county education accounts only)")


def province_of(region_path: str) -> str:
    """The province code on a region path (``000000/440000/…``)."""
    return region_path.split("/")[1]


async def region_path(db: AsyncSession, code: str) -> str:
    return (await db.execute(sa.select(Region.path).where(Region.code == code))).scalar_one()


async def duplicate_credit_code(
    db: AsyncSession, viewer: Viewer, credit_code: str, *, exclude: uuid.UUID | None = None
) -> FieldError | None:
    """A registered institution with this code: pointed to only when the caller may see it."""
    stmt = sa.select(Institution.id, Institution.name, scope(viewer, Institution).label("visible")).where(
        Institution.credit_code == credit_code
    )
    if exclude is not None:
        stmt = stmt.where(Institution.id != exclude)
    row = (await db.execute(stmt)).first()
    if row is None:
        return None
    if row.visible:
        return FieldError("credit_code", ErrorCode.DUPLICATE, f"该统一社会信用代码已登记：{row.name}", related_id=str(row.id))
    return FieldError("credit_code", ErrorCode.DUPLICATE, "该统一社会信用代码已由其他地区登记，请与当地教育部门核实")


def writable(viewer: Viewer) -> sa.ColumnElement[bool]:
    """Rows the caller may edit: in scope (a county: its county; a sub-unit: what it registered)."""
    return scope(viewer, Institution)


def _db_values(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.value if isinstance(v, Enum) else v) for k, v in values.items()}


async def save_part(
    info, part: Part, institution_id: str | None, data: dict[str, Any], version: int | None = None
) -> tuple[Institution | None, list[FieldError]]:
    """Save one part. Part 1 without an id registers a new institution in the caller's
    county; every other save edits an institution the caller may edit, and names the
    ``version`` it was based on: a save based on an older version is refused (CONFLICT),
    never a silent overwrite of someone else's change. An edit changes the fields sent and
    keeps the others; the part is checked whole after the merge."""
    ctx = info.context
    viewer = ctx.viewer
    own = viewer.is_institution
    if own:
        # The portal (docs/DOMAIN.md §P4): an institution completes and updates its own information.
        if viewer.institution_id is None:
            raise Forbidden("机构账号尚待区县确认绑定", code="INSTITUTION_PENDING")
        if institution_id is None:
            raise Forbidden("培训机构通过注册新增机构信息 (institutions register through registerInstitutionAccount)")
    else:
        check_writer(viewer)
    async with ctx.sessionmaker() as db:
        institution = None
        if institution_id is not None or part is not Part.BASICS:
            parsed = parse_id(institution_id)
            institution = (
                await db.execute(
                    sa.select(Institution).where(Institution.id == parsed, writable(viewer)).with_for_update()
                )
            ).scalar_one_or_none() if parsed else None
            if institution is None:
                return None, [FieldError("id", ErrorCode.NOT_FOUND, "培训机构不存在")]
            if institution.deregistered_at is not None:
                return None, [FieldError("id", ErrorCode.NOT_ALLOWED, "机构已注销，信息只读")]
            if own and institution.review_status == "PENDING":
                return None, [FieldError("id", ErrorCode.NOT_ALLOWED, "合规申请审核中，审核结束后再修改机构信息")]
            if version is None:
                return None, [FieldError("version", ErrorCode.REQUIRED, "修改时请带上读取到的版本号 (version)")]
            if version != institution.version:
                return None, [FieldError("version", ErrorCode.CONFLICT, "该机构信息已被他人修改，请刷新后重新编辑")]
        region_code = institution.region_code if institution else viewer.region_code
        rules = Context(
            today=today(ctx.now),
            province_code=province_of(await region_path(db, region_code)),
            kind=institution.kind if institution else None,
        )
        checked = validate_part(part, merged(institution, data) if institution else data, rules, sent=data if institution else None)
        if part is Part.BASICS and not checked.failed("credit_code") and checked.values["credit_code"]:
            if duplicate := await duplicate_credit_code(
                db, viewer, checked.values["credit_code"], exclude=institution.id if institution else None
            ):
                checked.errors.append(duplicate)
        if checked.errors:
            return None, checked.errors
        values = _db_values(checked.values)
        before = audit.values_of(institution, list(values)) if institution else None
        if institution is None:
            institution = Institution(
                **values,
                region_code=region_code,
                registering_unit_id=viewer.account_id,
                created_at=ctx.now,
                updated_at=ctx.now,
            )
            follow_kind(institution)
            db.add(institution)
        else:
            for key, value in values.items():
                setattr(institution, key, value)
            if part in SAVED_FLAG:
                setattr(institution, SAVED_FLAG[part], True)
            if institution.operation_saved and kind_conflict(institution.kind, institution.training_categories):
                # A new kind that the saved categories do not fit: part 3 is to be saved again.
                institution.operation_saved = False
            follow_kind(institution)
            institution.version += 1
            institution.updated_at = ctx.now
        audit.record(
            db, ctx, f"saveInstitution{part.value.title().replace('_', '')}", "Institution", institution.id,
            institution.region_code, changed=audit.changes(before, audit.values_of(institution, list(values))),
        )
        try:
            await findings.refresh(db, [institution.id])
            await db.commit()
        except IntegrityError:
            # A concurrent registration of the same code won the race.
            await db.rollback()
            async with ctx.sessionmaker() as again:
                duplicate = await duplicate_credit_code(again, viewer, values.get("credit_code", ""))
            return None, [duplicate or FieldError("credit_code", ErrorCode.DUPLICATE, "该统一社会信用代码已登记")]
    return institution, []


async def delete_institution(info, institution_id: str, confirm_name: str) -> tuple[uuid.UUID | None, list[FieldError]]:
    """Delete an institution and its registration data (docs/DOMAIN.md §R2.5: 删除确认后，培训机构登记
    信息和排查信息都会清空，无法恢复). County accounts only; the name typed again confirms.
    An audit record keeps who, when, from where, and a snapshot of what was deleted."""
    ctx = info.context
    viewer = ctx.viewer
    if not is_county_bureau(viewer):
        raise Forbidden("只有区县教育部门可以删除培训机构 (county education accounts only)")
    async with ctx.sessionmaker() as db:
        parsed = parse_id(institution_id)
        institution = (
            await db.execute(sa.select(Institution).where(Institution.id == parsed, writable(viewer)).with_for_update())
        ).scalar_one_or_none() if parsed else None
        if institution is None:
            return None, [FieldError("id", ErrorCode.NOT_FOUND, "培训机构不存在")]
        if (confirm_name or "").strip() != institution.name:
            return None, [FieldError("confirmName", ErrorCode.INVALID, "请再次输入机构名称以确认删除（删除后无法恢复）")]
        audit.record(db, ctx, "deleteInstitution", "Institution", institution.id, institution.region_code, snapshot=audit.values_of(institution))
        files = (await db.execute(sa.select(Document.storage_key).where(Document.institution_id == institution.id))).scalars().all()
        await db.delete(institution)
        await db.commit()
    await discard(ctx.storage, files)
    return institution.id, []
