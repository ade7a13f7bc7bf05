"""Live updates as a front end receives them: a real WebSocket client (``websockets``) against
``python server.py serve --workers 2``, a subscriber on each worker. Each event reaches the
subscribers whose scope holds it, on either worker, after a commit and never after a
rollback, and never to a subscriber of another county or another institution (every event
type: complaints, urging notices, applications submitted and decided, claims decided,
ledgers gone overdue); a subscriber that reconnects resumes from its cursor without a loss;
the socket closes on logout, on idle expiry, on a password change and on a disabled account,
and without a session, from a foreign origin or past the message rate. One server serves
the module's tests. The rules event type by event type, in-process: tests/test_events.py."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import websockets

from auth.sessions import ACCOUNT_DISABLED, SESSION_ENDED, SESSION_IDLE, TOUCH_EVERY, token_hash
from core.clock import today, utcnow
from demo.accounts import DEMO_PASSWORD
from models import Account, Application, AuthSession, Complaint, EventType
from models.database import create_engine, create_sessionmaker
from resolvers.events import raise_event
from tests.helpers import (
    COMPLAINTS,
    DECIDED,
    LOGIN,
    MOBILE,
    NOTICES,
    PASSWORD,
    SEND_NOTICE,
    SUBMIT,
    LiveSocket,
    basics,
    complaint,
    free_port,
    insert_institutions,
    portal_institution,
    post_query,
    private_directory,
    register_account,
    start,
    stop,
)
from web.subscriptions import NO_SESSION, TOO_MANY_MESSAGES

pytestmark = pytest.mark.slow

PENDING = """{ applications(filter: {status: PENDING, forMyReview: true}, first: 1) { edges { node { id institution { id } } } } }"""
REJECT = 'mutation($id: ID!) { reviewApplication(id: $id, input: {approve: false, opinion: "材料不全"}) { errors { field code } } }'
RESUMING = "subscription($after: String) { complaintReceived(after: $after) { cursor complaint { complainantMobile } } }"
SUBMITTED = "subscription($mine: Boolean!) { applicationSubmitted(forMyReview: $mine) { type application { type status authorityLevel } } }"
APPLY = 'mutation { submitApplication(input: {type: LICENCE, statement: "申请办学许可"}) { application { id } errors { field code } } }'
CLAIMS = "subscription { claimDecided { type claim { status reason applicantMobile } } }"
REJECT_CLAIM = 'mutation($id: ID!) { rejectInstitutionClaim(id: $id, reason: "信息不符") { errors { code } } }'
OVERDUE = "subscription { rectificationOverdue { type institution { name } inspection { items { deadline } } } }"
RECORD = """mutation($id: ID!, $on: Date!, $deadline: Date!) { recordInspection(institutionId: $id, input: {inspectedOn: $on, inspectingUnit: "天河区教育局",
  result: "超时培训", problems: [LATE_CLASSES], items: [{problem: LATE_CLASSES, measures: "调整课表", deadline: $deadline}]}) { errors { field code } } }"""
CHANGE_PASSWORD = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { errors { field code } } }"
DISABLE = "mutation($id: ID!) { setRegulatorAccountEnabled(id: $id, enabled: false) { errors { code } } }"
#: Seconds between two sweeps of the overdue ledgers on each worker.
SWEEP_SECONDS = 1


@pytest.fixture(scope="module")
async def served(module_database_url):
    """The demo server with two workers on the module's database (sessions checked every half
    second, overdue ledgers swept every second), and a sessionmaker of that database for what
    the tests write themselves. One server for the module's tests: each logs in afresh and
    opens its own sockets."""
    database_url = module_database_url
    data_dir = private_directory("xwpx-live-")
    port = free_port()
    env = {
        "DATABASE_URL": database_url, "XWPX_SERVED_BY_HEADER": "1", "XWPX_ARGON2_PROFILE": "test",
        "XWPX_SUBSCRIPTION_CHECK_SECONDS": "0.5", "XWPX_PUBLIC_RATE": "100000/1000", "XWPX_OVERDUE_SWEEP_SECONDS": str(SWEEP_SECONDS),
    }
    process = await asyncio.to_thread(start, data_dir, port, "--demo", "--workers", "2", env=env)
    engine = create_engine(database_url, pool_size=2)
    try:
        yield port, create_sessionmaker(engine)
    finally:
        await engine.dispose()
        await asyncio.to_thread(stop, process, signal.SIGTERM)
        shutil.rmtree(data_dir, ignore_errors=True)


async def ask(port: int, query: str, variables: dict | None = None, token: str | None = None) -> dict:
    """The server's answer over HTTP (in a thread: the sockets keep being served meanwhile)."""
    return await asyncio.to_thread(post_query, port, query, variables, token)


