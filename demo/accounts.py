"""The demo's regulator accounts: the ministry, the education bureau of every demo province,
prefecture and county, each county's sports, culture-and-tourism and science-and-technology
bureaus (the departments that review non-subject institutions, docs/DOMAIN.md §P1.3.1) and
two sub-units. Password ``Demo#2026``."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker

from auth.passwords import hash_password_async
from models import ROOT_CODE, Account, AccountKind, Department, Level, Region

DEMO_PASSWORD = "Demo#2026"


#: province -> prefecture -> counties
DEMO_TREE: dict[str, dict[str, list[str]]] = {
    "440000": {"440100": ["440106", "440104"], "440300": ["440304", "440305"]},  # 广东: 广州, 深圳
    "420000": {"420100": ["420102", "420106"], "420500": ["420502", "420503"]},  # 湖北: 武汉, 宜昌
}


#: The county bureaus besides education, by the prefix of their user names.
OTHER_DEPARTMENTS = {"sports": Department.SPORTS, "culture": Department.CULTURE_TOURISM, "science": Department.SCIENCE_TECHNOLOGY}
_BUREAUS = {Department.SPORTS: "{region}文化体育局", Department.CULTURE_TOURISM: "{region}文化广电旅游局", Department.SCIENCE_TECHNOLOGY: "{region}科学技术局"}


def demo_accounts() -> list[dict]:
    """The demo regulator accounts, parents before children."""
    accounts = [dict(username="edu-000000", level=Level.MINISTRY, region=ROOT_CODE, department=Department.EDUCATION)]
    for province, prefectures in DEMO_TREE.items():
        accounts.append(dict(username=f"edu-{province}", level=Level.PROVINCE, region=province, department=Department.EDUCATION))
        for prefecture, counties in prefectures.items():
            accounts.append(dict(username=f"edu-{prefecture}", level=Level.PREFECTURE, region=prefecture, department=Department.EDUCATION))
            for county in counties:
                accounts.append(dict(username=f"edu-{county}", level=Level.COUNTY, region=county, department=Department.EDUCATION))
                for prefix, department in OTHER_DEPARTMENTS.items():
                    accounts.append(dict(username=f"{prefix}-{county}", level=Level.COUNTY, region=county, department=department))
                for n in (1, 2):
                    accounts.append(
                        dict(username=f"edu-{county}-0{n}", level=Level.SUB_UNIT, region=county,
                             department=Department.EDUCATION, parent=f"edu-{county}", n=n)
                    )
    return accounts


_UNIT = {
    Level.MINISTRY: "教育部",
    Level.PROVINCE: "{region}教育厅",
    Level.PREFECTURE: "{region}教育局",
    Level.COUNTY: "{region}教育局",
}


def _unit_name(spec: dict, region_name: str) -> str:
    if spec["level"] is Level.SUB_UNIT:
        return f"{region_name}教育局下属单位{'一二'[spec['n'] - 1]}"
    if spec["department"] in _BUREAUS:
        return _BUREAUS[spec["department"]].format(region=region_name)
    return _UNIT[spec["level"]].format(region=region_name)


async def seed_accounts(sessionmaker: async_sessionmaker) -> dict[str, int]:
    specs = demo_accounts()
    async with sessionmaker() as db:
        names = dict(
            (await db.execute(sa.select(Region.code, Region.name).where(Region.code.in_({s["region"] for s in specs})))).all()
        )
        existing = {
            a.username: a
            for a in (await db.execute(sa.select(Account).where(Account.username.in_([s["username"] for s in specs])))).scalars()
        }
        created = 0
        password_hash = None
        for spec in specs:
            if spec["username"] in existing:
                continue
            # One hash for the demo accounts: they share a published password anyway.
            password_hash = password_hash or await hash_password_async(DEMO_PASSWORD)
            parent = existing.get(spec.get("parent", ""))
            account = Account(
                username=spec["username"],
                name=_unit_name(spec, names[spec["region"]]),
                kind=AccountKind.REGULATOR,
                level=spec["level"],
                region_code=spec["region"],
                department=spec["department"],
                parent_id=parent.id if parent else None,
                password_hash=password_hash,
                must_change_password=False,
            )
            db.add(account)
            existing[account.username] = account
            created += 1
        await db.commit()
    return {"accounts created": created, "accounts kept": len(specs) - created}
