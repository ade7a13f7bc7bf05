"""The demo data: idempotent, valid by the forms' own rules, every registration state."""

from __future__ import annotations

from collections import Counter
from datetime import date

import sqlalchemy as sa

from core.clock import today
from demo import seed_demo
from demo.accounts import DEMO_TREE
from demo.institutions import PER_COUNTY
from models import Account, Application, Course, Institution, ListEntry, ListPeriod, Material, Site, Staff, TrainingClass
from models.storage import LocalStorage
from resolvers.forms import Form
from resolvers.institutions.registration import FIELDS_BY_PART, SAVED_FLAG, Context, Part, validate_part
from resolvers.materials import MATERIAL
from resolvers.records import Owner
from resolvers.sites import CLASS, COURSE, SITE
from resolvers.staff import STAFF
from resolvers.standing import standings
from tests.helpers import error_codes


async def test_demo_institutions_are_valid_and_cover_every_state(sessionmaker):
    first = await seed_demo(sessionmaker, date(2026, 11, 23))
    assert first == {"accounts created": 55, "accounts kept": 0, "institutions created": 8 * PER_COUNTY, "inspections created": 8 * 12, "complaints created": 32, "institution accounts created": 24, "list periods published": 16}
    again = await seed_demo(sessionmaker, date(2026, 11, 23))
    assert again == {"accounts created": 0, "accounts kept": 55, "institutions created": 0, "inspections created": 0, "complaints created": 0, "institution accounts created": 0, "list periods published": 0}
    async with sessionmaker() as db:
        rows = (await db.execute(sa.select(Institution))).scalars().all()
    counties = {c for p in DEMO_TREE.values() for cs in p.values() for c in cs}
    assert {r.region_code for r in rows} == counties
    # every registration state in every county: from four parts missing to none (a
    # non-subject institution's part 4 is saved with part 1, so it misses three at most)
    states = Counter((r.region_code, r.kind, sum(not getattr(r, f) for f in SAVED_FLAG.values())) for r in rows)
    assert all(states[(c, "SUBJECT", s)] for c in counties for s in range(5))
    assert {s for (_, kind, s) in states if kind == "NON_SUBJECT"} == {0, 1, 2, 3}
    assert all(r.subject_training_saved and r.no_subject_training for r in rows if r.kind == "NON_SUBJECT")
    assert {r.kind for r in rows} == {"SUBJECT", "NON_SUBJECT"} and {r.mode for r in rows} == {"ONLINE", "OFFLINE"}
    assert any(r.kind == "SUBJECT" and r.nature == "FOR_PROFIT" for r in rows)  # 营转非 cases
    assert any(r.qualification_status == "NONE" for r in rows)  # 无证无照
    # registered over the year before the demo's day, in every one of its twelve months
    days = [today(r.created_at) for r in rows]
    assert min(days) >= date(2025, 11, 23) and max(days) < date(2026, 11, 23)
    months = Counter((d.year, d.month) for d in days)
    assert len(months) >= 12 and max(months.values()) < len(rows) // 6
    for row in rows:
        for part in Part:
            if part in SAVED_FLAG and not getattr(row, SAVED_FLAG[part]):
                continue
            data = {spec.key: getattr(row, spec.key) for spec in FIELDS_BY_PART[part]}
            checked = validate_part(part, data, Context(today=row.created_at.date(), province_code=row.region_code[:2] + "0000", kind=row.kind))
            assert checked.errors == [], (row.name, part, checked.errors)


async def test_demo_inspections_cover_every_state_including_overdue(sessionmaker):
    await seed_demo(sessionmaker, date(2026, 11, 23))
    async with sessionmaker() as db:
        rows = (await db.execute(sa.select(Institution.inspection_status, Institution.open_deadline))).all()
    statuses = Counter(status for status, _ in rows)
    assert statuses == {"NOT_INSPECTED": 320 - 96, "NO_PROBLEMS": 32, "RECTIFYING": 32, "RECTIFIED": 32}
    overdue = sum(1 for status, deadline in rows if status == "RECTIFYING" and deadline < date(2026, 11, 23))
    assert overdue == 16


