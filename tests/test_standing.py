"""The standing (法律状态, resolvers.standing): one verdict that the public lookup, the home page,
the list's filters, list publication, the compliance check and the statistics read alike
(docs/DOMAIN.md §G5, docs/rules.md "Standing")."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from core.clock import today
from models import Account, Application, Institution
from tests.helpers import (
    ELIGIBLE,
    PARTS,
    data,
    insert_institutions,
    ok,
    part_mutation,
    portal_institution,
    ready_for_compliance,
    register,
    save,
)

FACTS = "licensed lawful compliant whiteListEligible blackListed deregistered licenceValidTo"
STANDING = "{ %s reasons { code effect message source recordType recordName } }" % FACTS
LOOKUP = "query($id: ID!) { publicInstitution(id: $id) { lawful compliant status licence { valid } standing %s } }" % STANDING
HOME = "query($id: ID!) { institution(id: $id) { creditCode reviewStatus home { missing { code } warnings { code } standing %s } } }" % STANDING
FILTERED = "query($f: InstitutionFilter) { institutions(first: 100, filter: $f) { totalCount edges { node { id } } } }"
PUBLISH = """mutation($k: ListKind!, $e: [BlackListEntryInput!]) {
  publishListPeriod(kind: $k, entries: $e) {
    period { number entryCount } leftOut { total byReason { code count } institutions { id reasons } }
    revised { region { code } number entryCount } errors { field code }
  }
}"""
STATISTICS = 'query { statistics(regionCode: "440106") { total { institutions { compliant } lists { white black } } } }'
REVIEW = "mutation($id: ID!, $i: ReviewInput!) { reviewApplication(id: $id, input: $i) { application { status } errors { field code } } }"
SUBMIT = "mutation($i: ApplicationInput!) { submitApplication(input: $i) { application { status authorityDepartment } errors { field code message } } }"
QUALIFICATIONS = part_mutation("Qualifications")


def qualifications(valid_to: date | None) -> dict:
    """A licence and a business registration (证照齐全) ending on ``valid_to``; None: the business
    registration only (有照无证)."""
    if valid_to is None:
        business = {k: v for k, v in PARTS["Qualifications"].items() if not k.startswith("licence")}
        return {**business, "qualificationStatus": "BUSINESS_LICENCE_ONLY"}
    start = valid_to - timedelta(days=5 * 365)
    return {**PARTS["Qualifications"], "licenceValidFrom": start.isoformat(), "licenceValidTo": valid_to.isoformat()}


async def submitted(sessionmaker, institution_id: str, now) -> str:
    """A compliance application of the institution, pending with its county education bureau
    (as ``submitApplication`` leaves one); returns its id."""
    async with sessionmaker() as db:
        institution = await db.get(Institution, institution_id)
        application = Application(
            institution_id=institution.id, type="COMPLIANCE", status="PENDING", authority_region_code="440106",
            authority_department="EDUCATION", authority_level="COUNTY", submitted_at=now, findings_at_submission=[],
        )
        db.add(application)
        institution.review_status = "PENDING"
        await db.commit()
        return str(application.id)


class World:
    """The institutions of 天河 and what the standing must say of each, kept by a model of the
    operations that is independent of the code under test."""

    def __init__(self, gql, sessionmaker, clock, tokens: dict[str, str]) -> None:
        self.gql, self.sessionmaker, self.clock, self.tokens = gql, sessionmaker, clock, tokens
        self.ids: list[str] = []
        self.codes: dict[str, str] = {}
        self.licence: dict[str, date | None] = {}  # the last day of the licence (None: none)
        self.approved: dict[str, bool] = {}
        self.review_status: dict[str, str] = {}  # the latest compliance decision
        self.black: dict[str, set[str]] = {}  # region -> its current black list
        self.white: dict[str, set[str]] = {}  # region -> its current white list
        self.numbers = iter(range(1, 100))

    @property
    def day(self) -> date:
        return today(self.clock.now)

    def black_listed(self, i: str) -> bool:
        return any(i in named for named in self.black.values())

    def licensed(self, i: str) -> bool:
        end = self.licence[i]
        return end is not None and end - timedelta(days=5 * 365) <= self.day <= end

    def lawful(self, i: str) -> bool:
        return self.licensed(i) and not self.black_listed(i)

    def compliant(self, i: str) -> bool:
        return self.lawful(i) and self.approved[i]

    def expiring(self, i: str) -> bool:
        return self.licensed(i) and self.licence[i] <= self.day + timedelta(days=90)

    # --- the operations ---

    async def register(self, rng: random.Random) -> None:
        n = next(self.numbers)
        institution_id = await register(self.gql, self.tokens["edu-440106"], n)
        self.ids.append(institution_id)
        self.codes[institution_id] = (await self.gql(HOME, {"id": institution_id}, token=self.tokens["edu-440106"]))["data"]["institution"]["creditCode"]
        self.licence[institution_id], self.approved[institution_id] = date(2027, 12, 31), False
        self.review_status[institution_id] = "NOT_SUBMITTED"

    async def relicense(self, rng: random.Random) -> None:
        i = rng.choice(self.ids)
        end = None if rng.random() < 0.2 else self.day + timedelta(days=rng.choice([-30, -1, 0, 10, 60, 90, 91, 400]))
        saved = await save(self.gql, QUALIFICATIONS, {"id": i, "input": qualifications(end)}, token=self.tokens["edu-440106"])
        assert saved["data"]["saveInstitutionQualifications"]["errors"] == [], saved
        self.licence[i] = end

    async def review(self, rng: random.Random) -> None:
        open_ = [i for i in self.ids if not self.approved[i]]
        if not open_:
            return
        i, approve = rng.choice(open_), rng.random() < 0.7
        application = await submitted(self.sessionmaker, i, self.clock.now)
        decision = {"approve": approve, "opinion": "同意" if approve else "材料不全"}
        decided = data(await self.gql(REVIEW, {"id": application, "i": decision}, token=self.tokens["edu-440106"]), "reviewApplication")
        assert decided["errors"] == [] and decided["application"]["status"] == ("APPROVED" if approve else "REJECTED"), decided
        self.approved[i] = approve
        self.review_status[i] = "APPROVED" if approve else "REJECTED"

    async def black_list(self, rng: random.Random) -> None:
        region = rng.choice(["440106", "440100"])
        named = set(rng.sample(self.ids, rng.randint(1, min(2, len(self.ids)))))
        entries = [{"institutionId": i, "reason": "违规开展学科类培训"} for i in sorted(named)]
        published = ok(await self.gql(PUBLISH, {"k": "BLACK", "e": entries}, token=self.tokens[f"edu-{region}"]), "publishListPeriod")
        self.black[region] = named
        revised = {r["region"]["code"] for r in published["revised"]}
        assert revised == {r for r, listed in self.white.items() if listed & named}, published
        for r in revised:
            self.white[r] -= named

    async def white_list(self, rng: random.Random) -> None:
        region = rng.choice(["440106", "440100"])
        published = ok(await self.gql(PUBLISH, {"k": "WHITE"}, token=self.tokens[f"edu-{region}"]), "publishListPeriod")
        eligible = {i for i in self.ids if self.compliant(i)}
        self.white[region] = eligible
        left_out = published["leftOut"]
        assert published["period"]["entryCount"] == len(eligible)
        assert left_out["total"] == len(self.ids) - len(eligible)
        by_reason = {r["code"]: r["count"] for r in left_out["byReason"]}
        assert by_reason.get("BLACK_LISTED", 0) == sum(self.black_listed(i) for i in self.ids)
        assert by_reason.get("LICENCE_MISSING", 0) == sum(self.licence[i] is None for i in self.ids)
        assert by_reason.get("LICENCE_EXPIRED", 0) == sum(self.licence[i] is not None and self.licence[i] < self.day for i in self.ids)
        assert by_reason.get("COMPLIANCE_NOT_SUBMITTED", 0) + by_reason.get("COMPLIANCE_REJECTED", 0) == sum(not self.approved[i] for i in self.ids)

    async def later(self, rng: random.Random) -> None:
        self.clock.advance(days=rng.choice([20, 45, 120, 400]))
        for username in self.tokens:  # the sessions ended meanwhile
            self.tokens[username] = await self.gql.login(username)

    # --- what every part says ---

    async def check(self, step: str) -> None:
        """What every part says, read in a few requests (aliases), against the model."""
        county = self.tokens["edu-440106"]
        ids = {f"i{n}": i for n, i in enumerate(self.ids)}
        public_fields = "lawful compliant status standing %s" % STANDING
        publics = (await self.gql("{ %s }" % " ".join(f'{a}: publicInstitution(id: "{i}") {{ {public_fields} }}' for a, i in ids.items())))["data"]
        home_fields = "reviewStatus home { missing { code } warnings { code } standing %s }" % STANDING
        homes = (await self.gql("{ %s }" % " ".join(f'{a}: institution(id: "{i}") {{ {home_fields} }}' for a, i in ids.items()), token=county))["data"]
        for alias, i in ids.items():
            public, home = publics[alias], homes[alias]
            standing = public["standing"]
            expected = {
                "licensed": self.licensed(i), "lawful": self.lawful(i), "compliant": self.compliant(i), "whiteListEligible": self.compliant(i),
                "blackListed": self.black_listed(i), "deregistered": False,
            }
            assert {k: standing[k] for k in expected} == expected, (step, i, standing)
            assert (public["lawful"], public["compliant"]) == (self.lawful(i), self.compliant(i)), step
            assert public["status"] == ("BLACKLISTED" if self.black_listed(i) else "COMPLIANT" if self.compliant(i) else "REGISTERED"), step
            codes = [r["code"] for r in standing["reasons"]]
            expired = self.licence[i] is not None and self.licence[i] < self.day
            assert ("LICENCE_EXPIRED" in codes, "LICENCE_EXPIRING" in codes, "BLACK_LISTED" in codes) == (expired, self.expiring(i), self.black_listed(i)), step
            assert home["home"]["standing"] == standing, step
            assert home["reviewStatus"] == self.review_status[i], step  # the decision stays whatever the standing says
            assert ("LICENCE_EXPIRED" in [m["code"] for m in home["home"]["missing"]]) == expired, step
            assert [w["code"] for w in home["home"]["warnings"]] == (["LICENCE_EXPIRING"] if self.expiring(i) else []), step
        filters = {
            f"{fact}_{str(wanted).lower()}": ({fact: wanted}, {i for i in self.ids if holds(i) is wanted})
            for fact, holds in (
                ("licensed", self.licensed), ("lawful", self.lawful), ("compliant", self.compliant), ("whiteListEligible", self.compliant),
                ("blackListed", self.black_listed),
            )
            for wanted in (True, False)
        }
        filters["expiring"] = ({"licenceExpiringWithinDays": 90}, {i for i in self.ids if self.expiring(i)})
        variables = ", ".join(f"${a}: InstitutionFilter" for a in filters)
        listed = (await self.gql(
            "query(%s) { %s }" % (variables, " ".join(f"{a}: institutions(first: 100, filter: ${a}) {{ edges {{ node {{ id }} }} }}" for a in filters)),
            {a: f for a, (f, _) in filters.items()}, token=county,
        ))["data"]
        for alias, (_, expected_ids) in filters.items():
            assert {e["node"]["id"] for e in listed[alias]["edges"]} == expected_ids, (step, alias)
        periods = {f"{kind}_{region}": (region, kind) for region in ("440106", "440100", "440000") for kind in ("WHITE", "BLACK")}
        current = (await self.gql("{ %s }" % " ".join(
            f'{a}: listPeriod(regionCode: "{r}", kind: {k}) {{ entries(first: 100) {{ edges {{ node {{ creditCode }} }} }} }}' for a, (r, k) in periods.items()
        )))["data"]
        on_lists: dict[str, set[str]] = {"WHITE": set(), "BLACK": set()}
        for alias, (region, kind) in periods.items():
            period = current[alias]
            names = {e["node"]["creditCode"] for e in period["entries"]["edges"]} if period else set()
            model = self.white if kind == "WHITE" else self.black
            assert names == {self.codes[i] for i in model.get(region, set())}, (step, region, kind)
            on_lists[kind] |= names
        assert not on_lists["WHITE"] & on_lists["BLACK"], step
        total = (await self.gql(STATISTICS, token=county))["data"]["statistics"]["total"]
        assert total == {
            "institutions": {"compliant": sum(self.compliant(i) for i in self.ids)},
            "lists": {"white": len(on_lists["WHITE"]), "black": len(on_lists["BLACK"])},
        }, step


@pytest.mark.parametrize("seed", [1, 2])
async def test_every_part_agrees_on_the_standing_after_every_step(gql, demo, sessionmaker, clock, seed):
    """Random sequences of registrations, licence changes, reviews, black and white lists in
    any order and days passing: after each step the lookup, the home page, the filters, the
    lists and the statistics say what the model says of every institution."""
    tokens = {u: await gql.login(u) for u in ("edu-440106", "edu-440100")}
    world = World(gql, sessionmaker, clock, tokens)
    rng = random.Random(seed)
    for _ in range(2):
        await world.register(rng)
    await world.check("start")
    operations = [world.register, world.relicense, world.relicense, world.review, world.review, world.black_list, world.white_list, world.white_list, world.later]
    for n in range(16):
        operation = rng.choice(operations if len(world.ids) < 5 else [o for o in operations if o != world.register])
        await operation(rng)
        await world.check(f"{n}: {operation.__name__}")


async def test_an_expired_licence_ends_compliance_at_once_and_blocks_the_application(gql, demo, sessionmaker, clock):
    # an approved institution whose licence ends in ten days
    institution_id, token = await portal_institution(gql, sessionmaker)
    county = await gql.login("edu-440106")
    end = today(clock.now) + timedelta(days=10)
    ok(await save(gql, QUALIFICATIONS, {"id": institution_id, "input": qualifications(end)}, token=county), "saveInstitutionQualifications")
    await ready_for_compliance(gql, token)
    application = ok(await gql(SUBMIT, {"i": {"type": "COMPLIANCE", "statement": "已完成"}}, token=token), "submitApplication")
    assert application["application"]["status"] == "PENDING"
    async with sessionmaker() as db:
        application_id = (await db.execute(sa.select(Application.id).where(Application.type == "COMPLIANCE"))).scalar_one()
    ok(await gql(REVIEW, {"id": str(application_id), "i": {"approve": True, "opinion": "同意"}}, token=county), "reviewApplication")
    before = (await gql(LOOKUP, {"id": institution_id}))["data"]["publicInstitution"]
    assert (before["compliant"], [r["code"] for r in before["standing"]["reasons"]]) == (True, ["LICENCE_EXPIRING"])
    warning = before["standing"]["reasons"][0]
    assert warning == {
        "code": "LICENCE_EXPIRING", "effect": "WARNING", "message": f"办学许可证（教民144010670000001号）将于 {end:%Y-%m-%d} 到期（还有 10 天），请及时办理延续",
        "source": "国办发〔2018〕80号", "recordType": "Institution", "recordName": "办学许可证 教民144010670000001号",
    }
    # when: the licence's last day passes
    clock.advance(days=11)
    async with sessionmaker() as db:
        username = (await db.execute(sa.select(Account.username).where(Account.institution_id == institution_id))).scalar_one()
    county, token = await gql.login("edu-440106"), await gql.login(username)  # the sessions ended meanwhile
    # then: not lawful nor compliant, everywhere, and why; the decision stays in the history
    after = (await gql(LOOKUP, {"id": institution_id}))["data"]["publicInstitution"]
    assert (after["lawful"], after["compliant"], after["status"], after["licence"]) == (False, False, "REGISTERED", {"valid": False})
    expired = {r["code"]: r for r in after["standing"]["reasons"]}["LICENCE_EXPIRED"]
    assert (expired["effect"], expired["message"]) == ("NOT_LAWFUL", f"办学许可证（教民144010670000001号）已于 {end:%Y-%m-%d} 过期")
    home = (await gql(HOME, {"id": institution_id}, token=county))["data"]["institution"]
    assert home["reviewStatus"] == "APPROVED" and [m["code"] for m in home["home"]["missing"]] == ["LICENCE_EXPIRED"]
    findings = (await gql("query($id: ID!) { institution(id: $id) { findings { rule } } }", {"id": institution_id}, token=county))["data"]["institution"]
    assert findings == {"findings": [{"rule": "LICENCE_EXPIRED"}]}
    listed = (await gql(FILTERED, {"f": {"standingReason": "LICENCE_EXPIRED"}}, token=county))["data"]["institutions"]
    assert [e["node"]["id"] for e in listed["edges"]] == [institution_id]
    # a new compliance application (after a rejection) is refused with every blocking reason
    async with sessionmaker() as db:
        await db.execute(sa.update(Institution).values(review_status="REJECTED"))
        await db.commit()
    refused = data(await gql(SUBMIT, {"i": {"type": "COMPLIANCE", "statement": "再次申请"}}, token=token), "submitApplication")
    assert refused["application"] is None
    assert [(e["field"], e["code"], e["message"]) for e in refused["errors"]] == [
        ("type", "NOT_ALLOWED", f"办学许可证（教民144010670000001号）已于 {end:%Y-%m-%d} 过期")
    ]
    # no licence at all: refused for that
    missing = qualifications(None)
    ok(await save(gql, QUALIFICATIONS, {"id": institution_id, "input": missing}, token=county), "saveInstitutionQualifications")
    refused = data(await gql(SUBMIT, {"i": {"type": "COMPLIANCE", "statement": "再次申请"}}, token=token), "submitApplication")
    assert [e["message"] for e in refused["errors"]] == ["学科类培训须取得办学许可证"]


async def test_black_and_white_lists_in_either_order_never_name_one_institution_both(gql, demo, sessionmaker):
    await insert_institutions(sessionmaker, {"edu-440106": 3}, **ELIGIBLE)
    async with sessionmaker() as db:
        ids = [str(i) for i in (await db.execute(sa.select(Institution.id).order_by(Institution.name))).scalars()]
    county, province = await gql.login("edu-440106"), await gql.login("edu-440000")
    # white first, then the province's black list: the white list gets a next period without it
    white = ok(await gql(PUBLISH, {"k": "WHITE"}, token=county), "publishListPeriod")
    assert (white["period"], white["leftOut"]) == ({"number": 1, "entryCount": 3}, {"total": 0, "byReason": [], "institutions": []})
    black = ok(await gql(PUBLISH, {"k": "BLACK", "e": [{"institutionId": ids[0], "reason": "虚假宣传"}]}, token=province), "publishListPeriod")
    assert black["revised"] == [{"region": {"code": "440106"}, "number": 2, "entryCount": 2}]
    # then white again: left out, counted by its reason
    again = ok(await gql(PUBLISH, {"k": "WHITE"}, token=county), "publishListPeriod")
    assert again["period"] == {"number": 3, "entryCount": 2}
    assert again["leftOut"] == {"total": 1, "byReason": [{"code": "BLACK_LISTED", "count": 1}], "institutions": [{"id": ids[0], "reasons": ["BLACK_LISTED"]}]}
    # periods are snapshots: period 1 still names all three
    first = (await gql('{ listPeriod(regionCode: "440106", kind: WHITE, number: 1) { entryCount entries { edges { node { standing { blackListed } } } } } }'))["data"]
    assert first["listPeriod"]["entryCount"] == 3
    assert sorted(e["node"]["standing"]["blackListed"] for e in first["listPeriod"]["entries"]["edges"]) == [False, False, True]


async def test_no_application_is_left_without_a_reviewer(gql, demo, sessionmaker):
    # an arts institution of 天河, whose culture-and-tourism bureau reviews it (docs/DOMAIN.md §P1.3.1)
    institution_id, token = await portal_institution(gql, sessionmaker, kind="NON_SUBJECT", parts=("Facilities",))
    county = await gql.login("edu-440106")
    for part, values in (("Operation", {**PARTS["Operation"], "trainingCategories": ["ARTS"]}), ("Qualifications", qualifications(None))):
        ok(await save(gql, part_mutation(part), {"id": institution_id, "input": values}, token=county), f"saveInstitution{part}")
    licence = {"type": "LICENCE", "statement": "申请办学许可证"}
    # the culture-and-tourism bureau; without its account, the county education bureau
    for disabled, department in ((None, "CULTURE_TOURISM"), ("culture-440106", "EDUCATION")):
        async with sessionmaker() as db:
            await db.execute(sa.update(Application).values(status="REJECTED"))  # the earlier one decided
            await db.execute(sa.update(Account).where(Account.username == disabled).values(enabled=False))
            await db.commit()
        submitted_ = ok(await gql(SUBMIT, {"i": licence}, token=token), "submitApplication")["application"]
        assert submitted_["authorityDepartment"] == department
    # without either, the submission is refused, naming the authority
    async with sessionmaker() as db:
        await db.execute(sa.update(Application).values(status="REJECTED"))
        await db.execute(sa.update(Account).where(Account.username == "edu-440106").values(enabled=False))
        await db.commit()
    refused = data(await gql(SUBMIT, {"i": licence}, token=token), "submitApplication")
    assert refused["application"] is None and [(e["field"], e["code"], e["message"]) for e in refused["errors"]] == [
        ("type", "NOT_ALLOWED", "天河区文化和旅游部门尚未开通审核账号，暂不能受理办学许可申请，请联系当地教育部门 (no reviewing account)")
    ]


async def test_the_standing_of_a_page_costs_the_same_statements_whatever_its_size(gql, demo, sessionmaker, sql):
    await insert_institutions(sessionmaker, {"edu-440106": 30}, review_status="APPROVED")
    await insert_institutions(
        sessionmaker, {"edu-440106": 30}, qualification_status="FULL", licence_number="教民1号", licence_issuer="教育局",
        licence_valid_from=date(2020, 1, 1), licence_valid_to=date(2025, 1, 1), business_licence_number="B", business_licence_issuer="民政局",
    )
    async with sessionmaker() as db:
        first = (await db.execute(sa.select(Institution.id).order_by(Institution.name).limit(1))).scalar_one()
    province, county = await gql.login("edu-440000"), await gql.login("edu-440106")
    ok(await gql(PUBLISH, {"k": "BLACK", "e": [{"institutionId": str(first), "reason": "违规"}]}, token=province), "publishListPeriod")
    query = "query($n: Int!) { institutions(first: $n) { edges { node { name standing %s home { missing { code } warnings { code } } } } } }" % STANDING
    await gql(query, {"n": 1}, token=county)  # the session's subtree is read once (auth.scope)
    counts = {}
    for n in (5, 50):
        sql.reset()
        page = (await gql(query, {"n": n}, token=county))["data"]["institutions"]["edges"]
        assert len(page) == n
        counts[n] = sql.count
    assert counts[5] == counts[50]
    assert page[0]["node"]["standing"]["blackListed"] is True
