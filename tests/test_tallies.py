"""The statistics' maintained counts (``models/statistics.py``): after every kind of change to
what they count, the per-institution and per-county tallies equal a recount from the rows
(``tally_check()`` lists no difference); folding the county differences keeps the counts;
and a view summed from the county tallies equals the same view counted from the rows."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from core.settings import Settings
from models import (
    Account,
    Application,
    Complaint,
    Inspection,
    Institution,
    InstitutionFinding,
    InstitutionFunds,
    ListEntry,
    ListPeriod,
    Staff,
    TrainingClass,
)
from models.statistics import (
    COUNTY_TALLIES,
    compact,
    county_finding_delta,
    county_finding_tally,
    county_tally,
    county_tally_delta,
    institution_tally,
    tally_rows,
)
from resolvers import findings
from resolvers.statistics import counting, series
from server import create_app
from tests.helpers import COMPLETE, ID_NUMBER, SERIES, STATISTICS, build_world, with_findings

#: What the tally keeps of A1's standing (migration 0018): compliant whatever the day, with its licence's dates.
A1_STANDING = dict(standing_basis=True, licence_valid_from=date(2022, 1, 1), licence_valid_to=date(2027, 12, 31))


@pytest.fixture
async def world(demo, sessionmaker):
    return await build_world(sessionmaker)


async def differences(sessionmaker) -> list[tuple[str, str]]:
    async with sessionmaker() as db:
        return [tuple(r) for r in (await db.execute(sa.text("SELECT tally, key FROM tally_check() ORDER BY 1, 2"))).all()]


async def tally(sessionmaker, institution_id) -> dict:
    async with sessionmaker() as db:
        row = (await db.execute(sa.select(institution_tally).where(institution_tally.c.institution_id == institution_id))).mappings().one()
    return {k: v for k, v in row.items() if k not in ("institution_id", "region_code") and v}


async def county(sessionmaker, code: str, *, folded_only: bool = False) -> dict:
    """A county's counts: ``county_tally`` plus the differences not folded yet (or alone)."""
    kept = sa.select(county_tally)
    if not folded_only:
        kept = sa.union_all(kept, sa.select(county_tally_delta))
    kept = kept.subquery()
    async with sessionmaker() as db:
        row = (
            await db.execute(sa.select(*(sa.func.sum(kept.c[name]).label(name) for name in COUNTY_TALLIES)).where(kept.c.region_code == code))
        ).mappings().one()
    return {k: int(v) for k, v in row.items() if v}


async def change(sessionmaker, *changes) -> None:
    """Run ``changes`` (SQLAlchemy statements, or new rows to add) in one transaction."""
    async with sessionmaker() as db:
        for item in changes:
            if isinstance(item, sa.sql.Executable):
                await db.execute(item)
            else:
                db.add(item)
                await db.flush()
        await db.commit()


