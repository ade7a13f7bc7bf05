"""The demo's black and white lists (黑白名单, docs/DOMAIN.md §R5.3): in every demo county, period 1
of its black list, naming an institution that trains in subjects without a licence or a
business registration (无证无照), then period 1 of its white list: the county's institutions
that are white-list eligible on the demo's day, as the standing says (``resolvers.standing``)
— the same rule as ``publishListPeriod``."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker

from demo.accounts import DEMO_TREE
from models import Account, Institution, ListKind, ListPeriod, Region
from resolvers.lists import entry_of, title_of
from resolvers.standing import facts

BLACK_REASON = "无证无照开展学科类培训，拒不整改"


async def seed_lists(sessionmaker: async_sessionmaker, day: date, now: datetime) -> int:
    """The periods (idempotent: a county with any period is left as it is); returns how many were published."""
    counties = [c for prefectures in DEMO_TREE.values() for cs in prefectures.values() for c in cs]
    published = 0
    async with sessionmaker() as db:
        names = dict((await db.execute(sa.select(Region.code, Region.name).where(Region.code.in_(counties)))).all())
        bureaus = dict((await db.execute(sa.select(Account.region_code, Account.id).where(Account.username.in_([f"edu-{c}" for c in counties])))).all())

        async def period(county: str, kind: ListKind, entries: list) -> None:
            row = ListPeriod(
                region_code=county, kind=kind, number=1, title=title_of(names[county], kind, 1), published_at=now,
                published_by=bureaus[county], entry_count=len(entries),
            )
            db.add(row)
            await db.flush()
            for entry in entries:
                entry.period_id = row.id
            db.add_all(entries)
            await db.flush()

        for county in counties:
            if (await db.execute(sa.select(sa.exists().where(ListPeriod.region_code == county)))).scalar():
                continue
            in_county = sa.and_(Institution.region_code == county, Institution.deregistered_at.is_(None))
            unlicensed = sa.and_(Institution.kind == "SUBJECT", Institution.qualification_status == "NONE")
            black = (await db.execute(sa.select(Institution).where(in_county, unlicensed).order_by(Institution.credit_code).limit(1))).scalars().all()
            # The black list first: the white list then leaves out whom it names (the tallies follow at once).
            await period(county, ListKind.BLACK, [entry_of(i, BLACK_REASON) for i in black])
            eligible = (
                await db.execute(sa.select(Institution).where(in_county, facts(day).white_list_eligible).order_by(Institution.name, Institution.id))
            ).scalars().all()
            await period(county, ListKind.WHITE, [entry_of(i) for i in eligible])
            published += 2
        await db.commit()
    return published
