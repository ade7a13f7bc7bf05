"""Inspections and rectification ledgers (排查, 整改台账, 验收意见, docs/DOMAIN.md §R2.4): recorded,
corrected and accepted by the county desk; an institution's inspection status follows its
latest inspection."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from auth.viewer import Viewer
from core.clock import today
from core.errors import ErrorCode, FieldError
from core.ids import parse_id
from models import Inspection, InspectionStatus, Institution, ItemProgress, Problem, RectificationItem
from resolvers import audit, validation
from resolvers.institutions.saving import check_writer, writable

PROBLEM_LABELS = {
    "NO_LICENCES": "无证无照",
    "BUSINESS_LICENCE_ONLY": "有照无证",
    "LICENCE_ONLY": "有证无照",
    "SAFETY_HAZARD": "存在安全隐患",
    "BEYOND_CURRICULUM": "超纲教学、提前教学",
    "EXCESSIVE_FEES": "一次性收费超过3个月或60课时",
    "LATE_CLASSES": "培训结束时间晚于20:30",
    "UNQUALIFIED_TEACHERS": "教师无教师资格",
    "FALSE_ADVERTISING": "虚假宣传",
    "OTHER": "其他",
}


#: The latest inspection first: by date, then by recording order.
LATEST_FIRST = (Inspection.inspected_on.desc(), Inspection.seq.desc())


async def refresh_status(db: AsyncSession, institution: Institution) -> None:
    """Keep the institution's inspection status and open deadline in step with its latest
    inspection (same transaction)."""
    latest = (
        await db.execute(
            sa.select(Inspection)
            .where(Inspection.institution_id == institution.id)
            .order_by(*LATEST_FIRST)
            .limit(1)
        )
    ).scalar_one_or_none()
    institution.open_deadline = None
    if latest is None:
        institution.inspection_status = InspectionStatus.NOT_INSPECTED
    elif latest.accepted_on is not None:
        institution.inspection_status = InspectionStatus.RECTIFIED
    elif not latest.problems:
        institution.inspection_status = InspectionStatus.NO_PROBLEMS
    else:
        institution.inspection_status = InspectionStatus.RECTIFYING
        institution.open_deadline = (
            await db.execute(
                sa.select(sa.func.min(RectificationItem.deadline)).where(
                    RectificationItem.inspection_id == latest.id, RectificationItem.progress != ItemProgress.DONE
                )
            )
        ).scalar()


@dataclass
class ItemInput:
    problem: str | None
    measures: str | None
    deadline: date | None
    id: str | None = None
    progress: str | None = None
    progress_note: str | None = None


@dataclass
class InspectionInput:
    inspected_on: date | None
    inspecting_unit: str | None
    result: str | None
    problems: list[str] = field(default_factory=list)
    other_problem: str | None = None
    items: list[ItemInput] = field(default_factory=list)


#: The most ledger items one inspection holds (the query limits count ``items`` by it).
MAX_ITEMS = 20


def check_inspection(data: InspectionInput, today: date) -> list[FieldError]:
    """The record's own rules: required fields, the fixed problem list, "other" needs text,
    and a ledger item (measures, deadline after the inspection) for every problem; at most
    ``MAX_ITEMS`` items."""
    errors: list[FieldError] = []
    if len(data.items) > MAX_ITEMS:
        return [FieldError("items", ErrorCode.NOT_ALLOWED, f"每次排查最多 {MAX_ITEMS} 项整改事项")]
    if data.inspected_on is None:
        errors.append(FieldError("inspectedOn", ErrorCode.REQUIRED, "请填写排查日期"))
    elif data.inspected_on > today:
        errors.append(FieldError("inspectedOn", ErrorCode.INVALID, "排查日期不能晚于今天"))
    for key, label, limit in (("inspecting_unit", "排查单位", 100), ("result", "排查情况", 1000)):
        value = validation.text(getattr(data, key))
        if value is None:
            errors.append(FieldError(key, ErrorCode.REQUIRED, f"请填写{label}"))
        elif len(value) > limit:
            errors.append(FieldError(key, ErrorCode.TOO_LONG, f"{label}不能超过 {limit} 个字"))
    problems = list(dict.fromkeys(p.value if hasattr(p, "value") else p for p in data.problems))
    if Problem.OTHER in problems and not validation.text(data.other_problem):
        errors.append(FieldError("other_problem", ErrorCode.REQUIRED, "发现“其他”问题时请说明具体问题"))
    elif len(validation.text(data.other_problem) or "") > 200:
        errors.append(FieldError("other_problem", ErrorCode.TOO_LONG, "其他问题的说明不能超过 200 个字"))
    covered = set()
    for index, item in enumerate(data.items):
        key = f"items.{index}"
        problem = item.problem.value if hasattr(item.problem, "value") else item.problem
        if problem not in problems:
            errors.append(FieldError(f"{key}.problem", ErrorCode.INVALID, "整改事项的问题须是本次排查发现的问题"))
        covered.add(problem)
        if not validation.text(item.measures):
            errors.append(FieldError(f"{key}.measures", ErrorCode.REQUIRED, "请填写整改措施"))
        elif len(validation.text(item.measures)) > 1000:
            errors.append(FieldError(f"{key}.measures", ErrorCode.TOO_LONG, "整改措施不能超过 1000 个字"))
        if item.deadline is None:
            errors.append(FieldError(f"{key}.deadline", ErrorCode.REQUIRED, "请填写整改期限"))
        elif data.inspected_on and item.deadline < data.inspected_on:
            errors.append(FieldError(f"{key}.deadline", ErrorCode.INVALID, "整改期限不能早于排查日期"))
    for problem in problems:
        if problem not in covered:
            errors.append(FieldError("items", ErrorCode.REQUIRED, f"请为问题“{PROBLEM_LABELS[problem]}”填写整改事项（措施和期限）"))
    return errors


async def _latest(db: AsyncSession, institution_id, *, excluding=None) -> Inspection | None:
    stmt = sa.select(Inspection).where(Inspection.institution_id == institution_id).order_by(*LATEST_FIRST).limit(1)
    if excluding is not None:
        stmt = stmt.where(Inspection.id != excluding)
    return (await db.execute(stmt)).scalar_one_or_none()


async def _is_latest(db: AsyncSession, inspection: Inspection) -> bool:
    latest = await _latest(db, inspection.institution_id)
    return latest is not None and latest.id == inspection.id


async def _writable_institution(db: AsyncSession, viewer: Viewer, institution_id: Any) -> Institution | None:
    parsed = parse_id(institution_id)
    if parsed is None:
        return None
    return (
        await db.execute(sa.select(Institution).where(Institution.id == parsed, writable(viewer)).with_for_update())
    ).scalar_one_or_none()


async def _writable_inspection(db: AsyncSession, viewer: Viewer, inspection_id: Any) -> tuple[Inspection, Institution] | None:
    parsed = parse_id(inspection_id)
    if parsed is None:
        return None
    row = (
        await db.execute(
            sa.select(Inspection, Institution)
            .join(Institution, Institution.id == Inspection.institution_id)
            .where(Inspection.id == parsed, writable(viewer))
            .with_for_update()
        )
    ).first()
    return (row[0], row[1]) if row else None


def not_found_errors(key: str = "id") -> list[FieldError]:
    return [FieldError(key, ErrorCode.NOT_FOUND, "记录不存在")]


def not_allowed_errors(message: str) -> list[FieldError]:
    return [FieldError(None, ErrorCode.NOT_ALLOWED, message)]


async def record_inspection(info, institution_id: str, data: InspectionInput) -> tuple[Inspection | None, list[FieldError]]:
    """录入排查结果. Refused while a ledger is open: close it with an acceptance first."""
    ctx = info.context
    check_writer(ctx.viewer)
    errors = check_inspection(data, today(ctx.now))
    async with ctx.sessionmaker() as db:
        institution = await _writable_institution(db, ctx.viewer, institution_id)
        if institution is None:
            return None, not_found_errors("institutionId")
        if institution.inspection_status == InspectionStatus.RECTIFYING:
            return None, not_allowed_errors("该机构的整改台账尚未销号，请先录入验收意见，再录入新的排查")
        latest = await _latest(db, institution.id)
        if latest is not None and data.inspected_on is not None and data.inspected_on < latest.inspected_on:
            errors.append(FieldError("inspectedOn", ErrorCode.INVALID, f"排查日期不能早于上一次排查（{latest.inspected_on:%Y-%m-%d}）"))
        if errors:
            return None, errors
        inspection = Inspection(
            institution_id=institution.id,
            inspected_on=data.inspected_on,
            inspecting_unit=validation.text(data.inspecting_unit),
            result=validation.text(data.result),
            problems=list(dict.fromkeys(str(getattr(p, "value", p)) for p in data.problems)),
            other_problem=validation.text(data.other_problem) if Problem.OTHER in [getattr(p, "value", p) for p in data.problems] else None,
            recorded_by=ctx.viewer.account_id,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        db.add(inspection)
        await db.flush()
        for item in data.items:
            db.add(
                RectificationItem(
                    inspection_id=inspection.id,
                    problem=str(getattr(item.problem, "value", item.problem)),
                    measures=validation.text(item.measures),
                    deadline=item.deadline,
                    updated_at=ctx.now,
                )
            )
        await db.flush()
        await refresh_status(db, institution)
        audit.record(db, ctx, "recordInspection", "Inspection", inspection.id, institution.region_code, changed=audit.changes(None, _summary(inspection, data.items)))
        await db.commit()
    return inspection, []


def _summary(inspection: Inspection, items: list) -> dict:
    return {
        **audit.values_of(inspection, ["institution_id", "inspected_on", "inspecting_unit", "result", "problems", "other_problem"]),
        "items": [[str(getattr(i.problem, "value", i.problem)), validation.text(i.measures), audit.jsonable(i.deadline)] for i in items],
    }


async def correct_inspection(info, inspection_id: str, version: int, data: InspectionInput) -> tuple[Inspection | None, list[FieldError]]:
    """修改排查记录 until the ledger is closed. Items with an id are kept (with their
    progress), items without one are added, the others removed. The correction names the
    version it was based on: an older one is refused (CONFLICT)."""
    ctx = info.context
    check_writer(ctx.viewer)
    errors = check_inspection(data, today(ctx.now))
    async with ctx.sessionmaker() as db:
        found = await _writable_inspection(db, ctx.viewer, inspection_id)
        if found is None:
            return None, not_found_errors()
        inspection, institution = found
        if inspection.accepted_on is not None:
            return None, not_allowed_errors("台账已销号，排查记录只读")
        if version != inspection.version:
            return None, [FieldError("version", ErrorCode.CONFLICT, "该排查记录已被他人修改，请刷新后重新编辑")]
        if not await _is_latest(db, inspection):
            return None, not_allowed_errors("只能修改最近一次排查记录")
        previous = await _latest(db, institution.id, excluding=inspection.id)
        if previous is not None and data.inspected_on is not None and data.inspected_on < previous.inspected_on:
            errors.append(FieldError("inspectedOn", ErrorCode.INVALID, f"排查日期不能早于上一次排查（{previous.inspected_on:%Y-%m-%d}）"))
        before = {
            **audit.values_of(inspection, ["institution_id", "inspected_on", "inspecting_unit", "result", "problems", "other_problem"]),
        }
        existing = {
            i.id: i for i in (await db.execute(sa.select(RectificationItem).where(RectificationItem.inspection_id == inspection.id))).scalars()
        }
        for index, item in enumerate(data.items):
            if item.id is not None and parse_id(item.id) not in existing:
                errors.append(FieldError(f"items.{index}.id", ErrorCode.NOT_FOUND, "整改事项不存在"))
        if errors:
            return None, errors
        inspection.version += 1
        inspection.inspected_on = data.inspected_on
        inspection.inspecting_unit = validation.text(data.inspecting_unit)
        inspection.result = validation.text(data.result)
        inspection.problems = list(dict.fromkeys(str(getattr(p, "value", p)) for p in data.problems))
        inspection.other_problem = validation.text(data.other_problem) if Problem.OTHER in inspection.problems else None
        inspection.updated_at = ctx.now
        kept = set()
        for item in data.items:
            row = existing.get(parse_id(item.id)) if item.id else None
            if row is None:
                row = RectificationItem(inspection_id=inspection.id, problem="", measures="", deadline=item.deadline)
                db.add(row)
            row.problem = str(getattr(item.problem, "value", item.problem))
            row.measures = validation.text(item.measures)
            row.deadline = item.deadline
            row.updated_at = ctx.now
            kept.add(row.id)
        for item_id, row in existing.items():
            if item_id not in kept:
                await db.delete(row)
        await db.flush()
        await refresh_status(db, institution)
        after = _summary(inspection, data.items)
        before["items"] = [[r.problem, r.measures, audit.jsonable(r.deadline)] for r in existing.values()]
        audit.record(db, ctx, "correctInspection", "Inspection", inspection.id, institution.region_code, changed=audit.changes(before, after))
        await db.commit()
    return inspection, []


async def update_progress(info, item_id: str, progress: str, note: str | None) -> tuple[RectificationItem | None, list[FieldError]]:
    """整改进度 of one ledger item, until the ledger is closed."""
    ctx = info.context
    check_writer(ctx.viewer)
    async with ctx.sessionmaker() as db:
        parsed = parse_id(item_id)
        row = (
            await db.execute(
                sa.select(RectificationItem, Inspection, Institution)
                .join(Inspection, Inspection.id == RectificationItem.inspection_id)
                .join(Institution, Institution.id == Inspection.institution_id)
                .where(RectificationItem.id == parsed, writable(ctx.viewer))
                .with_for_update()
            )
        ).first() if parsed else None
        if row is None:
            return None, not_found_errors()
        item, inspection, institution = row
        errors = not_allowed_errors("台账已销号，整改进度只读") if inspection.accepted_on is not None else []
        note = validation.text(note)
        if note and (problem := validation.text_problem(note, "进度说明", 1000, lines=True)):
            errors.append(FieldError("progressNote", *problem))
        if errors:
            return None, errors
        before = audit.values_of(item, ["progress", "progress_note"])
        item.progress = getattr(progress, "value", progress)
        item.progress_note = note
        item.updated_at = ctx.now
        await db.flush()
        await refresh_status(db, institution)
        audit.record(db, ctx, "updateRectificationProgress", "RectificationItem", item.id, institution.region_code,
                     changed=audit.changes(before, audit.values_of(item, ["progress", "progress_note"])))
        await db.commit()
    return item, []


async def accept_rectification(info, inspection_id: str, opinion: str | None, accepted_on: date | None) -> tuple[Inspection | None, list[FieldError]]:
    """录入验收意见: closes the ledger (台账销号). Only an open ledger whose items are all done."""
    ctx = info.context
    check_writer(ctx.viewer)
    async with ctx.sessionmaker() as db:
        found = await _writable_inspection(db, ctx.viewer, inspection_id)
        if found is None:
            return None, not_found_errors()
        inspection, institution = found
        if inspection.accepted_on is not None:
            return None, not_allowed_errors("台账已销号")
        if not inspection.problems:
            return None, not_allowed_errors("本次排查未发现问题，没有需要验收的整改台账")
        if not await _is_latest(db, inspection):
            return None, not_allowed_errors("只能验收最近一次排查的整改台账")
        unfinished = (
            await db.execute(
                sa.select(sa.func.count()).where(
                    RectificationItem.inspection_id == inspection.id, RectificationItem.progress != ItemProgress.DONE
                )
            )
        ).scalar()
        if unfinished:
            return None, not_allowed_errors(f"尚有 {unfinished} 项整改未完成，不能验收")
        errors = []
        opinion = validation.text(opinion)
        if opinion is None:
            errors.append(FieldError("opinion", ErrorCode.REQUIRED, "请填写验收意见"))
        elif len(opinion) > 1000:
            errors.append(FieldError("opinion", ErrorCode.TOO_LONG, "验收意见不能超过 1000 个字"))
        accepted_on = accepted_on or today(ctx.now)
        if accepted_on > today(ctx.now) or accepted_on < inspection.inspected_on:
            errors.append(FieldError("acceptedOn", ErrorCode.INVALID, "验收日期应在排查日期与今天之间"))
        if errors:
            return None, errors
        inspection.acceptance_opinion = opinion
        inspection.accepted_on = accepted_on
        inspection.version += 1
        inspection.accepted_by = ctx.viewer.account_id
        inspection.updated_at = ctx.now
        await db.flush()
        await refresh_status(db, institution)
        audit.record(db, ctx, "acceptRectification", "Inspection", inspection.id, institution.region_code,
                     changed=audit.changes(None, audit.values_of(inspection, ["acceptance_opinion", "accepted_on"])))
        await db.commit()
    return inspection, []
