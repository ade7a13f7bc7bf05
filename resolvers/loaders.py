"""DataLoaders, each a named class made on first use in a request (Saleor's dataloaders):
``InstitutionByIdLoader(info.context).load(id)`` finds the request's loader of that kind or
makes it, so a request builds only the loaders it uses and each batches once.

Each batch opens its own database session (loaders sharing one AsyncSession fail with
concurrent operations). Loaders of scoped rows apply ``auth.scope`` with the request's
viewer, so a row out of scope loads as missing.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, ClassVar

import sqlalchemy as sa
from aiodataloader import DataLoader

from auth.scope import scope
from core.clock import today
from core.ids import parse_id
from models import (
    Account,
    Application,
    Course,
    Document,
    Inspection,
    Institution,
    InstitutionFunds,
    Material,
    RectificationItem,
    Region,
    RegionChange,
    RegionSuccessor,
    Site,
    Staff,
    TrainingClass,
    valid_on,
)
from resolvers import findings
from resolvers.institutions.home import missing_items_of
from resolvers.public import public_facts
from resolvers.standing import standings


class Loader(DataLoader):
    """A loader of the request whose context it is given (``context.loaders``, a dict by
    class), made the first time it is asked for."""

    def __new__(cls, context: Any) -> Loader:
        made = context.loaders.get(cls)
        if made is None:
            made = super().__new__(cls)
            context.loaders[cls] = made
            made._context = None
        return made

    def __init__(self, context: Any) -> None:
        if self._context is not None:
            return
        super().__init__()
        self._context = context
        self.sessionmaker = context.sessionmaker
        self.viewer = context.viewer

    async def rows(self, stmt: sa.Select) -> Sequence[Any]:
        async with self.sessionmaker() as db:
            return (await db.execute(stmt)).scalars().all()


class _ById(Loader):
    """id -> the row of ``model`` in the viewer's scope, or None."""

    model: ClassVar[type]

    async def batch_load_fn(self, ids: list[Any]) -> list[Any]:
        key = self.key_column()
        found = {getattr(r, key.key): r for r in await self.rows(sa.select(self.model).where(key.in_(ids), scope(self.viewer, self.model)))}
        return [found.get(i) for i in ids]

    def key_column(self) -> sa.ColumnElement:
        return self.model.id

    async def load_id(self, value: Any) -> Any:
        """The row an id argument names (None for a malformed id, like an unknown one)."""
        parsed = parse_id(value)
        return await self.load(parsed) if parsed is not None else None


class _Grouped(Loader):
    """A parent's key -> its ``model`` rows in the viewer's scope, in ``order``."""

    model: ClassVar[type]
    key: ClassVar[str]
    order: ClassVar[tuple[str, ...]]

    async def batch_load_fn(self, keys: list[Any]) -> list[list[Any]]:
        column = getattr(self.model, self.key)
        order = [getattr(self.model, name[1:]).desc() if name.startswith("-") else getattr(self.model, name) for name in self.order]
        found: dict[Any, list[Any]] = defaultdict(list)
        for row in await self.rows(sa.select(self.model).where(column.in_(keys), scope(self.viewer, self.model), self.where()).order_by(*order)):
            found[getattr(row, self.key)].append(row)
        return [found[k] for k in keys]

    def where(self) -> sa.ColumnElement[bool]:
        """A further condition on the rows (none)."""
        return sa.true()


class RegionByCodeLoader(_ById):
    """code -> Region (public reference data)."""

    model = Region

    def key_column(self) -> sa.ColumnElement:
        return Region.code


class RegionChildrenLoader(_Grouped):
    """code -> the regions right below it in force on the request's day, by code."""

    model, key, order = Region, "parent_code", ("code",)

    def where(self) -> sa.ColumnElement[bool]:
        return valid_on(today(self._context.now))


class _RegionLinks(Loader):
    """code -> the regions linked to it by ``region_successor`` (``key`` the column of the
    code asked, the other the regions answered), by code."""

    key: ClassVar[str]
    other: ClassVar[str]

    async def batch_load_fn(self, codes: list[str]) -> list[list[Region]]:
        asked, answered = getattr(RegionSuccessor, self.key), getattr(RegionSuccessor, self.other)
        async with self.sessionmaker() as db:
            rows = (await db.execute(sa.select(asked, Region).join(Region, Region.code == answered).where(asked.in_(codes)).order_by(Region.code))).all()
        found: dict[str, list[Region]] = defaultdict(list)
        for code, region in rows:
            found[code].append(region)
        return [found[c] for c in codes]


class RegionSuccessorsLoader(_RegionLinks):
    """code -> the regions that took the place of a retired region (继任区划)."""

    key, other = "code", "successor_code"


class RegionPredecessorsLoader(_RegionLinks):
    """code -> the retired regions it took the place of (前身区划)."""

    key, other = "successor_code", "code"


class RegionChangesLoader(_Grouped):
    """code -> its changes (区划调整), in the order applied."""

    model, key, order = RegionChange, "region_code", ("seq",)


class AccountByIdLoader(_ById):
    model = Account


class InstitutionByIdLoader(_ById):
    model = Institution


class StaffByIdLoader(_ById):
    model = Staff


class ClassByIdLoader(_ById):
    model = TrainingClass


