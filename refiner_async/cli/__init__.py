"""The ``refiner-async`` command: ``export``, ``sync``, ``demo`` and ``emulator`` (needs the ``cli`` extra).

Errors a person can act on (no API key, a bad flag, an output that exists, a refused key, a file
that cannot be written) print one line and exit non-zero: 2 for usage, 1 for the rest, 130 when
interrupted. ``--debug`` shows the SDK's log and the full traceback instead.
"""

from __future__ import annotations

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
    """The console script ``refiner-async``."""
    cli.main(args=argv, prog_name="refiner-async")
