"""The per-request context: the request, the viewer, the database and the loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from strawberry.types import Info as _Info

from auth.viewer import Viewer
from config import Settings
from resolvers.loaders import Loaders


@dataclass
class Context:
    request: Request
    response: Response
    settings: Settings
    sessionmaker: async_sessionmaker
    viewer: Viewer | None
    loaders: Loaders
    #: A token came with the request but names no live session.
    session_expired: bool = False
    client_address: str | None = None
    #: One instant per request, from the settings' clock.
    now: datetime = field(default=None)  # type: ignore[assignment]


Info = _Info[Context, None]
