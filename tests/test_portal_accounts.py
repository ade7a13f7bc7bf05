"""Institution accounts (培训机构用户, docs/DOMAIN.md §P2): verification codes, registration by mobile,
claims of institutions a county registered first, login by mobile, forgotten passwords and
personal information. The default sender's outbox is read straight from the database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from models import Account, AuditRecord, Channel, Institution, InstitutionClaim, VerificationCode
from resolvers.accounts import messaging
from tests.helpers import (
    CREATE_STAFF,
    LOGIN,
    MOBILE,
    PARTS,
    PASSWORD,
    REGISTER,
    REQUEST,
    TEACHER,
    basics,
    credit_code,
    error_codes,
    insert_institutions,
    institution_account,
    latest_code,
    outbox,
    part_mutation,
    register,
    register_account,
    registration,
    request_code,
)

ME = """{ me { username name ... on InstitutionAccount { mobile email
  institution { id name version registeringUnit { name } }
  claim { status institutionName creditCode reason } } } }"""
CLAIMS = """query($s: InstitutionClaimStatus) { institutionClaims(status: $s) {
  totalCount edges { node { id status institutionName applicantName applicantMobile reason institution { name } } } } }"""
CONFIRM = "mutation($id: ID!) { confirmInstitutionClaim(id: $id) { claim { status decidedAt } errors { field code } } }"
REJECT = "mutation($id: ID!, $r: String!) { rejectInstitutionClaim(id: $id, reason: $r) { claim { status reason } errors { field code } } }"
RESET = """mutation($d: String!, $c: String!, $p: String!) {
  resetPassword(mobileOrEmail: $d, code: $c, newPassword: $p) { ok errors { field code } } }"""
PROFILE = """mutation($input: UpdateMyProfileInput!) { updateMyProfile(input: $input) {
  account { username name mobile } institution { phone postalCode address version } errors { field code } } }"""
async def operations(sessionmaker) -> list[str]:
    """The trail's operations in order, after those of migration 0015 (the 重庆 2026 change set)."""
    async with sessionmaker() as db:
        stmt = sa.select(AuditRecord.operation).where(AuditRecord.username != "migration 0015").order_by(AuditRecord.seq)
        return list((await db.execute(stmt)).scalars())


async def county_institution(sessionmaker, unit: str = "edu-440106") -> Institution:
    """An institution the county desk registered, read back from the database."""
    names = await insert_institutions(sessionmaker, {unit: 1})
    async with sessionmaker() as db:
        return (await db.execute(sa.select(Institution).where(Institution.name == names[unit][0]))).scalar_one()


# --- verification codes -----------------------------------------------------------------


async def test_codes_are_stored_hashed_and_expire_after_ten_minutes(gql, demo, sessionmaker, clock):
    # given: a code requested for registration
    code = await request_code(gql, sessionmaker)
    # then: the message holds the code, the table only a salted hash of it
    assert await outbox(sessionmaker, MOBILE) == [f"您正在注册全国校外教育培训监管与服务综合平台机构账号，验证码 {code}，10 分钟内有效。如非本人操作请忽略。"]
    async with sessionmaker() as db:
        row = (await db.execute(sa.select(VerificationCode))).scalar_one()
        dumped = (await db.execute(sa.text("SELECT verification_code::text FROM verification_code"))).scalar_one()
    assert code not in dumped and code not in row.code_hash
    assert (row.destination, row.purpose, row.attempts, row.used_at) == (MOBILE, "REGISTER", 0, None)
    assert (row.expires_at - row.created_at).total_seconds() == 600
    # when: ten minutes pass
    clock.advance(minutes=10)
    result = await gql(REGISTER, registration(code))
    # then
    assert result["data"]["registerInstitutionAccount"] == {"account": None, "claimStatus": None, "errors": [{"field": "code", "code": "CODE_EXPIRED"}]}


async def test_a_code_serves_once_and_dies_after_five_wrong_tries(gql, demo, sessionmaker, clock):
    code = await request_code(gql, sessionmaker)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        result = await gql(REGISTER, registration(wrong))
        assert result["data"]["registerInstitutionAccount"]["errors"] == [{"field": "code", "code": "INVALID_CODE"}]
    # the right code no longer works: it is dead
    dead = await gql(REGISTER, registration(code))
    assert dead["data"]["registerInstitutionAccount"]["errors"] == [{"field": "code", "code": "INVALID_CODE"}]
    # a new code (after the minute between two codes) works once
    clock.advance(seconds=60)
    code = await request_code(gql, sessionmaker)
    assert (await gql(REGISTER, registration(code)))["data"]["registerInstitutionAccount"]["errors"] == []
    again = await gql(REGISTER, registration(code, n=902))
    assert again["data"]["registerInstitutionAccount"]["errors"] == [{"field": "code", "code": "INVALID_CODE"}]


async def test_only_the_latest_code_counts(gql, demo, sessionmaker, clock):
    first = await request_code(gql, sessionmaker)
    clock.advance(seconds=61)
    second = await request_code(gql, sessionmaker)
    if first != second:
        stale = await gql(REGISTER, registration(first))
        assert stale["data"]["registerInstitutionAccount"]["errors"] == [{"field": "code", "code": "INVALID_CODE"}]
    assert (await gql(REGISTER, registration(second)))["data"]["registerInstitutionAccount"]["errors"] == []


