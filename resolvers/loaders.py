"""DataLoaders, created per request in the GraphQL context. Each batch function opens its
own database session (loaders sharing one AsyncSession fail with concurrent operations).
Loaders of scoped rows apply ``auth.scope`` with the request's viewer."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from aiodataloader import DataLoader
from sqlalchemy.ext.asyncio import async_sessionmaker

from auth.scope import scope
from auth.viewer import Viewer
from models import Account, Application, Course, Document, Inspection, Institution, InstitutionFunds, Material, RectificationItem, Region, Site, Staff, TrainingClass
from resolvers.institutions.home import missing_items_of
from resolvers.findings import findings_for
from resolvers.public import public_facts

K = TypeVar("K")


def _loader(batch: Callable[[list[K]], Awaitable[list[Any]]]) -> DataLoader:
    return DataLoader(batch_load_fn=batch)


@dataclass
class Loaders:
    region: DataLoader  # code -> Region | None
    region_children: DataLoader  # code -> list[Region], ordered by code
    account: DataLoader  # id -> Account | None (in the viewer's scope)
    institution: DataLoader  # id -> Institution | None (in the viewer's scope)
    #: id -> Account | None, unscoped: only the unit's name and level are shown from it
    #: (a registering unit, 登记单位, is named on every institution its viewers see).
    unit: DataLoader
    inspections: DataLoader  # institution id -> list[Inspection], newest first (scoped)
    rectification_items: DataLoader  # inspection id -> list[RectificationItem], by deadline (scoped)
    # The portal's records (scoped through their institution):
    sites: DataLoader  # institution id -> list[Site], by name
    courses: DataLoader  # site id -> list[Course], by name
    classes: DataLoader  # course id -> list[TrainingClass], by name
    staff_of: DataLoader  # institution id -> list[Staff], by name
    staff: DataLoader  # staff id -> Staff | None
    training_class: DataLoader  # class id -> TrainingClass | None
    materials: DataLoader  # institution id -> list[Material], by name
    applications: DataLoader  # institution id -> list[Application], newest first
    findings: DataLoader  # institution id -> list[Finding] (institutions in scope)
    missing: DataLoader  # institution id -> list[Missing] before a compliance application (in scope)
    counts: DataLoader  # institution id -> (sites, active staff) (in scope)
    #: institution id -> PublicFacts (teachers, filed classes, black-list reason): public
    #: data of any registered institution, read by anyone (resolvers.public).
    public_facts: DataLoader
    documents: DataLoader  # institution id -> list[Document], newest first (scoped)
    funds: DataLoader  # institution id -> InstitutionFunds | None (scoped)


def create_loaders(sessionmaker: async_sessionmaker, viewer: Viewer | None) -> Loaders:
    async def rows(stmt: sa.Select) -> Sequence[Any]:
        async with sessionmaker() as db:
            return (await db.execute(stmt)).scalars().all()

    async def load_regions(codes: list[str]) -> list[Region | None]:
        found = {r.code: r for r in await rows(sa.select(Region).where(Region.code.in_(codes), scope(viewer, Region)))}
        return [found.get(c) for c in codes]

    async def load_region_children(codes: list[str]) -> list[list[Region]]:
        children: dict[str, list[Region]] = defaultdict(list)
        for r in await rows(
            sa.select(Region)
            .where(Region.parent_code.in_(codes), scope(viewer, Region))
            .order_by(Region.code)
        ):
            children[r.parent_code].append(r)
        return [children[c] for c in codes]

    async def load_accounts(ids: list[uuid.UUID]) -> list[Account | None]:
        found = {
            a.id: a
            for a in await rows(
                sa.select(Account).where(Account.id.in_(ids), scope(viewer, Account))
            )
        }
        return [found.get(i) for i in ids]

    async def load_institutions(ids: list[uuid.UUID]) -> list[Institution | None]:
        found = {
            i.id: i
            for i in await rows(sa.select(Institution).where(Institution.id.in_(ids), scope(viewer, Institution)))
        }
        return [found.get(i) for i in ids]

    async def load_units(ids: list[uuid.UUID]) -> list[Account | None]:
        found = {a.id: a for a in await rows(sa.select(Account).where(Account.id.in_(ids)))}
        return [found.get(i) for i in ids]

    async def load_inspections(ids: list[uuid.UUID]) -> list[list[Inspection]]:
        found: dict[uuid.UUID, list[Inspection]] = defaultdict(list)
        for i in await rows(
            sa.select(Inspection)
            .where(Inspection.institution_id.in_(ids), scope(viewer, Inspection))
            .order_by(Inspection.inspected_on.desc(), Inspection.seq.desc())
        ):
            found[i.institution_id].append(i)
        return [found[i] for i in ids]

    async def load_items(ids: list[uuid.UUID]) -> list[list[RectificationItem]]:
        found: dict[uuid.UUID, list[RectificationItem]] = defaultdict(list)
        for item in await rows(
            sa.select(RectificationItem)
            .join(Inspection, Inspection.id == RectificationItem.inspection_id)
            .where(RectificationItem.inspection_id.in_(ids), scope(viewer, Inspection))
            .order_by(RectificationItem.deadline, RectificationItem.id)
        ):
            found[item.inspection_id].append(item)
        return [found[i] for i in ids]

    def grouped(model: type, key: sa.Column, *order: sa.ColumnElement) -> DataLoader:
        async def load(keys: list[Any]) -> list[list[Any]]:
            found: dict[Any, list[Any]] = defaultdict(list)
            for row in await rows(sa.select(model).where(key.in_(keys), scope(viewer, model)).order_by(*order)):
                found[getattr(row, key.key)].append(row)
            return [found[k] for k in keys]

        return _loader(load)

    def by_id(model: type) -> DataLoader:
        async def load(ids: list[uuid.UUID]) -> list[Any]:
            found = {r.id: r for r in await rows(sa.select(model).where(model.id.in_(ids), scope(viewer, model)))}
            return [found.get(i) for i in ids]

        return _loader(load)

    async def load_findings(ids: list[uuid.UUID]) -> list[list[Any]]:
        async with sessionmaker() as db:
            visible = list((await db.execute(sa.select(Institution.id).where(Institution.id.in_(ids), scope(viewer, Institution)))).scalars())
            found = await findings_for(db, visible)
        return [found.get(i, []) for i in ids]

    async def load_funds(ids: list[uuid.UUID]) -> list[InstitutionFunds | None]:
        found = {
            f.institution_id: f
            for f in await rows(
                sa.select(InstitutionFunds).where(InstitutionFunds.institution_id.in_(ids), scope(viewer, InstitutionFunds))
            )
        }
        return [found.get(i) for i in ids]

    async def load_missing(ids: list[uuid.UUID]) -> list[list[Any]]:
        findings = dict(zip(ids, await loaders.findings.load_many(ids), strict=True))
        async with sessionmaker() as db:
            institutions = (await db.execute(sa.select(Institution).where(Institution.id.in_(ids), scope(viewer, Institution)))).scalars().all()
            found = await missing_items_of(db, list(institutions), findings)
        return [found.get(i, []) for i in ids]

    async def load_counts(ids: list[uuid.UUID]) -> list[tuple[int, int]]:
        visible = sa.select(Institution.id).where(Institution.id.in_(ids), scope(viewer, Institution)).scalar_subquery()
        async with sessionmaker() as db:
            sites = dict((await db.execute(
                sa.select(Site.institution_id, sa.func.count()).where(Site.institution_id.in_(visible)).group_by(Site.institution_id)
            )).all())
            staff = dict((await db.execute(
                sa.select(Staff.institution_id, sa.func.count())
                .where(Staff.institution_id.in_(visible), Staff.status == "ACTIVE")
                .group_by(Staff.institution_id)
            )).all())
        return [(sites.get(i, 0), staff.get(i, 0)) for i in ids]

    async def load_public_facts(ids: list[uuid.UUID]) -> list[Any]:
        return await public_facts(sessionmaker, ids)

    loaders = Loaders(
        missing=_loader(load_missing),
        counts=_loader(load_counts),
        public_facts=_loader(load_public_facts),
        sites=grouped(Site, Site.institution_id, Site.name, Site.id),
        courses=grouped(Course, Course.site_id, Course.name, Course.id),
        classes=grouped(TrainingClass, TrainingClass.course_id, TrainingClass.name, TrainingClass.id),
        staff_of=grouped(Staff, Staff.institution_id, Staff.name, Staff.id),
        staff=by_id(Staff),
        training_class=by_id(TrainingClass),
        materials=grouped(Material, Material.institution_id, Material.name, Material.id),
        applications=grouped(Application, Application.institution_id, Application.seq.desc()),
        findings=_loader(load_findings),
        region=_loader(load_regions),
        region_children=_loader(load_region_children),
        account=_loader(load_accounts),
        institution=_loader(load_institutions),
        unit=_loader(load_units),
        inspections=_loader(load_inspections),
        rectification_items=_loader(load_items),
        documents=grouped(Document, Document.institution_id, Document.uploaded_at.desc(), Document.id),
        funds=_loader(load_funds),
    )
    return loaders
