"""Client lifecycle (T20): many clients opened and closed, one left open, one used from two loops."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import pytest

from refiner_async.testing import FakeRefiner


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc")
async def test_t20_200_clients_leave_nothing_behind(
    connect: Callable[..., Any], report: Callable[..., str]
) -> None:
    """200 clients, each making a call and closed by ``async with``: no warning, fds and memory flat."""
    async with FakeRefiner(seed=20, responses=50) as fake:
        async with connect(fake) as warm:  # imports, caches and the first hooks are not a leak
            await warm.account.get()
        gc.collect()
        fds_before = open_fds()
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(200):
                async with connect(fake) as client:
                    await client.account.get()
            gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        growth = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
        fds_after = open_fds()
    report(
        "T20 200 clients",
        unclosed_warnings=len(caught),
        fd_delta=fds_after - fds_before,
        memory_delta_kb=round(growth / 1024),
    )
    assert [str(w.message) for w in caught] == []
    assert fds_after - fds_before <= 0
    assert growth < 1024 * 1024


async def test_t20_a_client_never_closed_warns(connect: Callable[..., Any]) -> None:
    """A client dropped with its session open raises the SDK's own ResourceWarning."""
    async with FakeRefiner(seed=20, responses=50) as fake:
        client = connect(fake)
        await client.account.get()
        session = client._core.shared.session
        assert session is not None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            del client
            gc.collect()
        await session.close()  # what the unclosed client left behind, so the emulator can stop
    ours = [w for w in caught if "RefinerClient was not closed" in str(w.message)]
    assert len(ours) == 1
    assert issubclass(ours[0].category, ResourceWarning)


async def test_t20_one_client_in_two_event_loops_fails_clearly(connect: Callable[..., Any]) -> None:
    """A client first used in one loop and then in another raises a clear RuntimeError."""
    async with FakeRefiner(seed=20, responses=50) as fake, connect(fake) as client:
        await client.account.get()
        raised: list[BaseException] = []

        def other_loop() -> None:
            try:
                asyncio.run(client.account.get())
            except BaseException as error:
                raised.append(error)

        thread = threading.Thread(target=other_loop)
        thread.start()
        await asyncio.to_thread(thread.join)
        await client.account.get()  # still fine in its own loop
    assert len(raised) == 1
    assert isinstance(raised[0], RuntimeError)
    assert "another event loop" in str(raised[0])