async def test_codes_are_limited_per_number(gql, demo, sessionmaker, clock):
    await request_code(gql, sessionmaker)
    # one a minute
    limited = await gql(REQUEST, {"p": "REGISTER", "m": MOBILE})
    assert error_codes(limited) == ["RATE_LIMITED"]
    assert limited["errors"][0]["extensions"]["retryAfterSeconds"] == 60
    assert limited["data"] is None
    # whatever the purpose or the spelling of the number
    assert error_codes(await gql(REQUEST, {"p": "RESET_PASSWORD", "m": "+86 139-0000-0001"})) == ["RATE_LIMITED"]
    # five an hour
    for _ in range(4):
        clock.advance(seconds=60)
        await request_code(gql, sessionmaker)
    clock.advance(seconds=60)
    limited = await gql(REQUEST, {"p": "REGISTER", "m": MOBILE})
    assert error_codes(limited) == ["RATE_LIMITED"]
    assert limited["errors"][0]["extensions"]["retryAfterSeconds"] == 3600 - 5 * 60
    clock.advance(seconds=3600 - 5 * 60)
    await request_code(gql, sessionmaker)
    # a refused request stored and sent nothing
    async with sessionmaker() as db:
        assert (await db.execute(sa.select(sa.func.count()).select_from(VerificationCode))).scalar() == 6
    assert len(await outbox(sessionmaker, MOBILE)) == 6


async def test_codes_are_limited_per_client_address(gql, demo, sessionmaker, clock):
    for i in range(20):
        await request_code(gql, sessionmaker, f"1390000{i:04d}")
    limited = await gql(REQUEST, {"p": "REGISTER", "m": "13911112222"})
    assert error_codes(limited) == ["RATE_LIMITED"]
    assert limited["errors"][0]["extensions"]["retryAfterSeconds"] == 3600
    assert await outbox(sessionmaker, "13911112222") == []
    clock.advance(hours=1)
    await request_code(gql, sessionmaker, "13911112222")


async def test_code_requests_are_checked_as_data(gql, demo):
    async def errors(variables, token=None):
        return (await gql(REQUEST, variables, token=token))["data"]["requestVerificationCode"]["errors"]

    assert await errors({"p": "REGISTER", "m": "010-12345678"}) == [{"field": "mobile", "code": "INVALID"}]
    assert await errors({"p": "REGISTER"}) == [{"field": "mobile", "code": "REQUIRED"}]
    assert await errors({"p": "REGISTER", "e": "a@example.cn"}) == [{"field": "email", "code": "NOT_ALLOWED"}]
    assert await errors({"p": "RESET_PASSWORD", "e": "not-an-email"}) == [{"field": "email", "code": "INVALID"}]
    assert await errors({"p": "RESET_PASSWORD", "m": MOBILE, "e": "a@example.cn"}) == [{"field": None, "code": "INVALID"}]
    # a code to change the mobile is for a logged-in institution account
    assert error_codes(await gql(REQUEST, {"p": "CHANGE_MOBILE", "m": MOBILE})) == ["UNAUTHENTICATED"]
    county = await gql.login("edu-440106")
    assert error_codes(await gql(REQUEST, {"p": "CHANGE_MOBILE", "m": MOBILE}, token=county)) == ["FORBIDDEN"]


class RecordingSender:
    sent: list[tuple] = []

    def __init__(self, db, now) -> None:
        pass

    async def send(self, channel, destination, text) -> None:
        type(self).sent.append((channel.value, destination, text))


class BrokenSender(RecordingSender):
    async def send(self, channel, destination, text) -> None:
        raise messaging.SendFailed("短信发送失败，请稍后重试 (the SMS gateway refused the message)")


async def test_the_sender_is_a_setting(gql, demo, app, sessionmaker):
    # given: a gateway named in the settings (XWPX_SENDER=module:Class)
    app.state.settings.sender = "tests.test_portal_accounts:RecordingSender"
    # (pytest may have imported this file under another module name than the setting's)
    recording = messaging.sender_class(app.state.settings.sender)
    recording.sent = []
    # when
    await gql(REQUEST, {"p": "REGISTER", "m": MOBILE})
    # then: it got the message, the default outbox did not
    assert [(c, d) for c, d, _ in recording.sent] == [("MOBILE", MOBILE)]
    assert await outbox(sessionmaker, MOBILE) == []
    # a gateway that fails: a clear error, and no code stored
    app.state.settings.sender = "tests.test_portal_accounts:BrokenSender"
    result = await gql(REQUEST, {"p": "REGISTER", "m": "13900000002"})
    assert error_codes(result) == ["SEND_FAILED"]
    async with sessionmaker() as db:
        assert (await db.execute(sa.select(VerificationCode.destination))).scalars().all() == [MOBILE]


def test_destinations_are_masked_in_the_log():

    assert messaging.masked_destination(Channel.MOBILE, "13900000001") == "139****0001"
    assert messaging.masked_destination(Channel.EMAIL, "zhang@example.cn") == "z***@example.cn"


# --- registration -----------------------------------------------------------------------


