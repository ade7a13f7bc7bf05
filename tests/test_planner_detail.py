"""The planned institution detail (``institution(id)``: schema.planner.detail) against normal
execution.

Generated documents over what the detail plan covers — the institution's own fields, its
sites, their courses, the courses' classes with schedule and teachers, in any subset and
order, with aliases, the same list asked twice, fragments, two roots — and, among them,
fields it does not cover, are sent by every viewer of the scope matrix for institutions in
and out of its scope (and ids that name none): planned reads off, then on. The two answers
must be the same JSON, byte for byte; a covered document asked by a regulator and answered
without errors must have been answered from its plan, any other by normal execution.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import strategies as st

from auth.passwords import hash_password
from demo.accounts import seed_accounts
from models import Account, AccountKind, Course, Institution, Site, Staff, TrainingClass
from models.database import create_engine, create_sessionmaker
from tests.helpers import VIEWERS, app_in_a_thread, both_paths, check_generated, counted, insert_institutions, signed_in

NOW = datetime(2026, 11, 20, 2, tzinfo=UTC)
EXAMPLES = 30
CALLERS = [*VIEWERS, "org-1"]

INSTITUTION = [
    "__typename", "id", "name", "creditCode", "kind", "mode", "nature", "version", "inspectionStatus", "reviewStatus", "overdue",
    "registrationProgress { complete missingParts }", "legalRepresentative { name idNumber phone }", "contactPerson { phone }",
]
SITE = ["__typename", "id", "type", "name", "address", "teachingArea", "systemType", "url", "icpFiling", "version"]
COURSE = ["__typename", "id", "name", "category", "subject", "grades", "classHours", "description", "version"]
CLASS = [
    "__typename", "id", "name", "startsOn", "endsOn", "capacity", "enrolled", "fee", "feeMonths", "feeClassHours", "lessonMinutes",
    "breakMinutes", "filingStatus", "version", "schedule { weekday start end }", "schedule { __typename start }",
]
TEACHER = ["__typename", "id", "name", "gender", "post", "employment", "subjects", "yearsInEducation", "status", "joinedOn", "departedOn", "version", "updatedAt"]
#: Fields under each level that the plan leaves to normal execution.
UNCOVERED = {
    "institution": ["standing { lawful }", "siteCount", "staff { name }", "findings { rule }"],
    "site": ["findings { rule }"],
    "course": [],
    "class": ["findings { rule }"],
    "teacher": ["phone", "idNumber", "teacherCertificateNumber"],
}
#: Filled by the fixture: institution ids by their name's county, and one that is none.
IDS: dict[str, list[str]] = {}


def _alias(draw, text: str) -> str:
    alias = draw(st.sampled_from([None, None, None, "a", "b"]))
    return f"{alias}: {text}" if alias else text


@st.composite
def level(draw, name: str, depth: int = 0) -> tuple[str, bool]:
    """A selection of one level (and the levels under it), and whether the plan covers it."""
    leaves = {"institution": INSTITUTION, "site": SITE, "course": COURSE, "class": CLASS, "teacher": TEACHER}[name]
    below = {"institution": ("sites", "site"), "site": ("courses", "course"), "course": ("classes", "class"), "class": ("teachers", "teacher")}.get(name)
    parts, covered = [], True
    for _ in range(draw(st.integers(1, 5))):
        choice = draw(st.sampled_from(["leaf", "leaf", "below", "below", "uncovered"]))
        if choice == "leaf" or (choice == "below" and below is None):
            parts.append(_alias(draw, draw(st.sampled_from(leaves))))
        elif choice == "below":
            inner, inner_covered = draw(level(below[1], depth + 1))
            parts.append(_alias(draw, f"{below[0]} {{ {inner} }}"))
            covered = covered and inner_covered
        elif UNCOVERED[name] and draw(st.integers(0, 2)) == 0:
            parts.append(draw(st.sampled_from(UNCOVERED[name])))
            covered = False
    body = " ".join(parts) or draw(st.sampled_from(leaves))
    if name == "institution" and draw(st.integers(0, 3)) == 0:
        body = f"... on Institution {{ {body} }} id"
    return body, covered


@st.composite
def document(draw) -> tuple[str, dict, bool]:
    roots, definitions, variables, covered = [], [], {}, True
    for n in range(draw(st.sampled_from([1, 1, 1, 2]))):
        which = draw(st.sampled_from(["440106", "440106", "440104", "420102", "440304", "none", "malformed"]))
        value = {"none": str(uuid.UUID(int=n + 1)), "malformed": "not-an-id"}.get(which) or draw(st.sampled_from(IDS[which]))
        if draw(st.booleans()):
            definitions.append(f"$id{n}: ID!")
            variables[f"id{n}"] = value
            argument = f"$id{n}"
        else:
            argument = json.dumps(value)
        selection, root_covered = draw(level("institution"))
        covered = covered and root_covered
        roots.append(f"r{n}: institution(id: {argument}) {{ {selection} }}")
    if draw(st.booleans()):
        roots.append("__typename")
    return f"query{'(' + ', '.join(definitions) + ')' if definitions else ''} {{ {' '.join(roots)} }}", variables, covered


async def _prepare(url: str) -> None:
    """Institutions of four counties, each with sites (offline and online; two of the same
    name), courses and classes with schedules and teachers: active, departed, another
    institution's (of another county) and one that is no longer on record."""
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    await seed_accounts(sessionmaker)
    await insert_institutions(sessionmaker, {"edu-440106": 2, "edu-440106-01": 1, "edu-440104": 1, "edu-440304": 1, "edu-420102": 1})
    await insert_institutions(sessionmaker, {"edu-440106": 1}, kind="NON_SUBJECT", mode="ONLINE", training_categories=["ARTS"])
    async with sessionmaker() as db:
        rows = (await db.execute(sa.select(Institution).order_by(Institution.name))).scalars().all()
        db.add(Account(username="org-1", name="机构账号", kind=AccountKind.INSTITUTION, institution_id=rows[0].id, password_hash=hash_password("Org#2026x"), must_change_password=False))
        staff: dict[uuid.UUID, list[uuid.UUID]] = {}
        for row in rows:
            people = []
            for n, (status, certificate) in enumerate((("ACTIVE", "T1"), ("ACTIVE", None), ("DEPARTED", "T2"))):
                person = Staff(
                    institution_id=row.id, name=f"教师{n}", gender="FEMALE" if n else "MALE", id_number=f"1101051949123100{n:02d}", phone="13700137000",
                    post="TEACHING", employment="FULL_TIME" if n else "PART_TIME", status=status, joined_on=date(2025, 1, 1),
                    departed_on=date(2026, 6, 1) if status == "DEPARTED" else None, teacher_certificate_number=certificate,
                    subjects=["MATHEMATICS"] if n == 0 else [], years_in_education=n or None,
                )
                db.add(person)
                await db.flush()
                people.append(person.id)
            staff[row.id] = people
        for i, row in enumerate(rows):
            other = staff[rows[(i + 3) % len(rows)].id][0]
            online = row.mode == "ONLINE"
            for s, name in enumerate(("办学点甲", "办学点甲", "办学点乙")[: 1 + i % 3]):
                site = Site(
                    institution_id=row.id, type="BUSINESS_SYSTEM" if online else "SITE", name=name,
                    address=None if online else f"地址{s}", teaching_area=None if online else Decimal("120.50"),
                    system_type="APP" if online else None, url="https://example.cn" if online else None, icp_filing="粤ICP备0001号" if online else None,
                )
                db.add(site)
                await db.flush()
                for c in range(s % 2 + 1):
                    course = Course(
                        institution_id=row.id, site_id=site.id, name=f"课程{c}", category="SUBJECT" if c == 0 else "ARTS",
                        subject="MATHEMATICS" if c == 0 else None, grades=["PRIMARY", "JUNIOR_SECONDARY"] if c == 0 else [], class_hours=10 + c,
                        description=None if c else "简介",
                    )
                    db.add(course)
                    await db.flush()
                    for k in range(2 - c):
                        db.add(TrainingClass(
                            institution_id=row.id, course_id=course.id, name=f"班级{k}",
                            schedule=[{"weekday": 6, "start": "09:00", "end": "10:30"}, {"weekday": 1 + k, "start": "18:00", "end": "19:00"}][: k + 1],
                            starts_on=date(2026, 9, 1), ends_on=date(2026, 12, 31), capacity=10 + k, enrolled=k, fee=Decimal("1200.00"),
                            fee_months=3 if k == 0 else None, fee_class_hours=None if k == 0 else 20, lesson_minutes=45 if online else None,
                            break_minutes=10 if online else None, filing_status="FILED" if k == 0 else "NOT_REQUIRED",
                            teacher_ids=[staff[row.id][0], staff[row.id][2], other, uuid.UUID(int=7), staff[row.id][1]][: 2 + k * 3],
                        ))
        await db.commit()
    async with sessionmaker() as db:
        for row in (await db.execute(sa.select(Institution.id, Institution.region_code).order_by(Institution.name))).all():
            IDS.setdefault(row.region_code, []).append(str(row.id))
    await engine.dispose()


