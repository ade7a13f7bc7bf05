"""The per-request context: the request, the viewer, the database and the loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from strawberry.types import Info as _Info

from auth.viewer import Viewer
from core.settings import Settings
from models.database import RequestConnection
from models.storage import Storage
from resolvers.live import Socket


@dataclass
class Context:
    request: Request
    response: Response
    settings: Settings
    sessionmaker: async_sessionmaker
    viewer: Viewer | None
    #: Where uploaded files are kept (``models/storage.py``).
    storage: Storage
    #: Why a token that came with the request was not honoured (expired, or a cookie
    #: without the CSRF header), for the UNAUTHENTICATED message.
    anonymous_reason: str | None = None
    #: Reads that may lag a little (statistics): the replica when one is configured.
    read_sessionmaker: async_sessionmaker | None = None
    client_address: str | None = None
    #: One instant per request, from the settings' clock.
    now: datetime = field(default=None)  # type: ignore[assignment]
    #: The request's DataLoaders by class, made on first use (``resolvers.loaders.Loader``).
    loaders: dict = field(default_factory=dict)
    #: The document did not validate on the public schema (a caller without a session):
    #: answered as one UNAUTHENTICATED error (``schema.root.refusal_outside_public_part``).
    outside_public_part: bool = False
    #: Unmasked personal data read in this request: (record type, id) -> (region, fields);
    #: written to the audit trail when the request ends (schema.extensions.RecordPersonalReads).
    personal_reads: dict = field(default_factory=dict)
    #: A subscriber's socket, once ``connection_init`` named its session (``web.subscriptions``).
    socket: Socket | None = None
    #: The request's connection of the main pool for its Core reads: the session's read
    #: checks it out, a planned answer reads on it, and it is given back before normal
    #: execution (which reads through sessions) and when the request ends (``web.graphql``).
    reads: RequestConnection | None = None


def note_personal_read(info, key: tuple | None, field_name: str) -> None:
    """Record that the caller read ``field_name`` of the record ``key`` unmasked; ``key`` is
    (record type, id, region code or None, institution id or None: its region is looked up),
    or None when the value was shown masked."""
    if key is None:
        return
    record_type, record_id, region_code, institution_id = key
    _, _, fields = info.context.personal_reads.setdefault((record_type, record_id), (region_code, institution_id, set()))
    fields.add(field_name)


Info = _Info[Context, None]