async def test_tallies_follow_every_change_and_folding_keeps_them(world, sessionmaker, app):
    ids = world
    # given: the statistics' world, counted by the triggers as it was inserted
    assert await differences(sessionmaker) == []
    assert await tally(sessionmaker, ids["A1"]) == dict(
        inspections=1, compliance_approved=1, classes_filed=2, classes_pending=1, staff_active=4, teachers=3, certified_teachers=2, white_listed=1,
        **A1_STANDING,
    )
    assert await tally(sessionmaker, ids["B2"]) == dict(classes_unfiled=2, black_listed=1)
    assert await county(sessionmaker, "440106") == dict(
        registered=6, complete=3, compliant=1, deregistered=1, inspected=4, with_problems=3, rectifying=2, rectified=1, inspections=5,
        compliance_approved=1, compliance_rejected=1, deregistration_approved=1, licence_pending=1, classes_filed=2, classes_pending=1,
        classes_unfiled=2, staff_active=6, teachers=4, certified_teachers=3, white_listed=1, black_listed=1,
        complaints=4, complaints_submitted=1, complaints_accepted=1, complaints_replied=1, complaints_rejected=1,
        complaints_illegal_operation=2, complaints_illegal_enrolment=1, complaints_other=1,
    )
    now = datetime(2026, 11, 23, tzinfo=UTC)
    period = uuid.uuid4()
    async with sessionmaker() as db:
        bureau = (await db.execute(sa.select(Account.id).where(Account.username == "edu-440106"))).scalar_one()
    steps = {
        "staff": [
            sa.update(Staff).where(Staff.institution_id == ids["A1"], Staff.status == "DEPARTED").values(status="ACTIVE"),
            sa.update(Staff).where(Staff.institution_id == ids["A1"], Staff.post == "MANAGEMENT").values(post="TEACHING", teacher_certificate_number="T9"),
            sa.update(Staff).where(Staff.institution_id == ids["B1"]).values(teacher_certificate_number=None),
            sa.update(Staff).where(Staff.institution_id == ids["S1"]).values(phone="13900139000"),  # counts nothing
            sa.delete(Staff).where(Staff.institution_id == ids["E1"]),
            Staff(
                institution_id=ids["B2"], name="新员工", gender="MALE", id_number=ID_NUMBER, phone="13700137000", post="TEACHING",
                employment="PART_TIME", teacher_certificate_number="T8", status="ACTIVE", joined_on=date(2026, 1, 1),
            ),
        ],
        "classes and applications": [
            sa.update(TrainingClass).where(TrainingClass.institution_id == ids["A1"], TrainingClass.filing_status == "PENDING").values(filing_status="FILED"),
            # D1's class goes, and the filing application on it with it (ON DELETE CASCADE)
            sa.delete(TrainingClass).where(TrainingClass.institution_id == ids["D1"]),
            sa.update(Application).where(Application.institution_id == ids["A2"]).values(status="APPROVED", decided_at=now),
            Application(
                institution_id=ids["B2"], type="COMPLIANCE", status="PENDING", authority_region_code="440106", authority_department="EDUCATION",
                authority_level="COUNTY", submitted_at=now,
            ),
        ],
        "inspections": [
            Inspection(institution_id=ids["B2"], inspected_on=date(2026, 11, 20), inspecting_unit="教育局", result="已排查", recorded_by=bureau),
            sa.delete(Inspection).where(Inspection.institution_id == ids["A3"], Inspection.inspected_on == date(2026, 3, 5)),
        ],
        "institutions": [
            sa.update(Institution).where(Institution.id == ids["A2"]).values(review_status="APPROVED", inspection_status="RECTIFYING"),
            sa.update(Institution).where(Institution.id == ids["B2"]).values(**COMPLETE),
            sa.update(Institution).where(Institution.id == ids["C2"]).values(deregistered_at=now),
            sa.update(Institution).where(Institution.id == ids["E1"]).values(region_code="440106"),  # moves with its counts
            sa.update(Institution).where(Institution.id == ids["S1"]).values(name="改名后的机构"),  # counts nothing
            sa.update(Institution).where(Institution.id == ids["D1"]).values(region_code="440305"),  # with its inspection's day
            sa.update(Institution).where(Institution.id == ids["C1"]).values(region_code="440103"),  # moves, then goes
            sa.delete(Institution).where(Institution.id == ids["C1"]),  # with its classes, inspections, applications
        ],
        "complaints": [
            sa.update(Complaint).where(Complaint.status == "SUBMITTED", Complaint.county_code == "440106").values(status="ACCEPTED", accepted_at=now),
            sa.update(Complaint).where(Complaint.county_code == "420102").values(county_code="440104"),  # transferred
            sa.delete(Complaint).where(Complaint.status == "REJECTED"),
            Complaint(
                tracking_number="TS202699990001", complainant_name="赵六", complainant_mobile="13812345678", target_type="OTHER",
                complaint_type="OTHER", county_code="440304", target_name="某处", content="内容", status="SUBMITTED", submitted_at=now,
            ),
        ],
        "lists: a new period supersedes": [
            ListPeriod(id=period, region_code="440100", kind="WHITE", number=3, title="第3期", published_at=now, entry_count=1),
            ListEntry(period_id=period, institution_id=ids["C2"], name="C2", credit_code="0" * 18, county_code="440104", address="地址"),
        ],
        "lists: periods withdrawn": [sa.delete(ListPeriod).where(ListPeriod.region_code == "440106", ListPeriod.kind == "BLACK")],
    }
    for step, statements in steps.items():
        # when: one kind of change is committed
        await change(sessionmaker, *statements)
        # then: the tallies equal a recount
        assert await differences(sessionmaker) == [], step
    assert await tally(sessionmaker, ids["A1"]) == dict(
        inspections=1, compliance_approved=1, classes_filed=3, staff_active=5, teachers=5, certified_teachers=4, **A1_STANDING
    )
    assert await tally(sessionmaker, ids["B2"]) == dict(
        inspections=1, compliance_pending=1, classes_unfiled=2, staff_active=1, teachers=1, certified_teachers=1, black_listed=1
    )
    assert await tally(sessionmaker, ids["C2"]) == dict(white_listed=1)
    # the black list of 广东 still names B2; withdrawing it too leaves B2 unlisted
    await change(sessionmaker, sa.delete(ListPeriod).where(ListPeriod.region_code == "440000"))
    assert await tally(sessionmaker, ids["B2"]) == dict(inspections=1, compliance_pending=1, classes_unfiled=2, staff_active=1, teachers=1, certified_teachers=1)
    assert await differences(sessionmaker) == []
    expected_440106 = dict(
        # E1 moved in (with its rejected licence application); B2's new inspection does not set its status
        registered=7, complete=4, compliant=2, deregistered=1, inspected=4, with_problems=4, rectifying=3, rectified=1, inspections=5,
        compliance_approved=1, compliance_rejected=1, compliance_pending=1, deregistration_approved=1, licence_approved=1, licence_rejected=1,
        classes_filed=3, classes_unfiled=2, staff_active=8, teachers=7, certified_teachers=5,
        complaints=3, complaints_accepted=2, complaints_replied=1, complaints_illegal_operation=2, complaints_illegal_enrolment=1,
    )
    assert await county(sessionmaker, "440106") == expected_440106
    assert await county(sessionmaker, "420102") == dict(registered=2)
    # when: the differences are folded
    async with sessionmaker() as db:
        pending = (
            await db.execute(
                sa.text(
                    "SELECT (SELECT count(DISTINCT region_code) FROM county_tally_delta)"
                    " + (SELECT count(*) FROM (SELECT DISTINCT region_code, day FROM county_day_delta) d)"
                )
            )
        ).scalar_one()
    folded = await compact(app.state.engine)
    # then: every county with differences was folded, none is left, and the counts are the same
    assert folded == pending > 0
    async with sessionmaker() as db:
        assert (await db.execute(sa.text("SELECT (SELECT count(*) FROM county_tally_delta) + (SELECT count(*) FROM county_day_delta)"))).scalar_one() == 0
    assert await county(sessionmaker, "440106", folded_only=True) == expected_440106
    assert await differences(sessionmaker) == []


