"""Event-loop lag while 1000-item pages are decoded and structured (T21).

The emulator runs in a subprocess, so the heartbeat measures only the SDK's own work on the loop:
reading each ~1 MB page, ``orjson.loads`` and structuring 1000 Response models. The SDK pauses the
cyclic collector while it decodes and structures a page (nothing it builds there can form a cycle),
and the paginator gives the loop a turn between pages that arrived together. Full collections are
reported separately: one holds the GIL for its whole length (tens of ms in a process this size),
whoever triggers it. (An application that calls ``gc.freeze()`` after start-up keeps them short.)
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from refiner_async import RefinerClient
from refiner_async import _http as http_module
from refiner_async.resources import _base as resources_base

LAG_P99_LIMIT_MS = 50.0
BEAT = 0.01  # seconds between heartbeats
PASSES = 2  # listings of the 20,000 responses


class Collections:
    """When each full (generation 2) garbage collection ran, on the perf_counter clock.

    A full collection holds the GIL for its whole length, whichever thread triggers it, and its
    length depends on every object in the process, not on the SDK's work.
    """

    def __init__(self) -> None:
        self.full: list[tuple[float, float]] = []
        self._started = 0.0

    def record(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.full.append((self._started, time.perf_counter()))

    def overlaps(self, begin: float, end: float) -> bool:
        return any(start < end and begin < stop for start, stop in self.full)

    def longest_ms(self) -> float:
        return max(((stop - start) * 1000 for start, stop in self.full), default=0.0)


@pytest.fixture
async def emulator_process() -> AsyncIterator[tuple[str, str]]:
    """A FakeRefiner with 20,000 responses in its own process: (base_url, api_key)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "refiner_async.testing",
        "--port",
        "0",
        "--seed",
        "21",
        "--responses",
        "20000",
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        serving = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().split()
        key = (await asyncio.wait_for(process.stdout.readline(), 5)).decode().split()
        assert serving[:2] == ["FakeRefiner", "serving"]
        yield serving[2], key[1]
    finally:
        process.terminate()
        await process.wait()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def test_t21_loop_lag_while_decoding_1000_item_pages(
    emulator_process: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    report: Callable[..., str],
) -> None:
    """A heartbeat every 10 ms stays on time (p99 lag < 50 ms) while 1000-item pages are listed."""
    base_url, key = emulator_process
    decode_ms: list[float] = []
    structure_ms: list[float] = []
    page_bytes: list[int] = []
    decode = http_module._decode
    structure_page = resources_base.structure_page

    def timed_decode(raw: bytes, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return decode(raw, *args, **kwargs)
        finally:
            decode_ms.append((time.perf_counter() - started) * 1000)
            page_bytes.append(len(raw))

    def timed_structure(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return structure_page(*args, **kwargs)
        finally:
            structure_ms.append((time.perf_counter() - started) * 1000)

    monkeypatch.setattr(http_module, "_decode", timed_decode)
    monkeypatch.setattr(resources_base, "structure_page", timed_structure)

    beats: list[tuple[float, float]] = []  # (due, woke) of each heartbeat, perf_counter clock
    stop = asyncio.Event()
    collections = Collections()

    async def heartbeat() -> None:
        while not stop.is_set():
            due = time.perf_counter() + BEAT
            await asyncio.sleep(BEAT)
            beats.append((due, time.perf_counter()))

    async with RefinerClient(key, base_url=base_url, rate_limit=None) as client:
        await client.account.get()  # connect first: the lag of interest is the listing's
        gc.collect()  # start from a clean heap: earlier tests' garbage is not the SDK's
        gc.callbacks.append(collections.record)
        beating = asyncio.create_task(heartbeat())
        started = time.monotonic()
        count = 0
        for _ in range(PASSES):
            async for _ in client.responses.list(include="all", page_length=1000):
                count += 1
        elapsed = time.monotonic() - started
        stop.set()
        await beating
        gc.callbacks.remove(collections.record)
    lags = [max(0.0, woke - due) * 1000 for due, woke in beats]
    p99 = percentile(lags, 0.99)
    sdk_lags = [
        max(0.0, woke - due) * 1000
        for due, woke in beats
        if not collections.overlaps(due - BEAT, woke)
    ]
    report(
        "T21 loop lag",
        items=count,
        pages=len(structure_ms),
        heartbeats=len(beats),
        page_kb=round(sum(page_bytes[1:]) / max(1, len(page_bytes) - 1) / 1024),
        decode_ms_per_page=round(sum(decode_ms[1:]) / max(1, len(decode_ms) - 1), 1),
        structure_ms_per_page=round(sum(structure_ms) / len(structure_ms), 1),
        loop_lag_p99_ms=round(p99, 1),
        loop_lag_max_ms=round(max(lags), 1),
        full_collections=len(collections.full),
        full_collection_max_ms=round(collections.longest_ms(), 1),
        loop_lag_p99_outside_collections_ms=round(percentile(sdk_lags, 0.99), 1),
        seconds=round(elapsed, 2),
    )
    assert count == PASSES * 20_000
    assert p99 < LAG_P99_LIMIT_MS, (
        f"p99 loop lag {p99:.1f} ms is {p99 - LAG_P99_LIMIT_MS:.1f} ms over"
    )
