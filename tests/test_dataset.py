"""The national dataset generator (bench/dataset.py) at a small scale: the counts scale as
stated, the rows pass the API's own validators, the states agree with each other, the
schema comes back exactly as the migrations made it, and the same seed gives the same data."""

from __future__ import annotations

import uuid
from datetime import date
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from bench import dataset
from models import Account, ApplicationType, Course, Institution, Material, Site, Staff, TrainingClass
from models.database import create_engine, create_sessionmaker
from resolvers import public, validation
from resolvers.applications import authority
from resolvers.findings import differing, findings_for
from resolvers.forms import Form
from resolvers.institutions.home import missing_items_of
from resolvers.institutions.registration import FIELDS_BY_PART, SAVED_FLAG, Context, Part, validate_part
from resolvers.materials import check_material
from resolvers.records import Owner
from resolvers.sites import check_class, check_course, check_site
from resolvers.staff import check_staff
from resolvers.standing import standings as read_standings
from tests.helpers import copy_database, drop_database

SCALE = 0.002  # 1,000 institutions: one chunk, a few seconds
SEED = 7
TODAY = date(2026, 11, 23)

SCHEMA = """
SELECT 'index' AS what, tablename AS tbl, indexname AS name, indexdef AS def FROM pg_indexes WHERE schemaname = 'public'
UNION ALL
SELECT 'constraint', conrelid::regclass::text, conname, pg_get_constraintdef(oid) || ' valid=' || convalidated FROM pg_constraint
WHERE connamespace = 'public'::regnamespace
ORDER BY 1, 2, 3
"""


@pytest.fixture(scope="module")
async def loaded(pg_server_url, template_database):
    """The dataset at ``SCALE`` in a copy of the migrated database (once for the module): the
    schema before and after, the rows per table, the progress lines."""
    url = await copy_database(pg_server_url, template_database, "xwpx_dataset")
    conn = await dataset.connect(url)
    before = [tuple(r) for r in await conn.fetch(SCHEMA)]
    await conn.close()
    lines: list[str] = []
    counts = await dataset.generate(url, scale=SCALE, seed=SEED, today=TODAY, workers=0, report=lines.append)
    conn = await dataset.connect(url)
    after = [tuple(r) for r in await conn.fetch(SCHEMA)]
    yield SimpleNamespace(url=url, conn=conn, before=before, after=after, counts=counts, lines=lines)
    await conn.close()
    await drop_database(pg_server_url, url)


@pytest.fixture
async def db(loaded):
    engine = create_engine(loaded.url)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session:
        yield SimpleNamespace(session=session, sessionmaker=sessionmaker)
    await engine.dispose()


async def test_counts_scale_as_stated_and_the_schema_is_restored(loaded):
    conn = loaded.conn
    stated = {key: round(value * SCALE) for key, value in dataset.STATED.items()}
    tables = {
        "institutions": "institution", "sites": "site", "courses": "course", "classes": "training_class", "staff": "staff",
        "materials": "material", "inspections": "inspection", "complaints": "complaint",
    }
    for key, table in tables.items():
        assert await conn.fetchval(f"SELECT count(*) FROM {table}") == stated[key] == loaded.counts[table], key
    # Every key, index and foreign key is back, validated, exactly as the migrations define it.
    assert loaded.after == loaded.before
    # A progress line per table and the overall time.
    assert any(line.lstrip().startswith("training_class") for line in loaded.lines)
    assert loaded.lines[-1].startswith("done in")
    # Statistics are fresh.
    assert await conn.fetchval("SELECT count(*) FROM pg_stat_user_tables WHERE relname = 'institution' AND last_analyze IS NOT NULL") == 1
    # The statistics' tallies are counted, agree with a recount, and their triggers are on again.
    assert await conn.fetchval("SELECT count(*) FROM institution_tally") == stated["institutions"]
    assert await conn.fetchval("SELECT sum(registered) FROM county_tally") == stated["institutions"]
    assert await conn.fetchval("SELECT sum(staff_active) FROM county_tally") == await conn.fetchval("SELECT count(*) FROM staff WHERE status = 'ACTIVE'")
    assert await conn.fetch("SELECT * FROM tally_check()") == []
    triggers = await conn.fetch("SELECT tgrelid::regclass::text AS t, tgname, tgenabled::text FROM pg_trigger WHERE tgname LIKE 'tally%'")
    assert {r["t"] for r in triggers} == {*dataset.TALLIED, "institution_tally", "institution_finding"}
    assert len(triggers) == 21 and {r["tgenabled"] for r in triggers} == {"O"}