async def test_a_rebuild_recounts_what_bypassed_the_triggers(world, sessionmaker):
    # given: a count changed behind the triggers' back (as a bulk load does with them off)
    async with sessionmaker() as db:
        await db.execute(sa.text("ALTER TABLE staff DISABLE TRIGGER tally"))
        await db.execute(sa.delete(Staff).where(Staff.institution_id == world["A1"]))
        await db.execute(sa.text("ALTER TABLE staff ENABLE TRIGGER tally"))
        await db.commit()
    # then: the check names the institution and its county
    assert await differences(sessionmaker) == [("county_tally", "440106"), ("institution_tally", str(world["A1"]))]
    # when: the tallies are rebuilt
    async with sessionmaker() as db:
        await db.execute(sa.text("SELECT tally_rebuild()"))
        await db.commit()
    # then: they agree again
    assert await differences(sessionmaker) == []
    assert await tally(sessionmaker, world["A1"]) == dict(
        inspections=1, compliance_approved=1, classes_filed=2, classes_pending=1, white_listed=1, **A1_STANDING
    )


@pytest.mark.parametrize("username, regions", [("edu-000000", [None, "440000", "440100"]), ("edu-440000", [None, "440300"])])
async def test_views_summed_from_county_tallies_equal_the_rows_counted(gql, world, monkeypatch, username, regions):
    token = await gql.login(username)
    served = counting.by_county
    taken: list[bool] = []
    monkeypatch.setattr(counting, "by_county", lambda *args: taken.append(served(*args)) or taken[-1])
    for region in regions:
        # given: the view as served, from the county tallies
        taken.clear()
        fast = await gql(STATISTICS, {"r": region}, token=token)
        assert taken and all(taken)
        # when: the same view is counted from the rows
        with monkeypatch.context() as m:
            m.setattr(counting, "by_county", lambda *args: False)
            slow = await gql(STATISTICS, {"r": region}, token=token)
        # then: every row and the total are the same, apart from the moment taken
        for view in (fast, slow):
            assert "errors" not in view, view
            del view["data"]["statistics"]["takenAt"]
        assert fast == slow
        assert fast["data"]["statistics"]["total"]["institutions"]["registered"] > 0


