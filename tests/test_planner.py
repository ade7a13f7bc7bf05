"""The planned read path (schema.planner, docs/read-path.md) against normal execution.

Generated documents over everything the planner covers (hypothesis: the connection's and the
nodes' fields in any subset and order, aliases, the same field asked twice, inline and named
fragments, two list roots, every filter, page sizes in and out of bounds, real and broken
cursors, arguments inline or as variables) and, among them, fields it does not cover, are
sent twice by every viewer of the scope matrix: once with planned reads on and once with
them off (``XWPX_PLANNED_READS``). The two answers must be the same JSON, byte for byte
(data, errors, order); a document the planner covers, asked by a regulator and answered
without errors, must have been answered from its plan, and any other by normal execution.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import strategies as st

from auth.passwords import hash_password
from demo.accounts import seed_accounts
from models import Account, AccountKind, Application, Institution, InstitutionFunds, ListEntry, ListPeriod, Site, Staff
from models.database import create_engine, create_sessionmaker
from resolvers import findings
from schema.institutions.types import LIST_FIELDS
from schema.planner.institutions import NODE_FIELDS, InstitutionList
from tests.helpers import COMPLETE, ELIGIBLE, VIEWERS, app_in_a_thread, both_paths, check_generated, counted, insert_institutions, planned_count, signed_in

NOW = datetime(2026, 11, 20, 2, tzinfo=UTC)
EXAMPLES = 40
#: Regulators of every level (tests/helpers.VIEWERS), an institution's account, a sub-unit.
CALLERS = [*VIEWERS, "org-1"]

LEAVES = [
    "__typename", "id", "name", "creditCode", "address", "postalCode", "phone", "email", "kind", "mode", "nature", "version",
    "createdAt", "updatedAt", "inspectionStatus", "reviewStatus", "deregisteredAt", "overdue", "siteCount", "activeStaffCount",
]
OBJECTS = {
    "registrationProgress": ["__typename", "savedParts", "missingParts", "complete"],
    "registeringUnit": ["__typename", "id", "name", "level"],
    "legalRepresentative": ["__typename", "name", "idNumber", "phone"],
    "contactPerson": ["__typename", "name", "phone"],
    "standing": [
        "__typename", "licensed", "lawful", "compliant", "whiteListEligible", "blackListed", "deregistered", "licenceValidTo",
        "reasons { code }", "reasons { __typename code effect message source recordType recordId recordName }", "r: reasons { recordId message }",
    ],
}
#: Node fields the planner leaves to normal execution.
UNCOVERED = ["qualifications { status }", "county { code name }", "inspections(first: 1) { id }", "sites { id }", "facilities { teachingArea }"]
PAGE_INFO = ["__typename", "hasNextPage", "hasPreviousPage", "startCursor", "endCursor"]
FILTERS = {
    # Quotes, a comment, a placeholder and a backslash (which keeps the statement's parameters).
    "name": st.sampled_from(["4401", "SUBJECT", "  440106 ", "%", "_", "无此名", "it's", "a'' OR ''1", "--", "$1", "a\\b"]),
    "regionCode": st.sampled_from(["440106", "440100", "44", "420000", "999999", "4401061"]),
    "kind": st.sampled_from(["SUBJECT", "NON_SUBJECT"]),
    "mode": st.sampled_from(["ONLINE", "OFFLINE"]),
    "nature": st.sampled_from(["FOR_PROFIT", "NON_PROFIT"]),
    "complete": st.booleans(),
    "missingPart": st.sampled_from(["BASICS", "QUALIFICATIONS", "FACILITIES"]),
    "inspectionStatus": st.sampled_from(["NOT_INSPECTED", "RECTIFYING"]),
    "overdue": st.booleans(),
    "reviewStatus": st.sampled_from(["NOT_SUBMITTED", "APPROVED"]),
    "registeringUnitId": st.sampled_from(["UNIT", "not-an-id", "00000000-0000-0000-0000-000000000000"]),
}
ENUMS = {"kind", "mode", "nature", "missingPart", "inspectionStatus", "reviewStatus"}
#: Filled by the fixture: a real cursor of the list, and a registering unit's id.
KNOWN: dict[str, str] = {}


def _literal(name: str, value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if name in ENUMS:
        return value
    return json.dumps(value, ensure_ascii=False)


def _pick(draw, names: list[str], at_least: int = 1) -> list[str]:
    return draw(st.lists(st.sampled_from(names), min_size=at_least, max_size=len(names) + 1))


def _aliased(draw, field: str) -> str:
    alias = draw(st.sampled_from([None, None, None, "a", "b"]))
    return f"{alias}: {field}" if alias else field


@st.composite
def node_selection(draw) -> tuple[str, bool]:
    parts, covered = [], True
    for _ in range(draw(st.integers(1, 8))):
        choice = draw(st.sampled_from(["leaf", "leaf", "object", "object", "uncovered"]))
        if choice == "leaf":
            parts.append(_aliased(draw, draw(st.sampled_from(LEAVES))))
        elif choice == "object":
            name = draw(st.sampled_from(sorted(OBJECTS)))
            parts.append(_aliased(draw, f"{name} {{ {' '.join(_pick(draw, OBJECTS[name]))} }}"))
        elif draw(st.integers(0, 3)) == 0:
            parts.append(draw(st.sampled_from(UNCOVERED)))
            covered = False
    body = " ".join(parts)
    wrap = draw(st.sampled_from(["plain", "plain", "inline", "named"]))
    if wrap == "inline":
        body = f"... on Institution {{ {body} }} id"
    elif wrap == "named":
        body = "...N"
    return body, covered


@st.composite
def connection(draw) -> tuple[str, bool, bool]:
    """A connection's selection, whether the planner covers it, and whether it names the
    fragment ``N``."""
    parts, covered, named = [], True, False
    for field in draw(st.lists(st.sampled_from(["totalCount", "edges", "pageInfo", "__typename"]), min_size=1, max_size=4)):
        if field == "edges":
            edge = " ".join(draw(st.sampled_from([["node"], ["cursor", "node"], ["node", "cursor", "__typename"], ["cursor"]])))
            node, node_covered = draw(node_selection()) if "node" in edge else ("", True)
            named = named or node == "...N"
            covered = covered and node_covered
            parts.append(_aliased(draw, "edges { " + edge.replace("node", "node { " + node + " }") + " }"))
        elif field == "pageInfo":
            parts.append(_aliased(draw, f"pageInfo {{ {' '.join(_pick(draw, PAGE_INFO))} }}"))
        else:
            parts.append(_aliased(draw, field))
    return " ".join(parts), covered, named


@st.composite
def document(draw) -> tuple[str, dict, bool]:
    """(query, variables, covered)."""
    roots, definitions, variables, covered, named = [], [], {}, True, False
    for n in range(draw(st.sampled_from([1, 1, 1, 2]))):
        arguments = []
        filters = draw(st.dictionaries(st.sampled_from(sorted(FILTERS)), st.none(), max_size=draw(st.sampled_from([0, 0, 1, 2, 3]))))
        values = {name: draw(FILTERS[name]) for name in filters}
        values = {name: KNOWN["unit"] if value == "UNIT" else value for name, value in values.items()}
        first = draw(st.sampled_from(["absent", "absent", None, 0, 1, 2, 5, 50, 50, 100, 101, -1]))
        after = draw(st.sampled_from(["absent", "absent", "absent", None, "CURSOR", "bogus"]))
        after = KNOWN["cursor"] if after == "CURSOR" else after
        as_variables = draw(st.booleans())
        if values:
            if as_variables:
                definitions.append(f"$f{n}: InstitutionFilter")
                variables[f"f{n}"] = values
                arguments.append(f"filter: $f{n}")
            else:
                arguments.append("filter: { " + " ".join(f"{k}: {_literal(k, v)}" for k, v in values.items()) + " }")
        for name, value, graphql_type in (("first", first, "Int"), ("after", after, "String")):
            if value == "absent":
                continue
            if as_variables:
                definitions.append(f"${name}{n}: {graphql_type}")
                variables[f"{name}{n}"] = value
                arguments.append(f"{name}: ${name}{n}")
            else:
                arguments.append(f"{name}: {'null' if value is None else _literal(name, value)}")
        selection, root_covered, root_named = draw(connection())
        covered, named = covered and root_covered, named or root_named
        arguments_text = f"({', '.join(arguments)})" if arguments else ""
        roots.append(f"r{n}: institutions{arguments_text} {{ {selection} }}")
    if draw(st.booleans()):
        roots.insert(draw(st.integers(0, len(roots))), "__typename")
    query = f"query{'(' + ', '.join(definitions) + ')' if definitions else ''} {{ {' '.join(roots)} }}"
    if named:
        fragment, fragment_covered = draw(node_selection().filter(lambda s: s[0] != "...N"))
        query += f" fragment N on Institution {{ {fragment} }}"
        covered = covered and fragment_covered
    return query, variables, covered


async def _prepare(url: str) -> None:
    """The scope matrix's institutions, with what the nodes show varied: overdue, complete,
    self-registered, deregistered, with sites and staff, with the optional columns set, and
    every kind of standing (compliant, a licence expiring or expired, a compliance
    application pending, black-listed, open violations found by the rules)."""
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    await seed_accounts(sessionmaker)
    await insert_institutions(sessionmaker, {"edu-440106": 2, "edu-440106-01": 1, "edu-440104": 1, "edu-440304": 1, "edu-420102": 1})
    await insert_institutions(sessionmaker, {"edu-440106": 1, "edu-420102": 1}, kind="NON_SUBJECT", training_categories=["SPORTS", "ARTS"])
    await insert_institutions(sessionmaker, {"edu-440106": 1}, kind="NON_SUBJECT", mode="ONLINE", nature="FOR_PROFIT", training_categories=["ARTS"])
    await insert_institutions(sessionmaker, {"edu-440106": 1}, inspection_status="RECTIFYING", open_deadline=date(2026, 11, 1))
    await insert_institutions(sessionmaker, {"edu-440106": 1}, inspection_status="RECTIFYING", open_deadline=date(2026, 12, 1), review_status="APPROVED")
    await insert_institutions(sessionmaker, {"edu-440106": 1}, registering_unit_id=None, postal_code="510000", phone="020-12345678", email="a@example.cn")
    await insert_institutions(sessionmaker, {"edu-440104": 1}, deregistered_at=NOW - timedelta(days=3), **COMPLETE)
    await insert_institutions(sessionmaker, {"edu-440106": 1}, **COMPLETE, **ELIGIBLE)
    await insert_institutions(sessionmaker, {"edu-440304": 1}, **COMPLETE, **ELIGIBLE, nature="FOR_PROFIT")  # a violation (NON_PROFIT)
    expiring = await insert_institutions(sessionmaker, {"edu-440106": 1}, **{**ELIGIBLE, "licence_valid_to": date(2026, 12, 31), "review_status": "PENDING"})
    await insert_institutions(sessionmaker, {"edu-440104": 1, "edu-420102": 1}, **{**ELIGIBLE, "licence_valid_to": date(2026, 10, 1)})
    listed = await insert_institutions(sessionmaker, {"edu-440106-01": 1, "edu-440304": 1}, **ELIGIBLE)
    async with sessionmaker() as db:
        rows = (await db.execute(sa.select(Institution).order_by(Institution.name))).scalars().all()
        target = next(row for row in rows if row.region_code == "440104")
        db.add(Account(username="org-1", name="机构账号", kind=AccountKind.INSTITUTION, institution_id=target.id, password_hash=hash_password("Org#2026x"), must_change_password=False))
        for row in rows[:3]:
            db.add(Site(institution_id=row.id, type="SITE", name="办学点", address="地址", teaching_area=Decimal(500)))
            for n, status in enumerate(("ACTIVE", "ACTIVE", "DEPARTED")):
                db.add(Staff(institution_id=row.id, name=f"员工{n}", gender="FEMALE", id_number=f"1101051949123100{n:02d}", phone="13700137000", post="TEACHING",
                             employment="FULL_TIME", status=status, joined_on=date(2025, 1, 1)))
        by_name = {row.name: row for row in rows}
        pending = by_name[expiring["edu-440106"][0]]
        db.add(Application(
            institution_id=pending.id, type="COMPLIANCE", status="PENDING", authority_region_code="440106", authority_department="EDUCATION",
            authority_level="COUNTY", submitted_at=NOW - timedelta(days=2),
        ))
        period = ListPeriod(region_code="440000", kind="BLACK", number=1, title="广东省第1期黑名单", published_at=NOW - timedelta(days=10))
        db.add(period)
        await db.flush()
        for name in (listed["edu-440106-01"][0], listed["edu-440304"][0]):
            row = by_name[name]
            db.add(ListEntry(period_id=period.id, institution_id=row.id, name=row.name, credit_code=row.credit_code, county_code=row.region_code, address="地址", reason="虚假宣传"))
        # Findings on some (fees paid 6 months at a time: FEE_PERIOD), for the finding filters;
        # not on the institution whose standing is only pending and expiring.
        for row in rows[::3]:
            if row.id == pending.id:
                continue
            db.add(InstitutionFunds(institution_id=row.id, max_months_per_payment=6))
        await db.commit()
    await findings.refresh_all(sessionmaker)
    await engine.dispose()


@pytest.fixture(scope="module")
def client(pg_server_url, template_database):
    """(post, the app)."""
    with app_in_a_thread(
        pg_server_url, template_database, "xwpx_planner", _prepare,
        public_rate=(10**9, 10**9), clock=lambda: NOW, tally_compact_seconds=0, public_cache_seconds=0,
    ) as client:
        yield client


@pytest.fixture(scope="module")
def tokens(client) -> dict[str, dict]:
    post, _ = client
    headers = signed_in(post, CALLERS, {"org-1": "Org#2026x"})
    listed = post({"query": "{ institutions(first: 3) { edges { cursor node { registeringUnit { id } } } } }"}, headers["edu-000000"]).json()
    edges = listed["data"]["institutions"]["edges"]
    KNOWN["cursor"] = edges[1]["cursor"]
    KNOWN["unit"] = next(e["node"]["registeringUnit"]["id"] for e in edges if e["node"]["registeringUnit"])
    return headers


@pytest.mark.parametrize("username", CALLERS)
def test_generated_documents_answer_the_same_planned_or_not(client, tokens, username):
    # Every other viewer's plans are sent with their values written in (XWPX_PLANNED_LITERALS).
    _, app = client
    app.state.settings.planned_literals = CALLERS.index(username) % 2 == 0
    try:
        check_generated(client, tokens[username], username, document(), EXAMPLES)
    finally:
        app.state.settings.planned_literals = False


FULL_PAGE = """query($f: InstitutionFilter) { institutions(filter: $f, first: 50) { totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { id name creditCode kind mode nature overdue inspectionStatus reviewStatus createdAt updatedAt
    registrationProgress { savedParts missingParts complete } registeringUnit { id name level } siteCount activeStaffCount
    legalRepresentative { name idNumber phone } contactPerson { name phone } } } } }"""


@pytest.mark.parametrize("username", VIEWERS)
@pytest.mark.parametrize("f", [
    None, {"regionCode": "440106"}, {"overdue": True}, {"kind": "NON_SUBJECT", "complete": False},
    {"hasFindings": True}, {"hasFindings": False}, {"findingRules": ["CLASS_END_TIME", "NON_PROFIT"], "findingSeverity": "VIOLATION"},
    {"findingRules": []},
])
def test_the_list_page_of_every_viewer_answers_the_same(client, tokens, username, f):
    normal, planned, was_planned = both_paths(client, {"query": FULL_PAGE, "variables": {"f": f}}, tokens[username])
    assert planned == normal
    assert was_planned
    if f == {"hasFindings": True} and username == "edu-000000":
        # the filter selects some, not none nor all (12)
        assert 4 <= json.loads(normal)["data"]["institutions"]["totalCount"] < 12


STANDING = "standing { licensed lawful compliant whiteListEligible blackListed deregistered licenceValidTo reasons { code effect message source recordType recordId recordName } }"
STANDING_PAGE = FULL_PAGE.replace("contactPerson { name phone }", "contactPerson { name phone } " + STANDING)
#: The reasons each viewer's page holds (the fixture's institutions in its scope).
REASONS_SEEN = {
    "edu-000000": {
        "BLACK_LISTED", "COMPLIANCE_NOT_SUBMITTED", "COMPLIANCE_PENDING", "DEREGISTERED", "LICENCE_EXPIRED",
        "LICENCE_EXPIRING", "QUALIFICATIONS_MISSING", "VIOLATIONS",
    },
    "edu-440304": {"BLACK_LISTED", "COMPLIANCE_NOT_SUBMITTED", "QUALIFICATIONS_MISSING", "VIOLATIONS"},
}


@pytest.mark.parametrize("username", VIEWERS)
@pytest.mark.parametrize("f", [None, {"compliant": True}, {"lawful": False}, {"blackListed": True}, {"standingReason": "LICENCE_EXPIRED"}])
def test_the_page_with_standing_of_every_viewer_answers_the_same(client, tokens, username, f):
    """The standing's fields are planned (the page's own statement reads them, built by
    ``resolvers.standing.standing_of`` as normal execution builds them) and answer the same,
    byte for byte, for every viewer of the scope matrix and the standing's filters."""
    normal, planned, was_planned = both_paths(client, {"query": STANDING_PAGE, "variables": {"f": f}}, tokens[username])
    assert planned == normal
    assert was_planned
    edges = json.loads(planned)["data"]["institutions"]["edges"]
    if f == {"blackListed": True}:
        assert all(e["node"]["standing"]["blackListed"] and not e["node"]["standing"]["lawful"] for e in edges)
    if f is None and username in REASONS_SEEN:
        assert {r["code"] for e in edges for r in e["node"]["standing"]["reasons"]} == REASONS_SEEN[username]