async def test_regions_and_regulator_accounts_cover_the_country(loaded):
    conn = loaded.conn
    # Institutions only in lowest regions (no children), never in 台湾, 香港, 澳门.
    assert await conn.fetchval(
        "SELECT count(*) FROM institution i WHERE EXISTS (SELECT 1 FROM region c WHERE c.parent_code = i.region_code)"
    ) == 0
    assert await conn.fetchval("SELECT count(*) FROM institution WHERE left(region_code, 2) IN ('71', '81', '82')") == 0
    # One education account per region node and level, and a county desk and a sports
    # account for every lowest region that can hold institutions.
    levels = dict(await conn.fetch(
        "SELECT level, count(*) FROM account WHERE kind = 'REGULATOR' AND department = 'EDUCATION' AND level <> 'SUB_UNIT' GROUP BY level"
    ))
    # (the regions in force: 区划调整 retired some, which hold nothing new)
    regions = dict(await conn.fetch("SELECT level, count(*) FROM region WHERE valid_to IS NULL GROUP BY level"))
    lowest = await conn.fetchval(
        "SELECT count(*) FROM region r WHERE r.level > 0 AND r.valid_to IS NULL AND left(r.code, 2) NOT IN ('71', '81', '82')"
        " AND NOT EXISTS (SELECT 1 FROM region c WHERE c.parent_code = r.code AND c.valid_to IS NULL)"
    )
    assert levels == {"MINISTRY": 1, "PROVINCE": regions[1], "PREFECTURE": regions[2], "COUNTY": lowest}
    assert await conn.fetchval("SELECT count(*) FROM account WHERE department = 'SPORTS' AND level = 'COUNTY'") == lowest
    # Every institution's desk exists: the county education account of its region.
    assert await conn.fetchval(
        """SELECT count(*) FROM institution i WHERE NOT EXISTS (SELECT 1 FROM account a WHERE a.kind = 'REGULATOR'
           AND a.level = 'COUNTY' AND a.department = 'EDUCATION' AND a.region_code = i.region_code)"""
    ) == 0


async def test_rows_pass_the_apis_validators(loaded, db):
    session = db.session
    paths = dict((await session.execute(sa.text("SELECT code, path FROM region"))).all())
    institutions = (await session.execute(sa.select(Institution))).scalars().all()
    saved_counts = dict.fromkeys(Part, 0)
    for inst in institutions:
        context = Context(today=TODAY, province_code=paths[inst.region_code].split("/")[1], kind=inst.kind)
        for part in Part:
            data = {spec.key: getattr(inst, spec.key) for spec in FIELDS_BY_PART[part]}
            if part is not Part.BASICS and not getattr(inst, SAVED_FLAG[part]):
                assert all(v in (None, []) for v in data.values()), (inst.name, part, data)
                continue
            saved_counts[part] += 1
            checked = validate_part(part, data, context)
            assert checked.errors == [], (inst.name, part, checked.errors)
            # What the form would store is what is stored.
            assert {k: getattr(v, "value", v) for k, v in checked.values.items()} == data, (inst.name, part)
        assert inst.name.startswith((await session.execute(sa.text("SELECT name FROM region WHERE code = :c"), {"c": inst.region_code})).scalar_one())
    assert all(saved_counts.values()) and saved_counts[Part.FACILITIES] < len(institutions)
    # The portal's forms accept the institutions' own records.
    owners = {i.id: Owner(SimpleNamespace(mode=i.mode, kind=i.kind), None) for i in institutions}
    for model, check, columns in (
        (Staff, check_staff, ("name", "gender", "id_number", "phone", "post", "employment", "subjects", "teacher_certificate_number", "years_in_education", "joined_on")),
        (Site, check_site, ("name", "address", "teaching_area", "system_type", "url", "icp_filing")),
        (Course, check_course, ("name", "category", "subject", "grades", "class_hours", "description")),
        (TrainingClass, check_class, ("name", "schedule", "starts_on", "ends_on", "capacity", "enrolled", "fee", "fee_months", "fee_class_hours", "lesson_minutes", "break_minutes")),
        (Material, check_material, ("name", "category", "subject", "grades", "type", "author", "publisher", "edition", "author_years_in_education", "author_certificate_number")),
    ):
        rows = (await session.execute(sa.select(model).order_by(model.id).limit(400))).scalars().all()
        assert rows, model
        for row in rows:
            form = Form({c: getattr(row, c) for c in columns}, today=TODAY)
            check(form, owners[row.institution_id])
            assert form.errors == [], (model.__name__, row.name, form.errors)
    # Accounts' and complaints' numbers.
    for (mobile,) in (await session.execute(sa.select(Account.mobile).where(Account.kind == "INSTITUTION"))).all():
        assert validation.mobile(mobile) is None
    for mobile, tracking in (await session.execute(sa.text("SELECT complainant_mobile, tracking_number FROM complaint"))).all():
        assert validation.mobile(mobile) is None and len(tracking) == 18 and tracking.startswith("TS")


