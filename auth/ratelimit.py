"""Rate limits per client address for callers without a session (the public platform).

A token bucket per address (IPv4, or the /64 network of an IPv6 address): ``burst``
requests at once, refilled at ``per_second``. Kept in the worker's memory: it costs no
database write per public request, and with several workers each keeps its own buckets
(the effective limit is the workers' number times the setting; README, Deployment).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from datetime import datetime

#: Buckets kept at most; full ones (idle addresses) are dropped first when it is reached.
MAX_ADDRESSES = 100_000


def client_bucket(address: str | None) -> str:
    """The per-address limit's key: an IPv4 address, or the /64 network of an IPv6 one."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


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
