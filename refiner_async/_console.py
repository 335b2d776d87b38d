"""The ``refiner-async`` console script: the command line when the ``cli`` extra is installed, and
otherwise one line saying how to get it (never a traceback)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["main", "missing"]

#: What the command line needs beyond the SDK itself: the ``cli`` extra.
CLI_MODULES = ("click", "rich")
INSTALL = "pip install 'refiner-async[cli]'"


def missing(find: Callable[[str], Any] = importlib.util.find_spec) -> list[str]:
    """The modules of the ``cli`` extra that cannot be imported."""
    return [name for name in CLI_MODULES if find(name) is None]


def main(argv: Sequence[str] | None = None) -> None:
    """Run ``refiner-async``, or exit 1 with one line naming the extra to install."""
    absent = missing()
    if absent:
        sys.exit(f"refiner-async: the command line needs {' and '.join(absent)}: {INSTALL}")
    from .cli import main as cli_main

    cli_main(argv)
