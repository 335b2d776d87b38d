"""The shared limiter on a virtual clock: rate conformance, concurrency, per-user buckets, 429 cooldown."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from refiner_async._ratelimit import Limiter, bucket_shape


def max_in_window(times: list[float], window: float) -> int:
    """The largest number of events inside any half-open window of the given length."""
    times = sorted(times)
    best = start = 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.mark.parametrize("rate", [5.0, 40.0, 4000 / 60, 1000.0])
def test_bucket_shape_never_exceeds_rate_in_a_second(rate: float) -> None:
    """A full bucket plus one second of drain admits at most `rate` whole requests (a request needs a
    whole unit of room, so capacity + drain may reach rate + 1); it drains at >= 96% of the rate."""
    capacity, drain = bucket_shape(rate)
    assert capacity >= 1
    assert capacity + drain <= rate + 1 + 1e-9
    assert drain <= rate
    assert drain >= 0.96 * rate or rate < 50


@pytest.mark.parametrize("rate", [5.0, 40.0, 4000 / 60])
def test_no_one_second_window_over_rate_with_many_waiters(
    run_virtual: Callable[[Any], Any], rate: float
) -> None:
    """1,000 concurrent callers never get more than `rate` requests into any 1 s window."""

    async def scenario() -> tuple[list[float], float]:
        limiter = Limiter(rate=rate, max_concurrency=10_000)
        loop = asyncio.get_running_loop()
        times: list[float] = []

        async def call() -> None:
            async with limiter.slot():
                times.append(loop.time())

        await asyncio.gather(*(call() for _ in range(1000)))
        return times, loop.time()

    times, elapsed = run_virtual(scenario())
    assert len(times) == 1000
    assert max_in_window(times, 1.0) <= rate
    achieved = (len(times) - 1) / elapsed
    assert achieved >= 0.95 * rate or rate < 50
    assert achieved <= rate


def test_concurrency_cap_holds(run_virtual: Callable[[Any], Any]) -> None:
    """No more than max_concurrency requests are ever inside their slot at once."""

    async def scenario() -> int:
        limiter = Limiter(rate=None, max_concurrency=3)
        inside = peak = 0

        async def call() -> None:
            nonlocal inside, peak
            async with limiter.slot():
                inside += 1
                peak = max(peak, inside)
                await asyncio.sleep(0.1)
                inside -= 1

        await asyncio.gather(*(call() for _ in range(50)))
        return peak

    assert run_virtual(scenario()) == 3


def test_cooldown_pauses_every_caller(run_virtual: Callable[[Any], Any]) -> None:
    """After a 429 pause of 5 s, no caller starts before the pause ends, whoever asked."""

    async def scenario() -> list[float]:
        limiter = Limiter(rate=None, max_concurrency=100)
        loop = asyncio.get_running_loop()
        starts: list[float] = []

        async def call(delay: float) -> None:
            await asyncio.sleep(delay)
            async with limiter.slot():
                starts.append(loop.time())

        limiter.pause(5.0)
        await asyncio.gather(*(call(d / 10) for d in range(20)))
        return starts

    starts = run_virtual(scenario())
    assert len(starts) == 20
    assert min(starts) >= 5.0


def test_pause_extends_never_shortens(run_virtual: Callable[[Any], Any]) -> None:
    """A shorter pause does not cut an ongoing longer one."""

    async def scenario() -> float:
        limiter = Limiter(rate=None, max_concurrency=1)
        limiter.pause(4.0)
        limiter.pause(1.0)
        return limiter.paused_for

    assert run_virtual(scenario()) == pytest.approx(4.0)


def test_per_user_bucket_limits_one_user_not_others(run_virtual: Callable[[Any], Any]) -> None:
    """One identifier gets at most 100 calls per minute; another identifier is not held back."""

    async def scenario() -> tuple[list[float], list[float]]:
        limiter = Limiter(rate=None, max_concurrency=8, per_user_rate=100 / 60)
        loop = asyncio.get_running_loop()
        busy: list[float] = []
        other: list[float] = []

        async def call(user: str, record: list[float]) -> None:
            async with limiter.slot(user):
                record.append(loop.time())

        await asyncio.gather(
            *(call("id:busy", busy) for _ in range(150)),
            *(call("id:other", other) for _ in range(1)),
        )
        return busy, other

    busy, other = run_virtual(scenario())
    assert len(busy) == 150
    assert max_in_window(busy, 60.0) <= 100
    assert other == [0.0]


def test_learned_pace_after_a_429(run_virtual: Callable[[Any], Any]) -> None:
    """After a 429 the client keeps to 90% of the rate the server answered at before it."""

    async def scenario() -> tuple[float | None, list[float]]:
        limiter = Limiter(rate=None, max_concurrency=100)
        loop = asyncio.get_running_loop()
        for _ in range(20):  # the server answered 20 requests in 0.8 s
            await asyncio.sleep(0.04)
            limiter.answered()
        limiter.throttled(2.0)
        learned = limiter.learned_rate
        starts: list[float] = []

        async def call() -> None:
            async with limiter.slot():
                starts.append(loop.time())

        await asyncio.gather(*(call() for _ in range(40)))
        return learned, starts

    learned, starts = run_virtual(scenario())
    assert learned == pytest.approx(0.9 * 20 / 0.76)  # 20 answers from 0.04 s to 0.8 s
    assert min(starts) >= 2.8  # the 2 s cooldown, counted from the 429
    assert max_in_window(starts, 1.0) <= learned + 1  # a bucket admits whole requests


def test_learned_pace_grows_back_and_yields_to_the_configured_rate(
    run_virtual: Callable[[Any], Any],
) -> None:
    """Each second without a 429 adds a quarter to the learned pace, until the configured rate rules."""

    async def scenario() -> list[float | None]:
        limiter = Limiter(rate=30.0, max_concurrency=10)
        seen = []
        for _ in range(10):  # 10 answers over 0.9 s: 11.1 per second
            await asyncio.sleep(0.1)
            limiter.answered()
        limiter.throttled(0.0)
        seen.append(limiter.learned_rate)
        for _ in range(12):
            await asyncio.sleep(1.0)
            limiter.answered()
            seen.append(limiter.learned_rate)
        return seen

    seen = run_virtual(scenario())
    assert seen[0] == pytest.approx(10.0)
    assert seen[1] == pytest.approx(12.5)
    assert seen[-1] is None  # grown past 30/s: only the configured bucket applies
    rates = [r for r in seen if r is not None]
    assert rates == sorted(rates)


def test_only_the_first_429_of_a_cooldown_learns(run_virtual: Callable[[Any], Any]) -> None:
    """429s answering requests already on their way during a cooldown do not relearn the pace, and
    a 429 before any answer leaves the pace alone (the cooldown still applies)."""

    async def scenario() -> tuple[float | None, float | None, float | None, float]:
        limiter = Limiter(rate=None, max_concurrency=100)
        unknown = Limiter(rate=None, max_concurrency=100)
        unknown.throttled(1.0)
        paused = unknown.paused_for
        for _ in range(20):
            await asyncio.sleep(0.04)
            limiter.answered()
        limiter.throttled(2.0)
        learned = limiter.learned_rate
        await asyncio.sleep(0.5)
        limiter.throttled(0.1)  # still inside the 2 s cooldown
        return learned, limiter.learned_rate, unknown.learned_rate, paused

    learned, after_second, unknown, paused = run_virtual(scenario())
    assert learned is not None
    assert after_second == learned
    assert unknown is None
    assert paused == pytest.approx(1.0)
