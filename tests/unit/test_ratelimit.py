"""The shared limiter on a virtual clock: rate conformance, concurrency, per-user buckets, 429 cooldown,
the pace learned from 429s, limiters sharing one store, and the deadline in the queue."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import attrs
import pytest

from refiner_async._ratelimit import (
    HOLD,
    STEP_DOWN,
    Limiter,
    QueueDeadline,
    about_rate,
    bucket,
    bucket_shape,
    ceiling_after_429,
    grown_rate,
    key_wide,
    probed_ceiling,
    rate_after_429,
)
from refiner_async.ratelimit import InProcessRateStore
from refiner_async.testing._faults import FixedWindow, TokenBucket, retry_after_header

from ..conftest import max_in_window


@contextlib.asynccontextmanager
async def replied_callers(limiter: Limiter, count: int = 16) -> AsyncIterator[list[float]]:
    """``count`` callers looping through ``limiter``, each request replied to after 5 ms: yields the
    loop times their requests started; the callers stop when the block ends."""
    loop = asyncio.get_running_loop()
    starts: list[float] = []

    async def call() -> None:
        while True:
            async with limiter.slot():
                starts.append(loop.time())
                await asyncio.sleep(0.005)
            limiter.replied()

    tasks = [asyncio.create_task(call()) for _ in range(count)]
    try:
        yield starts
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


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
    """A 429 measured over long enough sets the ceiling; after the cooldown the client keeps to 96%
    of it, within the pace in every second."""

    async def scenario() -> tuple[float | None, float | None, list[float]]:
        limiter = Limiter(rate=None, max_concurrency=100)
        loop = asyncio.get_running_loop()
        for _ in range(20):  # the server replied to 20 requests in 0.8 s
            await asyncio.sleep(0.04)
            limiter.replied()
        limiter.throttled(2.0)
        ceiling, learned = limiter.ceiling, limiter.learned_rate
        starts: list[float] = []

        async def call() -> None:
            async with limiter.slot():
                starts.append(loop.time())

        await asyncio.gather(*(call() for _ in range(40)))
        return ceiling, learned, starts

    ceiling, learned, starts = run_virtual(scenario())
    assert ceiling == pytest.approx(20 / 0.76)  # 20 replies from 0.04 s to 0.8 s
    assert learned == pytest.approx(HOLD * ceiling)
    assert min(starts) >= 2.8  # the 2 s cooldown, counted from the 429
    assert max_in_window(starts, 1.0) <= learned + 1  # a bucket admits whole requests


def test_the_policy_in_numbers() -> None:
    """A short stretch measures no ceiling; the pace resumes at 96% of the measure, capped by the
    ceiling; it doubles per second up to 96% of the ceiling, never shrinking; the ceiling is probed
    upward with the square of the quiet time."""
    assert ceiling_after_429(4, 0.01) is None  # four replies to a first burst
    assert ceiling_after_429(30, 0.75) == pytest.approx(40.0)
    assert rate_after_429(4, 0.01, None) == pytest.approx(HOLD * 4 / 0.2)
    assert rate_after_429(4, 0.01, 10.0) == pytest.approx(HOLD * 10.0)
    assert rate_after_429(0, 1.0, None) == 1.0
    assert grown_rate(10.0, 1.0, None) == pytest.approx(20.0)
    assert grown_rate(10.0, 1.0, 15.0) == pytest.approx(HOLD * 15.0)
    assert grown_rate(20.0, 1.0, 15.0) == 20.0  # above the hold: held, not lowered
    assert probed_ceiling(40.0, 0.0) == 40.0
    assert probed_ceiling(40.0, 20.0) == pytest.approx(40.4)
    assert probed_ceiling(40.0, 200.0) == pytest.approx(80.0)


def test_which_429s_say_something() -> None:
    """A 429 naming no contact is the key's; one naming a contact is that contact's unless another
    contact was refused in the same second. A 429 while sending at under half the known ceiling
    says nothing about the rate."""
    assert key_wide(None, set())
    assert not key_wide("id:a", set())
    assert key_wide("id:a", {"id:b"})
    assert about_rate(1, 0.01, None)  # no ceiling yet: every 429 measures
    assert not about_rate(5, 1.0, 40.0)
    assert about_rate(20, 1.0, 40.0)
    assert not about_rate(1, 0.01, 40.0)  # one reply counts over at least 0.2 s: 5 per second


def test_a_contacts_429_holds_back_only_calls_naming_it(run_virtual: Callable[[Any], Any]) -> None:
    """The API's per-user limit refused a call for one contact: calls for other contacts and calls
    naming none go on at once, calls for that contact wait out its pause, nothing is learned."""

    async def scenario() -> tuple[dict[str, list[float]], float, float | None]:
        limiter = Limiter(rate=None, max_concurrency=8)
        loop = asyncio.get_running_loop()
        for _ in range(20):
            await asyncio.sleep(0.05)
            limiter.replied()
        limiter.throttled(5.0, user="id:hot")
        begin = loop.time()
        starts: dict[str, list[float]] = {"id:hot": [], "id:other": [], "": []}

        async def call(user: str) -> None:
            async with limiter.slot(user or None):
                starts[user].append(loop.time() - begin)

        await asyncio.gather(*(call(user) for user in starts for _ in range(3)))
        return starts, limiter.paused_for, limiter.learned_rate

    starts, paused, learned = run_virtual(scenario())
    assert starts["id:other"] == [0.0] * 3
    assert starts[""] == [0.0] * 3
    assert starts["id:hot"] == [5.0] * 3
    assert paused == 0.0
    assert learned is None


def test_429s_for_two_contacts_in_one_second_pause_the_key(
    run_virtual: Callable[[Any], Any],
) -> None:
    """Per-user limits do not coincide across contacts: two contacts refused within a second means
    the key's limit, and everyone waits."""

    async def scenario() -> tuple[float, float]:
        limiter = Limiter(rate=None, max_concurrency=8)
        limiter.throttled(2.0, user="id:a")
        alone = limiter.paused_for
        await asyncio.sleep(0.5)
        limiter.throttled(2.0, user="id:b")
        return alone, limiter.paused_for

    alone, both = run_virtual(scenario())
    assert alone == 0.0
    assert both == pytest.approx(2.0)


