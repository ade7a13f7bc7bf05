"""Live updates in one worker (docs/rules.md, "Live updates"): the worker's sockets and their
subscriptions, fed from PostgreSQL through one listening connection.

- ``LISTEN xwpx_events``: a notification (sent on commit by the event's trigger, migration
  0017) wakes the worker, which reads every event after the last it has seen, in seq order
  (commit order), and hands each to the subscriptions it may concern
  (``auth.scope.may_see_event``). Each subscription then reads the event's record in its
  viewer's scope (``auth.scope``), or passes it over. Every worker and every instance
  listens, so an event raised anywhere reaches subscribers connected anywhere.
- ``LISTEN xwpx_sessions``: a session deleted (logout, a password change, a disabled
  account, or idle: ``auth.sessions.end_idle_sessions`` says so first) closes the sockets
  it holds at once, on every worker; every ``subscription_check_seconds`` the
  sessions of the open sockets are checked in one statement (the idle rule).
- A lost database never closes a socket: the worker listens again when it is back and
  reads what was committed meanwhile, and a subscription waits to read its record.
- The worker also raises the overdue ledgers' events and purges those past retention.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import asyncpg

from auth.scope import may_see_event
from auth.sessions import SESSION_IDLE, closing, end_idle_sessions, ended_sessions
from auth.viewer import Viewer
from core.errors import ApiError
from core.faults import fault_of, log_refusal
from core.settings import Settings
from models.database import listening_connection, single_statements
from models.events import EVENTS_CHANNEL, SESSIONS_CHANNEL, EventType
from resolvers.events import Raised, last_seq, purge, raised_after
from resolvers.feed import after_seq, replay, visible
from resolvers.inspections.overdue import raise_overdue

log = logging.getLogger("xwpx")

#: Events read from the table in one statement.
_BATCH = 500
#: Undelivered events a subscription may hold before its socket is closed (``QUEUE_FULL``).
QUEUE_SIZE = 1000
#: The close code of a socket whose subscriber falls that far behind: it resumes from the
#: feed with its last cursor.
QUEUE_FULL = (4413, "未送达的事件过多，请以最后的游标重新订阅 (too many undelivered events: subscribe again with your last cursor)")


async def _wait(event: asyncio.Event, seconds: float) -> None:
    """Until ``event`` is set or ``seconds`` have passed. Not ``asyncio.wait_for``: on
    Python 3.11 it swallows a cancel that comes in the turn the event is set, so the hub's
    loop went on and ``Hub.stop`` waited for ever."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


class Socket:
    """A subscriber's WebSocket, once its session is known: what the worker closes."""

    def __init__(self, hub: Hub, viewer: Viewer, close: Callable[[int, str], Awaitable[None]]) -> None:
        self.hub = hub
        self.viewer = viewer
        self._close = close
        self.closed = False

    async def close(self, code: int, reason: str) -> None:
        self.closed = True
        await self._close(code, reason)


class Subscription:
    """One subscription's events, in seq order, as the worker hands them over."""

    __slots__ = ("queue", "socket", "types")

    def __init__(self, socket: Socket, types: frozenset[EventType]) -> None:
        self.socket = socket
        self.types = types
        self.queue: asyncio.Queue[Raised] = asyncio.Queue(QUEUE_SIZE)


