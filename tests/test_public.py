"""The public service platform: institution lookup and the black and white lists, without
login; the public part of the schema is all an anonymous caller sees, and nothing
non-public leaks through it."""

from __future__ import annotations

import asyncio
import io
import json
import re
import time
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import sqlalchemy as sa
from openpyxl import load_workbook

from core.settings import Settings
from demo import seed_demo
from models import Course, Institution, Site, Staff, TrainingClass
from resolvers.loaders import AccountByIdLoader
from schema.root import sdl
from server import create_app
from tests.helpers import ELIGIBLE, ID_NUMBER, error_codes, insert_institutions, limit_public_rate
from web.public_cache import cacheable

SEARCH = """query($name: String!, $region: String!, $first: Int, $after: String) {
  publicInstitutions(name: $name, regionCode: $region, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { name county { code } } }
  }
}"""
EVERYTHING = """query($id: ID!) { publicInstitution(id: $id) {
  id name address kind mode status lawful compliant blackListReason
  licence { number issuer validFrom validTo valid }
  county { code name }
  teachers { name hasTeacherCertificate certificateNumber }
  filedClasses
} }"""


async def named(sessionmaker, names_by_unit: dict[str, list[str]]) -> dict[str, str]:
    """Institutions with the given names, registered by the given units; name -> id."""
    counts = {unit: len(names) for unit, names in names_by_unit.items()}
    generated = await insert_institutions(sessionmaker, counts)
    async with sessionmaker() as db:
        for unit, names in names_by_unit.items():
            for old, new in zip(generated[unit], names, strict=True):
                await db.execute(sa.update(Institution).where(Institution.name == old).values(name=new))
        await db.commit()
        return {n: str(i) for n, i in (await db.execute(sa.select(Institution.name, Institution.id))).all()}


async def test_lookup_by_part_of_the_name_within_a_region_ranked_by_relevance(gql, demo, sessionmaker):
    await named(sessionmaker, {
        "edu-440106": ["育英", "天河育英培训学校", "育英教育培训中心", "明德学堂"],
        "edu-440104": ["越秀育英培训学校"],
        "edu-420102": ["江岸育英培训学校"],
    })

    async def names(query: str, region: str, **kw) -> list[str]:
        result = await gql(SEARCH, {"name": query, "region": region, **kw})
        assert "errors" not in result, result
        return [e["node"]["name"] for e in result["data"]["publicInstitutions"]["edges"]]

    # The exact name first, then names that start with it, then the rest by similarity.
    assert await names("育英", "440106") == ["育英", "育英教育培训中心", "天河育英培训学校"]
    assert set(await names("育英", "440100")) == {"育英", "育英教育培训中心", "天河育英培训学校", "越秀育英培训学校"}
    assert set(await names("育英培训学校", "440000")) >= {"天河育英培训学校", "越秀育英培训学校"}
    assert "江岸育英培训学校" not in await names("育英培训学校", "440000")
    # A typing slip (陪 for 培) still finds it.
    assert (await names("天河育英陪训学校", "440106"))[0] == "天河育英培训学校"
    assert await names("不存在的机构", "440106") == []
    # Paging by cursor.
    first = (await gql(SEARCH, {"name": "育英", "region": "440106", "first": 2}))["data"]["publicInstitutions"]
    assert first["totalCount"] == 3 and first["pageInfo"]["hasNextPage"] is True
    rest = await names("育英", "440106", first=2, after=first["pageInfo"]["endCursor"])
    assert rest == ["天河育英培训学校"]