async def test_a_new_institution_registers_and_logs_in_by_mobile(gql, demo, sessionmaker):
    # when
    payload = await register_account(gql, sessionmaker, email="Wang@Example.cn")
    # then: the login name is the mobile; the institution is bound at once
    assert payload == {
        "account": {"username": MOBILE, "name": "王五", "mobile": MOBILE, "email": "wang@example.cn"},
        "claimStatus": None,
        "errors": [],
    }
    for spelling in (MOBILE, "+86 139-0000-0001"):
        login = await gql(LOGIN, {"u": spelling, "p": PASSWORD})
        assert login["data"]["login"]["account"] == {"username": MOBILE}
    token = login["data"]["login"]["token"]
    me = (await gql(ME, token=token))["data"]["me"]
    assert me["claim"] is None
    assert me["institution"]["name"] == "天河自主注册901号培训学校"
    # its institution, by id: 机构自主注册, no registering unit; its own data in full
    read = await gql("query($id: ID!) { institution(id: $id) { name creditCode county { code } registeringUnit { name } } }", {"id": me["institution"]["id"]}, token=token)
    assert read == {"data": {"institution": {"name": "天河自主注册901号培训学校", "creditCode": credit_code(901, "440106"), "county": {"code": "440106"}, "registeringUnit": None}}}
    # the county sees it in its list; its own sub-units do not (they registered it not)
    county = await gql.login("edu-440106")
    listed = await gql("{ institutions { edges { node { name registeringUnit { name } } } } }", token=county)
    assert listed["data"]["institutions"]["edges"] == [{"node": {"name": "天河自主注册901号培训学校", "registeringUnit": None}}]
    sub_unit = await gql.login("edu-440106-01")
    assert (await gql("{ institutions { totalCount } }", token=sub_unit))["data"]["institutions"]["totalCount"] == 0
    # the trail: the code, the account, the institution, the logins; the mobile masked
    assert await operations(sessionmaker) == [
        "requestVerificationCode", "registerInstitutionAccount", "registerInstitution", "login", "login", "login", "login",
    ]
    async with sessionmaker() as db:
        record = (await db.execute(sa.select(AuditRecord).where(AuditRecord.operation == "registerInstitutionAccount"))).scalar_one()
    assert record.changes["mobile"] == [None, "139****0001"] and record.region_code == "440106"
    assert record.changes["name"] == [None, "王五"]


async def test_registration_is_validated_as_data_before_the_code_is_spent(gql, demo, sessionmaker):
    code = await request_code(gql, sessionmaker)
    bad = registration(
        code,
        password="short",
        countyCode="440100",  # a prefecture with counties: not the lowest level
        email="nope",
        institution=basics(903, "440106", legalRepIdNumber="110105194912310021", name=""),
    )
    result = await gql(REGISTER, bad)
    assert result["data"]["registerInstitutionAccount"]["errors"] == [
        {"field": "password", "code": "WEAK_PASSWORD"},
        {"field": "email", "code": "INVALID"},
        {"field": "countyCode", "code": "INVALID"},
        {"field": "institution.name", "code": "REQUIRED"},
        {"field": "institution.legalRepIdNumber", "code": "INVALID"},
    ]
    # the county's rules: the credit code of another province is refused
    other_province = registration(code, institution=basics(903, "420102"))
    result = await gql(REGISTER, other_province)
    assert result["data"]["registerInstitutionAccount"]["errors"] == [{"field": "institution.creditCode", "code": "INVALID"}]
    # the code still works
    assert (await gql(REGISTER, registration(code)))["data"]["registerInstitutionAccount"]["errors"] == []
    async with sessionmaker() as db:
        assert (await db.execute(sa.select(sa.func.count()).select_from(Account).where(Account.kind == "INSTITUTION"))).scalar() == 1


async def test_a_registered_mobile_is_told_only_to_the_holder_of_the_code(gql, demo, sessionmaker, clock):
    await register_account(gql, sessionmaker)
    clock.advance(seconds=60)
    # without the right code: nothing is learnt about the number
    await gql(REQUEST, {"p": "REGISTER", "m": MOBILE})
    wrong = await gql(REGISTER, registration("999999" if await latest_code(sessionmaker, MOBILE) != "999999" else "888888", n=904))
    assert wrong["data"]["registerInstitutionAccount"]["errors"] == [{"field": "code", "code": "INVALID_CODE"}]
    code = await latest_code(sessionmaker, MOBILE)
    taken = await gql(REGISTER, registration(code, n=904))
    assert taken["data"]["registerInstitutionAccount"]["errors"] == [{"field": "mobile", "code": "DUPLICATE"}]
    async with sessionmaker() as db:
        assert (await db.execute(sa.select(sa.func.count()).select_from(Institution))).scalar() == 1


# --- claims -----------------------------------------------------------------------------


