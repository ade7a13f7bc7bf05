"""Live updates in-process (schema/events.py, resolvers/live.py): each event type reaches
exactly the subscribers whose scope holds its record, masked as they may see it; a rollback
sends nothing; the feed in scope and resuming from it; the session rules and limits of a
subscriber. The WebSocket and the workers: tests/test_subscriptions.py."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from auth.sessions import ACCOUNT_DISABLED, SESSION_ENDED, SESSION_IDLE, TOUCH_EVERY, ended_sessions, token_hash, viewer_for_token
from models import Account, AuditRecord, AuthSession, Complaint, Event, EventType
from models.database import listening_connection
from resolvers.events import raise_event
from resolvers.live import Hub
from tests.helpers import (
    COMPLAINTS,
    DECIDED,
    MOBILE,
    NOTICES,
    PASSWORD,
    SEND_NOTICE,
    SUBMIT,
    Subscriber,
    basics,
    complaint,
    data,
    error_codes,
    insert_institutions,
    ok,
    portal_institution,
    register_account,
)

#: Regulators of every level, in and out of 天河区 (440106)'s subtree, and beside it.
REGULATORS = ["edu-000000", "edu-440000", "edu-440100", "edu-440106", "edu-440106-01", "sports-440106", "edu-440104", "edu-420000"]
#: Who reads 天河区's complaints and urging notices: education from county level up, above it.
COUNTY_AND_UP = {"edu-000000", "edu-440000", "edu-440100", "edu-440106"}

SUBMITTED = "subscription($mine: Boolean!) { applicationSubmitted(forMyReview: $mine) { type application { type status authorityLevel } } }"
CLAIMS = "subscription { claimDecided { type claim { status reason applicantMobile } } }"
OVERDUE = "subscription { rectificationOverdue { type inspection { inspectedOn items { deadline } } institution { name } } }"
FEED = "query($after: String, $types: [EventType!]) { events(after: $after, types: $types, first: 100) { totalCount edges { cursor node { type } } } }"
APPLY = 'mutation { submitApplication(input: {type: LICENCE, statement: "申请办学许可"}) { application { id } errors { field code } } }'
REVIEW = """mutation($id: ID!) { reviewApplication(id: $id, input: {approve: true, opinion: "同意", licenceNumber: "教民144010600001号",
  licenceIssuer: "天河区教育局", licenceValidFrom: "2026-11-23", licenceValidTo: "2031-11-22"}) { errors { field code } } }"""
RECORD = """mutation($id: ID!) { recordInspection(institutionId: $id, input: {inspectedOn: "2026-11-20", inspectingUnit: "天河区教育局",
  result: "超时培训", problems: [LATE_CLASSES], items: [{problem: LATE_CLASSES, measures: "调整课表", deadline: "2026-12-01"}]}) { errors { code } } }"""


async def subscribers(app, gql, usernames, query: str, variables: dict | None = None, password: str | None = None) -> dict[str, Subscriber]:
    subscribed = {}
    for username in usernames:
        token = await (gql.login(username, password) if password else gql.login(username))
        subscriber = await Subscriber.of(app, token)
        await subscriber.subscribe(query, variables)
        subscribed[username] = subscriber
    return subscribed


async def deliveries(subscribed: dict[str, Subscriber], expected: set[str]) -> dict[str, dict]:
    """Each expected subscriber's one event (waited for), and then nothing anywhere else."""
    got = {name: await subscribed[name].next() for name in sorted(expected)}
    for name, subscriber in subscribed.items():
        assert await subscriber.received(0.3 if name == next(iter(subscribed)) else 0) == [], name
    for subscriber in subscribed.values():
        await subscriber.stop()
    return got


async def test_a_complaint_reaches_its_county_and_the_levels_above_masked_for_all_but_the_county(app, gql, demo, sessionmaker):
    # given: every regulator subscribed
    subscribed = await subscribers(app, gql, REGULATORS, COMPLAINTS)
    # when: a complaint is filed with 天河区
    tracking = data(await gql(SUBMIT, {"input": complaint()}), "submitComplaint")["trackingNumber"]
    # then: the county reads the complainant, the levels above read them masked, no one else hears of it
    got = await deliveries(subscribed, COUNTY_AND_UP)
    shown = {"trackingNumber": tracking, "county": {"code": "440106"}}
    assert got["edu-440106"] == {"data": {"complaintReceived": {"type": "COMPLAINT_RECEIVED", "complaint": {**shown, "complainantName": "王小明", "complainantMobile": "13812345678"}}}}
    for name in COUNTY_AND_UP - {"edu-440106"}:
        assert got[name] == {"data": {"complaintReceived": {"type": "COMPLAINT_RECEIVED", "complaint": {**shown, "complainantName": "王**", "complainantMobile": "138****5678"}}}}
    # and the county's unmasked read is in the audit trail, as a query's would be
    async with sessionmaker() as db:
        reads = (await db.execute(sa.select(AuditRecord.username, AuditRecord.changes).where(AuditRecord.operation == "readPersonalData"))).all()
    assert reads == [("edu-440106", {"fields": [None, ["complainantName"]]})]


