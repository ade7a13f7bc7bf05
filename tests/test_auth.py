"""Login, sessions (sliding two-hour idle expiry), throttling, passwords, the initial password."""

from __future__ import annotations

import asyncio
import hashlib

import sqlalchemy as sa

from auth.passwords import hash_password
from auth.sessions import COOKIE_NAME, token_hash
from models import Account, AccountKind, AuthSession
from tests.helpers import error_codes

ME = "{ me { __typename username mustChangePassword ... on RegulatorAccount { level department region { code } } } }"
LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token idleTimeoutSeconds account { username } } }"
PROTECTED = "{ regulatorAccounts(first: 1) { totalCount } }"
CHANGE = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { account { mustChangePassword } errors { field code message } } }"


async def test_login_returns_a_token_that_names_the_viewer(gql, demo):
    token = await gql.login("edu-440106")
    result = await gql(ME, token=token)
    assert result == {
        "data": {
            "me": {
                "__typename": "RegulatorAccount",
                "username": "edu-440106",
                "mustChangePassword": False,
                "level": "COUNTY",
                "department": "EDUCATION",
                "region": {"code": "440106"},
            }
        }
    }


async def test_login_sets_an_httponly_cookie_that_also_authenticates(http, gql, demo):
    response = await http.post("/graphql", json={"query": LOGIN, "variables": {"u": "edu-440000", "p": "Demo#2026"}})
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    # the client keeps the cookie and sends it, with the CSRF header, without Authorization
    response = await http.post("/graphql", json={"query": ME}, headers={"X-Requested-With": "fetch"})
    assert response.json()["data"]["me"]["username"] == "edu-440000"
    # a cookie POST without the header (what a foreign page could send) is not honoured
    refused = (await http.post("/graphql", json={"query": PROTECTED})).json()
    assert error_codes(refused) == ["UNAUTHENTICATED"] and "X-Requested-With" in refused["errors"][0]["message"]
    # GET (queries only) may use the cookie
    response = await http.get("/graphql", params={"query": ME})
    assert response.json()["data"]["me"]["username"] == "edu-440000"


async def test_tokens_are_stored_only_as_hashes(gql, demo, sessionmaker):
    token = await gql.login("edu-440106")
    async with sessionmaker() as db:
        stored = (await db.execute(sa.select(AuthSession.token_hash))).scalars().all()
        password_hash = (await db.execute(sa.select(Account.password_hash).where(Account.username == "edu-440106"))).scalar_one()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in stored
    assert password_hash.startswith("$argon2id$")


async def test_anonymous_me_is_null_and_protected_fields_say_unauthenticated(gql, demo):
    assert await gql(ME) == {"data": {"me": None}}
    result = await gql(PROTECTED)
    assert error_codes(result) == ["UNAUTHENTICATED"]
    assert result["data"] is None


async def test_wrong_password_and_unknown_username_read_the_same(gql, demo):
    wrong = await gql(LOGIN, {"u": "edu-440106", "p": "wrong"})
    unknown = await gql(LOGIN, {"u": "nobody-here", "p": "wrong"})
    assert error_codes(wrong) == error_codes(unknown) == ["INVALID_CREDENTIALS"]
    assert wrong["errors"][0]["message"] == unknown["errors"][0]["message"]


async def test_session_ends_after_two_hours_idle_and_slides_with_activity(gql, demo, clock):
    token = await gql.login("edu-440106")
    # activity just before the deadline keeps it alive, and moves the deadline
    clock.advance(hours=1, minutes=59)
    # (a county sees itself and its two sub-units)
    assert (await gql(PROTECTED, token=token))["data"]["regulatorAccounts"]["totalCount"] == 3
    clock.advance(hours=1, minutes=59)
    assert "errors" not in await gql(PROTECTED, token=token)
    # two hours without a request end it (within the minute in which requests are written:
    # auth.sessions.TOUCH_EVERY)
    clock.advance(hours=2, minutes=1)
    result = await gql(PROTECTED, token=token)
    assert error_codes(result) == ["UNAUTHENTICATED"]
    assert "重新登录" in result["errors"][0]["message"]
    assert await gql(ME, token=token) == {"data": {"me": None}}


async def test_logout_ends_the_session(gql, demo):
    token = await gql.login("edu-440106")
    assert await gql("mutation { logout }", token=token) == {"data": {"logout": True}}
    assert error_codes(await gql(PROTECTED, token=token)) == ["UNAUTHENTICATED"]


