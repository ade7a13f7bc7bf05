"""The public rate limit (``auth/ratelimit.py``): GCRA in one statement on PostgreSQL."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from auth.ratelimit import RateLimiter, client_bucket, sweep


def test_ipv6_clients_are_counted_per_64():
    assert client_bucket("2001:db8:1:2::10") == client_bucket("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    assert client_bucket("::ffff:203.0.113.9") == "203.0.113.9"
    assert client_bucket("203.0.113.9") == "203.0.113.9"
    assert client_bucket(None) == client_bucket("testclient") == "unknown"


async def test_a_burst_then_the_rate_with_the_wait_until_the_next(app, clock):
    limiter = RateLimiter(app.state.rate_engine, 3, 0.5, clock=clock)
    assert [await limiter.take("198.51.100.7") for _ in range(3)] == [None, None, None]
    assert await limiter.take("198.51.100.7") == 2.0  # one request every 2 s
    assert await limiter.take("198.51.100.8") is None  # another address
    clock.advance(seconds=1.5)
    assert await limiter.take("198.51.100.7") == 0.5
    clock.advance(seconds=0.5)
    assert await limiter.take("198.51.100.7") is None
    assert await limiter.take("198.51.100.7") == 2.0
    # a refusal spends nothing: after 2 s exactly one more
    clock.advance(seconds=2)
    assert [await limiter.take("198.51.100.7") for _ in range(2)] == [None, 2.0]


async def test_simultaneous_requests_of_one_address_are_counted_one_after_another(app, clock):
    limiter = RateLimiter(app.state.rate_engine, 5, 0.001, clock=clock)
    answers = await asyncio.gather(*(limiter.take("198.51.100.9") for _ in range(12)))
    assert sum(a is None for a in answers) == 5


async def test_full_buckets_are_forgotten(app, clock):
    limiter = RateLimiter(app.state.rate_engine, 2, 1, clock=clock)
    await limiter.take("198.51.100.10")
    await limiter.take("198.51.100.11")
    await limiter.take("198.51.100.11")
    clock.advance(seconds=1.5)  # .10 is full again, .11 not yet
    assert await sweep(app.state.rate_engine, clock()) == 1
    async with app.state.rate_engine.connect() as connection:
        assert (await connection.execute(sa.text("SELECT bucket FROM client_rate WHERE bucket LIKE '198.51.100.%'"))).scalars().all() == ["198.51.100.11"]
