"""Generated queries and mutations (hypothesis-graphql) for an anonymous caller, an
institution account and regulators of two levels: no response is a 500, none carries a
stack trace or an unexpected (masked) error, and none contains a record outside the
viewer's scope (an institution of 湖北 with staff, a site, course, class, material,
application, inspection and complaint, none of which any of these viewers may read: their
ids and personal data must never appear). Beside them, what the generator does not reach:
its queries with selection sets moved into fragments spread several times, fragment bombs,
introspection aliased at every level and large lists of representations, each answered or
refused by the limits fast. A bounded number of examples runs in the suite (derandomised,
so CI is repeatable); the longer campaign is the same test with more random examples:

    XWPX_FUZZ_EXAMPLES=2000 python -m pytest tests/test_fuzz.py
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import graphql
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, queries

from auth.passwords import hash_password
from demo.accounts import DEMO_PASSWORD, seed_accounts
from models import Account, AccountKind, Application, Complaint, Course, Inspection, Institution, Material, Site, Staff, TrainingClass
from models.database import create_engine, create_sessionmaker
from schema.root import schema
from tests.helpers import app_in_a_thread, insert_institutions, server_ms

CAMPAIGN = int(os.environ.get("XWPX_FUZZ_EXAMPLES", "0"))
EXAMPLES = CAMPAIGN or 25
GRAPHQL_SCHEMA = schema._schema
_string = lambda value: st.just(graphql.language.StringValueNode(value=value))  # noqa: E731
CUSTOM_SCALARS = {
    "Date": st.sampled_from(["2026-11-20", "1900-01-01", "2999-12-31"]).flatmap(_string),
    "DateTime": _string("2026-11-20T09:00:00+00:00"),
    "Decimal": st.sampled_from(["0", "12.5", "-1", "1e30", "99999999.99"]).flatmap(_string),
    "JSON": _string("{}"),
    "_Any": st.just(graphql.language.ObjectValueNode(fields=())),
}
QUERY_FIELDS = [name for name in GRAPHQL_SCHEMA.query_type.fields if name not in ("_entities", "_service")]
MUTATION_FIELDS = [name for name in GRAPHQL_SCHEMA.mutation_type.fields if name not in ("importInstitutions", "uploadInstitutionDocument", "logout")]


#: Ids and personal data of the out-of-scope records (filled by _prepare).
OUTSIDE: list[str] = []
OUTSIDE_ID_NUMBER = "420102198805050018"
OUTSIDE_MOBILE = "13712345678"


async def _prepare(url: str) -> None:



    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    await seed_accounts(sessionmaker)
    inside = await insert_institutions(sessionmaker, {"edu-440106": 1})
    outside = await insert_institutions(sessionmaker, {"edu-420102": 1})
    now = datetime(2026, 11, 20, tzinfo=UTC)
    async with sessionmaker() as db:
        own = (await db.execute(sa.select(Institution).where(Institution.name == inside["edu-440106"][0]))).scalar_one()
        db.add(Account(username="org-1", name="机构", kind=AccountKind.INSTITUTION, institution_id=own.id, password_hash=hash_password("Org#2026x"), must_change_password=False))
        far = (await db.execute(sa.select(Institution).where(Institution.name == outside["edu-420102"][0]))).scalar_one()
        far.legal_rep_id_number, far.legal_rep_phone, far.contact_phone = OUTSIDE_ID_NUMBER, OUTSIDE_MOBILE, OUTSIDE_MOBILE
        staff = Staff(institution_id=far.id, name="越界教师", gender="MALE", id_number=OUTSIDE_ID_NUMBER, phone=OUTSIDE_MOBILE, post="TEACHING",
                      employment="FULL_TIME", subjects=[], joined_on=date(2025, 1, 1))
        site = Site(institution_id=far.id, type="SITE", name="越界校区", address="地址", teaching_area=Decimal(100))
        db.add_all([staff, site])
        await db.flush()
        course = Course(institution_id=far.id, site_id=site.id, name="越界课程", category="ARTS", grades=["PRIMARY"], class_hours=10)
        db.add(course)
        await db.flush()
        records = [
            staff, site, course,
            TrainingClass(institution_id=far.id, course_id=course.id, name="越界班级", schedule=[], starts_on=date(2026, 9, 1),
                          ends_on=date(2026, 12, 1), capacity=10, fee=Decimal(1), fee_months=1, teacher_ids=[staff.id]),
            Material(institution_id=far.id, name="越界材料", category="ARTS", type="HANDOUT", author="作者", author_years_in_education=5),
            Application(institution_id=far.id, type="LICENCE", statement="越界申请", authority_region_code="420102", authority_department="EDUCATION",
                        authority_level="COUNTY", submitted_at=now),
            Inspection(institution_id=far.id, inspected_on=date(2026, 11, 1), inspecting_unit="江岸区教育局", result="越界排查", problems=[],
                       recorded_by=far.registering_unit_id),
            Complaint(tracking_number="TS20261120OUTSIDE", complainant_name="越界投诉人", complainant_mobile=OUTSIDE_MOBILE, target_type="OTHER",
                      complaint_type="OTHER", county_code="420102", target_name="越界", content="越界", status="SUBMITTED", submitted_at=now,
                      client_bucket="127.0.0.1"),
        ]
        db.add_all(records[3:])
        await db.flush()
        OUTSIDE[:] = [str(r.id) for r in records] + [OUTSIDE_ID_NUMBER, OUTSIDE_MOBILE, "越界投诉人"]
        await db.commit()
    await engine.dispose()


@pytest.fixture(scope="module")
def client(pg_server_url, template_database):
    # The campaign sends thousands of anonymous requests.
    with app_in_a_thread(pg_server_url, template_database, "xwpx_fuzz", _prepare, public_rate=(10**9, 10**9)) as (post, _):
        yield post


def _token(post, username: str | None) -> dict:
    if username is None:
        return {}
    password = "Org#2026x" if username == "org-1" else DEMO_PASSWORD
    response = post({"query": 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', "variables": {"u": username, "p": password}}, {})
    return {"Authorization": f"Bearer {response.json()['data']['login']['token']}"}


def _check(response) -> None:
    assert response.status_code < 500, response.text
    leaked = [marker for marker in OUTSIDE if marker in response.text]
    assert not leaked, (leaked, response.text)
    assert "Traceback" not in response.text and 'File "' not in response.text
    if response.headers.get("content-type", "").startswith("application/json"):
        body = json.loads(response.text)
        messages = [e.get("message", "") for e in body.get("errors", []) or []] if isinstance(body, dict) else []
        assert "Unexpected error." not in messages, response.text


@pytest.mark.parametrize("username", [None, "org-1", "edu-440106", "edu-440000"])
def test_generated_queries_and_mutations_never_fail_the_server(client, username):
    headers = _token(client, username)
    strategy = st.one_of(
        queries(GRAPHQL_SCHEMA, fields=QUERY_FIELDS, custom_scalars=CUSTOM_SCALARS),
        mutations(GRAPHQL_SCHEMA, fields=MUTATION_FIELDS, custom_scalars=CUSTOM_SCALARS),
    )

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=not CAMPAIGN)
    @given(strategy)
    def run(query: str) -> None:
        _check(client({"query": query}, headers))

    run()


def test_the_out_of_scope_markers_are_real_records(client):
    """The ministry sees the 湖北 records: the markers the fuzzing looks for do exist."""
    headers = _token(client, "edu-000000")
    response = client({"query": "{ applications(first: 50) { edges { node { id } } } complaints(first: 50) { edges { node { id } } } }"}, headers)
    assert OUTSIDE and sum(marker in response.text for marker in OUTSIDE) == 2


# --- what the generated queries do not reach: fragments, introspection, representations --


@st.composite
def with_fragments(draw, graphql_schema=GRAPHQL_SCHEMA):
    """A generated query whose selection sets are moved, some of them, into fragments that
    are spread once or several times, directly or through aliases (a fragment bomb is one
    of these, and its cost must be counted linearly)."""
    query = draw(queries(graphql_schema, fields=[f for f in QUERY_FIELDS if f in ("regions", "region", "publicInstitutions", "institutions", "regulatorAccounts", "myInstitution")], custom_scalars=CUSTOM_SCALARS))
    document = graphql.parse(query)
    fragments: list[graphql.language.FragmentDefinitionNode] = []
    type_info = graphql.TypeInfo(graphql_schema)

    class Move(graphql.language.Visitor):
        def leave_field(self, node, *_):
            named = graphql.get_named_type(type_info.get_type())
            if node.selection_set is None or named is None or not draw(st.booleans()):
                return None
            name = f"F{len(fragments)}"
            fragments.append(graphql.language.FragmentDefinitionNode(
                name=graphql.language.NameNode(value=name),
                type_condition=graphql.language.NamedTypeNode(name=graphql.language.NameNode(value=named.name)),
                selection_set=node.selection_set,
            ))
            spreads = draw(st.integers(1, 3))
            spread = graphql.language.FragmentSpreadNode(name=graphql.language.NameNode(value=name))
            return graphql.language.FieldNode(
                alias=node.alias, name=node.name, arguments=node.arguments, directives=node.directives,
                selection_set=graphql.language.SelectionSetNode(selections=(spread,) * spreads),
            )

    document = graphql.visit(document, graphql.TypeInfoVisitor(type_info, Move()))
    document = graphql.language.DocumentNode(definitions=(*document.definitions, *fragments))
    return graphql.print_ast(document)


@st.composite
def fragment_bombs(draw):
    levels, spreads = draw(st.integers(1, 40)), draw(st.integers(1, 3))
    field = draw(st.sampled_from(["", "parent", "children"]))

    def spread(i: int) -> str:
        inner = " ".join([f"...F{i + 1}"] * spreads)
        return f"{field} {{ {inner} }}" if field else inner

    fragments = [f"fragment F{i} on Region {{ {spread(i)} }}" for i in range(levels)]
    return '{ region(code: "440106") { ...F0 } } ' + " ".join([*fragments, f"fragment F{levels} on Region {{ code name }}"])


TYPE_SELECTIONS = [
    "name", "kind", "description", "fields { name args { name type { name } } type { kind name ofType { kind name ofType { name } } } }",
    "interfaces { name }", "possibleTypes { name fields { name } }", "enumValues { name }", "inputFields { name type { name } }",
    "ofType { kind ofType { kind ofType { kind ofType { name } } } }",
]


@st.composite
def aliased_introspection(draw):
    """Introspection with aliases at every level: of the root fields, of __schema's, of
    the types' own."""

    def type_selection() -> str:
        picks = draw(st.lists(st.sampled_from(TYPE_SELECTIONS), min_size=1, max_size=4))
        return " ".join(f"t{i}: {p}" if draw(st.booleans()) else p for i, p in enumerate(dict.fromkeys(picks)))

    inner = " ".join(
        f"s{i}: {draw(st.sampled_from(['types', 'queryType', 'mutationType']))} {{ {type_selection()} }}"
        for i in range(draw(st.integers(1, 60)))
    )
    roots = [f"r0: __schema {{ {inner} directives {{ name args {{ name }} }} }}"]
    roots += [f'r{i}: __type(name: "{draw(st.sampled_from(["Query", "Region", "Institution", "Nope"]))}") {{ {type_selection()} }}' for i in range(1, draw(st.integers(1, 15)))]
    return "{ " + " ".join(roots) + " }"


