"""Rate limits per client address for callers without a session (the public platform).

A token bucket per address (IPv4, or the /64 network of an IPv6 address): ``burst``
requests at once, refilled at ``per_second``. Kept in the worker's memory: it costs no
database write per public request, and with several workers each keeps its own buckets
(the effective limit is the workers' number times the setting; README, Deployment).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from resolvers.complaints import client_bucket

#: Buckets kept at most; full ones (idle addresses) are dropped first when it is reached.
MAX_ADDRESSES = 100_000


class RateLimiter:
    def __init__(self, burst: float, per_second: float, clock: Callable[[], datetime]) -> None:
        self.burst, self.per_second, self.clock = burst, per_second, clock
        self.buckets: dict[str, tuple[float, datetime]] = {}

    def take(self, address: str | None) -> float | None:
        """Spend one request of the address's bucket: None when allowed, else the seconds
        until one is available."""
        key = client_bucket(address)
        now = self.clock()
        tokens, then = self.buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then).total_seconds() * self.per_second)
        if tokens < 1:
            self.buckets[key] = (tokens, now)
            return (1 - tokens) / self.per_second if self.per_second > 0 else 3600.0
        if len(self.buckets) >= MAX_ADDRESSES and key not in self.buckets:
            self._forget_idle(now)
        self.buckets[key] = (tokens - 1, now)
        return None

    def _forget_idle(self, now: datetime) -> None:
        full = [k for k, (t, then) in self.buckets.items() if t + (now - then).total_seconds() * self.per_second >= self.burst]
        for key in full or list(self.buckets)[: len(self.buckets) // 2]:
            del self.buckets[key]
