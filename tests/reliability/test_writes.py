"""Writes under faults (T12, T13 adapted to Refiner): nothing recorded twice, ambiguity made explicit.

Refiner has no idempotency keys. identify-user is an upsert, so the SDK retries it like a read;
track-event and store-response record something each time they arrive, so the SDK repeats them only
when the request provably never reached the server (failed connect) or was refused (429). After
that, an ambiguous failure raises OutcomeUnknownError. The emulator's own counts prove the outcome.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from refiner_async import (
    OutcomeUnknownError,
    RefinerError,
    ResponseDecodeError,
    ServerError,
)
from refiner_async.testing import FakeRefiner

pytestmark = pytest.mark.usefixtures("instant")


def posts(fake: FakeRefiner, path: str) -> int:
    return sum(1 for e in fake.journal.entries if e.method == "POST" and e.path == f"/v1{path}")


@pytest.mark.parametrize(
    ("fault", "error", "recorded"),
    [
        ("reset_after", OutcomeUnknownError, 1),  # committed, then the connection reset
        ("truncate", OutcomeUnknownError, 1),  # committed, answer cut short
        ("reset", OutcomeUnknownError, 0),  # reset before the handler ran: unknowable to a client
        ("bad_json", ResponseDecodeError, 1),  # committed, answer unreadable
        ("500", ServerError, 0),  # the API itself answered that it failed
        ("503", OutcomeUnknownError, 0),  # a gateway's answer: the API may have applied it
    ],
)
async def test_t12_track_event_is_never_sent_twice(
    connect: Callable[..., Any],
    report: Callable[..., str],
    fault: str,
    error: type[RefinerError],
    recorded: int,
) -> None:
    """A track-event that fails once it may have arrived is raised, typed, after exactly one request."""
    async with FakeRefiner(seed=12, responses=50) as fake:
        fake.faults.add(fault, path="/track-event", times=1)
        async with connect(fake, max_retries=4) as client:
            with pytest.raises(error) as caught:
                await client.events.track("Exported", id="user-t12")
        sent = posts(fake, "/track-event")
        events = fake.stats()["events_per_user"].get("user-t12", 0)
    report(f"T12 track-event {fault}", error=type(caught.value).__name__, sent=sent, events=events)
    assert sent == 1
    assert events == recorded
    if isinstance(caught.value, OutcomeUnknownError):
        assert "may have been applied" in str(caught.value)
        assert caught.value.attempts == 1


async def test_t12_track_event_timeout_is_outcome_unknown_and_commits_once(
    connect: Callable[..., Any],
) -> None:
    """An answer later than ``timeout``: OutcomeUnknownError, and the server does record it, once."""
    async with FakeRefiner(seed=12, responses=50) as fake:
        fake.faults.add("delay", path="/track-event", delay=0.4, times=1)
        async with connect(fake, timeout=0.15) as client:
            with pytest.raises(OutcomeUnknownError):
                await client.events.track("Exported", id="user-slow")
        assert posts(fake, "/track-event") == 1
        for _ in range(100):  # the server finishes the request after the client gave up on it
            if fake.stats()["events_per_user"].get("user-slow"):
                break
            await asyncio.sleep(0.01)
        assert fake.stats()["events_per_user"]["user-slow"] == 1


async def test_t12_track_event_refused_with_429_is_retried(connect: Callable[..., Any]) -> None:
    """429 means "not done": the write is repeated and recorded exactly once."""
    async with FakeRefiner(seed=12, responses=50) as fake:
        fake.faults.add("429", path="/track-event", times=2, retry_after="0")
        async with connect(fake) as client:
            await client.events.track("Exported", id="user-429")
            assert client.stats.rate_limited == 2
        assert posts(fake, "/track-event") == 3
        assert fake.stats()["events_per_user"]["user-429"] == 1


async def test_t12_store_response_reset_after_commit_is_not_repeated(
    connect: Callable[..., Any],
) -> None:
    """store-response reset after it committed: OutcomeUnknownError, one request, one response."""
    async with FakeRefiner(seed=12, responses=50) as fake:
        form = next(f for f in fake.store.forms.values() if f.published_at)
        before = fake.stats()["data"]["responses"]
        fake.faults.add("reset_after", path="/responses", method="POST", times=1)
        async with connect(fake) as client:
            with pytest.raises(OutcomeUnknownError):
                await client.responses.store(
                    form.uuid, id="user-store", data={"q1": 9}, prevent_duplicates=False
                )
        assert posts(fake, "/responses") == 1
        assert fake.stats()["data"]["responses"] == before + 1


async def test_t13_identify_user_is_retried_safely(
    connect: Callable[..., Any], report: Callable[..., str]
) -> None:
    """identify-user (an upsert) through reset-after-commit, 500, 429 and a cut body: one contact."""
    async with FakeRefiner(seed=13, responses=50) as fake:
        before = fake.stats()["data"]["contacts"]
        for kind in ("reset_after", "500", "429", "truncate"):
            fake.faults.add(kind, path="/identify-user", times=1, retry_after="0")
        async with connect(fake, max_retries=4) as client:
            first = await client.contacts.identify(id="user-t13", attributes={"plan": "pro"})
            again = await client.contacts.identify(id="user-t13", attributes={"plan": "pro"})
            contact = await client.contacts.get(id="user-t13")
            retries = client.stats.retries
        sent = posts(fake, "/identify-user")
        created = fake.stats()["data"]["contacts"] - before
    report("T13 identify-user", sent=sent, retries=retries, contacts_created=created)
    assert sent == 6  # four faults, the success, the second call
    assert retries == 4
    assert created == 1
    assert first.contact_uuid == again.contact_uuid == contact.uuid
    assert contact.attributes["plan"] == "pro"


async def test_t13_track_event_burst_never_double_records(
    connect: Callable[..., Any], report: Callable[..., str]
) -> None:
    """200 concurrent track-events under random faults: every user's count matches what was raised."""
    users = [f"burst-{n}" for n in range(200)]
    async with FakeRefiner(seed=131, responses=50) as fake:
        fake.faults.add("reset_after", path="/track-event", probability=0.08)
        fake.faults.add("reset", path="/track-event", probability=0.05)
        fake.faults.add("500", path="/track-event", probability=0.05)
        fake.faults.add("429", path="/track-event", probability=0.08, retry_after="0")
        async with connect(fake, max_concurrency=16) as client:
            outcomes = await asyncio.gather(
                *(client.events.track("Burst", id=user) for user in users),
                return_exceptions=True,
            )
        counts = fake.stats()["events_per_user"]
        injected = fake.stats()["faults"]
    kinds = Counter(type(o).__name__ if o is not None else "ok" for o in outcomes)
    doubles = sum(1 for user in users if counts.get(user, 0) > 1)
    report(
        "T13 track-event burst",
        calls=len(users),
        faults=sum(injected.values()),
        outcomes=dict(sorted(kinds.items())),
        events=sum(counts.get(u, 0) for u in users),
        double_recorded=doubles,
    )
    assert doubles == 0
    for user, outcome in zip(users, outcomes, strict=True):
        if outcome is None:
            assert counts.get(user) == 1, user
        else:
            assert isinstance(outcome, OutcomeUnknownError | ServerError), repr(outcome)
            assert counts.get(user, 0) <= 1
    assert kinds["ok"] > 0
    assert kinds["OutcomeUnknownError"] > 0