def test_a_contacts_pause_past_the_deadline_is_declined(run_virtual: Callable[[Any], Any]) -> None:
    """A call for a paused contact whose deadline ends before the pause is declined at once."""

    async def scenario() -> tuple[str, float]:
        limiter = Limiter(rate=None, max_concurrency=8)
        loop = asyncio.get_running_loop()
        limiter.throttled(10.0, user="id:hot")
        try:
            async with limiter.slot("id:hot", deadline=loop.time() + 3.0):
                return "sent", loop.time()
        except QueueDeadline as error:
            return str(error), loop.time()

    outcome, at = run_virtual(scenario())
    assert "contact's 429 cooldown" in outcome
    assert at == 0.0


def test_a_429_far_below_the_ceiling_pauses_but_keeps_the_pace(
    run_virtual: Callable[[Any], Any],
) -> None:
    """Once the server replied 40 per second, a 429 while the client sends 5 per second (a proxy's,
    or one given at random) pauses everyone but leaves the ceiling and the pace where they were."""

    async def scenario() -> tuple[float | None, float | None, float | None, float | None, float]:
        limiter = Limiter(rate=None, max_concurrency=8)
        for _ in range(40):
            await asyncio.sleep(0.025)
            limiter.replied()
        limiter.throttled(0.0)
        ceiling, pace = limiter.ceiling, limiter.learned_rate
        for _ in range(10):
            await asyncio.sleep(0.2)
            limiter.replied()
        limiter.throttled(1.0)
        return ceiling, pace, limiter.ceiling, limiter.learned_rate, limiter.paused_for

    ceiling, pace, ceiling_after, pace_after, paused = run_virtual(scenario())
    assert ceiling == pytest.approx(40 / 0.975)
    assert ceiling_after == ceiling
    assert pace_after is not None
    assert pace is not None
    assert pace_after >= pace
    assert paused == pytest.approx(1.0)


def test_a_rate_is_measured_only_from_replies_since_sending_resumed(
    run_virtual: Callable[[Any], Any],
) -> None:
    """Replies from before a cooldown do not count toward the rate the next 429 measures: the time
    spent waiting was not time the server replied in."""

    async def scenario() -> float | None:
        limiter = Limiter(rate=None, max_concurrency=8)
        for _ in range(20):  # 20 replies over 0.5 s, then a 429 and a 0.4 s cooldown
            await asyncio.sleep(0.025)
            limiter.replied()
        limiter.throttled(0.4)
        await asyncio.sleep(0.4)
        for _ in range(12):  # 12 replies over the 0.6 s after it
            await asyncio.sleep(0.05)
            limiter.replied()
        limiter.throttled(1.0)
        return limiter.ceiling

    assert run_virtual(scenario()) == pytest.approx(12 / 0.55)