def test_the_standing_seen_by_a_county_is_exact(client, tokens):
    """What edu-440106 sees of the standing, planned: its 11 institutions, the black-listed one
    of its sub-unit, the compliant one, the expiring licence with its pending application."""
    post, _ = client
    query = "{ institutions(first: 50) { edges { node { name " + STANDING + " } } } }"
    nodes = [e["node"] for e in post({"query": query}, tokens["edu-440106"]).json()["data"]["institutions"]["edges"]]
    assert len(nodes) == 11
    compliant = [n for n in nodes if n["standing"]["compliant"]]
    assert [(n["standing"]["licenceValidTo"], n["standing"]["whiteListEligible"]) for n in compliant] == [("2027-12-31", True)]
    black = [n for n in nodes if n["standing"]["blackListed"]]
    assert [[(r["code"], r["recordType"], r["message"]) for r in n["standing"]["reasons"] if r["code"] == "BLACK_LISTED"] for n in black] == [
        [("BLACK_LISTED", "ListPeriod", "列入广东省第1期黑名单：虚假宣传")]
    ]
    expiring = [n for n in nodes if any(r["code"] == "LICENCE_EXPIRING" for r in n["standing"]["reasons"])]
    assert [[(r["code"], r["recordType"]) for r in n["standing"]["reasons"]] for n in expiring] == [
        [("COMPLIANCE_PENDING", "Application"), ("LICENCE_EXPIRING", "Institution")]
    ]


