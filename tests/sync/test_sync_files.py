"""Sync to files: one file per window, the state file replaced atomically, crash-safe order."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from refiner_async import RefinerClient, RefinerError
from refiner_async import _sync_files as sync_files
from refiner_async._sync_files import load_state, sync_to_files, window_file
from refiner_async.sync import SyncState
from refiner_async.testing import FakeRefiner

OPTIONS: dict[str, Any] = {"lookback": 300.0, "settle": 60.0, "page_length": 100}


def read_dir(out: Path) -> dict[str, dict[str, Any]]:
    """Every complete window file's items, upserted on uuid in file (time) order."""
    union: dict[str, dict[str, Any]] = {}
    for path in sorted(out.glob("responses-*.jsonl")):
        for line in path.read_bytes().splitlines():
            item = orjson.loads(line)
            union[item["uuid"]] = item
    return union


def live(fake: FakeRefiner) -> set[str]:
    return set(fake.live_response_uuids())


async def test_runs_write_one_file_per_window_and_the_state(
    fake: FakeRefiner, client: RefinerClient, clock: Any, tmp_path: Path
) -> None:
    """Two runs with inserts between: a file per window, the state's bookmark at the last window's
    end, and the files upserted on uuid hold every live response."""
    state_path, out = tmp_path / "state.json", tmp_path / "out"
    state, first = await sync_to_files(
        client, state_path, out, clock=clock, max_window=8 * 86400, **OPTIONS
    )
    assert len(first) == 3  # 20 days of history in windows of 8
    assert [w.path.name for w in first] == sorted(p.name for p in out.iterdir())
    assert load_state(state_path) == state == SyncState(bookmark=clock() - timedelta(seconds=60))
    fake.insert_responses(30)
    clock.advance(300)
    _state2, second = await sync_to_files(client, state_path, out, clock=clock, **OPTIONS)
    assert len(second) == 1
    assert second[0].items >= 30
    assert second[0].path == window_file(out, second[0].window, "jsonl")
    assert set(read_dir(out)) == live(fake)
    assert load_state(state_path).bookmark == clock() - timedelta(seconds=60)
    assert [name for name in os.listdir(out) if not name.endswith(".jsonl")] == []
    assert sorted(os.listdir(tmp_path)) == ["out", "state.json"]


async def test_an_api_error_mid_window_leaves_the_old_state_and_no_complete_file(
    fake: FakeRefiner, client: RefinerClient, clock: Any, tmp_path: Path
) -> None:
    """An API error mid-window: the state keeps the previous bookmark and the window being read, the
    window has no file a reader would take; the next run continues it and misses nothing."""
    state_path, out = tmp_path / "state.json", tmp_path / "out"
    await sync_to_files(client, state_path, out, clock=clock, **OPTIONS)
    before = load_state(state_path)
    fake.insert_responses(450)
    clock.advance(600)
    fake.faults.add(500, path="/responses", after=2, times=1)  # the third page
    with pytest.raises(RefinerError):
        await sync_to_files(client, state_path, out, clock=clock, **OPTIONS)
    broken = load_state(state_path)
    assert broken.bookmark == before.bookmark
    assert broken.window is not None
    target = window_file(out, broken.window, "jsonl")
    assert not target.exists()
    assert target.with_name(target.name + ".partial").exists()  # what the export resumes from
    assert set(read_dir(out)) < live(fake)

    requests = client.stats.requests
    clock.advance(5)
    state, done = await sync_to_files(client, state_path, out, clock=clock, **OPTIONS)
    assert done[0].resumed
    assert done[0].window == broken.window
    assert client.stats.requests - requests < 5  # the pages after the last one written
    assert set(read_dir(out)) == live(fake)
    assert state.bookmark is not None
    assert state.bookmark > before.bookmark


async def test_a_crash_between_the_file_and_the_state_is_finished_by_the_next_run(
    fake: FakeRefiner,
    client: RefinerClient,
    clock: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Stopped after a window's file is complete but before the state moves: the next run takes the
    file as it is (no request for that window) and moves the bookmark."""
    state_path, out = tmp_path / "state.json", tmp_path / "out"
    await sync_to_files(client, state_path, out, clock=clock, **OPTIONS)
    fake.insert_responses(10)
    clock.advance(600)
    real = sync_files.save_state
    calls = []

    def failing(path: Path, state: SyncState) -> None:
        calls.append(state)
        if state.window is None:
            raise OSError("disk gone")
        real(path, state)

    monkeypatch.setattr(sync_files, "save_state", failing)
    with pytest.raises(OSError, match="disk gone"):
        await sync_to_files(client, state_path, out, clock=clock, **OPTIONS)
    monkeypatch.setattr(sync_files, "save_state", real)
    pending = load_state(state_path).window
    assert pending is not None
    assert window_file(out, pending, "jsonl").exists()
    requests = client.stats.requests
    state, done = await sync_to_files(client, state_path, out, clock=clock, **OPTIONS)
    assert client.stats.requests == requests
    assert done[0].window == pending
    assert state.bookmark == pending.end
    assert set(read_dir(out)) == live(fake)


async def test_a_second_sync_on_the_same_state_file_fails_at_once(
    fake: FakeRefiner, client: RefinerClient, clock: Any, tmp_path: Path
) -> None:
    """While one run holds the state file, another on it raises ExportError naming the holder and
    writes nothing; the first finishes every window, and a later run may take the file."""
    state_path, out = tmp_path / "state.json", tmp_path / "out"
    refusals: list[str] = []

    async def second_run() -> None:
        with pytest.raises(sync_files.ExportError, match="in use by another sync") as caught:
            await sync_to_files(client, state_path, tmp_path / "other", clock=clock, **OPTIONS)
        refusals.append(str(caught.value))

    pending: list[Any] = []
    state, written = await sync_to_files(
        client,
        state_path,
        out,
        clock=clock,
        max_window=8 * 86400,
        on_window=lambda done: pending or pending.append(asyncio.ensure_future(second_run())),
        **OPTIONS,
    )
    await asyncio.gather(*pending)
    assert len(written) == 3
    assert len(refusals) == 1
    assert f"pid {os.getpid()}" in refusals[0]
    assert not (tmp_path / "other").exists()
    assert set(read_dir(out)) == live(fake)
    assert sorted(os.listdir(tmp_path)) == ["out", "state.json"]  # the lock went with the run
    _state, again = await sync_to_files(client, state_path, out, clock=clock, **OPTIONS)
    assert again == []
    assert _state == state