async def test_demo_portal_data_is_valid_and_covers_every_state(gql, http, sessionmaker, tmp_path):

    await seed_demo(sessionmaker, date(2026, 11, 23), storage=LocalStorage(tmp_path / "files"))
    async with sessionmaker() as db:
        applications = Counter((a.type, a.status) for a in (await db.execute(sa.select(Application))).scalars())
        staff = (await db.execute(sa.select(Staff))).scalars().all()
        records = {
            STAFF: staff,
            SITE: (await db.execute(sa.select(Site))).scalars().all(),
            COURSE: (await db.execute(sa.select(Course))).scalars().all(),
            CLASS: (await db.execute(sa.select(TrainingClass))).scalars().all(),
            MATERIAL: (await db.execute(sa.select(Material))).scalars().all(),
        }
        institutions = {i.id: i for i in (await db.execute(sa.select(Institution))).scalars()}
        emails = dict((await db.execute(sa.select(Account.username, Account.email).where(Account.username.like("org-%")))).all())
    # every institution account has an e-mail, so 忘记密码 by e-mail can be tried
    assert emails == {f"org-{n}": f"org-{n}@example.cn" for n in range(1, 25)}
    assert {key for key in applications} >= {
        ("COMPLIANCE", "PENDING"), ("COMPLIANCE", "APPROVED"), ("COMPLIANCE", "REJECTED"),
        ("CLASS_FILING", "APPROVED"), ("CLASS_FILING", "PENDING"), ("CLASS_FILING", "REJECTED"), ("DEREGISTRATION", "APPROVED"),
    }
    assert {s.status for s in staff} == {"ACTIVE", "DEPARTED"}
    # Every demo record passes the portal's own form checks.
    for record, rows in records.items():
        for row in rows:
            data = {c.key: getattr(row, c.key) for c in type(row).__table__.columns}
            form = Form(data, today=date(2026, 11, 23))
            record.check(form, Owner(institutions[row.institution_id], None))
            assert form.errors == [], (record.label, row.name, form.errors)
    token = await gql.login("org-1")
    home = (await gql("{ myInstitution { name sites { courses { classes { name } } } staff { status } funds { escrowBank } documents { category downloadUrl } } }", token=token))["data"]["myInstitution"]
    assert home["sites"] and home["staff"] and home["funds"]["escrowBank"]
    assert {d["category"] for d in home["documents"]} >= {"CERTIFICATE", "PARTY_BUILDING", "CONTRACT"}
    pdf = await http.get(home["documents"][0]["downloadUrl"], headers={"Authorization": f"Bearer {token}"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-1.4") and pdf.content.endswith(b"%%EOF\n")
    async with sessionmaker() as db:
        proof = (await db.execute(sa.select(Application.proof_document_id).where(Application.type == "DEREGISTRATION"))).scalar_one()
    assert proof is not None
    deregistered = await gql("mutation { login(username: \"org-24\", password: \"Demo#2026\") { token } }")
    assert error_codes(deregistered) == ["ACCOUNT_DISABLED"]


async def test_demo_standing_follows_from_its_data(gql, sessionmaker):
    """APPROVED only where the standing is compliant, an expired and an expiring licence among
    the cases, every county's bureaus, and one black and one white list period per county that
    agree with the standing."""
    day = date(2026, 11, 23)
    await seed_demo(sessionmaker, day)
    counties = {c for p in DEMO_TREE.values() for cs in p.values() for c in cs}
    async with sessionmaker() as db:
        institutions = (await db.execute(sa.select(Institution))).scalars().all()
        found = await standings(db, [i.id for i in institutions], day)
        bureaus = Counter((await db.execute(sa.select(Account.region_code, Account.department).where(Account.level == "COUNTY"))).all())
        periods = (await db.execute(sa.select(ListPeriod))).scalars().all()
        entries = (await db.execute(sa.select(ListEntry.period_id, ListEntry.institution_id))).all()
    assert {(c, d) for c in counties for d in ("EDUCATION", "SPORTS", "CULTURE_TOURISM", "SCIENCE_TECHNOLOGY")} == set(bureaus)
    assert set(bureaus.values()) == {1}
    approved = [i for i in institutions if i.review_status == "APPROVED"]
    assert approved and all(found[i.id].compliant for i in approved), [(i.name, found[i.id].codes) for i in approved if not found[i.id].compliant]
    assert all(not found[i.id].compliant for i in institutions if i.review_status != "APPROVED")
    codes = Counter(code for s in found.values() for code in s.codes)
    # Every county has an expired and an expiring licence (demo.institutions), the portal's too.
    assert codes["LICENCE_EXPIRED"] >= len(counties) and codes["LICENCE_EXPIRING"] >= len(counties)
    assert Counter((p.region_code, p.kind, p.number) for p in periods) == {(c, k, 1): 1 for c in counties for k in ("WHITE", "BLACK")}
    named = {p.kind: {i for period, i in entries if period in {q.id for q in periods if q.kind == p.kind}} for p in periods}
    assert len(named["BLACK"]) == len(counties)
    eligible = {i for i, s in found.items() if s.white_list_eligible}
    assert named["WHITE"] == eligible and not named["WHITE"] & named["BLACK"]
    assert all(found[i].black_listed and not found[i].lawful for i in named["BLACK"])
    # org-1's institution (approved): lawful in the lookup, on its white list, nothing missing at home.
    token = await gql.login("org-1")
    mine = (await gql("{ myInstitution { id home { missing { code } standing { compliant } } } }", token=token))["data"]["myInstitution"]
    assert mine["home"] == {"missing": [], "standing": {"compliant": True}}
    public = (await gql("query($id: ID!) { publicInstitution(id: $id) { lawful compliant status licence { valid } } }", {"id": mine["id"]}))["data"]
    assert public["publicInstitution"] == {"lawful": True, "compliant": True, "status": "COMPLIANT", "licence": {"valid": True}}
