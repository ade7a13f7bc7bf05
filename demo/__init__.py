"""Demo data for ``--demo`` / ``seed-demo``; idempotent (existing usernames and credit codes
are kept as they are). Every demo account's password is ``Demo#2026`` (``DEMO_PASSWORD``).

- ``demo.accounts``: the regulators of the demo tree (ministry; 广东, 湖北; four prefectures;
  eight counties with their sports bureaus and two sub-units each);
- ``demo.institutions``: 40 registered institutions per demo county;
- ``demo.supervision``: inspections, ledgers, urging notices and complaints;
- ``demo.portal``: the institution accounts ``org-1`` … ``org-24`` and their portal data;
- ``demo.lists``: a black and a white list period per demo county, after the rules have
  checked every institution's records (``resolvers.findings.refresh_all``).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import async_sessionmaker

from core.clock import today, utcnow
from demo.accounts import DEMO_PASSWORD, DEMO_TREE, seed_accounts
from demo.institutions import seed_institutions
from demo.lists import seed_lists
from demo.portal import seed_portal
from demo.supervision import seed_complaints, seed_inspections
from resolvers import findings

__all__ = ["DEMO_PASSWORD", "DEMO_TREE", "seed_accounts", "seed_demo"]


async def seed_demo(sessionmaker: async_sessionmaker, day: date | None = None, *, storage=None) -> dict[str, int]:
    """Everything of the demo, idempotently, as of ``day`` (default: today in Beijing); the
    portal's documents go to ``storage`` (none: the portal's demo has no documents)."""
    now = utcnow()
    day = day or today(now)
    summary = await seed_accounts(sessionmaker)
    summary["institutions created"] = await seed_institutions(sessionmaker, day)
    summary["inspections created"] = await seed_inspections(sessionmaker, day)
    summary["complaints created"] = await seed_complaints(sessionmaker)
    summary["institution accounts created"] = await seed_portal(sessionmaker, storage, day)
    # Inserted past the portal's writers: the rules check every institution's records here.
    await findings.refresh_all(sessionmaker)
    summary["list periods published"] = await seed_lists(sessionmaker, day, now)
    return summary