async def test_an_urging_notice_reaches_the_county_it_is_addressed_to(app, gql, demo):
    subscribed = await subscribers(app, gql, REGULATORS, NOTICES)
    ok(await gql(SEND_NOTICE, token=await gql.login("edu-440100")), "sendUrgingNotice")
    got = await deliveries(subscribed, COUNTY_AND_UP)
    assert {name: answer["data"]["urgingNoticeReceived"]["notice"] for name, answer in got.items()} == {
        name: {"message": "请尽快处理逾期台账", "county": {"code": "440106"}} for name in COUNTY_AND_UP
    }


async def test_an_application_reaches_the_reviewing_authoritys_queue_and_its_decision_the_institution(app, gql, demo, sessionmaker):
    # given: an institution of 天河区 whose licence application goes to the county education bureau
    _, institution = await portal_institution(gql, sessionmaker, 2, kind="NON_SUBJECT", parts=())
    _, other_institution = await portal_institution(gql, sessionmaker, 3, county="440104", kind="NON_SUBJECT", parts=())
    queue = await subscribers(app, gql, REGULATORS, SUBMITTED, {"mine": True})
    scoped = await subscribers(app, gql, REGULATORS, SUBMITTED, {"mine": False})
    decided = {}
    for name, token in (("institution", institution), ("other institution", other_institution)):
        decided[name] = await Subscriber.of(app, token)
        await decided[name].subscribe(DECIDED)
    # when: it applies
    application = ok(await gql(APPLY, token=institution), "submitApplication")["application"]
    # then: the authority's queue alone; every regulator whose scope holds it
    submitted = {"data": {"applicationSubmitted": {"type": "APPLICATION_SUBMITTED", "application": {"type": "LICENCE", "status": "PENDING", "authorityLevel": "COUNTY"}}}}
    assert await deliveries(queue, {"edu-440106"}) == {"edu-440106": submitted}
    assert await deliveries(scoped, COUNTY_AND_UP) == {name: submitted for name in COUNTY_AND_UP}
    # when: the county decides
    ok(await gql(REVIEW, {"id": application["id"]}, token=await gql.login("edu-440106")), "reviewApplication")
    # then: the institution hears of it, another institution does not
    assert await deliveries(decided, {"institution"}) == {
        "institution": {"data": {"applicationDecided": {"type": "APPLICATION_DECIDED", "application": {"status": "APPROVED", "opinion": "同意"}}}}
    }
    # a regulator cannot subscribe to the institutions' decisions
    regulator = await Subscriber.of(app, await gql.login("edu-440106"))
    await regulator.subscribe(DECIDED)
    assert [e["code"] for e in (await regulator.next())["errors"]] == ["FORBIDDEN"]
    await regulator.stop()


async def test_a_claims_decision_reaches_the_claiming_account_and_its_county(app, gql, demo, sessionmaker):
    # given: an account claiming an institution 天河区 registered, and another institution's account
    names = await insert_institutions(sessionmaker, {"edu-440106": 1})
    async with sessionmaker() as db:
        from_county = (await db.execute(sa.text("SELECT credit_code FROM institution WHERE name = :n"), {"n": names["edu-440106"][0]})).scalar_one()
    await register_account(gql, sessionmaker, institution=basics(1, "440106", creditCode=from_county))
    _, other_institution = await portal_institution(gql, sessionmaker, 3, county="440104", kind="NON_SUBJECT", parts=())
    subscribed = await subscribers(app, gql, ["edu-440106", "edu-440100", "edu-440104"], CLAIMS)
    subscribed["claimant"] = await Subscriber.of(app, await gql.login(MOBILE, PASSWORD))
    subscribed["other institution"] = await Subscriber.of(app, other_institution)
    for name in ("claimant", "other institution"):
        await subscribed[name].subscribe(CLAIMS)
    # when: the county rejects it
    county = await gql.login("edu-440106")
    claim_id = (await gql("{ institutionClaims { edges { node { id } } } }", token=county))["data"]["institutionClaims"]["edges"][0]["node"]["id"]
    rejected = await gql('mutation($id: ID!) { rejectInstitutionClaim(id: $id, reason: "信息不符") { errors { code } } }', {"id": claim_id}, token=county)
    assert rejected == {"data": {"rejectInstitutionClaim": {"errors": []}}}
    # then: the applicant (its mobile unmasked), the county desk (likewise) and the prefecture (masked)
    got = await deliveries(subscribed, {"claimant", "edu-440106", "edu-440100"})
    claim = {"status": "REJECTED", "reason": "信息不符"}
    assert got == {
        "claimant": {"data": {"claimDecided": {"type": "CLAIM_DECIDED", "claim": {**claim, "applicantMobile": MOBILE}}}},
        "edu-440106": {"data": {"claimDecided": {"type": "CLAIM_DECIDED", "claim": {**claim, "applicantMobile": MOBILE}}}},
        "edu-440100": {"data": {"claimDecided": {"type": "CLAIM_DECIDED", "claim": {**claim, "applicantMobile": "139****0001"}}}},
    }