async def test_an_institution_the_county_registered_is_bound_only_when_the_county_confirms(gql, demo, sessionmaker):
    # given: an institution the county desk registered
    institution = await county_institution(sessionmaker)
    before = (institution.name, institution.version, institution.updated_at, institution.address, institution.legal_rep_name)
    # when: someone registers with its credit code (and other data)
    payload = await register_account(gql, sessionmaker, institution=basics(1, "440106", creditCode=institution.credit_code, name="冒名机构", legalRepName="赵六"))
    # then: pending; the institution is not taken over, not even edited
    assert payload["claimStatus"] == "PENDING" and payload["errors"] == []
    async with sessionmaker() as db:
        after = await db.get(Institution, institution.id)
        assert (after.name, after.version, after.updated_at, after.address, after.legal_rep_name) == before
        assert (await db.execute(sa.select(sa.func.count()).select_from(Institution))).scalar() == 1
    token = await gql.login(MOBILE, PASSWORD)
    me = (await gql(ME, token=token))["data"]["me"]
    assert me["institution"] is None
    assert me["claim"] == {"status": "PENDING", "institutionName": institution.name, "creditCode": institution.credit_code, "reason": None}
    # the portal's operations wait for the county
    assert error_codes(await gql(PROFILE, {"input": {"name": "王五五"}}, token=token)) == ["INSTITUTION_PENDING"]
    assert (await gql("query($id: ID!) { institution(id: $id) { name } }", {"id": str(institution.id)}, token=token))["data"]["institution"] is None

    # another county, and a sub-unit of another county, neither see nor decide it
    other = await gql.login("edu-440104")
    assert (await gql(CLAIMS, token=other))["data"]["institutionClaims"] == {"totalCount": 0, "edges": []}
    async with sessionmaker() as db:
        claim_id = str((await db.execute(sa.select(InstitutionClaim.id))).scalar_one())
    assert (await gql(CONFIRM, {"id": claim_id}, token=other))["data"]["confirmInstitutionClaim"] == {"claim": None, "errors": [{"field": "id", "code": "NOT_FOUND"}]}
    assert (await gql(REJECT, {"id": claim_id, "r": "x"}, token=other))["data"]["rejectInstitutionClaim"] == {"claim": None, "errors": [{"field": "id", "code": "NOT_FOUND"}]}
    for unit in ("edu-440104-01", "edu-440106-01", "sports-440106"):
        unit_token = await gql.login(unit)
        assert error_codes(await gql(CLAIMS, token=unit_token)) == ["FORBIDDEN"], unit
        assert error_codes(await gql(CONFIRM, {"id": claim_id}, token=unit_token)) == ["FORBIDDEN"], unit
    # the province reads it (the applicant's mobile masked) and may not decide it
    province = await gql.login("edu-440000")
    listed = (await gql(CLAIMS, {"s": "PENDING"}, token=province))["data"]["institutionClaims"]
    assert [(e["node"]["applicantMobile"], e["node"]["institution"]["name"]) for e in listed["edges"]] == [("139****0001", institution.name)]
    assert error_codes(await gql(CONFIRM, {"id": claim_id}, token=province)) == ["FORBIDDEN"]

    # when: the county of the institution confirms
    county = await gql.login("edu-440106")
    listed = (await gql(CLAIMS, token=county))["data"]["institutionClaims"]
    assert listed == {
        "totalCount": 1,
        "edges": [{"node": {"id": claim_id, "status": "PENDING", "institutionName": institution.name, "applicantName": "王五",
                            "applicantMobile": MOBILE, "reason": None, "institution": {"name": institution.name}}}],
    }
    confirmed = (await gql(CONFIRM, {"id": claim_id}, token=county))["data"]["confirmInstitutionClaim"]
    assert confirmed["claim"]["status"] == "CONFIRMED" and confirmed["errors"] == []
    # then: bound, in the same session
    me = (await gql(ME, token=token))["data"]["me"]
    assert me["institution"]["name"] == institution.name and me["claim"]["status"] == "CONFIRMED"
    assert me["institution"]["registeringUnit"] == {"name": "天河区教育局"}
    assert (await gql(PROFILE, {"input": {"name": "王五五"}}, token=token))["data"]["updateMyProfile"]["errors"] == []
    # decided once
    again = (await gql(CONFIRM, {"id": claim_id}, token=county))["data"]["confirmInstitutionClaim"]
    assert again == {"claim": None, "errors": [{"field": "id", "code": "NOT_ALLOWED"}]}
    assert [op for op in await operations(sessionmaker) if op in ("claimInstitution", "confirmInstitutionClaim", "bindInstitutionAccount")] == [
        "claimInstitution", "confirmInstitutionClaim", "bindInstitutionAccount",
    ]


async def test_the_county_rejects_a_claim_with_a_reason(gql, demo, sessionmaker):
    institution = await county_institution(sessionmaker)
    await register_account(gql, sessionmaker, institution=basics(1, "440106", creditCode=institution.credit_code))
    county = await gql.login("edu-440106")
    claim_id = (await gql(CLAIMS, token=county))["data"]["institutionClaims"]["edges"][0]["node"]["id"]
    blank = (await gql(REJECT, {"id": claim_id, "r": "  "}, token=county))["data"]["rejectInstitutionClaim"]
    assert blank == {"claim": None, "errors": [{"field": "reason", "code": "REQUIRED"}]}
    rejected = (await gql(REJECT, {"id": claim_id, "r": "申请人与法定代表人信息不符"}, token=county))["data"]["rejectInstitutionClaim"]
    assert rejected == {"claim": {"status": "REJECTED", "reason": "申请人与法定代表人信息不符"}, "errors": []}
    assert (await gql(CONFIRM, {"id": claim_id}, token=county))["data"]["confirmInstitutionClaim"]["errors"] == [{"field": "id", "code": "NOT_ALLOWED"}]
    token = await gql.login(MOBILE, PASSWORD)
    me = (await gql(ME, token=token))["data"]["me"]
    assert me["institution"] is None and me["claim"]["status"] == "REJECTED" and me["claim"]["reason"] == "申请人与法定代表人信息不符"
    assert (await gql(CLAIMS, {"s": "PENDING"}, token=county))["data"]["institutionClaims"]["totalCount"] == 0
    assert (await gql(CLAIMS, {"s": "REJECTED"}, token=county))["data"]["institutionClaims"]["totalCount"] == 1


