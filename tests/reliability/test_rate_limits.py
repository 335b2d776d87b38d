"""Rate limits (T9-T11): Retry-After honoured within its bound, one cooldown for every caller, and
the client's own limiter conforming to its rate without starving or thrashing its waiters."""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from refiner_async import RateLimitError, RefinerClient
from refiner_async._ratelimit import Limiter
from refiner_async._retry import RetryPolicy, _ceiling
from refiner_async.ratelimit import InProcessRateStore
from refiner_async.testing import FakeRefiner
from tests.conftest import call

from ..conftest import max_in_window

POLICY = RetryPolicy()


def http_date(offset: float) -> str:
    return email.utils.formatdate(time.time() + offset, usegmt=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# (label, Retry-After header, lowest acceptable hint, highest acceptable hint); None: no usable hint
RETRY_AFTER_TABLE: list[tuple[str, Callable[[], str], float | None, float | None]] = [
    ("2", lambda: "2", 2.0, 2.0),
    ("2.5", lambda: "2.5", 2.5, 2.5),
    ("date+3s", lambda: http_date(3), 1.5, 3.0),  # HTTP dates have whole seconds
    ("past date", lambda: http_date(-60), 0.0, 0.0),
    ("0", lambda: "0", 0.0, 0.0),
    ("-5", lambda: "-5", None, None),
    ("garbage", lambda: "soon-ish", None, None),
]


async def test_t9_retry_after_table(
    connect: Callable[..., Any],
    raw_server: Callable[..., Any],
    api_key: str,
    retry_waits: list[Any],
    report: Callable[..., str],
) -> None:
    """Each Retry-After form: waits never less than the hint, jitter bounded; invalid -> backoff."""
    computed: dict[str, float] = {}
    violations: list[str] = []
    async with FakeRefiner(seed=9, responses=50) as fake:
        for label, header, low, high in RETRY_AFTER_TABLE:
            fake.faults.add("429", path="/account", times=1, retry_after=header())
            async with connect(fake) as client:  # one client per case: no pace carried over
                await client.account.get()
            wait = retry_waits[-1]
            computed[label] = round(wait.seconds, 3)
            if low is None or high is None:
                ok = wait.hint is None and 0 <= wait.seconds < _ceiling(1, POLICY)
            else:
                assert wait.hint is not None
                ok = low <= wait.hint <= high and (
                    wait.hint <= wait.seconds <= wait.hint + min(1.0, 0.1 * wait.hint)
                )
            if not ok:
                violations.append(label)
        fake.faults.add("429", path="/account", retry_after="3600")
        async with connect(fake) as client:
            with pytest.raises(RateLimitError) as caught:
                await client.account.get()
        too_long_attempts = caught.value.attempts

    asked = 0

    async def ms_only(request: web.Request) -> web.Response:
        nonlocal asked
        asked += 1
        if asked == 1:
            headers = {"retry-after-ms": "1500"}  # not a header Refiner sends: read as no hint
            return web.json_response({"error": "slow down"}, status=429, headers=headers)
        return web.json_response({"ok": True})

    base = await raw_server(ms_only)
    async with RefinerClient(api_key, base_url=base, rate_limit=None) as client:
        await call(client, "GET", "/")
    ms_wait = retry_waits[-1]
    computed["retry-after-ms"] = round(ms_wait.seconds, 3)
    if ms_wait.hint is not None or ms_wait.seconds >= _ceiling(1, POLICY):
        violations.append("retry-after-ms")
    report("T9 Retry-After", **computed, **{"3600": "RateLimitError"}, violations=len(violations))
    assert violations == []
    assert caught.value.retry_after == 3600.0
    assert too_long_attempts == 1


async def test_t10_429_storm_one_cooldown_for_every_caller(
    connect: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, report: Callable[..., str]
) -> None:
    """A server allowing 25 req/s, 16 callers at once: nobody sends inside a cooldown, nothing lost."""
    pages = 50
    cooldowns: list[tuple[float, float]] = []  # (loop time of the 429, end of the pause)
    sent: list[float] = []  # loop time each request started
    pause = Limiter.pause

    def recording_pause(self: Limiter, seconds: float) -> None:
        now = asyncio.get_running_loop().time()
        cooldowns.append((now, now + seconds))
        pause(self, seconds)

    monkeypatch.setattr(Limiter, "pause", recording_pause)
    trace = aiohttp.TraceConfig()

    async def on_start(*_: Any) -> None:
        sent.append(asyncio.get_running_loop().time())

    trace.on_request_start.append(on_start)
    async with FakeRefiner(
        seed=10, responses=5000, rate_limit=25, rate_burst=3, decimal_retry_after=True
    ) as fake:
        expected = set(fake.live_response_uuids("all"))
        async with connect(
            fake, max_concurrency=16, rate_limit=4000 / 60, trace_configs=[trace]
        ) as client:
            started = time.monotonic()

            async def page(number: int) -> list[str]:
                payload = await call(
                    client,
                    "GET",
                    "/responses",
                    params={"include": "all", "page": number, "page_length": 100},
                )
                return [item["uuid"] for item in payload["items"]]

            results = await asyncio.gather(*(page(n) for n in range(1, pages + 1)))
            elapsed = time.monotonic() - started
        stats = fake.stats()
    yielded = [uuid for result in results for uuid in result]
    early = [t for t in sent if any(begin < t < end for begin, end in cooldowns)]
    first_429 = min(e.at for e in fake.journal.entries if e.status == 429)
    after = [at for at in stats["arrivals"] if at > first_429]
    allowance = 3 + 25 * 0.1  # what the server's own bucket admits in 100 ms
    report(
        "T10 429 storm",
        requests=stats["requests_total"],
        responses_429=stats["responses_429"],
        early_arrivals=len(early),
        max_arrivals_100ms_after_429=max_in_window(after, 0.1),
        peak_rps=stats["peak_rps"],
        items_lost=len(expected - set(yielded)),
        seconds=round(elapsed, 2),
    )
    assert len(yielded) == len(set(yielded)) == len(expected)
    assert set(yielded) == expected
    assert early == []
    assert max_in_window(after, 0.1) <= allowance
    assert stats["responses_429"] <= 10


def test_t11_limiter_conformance(
    run_virtual: Callable[[Any], Any], report: Callable[..., str]
) -> None:
    """5 req/s with 1,000 waiters at once: no 1 s window above the rate, FIFO grants, few wake-ups."""
    rate = 5.0
    waiters = 1000

    async def main() -> tuple[list[float], list[float], list[int], int]:
        loop = asyncio.get_running_loop()
        futures = 0
        create_future = loop.create_future

        def counting_create_future() -> asyncio.Future[Any]:
            nonlocal futures
            futures += 1
            return create_future()

        loop.create_future = counting_create_future  # type: ignore[method-assign]
        limiter = Limiter(rate=rate, max_concurrency=waiters)
        grants: list[float] = []
        waits: list[float] = []
        order: list[int] = []

        async def one(n: int) -> None:
            asked = loop.time()
            async with limiter.slot():
                grants.append(loop.time())
                waits.append(loop.time() - asked)
                order.append(n)

        await asyncio.gather(*(one(n) for n in range(waiters)))
        return grants, waits, order, futures

    grants, waits, order, futures = run_virtual(main())
    window_max = max_in_window(grants, 1.0)
    wakeups_per_grant = futures / waiters
    report(
        "T11 limiter",
        rate=rate,
        waiters=waiters,
        sliding_1s_max=window_max,
        p99_wait_s=round(percentile(waits, 0.99), 1),
        max_wait_s=round(max(waits), 1),
        wakeups_per_grant=round(wakeups_per_grant, 2),
    )
    assert window_max <= rate
    assert order == sorted(order)  # first come, first served: nobody starves
    assert max(waits) <= waiters / (0.97 * rate) + 1
    assert wakeups_per_grant <= 2


async def test_a_contacts_429_does_not_hold_back_other_contacts(
    connect: Callable[..., Any], report: Callable[..., str]
) -> None:
    """The API's per-user limit refuses one busy contact (here after 5 calls in 60 s): its calls wait
    out the Retry-After it was given, while calls for other contacts, which the server still
    answers, go on meanwhile instead of waiting a minute behind it."""
    async with (
        FakeRefiner(seed=12, contacts=150, per_user_limit=5) as fake,
        connect(fake, max_retries=3) as client,
    ):
        uuids = [contact.uuid async for contact in client.contacts.list(max_items=101)]
        hot, others = uuids[0], uuids[1:]
        busy = [asyncio.create_task(client.contacts.get(uuid=hot)) for _ in range(8)]
        while not any(e.fault == "per_user_limit" for e in fake.journal.entries):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        answered = await asyncio.gather(*(client.contacts.get(uuid=u) for u in others))
        paused = client._core._limiter.paused_for
        for task in busy:
            task.cancel()
        await asyncio.gather(*busy, return_exceptions=True)
    entries = [e for e in fake.journal.entries if e.path.endswith("/contact")]
    refused = [e for e in entries if e.status == 429]
    hot_after = [e for e in entries if e.user == hot and e.at > refused[0].at]
    report(
        "per-user 429",
        hot_refused=len(refused),
        hot_retried_during_its_pause=len(hot_after) - len(refused) + 1,
        other_contacts_answered=len(answered),
    )
    assert [c.uuid for c in answered] == others
    assert {e.user for e in refused} == {hot}
    assert paused == 0.0  # no pause for everyone
    # The busy contact's calls in flight met the limit once each; none retried inside its pause.
    assert all(e.status == 429 for e in hot_after)
    assert len(hot_after) <= 8 - 5


async def test_a_contacts_429_holds_that_contact_back_in_every_client_sharing_the_store(
    connect: Callable[..., Any], report: Callable[..., str]
) -> None:
    """Two clients share one store: once the server refuses a busy contact to the first, the second
    holds its calls naming that contact back for the Retry-After (none reaches the server), while
    its calls naming another contact go out at once."""
    store = InProcessRateStore()
    shared = {"rate_store": store, "per_user_rate_limit": 50.0, "max_retries": 0}
    async with (
        FakeRefiner(seed=12, contacts=150, per_user_limit=5) as fake,
        connect(fake, **shared) as first,
        connect(fake, **shared) as second,
    ):
        hot, other = [contact.uuid async for contact in first.contacts.list(max_items=2)]
        calls = [first.contacts.get(uuid=hot) for _ in range(6)]
        results = await asyncio.gather(*calls, return_exceptions=True)
        refused_at = len(fake.journal.entries)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(second.contacts.get(uuid=hot), 0.5)
        answered = await second.contacts.get(uuid=other)
    refusals = [r for r in results if isinstance(r, RateLimitError)]
    later = [e.user for e in fake.journal.entries[refused_at:]]
    report("shared contact pause", refused=len(refusals), later_requests=later)
    assert len(refusals) == 1  # the sixth call: the server allows five a minute
    assert answered.uuid == other
    assert later == [other]  # the second client never sent the call naming the busy contact