@pytest.fixture(scope="module")
def client(pg_server_url, template_database):
    with app_in_a_thread(pg_server_url, template_database, "xwpx_detail", _prepare, public_rate=(10**9, 10**9), clock=lambda: NOW, public_cache_seconds=0) as client:
        yield client


@pytest.fixture(scope="module")
def tokens(client) -> dict[str, dict]:
    post, _ = client
    headers = signed_in(post, CALLERS, {"org-1": "Org#2026x"})
    return headers


@pytest.mark.parametrize("username", CALLERS)
def test_generated_details_answer_the_same_planned_or_not(client, tokens, username):
    check_generated(client, tokens[username], username, document(), EXAMPLES)


DETAIL = """query($id: ID!) { institution(id: $id) { name sites { name courses { name classes { name schedule { weekday start end } teachers { name } } } } } }"""


@pytest.mark.parametrize("username", VIEWERS)
def test_the_detail_of_every_institution_answers_the_same(client, tokens, username):
    """bench/national.py's detail, for every institution, by every viewer: planned, the same
    bytes as normal execution; null out of scope."""
    for county, ids in sorted(IDS.items()):
        for institution in ids:
            normal, planned, was_planned = both_paths(client, {"query": DETAIL, "variables": {"id": institution}}, tokens[username])
            assert planned == normal
            assert was_planned