async def test_states_agree_with_each_other(loaded):
    conn = loaded.conn

    async def none(sql: str, *args) -> None:
        rows = await conn.fetch(sql, *args)
        assert rows == [], (sql, rows[:3])

    # Inspection status and open deadline follow the latest inspection (refresh_status).
    await none("""
        WITH latest AS (
          SELECT DISTINCT ON (institution_id) * FROM inspection ORDER BY institution_id, inspected_on DESC, seq DESC
        ), expected AS (
          SELECT i.id, i.inspection_status, i.open_deadline,
                 CASE WHEN l.id IS NULL THEN 'NOT_INSPECTED' WHEN l.accepted_on IS NOT NULL THEN 'RECTIFIED'
                      WHEN cardinality(l.problems) = 0 THEN 'NO_PROBLEMS' ELSE 'RECTIFYING' END AS status,
                 CASE WHEN l.accepted_on IS NULL AND cardinality(l.problems) > 0 THEN
                   (SELECT min(deadline) FROM rectification_item r WHERE r.inspection_id = l.id AND r.progress <> 'DONE') END AS deadline
          FROM institution i LEFT JOIN latest l ON l.institution_id = i.id
        )
        SELECT * FROM expected WHERE inspection_status <> status OR open_deadline IS DISTINCT FROM deadline""")
    # Earlier ledgers are closed; a closed ledger's items are done; every problem has an item.
    await none("""
        SELECT x.id FROM inspection x WHERE cardinality(x.problems) > 0 AND x.accepted_on IS NULL
          AND EXISTS (SELECT 1 FROM inspection y WHERE y.institution_id = x.institution_id AND y.inspected_on > x.inspected_on)""")
    await none("""SELECT r.id FROM rectification_item r JOIN inspection x ON x.id = r.inspection_id
                  WHERE (x.accepted_on IS NOT NULL AND r.progress <> 'DONE') OR r.deadline < x.inspected_on
                     OR NOT r.problem = ANY (x.problems)""")
    await none("""SELECT x.id FROM inspection x, unnest(x.problems) p
                  WHERE NOT EXISTS (SELECT 1 FROM rectification_item r WHERE r.inspection_id = x.id AND r.problem = p)""")
    await none("""SELECT id FROM inspection WHERE inspected_on > $1 OR accepted_on > $1 OR accepted_on < inspected_on
                  OR (accepted_on IS NULL) <> (accepted_by IS NULL) OR (accepted_on IS NOT NULL AND cardinality(problems) = 0)""", TODAY)
    # Review status is the latest compliance application's.
    await none("""
        SELECT i.id FROM institution i LEFT JOIN LATERAL (
          SELECT status FROM application a WHERE a.institution_id = i.id AND a.type = 'COMPLIANCE' ORDER BY submitted_at DESC, seq DESC LIMIT 1
        ) a ON true WHERE i.review_status <> coalesce(a.status, 'NOT_SUBMITTED')""")
    # A subject class's filing status is its latest filing application's; others need none.
    await none("""
        SELECT c.id FROM training_class c JOIN course k ON k.id = c.course_id LEFT JOIN LATERAL (
          SELECT status FROM application a WHERE a.class_id = c.id AND a.type = 'CLASS_FILING' ORDER BY submitted_at DESC, seq DESC LIMIT 1
        ) a ON true
        WHERE c.filing_status <> CASE WHEN k.subject IS NULL THEN 'NOT_REQUIRED'
                                      ELSE CASE a.status WHEN 'APPROVED' THEN 'FILED' WHEN 'PENDING' THEN 'PENDING'
                                                         WHEN 'REJECTED' THEN 'REJECTED' ELSE 'NOT_FILED' END END""")
    # Class teachers are active teaching staff of the same institution; records hang together.
    await none("""
        SELECT c.id FROM training_class c LEFT JOIN LATERAL unnest(c.teacher_ids) t(id) ON true
        LEFT JOIN staff s ON s.id = t.id AND s.institution_id = c.institution_id AND s.status = 'ACTIVE' AND s.post = 'TEACHING'
        WHERE s.id IS NULL""")
    await none("""SELECT c.id FROM training_class c JOIN course k ON k.id = c.course_id JOIN site s ON s.id = k.site_id
                  WHERE c.institution_id <> k.institution_id OR k.institution_id <> s.institution_id""")
    await none("""SELECT s.id FROM site s JOIN institution i ON i.id = s.institution_id
                  WHERE s.type <> CASE i.mode WHEN 'ONLINE' THEN 'BUSINESS_SYSTEM' ELSE 'SITE' END""")
    await none("SELECT id FROM staff WHERE (status = 'DEPARTED') <> (departed_on IS NOT NULL) OR departed_on < joined_on OR joined_on > $1", TODAY)
    # Registration parts: the saved flags match the stored parts.
    await none("""SELECT id FROM institution WHERE qualifications_saved <> (qualification_status IS NOT NULL)
                  OR operation_saved <> (student_count IS NOT NULL) OR subject_training_saved <> (no_subject_training IS NOT NULL)
                  OR facilities_saved <> (floor_area IS NOT NULL) OR version <> 1 + qualifications_saved::int
                     + operation_saved::int + subject_training_saved::int + facilities_saved::int""")
    # Applications: decided ones carry a decision, pending ones none; licences and
    # deregistrations took effect.
    await none("""SELECT id FROM application WHERE (status = 'PENDING') <> (decided_at IS NULL)
                  OR (status <> 'PENDING' AND (decided_by IS NULL OR opinion IS NULL OR decided_at < submitted_at))
                  OR submitted_at > $1::date + 1""", TODAY)
    await none("""SELECT a.id FROM application a JOIN institution i ON i.id = a.institution_id WHERE a.type = 'LICENCE'
                  AND ((a.status = 'PENDING' AND i.qualification_status IN ('FULL', 'LICENCE_ONLY'))
                    OR (a.status = 'APPROVED' AND i.qualification_status NOT IN ('FULL', 'LICENCE_ONLY')))""")
    await none("""SELECT i.id FROM institution i WHERE (i.deregistered_at IS NOT NULL) <> EXISTS (
                    SELECT 1 FROM application a WHERE a.institution_id = i.id AND a.type = 'DEREGISTRATION' AND a.status = 'APPROVED')
                  OR (i.deregistered_at IS NOT NULL AND EXISTS (
                    SELECT 1 FROM application a WHERE a.institution_id = i.id AND a.status = 'PENDING'))
                  OR (i.deregistered_at IS NOT NULL AND EXISTS (
                    SELECT 1 FROM account a WHERE a.institution_id = i.id AND a.enabled))""")
    # Complaints: each state with its own timestamps.
    await none("""SELECT id FROM complaint WHERE (accepted_at IS NOT NULL) <> (status IN ('ACCEPTED', 'REPLIED'))
                  OR (replied_at IS NOT NULL) <> (status = 'REPLIED') OR (rejected_at IS NOT NULL) <> (status = 'REJECTED')
                  OR accepted_at < submitted_at OR replied_at < accepted_at OR rejected_at < submitted_at""")
    # Every type of application in every state.
    seen = {(r["type"], r["status"]) for r in await conn.fetch("SELECT DISTINCT type, status FROM application")}
    assert seen == {(t, s) for t in ("COMPLIANCE", "DEREGISTRATION", "LICENCE", "CLASS_FILING") for s in ("PENDING", "APPROVED", "REJECTED")}
    assert {r[0] for r in await conn.fetch("SELECT DISTINCT inspection_status FROM institution")} == {"NOT_INSPECTED", "NO_PROBLEMS", "RECTIFYING", "RECTIFIED"}
    assert await conn.fetchval("SELECT count(*) FROM institution WHERE inspection_status = 'RECTIFYING' AND open_deadline < $1", TODAY) > 0
    for table in ("urging_notice", "list_period", "list_entry", "institution_funds"):
        assert await conn.fetchval(f"SELECT count(*) FROM {table}") > 0, table
    assert {r[0] for r in await conn.fetch("SELECT DISTINCT kind FROM list_period")} == {"WHITE", "BLACK"}


