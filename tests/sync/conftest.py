"""Fixtures for the sync tests: an emulator on a fake clock, a client, and a run helper."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from refiner_async import RefinerClient
from refiner_async.sync import SyncState, sync_responses
from refiner_async.testing import FakeRefiner

T0 = datetime(2026, 1, 10, tzinfo=UTC)  # the emulator's data spans the 20 days before this


class Clock:
    """The time shared by the emulator (writes made "now") and the sync (its windows' end)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def epoch(self) -> float:
        return self.now.timestamp()

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
async def fake(clock: Clock) -> AsyncIterator[FakeRefiner]:
    async with FakeRefiner(
        seed=17, responses=1500, now=T0, span_days=20, clock=clock.epoch
    ) as server:
        yield server


@pytest.fixture
async def client(fake: FakeRefiner) -> AsyncIterator[RefinerClient]:
    async with RefinerClient(fake.api_key, base_url=fake.base_url, max_retries=0) as c:
        yield c


class Run:
    """One sync run's outcome: the items by uuid (later copies win), batches, requests, state."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.batches = 0
        self.requests = 0
        self.state: SyncState | None = None


async def run_sync(
    client: RefinerClient,
    state: SyncState | None,
    clock: Clock,
    *,
    during: Callable[[int], None] | None = None,
    **options: Any,
) -> Run:
    """Sync to completion, saving each batch's state as a consumer would; ``during(n)`` is called
    after the n-th batch is handed over (the next pages may already be on their way)."""
    run = Run()
    before = client.stats.requests
    run.state = state
    async for batch in sync_responses(client, state, clock=clock, **options):
        for item in batch.items:
            run.items[item["uuid"]] = item
        run.batches += 1
        run.state = batch.state
        if during is not None:
            during(run.batches)
    run.requests = client.stats.requests - before
    return run


@pytest.fixture
def sync_run() -> Any:
    """``await sync_run(client, state, clock, **options)``: one run to completion (a :class:`Run`)."""
    return run_sync