async def login(port: int, username: str, password: str = DEMO_PASSWORD) -> str:
    answer = await ask(port, LOGIN, {"u": username, "p": password})
    assert "errors" not in answer, answer
    return answer["data"]["login"]["token"]


class ServedGraphQL:
    """The served server as the in-process client of tests/conftest.py is called
    (``await gql(query, variables, token=...)``, ``await gql.login(username)``), for the
    helpers of tests/helpers.py that register institutions and accounts through it."""

    def __init__(self, port: int) -> None:
        self.port = port

    async def __call__(self, query: str, variables: dict | None = None, *, token: str | None = None) -> dict:
        return await ask(self.port, query, variables, token)

    async def login(self, username: str, password: str = DEMO_PASSWORD) -> str:
        return await login(self.port, username, password)


async def subscribed(port: int, usernames: list[str], query: str, variables: dict | None = None, *, on_each_worker: tuple[str, ...] = ()) -> dict[str, list[LiveSocket]]:
    """Sockets subscribed to ``query``, by username: one on each worker for those of
    ``on_each_worker``, one on whichever worker for the others."""
    sockets = {}
    for username in usernames:
        token = await login(port, username)
        sockets[username] = await LiveSocket.on_each_worker(port, token) if username in on_each_worker else [await LiveSocket.open(port, token)]
        for socket in sockets[username]:
            await socket.subscribe(query, variables)
    return sockets


async def deliveries(sockets: dict[str, list[LiveSocket]], expected: set[str], quiet: float = 0.5) -> dict[str, list[dict]]:
    """The one event each socket of the ``expected`` subscribers receives (waited for), after
    which no socket receives anything within ``quiet`` seconds; the sockets are closed."""
    got = {name: [await socket.next() for socket in sockets[name]] for name in sorted(expected)}
    everyone = [socket for held in sockets.values() for socket in held]
    assert [await socket.received(quiet if socket is everyone[0] else 0.05) for socket in everyone] == [[] for _ in everyone], sorted(sockets)
    for socket in everyone:
        await socket.close()
    return got


async def file_complaint(port: int, **overrides) -> None:
    answer = await ask(port, SUBMIT, {"input": complaint(**overrides)})
    assert answer["data"]["submitComplaint"]["errors"] == [], answer