async def test_applications_go_to_their_authority_and_compliant_institutions_break_no_rule(loaded, db):
    session = db.session
    paths = dict((await session.execute(sa.text("SELECT code, path FROM region"))).all())
    institutions = {i.id: i for i in (await session.execute(sa.select(Institution))).scalars()}
    accounts = {
        a.id: a for a in (await session.execute(sa.select(Account).where(Account.kind == "REGULATOR"))).scalars()
    }
    rows = (await session.execute(sa.text(
        "SELECT institution_id, type, authority_region_code, authority_department, authority_level, decided_by FROM application"
    ))).all()
    for institution_id, kind, region, department, level, decided_by in rows:
        who = authority(institutions[institution_id], paths[institutions[institution_id].region_code], ApplicationType(kind))
        assert (region, department, level) == (who.region_code, who.department.value, who.level.value)
        if decided_by is not None:
            reviewer = accounts[decided_by]
            assert (reviewer.region_code, reviewer.department, reviewer.level) == (region, department, level)
    # Pending and approved compliance applications: nothing missing, no finding.
    ids = [i.id for i in institutions.values() if i.review_status in ("PENDING", "APPROVED")]
    assert ids
    findings = await findings_for(session, ids)
    assert {k: v for k, v in findings.items() if v} == {}
    missing = await missing_items_of(session, [institutions[i] for i in ids], findings)
    assert {k: v for k, v in missing.items() if v} == {}
    # Others break a rule now and then, so findings show.
    others = [i.id for i in institutions.values() if i.review_status == "NOT_SUBMITTED"]
    assert any((await findings_for(session, others)).values())
    # What the rules find is kept, exactly as a check of the records now finds it.
    assert await loaded.conn.fetchval("SELECT count(*) FROM institution_finding") > 0
    assert await differing(db.sessionmaker) == []


