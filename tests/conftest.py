"""Fixtures shared by every test directory."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any, TypeVar

import aiohttp
import aioresponses.core
import pytest

from refiner_async._retry import instant_retries

T = TypeVar("T")

if "stream_writer" in inspect.signature(aiohttp.ClientResponse.__init__).parameters:
    # aiohttp 3.14 made ClientResponse require a stream_writer that aioresponses (0.7.9) does not
    # pass; give its canned responses a finished writer so they build as before.

    class _CannedResponse(aiohttp.ClientResponse):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
            super().__init__(*args, **kwargs)

    aioresponses.core.ClientResponse = _CannedResponse  # type: ignore[misc]

API_KEY = "0123456789abcdef0123456789abcdef01234567"  # 40 hex characters, shaped like a real key


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock jumps straight to the next timer when nothing is ready to run.

    Sleeps and timers cost no wall time, so rate limits and backoff can be checked to the millisecond.
    Only for code without real I/O.
    """

    def __init__(self) -> None:
        super().__init__()
        self._virtual_now = 0.0

    def time(self) -> float:
        return self._virtual_now

    def _run_once(self) -> None:
        ready: Any = self._ready  # type: ignore[attr-defined]
        scheduled: Any = self._scheduled  # type: ignore[attr-defined]
        if not ready and scheduled:
            when = min((h.when() for h in scheduled if not h.cancelled()), default=None)
            if when is not None:
                # Always move forward a little, so that timers re-armed for "now" by float
                # rounding (as a leaky bucket does) see time pass, as they would on a real clock.
                self._virtual_now = max(when, self._virtual_now + 1e-6)
        super()._run_once()  # type: ignore[misc]


@pytest.fixture
def run_virtual() -> Iterator[Callable[[Any], Any]]:
    """Run a coroutine to completion on a fresh virtual-clock loop."""
    loop = VirtualClockLoop()

    def run(coro: Any) -> Any:
        return loop.run_until_complete(coro)

    yield run
    loop.close()


@pytest.fixture
def instant() -> Iterator[None]:
    """Retry waits become zero for the duration of the test."""
    with instant_retries():
        yield


@pytest.fixture
def api_key() -> str:
    return API_KEY


def max_in_window(times: list[float], width: float) -> int:
    """The most events inside any half-open window of ``width`` seconds."""
    ordered = sorted(times)
    best = lo = 0
    for hi, t in enumerate(ordered):
        while t - ordered[lo] >= width:
            lo += 1
        best = max(best, hi - lo + 1)
    return best
