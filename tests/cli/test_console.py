"""The ``refiner-async`` script without the ``cli`` extra: one line naming the extra, exit 1."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from refiner_async import _console

# ``sys.modules[name] = None`` is how Python itself marks a module as not importable.
BLOCK_CLICK = """
import sys
sys.modules["click"] = None
from refiner_async._console import main
main(["export", "--help"])
"""

# The objects alive as the script starts, and how many the collector holds frozen once it has run.
COUNT_FROZEN = """
import atexit, gc
from refiner_async.cli import main
alive = len(gc.get_objects())
atexit.register(lambda: print(alive, gc.get_freeze_count()))
main(["--version"])
"""


def test_missing_names_the_modules_of_the_extra_that_are_absent() -> None:
    """Pure: the ``cli`` extra's modules that ``find`` cannot locate, in order."""
    assert _console.missing(lambda name: None) == ["click", "rich"]
    assert _console.missing(lambda name: None if name == "rich" else object()) == ["rich"]
    assert _console.missing(lambda name: object()) == []


def test_without_click_the_script_prints_one_line_and_exits_1() -> None:
    """In a process where click cannot be imported, the entry point answers in one line."""
    done = subprocess.run(
        [sys.executable, "-c", BLOCK_CLICK], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "refiner-async: the command line needs click: pip install 'refiner-async[cli]'"
    ]


def test_with_the_extra_the_script_runs_the_command_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With click and rich installed the entry point is the command line itself."""
    try:
        with pytest.raises(SystemExit) as exited:
            _console.main(["--version"])
    finally:
        gc.unfreeze()  # the script froze this process's objects: give them back to the collector
    assert exited.value.code == 0
    assert "refiner-async, version" in capsys.readouterr().out


def test_the_script_sets_the_objects_of_its_imports_aside_from_the_collector() -> None:
    """The objects alive when the command starts are frozen (all but the few freed meanwhile): full
    collections skip them."""
    done = subprocess.run(
        [sys.executable, "-c", COUNT_FROZEN], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    alive, frozen = map(int, done.stdout.splitlines()[-1].split())
    assert alive > 10_000
    assert frozen > 0.95 * alive
