"""RedisRateStore on a real redis-server: nothing secret in Redis, one Cluster slot per key, and
Redis trouble (a hang, a stop) answered in-process behind a circuit with one WARNING, then Redis
again once it is back."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator

import pytest
import redis.asyncio

from refiner_async import RefinerClient
from refiner_async._ratelimit import bucket
from refiner_async.ratelimit import RedisRateStore
from refiner_async.testing import FakeRefiner

from ..conftest import RedisServer

KEY = [bucket("key", 10.0)]
EMAIL = "someone.private@example.com"
CONTACT_ID = "contact-7731"


@pytest.fixture
async def store(redis_server: RedisServer) -> AsyncIterator[RedisRateStore]:
    made = RedisRateStore.from_url(redis_server.url, call_timeout=0.1, circuit_seconds=0.3)
    yield made
    await made.aclose()


async def test_redis_holds_hashes_only_in_one_cluster_slot(redis_server: RedisServer) -> None:
    """After calls with a contact email and id, no Redis key or value holds the API key or an
    identifier, and every key carries the same {hash} tag."""
    store = RedisRateStore.from_url(redis_server.url)
    async with (
        FakeRefiner(seed=3, responses=10) as fake,
        RefinerClient(fake.api_key, base_url=fake.base_url, rate_store=store) as client,
    ):
        await client.events.track("signup", email=EMAIL)
        await client.events.track("signup", id=CONTACT_ID)
        await client.account.get()
        client._core._limiter.pause(5.0)  # as a 429 would
        await client._core._limiter.publish_pause()  # what the next request does first
    reader = redis.asyncio.Redis.from_url(redis_server.url)
    keys = [k.decode() for k in await reader.keys("*")]
    values = [str(await reader.get(k)) for k in keys]
    await reader.aclose()
    await store.aclose()
    secrets = [fake.api_key, EMAIL, CONTACT_ID]
    tags = {k.split("{", 1)[1].split("}", 1)[0] for k in keys}
    assert len(keys) == 4  # the key's bucket, two users' buckets and the pause
    assert not [s for s in secrets if any(s in text for text in keys + values)]
    assert all("{" in k for k in keys)
    assert len(tags) == 1


async def test_a_hung_redis_falls_back_with_one_warning_then_recovers(
    store: RedisRateStore, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis stops answering: the call gives up at its timeout and the store answers in-process;
    while the circuit is open Redis is not asked; one WARNING; after the circuit, Redis again."""
    caplog.set_level(logging.INFO, logger="refiner_async")
    assert (await store.reserve("s", KEY, max_wait=None)).granted
    redis_server.freeze()
    hung = await store.reserve("s", KEY, max_wait=None)
    during = [await store.reserve("s", KEY, max_wait=None) for _ in range(5)]
    failures_while_open = store.stats.failures
    redis_server.thaw()
    await asyncio.sleep(0.35)  # the circuit's 0.3 s
    back = await store.reserve("s", KEY, max_wait=None)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert hung.granted
    assert all(r.granted for r in during)
    assert failures_while_open == 1  # the open circuit kept the five off Redis
    assert store.stats.fallback_calls == 6
    assert len(warnings) == 1
    assert "TimeoutError" in warnings[0].getMessage()
    assert back.granted
    assert store.stats.recoveries == 1
    assert store.stats.redis_calls == 2


async def test_a_stopped_redis_falls_back_and_a_restarted_one_is_used_again(
    store: RedisRateStore, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis killed: reservations and pauses go on in-process (one WARNING however many failures);
    Redis started again on the same socket is used again."""
    caplog.set_level(logging.WARNING, logger="refiner_async")
    await store.reserve("s", KEY, max_wait=None)
    await asyncio.to_thread(redis_server.stop)
    outcomes = []
    for _ in range(3):
        outcomes.append((await store.reserve("s", KEY, max_wait=None)).granted)
        await store.pause("s", 0.01)
        await asyncio.sleep(0.35)  # each try after the circuit closes fails again
    await asyncio.to_thread(redis_server.start)
    await asyncio.sleep(0.35)
    back = await store.reserve("s", KEY, max_wait=None)
    assert outcomes == [True, True, True]
    assert store.stats.trips == 3
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    assert back.granted
    assert store.stats.recoveries == 1


async def test_in_flight_calls_are_bounded_not_refused(redis_server: RedisServer) -> None:
    """50 reservations at once through a pool of 2 connections all reach Redis: the store queues
    them rather than meeting the pool's limit."""
    store = RedisRateStore.from_url(redis_server.url, max_in_flight=2, call_timeout=5.0)
    answers = await asyncio.gather(*(store.reserve("s", KEY, max_wait=None) for _ in range(50)))
    await store.aclose()
    assert all(a.granted for a in answers)
    assert store.stats.redis_calls == 50
    assert store.stats.failures == 0


def test_without_redis_py_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """RedisRateStore without redis-py installed: an ImportError that says which extra to install;
    importing refiner_async.ratelimit itself needs no redis."""
    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    with pytest.raises(ImportError, match=r"refiner-async\[redis\]"):
        RedisRateStore.from_url("redis://localhost:6379/0")