@dataclass
class Run:
    """What callers sharing one limiter did against a token-bucket server."""

    limiter: Limiter
    sends: list[float] = field(default_factory=list)  # when each request reached the server
    replies: list[float] = field(default_factory=list)  # when each reply (not a 429) came back
    cooldowns: list[tuple[float, float]] = field(default_factory=list)  # first 429, pause end

    def between(self, times: list[float], start: float, end: float) -> list[float]:
        return [t for t in times if start <= t < end]


async def against_a_server(
    rate: float,
    burst: float,
    seconds: float,
    *,
    callers: int = 16,
    told: float | None = None,
    server_type: Callable[[float, float, float], TokenBucket | FixedWindow] = TokenBucket,
) -> Run:
    """``callers`` looping through one limiter for ``seconds`` against the emulator's rule (a token
    bucket, or a ``server_type`` made from ``(rate, burst, now)`` with the same ``take``; 429 with
    whole seconds of Retry-After, at least 1), retrying as the client does (the hint plus up to
    10%), 2-10 ms per request."""
    loop = asyncio.get_running_loop()
    rng = random.Random(f"{rate}-{burst}")
    server = server_type(rate, burst, loop.time())
    run = Run(Limiter(rate=told, max_concurrency=callers))

    async def caller() -> None:
        while True:
            latency = rng.uniform(0.002, 0.010)
            async with run.limiter.slot():
                await asyncio.sleep(latency / 2)
                run.sends.append(loop.time())
                refused = server.take(loop.time())
                await asyncio.sleep(latency / 2)
            if refused is None:
                run.replies.append(loop.time())
                run.limiter.replied()
                continue
            hint = float(retry_after_header(refused, decimal=False))
            first = run.limiter.paused_for == 0
            run.limiter.throttled(hint + rng.random() * min(1.0, 0.1 * hint))
            if first:
                run.cooldowns.append((loop.time(), loop.time() + run.limiter.paused_for))

    tasks = [asyncio.create_task(caller()) for _ in range(callers)]
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return run


@pytest.mark.parametrize("rate", [25.0, 40.0, 100.0])
def test_settles_just_under_a_limit_it_was_not_told(
    run_virtual: Callable[[Any], Any], rate: float
) -> None:
    """16 callers, not told the server's limit (burst a tenth of it): the burst at the start, the
    end of the doubling rise and one probe of the rate it measured are refused, then no second holds
    more than the learned ceiling (nor the server's rate), the callers get at least 90% of the
    rate, and no 429 follows for the rest of 30 s."""
    run: Run = run_virtual(against_a_server(rate, rate / 10, 30.0))
    ceiling = run.limiter.ceiling
    assert ceiling is not None
    assert 0.95 * rate <= ceiling <= 1.07 * rate
    assert len(run.cooldowns) <= 3
    assert run.cooldowns[0][0] < 0.1  # the first burst
    learned = run.cooldowns[-1][1]
    assert learned < 12.0
    after = run.between(run.sends, learned, 30.0)
    assert max_in_window(after, 1.0) <= min(ceiling, rate) + 1  # a bucket admits whole requests
    steady = run.between(run.replies, learned + 1.0, 30.0)
    assert len(steady) / (29.0 - learned) >= 0.9 * rate


@pytest.mark.parametrize("rate", [25.0, 40.0, 66.7, 100.0])
def test_a_small_server_burst_is_learned_too(
    run_virtual: Callable[[Any], Any], rate: float
) -> None:
    """A server burst of 4 lets the doubling pace through until it is well past the server's
    rate, so the second before the 429 spans part of the rise and reads low (91% of 66.7 per
    second, 87% of 100). The ceiling measured on the rise grows 3% a second (up to 15%) until
    the next 429, if one comes, measures at a steady pace: at least 90% of the rate in the second
    half of 30 s (0.86 and 0.82 before), no 429 after the first 15 s."""
    run: Run = run_virtual(against_a_server(rate, 4.0, 30.0))
    assert len(run.cooldowns) <= 3
    assert all(start < 15.0 for start, _ in run.cooldowns)
    assert len(run.between(run.replies, 15.0, 30.0)) / 15.0 >= 0.9 * rate
    assert max_in_window(run.between(run.sends, 15.0, 30.0), 1.0) <= rate + 4


