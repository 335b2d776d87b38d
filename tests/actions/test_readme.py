"""The README's agent-tools example runs as written (against FakeRefiner)."""

from __future__ import annotations

import pytest

from ..conftest import readme_example


def test_readme_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """The first example of the section lists the tools and runs actions without error."""
    code = readme_example("## Agent tools")
    exec(compile(code, "<README agent-tools example>", "exec"), {"__name__": "readme_example"})
    out = capsys.readouterr().out
    assert "REFINER_UPDATE_CONTACT" in out
    assert "invalid parameter page_length" in out
