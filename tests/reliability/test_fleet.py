"""Many worker processes on one API key (issue: the fleet limiter): three processes, each with its
own RefinerClient, against one emulator limited to 40 requests/s. With one RedisRateStore (a real
redis-server) they keep to the key's rate together; without it they meet 429s; a 429 anywhere
pauses all three; a budget split holds; a Redis that stops mid-run is survived.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from refiner_async.testing import FakeRefiner

from ..conftest import RedisServer, max_in_window

WORKER = Path(__file__).resolve().parent.parent / "fleet_worker.py"
LIMIT = 40.0  # the emulator's requests per second
# Its token bucket's burst: a quarter second of the rate. A worker process descheduled for a moment
# on a busy 2-core machine sends the turns that came due meanwhile together; the shared store spaced
# them, the scheduler bunched them. The windows checked below still hold the fleet to the rate.
BURST = 10.0
# The rate the workers are told: 2.5% under the limit, so that processes descheduled for a few tens
# of milliseconds on a busy 2-core machine do not bunch 41 arrivals into one second at the emulator
# (told 40 exactly, the benchmark saw 41 now and then: benchmarks/README.md, fleet rate limiting).
TOLD = 39.0
STARTUP = 1.5  # seconds given to the worker processes to import and connect before they start


async def fleet(
    fake: FakeRefiner, workers: list[dict[str, Any]], seconds: float
) -> tuple[float, list[dict[str, Any]]]:
    """Run one worker process per settings dict, together for ``seconds``; (start, summaries)."""
    start_at = time.time() + STARTUP
    common = {"base_url": fake.base_url, "api_key": fake.api_key, "start_at": start_at}
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(WORKER),
            json.dumps({**common, "seconds": seconds, **settings}),
            stdout=asyncio.subprocess.PIPE,
        )
        for settings in workers
    ]
    outputs = await asyncio.gather(*(p.communicate() for p in processes))
    assert [p.returncode for p in processes] == [0] * len(processes)  # no worker crashed
    return start_at, [json.loads(out) for out, _ in outputs]


def answered(fake: FakeRefiner, path: str | None = None) -> list[float]:
    """Arrival times (emulator clock) of the requests the emulator answered without a 429."""
    return [
        e.at
        for e in fake.journal.entries
        if e.status != 429 and (path is None or e.path == f"/v1{path}")
    ]


def rate(times: list[float]) -> float:
    return (len(times) - 1) / (max(times) - min(times))


async def test_three_processes_on_one_redis_store_keep_to_the_key(
    redis_server: RedisServer, report: Any
) -> None:
    """3 processes sharing one RedisRateStore, each told 39/s: no 429, no one-second window over 40
    at the server, and together at least 90% of it."""
    async with FakeRefiner(seed=16, responses=10, rate_limit=LIMIT, rate_burst=BURST) as fake:
        worker = {"rate": TOLD, "path": "/account", "redis_url": redis_server.url}
        _, results = await fleet(fake, [worker] * 3, 3.0)
        stats = fake.stats()
    times = answered(fake)
    report(
        "fleet 3 on redis",
        requests=stats["requests_total"],
        responses_429=stats["responses_429"],
        peak_rps=stats["peak_rps"],
        aggregate_of_limit=round(rate(times) / LIMIT, 3),
        per_worker=[r["outcomes"].get("ok", 0) for r in results],
    )
    assert stats["responses_429"] == 0
    assert stats["peak_rps"] <= LIMIT
    assert rate(times) >= 0.9 * LIMIT
    assert all(r["store"]["failures"] == 0 and not r["untyped"] for r in results)


async def test_three_processes_each_on_its_own_limiter_meet_429s(report: Any) -> None:
    """The problem the shared store solves: 3 processes each limiting itself to the key's rate send
    about three times too much and are refused."""
    async with FakeRefiner(seed=16, responses=10, rate_limit=LIMIT, rate_burst=BURST) as fake:
        worker = {"rate": LIMIT, "path": "/account"}
        _, results = await fleet(fake, [worker] * 3, 3.0)
        stats = fake.stats()
    report(
        "fleet 3 in-process only",
        requests=stats["requests_total"],
        responses_429=stats["responses_429"],
        peak_rps=stats["peak_rps"],
        client_429s=sum(r["rate_limited"] for r in results),
    )
    assert stats["responses_429"] > 0
    assert sum(r["rate_limited"] for r in results) == stats["responses_429"]


async def test_a_budget_split_between_bulk_and_interactive(
    redis_server: RedisServer, report: Any
) -> None:
    """Two bulk processes with rate_share=0.75 and one interactive process on one store (told 39/s):
    the bulk pair keeps within 75% of it in every second, the interactive one gets the rest, no
    429."""
    async with FakeRefiner(seed=16, responses=10, rate_limit=LIMIT, rate_burst=BURST) as fake:
        common = {"rate": TOLD, "redis_url": redis_server.url}
        bulk = {**common, "path": "/forms", "share": 0.75}
        interactive = {**common, "path": "/account"}
        await fleet(fake, [bulk, bulk, interactive], 3.0)
        stats = fake.stats()
    bulk_times, interactive_times = answered(fake, "/forms"), answered(fake, "/account")
    report(
        "fleet split 0.75",
        responses_429=stats["responses_429"],
        bulk_peak=max_in_window(bulk_times, 1.0),
        bulk_of_limit=round(rate(bulk_times) / LIMIT, 3),
        interactive_of_limit=round(rate(interactive_times) / LIMIT, 3),
        peak_rps=stats["peak_rps"],
    )
    assert stats["responses_429"] == 0
    assert max_in_window(bulk_times, 1.0) <= 0.75 * TOLD
    assert rate(interactive_times) >= 0.2 * LIMIT
    assert stats["peak_rps"] <= LIMIT


async def test_a_429_in_one_process_pauses_all_three(
    redis_server: RedisServer, report: Any
) -> None:
    """A 429 with Retry-After 2 answered to one process: during those 2 s the emulator sees no more
    requests than the fleet had in flight or already granted (12), where the other two processes
    alone would send about 50."""
    async with FakeRefiner(seed=16, responses=10, rate_limit=LIMIT, rate_burst=BURST) as fake:
        worker = {"rate": TOLD, "path": "/account", "redis_url": redis_server.url, "tasks": 4}
        run = asyncio.ensure_future(fleet(fake, [worker] * 3, 4.0))
        start_at = time.time() + STARTUP
        await asyncio.sleep(start_at + 1.0 - time.time())
        fake.faults.add("429", path="/account", times=1, retry_after=2)
        _, results = await run
    refused = [e.at for e in fake.journal.entries if e.fault == "429"]
    assert len(refused) == 1
    during = [t for t in answered(fake) if refused[0] < t < refused[0] + 2.0]
    report(
        "fleet forced 429",
        arrivals_during_pause=len(during),
        fleet_in_flight=12,
        rate_limited=[r["rate_limited"] for r in results],
    )
    assert len(during) <= 12
    assert sum(r["rate_limited"] for r in results) == 1


async def test_redis_stopping_mid_run_is_survived(redis_server: RedisServer, report: Any) -> None:
    """Redis hangs (SIGSTOP) for 1 s, then is killed and started again, mid-run: no worker crashes,
    calls go on in-process within the call timeout with one WARNING per outage, errors are typed
    only, and every worker uses Redis again once it is back."""
    async with FakeRefiner(seed=16, responses=10, rate_limit=LIMIT, rate_burst=BURST) as fake:
        worker = {
            "rate": LIMIT,
            "path": "/account",
            "redis_url": redis_server.url,
            "call_timeout": 0.1,
            "circuit_seconds": 0.5,
        }
        run = asyncio.ensure_future(fleet(fake, [worker] * 3, 5.0))
        start_at = time.time() + STARTUP
        await asyncio.sleep(start_at + 1.0 - time.time())
        redis_server.freeze()
        await asyncio.sleep(1.0)
        await asyncio.to_thread(redis_server.stop)
        await asyncio.sleep(0.5)
        await asyncio.to_thread(redis_server.start)
        _, results = await run
    report(
        "fleet redis stopped",
        stores=[r["store"] for r in results],
        warnings=[len(r["warnings"]) for r in results],
        outcomes=[r["outcomes"] for r in results],
    )
    for r in results:
        assert r["untyped"] == []
        assert r["store"]["failures"] >= 1
        assert r["store"]["fallback_calls"] >= 1
        assert r["store"]["recoveries"] >= 1  # Redis used again after it came back
        assert len(r["warnings"]) == 1  # one WARNING for the one outage, however many failures
        assert r["outcomes"].get("ok", 0) > 0
