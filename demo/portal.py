"""The demo's institution accounts ``org-1`` … ``org-24`` and their portal data: sites or business
systems with courses and classes, staff (two departed), materials, documents, funds and
applications in every state; ``org-24``'s institution is deregistered.

Each institution's standing follows from its data (docs/DOMAIN.md §G5). By its number
``n``: a compliance application approved (n % 3 == 1) or pending (n % 3 == 0) only for an
institution that could submit it — a licence valid on the demo's day (one of the pending
ones' ends within 90 days: n % 6 == 3), a business registration, non-profit subject
training, records that break no rule — so the approved ones are compliant and white-list
eligible; a rejected one (n % 3 == 2) has records that break rules on purpose, so
``findings`` shows them, and half of them (n % 6 == 2) a licence that has expired."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker

from auth.passwords import hash_password_async
from core.clock import today, utcnow
from demo.accounts import DEMO_PASSWORD, DEMO_TREE
from demo.people import GIVEN, STAFF_MOBILE_PREFIXES, SURNAMES, id_number, mobile
from models import (
    Account,
    AccountKind,
    Application,
    ApplicationType,
    Course,
    Document,
    Institution,
    InstitutionFunds,
    Material,
    Region,
    Site,
    Staff,
    TrainingClass,
)
from resolvers.applications import authority
from resolvers.rules import SUBJECT_NAMES

PER_COUNTY = 3

_GRADE_WORDS = {"PRIMARY": ["三年级", "四年级", "五年级"], "JUNIOR_SECONDARY": ["初一", "初二"], "SENIOR_SECONDARY": ["高一", "高二"]}


def demo_email(n: int) -> str:
    """``org-<n>``'s e-mail (找回密码 by e-mail, docs/DOMAIN.md §P2.3): a reserved example domain."""
    return f"org-{n}@example.cn"


def _staff(rng: random.Random, institution: Institution, subjects: list[str], now: datetime) -> list[Staff]:
    people = []
    for i in range(6):
        teaching = i < 4
        certified = teaching or i == 4
        departed = i == 5 or i == 3
        joined = date(2019, 9, 1) + timedelta(days=rng.randrange(1500))
        people.append(
            Staff(
                institution_id=institution.id,
                name=rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(["", *GIVEN]),
                gender=rng.choice(["MALE", "FEMALE"]),
                id_number=id_number(rng, institution.region_code, date(1970, 1, 1), 30),
                phone=mobile(rng, STAFF_MOBILE_PREFIXES),
                post="TEACHING" if teaching else rng.choice(["MANAGEMENT", "RESEARCH", "OTHER"]),
                employment="FULL_TIME" if i % 3 else "PART_TIME",
                subjects=[subjects[i % len(subjects)]] if teaching and subjects else [],
                teacher_certificate_number=f"20{rng.randrange(10, 24)}{institution.region_code[:2]}{rng.randrange(10**11):011d}" if certified else None,
                years_in_education=rng.randrange(1, 20),
                status="DEPARTED" if departed else "ACTIVE",
                joined_on=joined,
                departed_on=joined + timedelta(days=400) if departed else None,
                created_at=now,
                updated_at=now,
            )
        )
    return people


def _class(
    rng: random.Random, institution: Institution, course: Course, teachers: list[Staff], k: int, now: datetime, breaks: bool
) -> TrainingClass:
    online = institution.mode == "ONLINE"
    start = rng.choice(["09:00", "14:00", "18:30"] if not online else ["19:00", "19:30"])
    end = {"09:00": "10:30", "14:00": "15:30", "18:30": "20:00", "19:00": "19:30", "19:30": "20:00"}[start]
    if k == 3 and breaks:
        end = "21:00" if not online else "21:30"  # breaks the end-time rule
    if course.subject:
        grade = rng.choice(_GRADE_WORDS[course.grades[0]])
        name = f"{grade}{SUBJECT_NAMES[course.subject][0]}培训班（{k}班）"
    else:
        name = f"{course.name}{k}班"
    return TrainingClass(
        institution_id=institution.id,
        course_id=course.id,
        name=name,
        schedule=[{"weekday": 6 if k % 2 else 3, "start": start, "end": end}],
        starts_on=date(2026, 9, 1),
        ends_on=date(2027, 1, 20),
        capacity=rng.choice([12, 15, 20, 25]),
        enrolled=0 if course.subject else rng.randrange(5, 12),
        fee=Decimal(rng.randrange(12, 40) * 100),
        fee_months=6 if k == 4 and breaks else 3,  # k == 4 breaks the fee-period rule
        fee_class_hours=24,
        lesson_minutes=30 if online else None,
        break_minutes=10 if online else None,
        teacher_ids=[teachers[k % len(teachers)].id],
        filing_status="NOT_FILED" if course.subject else "NOT_REQUIRED",
        created_at=now,
        updated_at=now,
    )


