"""The event loop keeps turning while 1000-item pages are decoded and structured (T21).

What keeps a heartbeat on time is a mechanism, and that is what is checked here, by counting loop
passes rather than timing them (the lag itself, in milliseconds, depends on the machine and is
measured in ``benchmarks/memory.py``):

- pages read ahead wait as bytes and are opened one at a time, each in its own loop pass, so that
  timers and other tasks run between two pages' worth of decoding however many arrived together;
- with ``pause_gc=True`` (as ``export()`` and the command line make their clients) the cyclic
  collector is paused while a page is decoded and structured (nothing built there can form a
  cycle) and restored as it was afterwards, on every path (``tests/unit/test_gc.py``).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from typing import Any

import pytest

from refiner_async import RefinerClient
from refiner_async import _decoding as codec_module
from refiner_async import _http as http_module
from refiner_async.testing import FakeRefiner

PAGE = 1000
RESPONSES = 20_000
WINDOW = 8  # pages read ahead: the client's default max_concurrency


class LoopPasses:
    """Counts the event loop's passes: a task that takes one step per pass."""

    def __init__(self) -> None:
        self.count = 0
        self._task: asyncio.Task[None] | None = None

    async def _step(self) -> None:
        while True:
            self.count += 1
            await asyncio.sleep(0)

    def __enter__(self) -> LoopPasses:
        self._task = asyncio.get_running_loop().create_task(self._step())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


@pytest.mark.fake_refiner(responses=RESPONSES, seed=21)
async def test_t21_one_page_opened_per_loop_pass_with_the_collector_paused(
    fake_refiner: FakeRefiner,
    monkeypatch: pytest.MonkeyPatch,
    report: Callable[..., str],
) -> None:
    """Listing 20 pages of 1000 read ahead 8 at a time, the consumer letting 8 arrive before it
    takes the first item: each page is still decoded in a loop pass of its own, with the collector
    off during the decoding and on again after the listing."""
    opened: list[tuple[int, bool, int]] = []  # (loop pass, collector on, bytes) per body decoded
    decode = codec_module.json_value

    def watched_decode(raw: http_module.RawResponse) -> Any:
        opened.append((passes.count, gc.isenabled(), len(raw.body)))
        return decode(raw)

    monkeypatch.setattr(codec_module, "json_value", watched_decode)
    answered = 0
    read_ahead = asyncio.Event()  # the first page and the WINDOW after it have arrived
    request = http_module.HTTPCore.request

    async def counted_request(self: http_module.HTTPCore, *args: Any, **kwargs: Any) -> Any:
        nonlocal answered
        result = await request(self, *args, **kwargs)
        answered += 1
        if answered == 1 + WINDOW:
            read_ahead.set()
        return result

    monkeypatch.setattr(http_module.HTTPCore, "request", counted_request)
    assert gc.isenabled()
    async with RefinerClient(
        fake_refiner.api_key, base_url=fake_refiner.base_url, rate_limit=None, pause_gc=True
    ) as client:
        with LoopPasses() as passes:
            items: list[str] = []
            async for response in client.responses.list(
                include="all", page_length=PAGE, pagination="pages"
            ):
                if not items:  # let every page read ahead arrive before the first is consumed
                    await read_ahead.wait()
                items.append(response.uuid)
    assert gc.isenabled()
    pages = [(at, collector_on) for at, collector_on, size in opened if size > 100_000]
    report(
        "T21 loop turns",
        items=len(items),
        pages=len(pages),
        loop_passes=passes.count,
        most_pages_in_one_pass=max(
            sum(1 for at, _ in pages if at == p) for p in {at for at, _ in pages}
        ),
    )
    assert len(items) == len(set(items)) == RESPONSES
    assert len(pages) == RESPONSES // PAGE
    assert [collector_on for _, collector_on in pages] == [False] * len(pages)
    assert len({at for at, _ in pages}) == len(pages)  # never two pages in one loop pass
