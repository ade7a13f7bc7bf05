"""Live updates as a front end receives them: a real WebSocket client (``websockets``) against
``python server.py serve --workers 2``, a subscriber on each worker. Each event reaches the
subscribers whose scope holds it, on either worker, after a commit and never after a
rollback; a subscriber that reconnects resumes from its cursor without a loss; the socket
closes on logout and on idle expiry, and without a session, from a foreign origin or past
the message rate. The rules event type by event type, in-process:
tests/test_events.py."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import websockets

from auth.sessions import SESSION_ENDED, SESSION_IDLE, token_hash
from demo.accounts import DEMO_PASSWORD
from models import Account, Application, AuthSession, Complaint, EventType
from models.database import create_engine, create_sessionmaker
from resolvers.events import raise_event
from tests.helpers import (
    COMPLAINTS,
    DECIDED,
    LOGIN,
    NOTICES,
    SEND_NOTICE,
    SUBMIT,
    LiveSocket,
    complaint,
    free_port,
    post_query,
    private_directory,
    start,
    stop,
)
from web.subscriptions import NO_SESSION, TOO_MANY_MESSAGES

pytestmark = pytest.mark.slow

PENDING = """{ applications(filter: {status: PENDING, forMyReview: true}, first: 1) { edges { node { id institution { id } } } } }"""
REJECT = 'mutation($id: ID!) { reviewApplication(id: $id, input: {approve: false, opinion: "材料不全"}) { errors { field code } } }'
RESUMING = "subscription($after: String) { complaintReceived(after: $after) { cursor complaint { complainantMobile } } }"


@pytest.fixture
async def served(database_url):
    """The demo server with two workers on the test's database (sessions checked every half
    second), and a sessionmaker of that database for what the test writes itself."""
    data_dir = private_directory("xwpx-live-")
    port = free_port()
    env = {
        "DATABASE_URL": database_url, "XWPX_SERVED_BY_HEADER": "1", "XWPX_ARGON2_PROFILE": "test",
        "XWPX_SUBSCRIPTION_CHECK_SECONDS": "0.5", "XWPX_PUBLIC_RATE": "100000/1000",
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


async def login(port: int, username: str) -> str:
    answer = await ask(port, LOGIN, {"u": username, "p": DEMO_PASSWORD})
    assert "errors" not in answer, answer
    return answer["data"]["login"]["token"]


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
        await db.execute(sa.update(AuthSession).where(AuthSession.token_hash == token_hash(idle)).values(last_seen_at=AuthSession.last_seen_at - timedelta(hours=2)))
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
