"""Demo data for ``--demo`` / ``seed-demo``; idempotent (existing usernames and credit
codes are kept as they are). Every demo account's password is ``Demo#2026``.

Accounts: ``edu-000000`` (ministry); ``edu-<code>`` for the education bureau of every demo
province, prefecture and county; ``sports-<code>`` for every demo county; two sub-units per
demo county, ``edu-<code>-01`` and ``edu-<code>-02``.

Inspections (排查): in each demo county, institutions inspected without problems, with an
open ledger (some overdue), and with a closed ledger (台账销号); urging notices (督办) from the
prefectures about overdue ledgers, some handled.

Complaints (投诉): four per demo county, one in each state.

Institution accounts ``org-1`` … ``org-24`` with their portal data: ``resolvers.demo_portal``.

Institutions: 40 per demo county (320), registered by the county or its sub-units, in every
registration state (basic situation only … all five parts), of every kind, mode and nature,
some with what supervision looks for: for-profit subject institutions (营转非), no licence
(无证无照, 有照无证), online subject institutions. Generated from a fixed seed.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from stdnum.cn import ric, uscc

from auth.passwords import hash_password_async
from config import utcnow
from models import (
    ROOT_CODE,
    Account,
    AccountKind,
    Complaint,
    Department,
    Inspection,
    Institution,
    Level,
    RectificationItem,
    Region,
    UrgingNotice,
)

DEMO_PASSWORD = "Demo#2026"

#: province -> prefecture -> counties
DEMO_TREE: dict[str, dict[str, list[str]]] = {
    "440000": {"440100": ["440106", "440104"], "440300": ["440304", "440305"]},  # 广东: 广州, 深圳
    "420000": {"420100": ["420102", "420106"], "420500": ["420502", "420503"]},  # 湖北: 武汉, 宜昌
}


def demo_accounts() -> list[dict]:
    """The demo regulator accounts, parents before children."""
    accounts = [dict(username="edu-000000", level=Level.MINISTRY, region=ROOT_CODE, department=Department.EDUCATION)]
    for province, prefectures in DEMO_TREE.items():
        accounts.append(dict(username=f"edu-{province}", level=Level.PROVINCE, region=province, department=Department.EDUCATION))
        for prefecture, counties in prefectures.items():
            accounts.append(dict(username=f"edu-{prefecture}", level=Level.PREFECTURE, region=prefecture, department=Department.EDUCATION))
            for county in counties:
                accounts.append(dict(username=f"edu-{county}", level=Level.COUNTY, region=county, department=Department.EDUCATION))
                accounts.append(dict(username=f"sports-{county}", level=Level.COUNTY, region=county, department=Department.SPORTS))
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
    if spec["department"] is Department.SPORTS:
        return f"{region_name}文化体育局"
    return _UNIT[spec["level"]].format(region=region_name)


PER_COUNTY = 40
_BRANDS = ["育英", "明德", "启航", "博雅", "星辰", "智慧树", "小太阳", "青禾", "远航", "书香", "致远", "求是"]
_SUBJECT_TYPES = ["培训学校", "教育培训中心", "学堂"]
_NON_SUBJECT = [
    (["SPORTS"], "体育俱乐部"),
    (["ARTS"], "艺术培训中心"),
    (["SCIENCE_TECHNOLOGY"], "科技创新中心"),
    (["ARTS", "SPORTS"], "素质教育中心"),
    (["OTHER"], "研学营地"),
]
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "涛", "明", "超", "霞", "平"]


def _id_number(rng: random.Random, region: str) -> str:
    born = date(1965, 1, 1) + timedelta(days=rng.randrange(365 * 35))
    base = f"{region}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return base + ric.calc_check_digit(base + "0")


def _mobile(rng: random.Random) -> str:
    return rng.choice(["138", "139", "137", "135", "150", "151", "186", "187", "188"]) + f"{rng.randrange(10**8):08d}"


#: Area codes and local number lengths of the demo prefectures.
_AREA = {"4401": ("020", 8), "4403": ("0755", 8), "4201": ("027", 8), "4205": ("0717", 7)}


def _landline(rng: random.Random, county: str) -> str:
    area, length = _AREA[county[:4]]
    return f"{area}-8{rng.randrange(10 ** (length - 1)):0{length - 1}d}"


def demo_institution(rng: random.Random, county: str, county_name: str, n: int, unit_id) -> Institution:
    """One generated institution; ``n`` decides its registration state (n % 5 parts saved)."""
    subject = rng.random() < 0.55
    categories, suffix = (["SUBJECT"], rng.choice(_SUBJECT_TYPES)) if subject else rng.choice(_NON_SUBJECT)
    code_base = f"{'52' if rng.random() < 0.6 else '91'}{county}MA5D{n:05d}"
    nature = "NON_PROFIT" if (not subject or rng.random() < 0.8) else "FOR_PROFIT"  # some 营转非 cases
    mode = "ONLINE" if rng.random() < 0.15 else "OFFLINE"
    person = lambda: rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(["", *_GIVEN])  # noqa: E731
    institution = Institution(
        name=f"{county_name}{rng.choice(_BRANDS)}{suffix}{n:02d}",
        credit_code=code_base + uscc.calc_check_digit(code_base),
        region_code=county,
        address=f"{county_name}{rng.choice(['中山', '人民', '解放', '建设', '和平'])}路 {rng.randrange(1, 400)} 号",
        postal_code=None,
        phone=_landline(rng, county),
        kind="SUBJECT" if subject else "NON_SUBJECT",
        mode=mode,
        nature=nature,
        legal_rep_name=person(),
        legal_rep_id_number=_id_number(rng, county),
        legal_rep_phone=_mobile(rng),
        contact_name=person(),
        contact_phone=_mobile(rng),
        registering_unit_id=unit_id,
    )
    saved = n % 5  # 0: basic situation only … 4: all five parts
    if saved >= 1:
        status = rng.choice(["FULL", "FULL", "FULL", "BUSINESS_LICENCE_ONLY", "LICENCE_ONLY", "NONE"])
        institution.qualification_status = status
        if status in ("FULL", "LICENCE_ONLY"):
            start = date(2019, 1, 1) + timedelta(days=rng.randrange(1500))
            institution.licence_number = f"教民{county}{n:07d}号"
            institution.licence_issuer = f"{county_name}教育局"
            institution.licence_valid_from, institution.licence_valid_to = start, start + timedelta(days=365 * 5)
        if status in ("FULL", "BUSINESS_LICENCE_ONLY"):
            institution.business_licence_number = institution.credit_code
            institution.business_licence_issuer = f"{county_name}{'民政局' if code_base.startswith('52') else '市场监督管理局'}"
        institution.qualifications_saved = True
    if saved >= 2:
        staff = rng.randrange(3, 80)
        institution.training_categories = categories
        institution.other_category = "研学实践" if "OTHER" in categories else None
        institution.student_count = rng.randrange(20, 2000)
        institution.staff_count = staff
        institution.teacher_count = rng.randrange(1, staff + 1)
        institution.operation_saved = True
    if saved >= 3:
        if subject:
            institution.no_subject_training = False
            institution.subjects = rng.sample(["CHINESE", "MATHEMATICS", "ENGLISH", "PHYSICS", "CHEMISTRY"], rng.randrange(1, 4))
            institution.grades = rng.sample(["PRIMARY", "JUNIOR_SECONDARY", "SENIOR_SECONDARY"], rng.randrange(1, 3))
            institution.class_times = rng.choice(["周六、周日 9:00-17:00", "工作日 18:00-20:30", "寒暑假"])
            institution.fee_per_hour = Decimal(rng.randrange(40, 300))
        else:
            institution.no_subject_training = True
        institution.subject_training_saved = True
    if saved >= 4:
        floor = Decimal(rng.randrange(80, 3000))
        institution.floor_area = floor
        institution.teaching_area = (floor * Decimal(rng.randrange(40, 95)) / 100).quantize(Decimal("0.01"))
        institution.premises = rng.choice(["OWNED", "LEASED", "LEASED"])
        institution.lease_end = date(2027, 1, 1) + timedelta(days=rng.randrange(1500)) if institution.premises == "LEASED" else None
        institution.fire_safety_approved = rng.random() < 0.9
        institution.facilities_saved = True
    return institution


async def seed_institutions(sessionmaker: async_sessionmaker) -> int:
    """The demo institutions (idempotent by credit code)."""
    rng = random.Random(2026)
    counties = [c for prefectures in DEMO_TREE.values() for cs in prefectures.values() for c in cs]
    async with sessionmaker() as db:
        names = dict((await db.execute(sa.select(Region.code, Region.name).where(Region.code.in_(counties)))).all())
        units = dict(
            (await db.execute(sa.select(Account.username, Account.id).where(Account.region_code.in_(counties)))).all()
        )
        existing = set((await db.execute(sa.select(Institution.credit_code).where(Institution.region_code.in_(counties)))).scalars())
        created = 0
        for county in counties:
            registrars = [units[f"edu-{county}"], units[f"edu-{county}"], units[f"edu-{county}-01"], units[f"edu-{county}-02"]]
            for n in range(1, PER_COUNTY + 1):
                institution = demo_institution(rng, county, names[county], n, registrars[n % len(registrars)])
                if institution.credit_code in existing:
                    continue
                db.add(institution)
                created += 1
        await db.commit()
    return created


async def seed_demo(sessionmaker: async_sessionmaker, today: date | None = None, *, storage=None) -> dict[str, int]:
    """Everything of the demo, idempotently; the portal's documents go to ``storage``
    (none: the portal's demo has no documents)."""
    summary = await seed_accounts(sessionmaker)
    summary["institutions created"] = await seed_institutions(sessionmaker)
    summary["inspections created"] = await seed_inspections(sessionmaker, today or date.today())
    summary["complaints created"] = await seed_complaints(sessionmaker)
    from resolvers.demo_portal import seed_portal

    summary["institution accounts created"] = await seed_portal(sessionmaker, storage)
    return summary


async def seed_complaints(sessionmaker: async_sessionmaker) -> int:
    """Four complaints per demo county, one in each state (待受理, 处理中, 已答复, 不予受理)."""
    from resolvers.complaints import tracking_number

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
                    complainant_name=rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(_GIVEN),
                    complainant_mobile=_mobile(rng),
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
    from resolvers.inspections import refresh_status

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
