"""The ``refiner-async`` command: ``export``, ``sync``, ``demo`` and ``emulator`` (needs the ``cli`` extra).

Errors a person can act on (no API key, a bad flag, an output that exists, a refused key, a file
that cannot be written) print one line and exit non-zero: 2 for usage, 1 for the rest, 130 when
interrupted. ``--debug`` shows the SDK's log and the full traceback instead.

The console script's process is the command's own, so :func:`main` sets its collector policy (the
library never does): the objects the imports made live as long as the process, and are set aside
from the cyclic collector (``gc.freeze()``). A long export's full collections then walk only what
it allocated, not the ~40,000 objects of its imports (tens of milliseconds each on a slow core).
"""

from __future__ import annotations

import gc
from collections.abc import Sequence

# Each command registers itself on the group when its module is imported.
from ._base import base_url_hint, cli
from ._demo_command import demo
from ._emulator_command import emulator
from ._export_command import export_command
from ._progress import progress_reporter
from ._sync_command import sync_command

__all__ = [
    "base_url_hint",
    "cli",
    "demo",
    "emulator",
    "export_command",
    "main",
    "progress_reporter",
    "sync_command",
]


def main(argv: Sequence[str] | None = None) -> None:
    """The console script ``refiner-async``, its imports set aside from the cyclic collector."""
    gc.freeze()
    cli.main(args=argv, prog_name="refiner-async")
