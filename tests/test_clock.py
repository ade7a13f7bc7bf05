""""Today" is the Beijing calendar day (core.clock), whatever the UTC date."""

from __future__ import annotations

from datetime import UTC, date, datetime

from core.clock import day_start, today


def test_today_is_the_day_in_beijing():
    assert today(datetime(2026, 11, 30, 15, 30, tzinfo=UTC)) == date(2026, 11, 30)  # 23:30 in Beijing
    assert today(datetime(2026, 11, 30, 16, 30, tzinfo=UTC)) == date(2026, 12, 1)  # 00:30 in Beijing, the UTC date lags
    assert today(datetime(2026, 12, 1, 0, 0, tzinfo=UTC)) == date(2026, 12, 1)


def test_a_beijing_day_begins_at_16_utc_the_day_before():
    assert day_start(date(2026, 12, 1)) == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
