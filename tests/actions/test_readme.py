"""The README's agent-tools example runs as written (against FakeRefiner)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def _agent_tools_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Agent tools", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None
    return match.group(1)


def test_readme_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """The first example of the section lists the tools and runs actions without error."""
    code = _agent_tools_example()
    exec(compile(code, "<README agent-tools example>", "exec"), {"__name__": "readme_example"})
    out = capsys.readouterr().out
    assert "REFINER_UPDATE_CONTACT" in out
    assert "invalid parameter page_length" in out
