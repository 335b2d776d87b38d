"""Event-loop lag while 1000-item pages are decoded and structured (T21).

The emulator runs in a subprocess, so the heartbeat measures only the SDK's own work on the loop:
reading each ~1 MB page, ``orjson.loads`` and structuring 1000 Response models. orjson and the
converter hold the GIL, so offloading them to a thread would not free the loop much; the figure
says whether that is needed at all.
"""

from __future__ import annotations

import asyncio
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
    """A heartbeat every 10 ms stays on time (p99 lag < 50 ms) while 20 pages of 1000 are listed."""
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

    lags: list[float] = []
    stop = asyncio.Event()

    async def heartbeat() -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            due = loop.time() + BEAT
            await asyncio.sleep(BEAT)
            lags.append(max(0.0, loop.time() - due) * 1000)

    async with RefinerClient(key, base_url=base_url, rate_limit=None) as client:
        await client.account.get()  # connect first: the lag of interest is the listing's
        beating = asyncio.create_task(heartbeat())
        started = time.monotonic()
        count = 0
        async for _ in client.responses.list(include="all", page_length=1000):
            count += 1
        elapsed = time.monotonic() - started
        stop.set()
        await beating
    p99 = percentile(lags, 0.99)
    report(
        "T21 loop lag",
        items=count,
        pages=len(structure_ms),
        page_kb=round(sum(page_bytes[1:]) / max(1, len(page_bytes) - 1) / 1024),
        decode_ms_per_page=round(sum(decode_ms[1:]) / max(1, len(decode_ms) - 1), 1),
        structure_ms_per_page=round(sum(structure_ms) / len(structure_ms), 1),
        loop_lag_p99_ms=round(p99, 1),
        loop_lag_max_ms=round(max(lags), 1),
        seconds=round(elapsed, 2),
    )
    assert count == 20_000
    assert p99 < LAG_P99_LIMIT_MS, (
        f"p99 loop lag {p99:.1f} ms is {p99 - LAG_P99_LIMIT_MS:.1f} ms over"
    )