async def test_each_event_reaches_its_subscribers_on_either_worker_after_a_commit_and_never_after_a_rollback(served):
    port, sessionmaker = served
    # given: 天河区 (440106) and 越秀区 (440104) subscribed on each worker, to complaints and notices
    county = await LiveSocket.on_each_worker(port, await login(port, "edu-440106"))
    other = await LiveSocket.on_each_worker(port, await login(port, "edu-440104"))
    for socket in county + other:
        await socket.subscribe(COMPLAINTS)
        await socket.subscribe(NOTICES)
    await asyncio.sleep(0.5)  # the subscriptions are held by the workers' hubs
    # when: a complaint is filed with 天河区 and the prefecture urges it
    await file_complaint(port)
    assert (await ask(port, SEND_NOTICE, token=await login(port, "edu-440100")))["data"] == {"sendUrgingNotice": {"errors": []}}
    # then: each of the county's sockets receives both, whichever worker holds it; 越秀区 nothing
    for socket in county:
        got = [await socket.next(), await socket.next()]
        filed = got[0]["data"]["complaintReceived"]
        assert (filed["type"], filed["complaint"]["complainantName"], filed["complaint"]["county"]) == ("COMPLAINT_RECEIVED", "王小明", {"code": "440106"})
        assert got[1] == {"data": {"urgingNoticeReceived": {"type": "URGING_NOTICE_RECEIVED", "notice": {"message": "请尽快处理逾期台账", "county": {"code": "440106"}}}}}
    for socket in other:
        assert await socket.received(0.5) == []

    # when: an event is written in a transaction that is rolled back
    async with sessionmaker() as db:
        complaint_id = (await db.execute(sa.select(Complaint.id).where(Complaint.tracking_number == filed["complaint"]["trackingNumber"]))).scalar_one()
        await raise_event(db, EventType.COMPLAINT_RECEIVED, complaint_id, "440106", datetime.now(UTC))
        await db.rollback()
    # then: nothing reaches anyone
    for socket in county + other:
        assert await socket.received(1 if socket is county[0] else 0.1) == []

    # given: the institution of an application 天河区 decides, subscribed on each worker, and another institution
    county_token = await login(port, "edu-440106")
    pending = (await ask(port, PENDING, token=county_token))["data"]["applications"]["edges"][0]["node"]
    async with sessionmaker() as db:
        applicant = (await db.execute(sa.select(Account.username).where(Account.institution_id == sa.cast(pending["institution"]["id"], sa.Uuid)))).scalar_one()
        bystander = (
            await db.execute(sa.select(Account.username).where(Account.kind == "INSTITUTION", Account.institution_id != sa.cast(pending["institution"]["id"], sa.Uuid)).limit(1))
        ).scalar_one()
        assert (await db.execute(sa.select(Application.status).where(Application.id == sa.cast(pending["id"], sa.Uuid)))).scalar_one() == "PENDING"
    institution = await LiveSocket.on_each_worker(port, await login(port, applicant))
    others = [await LiveSocket.open(port, await login(port, bystander))]
    for socket in institution + others:
        await socket.subscribe(DECIDED)
    await asyncio.sleep(0.5)
    # when: the county rejects it
    assert (await ask(port, REJECT, {"id": pending["id"]}, token=county_token))["data"] == {"reviewApplication": {"errors": []}}
    # then: the institution's sockets hear of it, the other institution does not
    for socket in institution:
        assert await socket.next() == {"data": {"applicationDecided": {"type": "APPLICATION_DECIDED", "application": {"status": "REJECTED", "opinion": "材料不全"}}}}
    assert await others[0].received(0.5) == []
    for socket in county + other + institution + others:
        await socket.close()


async def test_a_subscriber_resumes_from_its_cursor_and_its_socket_closes_on_logout_and_idle_expiry(served):
    port, sessionmaker = served
    token = await login(port, "edu-440106")
    # given: a subscriber that saw one complaint and went away
    first = await LiveSocket.open(port, token)
    await first.subscribe(RESUMING, {"after": None})
    await asyncio.sleep(0.5)
    await file_complaint(port, complainantMobile="13812345671")
    seen = (await first.next())["data"]["complaintReceived"]
    assert seen["complaint"] == {"complainantMobile": "13812345671"}
    await first.close()
    # when: two more are filed while it is away, and it comes back with its last cursor
    await file_complaint(port, complainantMobile="13812345672")
    await file_complaint(port, complainantMobile="13812345673")
    again = await LiveSocket.open(port, token)
    await again.subscribe(RESUMING, {"after": seen["cursor"]})
    # then: it receives both, in order, then what comes live, and nothing twice
    assert [(await again.next())["data"]["complaintReceived"]["complaint"]["complainantMobile"] for _ in range(2)] == ["13812345672", "13812345673"]
    await file_complaint(port, complainantMobile="13812345674")
    assert (await again.next())["data"]["complaintReceived"]["complaint"] == {"complainantMobile": "13812345674"}
    assert await again.received(0.5) == []
    await again.close()

    # logout: the session's sockets close on both workers
    leaving = await login(port, "edu-440100")
    sockets = await LiveSocket.on_each_worker(port, leaving)
    assert (await ask(port, "mutation { logout }", token=leaving))["data"] == {"logout": True}
    assert [await socket.close_code() for socket in sockets] == [SESSION_ENDED, SESSION_ENDED]

    # idle: a session without a request for two hours; its sockets close at the workers' next check
    idle = await login(port, "edu-440000")
    sockets = await LiveSocket.on_each_worker(port, idle)
    async with sessionmaker() as db:
        await db.execute(sa.update(AuthSession).where(AuthSession.token_hash == token_hash(idle)).values(last_seen_at=AuthSession.last_seen_at - timedelta(hours=2) - TOUCH_EVERY))
        await db.commit()
    assert [await socket.close_code() for socket in sockets] == [SESSION_IDLE, SESSION_IDLE]
    assert await ask(port, "{ me { username } }", token=idle) == {"data": {"me": None}}