async def test_names_sharing_only_an_ending_match_only_when_nothing_is_closer(gql, demo, sessionmaker):
    await named(sessionmaker, {"edu-440106": ["天河育英培训学校", "天河明德培训学校"]})

    async def search(query: str) -> dict:
        result = await gql(SEARCH, {"name": query, "region": "440106"})
        assert "errors" not in result, result
        return result["data"]["publicInstitutions"]

    # 明德 shares only the ending 培训学校 (word similarity 0.43): not a match while a name is
    # as close as 0.5.
    found = await search("育英培训学校")
    assert [e["node"]["name"] for e in found["edges"]] == ["天河育英培训学校"] and found["totalCount"] == 1
    # A slip in a short query (鹰 for 英, 0.43): no name reaches 0.5, so the looser
    # similarity (0.3) finds it, and 明德 (0.29) still not.
    assert [e["node"]["name"] for e in (await search("天河育鹰培训"))["edges"]] == ["天河育英培训学校"]


async def test_lookup_input_is_bounded_with_clear_codes(gql, demo):
    for variables in (
        {"name": "育英", "region": "440106", "first": 21},
        {"name": "育英", "region": "999999"},
        {"name": "育英", "region": "000000"},
        {"name": "  ", "region": "440106"},
        {"name": "育" * 51, "region": "440106"},
        {"name": "育英", "region": "440106", "after": "bm90LWEtY3Vyc29y"},
        {"name": "育英", "region": "440106", "after": "bzo5OTk="},  # offset 999, past the 200 results allowed
    ):
        assert error_codes(await gql(SEARCH, variables)) == ["BAD_USER_INPUT"], variables


async def test_a_parent_reads_what_matters_and_nothing_else(gql, demo, sessionmaker):
    ids = await named(sessionmaker, {"edu-440106": ["天河育英培训学校"]})
    institution_id = ids["天河育英培训学校"]
    now = datetime(2026, 11, 23, tzinfo=UTC)
    async with sessionmaker() as db:
        institution = await db.get(Institution, institution_id)
        institution.qualification_status = "FULL"
        institution.licence_number, institution.licence_issuer = "教民144010670000001号", "广州市天河区教育局"
        institution.licence_valid_from, institution.licence_valid_to = date(2022, 1, 1), date(2027, 12, 31)
        institution.review_status = "APPROVED"
        people = [
            Staff(institution_id=institution.id, name="王老师", gender="FEMALE", id_number=ID_NUMBER, phone="13700137000", post="TEACHING",
                  employment="FULL_TIME", subjects=["MATHEMATICS"], teacher_certificate_number="20114400121000123", joined_on=date(2024, 1, 1)),
            Staff(institution_id=institution.id, name="李老师", gender="MALE", id_number="110105200001010016", phone="13700137001", post="TEACHING",
                  employment="PART_TIME", subjects=[], joined_on=date(2024, 1, 1)),
            Staff(institution_id=institution.id, name="离职的老师", gender="MALE", id_number="110105198001010016", phone="13700137002", post="TEACHING",
                  employment="PART_TIME", subjects=[], joined_on=date(2020, 1, 1), status="DEPARTED", departed_on=date(2021, 1, 1)),
            Staff(institution_id=institution.id, name="赵会计", gender="FEMALE", id_number="110105199002020026", phone="13700137003", post="MANAGEMENT",
                  employment="FULL_TIME", subjects=[], joined_on=date(2024, 1, 1)),
        ]
        db.add_all(people)
        site = Site(institution_id=institution.id, type="SITE", name="校区", address="地址", teaching_area=Decimal(300))
        db.add(site)
        await db.flush()
        course = Course(institution_id=institution.id, site_id=site.id, name="小学数学", category="SUBJECT", subject="MATHEMATICS", grades=["PRIMARY"], class_hours=48)
        db.add(course)
        await db.flush()
        for name, status in (("三年级数学培训班", "FILED"), ("四年级数学培训班", "PENDING"), ("五年级数学培训班", "NOT_FILED")):
            db.add(TrainingClass(institution_id=institution.id, course_id=course.id, name=name, schedule=[], starts_on=date(2026, 9, 1),
                                 ends_on=date(2027, 1, 1), capacity=20, fee=Decimal(100), fee_months=1, teacher_ids=[people[0].id],
                                 filing_status=status, created_at=now, updated_at=now))
        await db.commit()
    result = await gql(EVERYTHING, {"id": institution_id})
    assert result == {"data": {"publicInstitution": {
        "id": institution_id, "name": "天河育英培训学校", "address": "地址", "kind": "SUBJECT", "mode": "OFFLINE",
        "status": "COMPLIANT", "lawful": True, "compliant": True, "blackListReason": None,
        "licence": {"number": "教民144010670000001号", "issuer": "广州市天河区教育局", "validFrom": "2022-01-01", "validTo": "2027-12-31", "valid": True},
        "county": {"code": "440106", "name": "天河区"},
        "teachers": [
            {"name": "李老师", "hasTeacherCertificate": False, "certificateNumber": None},
            {"name": "王老师", "hasTeacherCertificate": True, "certificateNumber": "2011*********0123"},
        ],
        "filedClasses": ["三年级数学培训班"],
    }}}
    text = json.dumps(result, ensure_ascii=False)
    for secret in (ID_NUMBER, "13700137000", "20114400121000123", "13800138000", "13900139000", "张三", "李四", "赵会计"):
        assert secret not in text
    assert (await gql(EVERYTHING, {"id": "00000000-0000-0000-0000-000000000000"}))["data"]["publicInstitution"] is None