class UnitByIdLoader(Loader):
    """id -> the Account of a registering unit (登记单位), unscoped: only its name and level
    are shown, on every institution its viewers see."""

    async def batch_load_fn(self, ids: list[uuid.UUID]) -> list[Account | None]:
        found = {a.id: a for a in await self.rows(sa.select(Account).where(Account.id.in_(ids)))}
        return [found.get(i) for i in ids]


class InspectionsByInstitutionLoader(_Grouped):
    """institution id -> its inspections, newest first."""

    model, key, order = Inspection, "institution_id", ("-inspected_on", "-seq")


class RectificationItemsLoader(Loader):
    """inspection id -> its ledger's items, by deadline (scoped through the inspection)."""

    async def batch_load_fn(self, ids: list[uuid.UUID]) -> list[list[RectificationItem]]:
        found: dict[uuid.UUID, list[RectificationItem]] = defaultdict(list)
        for item in await self.rows(
            sa.select(RectificationItem)
            .join(Inspection, Inspection.id == RectificationItem.inspection_id)
            .where(RectificationItem.inspection_id.in_(ids), scope(self.viewer, Inspection))
            .order_by(RectificationItem.deadline, RectificationItem.id)
        ):
            found[item.inspection_id].append(item)
        return [found[i] for i in ids]


class SitesByInstitutionLoader(_Grouped):
    model, key, order = Site, "institution_id", ("name", "id")


class CoursesBySiteLoader(_Grouped):
    model, key, order = Course, "site_id", ("name", "id")


class ClassesByCourseLoader(_Grouped):
    model, key, order = TrainingClass, "course_id", ("name", "id")


class StaffByInstitutionLoader(_Grouped):
    model, key, order = Staff, "institution_id", ("name", "id")


class MaterialsByInstitutionLoader(_Grouped):
    model, key, order = Material, "institution_id", ("name", "id")


class ApplicationsByInstitutionLoader(_Grouped):
    """institution id -> its applications, newest first."""

    model, key, order = Application, "institution_id", ("-seq",)


class DocumentsByInstitutionLoader(_Grouped):
    """institution id -> its documents, newest first."""

    model, key, order = Document, "institution_id", ("-uploaded_at", "id")


class FundsByInstitutionLoader(_ById):
    model = InstitutionFunds

    def key_column(self) -> sa.ColumnElement:
        return InstitutionFunds.institution_id


class StandingLoader(Loader):
    """institution id -> its Standing (``resolvers.standing``) as of the request's day, or None
    for an unknown id: public facts of any registered institution (the public lookup and
    lists read them too), one statement per batch. A list page that selected the standing
    with its rows primes this loader instead."""

    async def batch_load_fn(self, ids: list[uuid.UUID]) -> list[Any]:
        async with self.sessionmaker() as db:
            found = await standings(db, ids, today(self._context.now))
        return [found.get(i) for i in ids]


class FindingsByInstitutionLoader(Loader):
    """institution id -> the rules' findings on its data (institutions in scope): those of
    the licence (from its standing), then those kept for its records."""

    async def batch_load_fn(self, ids: list[uuid.UUID]) -> list[list[Any]]:
        standing = dict(zip(ids, await StandingLoader(self._context).load_many(ids), strict=True))
        async with self.sessionmaker() as db:
            visible = list((await db.execute(sa.select(Institution.id).where(Institution.id.in_(ids), scope(self.viewer, Institution)))).scalars())
            found = await findings.stored(db, visible)
        return [[*standing[i].licence_findings, *found[i]] if i in found and standing[i] else [] for i in ids]


class MissingItemsLoader(Loader):
    """institution id -> what is missing before a compliance application (in scope)."""

    async def batch_load_fn(self, ids: list[uuid.UUID]) -> list[list[Any]]:
        standing = dict(zip(ids, await StandingLoader(self._context).load_many(ids), strict=True))
        async with self.sessionmaker() as db:
            institutions = (await db.execute(sa.select(Institution).where(Institution.id.in_(ids), scope(self.viewer, Institution)))).scalars().all()
            found = await missing_items_of(db, list(institutions), standing)
        return [found.get(i, []) for i in ids]


class CountsByInstitutionLoader(Loader):
    """institution id -> (sites, active staff) (in scope)."""

    async def batch_load_fn(self, ids: list[uuid.UUID]) -> list[tuple[int, int]]:
        visible = sa.select(Institution.id).where(Institution.id.in_(ids), scope(self.viewer, Institution)).scalar_subquery()
        async with self.sessionmaker() as db:
            sites = dict((await db.execute(
                sa.select(Site.institution_id, sa.func.count()).where(Site.institution_id.in_(visible)).group_by(Site.institution_id)
            )).all())
            staff = dict((await db.execute(
                sa.select(Staff.institution_id, sa.func.count())
                .where(Staff.institution_id.in_(visible), Staff.status == "ACTIVE")
                .group_by(Staff.institution_id)
            )).all())
        return [(sites.get(i, 0), staff.get(i, 0)) for i in ids]


class PublicFactsLoader(Loader):
    """institution id -> PublicFacts (teachers, filed classes, black-list reason): public data
    of any registered institution, read by anyone (``resolvers.public``)."""

    async def batch_load_fn(self, ids: list[uuid.UUID]) -> list[Any]:
        return await public_facts(self.sessionmaker, ids)
