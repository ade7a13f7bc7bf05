"""The one rules engine (docs/DOMAIN.md §G4): the rules of ``resolvers.rules`` checked on every
record of an institution, whoever entered it (the county's registration, the portal). A rule
that fails is a finding (rule id, severity, message, source, the record it concerns and the
others it concerns too), listed on the institution and on those records for its own account
and for regulators, and shown before an application is submitted. Nothing here refuses a
save or raises: findings are data. A finding is a violation (违规: while one is open the
institution is not compliant, ``resolvers.standing``) or a warning (提示).

``findings_for(db, ids)`` checks many institutions with one statement per kind of record
(institutions, sites, courses, classes, teachers, funds, materials, documents), whatever their
number. What it finds is kept (``models.findings``): every change of an institution's
records calls ``refresh`` in its transaction, and reads go to ``stored`` (one statement).
The licence's rules depend on the day, not on the records: ``resolvers.standing`` derives
them (``LICENCE_RULES``) with the institution's standing.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from models import Course, Document, DocumentCategory, Institution, InstitutionFinding, InstitutionFunds, Material, Site, Staff, TrainingClass
from resolvers import rules
from resolvers.rules import LICENCE_RULES, RULES, Finding, finding

__all__ = ["LICENCE_RULES", "RULES", "Finding", "finding", "findings_for", "stored", "refresh", "refresh_all", "differing"]


async def findings_for(db: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Finding]]:
    """The findings of each institution of ``ids`` (the caller has checked scope): the checks
    of ``resolvers.rules`` on each kind of record, in the order institution, classes by name,
    sites, funds, materials, documents."""
    found: dict[uuid.UUID, list[Finding]] = {i: [] for i in ids}
    if not ids:
        return found
    of = lambda model, *order: sa.select(model).where(model.institution_id.in_(ids)).order_by(*order)  # noqa: E731
    institutions = {i.id: i for i in (await db.execute(sa.select(Institution).where(Institution.id.in_(ids)))).scalars()}
    sites = (await db.execute(of(Site, Site.name, Site.id))).scalars().all()
    courses = {c.id: c for c in (await db.execute(of(Course, Course.id))).scalars()}
    classes = (await db.execute(of(TrainingClass, TrainingClass.name, TrainingClass.id))).scalars().all()
    teacher_ids = {t for c in classes for t in c.teacher_ids}
    teachers = (
        {s.id: s for s in (await db.execute(sa.select(Staff).where(Staff.id.in_(teacher_ids)))).scalars()} if teacher_ids else {}
    )

    # The grades of each institution's subject courses, gathered once (not per institution: a batch holds thousands).
    subject_grades: dict[uuid.UUID, set[str]] = defaultdict(set)
    for c in courses.values():
        if c.subject:
            subject_grades[c.institution_id].update(c.grades)
    for institution in institutions.values():
        found[institution.id] += rules.check_registration(institution, subject_grades[institution.id])
    by_site: dict[uuid.UUID, list[TrainingClass]] = defaultdict(list)
    for c in classes:
        course = courses[c.course_id]
        found[c.institution_id] += rules.check_class(institutions[c.institution_id], course, c, teachers)
        by_site[course.site_id].append(c)
    for site in sites:
        found[site.institution_id] += rules.check_site(site, by_site.get(site.id, []))
    for funds in (await db.execute(of(InstitutionFunds, InstitutionFunds.institution_id))).scalars():
        found[funds.institution_id] += rules.check_funds(funds)
    for m in (await db.execute(of(Material, Material.name, Material.id))).scalars():
        found[m.institution_id] += rules.check_material(m)
    for d in (await db.execute(of(Document, Document.uploaded_at, Document.id).where(Document.category == DocumentCategory.CONTRACT))).scalars():
        found[d.institution_id] += rules.check_document(d)
    return found


async def stored(db: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Finding]]:
    """The findings kept for each institution of ``ids``, in one statement."""
    found: dict[uuid.UUID, list[Finding]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = await db.execute(
        sa.select(InstitutionFinding).where(InstitutionFinding.institution_id.in_(ids)).order_by(InstitutionFinding.institution_id, InstitutionFinding.position)
    )
    for row in rows.scalars():
        found[row.institution_id].append(
            Finding(row.rule, row.message, row.source, row.record_type, row.record_id, row.record_name, row.severity, tuple(row.related_ids))
        )
    return found


async def refresh(db: AsyncSession, ids: list[uuid.UUID], chunk: int = 2000) -> None:
    """Check the institutions' records again and keep what the rules find, in the caller's
    transaction (before its commit): every writer of an institution's records calls it."""
    ids = sorted(set(ids))
    if not ids:
        return
    await db.flush()
    for start in range(0, len(ids), chunk):
        await _refresh(db, ids[start : start + chunk])


async def _refresh(db: AsyncSession, ids: list[uuid.UUID]) -> None:
    # One writer at a time per institution (in id order: no deadlock between batches).
    await db.execute(sa.select(Institution.id).where(Institution.id.in_(ids)).order_by(Institution.id).with_for_update())
    fresh = await findings_for(db, ids)
    kept = await stored(db, ids)
    changed = [i for i in ids if fresh.get(i, []) != kept[i]]
    if not changed:
        return
    await db.execute(sa.delete(InstitutionFinding).where(InstitutionFinding.institution_id.in_(changed)))
    rows = [
        {
            "institution_id": i, "position": n, "rule": f.rule, "severity": f.severity, "message": f.message, "source": f.source,
            "record_type": f.record_type, "record_id": f.record_id, "record_name": f.record_name, "related_ids": list(f.related),
        }
        for i in changed
        for n, f in enumerate(fresh.get(i, []))
    ]
    if rows:
        await db.execute(sa.insert(InstitutionFinding), rows)


async def _batches(sessionmaker, batch: int) -> AsyncIterator[tuple[AsyncSession, list[uuid.UUID]]]:
    """Every institution's id, ``batch`` at a time in id order, each batch with a session of its own."""
    after = None
    while True:
        async with sessionmaker() as db:
            stmt = sa.select(Institution.id).order_by(Institution.id).limit(batch)
            if after is not None:
                stmt = stmt.where(Institution.id > after)
            ids = list((await db.execute(stmt)).scalars())
            if not ids:
                return
            yield db, ids
        after = ids[-1]


async def refresh_all(sessionmaker, batch: int = 2000, on_batch: Callable[[int], object] | None = None) -> int:
    """``refresh`` every institution, a batch per transaction (the demo, ``python server.py
    tallies --rebuild`` after a migration that changes the rules' data); ``on_batch`` is told
    each batch's size (a progress bar). Returns how many were checked."""
    checked = 0
    async for db, ids in _batches(sessionmaker, batch):
        await refresh(db, ids)
        await db.commit()
        checked += len(ids)
        if on_batch is not None:
            on_batch(len(ids))
    return checked


async def differing(sessionmaker, batch: int = 2000) -> list[uuid.UUID]:
    """The institutions whose kept findings differ from a check of their records now
    (``python server.py tallies``)."""
    found: list[uuid.UUID] = []
    async for db, ids in _batches(sessionmaker, batch):
        fresh, kept = await findings_for(db, ids), await stored(db, ids)
        found += [i for i in ids if fresh[i] != kept[i]]
    return found