async def test_one_account_manages_one_institution(gql, demo, sessionmaker, clock):
    institution = await county_institution(sessionmaker)
    # two accounts claim the same institution
    for mobile in (MOBILE, "13900000002"):
        await register_account(gql, sessionmaker, mobile=mobile, institution=basics(1, "440106", creditCode=institution.credit_code), email=None)
    county = await gql.login("edu-440106")
    edges = (await gql(CLAIMS, token=county))["data"]["institutionClaims"]["edges"]
    assert len(edges) == 2
    # confirming one rejects the other
    await gql(CONFIRM, {"id": edges[0]["node"]["id"]}, token=county)
    statuses = [(e["node"]["status"], e["node"]["reason"]) for e in (await gql(CLAIMS, token=county))["data"]["institutionClaims"]["edges"]]
    assert statuses == [("CONFIRMED", None), ("REJECTED", "该机构已确认由其他账号管理")]
    # an institution that has an account already: a claim on it cannot be confirmed
    other = await county_institution(sessionmaker)
    await institution_account(sessionmaker, other.name)
    await register_account(gql, sessionmaker, mobile="13900000003", institution=basics(1, "440106", creditCode=other.credit_code))
    pending = (await gql(CLAIMS, {"s": "PENDING"}, token=county))["data"]["institutionClaims"]["edges"]
    refused = (await gql(CONFIRM, {"id": pending[0]["node"]["id"]}, token=county))["data"]["confirmInstitutionClaim"]
    assert refused == {"claim": None, "errors": [{"field": "id", "code": "NOT_ALLOWED"}]}


# --- login by mobile --------------------------------------------------------------------


async def test_an_account_logs_in_by_username_or_mobile_and_failures_count_per_number(gql, demo, sessionmaker, clock):
    # given: an account whose login name is not its mobile
    institution = await county_institution(sessionmaker)
    username = await institution_account(sessionmaker, institution.name)
    async with sessionmaker() as db:
        await db.execute(sa.update(Account).where(Account.username == username).values(mobile="13800001111"))
        await db.commit()
    # both work
    for name in (username, "13800001111", "+86 (138) 0000-1111"):
        result = await gql(LOGIN, {"u": name, "p": "Demo#2026"})
        assert result["data"]["login"]["account"] == {"username": username}, name
    # an unknown mobile reads like any unknown name
    assert error_codes(await gql(LOGIN, {"u": "13800002222", "p": "Demo#2026"})) == ["INVALID_CREDENTIALS"]
    # failures are counted per number whatever its spelling
    for spelling in ("13800001111", "+8613800001111", "138 0000 1111"):
        assert error_codes(await gql(LOGIN, {"u": spelling, "p": "wrong"})) == ["INVALID_CREDENTIALS"]
    assert error_codes(await gql(LOGIN, {"u": "0086-138-0000-1111", "p": "Demo#2026"})) == ["LOGIN_THROTTLED"]
    # a regulator is not found by a mobile
    async with sessionmaker() as db:
        await db.execute(sa.update(Account).where(Account.username == "edu-440106").values(mobile="13800003333"))
        await db.commit()
    assert error_codes(await gql(LOGIN, {"u": "13800003333", "p": "Demo#2026"})) == ["INVALID_CREDENTIALS"]


# --- forgotten password -----------------------------------------------------------------