async def test_an_overdue_ledger_reaches_the_county_the_unit_that_registered_it_and_the_levels_above_once(app, gql, demo, sessionmaker, clock):
    # given: an institution a 天河区 sub-unit registered, with a ledger due on 2026-12-01
    names = await insert_institutions(sessionmaker, {"edu-440106-01": 1})
    async with sessionmaker() as db:
        institution_id = (await db.execute(sa.text("SELECT id FROM institution WHERE name = :n"), {"n": names["edu-440106-01"][0]})).scalar_one()
    ok(await gql(RECORD, {"id": str(institution_id)}, token=await gql.login("edu-440106")), "recordInspection")
    subscribed = await subscribers(app, gql, REGULATORS, OVERDUE)
    hub = app.state.hub
    assert await hub.sweep() == 0  # not overdue yet
    # when: the first Beijing day after the deadline has begun, and a worker sweeps (twice)
    clock.advance(days=8, hours=16)  # 2026-12-02 09:00 Beijing
    assert await hub.sweep() == 1
    assert await hub.sweep() == 0
    # then: the county, the registering unit and the levels above, once
    got = await deliveries(subscribed, COUNTY_AND_UP | {"edu-440106-01"})
    assert {answer["data"]["rectificationOverdue"]["institution"]["name"] for answer in got.values()} == {names["edu-440106-01"][0]}
    assert {str(answer["data"]["rectificationOverdue"]["inspection"]["items"]) for answer in got.values()} == {"[{'deadline': '2026-12-01'}]"}


async def test_a_rolled_back_change_sends_nothing_and_a_committed_one_does(app, gql, demo, sessionmaker, clock):
    county = (await subscribers(app, gql, ["edu-440106"], COMPLAINTS))["edu-440106"]
    data(await gql(SUBMIT, {"input": complaint()}), "submitComplaint")
    first = await county.next()
    async with sessionmaker() as db:
        filed = (await db.execute(sa.select(Complaint.id))).scalar_one()
        # when: an event is written and the transaction rolled back
        await raise_event(db, EventType.COMPLAINT_RECEIVED, filed, "440106", clock())
        await db.rollback()
    # then: nothing arrives, and no row is left
    assert await county.received(0.5) == []
    async with sessionmaker() as db:
        assert (await db.execute(sa.select(sa.func.count()).select_from(Event))).scalar_one() == 1
        # when: it is written again and committed
        await raise_event(db, EventType.COMPLAINT_RECEIVED, filed, "440106", clock())
        await db.commit()
    assert await county.next() == first
    await county.stop()


