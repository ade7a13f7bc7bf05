"""Time: instants are UTC, days are Beijing days.

The server works with timezone-aware UTC instants (``utcnow``; a request reads one instant,
``Context.now``, from the settings' clock). Whenever a rule means a calendar day — "today"
for a licence's validity, an overdue deadline, an inspection's date, a statistics day — it is
the day in Asia/Shanghai (``today``), never the UTC date, which lags eight hours behind
between 00:00 and 08:00 Beijing time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

#: China Standard Time: UTC+8 all year (no daylight saving since 1991).
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
#: The zone's name, for PostgreSQL (``AT TIME ZONE``).
CHINA_ZONE = "Asia/Shanghai"


def utcnow() -> datetime:
    return datetime.now(UTC)


def today(now: datetime) -> date:
    """The Beijing calendar day of the instant ``now``."""
    return now.astimezone(CHINA).date()


def day_start(day: date) -> datetime:
    """The instant a Beijing day begins (00:00 in Beijing), as UTC."""
    return datetime.combine(day, time.min, CHINA).astimezone(UTC)