def compliance_of(n: int) -> str:
    """The latest compliance application of the ``n``-th demo institution account's institution."""
    return ("PENDING", "APPROVED", "REJECTED")[n % 3]


def _qualify(rng: random.Random, institution: Institution, n: int, day: date) -> None:
    """What the institution of the ``n``-th account holds: a five-year licence and a business
    registration (证照齐全), valid on ``day`` — ending within 90 days for n % 6 == 3,
    expired for n % 6 == 2 — and, for subject training, non-profit (营转非 done)."""
    if n % 6 == 2:
        end = day - timedelta(days=rng.randrange(30, 300))
    elif n % 6 == 3:
        end = day + timedelta(days=rng.randrange(30, 80))
    else:
        end = day + timedelta(days=rng.randrange(400, 1500))
    region = institution.region_code
    institution.qualification_status = "FULL"
    institution.licence_number = institution.licence_number or f"教民{region}{rng.randrange(10**7):07d}号"
    institution.licence_issuer = institution.licence_issuer or "教育局"
    institution.licence_valid_from, institution.licence_valid_to = end - timedelta(days=365 * 5), end
    institution.business_licence_number = institution.business_licence_number or institution.credit_code
    institution.business_licence_issuer = institution.business_licence_issuer or "民政局"
    if institution.kind == "SUBJECT":
        institution.nature = "NON_PROFIT"


def _settle(institution: Institution) -> None:
    """The registration of an institution that may have been approved, within the rules
    (resolvers.rules.check_registration): classes over by 20:30 and paid three months at a
    time, 3 m² a student, fire safety accepted, a lease that outlasts the licence."""
    if institution.no_subject_training is False:
        institution.class_sessions = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in (6, 7)]
        institution.fee_months = 3
    least = Decimal(3 * (institution.student_count or 0))
    if institution.teaching_area is not None and institution.teaching_area < least:
        institution.teaching_area = least
        institution.floor_area = max(institution.floor_area, least)
    institution.fire_safety_approved = True
    if institution.premises == "LEASED" and institution.licence_valid_to and institution.lease_end < institution.licence_valid_to:
        institution.lease_end = institution.licence_valid_to + timedelta(days=365)


