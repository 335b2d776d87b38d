"""CPU-heavy work kept off the event loop: one worker thread, shared by every client.

Large answers are decoded (orjson) and structured (the converter) here, so other tasks on the loop
keep running meanwhile. Both hold the GIL, so more threads would not go faster; they would only make
the loop's thread wait longer for its turn (every runnable thread may keep the GIL for a switch
interval, 5 ms). With one worker the loop waits about one interval at a time.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["off_loop"]

R = TypeVar("R")

_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="refiner-async-decode")


async def off_loop(function: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
    """``function(*args, **kwargs)`` run in the worker thread; its result or exception."""
    call = functools.partial(function, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_worker, call)