#: (body, whether the plan answers it).
ODD = [
    ({"query": FULL_PAGE, "variables": "x"}, False),
    ({"query": FULL_PAGE, "variables": [1]}, False),
    ({"query": FULL_PAGE, "variables": {"f": "not an object"}}, False),
    ({"query": FULL_PAGE, "variables": {"f": {"name": "a\u0000b"}}}, False),
    ({"query": FULL_PAGE, "variables": {"f": {"regionCode": "4401060"}}}, True),
    ({"query": FULL_PAGE, "variables": {"f": None, "unused": "育" * 100_000}}, True),
    ({"query": FULL_PAGE, "operationName": "Other"}, False),
    ({"query": "query A { institutions { totalCount } } query B { institutions { totalCount } }"}, False),
    ({"query": "query A { institutions { totalCount } } query B { institutions { totalCount } }", "operationName": "B"}, True),
    ({"query": "{ institutions(first: 1) { totalCount } }", "operationName": 7}, False),
    ({"query": "{ institutions(first: 1) { totalCount edges { node { name @include(if: true) } } } }"}, False),
    ({"query": "{ institutions(first: 1) { totalCount } } # a comment: \u0000"}, True),
    ({"query": "{ institutions(first: 1) { totalCount }"}, False),
    ({"query": ["not a string"]}, False),
    ({"query": "mutation { noSuchMutation }"}, False),
    ({"query": "subscription { x }"}, False),
]