async def seed_portal(sessionmaker: async_sessionmaker, storage=None, day: date | None = None) -> int:
    """The demo institution accounts and their portal data as of ``day`` (default: today in
    Beijing); returns the accounts created. With a ``storage``, each also gets its documents
    (licence, certificate, party building, contract; the deregistered one its proof)."""
    day = day or today(utcnow())

    rng = random.Random(8)
    counties = [c for prefectures in DEMO_TREE.values() for cs in prefectures.values() for c in cs]
    now = utcnow()
    async with sessionmaker() as db:
        if (await db.execute(sa.select(sa.exists().where(Account.username == "org-1")))).scalar():
            return 0
        paths = dict((await db.execute(sa.select(Region.code, Region.path))).all())
        password_hash = await hash_password_async(DEMO_PASSWORD)
        units = dict((await db.execute(sa.select(Account.username, Account.id))).all())
        n = 0
        for county in counties:
            chosen = (
                await db.execute(
                    sa.select(Institution)
                    .where(Institution.region_code == county, Institution.facilities_saved, Institution.qualifications_saved,
                           Institution.operation_saved, Institution.subject_training_saved)
                    .order_by(Institution.credit_code)
                    .limit(PER_COUNTY)
                )
            ).scalars().all()
            for institution in chosen:
                n += 1
                # What may have been approved or is under review breaks no rule.
                breaks = compliance_of(n) == "REJECTED"
                if not breaks or n % 6 == 2:
                    _qualify(rng, institution, n, day)
                if not breaks:
                    _settle(institution)
                db.add(Account(
                    username=f"org-{n}", name=f"{institution.name}管理员", kind=AccountKind.INSTITUTION, institution_id=institution.id,
                    mobile=mobile(rng, STAFF_MOBILE_PREFIXES), email=demo_email(n), password_hash=password_hash, must_change_password=False,
                ))
                subjects = list(institution.subjects) or ["MATHEMATICS"]
                staff = _staff(rng, institution, subjects if institution.kind == "SUBJECT" else [], now)
                db.add_all(staff)
                teachers = [s for s in staff if s.status == "ACTIVE" and s.post == "TEACHING"] or [staff[0]]
                online = institution.mode == "ONLINE"
                sites = []
                for s in range(1 if online else 2):
                    site = Site(
                        institution_id=institution.id, type="BUSINESS_SYSTEM" if online else "SITE",
                        name=("学习平台 App" if online else f"{'东西'[s]}校区"),
                        address=None if online else f"{institution.address}{'附楼' if s else ''}",
                        teaching_area=None if online else Decimal(rng.choice([200, 300, 450])),
                        system_type="APP" if online else None,
                        url="https://app.example.cn" if online else None,
                        icp_filing=f"粤ICP备{rng.randrange(10**7, 10**8)}号" if online else None,
                        created_at=now, updated_at=now,
                    )
                    db.add(site)
                    sites.append(site)
                await db.flush()
                classes = []
                for site in sites:
                    for c in range(2):
                        subject = institution.kind == "SUBJECT"
                        course = Course(
                            institution_id=institution.id, site_id=site.id,
                            name=(f"{'小学' if c == 0 else '初中'}{SUBJECT_NAMES[subjects[c % len(subjects)]][0]}" if subject else rng.choice(["篮球", "书法", "编程", "绘画"]) + "课程"),
                            category="SUBJECT" if subject else next(iter(institution.training_categories), "OTHER"),
                            subject=subjects[c % len(subjects)] if subject else None,
                            grades=["PRIMARY" if c == 0 else "JUNIOR_SECONDARY"],
                            class_hours=rng.choice([24, 36, 48]),
                            created_at=now, updated_at=now,
                        )
                        db.add(course)
                        await db.flush()
                        for k in range(1 + 2 * c, 3 + 2 * c):
                            training_class = _class(rng, institution, course, teachers, k, now, breaks)
                            db.add(training_class)
                            classes.append((course, training_class))
                for m in range(3):
                    subject = institution.kind == "SUBJECT"
                    db.add(Material(
                        institution_id=institution.id, name=f"{institution.name[-6:]}{'讲义练习册教材'[m * 2 % 6:m * 2 % 6 + 2]}{m + 1}",
                        category="SUBJECT" if subject else next(iter(institution.training_categories), "OTHER"),
                        subject=subjects[0] if subject else None, grades=["PRIMARY"],
                        type=["HANDOUT", "EXERCISES", "TEXTBOOK"][m], author=rng.choice(SURNAMES) + "老师",
                        publisher="某出版社" if m == 2 else None, edition="2026 版",
                        author_years_in_education=2 if m == 1 and breaks else rng.randrange(3, 20),
                        author_certificate_number=f"2015{institution.region_code[:2]}{rng.randrange(10**11):011d}" if m != 2 or not subject or not breaks else None,
                        review=["APPROVED", "NOT_REVIEWED", "APPROVED"][m], created_at=now, updated_at=now,
                    ))
                db.add(_funds(rng, institution, n if breaks else 1, now))
                if storage is not None:
                    for category, title in DOCUMENTS:
                        if category == "LICENCE" and institution.qualification_status not in ("FULL", "LICENCE_ONLY"):
                            continue
                        db.add(await _document(storage, institution, category, title, now))
                await db.flush()
                _applications(db, institution, paths[institution.region_code], classes, units[f"edu-{county}"], n, now)
        await db.commit()
    await _deregister_one(sessionmaker, storage)
    return n


DOCUMENTS = (("LICENCE", "办学许可证"), ("CERTIFICATE", "民办非企业单位登记证书"), ("PARTY_BUILDING", "党支部成立批复"), ("CONTRACT", "培训服务合同（示范文本）"))


def demo_pdf(label: str) -> bytes:
    """A small, valid one-page PDF naming the document's category (the demo's stand-in for
    a scan); ``label`` is ASCII."""
    stream = f"BT /F1 14 Tf 72 720 Td (Demo document: {label}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    body = b"%PDF-1.4\n"
    offsets = []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(body))
        body += f"{number} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(body)
    body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    body += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    body += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return body