async def test_repeated_failures_are_slowed_then_locked(gql, demo, clock):
    for _ in range(3):
        assert error_codes(await gql(LOGIN, {"u": "edu-440106", "p": "bad"})) == ["INVALID_CREDENTIALS"]
    # after three failures the next attempt must wait, even with the right password
    slowed = await gql(LOGIN, {"u": "edu-440106", "p": "Demo#2026"})
    assert error_codes(slowed) == ["LOGIN_THROTTLED"]
    assert slowed["errors"][0]["extensions"]["retryAfterSeconds"] == 1
    # keep failing, waiting out each delay, until the lock
    codes = []
    for _ in range(7):
        clock.advance(seconds=31)
        codes += error_codes(await gql(LOGIN, {"u": "edu-440106", "p": "bad"}))
    assert codes == ["INVALID_CREDENTIALS"] * 6 + ["ACCOUNT_LOCKED"]
    clock.advance(minutes=14)
    locked = await gql(LOGIN, {"u": "edu-440106", "p": "Demo#2026"})
    assert error_codes(locked) == ["ACCOUNT_LOCKED"]
    assert locked["errors"][0]["extensions"]["retryAfterSeconds"] == 60
    # the lock lifts by itself
    clock.advance(minutes=1)
    assert "errors" not in await gql(LOGIN, {"u": "edu-440106", "p": "Demo#2026"})


async def test_the_lock_does_not_reveal_whether_a_username_exists(gql, demo, clock):
    results = {}
    for username in ("edu-440106", "no-such-user"):
        for _ in range(10):
            clock.advance(seconds=31)
            result = await gql(LOGIN, {"u": username, "p": "bad"})
        results[username] = (error_codes(result), result["errors"][0]["message"])
    assert results["edu-440106"] == results["no-such-user"]
    assert results["edu-440106"][0] == ["ACCOUNT_LOCKED"]


async def test_disabled_account_cannot_log_in(gql, demo, sessionmaker):
    async with sessionmaker() as db:
        await db.execute(sa.update(Account).where(Account.username == "edu-440106-01").values(enabled=False))
        await db.commit()
    assert error_codes(await gql(LOGIN, {"u": "edu-440106-01", "p": "Demo#2026"})) == ["ACCOUNT_DISABLED"]
    # a wrong password on a disabled account reads like any wrong password
    assert error_codes(await gql(LOGIN, {"u": "edu-440106-01", "p": "bad"})) == ["INVALID_CREDENTIALS"]


async def test_change_password_checks_current_difference_and_strength(gql, demo):
    token = await gql.login("edu-440106")
    cases = [
        ("not-it", "N3w#Password", [{"field": "currentPassword", "code": "WRONG_PASSWORD", "message": "当前密码不正确"}]),
        ("Demo#2026", "Demo#2026", [{"field": "newPassword", "code": "SAME_AS_CURRENT", "message": "新密码不能与当前密码相同"}]),
        ("Demo#2026", "short1A", None),
        ("Demo#2026", "alllowercase1", None),
        ("Demo#2026", "Edu-440106#x", None),  # contains the username
    ]
    for current, new, expected in cases:
        result = (await gql(CHANGE, {"c": current, "n": new}, token=token))["data"]["changePassword"]
        assert result["account"] is None
        if expected:
            assert result["errors"] == expected
        else:
            assert [(e["field"], e["code"]) for e in result["errors"]] == [("newPassword", "WEAK_PASSWORD")]
    # both fields wrong at once: both said
    both = (await gql(CHANGE, {"c": "not-it", "n": "short1A"}, token=token))["data"]["changePassword"]
    assert [(e["field"], e["code"]) for e in both["errors"]] == [("currentPassword", "WRONG_PASSWORD"), ("newPassword", "WEAK_PASSWORD")]
    ok = await gql(CHANGE, {"c": "Demo#2026", "n": "N3w#Password"}, token=token)
    assert ok == {"data": {"changePassword": {"account": {"mustChangePassword": False}, "errors": []}}}
    assert error_codes(await gql(LOGIN, {"u": "edu-440106", "p": "Demo#2026"})) == ["INVALID_CREDENTIALS"]
    assert "errors" not in await gql(LOGIN, {"u": "edu-440106", "p": "N3w#Password"})


async def test_changing_the_password_ends_the_other_sessions(gql, demo):
    first = await gql.login("edu-440106")
    second = await gql.login("edu-440106")
    await gql(CHANGE, {"c": "Demo#2026", "n": "N3w#Password"}, token=first)
    assert "errors" not in await gql(PROTECTED, token=first)
    assert error_codes(await gql(PROTECTED, token=second)) == ["UNAUTHENTICATED"]


