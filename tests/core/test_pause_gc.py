"""The collector pause is a choice: off for a client by default, on with ``pause_gc=True``, and on
for ``export()`` whatever the client it is given."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Generator
from pathlib import Path

import pytest

from refiner_async import ConfigurationError, RefinerClient, export
from refiner_async import _decoding as codec_module
from refiner_async._decoding import Decoding
from refiner_async._http import RawResponse
from refiner_async.testing import FakeRefiner
from tests.conftest import connect_to


@pytest.mark.fake_refiner(responses=30)
async def test_the_collector_is_paused_only_where_asked(
    fake_refiner: FakeRefiner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A default client decodes with the collector on; ``with_options(pause_gc=True)`` and
    ``export()`` decode with it off; afterwards it is on."""
    seen: list[tuple[str, bool]] = []
    decode = codec_module.json_value

    def watched(raw: RawResponse) -> object:
        seen.append((raw.path, gc.isenabled()))
        return decode(raw)

    monkeypatch.setattr(codec_module, "json_value", watched)
    async with connect_to(fake_refiner) as client:
        await client.account.get()
        await client.with_options(pause_gc=True).account.get()
        await client.responses.list(include="all").collect()
        await export(client, "responses", tmp_path / "r.jsonl", include="all")
    assert seen == [
        ("/account", True),
        ("/account", False),
        ("/responses", True),
        ("/responses", False),
    ]
    assert gc.isenabled()


def test_pause_gc_must_be_a_bool(api_key: str) -> None:
    """``pause_gc`` is True or False, named in the error otherwise."""
    with pytest.raises(ConfigurationError, match="pause_gc"):
        RefinerClient(api_key, pause_gc="yes")  # type: ignore[arg-type]
    client = RefinerClient(api_key)
    with pytest.raises(ConfigurationError, match="pause_gc"):
        client.with_options(pause_gc=1)  # type: ignore[arg-type]


async def test_work_in_steps_takes_a_loop_pass_per_step_with_the_collector_paused_in_each() -> None:
    """``run_steps``: each step in a loop pass of its own, the collector paused during each one and
    on between them and after; a step that fails ends the work with its error."""
    ticks = 0  # loop passes, counted by a task taking one step per pass
    between: list[bool] = []  # the collector's state seen by the ticking task

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            between.append(gc.isenabled())
            await asyncio.sleep(0)

    seen: list[tuple[int, bool]] = []  # (loop pass, collector on) per step

    def steps(fail: bool = False) -> Generator[None, None, str]:
        for _ in range(3):
            seen.append((ticks, gc.isenabled()))
            yield
        if fail:
            raise ValueError("does not fit")
        seen.append((ticks, gc.isenabled()))
        return "built"

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    try:
        assert await Decoding(pause_gc=True).run_steps(steps) == "built"
        assert [on for _, on in seen] == [False] * 4
        assert len({at for at, _ in seen}) == 4  # never two steps in one pass
        with pytest.raises(ValueError, match="does not fit"):
            await Decoding(pause_gc=True).run_steps(lambda: steps(fail=True))
    finally:
        ticker.cancel()
    assert all(between)
    assert gc.isenabled()
