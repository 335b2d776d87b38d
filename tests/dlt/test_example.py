"""examples/refiner_to_duckdb.py runs with one command against the embedded emulator."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("options", [[], ["--arrow"]], ids=["dicts", "arrow"])
def test_the_example_pipeline_loads_and_prints_row_counts(
    tmp_path: Path, options: list[str]
) -> None:
    """The example loads twice into DuckDB and prints each table's rows; the second load adds the
    100 new responses and nothing else (with pages of dicts, and with Arrow tables)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SOURCES__REFINER__API_KEY", None)
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "refiner_to_duckdb.py"), "--responses", "400",
         "--dir", str(tmp_path), *options],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = re.findall(r"load in [\d.]+ s: responses ([\d,]+), contacts ([\d,]+)", done.stdout)
    assert len(found) == 2
    (first, contacts), (second, contacts_again) = found
    assert int(second.replace(",", "")) == int(first.replace(",", "")) + 100
    assert contacts == contacts_again
    assert (tmp_path / "warehouse.duckdb").exists()