async def test_writers_to_one_county_do_not_wait_for_each_other_nor_for_folding(world, sessionmaker, app):
    ids = world

    def teacher(key: str, n: int) -> Staff:
        return Staff(
            institution_id=ids[key], name=f"并发{n}", gender="MALE", id_number=f"{ID_NUMBER[:-2]}{n + 50:02d}", phone="13700137000",
            post="TEACHING", employment="FULL_TIME", teacher_certificate_number="T7", status="ACTIVE", joined_on=date(2026, 1, 1),
        )

    before = await county(sessionmaker, "440106")
    # given: a transaction adds a teacher to A1 (天河) and has not committed
    async with sessionmaker() as first:
        first.add(teacher("A1", 1))
        await first.flush()
        # when: another adds one to B1 (天河 too) with a 2-second lock timeout, and the
        # differences are folded meanwhile
        async with sessionmaker() as second:
            await second.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
            second.add(teacher("B1", 2))
            await second.commit()
        await compact(app.state.engine)
        await first.commit()
    # then: neither waited (no lock timeout), and both teachers are counted once
    after = await county(sessionmaker, "440106")
    assert {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)} == dict(staff_active=2, teachers=2, certified_teachers=2)
    assert await differences(sessionmaker) == []


async def test_the_server_folds_the_differences_on_its_own(world, database_url, tmp_path):

    # given: differences not folded yet (the world's)
    async def pending(app) -> int:
        async with app.state.sessionmaker() as db:
            return (await db.execute(sa.text("SELECT count(*) FROM county_tally_delta"))).scalar_one()

    # when: a server runs with the job every half second
    app = create_app(Settings(database_url=database_url, data_dir=tmp_path, tally_compact_seconds=0.5))
    async with app.router.lifespan_context(app):
        assert await pending(app) > 0
        for _ in range(100):
            if await pending(app) == 0:
                break
            await asyncio.sleep(0.1)
        # then: they are folded, and the counts still agree with a recount
        assert await pending(app) == 0
        assert await differences(app.state.sessionmaker) == []


@pytest.mark.parametrize("region", [None, "440000", "440100"])
async def test_series_summed_from_day_tallies_equal_the_rows_counted(gql, world, monkeypatch, region):

    token = await gql.login("edu-000000")
    variables = {"r": region, "from": "2025-11-15", "to": "2026-11-20"}
    # given: the series as served, from the counties' day tallies
    fast = await gql(SERIES, variables, token=token)
    # when: it is counted from the rows
    monkeypatch.setattr(series, "sees_whole_subtree", lambda viewer: False)
    slow = await gql(SERIES, variables, token=token)
    # then: the same months and counts (the range cuts the first and last months)
    assert "errors" not in fast and fast == slow
    months = fast["data"]["statisticsSeries"]["months"]
    assert len(months) == 13 and sum(m["inspections"] + m["approvals"] + m["registrations"] for m in months) > 0


async def test_list_totals_from_the_county_tallies_equal_the_rows(gql, world, sessionmaker, sql, app):
    query = "query($f: InstitutionFilter) { institutions(first: 2, filter: $f) { totalCount } }"

    async def total(token: str, f: dict | None = None) -> int:
        result = await gql(query, {"f": f}, token=token)
        assert "errors" not in result, result
        return result["data"]["institutions"]["totalCount"]

    async def rows(*where) -> int:
        async with sessionmaker() as db:
            return (await db.execute(sa.select(sa.func.count()).select_from(Institution).where(*where))).scalar_one()

    ministry, province, sports = await gql.login("edu-000000"), await gql.login("edu-440000"), await gql.login("sports-440106")
    in_guangdong = Institution.region_code.like("44%")
    # when: the ministry and a province list without filters, or by region alone, with the
    # world's differences not folded yet
    sql.reset()
    national = await total(ministry)
    # (the tallies answered: no statement counted institutions; the session, its subtree, read
    # on its first request (auth.scope), and the tallies)
    assert sql.count == 3 and not any("count(*)" in s for s in sql.statements) and "FROM county_tally" in sql.statements[-1]
    assert national == await rows() == 12
    assert await total(province) == await rows(in_guangdong) == 9
    assert await total(ministry, {"regionCode": "440100"}) == await rows(Institution.region_code.in_(["440106", "440104"])) == 8
    assert await total(province, {"regionCode": "420000"}) == 0  # out of its scope: none
    # then: after folding, and after a change not folded yet, the same
    await compact(app.state.engine)
    await change(sessionmaker, sa.delete(Institution).where(Institution.id == world["A2"]))
    assert await total(ministry) == await rows() == 11
    # and lists with another filter, or of a department, are counted from the rows
    assert await total(ministry, {"kind": "NON_SUBJECT"}) == await rows(Institution.kind == "NON_SUBJECT") == 5
    assert await total(sports) == 1  # B1 (sports) in 天河; A2 is gone