def test_a_low_pace_recovers_in_two_seconds(run_virtual: Callable[[Any], Any]) -> None:
    """A 429 right after a cooldown (too short a stretch of replies to measure) means the server's
    rate dropped below the pace: the ceiling steps down a tenth below the pace, and the pace, dropped
    to a guess from the handful of replies, is back within 96% of that ceiling in about a second.
    (Under half the ceiling nothing is learned:
    test_a_429_far_below_the_ceiling_pauses_but_keeps_the_pace.)"""

    async def scenario() -> tuple[float, float | None, float, list[float]]:
        limiter = Limiter(rate=None, max_concurrency=16)
        loop = asyncio.get_running_loop()
        for _ in range(40):  # 40 per second for a second: a ceiling of 40
            await asyncio.sleep(0.025)
            limiter.replied()
        limiter.throttled(1.0)
        await asyncio.sleep(1.0)
        for _ in range(5):  # five replies in 25 ms after the cooldown, then a 429
            await asyncio.sleep(0.005)
            limiter.replied()
        limiter.throttled(1.0)
        low, resumed = limiter.learned_rate or 0.0, loop.time() + limiter.paused_for
        async with replied_callers(limiter) as starts:
            await asyncio.sleep(resumed + 3.0 - loop.time())
        return low, limiter.ceiling, resumed, starts

    low, ceiling, resumed, starts = run_virtual(scenario())
    assert ceiling == pytest.approx(STEP_DOWN * 40 / 0.975)  # a tenth below the pace it had
    assert low == pytest.approx(HOLD * 5 / 0.2)  # measured over 0.2 s at least: 25 per second
    assert low < 0.7 * HOLD * ceiling
    second = len([t for t in starts if resumed + 1.0 <= t < resumed + 2.0])
    third = len([t for t in starts if resumed + 2.0 <= t < resumed + 3.0])
    assert second >= 0.9 * HOLD * ceiling
    assert third >= 0.9 * HOLD * ceiling
    assert max_in_window(starts, 1.0) <= HOLD * ceiling + 1


def test_a_one_off_429_does_not_cap_for_ever(run_virtual: Callable[[Any], Any]) -> None:
    """A 429 while the client ran at 10 per second (a per-user one, say) sets a ceiling of 10 the
    server does not hold to: the pace stays near it for a while, then outgrows it within minutes."""

    async def scenario() -> tuple[float, list[float]]:
        limiter = Limiter(rate=None, max_concurrency=16)
        loop = asyncio.get_running_loop()
        for _ in range(10):
            await asyncio.sleep(0.1)
            limiter.replied()
        limiter.throttled(1.0)
        resumed = loop.time() + limiter.paused_for
        async with replied_callers(limiter) as starts:
            await asyncio.sleep(resumed + 240.0 - loop.time())
        return resumed, starts

    resumed, starts = run_virtual(scenario())

    def per_second(at: float) -> int:
        return len([t for t in starts if resumed + at <= t < resumed + at + 1.0])

    assert per_second(10.0) <= HOLD * 10 * 1.01 + 1  # held just under the ceiling at first
    assert per_second(60.0) <= HOLD * 10 * 1.1 + 1
    assert per_second(200.0) >= 1.8 * HOLD * 10  # probed at double the ceiling by 200 s
    assert per_second(239.0) >= 2.2 * HOLD * 10


def test_waiters_leave_at_the_pace_when_a_cooldown_ends(run_virtual: Callable[[Any], Any]) -> None:
    """Requests waiting for their turn when a 429 arrives neither start during the cooldown nor all
    together at its end: they queue again and leave at the pace."""

    async def scenario() -> tuple[tuple[float, float], float, list[float]]:
        limiter = Limiter(rate=None, max_concurrency=16)
        loop = asyncio.get_running_loop()
        for _ in range(40):  # a ceiling of 40, a pace of 38.4
            await asyncio.sleep(0.025)
            limiter.replied()
        limiter.throttled(0.0)
        async with replied_callers(limiter) as starts:
            await asyncio.sleep(5.0)
            limiter.throttled(1.0)
            cooldown = (loop.time(), loop.time() + limiter.paused_for)
            await asyncio.sleep(3.0)
        return cooldown, limiter.learned_rate or 0.0, starts

    (begin, end), pace, starts = run_virtual(scenario())
    assert not [t for t in starts if begin < t < end]
    assert len([t for t in starts if end <= t < end + 0.1]) <= 2 + 0.1 * pace
    assert max_in_window([t for t in starts if t >= end], 1.0) <= pace + 1


