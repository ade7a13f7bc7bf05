"""The demo's supervision: inspections (排查) without problems, with an open ledger (some overdue)
and with a closed one (台账销号) in each demo county; urging notices (督办) from the prefectures,
some handled; four complaints per county, one in each state."""

from __future__ import annotations

import random
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker

from core.clock import utcnow
from demo.accounts import DEMO_TREE
from demo.institutions import _BRANDS
from demo.people import GIVEN, MOBILE_PREFIXES, SURNAMES, mobile
from models import Account, Complaint, Inspection, Institution, RectificationItem, UrgingNotice
from resolvers.complaints import tracking_number
from resolvers.inspections.ledgers import refresh_status


async def seed_complaints(sessionmaker: async_sessionmaker) -> int:
    """Four complaints per demo county, one in each state (待受理, 处理中, 已答复, 不予受理)."""

    rng = random.Random(5)
    async with sessionmaker() as db:
        if (await db.execute(sa.select(sa.exists().where(Complaint.id.is_not(None))))).scalar():
            return 0
        units = dict((await db.execute(sa.select(Account.username, Account.id))).all())
        counties = [c for prefectures in DEMO_TREE.values() for cs in prefectures.values() for c in cs]
        now = utcnow()
        created = 0
        for county in counties:
            handler = units[f"edu-{county}"]
            for state in ("SUBMITTED", "ACCEPTED", "REPLIED", "REJECTED"):
                at = now - timedelta(days=rng.randrange(2, 30))
                complaint = Complaint(
                    tracking_number=tracking_number(at),
                    complainant_name=rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                    complainant_mobile=mobile(rng, MOBILE_PREFIXES),
                    target_type=rng.choice(["INSTITUTION", "INSTITUTION", "TEACHER", "PUBLIC_SCHOOL"]),
                    complaint_type=rng.choice(["ILLEGAL_OPERATION", "ILLEGAL_ENROLMENT", "OTHER"]),
                    county_code=county,
                    target_name=rng.choice(_BRANDS) + "培训学校",
                    content=rng.choice(["周末上课到晚上十点。", "一次性收取一年学费。", "无证办学，宣传“保过”。"]),
                    status=state,
                    submitted_at=at,
                    client_address="127.0.0.1",
                    client_bucket="127.0.0.1",
                )
                if state in ("ACCEPTED", "REPLIED"):
                    complaint.accepted_at, complaint.accepted_by = at + timedelta(hours=4), handler
                if state == "REPLIED":
                    complaint.replied_at, complaint.replied_by, complaint.reply = at + timedelta(days=1), handler, "已核查并责令整改。"
                if state == "REJECTED":
                    complaint.rejected_at, complaint.rejected_by, complaint.reject_reason = at + timedelta(hours=6), handler, "投诉对象不在本区县。"
                db.add(complaint)
                created += 1
        await db.commit()
    return created


async def seed_inspections(sessionmaker: async_sessionmaker, today: date) -> int:
    """Inspections of the first 12 demo institutions of each county (by name): 4 without
    problems, 4 rectifying (2 of them overdue), 4 rectified; and a notice per prefecture."""

    rng = random.Random(4)
    async with sessionmaker() as db:
        if (await db.execute(sa.select(sa.exists().where(Inspection.id.is_not(None))))).scalar():
            return 0
        counties = [c for prefectures in DEMO_TREE.values() for cs in prefectures.values() for c in cs]
        units = dict((await db.execute(sa.select(Account.username, Account.id))).all())
        created = 0
        for county in counties:
            institutions = (
                await db.execute(
                    sa.select(Institution).where(Institution.region_code == county).order_by(Institution.name).limit(12)
                )
            ).scalars().all()
            for index, institution in enumerate(institutions):
                state = index % 3  # 0 no problems, 1 rectifying, 2 rectified
                inspected_on = today - timedelta(days=rng.randrange(20, 90))
                problems = [] if state == 0 else rng.sample(["SAFETY_HAZARD", "LATE_CLASSES", "EXCESSIVE_FEES", "UNQUALIFIED_TEACHERS", "FALSE_ADVERTISING"], 2)
                inspection = Inspection(
                    institution_id=institution.id,
                    inspected_on=inspected_on,
                    inspecting_unit=f"{institution.address[:3]}教育局",
                    result="未发现问题" if not problems else "发现问题，已建立整改台账",
                    problems=problems,
                    recorded_by=units[f"edu-{county}"],
                )
                db.add(inspection)
                await db.flush()
                overdue = state == 1 and index % 2 == 1
                for problem in problems:
                    deadline = today - timedelta(days=rng.randrange(1, 10)) if overdue else inspected_on + timedelta(days=rng.randrange(100, 150))
                    db.add(RectificationItem(inspection_id=inspection.id, problem=problem, measures="限期整改，复查验收", deadline=max(deadline, inspected_on),
                                             progress="DONE" if state == 2 else rng.choice(["NOT_STARTED", "IN_PROGRESS"])))
                if state == 2:
                    inspection.acceptance_opinion, inspection.accepted_on = "经复查，已整改到位", today - timedelta(days=rng.randrange(1, 15))
                    inspection.accepted_by = units[f"edu-{county}"]
                await db.flush()
                await refresh_status(db, institution)
                created += 1
        for prefectures in DEMO_TREE.values():
            for prefecture, prefecture_counties in prefectures.items():
                for n, county in enumerate(prefecture_counties):
                    db.add(UrgingNotice(sender_id=units[f"edu-{prefecture}"], county_code=county, message="请加快逾期整改台账的整改进度，按期验收销号",
                                        sent_at=utcnow() - timedelta(days=3), handled_at=utcnow() - timedelta(days=1) if n else None,
                                        handled_by=units[f"edu-{county}"] if n else None, handling_note="已督促机构整改" if n else None))
        await db.commit()
    return created