async def test_a_socket_needs_a_session_a_known_origin_and_a_moderate_rate(served):
    port, _ = served
    # no token and no cookie: closed with 4403 once connection_init says nothing
    anonymous = await websockets.connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"])
    await anonymous.send(json.dumps({"type": "connection_init", "payload": {}}))
    assert (await LiveSocket(anonymous).close_code())[0] == NO_SESSION
    # a handshake from a foreign page (the cookie's CSRF rule): refused before anything runs
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"], origin="https://elsewhere.example")
    assert refused.value.response.status_code == 403
    # past the message rate (20 at once by default): closed with 4429
    chatty = await LiveSocket.open(port, await login(port, "edu-440106"))
    for _ in range(25):
        await chatty.connection.send(json.dumps({"type": "ping"}))
    assert await chatty.close_code() == TOO_MANY_MESSAGES


async def test_applications_claims_and_overdue_ledgers_reach_their_subscribers_on_either_worker_and_no_other(served):
    port, sessionmaker = served
    gql = ServedGraphQL(port)
    # given: an institution of 天河区 (440106) whose licence application goes to the county,
    # and subscribers of its queue and of the applications in their scope
    _, applicant = await portal_institution(gql, sessionmaker, 50001, kind="NON_SUBJECT", parts=())  # a number insert_institutions does not reach
    queue = await subscribed(port, ["edu-440106", "edu-440100", "edu-440104"], SUBMITTED, {"mine": True}, on_each_worker=("edu-440106", "edu-440104"))
    scoped = await subscribed(port, ["edu-440100", "edu-440104", "sports-440106"], SUBMITTED, {"mine": False}, on_each_worker=("edu-440100", "edu-440104"))
    await asyncio.sleep(0.5)
    # when: it applies
    assert (await gql(APPLY, token=applicant))["data"]["submitApplication"]["errors"] == []
    # then: the county's queue on each worker; the prefecture that reads it, on each worker; 越秀区 (440104) and sports nothing
    submitted = {"data": {"applicationSubmitted": {"type": "APPLICATION_SUBMITTED", "application": {"type": "LICENCE", "status": "PENDING", "authorityLevel": "COUNTY"}}}}
    assert await deliveries(queue, {"edu-440106"}) == {"edu-440106": [submitted, submitted]}
    assert await deliveries(scoped, {"edu-440100"}) == {"edu-440100": [submitted, submitted]}

    # given: an account claiming an institution 天河区 registered, subscribed on each worker,
    # the institution above, the county desks and the prefecture
    names = await insert_institutions(sessionmaker, {"edu-440106": 1})
    async with sessionmaker() as db:
        claimed_code = (await db.execute(sa.text("SELECT credit_code FROM institution WHERE name = :n"), {"n": names["edu-440106"][0]})).scalar_one()
    assert (await register_account(gql, sessionmaker, institution=basics(1, "440106", creditCode=claimed_code)))["errors"] == []
    claims = await subscribed(port, ["edu-440106", "edu-440100", "edu-440104"], CLAIMS, on_each_worker=("edu-440104",))
    claimant = await login(port, MOBILE, PASSWORD)
    claims["claimant"] = await LiveSocket.on_each_worker(port, claimant)
    claims["other institution"] = [await LiveSocket.open(port, applicant)]
    for socket in claims["claimant"] + claims["other institution"]:
        await socket.subscribe(CLAIMS)
    await asyncio.sleep(0.5)
    # when: the county rejects the claim
    county = await login(port, "edu-440106")
    pending = (await gql('{ institutionClaims(status: PENDING) { edges { node { id } } } }', token=county))["data"]["institutionClaims"]["edges"]
    assert len(pending) == 1, pending
    assert (await gql(REJECT_CLAIM, {"id": pending[0]["node"]["id"]}, token=county)) == {"data": {"rejectInstitutionClaim": {"errors": []}}}
    # then: the claimant on each worker and the county (the mobile unmasked), the prefecture (masked); 越秀区 and the other institution nothing
    claim = {"type": "CLAIM_DECIDED", "claim": {"status": "REJECTED", "reason": "信息不符", "applicantMobile": MOBILE}}
    assert await deliveries(claims, {"claimant", "edu-440106", "edu-440100"}) == {
        "claimant": [{"data": {"claimDecided": claim}}] * 2,
        "edu-440106": [{"data": {"claimDecided": claim}}],
        "edu-440100": [{"data": {"claimDecided": {**claim, "claim": {**claim["claim"], "applicantMobile": "139****0001"}}}}],
    }

    # given: an institution a 天河区 sub-unit registered, and subscribers of the overdue ledgers
    names = await insert_institutions(sessionmaker, {"edu-440106-01": 1})
    async with sessionmaker() as db:
        institution_id = (await db.execute(sa.text("SELECT id FROM institution WHERE name = :n"), {"n": names["edu-440106-01"][0]})).scalar_one()
    overdue = await subscribed(
        port, ["edu-440106", "edu-440106-01", "edu-440100", "edu-000000", "edu-440104", "sports-440106", "edu-420000"], OVERDUE,
        on_each_worker=("edu-440106", "edu-440104"),
    )
    await asyncio.sleep(0.5)
    # when: a ledger is recorded whose deadline was yesterday (Beijing), and the workers sweep
    day = today(utcnow())
    recorded = await gql(RECORD, {"id": str(institution_id), "on": str(day - timedelta(days=3)), "deadline": str(day - timedelta(days=1))}, token=county)
    assert recorded == {"data": {"recordInspection": {"errors": []}}}
    # then: the county on each worker, the registering unit and the levels above, once (over several sweeps); 越秀区, sports and 湖北 nothing
    got = await deliveries(overdue, {"edu-440106", "edu-440106-01", "edu-440100", "edu-000000"}, quiet=3 * SWEEP_SECONDS)
    expected = {"data": {"rectificationOverdue": {"type": "RECTIFICATION_OVERDUE", "institution": {"name": names["edu-440106-01"][0]}, "inspection": {"items": [{"deadline": str(day - timedelta(days=1))}]}}}}
    assert got == {"edu-440106": [expected, expected], "edu-440106-01": [expected], "edu-440100": [expected], "edu-000000": [expected]}