async def test_a_forgotten_password_is_reset_with_a_code(gql, demo, sessionmaker, clock):
    # given: a registered account, logged in, with failed logins behind it
    await register_account(gql, sessionmaker, email="wang@example.cn")
    clock.advance(seconds=60)
    session = await gql.login(MOBILE, PASSWORD)
    for _ in range(3):
        await gql(LOGIN, {"u": MOBILE, "p": "wrong"})
    # when: a code is asked for, for this number and for one without an account
    known = await gql(REQUEST, {"p": "RESET_PASSWORD", "m": MOBILE})
    unknown = await gql(REQUEST, {"p": "RESET_PASSWORD", "m": "13700000000"})
    # then: the same answer, and a message only where an account is
    assert known == unknown == {"data": {"requestVerificationCode": {"accepted": True, "expiresInSeconds": 600, "resendAfterSeconds": 60, "errors": []}}}
    assert await outbox(sessionmaker, "13700000000") == []
    code = await latest_code(sessionmaker, MOBILE)
    # the limits answer alike too
    assert error_codes(await gql(REQUEST, {"p": "RESET_PASSWORD", "m": "13700000000"})) == ["RATE_LIMITED"]
    # an unknown number reads like a wrong code
    assert (await gql(RESET, {"d": "13700000000", "c": code, "p": "Another#2026"}))["data"]["resetPassword"] == {"ok": False, "errors": [{"field": "code", "code": "INVALID_CODE"}]}
    wrong = "000000" if code != "000000" else "111111"
    assert (await gql(RESET, {"d": MOBILE, "c": wrong, "p": "Another#2026"}))["data"]["resetPassword"] == {"ok": False, "errors": [{"field": "code", "code": "INVALID_CODE"}]}
    weak = await gql(RESET, {"d": MOBILE, "c": code, "p": "weak"})
    assert weak["data"]["resetPassword"] == {"ok": False, "errors": [{"field": "newPassword", "code": "WEAK_PASSWORD"}]}
    # with the code
    assert (await gql(RESET, {"d": MOBILE, "c": code, "p": "Another#2026"}))["data"]["resetPassword"] == {"ok": True, "errors": []}
    # every session ends; the failed logins are forgotten; the new password works at once
    ended = await gql(ME, token=session)  # a query of the full schema, without a session now
    assert ended["data"] is None and error_codes(ended) == ["UNAUTHENTICATED"]
    assert error_codes(await gql(LOGIN, {"u": MOBILE, "p": PASSWORD})) == ["INVALID_CREDENTIALS"]
    assert "errors" not in await gql(LOGIN, {"u": MOBILE, "p": "Another#2026"})
    # the code served once
    assert (await gql(RESET, {"d": MOBILE, "c": code, "p": "Third#2026x"}))["data"]["resetPassword"]["errors"] == [{"field": "code", "code": "INVALID_CODE"}]

    # by e-mail, the same way
    clock.advance(seconds=60)
    await gql(REQUEST, {"p": "RESET_PASSWORD", "e": "WANG@example.cn"})
    await gql(REQUEST, {"p": "RESET_PASSWORD", "e": "nobody@example.cn"})
    assert await outbox(sessionmaker, "nobody@example.cn") == []
    code = await latest_code(sessionmaker, "wang@example.cn")
    assert (await gql(RESET, {"d": "wang@example.cn", "c": code, "p": "ByMail#2026"}))["data"]["resetPassword"] == {"ok": True, "errors": []}
    assert "errors" not in await gql(LOGIN, {"u": MOBILE, "p": "ByMail#2026"})
    assert (await operations(sessionmaker)).count("resetPasswordByCode") == 2


# --- personal information ---------------------------------------------------------------


async def test_personal_information_and_a_new_mobile_with_a_code(gql, demo, sessionmaker, clock):
    await register_account(gql, sessionmaker)
    token = await gql.login(MOBILE, PASSWORD)
    version = (await gql(ME, token=token))["data"]["me"]["institution"]["version"]
    # name, institution phone, postal code and address (with the version read)
    changes = {"name": "王小五", "institutionPhone": "020-87654321", "postalCode": "510000", "address": "广州市天河区体育西路 2 号"}
    no_version = await gql(PROFILE, {"input": changes}, token=token)
    assert no_version["data"]["updateMyProfile"]["errors"] == [{"field": "institutionVersion", "code": "REQUIRED"}]
    stale = await gql(PROFILE, {"input": {**changes, "institutionVersion": version - 1}}, token=token)
    assert stale["data"]["updateMyProfile"]["errors"] == [{"field": "institutionVersion", "code": "CONFLICT"}]
    bad = await gql(PROFILE, {"input": {"name": " ", "institutionPhone": "12", "postalCode": "51", "address": "", "mobile": "123"}}, token=token)
    assert bad["data"]["updateMyProfile"]["errors"] == [
        {"field": "name", "code": "REQUIRED"},
        {"field": "mobile", "code": "INVALID"},
        {"field": "institutionPhone", "code": "INVALID"},
        {"field": "postalCode", "code": "INVALID"},
        {"field": "address", "code": "REQUIRED"},
    ]
    saved = await gql(PROFILE, {"input": {**changes, "institutionVersion": version}}, token=token)
    assert saved["data"]["updateMyProfile"] == {
        "account": {"username": MOBILE, "name": "王小五", "mobile": MOBILE},
        "institution": {"phone": "020-87654321", "postalCode": "510000", "address": "广州市天河区体育西路 2 号", "version": version + 1},
        "errors": [],
    }
    async with sessionmaker() as db:
        record = (await db.execute(sa.select(AuditRecord).where(AuditRecord.operation == "updateInstitutionContact"))).scalar_one()
    assert record.changes["address"] == ["广州市天河区天河路 1 号", "广州市天河区体育西路 2 号"]
    assert record.changes["phone"] == ["020-38880000", "020-87654321"]

    # a new mobile needs a code sent to it
    new = "13900000009"
    assert (await gql(PROFILE, {"input": {"mobile": new}}, token=token))["data"]["updateMyProfile"]["errors"] == [{"field": "mobileCode", "code": "REQUIRED"}]
    code = await request_code(gql, sessionmaker, new, "CHANGE_MOBILE", token=token)
    assert await outbox(sessionmaker, new) != [] and (await outbox(sessionmaker, MOBILE))[-1] != (await outbox(sessionmaker, new))[-1]
    wrong = "000000" if code != "000000" else "111111"
    assert (await gql(PROFILE, {"input": {"mobile": new, "mobileCode": wrong}}, token=token))["data"]["updateMyProfile"]["errors"] == [{"field": "mobileCode", "code": "INVALID_CODE"}]
    changed = await gql(PROFILE, {"input": {"mobile": new, "mobileCode": code}}, token=token)
    assert changed["data"]["updateMyProfile"]["account"] == {"username": new, "name": "王小五", "mobile": new}
    # the login name followed the mobile; the old number no longer logs in
    assert "errors" not in await gql(LOGIN, {"u": new, "p": PASSWORD})
    assert error_codes(await gql(LOGIN, {"u": MOBILE, "p": PASSWORD})) == ["INVALID_CREDENTIALS"]
    async with sessionmaker() as db:
        record = (await db.execute(sa.select(AuditRecord).where(AuditRecord.operation == "updateMyProfile").order_by(AuditRecord.seq.desc()).limit(1))).scalar_one()
    assert record.changes == {"mobile": ["139****0001", "139****0009"]}


