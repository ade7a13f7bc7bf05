"""The demo's registered institutions: 40 per demo county (320), registered by the county or its
sub-units, in every registration state (basic situation only … all five parts), of every
kind, mode and nature, some with what supervision looks for: for-profit subject institutions
(营转非), no licence (无证无照, 有照无证), online subject institutions, and in every county a
licence that has expired (``EXPIRED``) and one that ends within 90 days (``EXPIRING``).
Licences run five years and are dated from the demo's day, so the standing they give
(docs/DOMAIN.md §G5) is the same whenever the demo is seeded. Generated from a fixed seed;
their registrations spread over the year before the demo's day, so the monthly series show
them month by month."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from stdnum.cn import uscc

from core.clock import CHINA
from demo.accounts import DEMO_TREE
from demo.people import GIVEN, MOBILE_PREFIXES, SURNAMES, id_number, mobile
from models import Account, Institution, Region
from resolvers.class_times import parse

PER_COUNTY = 40
#: The institution (by its number in the county) whose licence has expired, and the one
#: whose licence ends within the standing's warning days.
EXPIRED, EXPIRING = 7, 12
_BRANDS = ["育英", "明德", "启航", "博雅", "星辰", "智慧树", "小太阳", "青禾", "远航", "书香", "致远", "求是"]
_SUBJECT_TYPES = ["培训学校", "教育培训中心", "学堂"]
_NON_SUBJECT = [
    (["SPORTS"], "体育俱乐部"),
    (["ARTS"], "艺术培训中心"),
    (["SCIENCE_TECHNOLOGY"], "科技创新中心"),
    (["ARTS", "SPORTS"], "素质教育中心"),
    (["OTHER"], "研学营地"),
]


#: Area codes and local number lengths of the demo prefectures.
_AREA = {"4401": ("020", 8), "4403": ("0755", 8), "4201": ("027", 8), "4205": ("0717", 7)}


def _landline(rng: random.Random, county: str) -> str:
    area, length = _AREA[county[:4]]
    return f"{area}-8{rng.randrange(10 ** (length - 1)):0{length - 1}d}"


def licence_dates(draw: int, day: date, n: int) -> tuple[date, date]:
    """(valid from, valid to) of a five-year licence as of ``day``, from a draw in [0, 1500):
    expired for ``EXPIRED``, ending within 90 days for ``EXPIRING``, otherwise valid for more
    than 300 days yet."""
    if n == EXPIRED:
        end = day - timedelta(days=20 + draw % 380)
    elif n == EXPIRING:
        end = day + timedelta(days=20 + draw % 60)
    else:
        end = day + timedelta(days=320 + draw % 1380)
    return end - timedelta(days=365 * 5), end


def demo_institution(rng: random.Random, county: str, county_name: str, n: int, unit_id, day: date) -> Institution:
    """One generated institution; ``n`` decides its registration state (n % 5 parts saved)."""
    subject = rng.random() < 0.55
    categories, suffix = (["SUBJECT"], rng.choice(_SUBJECT_TYPES)) if subject else rng.choice(_NON_SUBJECT)
    code_base = f"{'52' if rng.random() < 0.6 else '91'}{county}MA5D{n:05d}"
    nature = "NON_PROFIT" if (not subject or rng.random() < 0.8) else "FOR_PROFIT"  # some 营转非 cases
    mode = "ONLINE" if rng.random() < 0.15 else "OFFLINE"
    person = lambda: rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(["", *GIVEN])  # noqa: E731
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
        legal_rep_id_number=id_number(rng, county, date(1965, 1, 1), 35),
        legal_rep_phone=mobile(rng, MOBILE_PREFIXES),
        contact_name=person(),
        contact_phone=mobile(rng, MOBILE_PREFIXES),
        registering_unit_id=unit_id,
    )
    saved = n % 5  # 0: basic situation only … 4: all five parts
    if saved >= 1:
        status = rng.choice(["FULL", "FULL", "FULL", "BUSINESS_LICENCE_ONLY", "LICENCE_ONLY", "NONE"])
        draw = rng.randrange(1500) if status in ("FULL", "LICENCE_ONLY") else None
        if draw is None and n in (EXPIRED, EXPIRING):
            # A licence of its own draw, so that the other institutions' draws stay the same.
            status, draw = "FULL", random.Random(f"{county}:{n}").randrange(1500)
        institution.qualification_status = status
        if draw is not None:
            institution.licence_number = f"教民{county}{n:07d}号"
            institution.licence_issuer = f"{county_name}教育局"
            institution.licence_valid_from, institution.licence_valid_to = licence_dates(draw, day, n)
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
    if saved >= 3 or not subject:
        # A non-subject institution's part 4 is saved as none with part 1
        # (resolvers.institutions.registration.part_four_of_kind).
        if subject:
            institution.no_subject_training = False
            institution.subjects = rng.sample(["CHINESE", "MATHEMATICS", "ENGLISH", "PHYSICS", "CHEMISTRY"], rng.randrange(1, 4))
            institution.grades = rng.sample(["PRIMARY", "JUNIOR_SECONDARY", "SENIOR_SECONDARY"], rng.randrange(1, 3))
            # As a desk writes them, read as the import reads them; the last breaks two rules.
            institution.class_times_note = rng.choice(["周六、周日 9:00-17:00，按季度收费", "工作日 18:00-20:30，按月收费", "周一至周五 19:00-21:00，一次收费一年"])
            parsed = parse(institution.class_times_note)
            institution.class_sessions, institution.fee_months = parsed.sessions, parsed.fee_months
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


def registered_at(credit_code: str, day: date) -> datetime:
    """When a demo institution was registered: a working hour of a day within the year
    before ``day``, fixed by its credit code (so a reseed keeps it)."""
    rng = random.Random(credit_code)
    local = datetime.combine(day - timedelta(days=rng.randrange(1, 366)), time(rng.randrange(9, 18), rng.randrange(60)), CHINA)
    return local.astimezone(UTC)


async def seed_institutions(sessionmaker: async_sessionmaker, day: date) -> int:
    """The demo institutions (idempotent by credit code), registered within the year before ``day``,
    their licences dated from ``day``."""
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
                institution = demo_institution(rng, county, names[county], n, registrars[n % len(registrars)], day)
                if institution.credit_code in existing:
                    continue
                institution.created_at = institution.updated_at = registered_at(institution.credit_code, day)
                db.add(institution)
                created += 1
        await db.commit()
    return created