async def test_an_anonymous_introspection_shows_the_public_part_alone(gql, demo):
    types = "{ __schema { types { name kind fields { name } } queryType { fields { name } } mutationType { fields { name } } } }"
    public = (await gql(types))["data"]["__schema"]
    names = {t["name"] for t in public["types"] if not t["name"].startswith("__")}
    assert {f["name"] for f in public["queryType"]["fields"]} == {
        "regions", "region", "publicInstitutions", "publicInstitution", "listPeriods", "listPeriod", "complaintStatus", "me", "_service", "_entities",
    }
    assert {f["name"] for f in public["mutationType"]["fields"]} == {
        "login", "requestVerificationCode", "registerInstitutionAccount", "resetPassword", "submitComplaint",
    }
    assert not names & {"Institution", "Staff", "InstitutionFunds", "Inspection", "Complaint", "Application", "AuditRecord", "InstitutionDocument"}
    # Walk every public type's fields: none of them is personal or internal data.
    private = re.compile(r"idNumber|legalRep|contact|funds|inspection|complainant|auditRecord|document|staff|account(Number)?$", re.I)
    for t in public["types"]:
        if t["kind"] == "OBJECT" and not t["name"].startswith("__") and t["name"] not in ("Query", "Mutation"):
            leaking = [f["name"] for f in t["fields"] or [] if private.search(f["name"])]
            assert leaking == [] or (t["name"], tuple(leaking)) in {("LoginPayload", ("account",)), ("RegisterInstitutionAccountPayload", ("account",))}, (t["name"], leaking)
    # With a session, the whole graph.
    token = await gql.login("edu-440106")
    full = {t["name"] for t in (await gql(types, token=token))["data"]["__schema"]["types"]}
    assert {"Institution", "Staff", "Application"} <= full
    # A field of the rest of the graph still says "log in first" without a session.
    assert error_codes(await gql("{ institutions { totalCount } }")) == ["UNAUTHENTICATED"]
    # Validation messages of unknown fields name public fields only.
    unknown = await gql("{ institutio { id } }")
    assert "institutions" not in json.dumps(unknown, ensure_ascii=False)


def test_the_public_part_is_tagged_for_a_contract_variant():

    text = sdl()
    # (a field's arguments, each with its description, stand on lines of their own)
    assert re.search(r'^  publicInstitutions\(\n(?:    .*\n|\n)*  \): PublicInstitutionConnection! @tag\(name: "public"\)$', text, re.M)
    assert 'type PublicInstitution @tag(name: "public")' in text
    assert re.search(r'^  institutions\(\n(?:    .*\n|\n)*  \): InstitutionConnection!$', text, re.M)
    assert "type Institution implements Node @key" in text and 'type Institution implements Node @key(fields: "id") @tag' not in text


