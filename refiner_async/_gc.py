"""A pause of the cyclic garbage collector around allocation bursts that create no cycles.

Decoding a 1 MB page and structuring its 1,000 items allocate tens of thousands of containers; with
the collector running, each page triggers several collections (a full one can take tens of
milliseconds once the heap is large). JSON values and the models built from them hold no reference
cycles, so nothing is lost by collecting after the burst instead of during it.

The collector is process-wide, so the pause is taken only where it was asked for (a client made
with ``pause_gc=True``: ``export()`` and the command line), and it never turns on a collector that
was off when the outermost pause began: pauses nest (counted), and the last one to end restores the
state the first one found.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

__all__ = ["gc_paused"]

_lock = threading.Lock()
_depth = 0  # pauses under way, in every thread
_was_enabled = False  # the collector's state when the outermost pause began


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block; the outermost block restores the state it
    found (so a collector the application had disabled stays disabled), even on error."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
