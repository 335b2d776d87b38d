"""Helpers for the export tests: reading an export back in each format."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

Rows = Callable[[Path, str], list[dict[str, Any]]]


def read_rows(path: Path, fmt: str) -> list[dict[str, Any]]:
    """The rows of an export: JSON objects for JSONL, dicts of text for CSV, Python values for Parquet."""
    if fmt == "jsonl":
        return [orjson.loads(line) for line in path.read_bytes().splitlines()]
    if fmt == "csv":
        with open(path, newline="", encoding="utf-8") as file:
            return list(csv.DictReader(file))
    rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    return rows


def by_uuid(path: Path, fmt: str) -> dict[str, dict[str, Any]]:
    """The rows of an export by uuid, each uuid once (an export read in date windows writes pages
    in the order they arrive, so two exports of the same data hold the same rows in any order)."""
    found = read_rows(path, fmt)
    keyed = {str(row["uuid"]): row for row in found}
    assert len(keyed) == len(found), "a row was written twice"
    return keyed


@pytest.fixture
def rows() -> Rows:
    return read_rows