def test_the_detail_is_one_statement_per_level(client, tokens):
    """The session's read, then the institution, its sites, their courses, the courses'
    classes and the classes' teachers: one statement each, whatever their number; the
    teachers in each class's order, those gone or out of scope left out."""
    # The fourth of 440106 by name: three sites, its classes' other teacher one of 440104.
    institution = IDS["440106"][3]
    answer, statements, planned = counted(client, {"query": DETAIL, "variables": {"id": institution}}, tokens["edu-440106"])
    assert planned
    assert len(statements) == 6, statements
    assert "auth_session" in statements[0]
    assert [s.split(".", 1)[0] for s in statements[1:]] == ["SELECT institution", "SELECT site", "SELECT course", "SELECT training_class", "SELECT staff"]
    sites = answer["data"]["institution"]["sites"]
    assert [s["name"] for s in sites] == ["办学点乙", "办学点甲", "办学点甲"]  # by code point
    # The two sites of the same name in the order of their ids, which are random.
    assert sorted([c["name"] for c in s["courses"]] for s in sites) == [["课程0"], ["课程0"], ["课程0", "课程1"]]
    first = next(s for s in sites if len(s["courses"]) == 2)["courses"][0]["classes"]
    assert [(k["name"], k["schedule"], [t["name"] for t in k["teachers"]]) for k in first] == [
        ("班级0", [{"weekday": 6, "start": "09:00", "end": "10:30"}], ["教师0", "教师2"]),
        ("班级1", [{"weekday": 6, "start": "09:00", "end": "10:30"}, {"weekday": 2, "start": "18:00", "end": "19:00"}], ["教师0", "教师2", "教师1"]),
    ]
    # Out of the county's scope, or no institution at all: null, after the one statement.
    for other in (IDS["420102"][0], str(uuid.UUID(int=1))):
        answer, statements, planned = counted(client, {"query": DETAIL, "variables": {"id": other}}, tokens["edu-440106"])
        assert planned and answer == {"data": {"institution": None}}
        assert len(statements) == 2, statements


def test_personal_data_read_unmasked_in_a_detail_is_audited_alike(client, tokens):
    """The county desk reads the legal representative's ID number in full, recorded once,
    planned or not; the province reads it masked, unrecorded."""
    post, app = client
    query = "query($id: ID!) { institution(id: $id) { id legalRepresentative { idNumber } sites { name } } }"
    variables = {"id": IDS["440106"][1]}

    def records() -> int:
        return post({"query": "{ auditRecords(first: 1) { totalCount } }"}, tokens["edu-000000"]).json()["data"]["auditRecords"]["totalCount"]

    for username, recorded, shown in (("edu-440106", 1, "11010519491231002X"), ("edu-440000", 0, "110***********002X")):
        start = records()
        app.state.settings.planned_reads = False
        try:
            normal = post({"query": query, "variables": variables}, tokens[username]).json()
        finally:
            app.state.settings.planned_reads = True
        middle = records()
        planned = post({"query": query, "variables": variables}, tokens[username]).json()
        assert planned == normal
        assert (middle - start, records() - middle) == (recorded, recorded), username
        assert planned["data"]["institution"]["legalRepresentative"]["idNumber"] == shown
