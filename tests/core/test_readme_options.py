"""The README's per-call options example runs as written (against FakeRefiner)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "### Per-call options, plain dicts, raw answers and unwrapped endpoints"


def _example() -> str:
    section = README.read_text(encoding="utf-8").split(SECTION, 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None
    return match.group(1)


def test_readme_options_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """The example prints a form name, a raw 200, a 404 with its headers, and 4 requests."""
    code = _example()
    exec(compile(code, "<README per-call options example>", "exec"), {"__name__": "readme"})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert lines[1].startswith("2 200 application/json ")
    assert lines[2].startswith("404 application/json")
    assert lines[3] == "4"