PUBLISH = """mutation($kind: ListKind!, $entries: [BlackListEntryInput!]) {
  publishListPeriod(kind: $kind, entries: $entries) { period { id number title entryCount downloadUrl } errors { field code message } }
}"""
PERIOD = """query($region: String!, $kind: ListKind!, $number: Int) {
  listPeriod(regionCode: $region, kind: $kind, number: $number) {
    number entryCount entries { edges { node { name reason county { code } } } } changes { added { name } removed { name } }
  }
}"""


async def test_white_and_black_lists_in_numbered_periods_as_snapshots(gql, http, demo, sessionmaker):
    ids = await named(sessionmaker, {"edu-440106": ["甲培训学校", "乙培训学校", "丙培训学校"], "edu-440104": ["丁培训学校"]})
    county = await gql.login("edu-440106")

    async def approve(*names: str) -> None:
        async with sessionmaker() as db:
            await db.execute(sa.update(Institution).where(Institution.name.in_(names)).values(**ELIGIBLE))
            await db.commit()

    await approve("甲培训学校", "丁培训学校")
    first = (await gql(PUBLISH, {"kind": "WHITE"}, token=county))["data"]["publishListPeriod"]
    assert first["errors"] == [] and (first["period"]["number"], first["period"]["entryCount"]) == (1, 1)
    assert first["period"]["title"] == "天河区校外培训机构白名单（第1期）"
    await approve("乙培训学校")
    async with sessionmaker() as db:  # a later edit does not change a published period
        await db.execute(sa.update(Institution).where(Institution.name == "甲培训学校").values(name="甲培训学校（更名）"))
        await db.commit()
    second = (await gql(PUBLISH, {"kind": "WHITE"}, token=county))["data"]["publishListPeriod"]["period"]
    assert second["number"] == 2

    def node_names(period: dict) -> list[str]:
        return [e["node"]["name"] for e in period["entries"]["edges"]]

    current = (await gql(PERIOD, {"region": "440106", "kind": "WHITE"}))["data"]["listPeriod"]
    assert (current["number"], node_names(current)) == (2, ["乙培训学校", "甲培训学校（更名）"])
    assert current["changes"] == {"added": [{"name": "乙培训学校"}], "removed": []}
    earlier = (await gql(PERIOD, {"region": "440106", "kind": "WHITE", "number": 1}))["data"]["listPeriod"]
    assert node_names(earlier) == ["甲培训学校"]
    periods = (await gql('{ listPeriods(regionCode: "440106", kind: WHITE) { totalCount edges { node { number } } } }'))["data"]["listPeriods"]
    assert (periods["totalCount"], [e["node"]["number"] for e in periods["edges"]]) == (2, [2, 1])

    # The black list names institutions of the publisher's scope, each with a reason.
    outside = await gql(PUBLISH, {"kind": "BLACK", "entries": [{"institutionId": ids["丁培训学校"], "reason": "无证办学"}]}, token=county)
    assert [(e["field"], e["code"]) for e in outside["data"]["publishListPeriod"]["errors"]] == [("entries.0.institutionId", "NOT_FOUND")]
    no_reason = await gql(PUBLISH, {"kind": "BLACK", "entries": [{"institutionId": ids["丙培训学校"], "reason": " "}]}, token=county)
    assert [(e["field"], e["code"]) for e in no_reason["data"]["publishListPeriod"]["errors"]] == [("entries.0.reason", "REQUIRED")]
    black = (await gql(PUBLISH, {"kind": "BLACK", "entries": [{"institutionId": ids["丙培训学校"], "reason": "超时培训，拒不整改"}]}, token=county))
    period = black["data"]["publishListPeriod"]["period"]
    listed = (await gql(PERIOD, {"region": "440106", "kind": "BLACK"}))["data"]["listPeriod"]
    assert [e["node"] for e in listed["entries"]["edges"]] == [{"name": "丙培训学校", "reason": "超时培训，拒不整改", "county": {"code": "440106"}}]
    looked_up = (await gql(EVERYTHING, {"id": ids["丙培训学校"]}))["data"]["publicInstitution"]
    assert (looked_up["status"], looked_up["lawful"], looked_up["blackListReason"]) == ("BLACKLISTED", False, "超时培训，拒不整改")

    download = await http.get(period["downloadUrl"])
    assert download.status_code == 200
    rows = list(load_workbook(io.BytesIO(download.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "天河区校外培训机构黑名单（第1期）"
    assert rows[2] == ("序号", "机构名称", "统一社会信用代码", "所在区县", "地址", "办学许可证编号", "列入原因")
    assert rows[3][:2] == (1, "丙培训学校") and rows[3][3] == "天河区" and rows[3][6] == "超时培训，拒不整改"
    assert (await http.get("/public/lists/00000000-0000-0000-0000-000000000000.xlsx")).status_code == 404

    # Who publishes: education from county level up, for its own region.
    for username, code in (("edu-440106-01", "FORBIDDEN"), ("sports-440106", "FORBIDDEN")):
        assert error_codes(await gql(PUBLISH, {"kind": "WHITE"}, token=await gql.login(username))) == [code]
    assert error_codes(await gql(PUBLISH, {"kind": "WHITE"})) == ["UNAUTHENTICATED"]
    province = (await gql(PUBLISH, {"kind": "WHITE"}, token=await gql.login("edu-440000")))["data"]["publishListPeriod"]["period"]
    assert (province["number"], province["entryCount"], province["title"]) == (1, 3, "广东省校外培训机构白名单（第1期）")


async def test_anonymous_requests_are_rate_limited_per_address_and_regulators_are_not(gql, demo, app, clock):
    token = await gql.login("edu-440106")
    await limit_public_rate(app, 5, 1)
    query = '{ region(code: "440106") { name } }'
    for _ in range(5):
        assert (await gql(query))["data"] == {"region": {"name": "天河区"}}
    limited = await gql(query)
    assert error_codes(limited) == ["RATE_LIMITED"] and limited["errors"][0]["extensions"]["retryAfterSeconds"] == 1
    # A regulator from the same address is not counted against it.
    assert (await gql(query, token=token))["data"] == {"region": {"name": "天河区"}}
    clock.advance(seconds=1)
    assert "errors" not in await gql(query)
    assert error_codes(await gql(query)) == ["RATE_LIMITED"]


async def test_a_flood_of_public_traffic_cannot_take_the_regulators_connections(gql, demo, app):
    """Public callers have a pool of their own: with every one of its connections taken, a
    public request is refused (SERVICE_BUSY) after the pool's timeout, while a regulator's
    request is answered from the regulators' pool at once."""

    app.state.settings.public_pool_timeout = 0.3
    app.state.public_engine.pool._timeout = 0.3
    token = await gql.login("edu-440106")
    held = [await app.state.public_engine.connect() for _ in range(app.state.settings.public_pool)]
    try:
        started = time.monotonic()
        public, regulator = await asyncio.gather(
            gql('{ publicInstitutions(name: "育英", regionCode: "440106") { totalCount } }'),
            gql("{ institutions(first: 5) { totalCount } }", token=token),
        )
        assert regulator == {"data": {"institutions": {"totalCount": 0}}}
        assert error_codes(public) == ["SERVICE_BUSY"]
        assert time.monotonic() - started < 5
    finally:
        for connection in held:
            await connection.close()
    assert "errors" not in await gql('{ publicInstitutions(name: "育英", regionCode: "440106") { totalCount } }')


async def test_a_short_name_with_one_slip_is_found_and_the_closest_ranks_first(gql, demo, sessionmaker):
    # given the demo's institutions (names like 天河区育英培训学校07)
    await seed_demo(sessionmaker, date(2026, 11, 23))
    async with sessionmaker() as db:
        tianhe = (await db.execute(sa.select(Institution.name).where(Institution.name.like("天河区育英%")).order_by(Institution.name))).scalars().all()
        yuying = (await db.execute(sa.select(Institution.name).where(Institution.name.like("%育英培训%"), Institution.region_code.like("4401%")))).scalars().all()
    assert tianhe and yuying

    async def names(query: str, region: str) -> list[str]:
        result = await gql(SEARCH, {"name": query, "region": region, "first": 20})
        assert "errors" not in result, result
        return [e["node"]["name"] for e in result["data"]["publicInstitutions"]["edges"]]

    # one wrong character (陪 for 培) in a four-character query, which shares no trigram
    # with the name: the 育英培训 institutions first
    found = await names("育英陪训", "440100")
    assert found[: len(yuying)] and set(found[: len(yuying)]) == set(yuying)
    # one character missing (天河育英 for 天河区育英): every 天河区育英 institution ahead of the
    # other 天河区 names
    found = await names("天河育英", "440100")
    assert set(found[: len(tianhe)]) == set(tianhe) and len(found) > len(tianhe)
    # one character extra (育英培培训): still found
    assert set((await names("育英培培训", "440100"))[: len(yuying)]) == set(yuying)
    # a name nothing is close to finds nothing
    assert await names("星际航天局", "440100") == []


async def test_public_answers_are_kept_a_few_seconds_for_every_anonymous_caller(database_url, clock, tmp_path, demo):
    """XWPX_PUBLIC_CACHE_SECONDS: the same public lookup from any anonymous caller is answered
    from memory for at most that long, renewed in the background from half of it (one
    execution for simultaneous callers too); errors, private lookups and signed-in callers
    are never answered from it."""
    application = create_app(Settings(database_url=database_url, clock=clock, data_dir=tmp_path, public_rate=(10**6, 10**6), public_cache_seconds=5))
    async with application.router.lifespan_context(application):
        statements: list[str] = []
        sa.event.listen(application.state.public_engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as http:

            async def ask(query: str, variables: dict | None = None, headers: dict | None = None) -> dict:
                response = await http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {})
                assert response.status_code == 200
                return response.json()

            async def names() -> list[str]:
                result = await ask(SEARCH, {"name": "育英", "region": "440106"})
                return [e["node"]["name"] for e in result["data"]["publicInstitutions"]["edges"]]

            await named(application.state.sessionmaker, {"edu-440106": ["天河育英培训学校"]})
            # given: ten callers ask the same at the same moment: one execution
            answers = await asyncio.gather(*(names() for _ in range(10)))
            assert answers == [["天河育英培训学校"]] * 10
            executed = len(statements)
            assert executed > 0
            # when: a new institution is registered
            await named(application.state.sessionmaker, {"edu-440106": ["育英教育培训中心"]})
            # then: the kept answer for half its time, from memory
            clock.advance(seconds=2.4)
            assert await names() == ["天河育英培训学校"]
            await application.state.public_answers.settle()
            assert len(statements) == executed
            # then the next caller still gets it at once, and renews it in the background
            clock.advance(seconds=0.2)
            assert await names() == ["天河育英培训学校"]
            await application.state.public_answers.settle()
            assert len(statements) == 2 * executed
            assert await names() == ["育英教育培训中心", "天河育英培训学校"]
            assert len(statements) == 2 * executed
            # and an answer nobody asked for in its five seconds is asked again by the next caller
            await named(application.state.sessionmaker, {"edu-440106": ["育英艺术培训中心"]})
            clock.advance(seconds=5)
            assert await names() == ["育英教育培训中心", "育英艺术培训中心", "天河育英培训学校"]
            assert len(statements) == 3 * executed
            # an error is asked again each time
            for _ in range(2):
                assert error_codes(await ask(SEARCH, {"name": "育英", "region": "000000"})) == ["BAD_USER_INPUT"]
            # a complaint's status (the complainant's own) is never kept
            before = len(statements)
            status = 'query { complaintStatus(trackingNumber: "TS20260101AAAAAAAA", mobile: "13800138000") { status } }'
            for _ in range(2):
                assert await ask(status) == {"data": {"complaintStatus": None}}
            assert len(statements) > before + 1
            # nor is a signed-in caller's answer taken from it
            login = await ask('mutation { login(username: "edu-440106", password: "Demo#2026") { token } }')
            signed_in = {"Authorization": f"Bearer {login['data']['login']['token']}"}
            main: list[str] = []
            sa.event.listen(application.state.engine.sync_engine, "before_cursor_execute", lambda *args: main.append(args[2]))
            result = await ask(SEARCH, {"name": "育英", "region": "440106"}, signed_in)
            assert [e["node"]["name"] for e in result["data"]["publicInstitutions"]["edges"]] == ["育英教育培训中心", "育英艺术培训中心", "天河育英培训学校"]
            assert len(main) > 1  # the session lookup and the search itself


def test_only_queries_of_public_lookups_are_kept():
    assert cacheable('{ region(code: "440106") { name } regions { code } }', None)
    assert cacheable("query A { ...R } fragment R on Query { listPeriods(regionCode: \"440106\", kind: WHITE) { totalCount } }", "A")
    assert not cacheable('{ region(code: "440106") { name } complaintStatus(trackingNumber: "T", mobile: "1") { status } }', None)
    assert not cacheable("query A { ...R } fragment R on Query { me { username } }", "A")
    assert not cacheable("query A { ...R } fragment R on Query { ...R }", "A")
    assert not cacheable('mutation { login(username: "a", password: "b") { token } }', None)
    assert not cacheable('query A { region(code: "1") { name } } query B { me { username } }', "B")
    assert not cacheable("{ region(code: ", None)


async def test_signed_in_operations_beyond_the_limit_wait_their_turn_while_public_lookups_are_answered(database_url, clock, tmp_path, demo, monkeypatch):
    """XWPX_SIGNED_IN_CONCURRENCY: a worker runs that many signed-in operations at once; the
    next waits (it is not refused) and starts when one ends; anonymous callers do not wait."""
    release, running = asyncio.Event(), []
    load = AccountByIdLoader.batch_load_fn

    async def slow_load(self, ids):
        running.append(self.viewer.username)
        await release.wait()
        return await load(self, ids)

    application = create_app(Settings(database_url=database_url, clock=clock, data_dir=tmp_path, public_cache_seconds=0, signed_in_concurrency=1))
    async with application.router.lifespan_context(application):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as http:

            async def token(username: str) -> dict:
                login = await http.post("/graphql", json={"query": f'mutation {{ login(username: "{username}", password: "Demo#2026") {{ token }} }}'})
                return {"Authorization": f"Bearer {login.json()['data']['login']['token']}"}

            county, province = await token("edu-440106"), await token("edu-440000")
            monkeypatch.setattr(AccountByIdLoader, "batch_load_fn", slow_load)
            first = asyncio.create_task(http.post("/graphql", json={"query": "{ me { username } }"}, headers=county))
            second = asyncio.create_task(http.post("/graphql", json={"query": "{ me { username } }"}, headers=province))
            for _ in range(500):
                if running:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)  # time for the second to be looked up and reach its turn
            # one runs, the other waits its turn; a public lookup is answered meanwhile
            assert len(running) == 1 and not first.done() and not second.done()
            public = await http.post("/graphql", json={"query": '{ region(code: "440106") { name } }'})
            assert public.json() == {"data": {"region": {"name": "天河区"}}}
            assert len(running) == 1
            release.set()
            answers = await asyncio.gather(first, second)
    assert sorted(running) == ["edu-440000", "edu-440106"]
    assert sorted(a.json()["data"]["me"]["username"] for a in answers) == ["edu-440000", "edu-440106"]
