"""The README's per-call options example runs as written (against FakeRefiner)."""

from __future__ import annotations

import pytest

from ..conftest import readme_example


def test_readme_options_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """The example prints a form name, a raw 200, a 404 with its headers, and 4 requests."""
    code = readme_example("### Per-call options, plain dicts, raw replies and unwrapped endpoints")
    exec(compile(code, "<README per-call options example>", "exec"), {"__name__": "readme"})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert lines[1].startswith("2 200 application/json ")
    assert lines[2].startswith("404 application/json")
    assert lines[3] == "4"
