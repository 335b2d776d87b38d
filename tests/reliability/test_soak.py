"""The seeded soak (T25): full exports of responses and bursts of track-events under a random mix of
resets, cut bodies, 503s, 429s and slow answers, while responses are inserted and deleted.

Every iteration builds a new client (mode, concurrency and page length drawn from the seed), exports
every response and tracks a few events at the same time. Each export must yield exactly the
responses that existed throughout it (none twice, none missing, none that never existed) or fail
with a typed error after its retry budget; each event must be recorded at most once, and exactly
once when the call succeeded. Retry waits run at 1/50 of the policy's (Retry-After 1 s becomes
20 ms) so the soak spends its time on requests, not sleeps; their shape is unchanged.

The summary line holds the figures of the fault matrix. ``nox -s soak`` runs the long soak
(``nox -s soak``, marked ``slow``: 100 iterations); the short one runs with every test run.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
import statistics
import time
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from refiner_async import OutcomeUnknownError, RefinerClient, RefinerError
from refiner_async import _http as http_module
from refiner_async._http import HTTPCore
from refiner_async._ratelimit import Limiter
from refiner_async.testing import FakeRefiner

SEED = 25
SHORT_ITERATIONS = 20
LONG_ITERATIONS = 100
RESPONSES = 3000
WAIT_SCALE = 0.02  # retry waits and cooldowns at 1/50 of the policy's
TIMEOUT = 0.25  # per attempt: a "slow" answer (0.4 s) times out and is retried
DEADLINE = 20.0  # per call
EVENTS_PER_ITERATION = 5
FAULTS = [  # (kind, probability, options): 5% resets, 3% cut bodies, 5% 503, 2% 429, 1% slow
    ("reset", 0.05, {}),
    ("truncate", 0.03, {}),
    ("503", 0.05, {}),
    ("429", 0.02, {"retry_after": "1"}),
    ("delay", 0.01, {"delay": 0.4}),
]


@dataclass
class Tally:
    """Everything the summary line reports, summed over the iterations."""

    iterations: int = 0
    exports_ok: int = 0
    surfaced_typed: int = 0
    surfaced_faults: int = 0  # failed attempts behind the errors that surfaced
    untyped_errors: int = 0
    items_expected: int = 0
    yielded: int = 0
    unique: int = 0
    duplicates: int = 0
    missing: int = 0
    foreign_items: int = 0
    partial_pages: int = 0
    retries: int = 0
    events_ok: int = 0
    events_unknown: int = 0
    post_duplicates: int = 0
    max_attempts_per_request: int = 0  # arrivals of one request at the server (aiohttp resends too)
    leaked_connections: int = 0
    pending_tasks: int = 0
    durations: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


@dataclass
class Watch:
    """Cooldowns and request starts (loop time) and call durations, recorded as they happen."""

    cooldowns: list[tuple[float, float]] = field(default_factory=list)
    starts: list[float] = field(default_factory=list)
    overshoot_ms: float = 0.0
    lags_ms: list[float] = field(default_factory=list)

    def violations(self) -> int:
        """Requests the SDK started inside a cooldown it had been told about."""
        return sum(1 for t in self.starts if any(a < t < b - 1e-4 for a, b in self.cooldowns))


@pytest.fixture
def watch(monkeypatch: pytest.MonkeyPatch) -> Watch:
    """Scaled retry waits, and records of cooldowns, request starts and call durations."""
    seen = Watch()
    compute = http_module.retry_wait

    def scaled(error: Any, attempt: int, policy: Any, rng: Any = None) -> float | None:
        wait = compute(error, attempt, policy, rng)
        return None if wait is None else wait * WAIT_SCALE

    pause = Limiter.pause

    def recording_pause(self: Limiter, seconds: float) -> None:
        now = asyncio.get_running_loop().time()
        seen.cooldowns.append((now, now + seconds))
        pause(self, seconds)

    slot = Limiter.slot

    @contextlib.asynccontextmanager
    async def recording_slot(
        self: Limiter, user: str | None = None, **options: Any
    ) -> AsyncIterator[float]:
        async with slot(self, user, **options) as waited:
            seen.starts.append(asyncio.get_running_loop().time())
            yield waited

    request = HTTPCore.request

    async def timed_request(self: HTTPCore, *args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        try:
            return await request(self, *args, **kwargs)
        finally:
            over = (time.monotonic() - started - DEADLINE) * 1000
            seen.overshoot_ms = max(seen.overshoot_ms, over)

    monkeypatch.setattr(http_module, "retry_wait", scaled)
    monkeypatch.setattr(Limiter, "pause", recording_pause)
    monkeypatch.setattr(Limiter, "slot", recording_slot)
    monkeypatch.setattr(HTTPCore, "request", timed_request)
    return seen


async def export(client: RefinerClient, tally: Tally, settings: dict[str, Any]) -> list[str] | None:
    """Every response, by pages; None when the export failed (with a typed error, or not)."""
    uuids: list[str] = []
    listing = client.responses.list(include="all", **settings)
    try:
        async with contextlib.aclosing(listing.pages()) as pages:
            async for page in pages:
                uuids.extend(r.uuid for r in page.items)
    except RefinerError as error:
        tally.surfaced_typed += 1
        tally.surfaced_faults += getattr(error, "attempts", 1)
        tally.errors[type(error).__name__] += 1
        return None
    except Exception as error:  # an untyped error is a finding: count it, fail at the end
        tally.untyped_errors += 1
        tally.errors[repr(error)] += 1
        return None
    return uuids


async def track(client: RefinerClient, user: str, tally: Tally) -> bool | None:
    """True: recorded; None: outcome unknown; False: refused (typed error)."""
    try:
        await client.events.track("Soaked", id=user)
    except OutcomeUnknownError:
        tally.events_unknown += 1
        return None
    except RefinerError as error:
        tally.surfaced_typed += 1
        tally.surfaced_faults += getattr(error, "attempts", 1)
        tally.errors[type(error).__name__] += 1
        return False
    except Exception as error:
        tally.untyped_errors += 1
        tally.errors[repr(error)] += 1
        return False
    tally.events_ok += 1
    return True


def pending(gate: Any, ignore: asyncio.Task[Any]) -> list[asyncio.Task[Any]]:
    return [task for task in gate.pending_tasks() if task is not ignore]


async def iteration(
    fake: FakeRefiner, number: int, gate: Any, tally: Tally, heartbeat: asyncio.Task[Any]
) -> None:
    rng = random.Random(f"{SEED}-{number}")
    settings = {
        "pagination": rng.choice(["auto", "pages", "cursor"]),
        "page_length": rng.choice([100, 250, 500]),
    }
    concurrency = rng.choice([1, 4, 8])
    users = [f"soak-{number}-{k}" for k in range(EVENTS_PER_ITERATION)]
    fake.reset_tracking()
    first_entry = len(fake.journal.entries)
    fake.mutate(every=rng.choice([3, 5, 8]), insert=rng.randint(0, 6), delete=rng.randint(0, 4))
    started = time.monotonic()
    async with RefinerClient(
        fake.api_key,
        base_url=fake.base_url,
        rate_limit=None,
        per_user_rate_limit=None,
        max_concurrency=concurrency,
        timeout=TIMEOUT,
        deadline=DEADLINE,
    ) as client:
        uuids, *events = await asyncio.gather(
            export(client, tally, settings), *(track(client, user, tally) for user in users)
        )
        tally.retries += client.stats.retries
    fake.stop_mutation()
    arrivals = Counter(
        (e.method, e.path, e.query, e.user) for e in fake.journal.entries[first_entry:]
    )
    tally.max_attempts_per_request = max(tally.max_attempts_per_request, *arrivals.values())
    tally.durations.append(time.monotonic() - started)
    tally.iterations += 1
    stable = fake.stable_response_uuids("all")
    ever = fake.all_response_uuids("all")
    counts = fake.stats()["events_per_user"]
    for user, outcome in zip(users, events, strict=True):
        recorded = counts.get(user, 0)
        tally.post_duplicates += max(0, recorded - 1)
        if outcome is True and recorded != 1:
            tally.post_duplicates += 1  # a success that did not record exactly once
    if uuids is not None:
        tally.exports_ok += 1
        unique = set(uuids)
        tally.items_expected += len(stable)
        tally.yielded += len(uuids)
        tally.unique += len(unique)
        tally.duplicates += len(uuids) - len(unique)
        tally.missing += len(stable - unique)
        tally.foreign_items += len(unique - ever)
    for _ in range(100):
        if not pending(gate, heartbeat):
            break
        await asyncio.sleep(0.01)
    tally.pending_tasks += len(pending(gate, heartbeat))


async def soak(iterations: int, gate: Any, watch: Watch, report: Callable[..., str]) -> Tally:
    tally = Tally()
    stop = asyncio.Event()

    async def heartbeat() -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            due = loop.time() + 0.01
            await asyncio.sleep(0.01)
            watch.lags_ms.append(max(0.0, loop.time() - due) * 1000)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with FakeRefiner(seed=SEED, responses=RESPONSES) as fake:
            for kind, probability, options in FAULTS:
                fake.faults.add(kind, probability=probability, **options)
            beating = asyncio.create_task(heartbeat())
            for number in range(iterations):
                await iteration(fake, number, gate, tally, beating)
            stop.set()
            await beating
            stats = fake.stats()
        gc.collect()
    unclosed = sum(1 for w in caught if issubclass(w.category, ResourceWarning))
    tally.leaked_connections = gate.leaked_connections()
    injected = stats["faults_total"]
    report(
        f"T25 soak seed={SEED} iterations={iterations}",
        faults_injected=injected,
        survived=injected - tally.surfaced_faults,
        surfaced_typed=tally.surfaced_typed,
        untyped_errors=tally.untyped_errors,
        items_expected=tally.items_expected,
        yielded=tally.yielded,
        unique=tally.unique,
        new_during_export=tally.unique - (tally.items_expected - tally.missing),
        duplicates=tally.duplicates,
        missing=tally.missing,
        partial_pages=tally.partial_pages + tally.foreign_items,
        requests=stats["requests_total"],
        retries=tally.retries,
        max_attempts_per_request=tally.max_attempts_per_request,
        retry_after_violations=watch.violations(),
        post_duplicates_created=tally.post_duplicates,
        leaked_connections=tally.leaked_connections,
        unclosed_warnings=unclosed,
        pending_tasks=tally.pending_tasks,
        api_key_occurrences=gate.key_occurrences(),
        loop_lag_p99_ms=round(percentile(watch.lags_ms, 0.99), 1),
        deadline_overshoot_max_ms=round(max(0.0, watch.overshoot_ms), 1),
        exports_ok=f"{tally.exports_ok}/{iterations}",
        events=f"ok:{tally.events_ok},unknown:{tally.events_unknown}",
        p50_s=round(statistics.median(tally.durations), 2),
        p99_s=round(percentile(tally.durations, 0.99), 2),
        faults=dict(sorted(stats["faults"].items())),
    )
    assert tally.untyped_errors == 0, tally.errors
    assert tally.duplicates == 0
    assert tally.missing == 0
    assert tally.foreign_items == 0
    assert tally.post_duplicates == 0
    assert watch.violations() == 0
    assert tally.leaked_connections == 0
    assert unclosed == 0
    assert tally.pending_tasks == 0
    assert gate.key_occurrences() == 0
    assert tally.exports_ok + tally.errors.total() >= iterations  # every export ended one way
    return tally


async def test_t25_soak_short(gate: Any, watch: Watch, report: Callable[..., str]) -> None:
    """A dozen seeded iterations: exact exports or typed errors, nothing twice, nothing leaked."""
    tally = await soak(SHORT_ITERATIONS, gate, watch, report)
    assert tally.exports_ok >= SHORT_ITERATIONS - 1


@pytest.mark.slow
async def test_t25_soak_long(gate: Any, watch: Watch, report: Callable[..., str]) -> None:
    """100 seeded iterations (``nox -s soak``; deselected from the default run as ``slow``)."""
    tally = await soak(LONG_ITERATIONS, gate, watch, report)
    assert tally.exports_ok >= LONG_ITERATIONS * 0.95