def test_learned_pace_yields_to_the_configured_rate(run_virtual: Callable[[Any], Any]) -> None:
    """A pace guessed from a short stretch grows back until the configured rate is the tighter
    limit; then only the configured bucket applies."""

    async def scenario() -> list[float | None]:
        limiter = Limiter(rate=30.0, max_concurrency=10)
        for _ in range(2):
            await asyncio.sleep(0.01)
            limiter.replied()
        limiter.throttled(0.0)
        seen = [limiter.learned_rate]
        for _ in range(30):
            await asyncio.sleep(0.1)
            limiter.replied()
            seen.append(limiter.learned_rate)
        return seen

    seen = run_virtual(scenario())
    assert seen[0] == pytest.approx(HOLD * 2 / 0.2)
    assert seen[10] == pytest.approx(HOLD * 2 / 0.2 * 2)  # doubled in a second
    assert seen[-1] is None  # grown past 30/s: only the configured bucket applies
    rates = [r for r in seen if r is not None]
    assert rates == sorted(rates)


def test_only_the_first_429_of_a_cooldown_learns(run_virtual: Callable[[Any], Any]) -> None:
    """429s in reply to requests already on their way during a cooldown do not relearn the pace, and
    a 429 before any reply leaves the pace alone (the cooldown still applies)."""

    async def scenario() -> tuple[float | None, float | None, float | None, float]:
        limiter = Limiter(rate=None, max_concurrency=100)
        unknown = Limiter(rate=None, max_concurrency=100)
        unknown.throttled(1.0)
        paused = unknown.paused_for
        for _ in range(20):
            await asyncio.sleep(0.04)
            limiter.replied()
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


def test_clients_sharing_a_store_keep_to_the_rate_together(
    run_virtual: Callable[[Any], Any],
) -> None:
    """Three limiters on one store, each told the key's rate, never put more than the rate into any
    one second together, and use at least 95% of it."""

    async def scenario() -> tuple[list[float], float]:
        store = InProcessRateStore()
        limiters = [Limiter(rate=40.0, max_concurrency=4, store=store) for _ in range(3)]
        loop = asyncio.get_running_loop()
        starts: list[float] = []

        async def call(limiter: Limiter) -> None:
            async with limiter.slot():
                starts.append(loop.time())

        await asyncio.gather(*(call(limiter) for limiter in limiters for _ in range(100)))
        return starts, loop.time()

    starts, elapsed = run_virtual(scenario())
    assert len(starts) == 300
    assert max_in_window(starts, 1.0) <= 40
    assert (len(starts) - 1) / elapsed >= 0.95 * 40


def test_a_share_leaves_the_rest_of_the_key_to_others(run_virtual: Callable[[Any], Any]) -> None:
    """A bulk limiter with share 0.75 and an interactive one on one store, both always asking: bulk
    keeps within 75% of the rate in every second, the interactive one gets at least the rest, and
    together they use the rate without exceeding it."""

    async def scenario() -> tuple[list[float], list[float]]:
        store = InProcessRateStore()
        bulk = Limiter(rate=40.0, max_concurrency=8, store=store, share=0.75)
        interactive = Limiter(rate=40.0, max_concurrency=8, store=store)
        loop = asyncio.get_running_loop()
        bulk_starts: list[float] = []
        interactive_starts: list[float] = []

        async def caller(limiter: Limiter, starts: list[float]) -> None:
            while True:
                async with limiter.slot():
                    starts.append(loop.time())
                    await asyncio.sleep(0.005)

        tasks = [asyncio.create_task(caller(bulk, bulk_starts)) for _ in range(8)]
        tasks += [asyncio.create_task(caller(interactive, interactive_starts)) for _ in range(8)]
        await asyncio.sleep(20.0)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return bulk_starts, interactive_starts

    bulk_starts, interactive_starts = run_virtual(scenario())
    assert max_in_window(bulk_starts, 1.0) <= 0.75 * 40
    assert max_in_window(bulk_starts + interactive_starts, 1.0) <= 40
    assert len(interactive_starts) / 20.0 >= 0.2 * 40
    assert len(bulk_starts + interactive_starts) / 20.0 >= 0.95 * 40