@pytest.mark.parametrize(("body", "covered"), ODD, ids=range(len(ODD)))
def test_odd_requests_answer_the_same_planned_or_not(client, tokens, body, covered):
    """Bodies that normal execution refuses, answers with errors, or answers with what the
    planner does not cover (a directive), are answered exactly as it answers them (the
    status, the content type, the bytes); the plan answers only the ones it covers."""
    normal, planned, was_planned = both_paths(client, body, tokens["edu-440106"])
    assert planned == normal
    assert was_planned == covered, normal[:300]


def test_a_planned_page_is_one_statement_after_the_session(client, tokens):
    """The session's read, then the page with its total: two statements in all, on one
    connection checked out once (the session's idle time is not written again within the
    minute; nothing read unmasked is written to the audit trail)."""
    body = {"query": FULL_PAGE.replace(" idNumber", ""), "variables": {"f": None}}  # no unmasked read to audit
    checkouts: list = []
    answer, statements, planned = counted(client, body, tokens["edu-440106"], checkouts=checkouts)
    assert planned
    assert answer["data"]["institutions"]["totalCount"] == 11
    assert len(statements) == 2, statements
    assert len(checkouts) == 1
    assert "session" in statements[0].lower() and statements[1].lstrip().upper().startswith("SELECT")


