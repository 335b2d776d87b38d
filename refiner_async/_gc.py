"""A pause of the cyclic garbage collector around allocation bursts that create no cycles.

Decoding a 1 MB page and structuring its 1,000 items allocate tens of thousands of containers; with
the collector running, each page triggers several collections (a full one can take tens of
milliseconds once the heap is large). JSON values and the models built from them hold no reference
cycles, so nothing is lost by collecting after the burst instead of during it.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["gc_paused"]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block (restored as it was, even on error)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
