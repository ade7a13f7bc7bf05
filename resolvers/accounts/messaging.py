"""Sending short messages (verification codes) to a mobile number or an e-mail address.

One small interface, ``Sender``: ``await sender.send(channel, destination, text)``. The
class is named by the ``XWPX_SENDER`` setting as ``module:Class`` and is built for each
transaction that sends, as ``Class(db, now)``: the database session of that transaction and
the request's time. ``send`` is called inside the transaction, just before it commits, so a
code is stored exactly when its message was handed over; a sender that cannot deliver
raises ``SendFailed`` and nothing is stored.

The default, ``OutboxSender``, sends nothing: it logs the message (destination masked) and
inserts it into the ``outbox`` table in the same transaction, where development and the
tests read it. A real gateway is a class with the same two methods, for example::

    class AliyunSms:
        def __init__(self, db, now):
            self.client = make_client(os.environ["SMS_KEY"])  # its own settings
        async def send(self, channel, destination, text):
            if channel is Channel.EMAIL:
                ...  # or hand e-mail to another gateway
            await self.client.send(destination, text)

started with ``XWPX_SENDER=mysms:AliyunSms``.
"""

from __future__ import annotations

import functools
import importlib
import logging
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import ApiError
from core.masking import mask_email, mask_phone
from models import Channel, OutboxMessage

log = logging.getLogger("xwpx.messaging")


class SendFailed(ApiError):
    """The gateway did not take the message; the request may be repeated later."""

    code = "SEND_FAILED"


class Sender(Protocol):
    def __init__(self, db: AsyncSession, now: datetime) -> None: ...

    async def send(self, channel: Channel, destination: str, text: str) -> None: ...


def masked_destination(channel: Channel, destination: str) -> str:
    """``138****8000``, ``z***@example.cn``: enough to tell messages apart in a log."""
    return mask_email(destination) if channel is Channel.EMAIL else mask_phone(destination)


class OutboxSender:
    """The default sender: the server log and the ``outbox`` table, nothing leaves the
    server. For development and tests; production names a gateway in ``XWPX_SENDER``."""

    def __init__(self, db: AsyncSession, now: datetime) -> None:
        self.db = db
        self.now = now

    async def send(self, channel: Channel, destination: str, text: str) -> None:
        log.info("outbox %s to %s: %s", channel.value, masked_destination(channel, destination), text)
        self.db.add(OutboxMessage(channel=channel, destination=destination, body=text, created_at=self.now))


@functools.cache
def sender_class(path: str) -> type[Sender]:
    """The class named by ``module:Class`` (raises when it cannot be imported)."""
    module, _, name = path.partition(":")
    if not module or not name:
        raise ValueError(f"XWPX_SENDER must be module:Class, got {path!r}")
    return getattr(importlib.import_module(module), name)


def sender(settings, db: AsyncSession, now: datetime) -> Sender:
    """The configured sender for one transaction."""
    return sender_class(settings.sender)(db, now)