REPRESENTATION = st.one_of(
    st.fixed_dictionaries({"__typename": st.sampled_from(["Region", "RegulatorAccount", "InstitutionAccount", "Institution", "Staff", "Nope"]),
                           "code": st.sampled_from(["440106", "000000", "x" * 200])}),
    st.fixed_dictionaries({"__typename": st.sampled_from(["Institution", "RegulatorAccount", "Region"]), "id": st.sampled_from([str(uuid.UUID(int=1)), "not-an-id"])}),
    st.just({"id": "x"}), st.just({}), st.just({"__typename": 5}),
)


@st.composite
def representation_lists(draw):
    """Large lists of representations of known, private, unknown and malformed types."""
    sample = draw(st.lists(REPRESENTATION, min_size=1, max_size=5))
    size = draw(st.sampled_from([0, 1, 99, 100, 101, 499, 500, 501, 10_000, 30_000]))
    selection = draw(st.sampled_from([
        "__typename", "... on Region { name children { code } }", "... on RegulatorAccount { username region { name } }",
        "... on Institution { name staff { name } sites { courses { classes { name } } } }",
    ]))
    return {"query": f"query($r: [_Any!]!) {{ _entities(representations: $r) {{ {selection} }} }}", "variables": {"r": (sample * (size // len(sample) + 1))[:size]}}


LIMITS = {"QUERY_TOO_COSTLY", "QUERY_TOO_DEEP", "TOO_MANY_ALIASES", "TOO_MANY_TOKENS", "TOO_MANY_ITEMS", "INPUT_TOO_LONG"}
REFUSALS = {"QUERY_TOO_COSTLY", "QUERY_TOO_DEEP", "TOO_MANY_ALIASES", "TOO_MANY_TOKENS", "TOO_MANY_ITEMS", "INPUT_TOO_LONG", "UNAUTHENTICATED", "BAD_USER_INPUT", "FORBIDDEN", None}


@pytest.mark.parametrize("username", [None, "edu-000000"])
def test_generated_fragments_introspection_and_representations_are_counted(client, username):
    """No answer is a failure, and none takes long: what the limits refuse they refuse
    before any resolver runs, whatever the document's shape."""
    headers = _token(client, username)
    bodies = st.one_of(
        with_fragments().map(lambda q: {"query": q}),
        fragment_bombs().map(lambda q: {"query": q}),
        aliased_introspection().map(lambda q: {"query": q}),
        representation_lists(),
    )

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=not CAMPAIGN)
    @given(bodies)
    def run(body: dict) -> None:
        response = client(body, headers)
        _check(response)
        answer = response.json()
        codes = {e.get("extensions", {}).get("code") for e in answer.get("errors") or []}
        assert codes <= REFUSALS, answer
        # a refusal by the limits comes before anything runs (after the parse of up to
        # 5,000 tokens); what they let through runs within the budget. Loose bounds (the
        # machine is shared): they catch a walk or a validation that blows up, which
        # takes seconds.
        bound = 1_500 if codes & LIMITS else 5_000
        assert server_ms(response) < bound, (body.get("query", "")[:300], server_ms(response))

    run()