async def test_initial_password_allows_only_change_password_and_logout(gql, demo, sessionmaker):
    async with sessionmaker() as db:
        await db.execute(sa.update(Account).where(Account.username == "edu-440106-01").values(must_change_password=True))
        await db.commit()
    token = await gql.login("edu-440106-01")
    blocked = await gql(PROTECTED, token=token)
    assert error_codes(blocked) == ["PASSWORD_CHANGE_REQUIRED"]
    assert "changePassword" in blocked["errors"][0]["message"]
    assert (await gql(ME, token=token))["data"]["me"]["mustChangePassword"] is True
    changed = await gql(CHANGE, {"c": "Demo#2026", "n": "Unit#2026x"}, token=token)
    assert changed["data"]["changePassword"]["errors"] == []
    assert (await gql(PROTECTED, token=token))["data"]["regulatorAccounts"]["totalCount"] == 1


async def test_institution_account_logs_in(gql, sessionmaker):

    async with sessionmaker() as db:
        db.add(Account(username="org-1", name="某培训学校", kind=AccountKind.INSTITUTION, password_hash=hash_password("Org#2026x"), must_change_password=False))
        await db.commit()
    token = await gql.login("org-1", "Org#2026x")
    assert await gql("{ me { __typename username } }", token=token) == {"data": {"me": {"__typename": "InstitutionAccount", "username": "org-1"}}}
    # regulator fields are closed to it
    assert error_codes(await gql(PROTECTED, token=token)) == ["FORBIDDEN"]


async def test_concurrent_guesses_are_counted_one_by_one(gql, demo):

    # a burst of simultaneous wrong guesses: each one waits for the previous one's count,
    # so only the first three are checked against the password; the rest are throttled
    results = await asyncio.gather(*(gql(LOGIN, {"u": "edu-440106", "p": f"guess-{i}"}) for i in range(12)))
    codes = sorted(c for r in results for c in error_codes(r))
    assert codes == sorted(["INVALID_CREDENTIALS"] * 3 + ["LOGIN_THROTTLED"] * 9)


async def test_an_overlong_username_is_not_truncated_into_another(gql, sessionmaker):

    async with sessionmaker() as db:
        db.add(Account(username="e" * 64, name="x", kind=AccountKind.INSTITUTION, password_hash=hash_password("Org#2026x"), must_change_password=False))
        await db.commit()
    assert error_codes(await gql(LOGIN, {"u": "e" * 64 + "junk", "p": "Org#2026x"})) == ["INVALID_CREDENTIALS"]
    assert "errors" not in await gql(LOGIN, {"u": "e" * 64, "p": "Org#2026x"})


async def test_the_initial_password_closes_federation_lookups_too(gql, demo, sessionmaker):
    async with sessionmaker() as db:
        await db.execute(sa.update(Account).where(Account.username == "edu-440100").values(must_change_password=True))
        await db.commit()
        ids = (await db.execute(sa.select(Account.id).where(Account.username.in_(["edu-440100", "edu-440106"])).order_by(Account.username))).scalars().all()
    token = await gql.login("edu-440100")
    reps = [{"__typename": "RegulatorAccount", "id": str(i)} for i in ids]
    result = await gql("query($r: [_Any!]!) { _entities(representations: $r) { ... on RegulatorAccount { username } } }", {"r": reps}, token=token)
    assert result == {"data": {"_entities": [{"username": "edu-440100"}, None]}}


async def test_a_request_at_any_moment_moves_the_idle_deadline(gql, demo, clock, sessionmaker):
    token = await gql.login("edu-440106")
    clock.advance(seconds=30)
    assert "errors" not in await gql(PROTECTED, token=token)
    # two hours after the login, but less than two hours after the last request
    clock.advance(hours=1, minutes=59, seconds=45)
    assert "errors" not in await gql(PROTECTED, token=token)
    # a request within a minute of the last one written writes nothing; one after it does
    async def last_seen():
        async with sessionmaker() as db:
            return (await db.execute(sa.select(AuthSession.last_seen_at).where(AuthSession.token_hash == token_hash(token)))).scalar_one()

    written = await last_seen()
    clock.advance(seconds=50)
    assert "errors" not in await gql(PROTECTED, token=token)
    assert await last_seen() == written
    clock.advance(seconds=20)
    assert "errors" not in await gql(PROTECTED, token=token)
    assert await last_seen() == clock.now