@pytest.mark.parametrize("size", [5, 50])
def test_a_planned_page_with_standing_is_one_statement_after_the_session(client, tokens, size):
    """The standing adds no statement to a planned page, whatever its size: the session's
    read, then the page with its rows' standing and the total."""
    body = {"query": STANDING_PAGE.replace(" idNumber", "").replace("first: 50", f"first: {size}"), "variables": {"f": None}}
    answer, statements, planned = counted(client, body, tokens["edu-440000"])
    assert planned
    assert len(answer["data"]["institutions"]["edges"]) == min(size, 17)
    assert len(statements) == 2, statements
    assert "session" in statements[0].lower() and "standing_codes" in statements[1]


#: A selection of each node field a page without the form's details plans.
LIST_NODE_SELECTIONS = {
    "registrationProgress": "registrationProgress { savedParts missingParts complete }",
    "registeringUnit": "registeringUnit { id name level }",
    "standing": STANDING,
}


@pytest.mark.parametrize("field", sorted(LIST_FIELDS & NODE_FIELDS))
def test_each_field_of_a_page_without_details_is_planned_alike(client, tokens, field):
    """A page whose node asks for one field (and its cursor) reads the institution's columns
    that field reads and no more (``_READS``): planned, and the same bytes as normal execution."""
    selection = LIST_NODE_SELECTIONS.get(field, field)
    body = {"query": f"{{ institutions(first: 50) {{ edges {{ cursor node {{ {selection} }} }} }} }}"}
    normal, planned, was_planned = both_paths(client, body, tokens["edu-000000"])
    assert planned == normal
    assert was_planned, normal[:300]


