"""Fixtures for the dlt tests: an emulator on a fake clock, and a dlt pipeline into a real DuckDB."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dlt
import pytest

from refiner_async.testing import FakeRefiner

T0 = datetime(2026, 1, 10, tzinfo=UTC)


class Clock:
    """The time shared by the emulator (writes made "now") and the source (its windows' end)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def epoch(self) -> float:
        return self.now.timestamp()

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def no_pyarrow(monkeypatch: pytest.MonkeyPatch) -> None:
    """pyarrow looks not installed (``importlib.util.find_spec`` finds no such module)."""
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "pyarrow" else real_find_spec(name, *a),
    )


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
async def fake(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeRefiner]:
    """The emulator; its key is dlt's secret ``sources.refiner.api_key`` (from the environment)."""
    async with FakeRefiner(
        seed=23, responses=1200, now=T0, span_days=20, clock=clock.epoch
    ) as server:
        monkeypatch.setenv("SOURCES__REFINER__API_KEY", server.api_key)
        yield server


@pytest.fixture
def make_pipeline(tmp_path: Path) -> Callable[[], Any]:
    """``make_pipeline()``: the test's dlt pipeline (the same name, directory and DuckDB file each
    call, so a second call attaches to the state the first one left)."""

    def make() -> Any:
        return dlt.pipeline(
            pipeline_name="refiner_test",
            destination=dlt.destinations.duckdb(str(tmp_path / "warehouse.duckdb")),
            pipelines_dir=str(tmp_path / "pipelines"),
            dataset_name="refiner",
        )

    return make


@pytest.fixture
def run() -> Callable[..., Any]:
    """``await run(pipeline, source)``: ``pipeline.run`` off the event loop the emulator serves on."""

    async def go(pipeline: Any, source: Any) -> Any:
        return await asyncio.to_thread(pipeline.run, source)

    return go


def query(pipeline: Any, sql: str) -> list[tuple[Any, ...]]:
    with pipeline.sql_client() as client:
        rows: list[tuple[Any, ...]] = client.execute_sql(sql)
        return rows


@pytest.fixture
def sql() -> Callable[[Any, str], list[tuple[Any, ...]]]:
    return query