async def finding_counts(sessionmaker) -> dict[tuple[str, str, str], tuple[int, int]]:
    """Every (county, rule, severity) of ``county_finding_tally`` plus the differences not folded yet."""
    kept = tally_rows(county_finding_tally)
    async with sessionmaker() as db:
        rows = await db.execute(
            sa.select(kept.c.region_code, kept.c.rule, kept.c.severity, sa.func.sum(kept.c.findings), sa.func.sum(kept.c.institutions))
            .group_by(kept.c.region_code, kept.c.rule, kept.c.severity)
        )
    return {(r[0], r[1], r[2]): (int(r[3]), int(r[4])) for r in rows if r[3] or r[4]}


async def test_finding_tallies_follow_every_change_and_folding_keeps_them(scope_world, sessionmaker):
    ids, _, _ = scope_world
    # given: findings kept as every writer keeps them (two rules on the subject institutions, one on the others)
    await with_findings(sessionmaker, ids)
    assert await differences(sessionmaker) == []
    tianhe = {("440106", "FEE_PERIOD", "VIOLATION"): (5, 5), ("440106", "NON_PROFIT", "VIOLATION"): (3, 3)}
    assert {k: v for k, v in (await finding_counts(sessionmaker)).items() if k[0] == "440106"} == tianhe
    subject = sorted(name for name in ids if name.startswith("440106-SUBJECT"))
    first, second = (uuid.UUID(ids[n]) for n in subject[:2])
    # when: a finding goes (its funds are fixed), then the institution's records are checked again
    async with sessionmaker() as db:
        await db.execute(sa.update(InstitutionFunds).where(InstitutionFunds.institution_id == first).values(max_months_per_payment=3))
        await findings.refresh(db, [first])
        await db.commit()
    assert await differences(sessionmaker) == []
    assert (await finding_counts(sessionmaker))[("440106", "FEE_PERIOD", "VIOLATION")] == (4, 4)
    # when: an institution moves to another county, and another is deleted
    await change(sessionmaker, sa.update(Institution).where(Institution.id == second).values(region_code="440104"))
    assert await differences(sessionmaker) == []
    assert (await finding_counts(sessionmaker))[("440104", "NON_PROFIT", "VIOLATION")] == (2, 2)
    await change(sessionmaker, sa.delete(Institution).where(Institution.id == first))
    assert await differences(sessionmaker) == []
    # when: a finding row is changed in place, and an institution gets a second finding of a rule it has
    await change(
        sessionmaker,
        sa.update(InstitutionFinding).where(InstitutionFinding.institution_id == second, InstitutionFinding.rule == "NON_PROFIT").values(severity="WARNING"),
        InstitutionFinding(institution_id=second, position=9, rule="FEE_PERIOD", severity="VIOLATION", message="m", source="s",
                           record_type="InstitutionFunds", record_id=second, record_name="收费信息"),
    )
    assert await differences(sessionmaker) == []
    counts = await finding_counts(sessionmaker)
    assert counts[("440104", "NON_PROFIT", "WARNING")] == (1, 1) and counts[("440104", "FEE_PERIOD", "VIOLATION")] == (3, 2)
    # then: folding the differences keeps every count, and leaves none to fold
    async with sessionmaker() as db:
        await db.execute(sa.text("SELECT tally_compact()"))
        await db.commit()
        assert (await db.execute(sa.select(sa.func.count()).select_from(county_finding_delta))).scalar_one() == 0
    assert await finding_counts(sessionmaker) == counts
    assert await differences(sessionmaker) == []
    # when: findings change behind the triggers' back, the check names the county; a rebuild recounts
    async with sessionmaker() as db:
        await db.execute(sa.text("ALTER TABLE institution_finding DISABLE TRIGGER USER"))
        await db.execute(sa.delete(InstitutionFinding).where(InstitutionFinding.institution_id == second))
        await db.execute(sa.text("ALTER TABLE institution_finding ENABLE TRIGGER USER"))
        await db.commit()
    assert [d for d in await differences(sessionmaker) if d[0] == "county_finding_tally"] == [
        ("county_finding_tally", "440104 FEE_PERIOD VIOLATION"), ("county_finding_tally", "440104 NON_PROFIT WARNING"),
    ]
    async with sessionmaker() as db:
        await db.execute(sa.text("SELECT tally_rebuild()"))
        await db.commit()
    assert await differences(sessionmaker) == []
    assert ("440104", "NON_PROFIT", "WARNING") not in await finding_counts(sessionmaker)