def test_a_plan_that_fails_is_answered_by_normal_execution_and_counted(client, tokens, monkeypatch):
    """A plan that raises while it runs (a bug: here its run made to fail) leaves the
    request to normal execution, which answers it exactly, and is counted as ``failed`` on
    ``/metrics``, not as planned."""
    body = {"query": FULL_PAGE.replace(" idNumber", ""), "variables": {"f": None}}
    normal, _, was_planned = both_paths(client, body, tokens["edu-440106"])
    assert was_planned

    async def broken(self, context, arguments, connection):
        raise RuntimeError("a bug of the plan")

    monkeypatch.setattr(InstitutionList, "run", broken)
    post, _ = client
    failed, planned = planned_count("failed"), planned_count()
    answer = post(body, tokens["edu-440106"])
    assert answer.content == normal
    assert (planned_count("failed"), planned_count()) == (failed + 1, planned)


def test_personal_data_read_unmasked_is_audited_alike(client, tokens):
    """The county desk reads ID numbers in full, and each read is recorded once per
    institution, planned or not; every other regulator reads them masked, unrecorded."""
    post, app = client
    query = "{ institutions(first: 3) { edges { node { id legalRepresentative { idNumber } } } } }"
    audit = "{ auditRecords(first: 1) { totalCount } }"

    def records() -> int:
        return post({"query": audit}, tokens["edu-000000"]).json()["data"]["auditRecords"]["totalCount"]

    for username, recorded in (("edu-440106", 3), ("edu-440000", 0)):
        start = records()
        app.state.settings.planned_reads = False
        try:
            normal = post({"query": query}, tokens[username]).json()
        finally:
            app.state.settings.planned_reads = True
        middle = records()
        planned = post({"query": query}, tokens[username]).json()
        assert planned == normal
        assert (middle - start, records() - middle) == (recorded, recorded), username
        shown = {e["node"]["legalRepresentative"]["idNumber"] for e in planned["data"]["institutions"]["edges"]}
        assert shown == ({"11010519491231002X"} if recorded else {"110***********002X"}), shown


