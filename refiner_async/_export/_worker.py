"""The export's file thread: writes, fsyncs and conversions run off the event loop, one at a time.

Each export owns one worker thread (a single-thread executor), so its file work keeps its order and
never waits behind, or crowds, the host application's default executor. A cancellation (Ctrl-C, a
cancelled task, a timeout) arriving while a step runs waits for that step to end before it goes on:
a page is written and checkpointed whole or not at all, as when the step ran on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["FileThread"]

T = TypeVar("T")


class FileThread:
    """One worker thread for one export's file work; :meth:`close` lets it end."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="refiner-export")

    async def run(self, step: Callable[..., T], *args: Any) -> T:
        """``step(*args)`` in the thread; its result, or its exception.

        When the awaiting task is cancelled meanwhile, the step still runs to its end (its files
        are left whole), and then the cancellation is raised.
        """
        future = asyncio.get_running_loop().run_in_executor(self._executor, step, *args)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            while not future.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait([future])
            if not future.cancelled():
                future.exception()  # retrieved: the cancellation is what goes on
            raise

    def close(self) -> None:
        """Let the thread end once idle (every step has been awaited, so it already is)."""
        self._executor.shutdown(wait=False)