def test_a_pause_reaches_the_other_clients_of_a_store(run_virtual: Callable[[Any], Any]) -> None:
    """A 429 cooldown of one limiter holds back another limiter on the same store from its next
    turn on; a limiter on a store of its own is not held."""

    async def scenario() -> tuple[list[float], list[float]]:
        store = InProcessRateStore()
        refused = Limiter(rate=40.0, max_concurrency=4, store=store)
        other = Limiter(rate=40.0, max_concurrency=4, store=store)
        alone = Limiter(rate=40.0, max_concurrency=4)
        loop = asyncio.get_running_loop()
        shared_starts: list[float] = []
        alone_starts: list[float] = []

        async def call(limiter: Limiter, starts: list[float]) -> None:
            async with limiter.slot():
                starts.append(loop.time())

        refused.pause(3.0)
        retry = asyncio.create_task(call(refused, []))  # its next request writes the pause
        await asyncio.sleep(0)
        await asyncio.gather(
            *(call(other, shared_starts) for _ in range(5)),
            *(call(alone, alone_starts) for _ in range(5)),
        )
        await retry
        return shared_starts, alone_starts

    shared_starts, alone_starts = run_virtual(scenario())
    assert min(shared_starts) >= 3.0
    assert max(alone_starts) < 1.0


def test_a_turn_past_the_deadline_is_declined_and_taken_by_no_one(
    run_virtual: Callable[[Any], Any],
) -> None:
    """With the rate bucket a second ahead, a call whose deadline is half a second away is declined
    at once and frees its concurrency slot; the next caller gets the turn it was offered."""

    async def scenario() -> tuple[str, float, float, int]:
        limiter = Limiter(rate=5.0, max_concurrency=10)
        loop = asyncio.get_running_loop()

        async def early() -> None:
            async with limiter.slot():
                pass

        queued = [asyncio.create_task(early()) for _ in range(5)]
        await asyncio.sleep(0)  # the five reserve their turns, up to 0.82 s ahead
        asked = loop.time()
        try:
            async with limiter.slot(deadline=asked + 0.5):
                outcome = "granted"
        except QueueDeadline as declined:
            outcome = str(declined)
        declined_at = loop.time()
        async with limiter.slot():
            next_turn = loop.time()
        await asyncio.gather(*queued)
        return outcome, declined_at - asked, next_turn, limiter._in_flight._value

    outcome, declined_after, next_turn, free = run_virtual(scenario())
    assert "rate limit" in outcome
    assert declined_after == 0.0  # foreseen, not waited for
    assert next_turn == pytest.approx(5 / 4.85)  # the sixth turn of 4.85 per second
    assert free == 10


def test_a_deadline_passing_in_the_slot_queue_declines_then(
    run_virtual: Callable[[Any], Any],
) -> None:
    """A call waiting for a concurrency slot that does not come free before its deadline is
    declined at the deadline, holding nothing."""

    async def scenario() -> tuple[str, float, int]:
        limiter = Limiter(rate=None, max_concurrency=1)
        loop = asyncio.get_running_loop()

        async def holder() -> None:
            async with limiter.slot():
                await asyncio.sleep(10.0)

        task = asyncio.create_task(holder())
        await asyncio.sleep(0)
        try:
            async with limiter.slot(deadline=loop.time() + 2.0):
                outcome = "granted"
        except QueueDeadline as declined:
            outcome = str(declined)
        declined_at = loop.time()
        await task
        return outcome, declined_at, limiter._in_flight._value

    outcome, declined_at, free = run_virtual(scenario())
    assert "slot" in outcome
    assert declined_at == pytest.approx(2.0)
    assert free == 1


def test_per_user_buckets_of_an_in_process_store_stay_bounded() -> None:
    """Thousands of contacts leave at most max_buckets bucket states behind, idle ones dropped."""
    now = [0.0]
    store = InProcessRateStore(clock=lambda: now[0], max_buckets=100)
    user = bucket("user:x", 100 / 60)
    for n in range(5000):
        now[0] = n * 0.001
        store.reserve_now("s", [attrs.evolve(user, name=f"user:{n}")], max_wait=None)
    assert len(store._tats["s"]) <= 100


