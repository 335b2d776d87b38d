"""The call's deadline covers its wait in the client's own limiter (rate bucket, per-user bucket,
429 cooldown): a call whose turn would come after its deadline is declined without taking a turn,
and a request never sent raises APITimeoutError with request_sent=False, never OutcomeUnknownError.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from aioresponses import CallbackResult, aioresponses

from refiner_async import APITimeoutError, OutcomeUnknownError, RefinerClient
from refiner_async.testing import FakeRefiner
from tests.conftest import call

BASE_URL = "https://api.refiner.test/v1"


def test_gets_queued_past_their_deadline_end_by_it(
    run_virtual: Callable[[Any], Any], api_key: str, report: Callable[..., str]
) -> None:
    """20 GETs at once at 2 requests/s with deadline=2: on the loop clock every call ends by its
    deadline; the ones sent are those whose turn came within it, the others raise a not-sent
    APITimeoutError at once."""

    async def scenario() -> tuple[list[float], list[tuple[str, float, bool]]]:
        loop = asyncio.get_running_loop()
        arrivals: list[float] = []

        def answer(url: Any, **kwargs: Any) -> CallbackResult:
            arrivals.append(loop.time())
            return CallbackResult(status=200, body=b'{"ok": true}')

        outcomes: list[tuple[str, float, bool]] = []  # (outcome, loop time it ended, sent)

        async def account(client: RefinerClient) -> None:
            try:
                await call(client, "GET", "/account")
                outcomes.append(("ok", loop.time(), True))
            except APITimeoutError as error:
                outcomes.append((type(error).__name__, loop.time(), error.request_sent))

        with aioresponses() as mock:
            mock.get(re.compile(r".*/account$"), callback=answer, repeat=True)
            async with RefinerClient(
                api_key, base_url=BASE_URL, rate_limit=2.0, deadline=2.0, max_concurrency=20
            ) as client:
                await asyncio.gather(*(account(client) for _ in range(20)))
        return arrivals, outcomes

    arrivals, outcomes = run_virtual(scenario())
    sent = [o for o in outcomes if o[0] == "ok"]
    declined = [o for o in outcomes if o[0] != "ok"]
    report(
        "limiter deadline GETs",
        calls=20,
        sent=len(sent),
        declined=len(declined),
        latest_end_s=max(o[1] for o in outcomes),
    )
    assert max(o[1] for o in outcomes) <= 2.0  # every call ended by its deadline (loop clock)
    assert len(arrivals) == len(sent) == 4  # turns at 0, 0.52, 1.03, 1.55 s; the next is past 2 s
    assert all(o[0] == "APITimeoutError" and not o[2] for o in declined)
    assert all(o[1] == 0.0 for o in declined)  # declined at once, not at the deadline


async def test_track_events_declined_in_the_queue_are_not_sent(
    connect: Callable[..., Any], report: Callable[..., str]
) -> None:
    """20 track-events for one contact at once, deadline=2, per-user limit 100/min: those whose
    turn would come after the deadline raise a not-sent APITimeoutError and reach the server 0
    times; no OutcomeUnknownError."""
    async with FakeRefiner(seed=20, responses=10) as fake:
        async with connect(
            fake, per_user_rate_limit=100 / 60, deadline=2.0, max_concurrency=20
        ) as client:

            async def track() -> str:
                try:
                    await client.events.track("signup", id="contact-1")
                except OutcomeUnknownError:
                    return "outcome unknown"
                except APITimeoutError as error:
                    return "not sent" if not error.request_sent else "sent, timed out"
                return "ok"

            outcomes = await asyncio.gather(*(track() for _ in range(20)))
        received = fake.stats()["requests"].get("/v1/track-event", {})
        events = fake.stats()["events_total"]
    report(
        "limiter deadline track-events",
        ok=outcomes.count("ok"),
        not_sent=outcomes.count("not sent"),
        received=sum(received.values()),
        events=events,
    )
    assert set(outcomes) == {"ok", "not sent"}
    assert sum(received.values()) == outcomes.count("ok") == events
    assert outcomes.count("ok") <= 4  # one turn per 0.62 s within 2 s


async def test_a_cooldown_past_the_deadline_declines_at_once(
    connect: Callable[..., Any],
) -> None:
    """While a 429 cooldown outlasts a call's deadline, a write is declined at once (not sent, no
    request), and a call whose deadline allows the wait goes after the cooldown."""
    async with FakeRefiner(seed=21, responses=10) as fake:
        async with connect(fake, deadline=1.0) as short, connect(fake, deadline=30.0) as long:
            short._core._limiter.pause(5.0)
            try:
                await short.events.track("signup", id="contact-2")
                outcome = "sent"
            except APITimeoutError as error:
                outcome = "not sent" if not error.request_sent else "sent, timed out"
                reason = str(error)
            long._core._limiter.pause(0.3)
            await long.events.track("signup", id="contact-3")
        received = fake.stats()["requests"].get("/v1/track-event", {})
    assert outcome == "not sent"
    assert "429 cooldown" in reason  # declined for the cooldown it foresaw, not timed out in it
    assert sum(received.values()) == 1  # only the patient call reached the server