async def test_the_feed_holds_each_viewers_events_and_a_subscription_resumes_from_its_cursor(app, gql, demo):
    # given: a complaint in 天河区 and a notice to it, then one complaint in 越秀区 (440104)
    data(await gql(SUBMIT, {"input": complaint()}), "submitComplaint")
    ok(await gql(SEND_NOTICE, token=await gql.login("edu-440100")), "sendUrgingNotice")
    data(await gql(SUBMIT, {"input": complaint(countyCode="440104", complainantMobile="13812345679")}), "submitComplaint")
    expected = {
        "edu-000000": ["COMPLAINT_RECEIVED", "URGING_NOTICE_RECEIVED", "COMPLAINT_RECEIVED"],
        "edu-440100": ["COMPLAINT_RECEIVED", "URGING_NOTICE_RECEIVED", "COMPLAINT_RECEIVED"],
        "edu-440106": ["COMPLAINT_RECEIVED", "URGING_NOTICE_RECEIVED"],
        "edu-440104": ["COMPLAINT_RECEIVED"],
        "edu-440106-01": [],
        "sports-440106": [],
        "edu-420000": [],
    }
    for name, types in expected.items():
        feed = data(await gql(FEED, token=await gql.login(name)), "events")
        assert ([e["node"]["type"] for e in feed["edges"]], feed["totalCount"]) == (types, len(types)), name
    # the types and the cursor narrow it
    county = await gql.login("edu-440106")
    complaints = data(await gql(FEED, {"types": ["COMPLAINT_RECEIVED"]}, token=county), "events")["edges"]
    assert [e["node"]["type"] for e in complaints] == ["COMPLAINT_RECEIVED"]
    after_first = data(await gql(FEED, {"after": complaints[0]["cursor"]}, token=county), "events")["edges"]
    assert [e["node"]["type"] for e in after_first] == ["URGING_NOTICE_RECEIVED"]
    assert error_codes(await gql(FEED, {"after": "not a cursor"}, token=county)) == ["BAD_USER_INPUT"]
    assert error_codes(await gql(FEED)) == ["UNAUTHENTICATED"]

    # when: a subscriber that last saw the first complaint comes back, and a new one is filed
    subscriber = await Subscriber.of(app, county)
    await subscriber.subscribe("subscription($after: String) { complaintReceived(after: $after) { cursor complaint { complainantMobile } } }", {"after": complaints[0]["cursor"]})
    assert await subscriber.received(0.3) == []  # nothing of 天河区 came since
    data(await gql(SUBMIT, {"input": complaint(complainantMobile="13812345670")}), "submitComplaint")
    live = await subscriber.next()
    assert live["data"]["complaintReceived"]["complaint"] == {"complainantMobile": "13812345670"}
    await subscriber.stop()
    # and from the beginning (the cursor of nothing seen yet: none of the feed's): both of 天河区's complaints, in order
    again = await Subscriber.of(app, county)
    await again.subscribe("subscription($after: String) { complaintReceived(after: $after) { complaint { complainantMobile } } }", {"after": "WyIwIl0="})
    assert [await again.next() for _ in range(2)] == [
        {"data": {"complaintReceived": {"complaint": {"complainantMobile": mobile}}}} for mobile in ("13812345678", "13812345670")
    ]
    assert await again.received(0.2) == []
    await again.stop()


async def test_a_socket_closes_when_its_session_ends_goes_idle_or_its_account_is_disabled(app, gql, demo, sessionmaker, clock):
    hub = app.state.hub
    # logout: the session's deletion closes the socket at once
    token = await gql.login("edu-440106")
    logged_out = await Subscriber.of(app, token)
    assert (await gql("mutation { logout }", token=token))["data"] == {"logout": True}
    assert await logged_out.closing() == [SESSION_ENDED]
    # disabled by its manager: its sessions end, the socket closes at once, as disabled
    disabled = await Subscriber.of(app, await gql.login("edu-440106-01"))
    county = await gql.login("edu-440106")
    found = await gql('{ regulatorAccounts(filter: {search: "edu-440106-01"}) { edges { node { id } } } }', token=county)
    unit = found["data"]["regulatorAccounts"]["edges"][0]["node"]["id"]
    done = await gql("mutation($id: ID!) { setRegulatorAccountEnabled(id: $id, enabled: false) { errors { code } } }", {"id": unit}, token=county)
    assert done == {"data": {"setRegulatorAccountEnabled": {"errors": []}}}
    assert await disabled.closing() == [ACCOUNT_DISABLED]
    # an account disabled in the database without ending its sessions: the periodic check
    quiet = await Subscriber.of(app, await gql.login("edu-440104"))
    async with sessionmaker() as db:
        await db.execute(sa.update(Account).where(Account.username == "edu-440104").values(enabled=False))
        await db.commit()
    # idle: two hours without a request, and the check ends the session
    idle = await Subscriber.of(app, await gql.login("edu-440100"))
    busy_token = await gql.login("edu-440000")
    busy = await Subscriber.of(app, busy_token)
    clock.advance(hours=1, minutes=59)
    assert (await gql("{ me { username } }", token=busy_token))["data"] == {"me": {"username": "edu-440000"}}
    clock.advance(minutes=2)
    await hub.check_sessions()
    await asyncio.sleep(0.1)
    assert (quiet.closed, idle.closed, busy.closed) == ([ACCOUNT_DISABLED], [SESSION_IDLE], [])
    for subscriber in (logged_out, disabled, quiet, idle, busy):
        await subscriber.stop()