async def test_the_public_search_finds_generated_names(loaded, db):
    session = db.session
    picked = (await session.execute(sa.select(Institution).order_by(Institution.credit_code).limit(5))).scalars().all()
    for inst in picked:
        province = inst.region_code[:2] + "0000"
        page, standings = await public.search(db.sessionmaker, inst.name, province, 10, None, date(2026, 11, 20))
        assert page.rows[0].id == inst.id
        # Each row's standing, read with the page, is the one the standing loader reads on its own.
        assert list(standings) == [row.id for row in page.rows]
        assert standings == await read_standings(session, list(standings), date(2026, 11, 20))
        region = (await session.execute(sa.text("SELECT name FROM region WHERE code = :c"), {"c": inst.region_code})).scalar_one()
        brand_and_type = inst.name.removeprefix(region).rstrip("0123456789")
        page, _ = await public.search(db.sessionmaker, brand_and_type, province, 20, None, date(2026, 11, 20))
        assert page.total_count >= 1 and any(brand_and_type in row.name for row in page.rows)


async def test_the_same_seed_gives_the_same_rows(loaded):
    conn = loaded.conn
    regions, lowest = await dataset.read_regions_from(conn)

    def chunk(seed: int) -> dict[str, bytes]:
        plan = dataset.Plan(seed, SCALE, TODAY, regions, lowest, "hash")
        numbers, positions = dataset.assign_regions(plan)
        dataset.init_worker(plan)
        _, blobs, _ = dataset.generate_chunk((0, numbers[: dataset.CHUNK].tobytes(), positions[: dataset.CHUNK].tobytes()))
        return blobs

    first, again, other = chunk(SEED), chunk(SEED), chunk(SEED + 1)
    assert first == again

    def codes(blobs: dict[str, bytes]) -> list[str]:
        return [line.split("\t")[2] for line in blobs["institution"].decode().splitlines()]

    stored = [r[0] for r in await conn.fetch("SELECT credit_code FROM institution ORDER BY ctid")]
    assert codes(first) == stored
    assert len(set(stored)) == len(stored)
    assert not set(codes(other)) & set(stored)
    assert all(uuid.UUID(line.split("\t")[0]).version == 4 for line in first["institution"].decode().splitlines())