@pytest.mark.parametrize("rate", [25.0, 40.0, 100.0])
def test_a_server_burst_of_a_whole_second_is_learned_too(
    run_virtual: Callable[[Any], Any], rate: float
) -> None:
    """A server whose bucket holds a whole second of its rate lets a first burst of replies through
    after every cooldown, so the second before each 429 measures nothing; the cycle from one 429
    to the next does: two 429s, then at most one for the rest of 30 s, and at least 90% of the
    rate in the second half (every cooldown used to end in another 429, one every 1.3 s). The cycle
    may read a few percent low (a server refills its burst before the pause ends), so its ceiling
    is probed at 3% a second, up to 15% above it: no second holds more than 10% over the rate."""
    run: Run = run_virtual(against_a_server(rate, rate, 30.0))
    steady = run.between(run.replies, 15.0, 30.0)
    assert len(run.cooldowns) <= 3
    assert len([start for start, _ in run.cooldowns if start >= 10.0]) <= 1
    assert len(steady) / 15.0 >= 0.9 * rate
    assert max_in_window(run.between(run.sends, 10.0, 30.0), 1.0) <= 1.1 * rate


@pytest.mark.parametrize("rate", [25.0, 40.0, 100.0])
def test_a_limit_that_drops_is_learned_within_a_few_429s(
    run_virtual: Callable[[Any], Any], rate: float
) -> None:
    """The server's limit drops by a fifth a minute into the run: a few 429s step the pace down
    under it, after which the client gets at least 85% of the new limit with at most one 429 per
    10 s (each 429 right after resuming used to be taken for a one-off, for a 429 every second)."""

    class Dropping(TokenBucket):
        def take(self, now: float) -> float | None:
            if now >= 60.0 and self.rate == rate:
                self.rate, self.burst = 0.8 * rate, 0.8 * self.burst
            return super().take(now)

    run: Run = run_virtual(against_a_server(rate, rate / 10, 180.0, server_type=Dropping))
    later = [start for start, _ in run.cooldowns if start >= 70.0]
    steady = run.between(run.replies, 70.0, 180.0)
    assert len(later) <= 11
    assert len(steady) / 110.0 >= 0.85 * 0.8 * rate


@pytest.mark.parametrize("rate", [25.0, 40.0, 100.0])
def test_a_server_counting_in_fixed_windows_is_paced_across_them(
    run_virtual: Callable[[Any], Any], rate: float
) -> None:
    """A server that counts a minute's quota in fixed windows (and refuses until the window ends)
    lets the whole quota through at the client's speed: the second before the 429 measures the
    client, and the client used to spend each quota in two seconds, then wait out the window. The
    second cycle measures the quota over the window: from the third window on, at most one 429 per
    window, at least 90% of the rate, and no silence longer than 10 s (it was 57 s)."""

    def windows(rate: float, _burst: float, now: float) -> FixedWindow:
        return FixedWindow(rate, 60.0, now)

    run: Run = run_virtual(against_a_server(rate, rate, 300.0, server_type=windows))
    later = [start for start, _ in run.cooldowns if start >= 120.0]
    settled = run.between(run.replies, 180.0, 300.0)
    assert len(later) <= 3
    assert len(settled) / 120.0 >= 0.9 * rate
    assert max(b - a for a, b in itertools.pairwise(settled)) < 10.0


def test_a_learned_pace_lets_no_more_through_at_once_than_a_small_server_burst(
    run_virtual: Callable[[Any], Any],
) -> None:
    """A learned pace holds at most two requests at once, whatever its rate: a server of 1,000 per
    second with a burst of 4 used to refuse the pace's 2% (about 14 at once) after every cooldown,
    23 429s in 30 s and almost nothing let through in the second half."""
    run: Run = run_virtual(against_a_server(1000.0, 4.0, 30.0))
    assert len(run.cooldowns) <= 3
    assert len(run.between(run.replies, 15.0, 30.0)) / 15.0 >= 0.6 * 1000.0


def test_long_pauses_on_the_first_rise_are_not_taken_for_windows(
    run_virtual: Callable[[Any], Any],
) -> None:
    """A token bucket that asks for 5 s after every refusal: the 429 that ends the pace's first
    rise comes after a pause more than twice the sending before it, as a window's would, but the
    rise measures the server's rate; taking the cycle instead paced the client at 17% of it."""

    class FiveSeconds(TokenBucket):
        def take(self, now: float) -> float | None:
            return None if super().take(now) is None else 5.0

    run: Run = run_virtual(against_a_server(40.0, 4.0, 120.0, server_type=FiveSeconds))
    assert len(run.between(run.replies, 30.0, 120.0)) / 90.0 >= 0.8 * 40.0
