"""Closed sets of values are Literal types: a type checker refuses a value outside them, and the
SDK refuses it at run time too (for untyped callers), before anything is sent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from refiner_async import InvalidParameterError, RefinerClient

CALLS = """
from refiner_async import RefinerClient

async def main(client: RefinerClient) -> None:
    client.responses.list(include="partials", pagination="pages")
    client.contacts.list(order_by="last_seen_at")
    client.forms.list(state="published")
    await client.reporting.get("nps")
    client.responses.list(include="everything")  # line 9
    client.responses.list(pagination="fast")  # line 10
    client.contacts.list(order_by="name")  # line 11
    client.forms.list(state="live")  # line 12
    await client.reporting.get("median")  # line 13
"""


def test_mypy_refuses_values_outside_the_sets(tmp_path: Path) -> None:
    (tmp_path / "calls.py").write_text(CALLS, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / ".cache"),
         str(tmp_path / "calls.py")],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    lines = sorted(
        int(line.split(":")[1]) for line in done.stdout.splitlines() if ": error:" in line
    )
    assert lines == [9, 10, 11, 12, 13], done.stdout


async def test_an_untyped_caller_is_refused_before_sending() -> None:
    async with RefinerClient("k" * 20, base_url="http://127.0.0.1:9/v1") as client:
        with pytest.raises(InvalidParameterError, match="include"):
            client.responses.list(include="everything")  # type: ignore[arg-type]
        assert client.stats.attempts == 0