async def _document(storage, institution: Institution, category: str, title: str, now: datetime):
    import hashlib

    content = demo_pdf(category)
    return Document(
        institution_id=institution.id, category=category, title=title,
        number=institution.licence_number if category == "LICENCE" else None,
        issuer=institution.licence_issuer if category == "LICENCE" else None,
        valid_to=institution.licence_valid_to if category == "LICENCE" else None,
        follows_model_text=True if category == "CONTRACT" else None,
        file_name=f"{title}.pdf", content_type="application/pdf", size=len(content),
        sha256=hashlib.sha256(content).hexdigest(), storage_key=await storage.put(content), uploaded_at=now, updated_at=now,
    )


def _funds(rng: random.Random, institution: Institution, n: int, now: datetime):

    return InstitutionFunds(
        institution_id=institution.id, charging_method="BY_CLASS_HOUR", fee_standard=f"每课时 {rng.randrange(60, 200)} 元",
        max_months_per_payment=6 if n % 5 == 0 else 3, max_class_hours_per_payment=60, refund_policy="未上课时按比例退费",
        escrow_bank=rng.choice(["中国银行", "中国工商银行", "中国建设银行"]) + "营业部",
        supervised_account_number=f"62{rng.randrange(10**16):016d}", risk_reserve=Decimal(rng.randrange(10, 50) * 10000),
        basic_account_bank="中国农业银行营业部", basic_account_name=institution.name, basic_account_number=f"44{rng.randrange(10**15):015d}",
        updated_at=now,
    )


def _applications(db, institution: Institution, region_path: str, classes, reviewer, n: int, now: datetime) -> None:
    """Applications in every state, spread over the demo institutions by their number."""

    def application(kind: ApplicationType, status: str, **fields) -> Application:
        who = authority(institution, region_path, kind)
        row = Application(
            institution_id=institution.id, type=kind, status=status, authority_region_code=who.region_code,
            authority_department=who.department.value, authority_level=who.level.value,
            submitted_at=now - timedelta(days=10 - n % 7), **fields,
        )
        if status != "PENDING":
            row.decided_at, row.decided_by = now - timedelta(days=2), reviewer if who.level.value == "COUNTY" else None
            row.opinion = "材料齐全，同意" if status == "APPROVED" else "材料不全，请补充后重新提交"
        db.add(row)
        return row

    compliance = compliance_of(n)
    application(ApplicationType.COMPLIANCE, compliance, statement="已按要求完成信息补全")
    institution.review_status = compliance
    subject_classes = [c for course, c in classes if course.subject]
    for training_class, status in zip(subject_classes, ("FILED", "PENDING", "REJECTED"), strict=False):
        application(ApplicationType.CLASS_FILING, {"FILED": "APPROVED"}.get(status, status), class_id=training_class.id)
        training_class.filing_status = status
    if institution.qualification_status not in ("FULL", "LICENCE_ONLY"):
        application(ApplicationType.LICENCE, "PENDING", statement="申请办学许可证")


async def _deregister_one(sessionmaker: async_sessionmaker, storage) -> None:
    """The last demo institution has deregistered (注销申请 approved): read-only, its account disabled."""
    async with sessionmaker() as db:
        count = (await db.execute(sa.select(sa.func.count()).select_from(Account).where(Account.username.like("org-%")))).scalar_one()
        account = (await db.execute(sa.select(Account).where(Account.username == f"org-{count}"))).scalar_one()
        institution = await db.get(Institution, account.institution_id)
        path = (await db.execute(sa.select(Region.path).where(Region.code == institution.region_code))).scalar_one()
        who = authority(institution, path, ApplicationType.DEREGISTRATION)
        now = utcnow()
        proof = await _document(storage, institution, "DEREGISTRATION_PROOF", "注销证明", now) if storage is not None else None
        if proof is not None:
            db.add(proof)
        db.add(Application(
            proof_document_id=proof.id if proof else None,
            institution_id=institution.id, type=ApplicationType.DEREGISTRATION, status="APPROVED", statement="停止办学，申请注销",
            authority_region_code=who.region_code, authority_department=who.department.value, authority_level=who.level.value,
            submitted_at=now - timedelta(days=20), decided_at=now - timedelta(days=15), opinion="经核实，同意注销",
        ))
        institution.deregistered_at = now - timedelta(days=15)
        account.enabled = False
        await db.commit()