async def test_a_mobile_another_account_uses_is_refused(gql, demo, sessionmaker, clock):
    await register_account(gql, sessionmaker)
    await register_account(gql, sessionmaker, mobile="13900000002", n=902)
    clock.advance(seconds=60)
    token = await gql.login("13900000002", PASSWORD)
    code = await request_code(gql, sessionmaker, MOBILE, "CHANGE_MOBILE", token=token)
    taken = await gql(PROFILE, {"input": {"mobile": MOBILE, "mobileCode": code}}, token=token)
    assert taken["data"]["updateMyProfile"]["errors"] == [{"field": "mobile", "code": "DUPLICATE"}]


@pytest.mark.parametrize("viewer", ["edu-440106", None])
async def test_only_institution_accounts_edit_a_profile(gql, demo, viewer):
    token = await gql.login(viewer) if viewer else None
    assert error_codes(await gql(PROFILE, {"input": {"name": "x"}}, token=token)) == ["FORBIDDEN" if viewer else "UNAUTHENTICATED"]


COMPLETE = """mutation($input: CompleteInstitutionRegistrationInput!) {
  completeInstitutionRegistration(input: $input) { account { username name } claimStatus errors { field code } } }"""
PROGRESS = "{ me { name ... on InstitutionAccount { institution { name } registrationProgress { savedParts missingParts complete } } } }"


async def test_registration_in_two_steps_activates_then_completes(gql, demo, sessionmaker):
    # given step a alone (seed 001, 2.1 a): the mobile, its code and a password
    code = await request_code(gql, sessionmaker)
    activated = await gql(REGISTER, {"input": {"mobile": MOBILE, "code": code, "password": PASSWORD}})
    assert activated["data"]["registerInstitutionAccount"] == {
        "account": {"username": MOBILE, "name": "", "mobile": MOBILE, "email": None}, "claimStatus": None, "errors": [],
    }
    # then the account logs in at once and reads what is still missing: every part
    token = (await gql(LOGIN, {"u": MOBILE, "p": PASSWORD}))["data"]["login"]["token"]
    assert (await gql(PROGRESS, token=token))["data"]["me"] == {
        "name": "", "institution": None,
        "registrationProgress": {"savedParts": [], "missingParts": ["BASICS", "QUALIFICATIONS", "OPERATION", "SUBJECT_TRAINING", "FACILITIES"], "complete": False},
    }
    # the portal's own operations wait for the institution
    assert error_codes(await gql(CREATE_STAFF, {"input": TEACHER}, token=token)) == ["INSTITUTION_PENDING"]
    # when step b is sent empty, every problem comes back at once
    empty = (await gql(COMPLETE, {"input": {"countyCode": "440106", "institution": {}}}, token=token))["data"]["completeInstitutionRegistration"]
    assert ("name", "REQUIRED") in {(e["field"], e["code"]) for e in empty["errors"]}
    assert {e["field"] for e in empty["errors"] if e["code"] == "REQUIRED"} >= {"institution.name", "institution.creditCode", "institution.legalRepIdNumber"}
    # when step b (2.1 b) completes the account holder and the institution's basic situation
    done = await gql(COMPLETE, {"input": {"name": "王五", "countyCode": "440106", "institution": basics(901, name="天河自主注册901号培训学校")}}, token=token)
    assert done["data"]["completeInstitutionRegistration"] == {"account": {"username": MOBILE, "name": "王五"}, "claimStatus": None, "errors": []}
    # then the same session sees its institution, part 1 saved, the other parts to come
    me = (await gql(PROGRESS, token=token))["data"]["me"]
    assert me["institution"] == {"name": "天河自主注册901号培训学校"}
    assert me["registrationProgress"] == {"savedParts": ["BASICS"], "missingParts": ["QUALIFICATIONS", "OPERATION", "SUBJECT_TRAINING", "FACILITIES"], "complete": False}
    # and it saves the next part on its own
    institution = (await gql("{ me { ... on InstitutionAccount { institution { id version } } } }", token=token))["data"]["me"]["institution"]
    saved = await gql(part_mutation("Qualifications"), {"id": institution["id"], "version": institution["version"], "input": PARTS["Qualifications"]}, token=token)
    assert saved["data"]["saveInstitutionQualifications"]["progress"]["savedParts"] == ["BASICS", "QUALIFICATIONS"]
    # step b is done once
    again = (await gql(COMPLETE, {"input": {"countyCode": "440106", "institution": basics(902)}}, token=token))["data"]["completeInstitutionRegistration"]
    assert [(e["field"], e["code"]) for e in again["errors"]] == [(None, "NOT_ALLOWED")]