async def test_a_password_change_and_a_disabled_account_close_the_sockets_on_both_workers(served):
    port, sessionmaker = served
    # a password change: the account's other sessions end, their sockets close on both workers; the changing session's stays open
    changing = await login(port, "edu-440304")
    other_session = await LiveSocket.on_each_worker(port, await login(port, "edu-440304"))
    own = await LiveSocket.open(port, changing)
    changed = await ask(port, CHANGE_PASSWORD, {"c": DEMO_PASSWORD, "n": "Changed#2026x"}, token=changing)
    assert changed == {"data": {"changePassword": {"errors": []}}}
    assert [await socket.close_code() for socket in other_session] == [SESSION_ENDED, SESSION_ENDED]
    await own.subscribe(NOTICES)
    assert await own.received(1) == []
    assert own.connection.close_code is None
    await own.close()

    # disabled by its manager: its sessions end with it, its sockets close on both workers at once, as disabled (not as logged out)
    county = await login(port, "edu-440106")
    unit = await ask(port, '{ regulatorAccounts(filter: {search: "edu-440106-02"}) { edges { node { id } } } }', token=county)
    sockets = await LiveSocket.on_each_worker(port, await login(port, "edu-440106-02"))
    disabled = await ask(port, DISABLE, {"id": unit["data"]["regulatorAccounts"]["edges"][0]["node"]["id"]}, token=county)
    assert disabled == {"data": {"setRegulatorAccountEnabled": {"errors": []}}}
    assert [await socket.close_code() for socket in sockets] == [ACCOUNT_DISABLED, ACCOUNT_DISABLED]

    # disabled in the database without ending its sessions: the workers' next check closes them as disabled
    sockets = await LiveSocket.on_each_worker(port, await login(port, "sports-440104"))
    async with sessionmaker() as db:
        await db.execute(sa.update(Account).where(Account.username == "sports-440104").values(enabled=False))
        await db.commit()
    assert [await socket.close_code() for socket in sockets] == [ACCOUNT_DISABLED, ACCOUNT_DISABLED]
