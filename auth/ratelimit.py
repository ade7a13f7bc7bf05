"""Rate limits per client address for callers without a valid session (the public
platform): ``burst`` requests at once, then ``per_second``, per address (IPv4, or the /64
network of an IPv6 address), shared by every worker and instance.

The state lives in PostgreSQL, the one store they share: an UNLOGGED table
(``client_rate``: nothing in it needs to survive a crash) with one row per address, taken
in one statement per request. The algorithm is GCRA (the generic cell rate algorithm, a
token bucket kept as one number): the row holds the moment the address's bucket will be
full again (its theoretical arrival time); a request is allowed when that moment, moved on
by one request's interval, is no further than ``burst`` intervals ahead of now, and then
the row keeps it. The statement is an upsert whose update has that condition, so
simultaneous requests of one address are counted one after another by the row's lock.
Rows of addresses whose bucket is full again are deleted by ``sweep`` (every minute).

The statement runs on a small pool of its own (``create_app``), so that neither a flood of
public queries (which fills the public pool) nor the limiter takes the connections of
signed-in callers.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)


def client_bucket(address: str | None) -> str:
    """The per-address limits' key: an IPv4 address, or the /64 network of an IPv6 one."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


#: One request of an address: the new arrival time when it is allowed (null otherwise),
#: and the one before it (read from the statement's snapshot, for the wait).
_TAKE = sa.text(
    """
    WITH previous AS (SELECT tat FROM client_rate WHERE bucket = :bucket),
    taken AS (
        INSERT INTO client_rate (bucket, tat) VALUES (:bucket, :now + :interval)
        ON CONFLICT (bucket) DO UPDATE SET tat = GREATEST(client_rate.tat, :now) + :interval
        WHERE GREATEST(client_rate.tat, :now) + :interval <= :now + :tolerance
        RETURNING tat
    )
    SELECT (SELECT tat FROM taken) AS taken, (SELECT tat FROM previous) AS previous
    """
).bindparams(
    sa.bindparam("bucket", type_=sa.String()),
    sa.bindparam("now", type_=sa.Float()),
    sa.bindparam("interval", type_=sa.Float()),
    sa.bindparam("tolerance", type_=sa.Float()),
)


class RateLimiter:
    """``burst`` requests at once, refilled at ``per_second``, per client address."""

    def __init__(self, engine: AsyncEngine, burst: float, per_second: float, clock: Callable[[], datetime]) -> None:
        if burst < 1 or per_second <= 0:
            raise ValueError("XWPX_PUBLIC_RATE must be burst/per-second with a burst of at least 1 and a positive rate")
        self.engine, self.clock = engine, clock
        self.interval = 1 / per_second
        self.tolerance = burst * self.interval

    async def take(self, address: str | None) -> float | None:
        """Spend one request of the address's bucket: None when allowed, else the seconds
        until one is available."""
        now = self.clock().timestamp()
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(
                    _TAKE, {"bucket": client_bucket(address), "now": now, "interval": self.interval, "tolerance": self.tolerance}
                )
            ).one()
            await connection.commit()
        if row.taken is not None:
            return None
        if row.previous is None:  # another request created the row meanwhile and filled it
            return self.interval
        return max(row.previous + self.interval - self.tolerance - now, 0.001)


async def public_wait(request) -> int | None:
    """For a request without a valid session: the whole seconds to wait when its address is
    over the public rate (``app.state.public_rate``), else None. A fault of the database
    raises (``core.faults.fault_of`` tells which)."""
    wait = await request.app.state.public_rate.take(request.client.host if request.client else None)
    return None if wait is None else max(1, math.ceil(wait))


async def sweep(engine: AsyncEngine, now: datetime) -> int:
    """Forget the addresses whose bucket is full again (nothing to remember)."""
    async with engine.begin() as connection:
        return (await connection.execute(sa.text("DELETE FROM client_rate WHERE tat < :now"), {"now": now.timestamp()})).rowcount


async def sweep_every(engine: AsyncEngine, clock: Callable[[], datetime], seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await sweep(engine, clock())
        except Exception:  # noqa: BLE001 - a lost database: the next round tries again
            log.warning("could not sweep the client rate table", exc_info=True)