async def test_step_b_with_a_county_registered_code_goes_through_the_claim(gql, demo, sessionmaker):
    county = await gql.login("edu-440106")
    await register(gql, county, 903, parts=())
    code = await request_code(gql, sessionmaker)
    await gql(REGISTER, {"input": {"mobile": MOBILE, "code": code, "password": PASSWORD, "name": "王五"}})
    token = (await gql(LOGIN, {"u": MOBILE, "p": PASSWORD}))["data"]["login"]["token"]
    # when the credit code is one the county registered
    claimed = await gql(COMPLETE, {"input": {"countyCode": "440106", "institution": basics(903)}}, token=token)
    # then a pending claim, the county's data untouched, and no progress to show meanwhile
    assert claimed["data"]["completeInstitutionRegistration"] == {"account": {"username": MOBILE, "name": "王五"}, "claimStatus": "PENDING", "errors": []}
    assert (await gql(PROGRESS, token=token))["data"]["me"] == {"name": "王五", "institution": None, "registrationProgress": None}
    again = (await gql(COMPLETE, {"input": {"countyCode": "440106", "institution": basics(904)}}, token=token))["data"]["completeInstitutionRegistration"]
    assert [(e["field"], e["code"]) for e in again["errors"]] == [(None, "NOT_ALLOWED")]


EMAIL_PROFILE = """mutation($input: UpdateMyProfileInput!) { updateMyProfile(input: $input) {
  account { username ... on InstitutionAccount { email } } errors { field code } } }"""


async def test_an_account_adds_its_email_with_a_code_sent_to_it_and_recovers_by_it(gql, demo, sessionmaker, clock):
    # given an account registered without an e-mail
    await register_account(gql, sessionmaker)
    token = (await gql(LOGIN, {"u": MOBILE, "p": PASSWORD}))["data"]["login"]["token"]
    # a CHANGE_EMAIL code is for a logged-in account, to the new address
    anonymous = await gql(REQUEST, {"p": "CHANGE_EMAIL", "e": "wang@example.cn"})
    assert error_codes(anonymous) == ["UNAUTHENTICATED"]
    without = await gql(REQUEST, {"p": "CHANGE_EMAIL", "m": MOBILE}, token=token)
    assert without["data"]["requestVerificationCode"]["errors"] == [{"field": "email", "code": "REQUIRED"}]
    # without the code the address is not taken
    unproved = await gql(EMAIL_PROFILE, {"input": {"email": "Wang@Example.cn"}}, token=token)
    assert unproved["data"]["updateMyProfile"]["errors"] == [{"field": "emailCode", "code": "REQUIRED"}]
    # when the code sent to the address comes back with it
    sent = await gql(REQUEST, {"p": "CHANGE_EMAIL", "e": "Wang@Example.cn"}, token=token)
    assert sent["data"]["requestVerificationCode"]["accepted"] is True
    code = await latest_code(sessionmaker, "wang@example.cn")
    wrong = await gql(EMAIL_PROFILE, {"input": {"email": "wang@example.cn", "emailCode": "000000" if code != "000000" else "111111"}}, token=token)
    assert wrong["data"]["updateMyProfile"]["errors"] == [{"field": "emailCode", "code": "INVALID_CODE"}]
    changed = await gql(EMAIL_PROFILE, {"input": {"email": "wang@example.cn", "emailCode": code}}, token=token)
    # then the account has it
    assert changed["data"]["updateMyProfile"] == {"account": {"username": MOBILE, "email": "wang@example.cn"}, "errors": []}
    # and 忘记密码 by e-mail works with it
    clock.advance(seconds=61)
    assert (await gql(REQUEST, {"p": "RESET_PASSWORD", "e": "wang@example.cn"}))["data"]["requestVerificationCode"]["accepted"] is True
    reset = await gql(RESET, {"d": "WANG@example.cn", "c": await latest_code(sessionmaker, "wang@example.cn"), "p": "Another#2026"})
    assert reset["data"]["resetPassword"] == {"ok": True, "errors": []}
    assert (await gql(LOGIN, {"u": MOBILE, "p": "Another#2026"}))["data"]["login"]["account"] == {"username": MOBILE}
    # another account cannot take the same address
    await register_account(gql, sessionmaker, mobile="13900000002", n=905)
    other = (await gql(LOGIN, {"u": "13900000002", "p": PASSWORD}))["data"]["login"]["token"]
    clock.advance(seconds=61)
    await gql(REQUEST, {"p": "CHANGE_EMAIL", "e": "wang@example.cn"}, token=other)
    taken = await gql(EMAIL_PROFILE, {"input": {"email": "wang@example.cn", "emailCode": await latest_code(sessionmaker, "wang@example.cn")}}, token=other)
    assert taken["data"]["updateMyProfile"]["errors"] == [{"field": "email", "code": "DUPLICATE"}]