async def test_a_request_and_a_sockets_check_agree_on_when_a_session_is_idle(app, gql, demo, sessionmaker, clock):
    """One idle rule (auth.sessions.is_idle): for sessions last written just before, at and
    after the deadline, the sockets' check closes exactly those a request no longer accepts."""
    timeout = app.state.settings.session_idle_timeout
    ages = [timeout - TOUCH_EVERY, timeout, timeout + TOUCH_EVERY / 2, timeout + TOUCH_EVERY, timeout + 2 * TOUCH_EVERY]
    tokens = [await gql.login("edu-440106") for _ in ages]
    async with sessionmaker() as db:
        ids = {}
        for token, age in zip(tokens, ages, strict=True):
            ids[token] = (
                await db.execute(
                    sa.update(AuthSession).where(AuthSession.token_hash == token_hash(token)).values(last_seen_at=clock.now - age).returning(AuthSession.id)
                )
            ).scalar_one()
        await db.commit()
        closed = await ended_sessions(db, set(ids.values()), clock.now, timeout)
    # the check first (a request ends an idle session)
    assert [ids[t] in closed for t in tokens] == [False, False, False, True, True]
    assert all(closed[ids[t]] == SESSION_IDLE for t in tokens[3:])
    async with sessionmaker() as db:
        accepted = [await viewer_for_token(db, token, clock.now, timeout) is not None for token in tokens]
    assert accepted == [True, True, True, False, False]


async def test_subscriptions_per_session_are_limited_and_documents_held_to_the_query_limits(app, gql, demo):
    subscriber = await Subscriber.of(app, await gql.login("edu-440106"))
    limit = app.state.settings.subscriptions_per_session
    for _ in range(limit):
        await subscriber.subscribe(COMPLAINTS)
    await subscriber.subscribe(COMPLAINTS)
    refused = await subscriber.next()
    assert refused["data"] is None and [e["code"] for e in refused["errors"]] == ["TOO_MANY_SUBSCRIPTIONS"]
    await subscriber.stop()
    assert app.state.hub.per_session == {}
    # a document over the depth limit is refused before it runs, like a query's
    deep = await Subscriber.of(app, await gql.login("edu-440106"))
    nested = "institution { " * 12 + "name" + " }" * 12
    await deep.subscribe("subscription { rectificationOverdue { " + nested + " } }")
    assert [e["code"] for e in (await deep.next())["errors"]] == ["QUERY_TOO_DEEP"]
    await deep.stop()


async def test_subscriptions_are_not_served_over_http(gql, demo):
    token = await gql.login("edu-440106")
    assert error_codes(await gql(COMPLAINTS, token=token)) == ["SUBSCRIPTION_OVER_WEBSOCKET"]


async def test_a_lost_database_does_not_stop_the_hub_and_it_listens_again(app, database_url, caplog):
    # given: a hub whose database cannot be reached
    hub = Hub("postgresql+asyncpg://nobody@127.0.0.1:9/none", app.state.sessionmaker, app.state.settings).start()
    await asyncio.sleep(1.2)
    # then: it keeps trying, logging the fault as a refusal, and stops cleanly
    assert all(not task.done() for task in hub._tasks) and not hub.listening.is_set()
    assert any("DATABASE_UNAVAILABLE: live updates: listening for events" in r.getMessage() for r in caplog.records)
    await hub.stop()
    # and a hub's listening connection that is cut is made again
    live = app.state.hub
    await asyncio.wait_for(live.listening.wait(), 10)
    admin = await listening_connection(database_url)
    try:
        cut = await admin.fetchval("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'")
        assert cut == 1
        for _ in range(50):
            if not live.listening.is_set():
                break
            await asyncio.sleep(0.02)
        await asyncio.wait_for(live.listening.wait(), 10)
        assert await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'") == 1
    finally:
        await admin.close()


async def test_the_hub_stops_when_a_check_falls_due_as_it_is_stopped(app):
    # A wait for the next check that ends in the same turn of the loop as the hub's stop
    # must not swallow the cancel (Python 3.11's asyncio.wait_for did: the check loop went
    # on and stop() waited for ever). Each number of turns puts the stop at another step.
    for turns in range(8):
        hub = Hub(app.state.hub.url, app.state.sessionmaker, app.state.settings).start()
        await asyncio.wait_for(hub.listening.wait(), 10)
        await asyncio.sleep(0.05)  # the check due on listening is done
        hub._check.set()
        for _ in range(turns):
            await asyncio.sleep(0)
        stopping = asyncio.create_task(hub.stop())
        _, pending = await asyncio.wait([stopping], timeout=5)  # waits without cancelling
        for task in hub._tasks:
            task.cancel()  # a second cancel ends what the first could not
        await stopping
        assert not pending, f"the hub did not stop when {turns} turns passed between the check and the stop"
