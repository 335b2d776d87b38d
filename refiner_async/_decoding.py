"""How one client decodes a 2xx body on the event loop's thread.

- :func:`json_value`: the body's JSON (``None`` for an empty body), or ``ResponseDecodeError``.
- :class:`Decoding`: bodies are decoded one at a time, each in a turn of its own (replies that
  arrive together are decoded in turn, with timers and other tasks running in between; a page of
  models is built in steps, each a loop pass of its own), and with the cyclic collector paused
  only when the client was made with ``pause_gc=True`` (see :mod:`._gc`).

Page codecs (models, converters) live in :mod:`._codec`, imported on the first list call.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Generator
from typing import Any, TypeVar

import orjson

from . import errors
from ._gc import gc_paused
from ._http import RawResponse

__all__ = ["Decoding", "json_value"]

T = TypeVar("T")


def json_value(raw: RawResponse) -> Any:
    """orjson-decode a 2xx body; an empty body is ``None``."""
    body = raw.body
    if not body.strip():
        return None
    try:
        return orjson.loads(body)
    except (ValueError, RecursionError) as exc:
        problem = str(exc)
    # Raised here, outside the except clause, so that orjson's error (whose .doc holds the whole
    # body, which may echo the key) is neither the cause nor the context.
    kind = raw.headers.get("Content-Type", "").split(";")[0] or "no content type"
    raise errors.ResponseDecodeError(
        f"response is not valid JSON ({kind}, {len(body)} bytes): {problem}",
        method=raw.method,
        path=raw.path,
        status=raw.status,
    )


class Decoding:
    """How one client (and the clients ``with_options`` derives from it) runs its decodes."""

    def __init__(self, *, pause_gc: bool = False, turn: asyncio.Lock | None = None) -> None:
        self.pause_gc = pause_gc  # pause the cyclic collector while decoding
        self._turn = turn or asyncio.Lock()  # one body decoded at a time

    def derive(self, *, pause_gc: bool) -> Decoding:
        """The same turn, with its own collector setting."""
        return Decoding(pause_gc=pause_gc, turn=self._turn)

    async def run(self, work: Callable[[], T]) -> T:
        """``work()`` (CPU work on a body) in this client's decoding turn."""
        async with self._turn:
            with self._paused():
                return work()

    async def run_steps(self, steps: Callable[[], Generator[None, None, T]]) -> T:
        """What ``steps()`` returns: CPU work on a body, a generator of steps, run in this client's
        decoding turn with a loop pass between two steps (timers and other tasks run meanwhile).
        The collector is paused, when asked, during each step and not between them."""
        async with self._turn:
            work = steps()
            try:
                while True:
                    with self._paused():
                        next(work)
                    await asyncio.sleep(0)
            except StopIteration as done:
                result: T = done.value
                return result
            finally:
                work.close()

    def _paused(self) -> contextlib.AbstractContextManager[None]:
        """The collector paused, if this client asked for it."""
        return gc_paused() if self.pause_gc else contextlib.nullcontext()

    async def json(self, raw: RawResponse) -> Any:
        """A :data:`Decode`: the body's JSON."""
        return await self.run(lambda: json_value(raw))