@pytest.mark.parametrize("literals", [True, False])
@pytest.mark.parametrize(("name", "inlined"), [(None, True), ("it's -- $1 \"x\"", True), ("a\\b", False)])
def test_a_planned_page_is_sent_with_its_values_in_its_text(client, tokens, name, inlined, literals):
    """With ``XWPX_PLANNED_LITERALS`` the page's statement is sent without parameters
    (planned once per connection, ``resolvers.planner.statements.inline``), quotes, comments
    and placeholders in a filter included, and answers as normal execution does; a backslash
    keeps the parameters, and so does the default."""
    _, app = client
    inlined = inlined and literals
    body = {"query": STANDING_PAGE.replace(" idNumber", ""), "variables": {"f": None if name is None else {"name": name}}}
    sent: list = []
    app.state.settings.planned_literals = literals
    try:
        answer, statements, planned = counted(client, body, tokens["edu-440000"], sent)
        normal, again, _ = both_paths(client, body, tokens["edu-440000"])
    finally:
        app.state.settings.planned_literals = False
    # The page, and for a page that comes back empty the total, each sent as said.
    edges = answer["data"]["institutions"]["edges"]
    assert planned and len(statements) == (2 if edges else 3)
    assert [not s for s in sent[1:]] == [inlined] * (len(sent) - 1), sent[1:]
    assert again == normal
    assert json.loads(normal)["data"] == answer["data"]
    assert answer["data"]["institutions"]["totalCount"] == (17 if name is None else 0)


def test_values_are_written_as_literals_of_the_same_meaning():
    from resolvers.planner.statements import NotInlined, inline

    sql = "SELECT $1::VARCHAR, '$2 ''$3''', \"$4\", $2, a - $3, $4::DATE, $5, $6::VARCHAR[], $7, $8::BOOLEAN, $9, $10"
    values = ["it's", 5, -3, date(2026, 1, 2), timedelta(days=90, seconds=1), ["a", "b'c"], datetime(2026, 1, 1, tzinfo=UTC), True, None, Decimal("-1.5")]
    assert inline(sql, values) == (
        "SELECT 'it''s'::VARCHAR, '$2 ''$3''', \"$4\", 5, a - (-3), '2026-01-02'::DATE, '90 days 1 seconds 0 microseconds'::interval, "
        "ARRAY['a', 'b''c']::VARCHAR[], '2026-01-01T00:00:00+00:00'::timestamptz, true::BOOLEAN, NULL, (-1.5)"
    )
    for value, sql in [("a\\b", "$1"), ("a\x00b", "$1"), ([], "$1::VARCHAR[]"), (["a"], "$1"), (float("nan"), "$1"), (b"x", "$1"), ({"a": 1}, "$1")]:
        with pytest.raises(NotInlined):
            inline(sql, [value])


def test_an_object_is_written_by_one_compiled_function():
    """``_object`` writes the document's keys in its order: ``__typename`` a constant, a
    column in place (as it is, or through its writer), any other part called with the row
    and the state; a column that is not a Python name is refused."""
    from types import SimpleNamespace

    from schema.planner.document import Selected
    from schema.planner.institutions import Column, _object

    selected = [Selected(key, name, []) for key, name in (("b", "name"), ("__typename", "__typename"), ("a", "name"), ("n", "count"), ("x", "other"))]
    build = _object(None, "Thing", selected, {"name": Column("name"), "count": Column("count", str), "other": lambda row, state: (row.count, state)})
    assert list(build(SimpleNamespace(name="名", count=3), "s").items()) == [("b", "名"), ("__typename", "Thing"), ("a", "名"), ("n", "3"), ("x", (3, "s"))]
    with pytest.raises(ValueError):
        Column("name) or (1")