class Hub:
    """The worker's live updates (see the module)."""

    def __init__(self, url: str, sessionmaker, settings: Settings) -> None:
        self.url = url
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.sockets: set[Socket] = set()
        self.subscriptions: dict[EventType, set[Subscription]] = defaultdict(set)
        self.per_session: dict[uuid.UUID, int] = defaultdict(int)
        #: The last event handed over (None until the first connection).
        self.high: int | None = None
        self.listening = asyncio.Event()
        self._wake = asyncio.Event()
        self._check = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._closing: set[asyncio.Task] = set()

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> Hub:
        self._tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._pump()), asyncio.create_task(self._check_sessions())]
        if self.settings.overdue_sweep_seconds > 0:
            self._tasks.append(asyncio.create_task(self._every(self.settings.overdue_sweep_seconds, self.sweep)))
        self._tasks.append(asyncio.create_task(self._every(3600, self.purge)))
        return self

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    # --- sockets and subscriptions -----------------------------------------------------

    def join(self, socket: Socket) -> None:
        self.sockets.add(socket)

    def leave(self, socket: Socket) -> None:
        self.sockets.discard(socket)

    @contextlib.asynccontextmanager
    async def subscription(self, socket: Socket, types: frozenset[EventType]) -> AsyncIterator[Subscription]:
        """A subscription of ``socket`` to ``types`` for the time of the block; refused with
        ``TOO_MANY_SUBSCRIPTIONS`` past ``subscriptions_per_session`` (on this worker)."""
        session_id = socket.viewer.session_id
        limit = self.settings.subscriptions_per_session
        if self.per_session[session_id] >= limit:
            raise ApiError(f"每个会话最多同时订阅 {limit} 项 (at most {limit} subscriptions per session)", code="TOO_MANY_SUBSCRIPTIONS", limit=limit)
        subscription = Subscription(socket, types)
        self.per_session[session_id] += 1
        for kind in types:
            self.subscriptions[kind].add(subscription)
        try:
            yield subscription
        finally:
            for kind in types:
                self.subscriptions[kind].discard(subscription)
            self.per_session[session_id] -= 1
            if not self.per_session[session_id]:
                del self.per_session[session_id]

    def _close_later(self, socket: Socket, code: int, reason: str) -> None:
        """Close ``socket`` with the first reason given (one decided now, sent soon)."""
        if socket.closed:
            return
        task = asyncio.create_task(socket.close(code, reason))
        socket.closed = True
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _dispatch(self, raised: Raised) -> None:
        for subscription in self.subscriptions.get(raised.type, ()):
            viewer = subscription.socket.viewer
            if subscription.socket.closed or not may_see_event(viewer, raised.region_path, raised.institution_id, raised.account_id):
                continue
            try:
                subscription.queue.put_nowait(raised)
            except asyncio.QueueFull:
                self._close_later(subscription.socket, *QUEUE_FULL)

    # --- PostgreSQL --------------------------------------------------------------------

    def _on_event(self, connection, pid, channel, payload) -> None:
        self._wake.set()

    def _on_session(self, connection, pid, channel, payload) -> None:
        if (named := closing(payload)) is None:
            return
        session_id, why = named
        for socket in [s for s in self.sockets if s.viewer.session_id == session_id]:
            self._close_later(socket, *why)

    async def _listen(self) -> None:
        """One listening connection, made again whenever it is lost (backing off to 10 s);
        a ping every 30 s finds a connection the network dropped silently."""
        delay = 0.5
        while True:
            connection = None
            try:
                connection = await listening_connection(self.url)
                lost = asyncio.Event()
                connection.add_termination_listener(lambda _: lost.set())
                await connection.add_listener(EVENTS_CHANNEL, self._on_event)
                await connection.add_listener(SESSIONS_CHANNEL, self._on_session)
                if self.high is None:
                    async with self.sessionmaker() as db:
                        self.high = await last_seq(db)
                self.listening.set()
                # What was committed, and which sessions ended, while nobody listened.
                self._wake.set()
                self._check.set()
                delay = 0.5
                while not lost.is_set():
                    await _wait(lost, 30)
                    if not lost.is_set():
                        await connection.fetchval("SELECT 1")
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - a fault is expected; anything else is logged and retried
                self._log(error, "listening for events")
            finally:
                self.listening.clear()
                if connection is not None and not connection.is_closed():
                    connection.terminate()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10)

    async def _pump(self) -> None:
        """Hand over every event after the last one handed over, when woken."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self.high is None:
                continue
            try:
                while True:
                    async with self.sessionmaker() as db:
                        await single_statements(db)
                        batch = await raised_after(db, self.high, _BATCH)
                    for raised in batch:
                        self.high = raised.seq
                        self._dispatch(raised)
                    if len(batch) < _BATCH:
                        break
            except Exception as error:  # noqa: BLE001 - retried: nothing is lost, the seq says where to go on
                self._log(error, "reading events")
                self._wake.set()
                await asyncio.sleep(1)

    async def _check_sessions(self) -> None:
        """Close the sockets whose sessions no longer hold (``auth.sessions.ended_sessions``)."""
        while True:
            await _wait(self._check, self.settings.subscription_check_seconds)
            self._check.clear()
            await self.check_sessions()

    async def check_sessions(self) -> None:
        sockets = [s for s in self.sockets if not s.closed]
        if not sockets:
            return
        try:
            async with self.sessionmaker() as db:
                ended = await ended_sessions(db, {s.viewer.session_id for s in sockets}, self.settings.clock(), self.settings.session_idle_timeout)
                # Closed with their reason before the idle sessions' deletion is heard of.
                for socket in sockets:
                    if socket.viewer.session_id in ended:
                        self._close_later(socket, *ended[socket.viewer.session_id])
                if idle := [session_id for session_id, why in ended.items() if why == SESSION_IDLE]:
                    await end_idle_sessions(db, idle)
        except Exception as error:  # noqa: BLE001 - checked again at the next turn
            self._log(error, "checking the sockets' sessions")

    async def _every(self, seconds: float, work: Callable[[], Awaitable[object]]) -> None:
        while True:
            try:
                await work()
            except Exception as error:  # noqa: BLE001 - done again at the next turn
                self._log(error, getattr(work, "__name__", "periodic work"))
            await asyncio.sleep(seconds)

    async def sweep(self) -> int:
        """The overdue ledgers' events (``resolvers.inspections.overdue``)."""
        async with self.sessionmaker() as db:
            return await raise_overdue(db, self.settings.clock(), self.retention)

    async def purge(self) -> int:
        async with self.sessionmaker() as db:
            return await purge(db, self.settings.clock(), self.retention)

    @property
    def retention(self) -> timedelta:
        return timedelta(days=self.settings.event_retention_days)

    @staticmethod
    def _log(error: BaseException, what: str) -> None:
        fault = fault_of(error)
        if fault is None and not isinstance(error, OSError | asyncpg.PostgresError):
            log.error("live updates: %s failed", what, exc_info=error)
        else:
            log_refusal(fault.code if fault else "DATABASE_UNAVAILABLE", f"live updates: {what}", error)


#: Events a resumed subscription reads from the feed in one statement.
_REPLAY = 100


async def stream(context, kind: EventType, after: str | None) -> AsyncIterator[tuple[object, object]]:
    """The events of ``kind`` for the subscriber of ``context`` (its socket's viewer), each
    with its record as the viewer may see it: first those of the feed after the cursor
    ``after`` when one is given, then each as it is committed, none twice and none lost in
    between (the subscription is registered before the feed is read)."""
    socket = context.socket
    if socket is None:
        raise ApiError("订阅须通过 WebSocket 连接 /graphql (subscriptions are served over a WebSocket at /graphql, protocol graphql-transport-ws)", code="BAD_REQUEST")
    seen = after_seq(after)
    async with socket.hub.subscription(socket, frozenset({kind})) as subscription:
        if after is not None:
            while True:
                rows, last = await replay(context.sessionmaker, socket.viewer, [kind], seen, _REPLAY)
                for row in rows:
                    yield row
                if last is None:
                    break
                seen = last
        while True:
            raised = await subscription.queue.get()
            if raised.seq <= seen:
                continue
            record = await visible(context.sessionmaker, socket.viewer, raised.type, raised.record_id)
            if record is not None:
                yield raised, record
