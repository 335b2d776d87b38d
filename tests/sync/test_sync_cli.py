"""``refiner-async sync responses``: files per window, the state file, one-line errors."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from refiner_async.cli import cli
from refiner_async.testing import FakeRefiner

pytestmark = pytest.mark.usefixtures("instant")


@pytest.fixture
def served() -> Iterator[FakeRefiner]:
    """A FakeRefiner serving from its own event loop on a thread (the command runs its own loop)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    fake = FakeRefiner(seed=5, responses=600, span_days=10)
    thread.start()
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(30)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


def command(fake: FakeRefiner, tmp_path: Path, *more: str) -> list[str]:
    return [
        "sync", "responses", "--state", str(tmp_path / "state.json"), "--out-dir",
        str(tmp_path / "out"), "--base-url", fake.base_url, "--api-key", fake.api_key,
        *more,
    ]  # fmt: skip


def test_two_runs_write_files_and_state(served: FakeRefiner, tmp_path: Path) -> None:
    """Two runs with new responses between them: every live response is in the files, and the state
    file holds the bookmark."""
    runner = CliRunner()
    first = runner.invoke(
        cli, command(served, tmp_path, "--settle", "5", "--max-window", str(4 * 86400))
    )
    assert first.exit_code == 0, first.output
    assert first.output.count("responses-") == 3  # 10 days in windows of 4
    new = served.insert_responses(12)
    for uuid in new:  # received a little while ago (inside the lookback), not in the same second
        served.receive_data(uuid, time.time() - 30)
    second = runner.invoke(cli, command(served, tmp_path, "--settle", "0", "--format", "parquet"))
    assert second.exit_code == 0, second.output
    out = tmp_path / "out"
    seen = {
        orjson.loads(line)["uuid"]
        for p in out.glob("*.jsonl")
        for line in p.read_bytes().splitlines()
    }
    parquet = list(out.glob("*.parquet"))
    assert len(parquet) == 1
    seen |= set(pq.read_table(parquet[0]).column("uuid").to_pylist())
    assert seen == set(served.live_response_uuids())
    state = orjson.loads((tmp_path / "state.json").read_bytes())
    assert state["window"] is None
    assert state["bookmark"] in second.output


def test_an_interrupted_run_is_continued_by_the_next(served: FakeRefiner, tmp_path: Path) -> None:
    """An API error mid-window: exit 1 with one line saying how to continue; the next run finishes."""
    served.faults.add(500, path="/responses", after=2, times=10)  # from the window's second page
    runner = CliRunner()
    failed = runner.invoke(cli, command(served, tmp_path, "--page-length", "50"))
    assert failed.exit_code == 1
    assert "continues from" in failed.stderr
    assert "Traceback" not in failed.output
    assert orjson.loads((tmp_path / "state.json").read_bytes())["window"] is not None
    served.faults.clear()
    again = runner.invoke(cli, command(served, tmp_path, "--page-length", "50"))
    assert again.exit_code == 0, again.output
    out = tmp_path / "out"
    seen = {
        orjson.loads(line)["uuid"]
        for p in out.glob("*.jsonl")
        for line in p.read_bytes().splitlines()
    }
    assert seen == set(served.live_response_uuids())
    assert not list(out.glob("*.partial"))


@pytest.mark.parametrize(
    ("flags", "text"),
    [
        (["--lookback", "-1"], "--lookback"),
        (["--since", "last week"], "--since"),
        (["--format", "xml"], "--format"),
    ],
)
def test_bad_flags_are_one_line_errors(
    served: FakeRefiner, tmp_path: Path, flags: list[str], text: str
) -> None:
    """A bad flag: exit 2 and one line naming it; nothing written."""
    result = CliRunner().invoke(cli, command(served, tmp_path, *flags))
    assert result.exit_code == 2, result.output
    assert text in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "state.json").exists()


def test_a_corrupt_state_file_is_refused(served: FakeRefiner, tmp_path: Path) -> None:
    """A state file this version did not write: exit 2, one line naming --state, file untouched."""
    (tmp_path / "state.json").write_text('{"version": 7}')
    result = CliRunner().invoke(cli, command(served, tmp_path))
    assert result.exit_code == 2
    assert "--state" in result.stderr
    assert (tmp_path / "state.json").read_text() == '{"version": 7}'
