"""The RateStore contract, run against every store: in-process, fakeredis (Lua) and a real
redis-server. Reservations are made back to back without sleeping; each turn's send time is the
moment it was asked for plus the wait the store gave, so the schedule is the store's decision alone.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Sequence

import fakeredis
import pytest

from refiner_async._ratelimit import bucket
from refiner_async.ratelimit import Bucket, InProcessRateStore, RateStore, RedisRateStore

from ..conftest import max_in_window

RATE = 10.0  # requests per second: a bucket of capacity 1 spacing turns 1/9.7 s apart
SPACING = 1 / (0.97 * RATE)


@pytest.fixture(params=["in-process", "fakeredis", "redis-server"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[RateStore]:
    if request.param == "in-process":
        yield InProcessRateStore()
    elif request.param == "fakeredis":
        client = fakeredis.FakeAsyncRedis()
        yield RedisRateStore(client)
        await client.aclose()
    else:
        server = request.getfixturevalue("redis_server")
        redis_store = RedisRateStore.from_url(server.url)
        yield redis_store
        assert redis_store.stats.failures == 0  # every answer came from Redis itself
        await redis_store.aclose()


async def schedule(
    store: RateStore,
    buckets: Sequence[Bucket],
    count: int,
    scope: str = "s",
    calls: list[tuple[float, float]] | None = None,
) -> list[float]:
    """Send times (loop clock) of ``count`` turns reserved back to back; ``calls`` receives when
    each reservation was asked for and when its answer came (the store's own time to answer)."""
    loop = asyncio.get_running_loop()
    times = []
    for _ in range(count):
        asked = loop.time()
        reservation = await store.reserve(scope, buckets, max_wait=None)
        assert reservation.granted
        times.append(asked + reservation.wait)
        if calls is not None:
            calls.append((asked, loop.time()))
    return times


async def test_no_one_second_window_over_the_rate(store: RateStore) -> None:
    """30 turns asked at once are spread so that no 1 s window holds more than the rate, and none
    waits longer than the rate needs: each comes at most one spacing after the turn before it, or
    as soon as its answer arrives (a store slow to answer, on a busy machine, is not the store
    holding turns back)."""
    calls: list[tuple[float, float]] = []
    times = await schedule(store, [bucket("key", RATE)], 30, calls=calls)
    assert max_in_window(times, 1.0) <= RATE
    for i in range(1, len(times)):
        (asked_before, answered_before), (_, answered) = calls[i - 1], calls[i]
        # the turn before was placed on the store's clock at some moment of its call
        latest = max(times[i - 1] + SPACING + (answered_before - asked_before), answered)
        assert times[i] <= latest + 1e-3, (i, times[i] - latest)


async def test_turns_come_in_the_order_asked(store: RateStore) -> None:
    """Turns are granted first come, first served, one spacing apart."""
    times = await schedule(store, [bucket("key", RATE)], 12)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert times == sorted(times)
    assert min(gaps) >= SPACING / 2  # each turn after the one before, never the same slot


async def test_declines_past_the_deadline_without_reserving(store: RateStore) -> None:
    """A turn that would come after max_wait is declined, and takes nothing: the next caller gets
    the turn the declined one was offered."""
    key = [bucket("key", RATE)]
    await schedule(store, key, 10)  # the queue now runs about a second ahead
    declined = await store.reserve("s", key, max_wait=0.5)
    granted = await store.reserve("s", key, max_wait=None)
    assert not declined.granted
    assert declined.wait > 0.5
    assert granted.granted
    assert granted.wait < declined.wait + SPACING / 2  # not pushed back by the declined turn
    zero = await store.reserve("s", key, max_wait=0.0)
    assert not zero.granted


async def test_pause_holds_every_turn_back_and_only_extends(store: RateStore) -> None:
    """A pause delays every next turn until it ends, reports itself, and a shorter pause does not
    cut it."""
    left = await store.pause("s", 2.0)
    shorter = await store.pause("s", 0.5)
    turn = await store.reserve("s", [bucket("key", RATE)], max_wait=None)
    bare = await store.reserve("s", [], max_wait=None)  # no bucket: the pause alone
    other_scope = await store.reserve("t", [bucket("key", RATE)], max_wait=None)
    assert 1.9 <= left <= 2.0
    assert shorter > 1.5
    assert turn.granted
    assert turn.wait > 1.5
    assert turn.paused > 1.5
    assert bare.wait > 1.5
    assert other_scope.wait == 0.0  # another key is not paused


async def test_a_bucket_pause_holds_back_that_bucket_only(store: RateStore) -> None:
    """A pause of one bucket (a contact's 429) delays that bucket's next turn, only extends, and
    leaves the scope and the other buckets alone; after it the bucket keeps its rate."""
    per_user = 100 / 60
    refused, other = bucket("user:refused", per_user), bucket("user:other", per_user)
    left = await store.pause("s", 2.0, bucket=refused)
    shorter = await store.pause("s", 0.5, bucket=refused)
    turn = await store.reserve("s", [refused], max_wait=None)
    declined = await store.reserve("s", [refused], max_wait=1.0)
    other_turn = await store.reserve("s", [other], max_wait=None)
    key = await store.reserve("s", [bucket("key", RATE)], max_wait=None)
    assert 1.9 <= left <= 2.0
    assert shorter > 1.5
    assert turn.granted
    assert 1.5 < turn.wait <= 2.0
    assert turn.paused == 0.0  # the scope itself is not paused
    assert not declined.granted
    assert declined.wait >= turn.wait + 1 / per_user - 0.1  # then at the bucket's own rate
    assert other_turn.wait == key.wait == 0.0


async def test_per_user_buckets_are_separate(store: RateStore) -> None:
    """One user's bucket being full holds back that user only; the key's bucket is not touched."""
    per_user = 100 / 60
    busy = await schedule(store, [bucket("user:busy", per_user)], 3)
    other = await store.reserve("s", [bucket("user:other", per_user)], max_wait=None)
    key = await store.reserve("s", [bucket("key", RATE)], max_wait=None)
    assert busy[2] - busy[0] >= 2 / (0.97 * per_user) - 0.05
    assert other.wait == 0.0
    assert key.wait == 0.0


async def test_several_buckets_are_reserved_all_or_none(store: RateStore) -> None:
    """A turn in two buckets waits for the later of them and takes both; a declined one takes
    neither."""
    fast, slow = bucket("fast", RATE), bucket("slow", RATE / 2)
    ahead = await schedule(store, [slow], 5)  # the slow bucket runs about 1 s ahead
    declined = await store.reserve("s", [fast, slow], max_wait=0.5)
    fast_alone = await store.reserve("s", [fast], max_wait=None)
    both = await store.reserve("s", [fast, slow], max_wait=None)
    after_both = await store.reserve("s", [fast], max_wait=None)
    assert not declined.granted
    assert declined.wait > 0.9
    assert fast_alone.wait == 0.0  # the declined turn took nothing from the fast bucket
    assert both.granted
    assert both.wait >= ahead[-1] - ahead[0]  # behind the slow bucket's queue
    assert after_both.wait >= both.wait  # and the fast bucket's turn was taken with it
