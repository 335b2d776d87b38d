"""One worker process of a fleet sharing an API key: its own RefinerClient, optionally on a shared
RedisRateStore, calling one path in a loop from ``tasks`` tasks for ``seconds`` from ``start_at``
(wall clock, so that the fleet starts together). Prints a JSON summary on stdout.

Run by the fleet tests (tests/reliability/test_fleet.py) and the fleet benchmark:
``python tests/fleet_worker.py '<json settings>'``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections import Counter
from typing import Any

import attrs

from refiner_async import RefinerClient, RefinerError
from refiner_async.ratelimit import RedisRateStore


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def run(settings: dict[str, Any]) -> dict[str, Any]:
    warnings = _Warnings()
    logging.getLogger("refiner_async").addHandler(warnings)
    store = None
    if settings.get("redis_url"):
        store = RedisRateStore.from_url(
            settings["redis_url"],
            call_timeout=settings.get("call_timeout", 0.25),
            circuit_seconds=settings.get("circuit_seconds", 10.0),
        )
    outcomes: Counter[str] = Counter()
    untyped: list[str] = []
    store_seconds: list[float] = []  # how long each reservation took (for the benchmark)
    tasks = settings.get("tasks", 4)
    async with RefinerClient(
        settings["api_key"],
        base_url=settings["base_url"],
        rate_limit=settings["rate"],
        rate_store=store,
        rate_share=settings.get("share", 1.0),
        max_concurrency=tasks,
        per_user_rate_limit=None,
        max_retries=settings.get("max_retries", 4),
    ) as client:
        if store is not None and settings.get("time_store"):
            reserve = store.reserve

            async def timed(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await reserve(*args, **kwargs)
                finally:
                    store_seconds.append(time.perf_counter() - started)

            store.reserve = timed  # type: ignore[method-assign]
        await asyncio.sleep(max(0.0, settings["start_at"] - time.time()))
        stop_at = settings["start_at"] + settings["seconds"]
        cpu_started = time.process_time()

        async def loop() -> None:
            while time.time() < stop_at:
                try:
                    await client.get(settings["path"])
                    outcomes["ok"] += 1
                except RefinerError as error:
                    outcomes[type(error).__name__] += 1
                except Exception as error:  # anything untyped is a finding
                    untyped.append(repr(error))

        await asyncio.gather(*(loop() for _ in range(tasks)))
        cpu = time.process_time() - cpu_started
        stats = client.stats
    if store is not None:
        await store.aclose()
    return {
        "outcomes": dict(outcomes),
        "untyped": untyped,
        "requests": stats.requests,
        "attempts": stats.attempts,
        "rate_limited": stats.rate_limited,
        "store": None if store is None else attrs.asdict(store.stats),
        "warnings": warnings.messages,
        "cpu_seconds": cpu,
        "store_calls": len(store_seconds),
        "store_seconds_median": sorted(store_seconds)[len(store_seconds) // 2]
        if store_seconds
        else 0,
    }


def main() -> None:
    settings = json.loads(sys.argv[1])
    print(json.dumps(asyncio.run(run(settings))))


if __name__ == "__main__":
    main()
