"""export() leaves the event loop free: every write, fsync, checkpoint and conversion runs in one worker thread."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from refiner_async import RefinerClient, export
from refiner_async._export import ExportFiles
from refiner_async._export import _run as run_module

pytestmark = [
    pytest.mark.usefixtures("instant"),
    pytest.mark.fake_refiner(seed=5, responses=200),
]

OPTIONS: dict[str, Any] = {"include": "all", "page_length": 50}


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
async def test_file_work_runs_in_one_thread_off_the_loop(
    fmt: str, tmp_path: Path, refiner_client: RefinerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fsyncs, checkpoints and the conversion all run in one thread that is not the loop's."""
    threads: dict[str, list[int]] = {"fsync": [], "checkpoint": [], "convert": [], "rename": []}

    def recording(kind: str, original: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            threads[kind].append(threading.get_ident())
            return original(*args, **kwargs)

        return call

    monkeypatch.setattr(os, "fsync", recording("fsync", os.fsync))
    monkeypatch.setattr(
        ExportFiles, "save_checkpoint", recording("checkpoint", ExportFiles.save_checkpoint)
    )
    monkeypatch.setattr(run_module.os, "replace", recording("rename", os.replace))
    converter = "write_csv" if fmt == "csv" else "write_parquet"
    monkeypatch.setattr(run_module, converter, recording("convert", getattr(run_module, converter)))

    summary = await export(
        refiner_client, "responses", tmp_path / f"r.{fmt}", format=fmt, **OPTIONS
    )
    assert summary.items == 200
    loop_thread = threading.get_ident()
    seen = {ident for idents in threads.values() for ident in idents}
    assert len(threads["checkpoint"]) >= 2  # a fresh one, then at the last page
    assert len(threads["fsync"]) >= 1 + 2  # the pages before the last checkpoint, each checkpoint
    assert len(threads["convert"]) == (0 if fmt == "jsonl" else 1)
    assert threads["rename"]
    assert loop_thread not in seen
    assert len(seen) == 1  # one thread: the steps keep their order


async def test_the_loop_runs_other_tasks_while_a_page_is_written(
    tmp_path: Path, refiner_client: RefinerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An fsync that waits for a task on the loop completes: the loop was free while it waited."""
    ticked = threading.Event()
    waited: list[bool] = []
    fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        if not waited:  # the first fsync waits until the loop has run another task
            loop.call_soon_threadsafe(lambda: asyncio.ensure_future(tick()))
            waited.append(ticked.wait(timeout=30))  # on the loop, this could never be set
        fsync(fd)

    async def tick() -> None:
        ticked.set()

    loop = asyncio.get_running_loop()
    monkeypatch.setattr(os, "fsync", slow_fsync)
    await export(refiner_client, "responses", tmp_path / "r.jsonl", **OPTIONS)
    assert waited == [True]


async def test_a_cancellation_during_a_write_waits_for_the_page_to_be_checkpointed(
    tmp_path: Path, refiner_client: RefinerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelled while a page is being written: the page finishes and is checkpointed, then the task ends."""
    out = tmp_path / "r.jsonl"
    files = ExportFiles.beside(out)
    inside = threading.Event()
    release = threading.Event()
    pages = 0
    original = run_module._PageWriter.append

    def append(self: Any, *page: Any) -> None:
        nonlocal pages
        pages += 1
        if pages == 2:
            inside.set()
            release.wait(timeout=30)
        original(self, *page)

    monkeypatch.setattr(run_module._PageWriter, "append", append)
    task = asyncio.create_task(export(refiner_client, "responses", out, **OPTIONS))
    await asyncio.to_thread(inside.wait, 30)
    task.cancel()
    await asyncio.sleep(0)  # the cancellation reaches the task while page 2 is still being written
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    checkpoint = files.load_checkpoint()
    assert checkpoint is not None
    assert checkpoint.pages == 2
    assert checkpoint.size == files.partial.stat().st_size
    summary = await export(refiner_client, "responses", out, resume=True, **OPTIONS)
    assert summary.items == 200
    assert len(out.read_bytes().splitlines()) == 200
