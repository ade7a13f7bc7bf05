"""Live updates (实时通知, docs/rules.md "Live updates"): subscriptions over the
``graphql-transport-ws`` protocol at ``/graphql`` and the event feed ``events(after, types)``.

Each event carries its record as the caller may see it (the same types, masks and scope as
every read): a subscriber of another county receives nothing of it. A subscription given
``after`` (the cursor of the last event received, from an event or from the feed) first
delivers what was committed since, then goes on live, none twice and none lost."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from auth.permissions import Authenticated, InstitutionUser, Regulator, allow
from models import EventType as EventTypeEnum
from resolvers import applications, feed, live
from resolvers.loaders import InstitutionByIdLoader
from resolvers.pagination import encode_cursor
from schema.accounts.types import InstitutionClaim
from schema.applications import Application
from schema.complaints import Complaint
from schema.context import Info
from schema.inspections import Inspection, UrgingNotice
from schema.institutions.types import Institution
from schema.relay import Connection

EventType = strawberry.enum(
    EventTypeEnum,
    name="EventType",
    description=(
        "事件类型: 收到投诉 COMPLAINT_RECEIVED, 收到督办 URGING_NOTICE_RECEIVED, 新的申请 APPLICATION_SUBMITTED, "
        "申请已审核 APPLICATION_DECIDED, 认领已处理 CLAIM_DECIDED, 整改逾期 RECTIFICATION_OVERDUE."
    ),
)


@strawberry.interface(name="Event", description="事件: something a regulator or an institution waits for, in the feed and in subscriptions.")
class EventInterface:
    cursor: str = strawberry.field(description="游标: resume the feed or a subscription after this event (`after`)")
    type: EventType
    occurred_at: dt.datetime = strawberry.field(description="发生时间")


@strawberry.type(description="收到投诉: a complaint filed with a county (its handling county reads the complainant unmasked).")
class ComplaintReceivedEvent(EventInterface):
    complaint: Complaint = strawberry.field(description="投诉 (as the subscriber may read it)")


@strawberry.type(description="收到督办: an urging notice addressed to a county.")
class UrgingNoticeReceivedEvent(EventInterface):
    notice: UrgingNotice = strawberry.field(description="督办通知")


@strawberry.type(description="新的申请: an application submitted to its reviewing authority.")
class ApplicationSubmittedEvent(EventInterface):
    application: Application = strawberry.field(description="申请")


@strawberry.type(description="申请已审核: an application approved or rejected.")
class ApplicationDecidedEvent(EventInterface):
    application: Application = strawberry.field(description="申请")


@strawberry.type(description="认领已处理: an institution claim confirmed or rejected.")
class ClaimDecidedEvent(EventInterface):
    claim: InstitutionClaim = strawberry.field(description="认领申请")


@strawberry.type(description="整改逾期: a rectification ledger whose earliest unfinished deadline has passed (raised once per deadline).")
class RectificationOverdueEvent(EventInterface):
    inspection: Inspection = strawberry.field(description="排查及其整改台账")
    institution_id: strawberry.Private[object]

    @strawberry.field(description="逾期的机构")
    async def institution(self, info: Info) -> Institution | None:
        row = await InstitutionByIdLoader(info.context).load(self.institution_id)
        return Institution.from_row(row, info.context.viewer) if row else None


def _record_type(kind: EventTypeEnum, record, viewer):
    if kind is EventTypeEnum.COMPLAINT_RECEIVED:
        return ComplaintReceivedEvent, {"complaint": Complaint.for_viewer(record, viewer)}
    if kind is EventTypeEnum.URGING_NOTICE_RECEIVED:
        return UrgingNoticeReceivedEvent, {"notice": UrgingNotice.from_row(record)}
    if kind is EventTypeEnum.APPLICATION_SUBMITTED:
        return ApplicationSubmittedEvent, {"application": Application.from_row(record)}
    if kind is EventTypeEnum.APPLICATION_DECIDED:
        return ApplicationDecidedEvent, {"application": Application.from_row(record)}
    if kind is EventTypeEnum.CLAIM_DECIDED:
        return ClaimDecidedEvent, {"claim": InstitutionClaim.from_view(record, viewer)}
    return RectificationOverdueEvent, {"inspection": Inspection.from_row(record), "institution_id": record.institution_id}


def event_of(event, record, viewer) -> EventInterface:
    """The GraphQL event of an event row (or one a worker read) and its record."""
    kind = EventTypeEnum(event.type)
    cls, values = _record_type(kind, record, viewer)
    return cls(cursor=encode_cursor([event.seq]), type=kind, occurred_at=event.occurred_at, **values)


@strawberry.type
class EventQuery:
    @strawberry.field(
        description="事件流: the events in the caller's scope after the cursor `after` (none: the oldest kept), oldest first, "
        "of the given `types` (none: all); kept XWPX_EVENT_RETENTION_DAYS days. For statistics, and to resume after a disconnect.",
        extensions=allow(Authenticated()),
    )
    async def events(
        self, info: Info, after: str | None = None, types: Annotated[list[EventType] | None, strawberry.argument(description="事件类型 (none: all)")] = None, first: int | None = 20
    ) -> Connection[EventInterface]:
        viewer = info.context.viewer
        page = await feed.feed(info.context.sessionmaker, viewer, types, after, first)
        return Connection[EventInterface].from_page(page, lambda row: event_of(row[0], row[1], viewer), after=after)


async def _events(info: Info, kind: EventTypeEnum, after: str | None, keep=None) -> AsyncGenerator:
    context = info.context
    async for event, record in live.stream(context, kind, after):
        if keep is not None and not keep(record):
            continue
        # Each event is answered like a request of its own: its instant, fresh loaders.
        context.now = context.settings.clock()
        context.loaders = {}
        yield event_of(event, record, context.viewer)


After = Annotated[
    str | None, strawberry.argument(description="游标: first deliver the events committed after it (from an earlier event or the feed), then go on live")
]
_REGULATOR = allow(Regulator())


@strawberry.type(description="实时通知 over a WebSocket (graphql-transport-ws) at /graphql, authenticated by the session.")
class Subscription:
    @strawberry.subscription(description="收到投诉: complaints filed with the caller's subtree (the handling county, and the levels above).", extensions=_REGULATOR)
    async def complaint_received(self, info: Info, after: After = None) -> AsyncGenerator[ComplaintReceivedEvent, None]:
        async for event in _events(info, EventTypeEnum.COMPLAINT_RECEIVED, after):
            yield event

    @strawberry.subscription(description="收到督办: urging notices addressed to the caller's county (or within its subtree).", extensions=_REGULATOR)
    async def urging_notice_received(self, info: Info, after: After = None) -> AsyncGenerator[UrgingNoticeReceivedEvent, None]:
        async for event in _events(info, EventTypeEnum.URGING_NOTICE_RECEIVED, after):
            yield event

    @strawberry.subscription(
        description="新的申请 in the caller's scope; forMyReview: only those the caller decides (its review queue).", extensions=_REGULATOR
    )
    async def application_submitted(
        self, info: Info, after: After = None,
        for_my_review: Annotated[bool, strawberry.argument(description="只看本单位审核的 (the caller's review queue only)")] = False
    ) -> AsyncGenerator[ApplicationSubmittedEvent, None]:
        viewer = info.context.viewer
        keep = (lambda row: applications.is_authority(viewer, row)) if for_my_review else None
        async for event in _events(info, EventTypeEnum.APPLICATION_SUBMITTED, after, keep):
            yield event

    @strawberry.subscription(description="申请已审核: the decisions on the caller institution's applications.", extensions=allow(InstitutionUser()))
    async def application_decided(self, info: Info, after: After = None) -> AsyncGenerator[ApplicationDecidedEvent, None]:
        async for event in _events(info, EventTypeEnum.APPLICATION_DECIDED, after):
            yield event

    @strawberry.subscription(description="认领已处理: the decision on the caller's claims (an institution account, bound or not yet).", extensions=allow(Authenticated()))
    async def claim_decided(self, info: Info, after: After = None) -> AsyncGenerator[ClaimDecidedEvent, None]:
        async for event in _events(info, EventTypeEnum.CLAIM_DECIDED, after):
            yield event

    @strawberry.subscription(description="整改逾期: ledgers of the caller's institutions gone overdue (the county and the levels above).", extensions=_REGULATOR)
    async def rectification_overdue(self, info: Info, after: After = None) -> AsyncGenerator[RectificationOverdueEvent, None]:
        async for event in _events(info, EventTypeEnum.RECTIFICATION_OVERDUE, after):
            yield event
