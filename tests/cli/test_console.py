"""The ``refiner-async`` script without the ``cli`` extra: one line naming the extra, exit 1."""

from __future__ import annotations

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
    with pytest.raises(SystemExit) as exited:
        _console.main(["--version"])
    assert exited.value.code == 0
    assert "refiner-async, version" in capsys.readouterr().out
