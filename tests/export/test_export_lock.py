"""One export at a time per output: a second fails at once naming the holder; a dead holder's lock is taken over."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from refiner_async import ExportError, ExportProgress, RefinerClient, export
from refiner_async._export import ExportFiles
from refiner_async.testing import FakeRefiner

pytestmark = pytest.mark.usefixtures("instant")

PAGE = 50
OPTIONS: dict[str, Any] = {"include": "all", "page_length": PAGE}
HOLD = (
    "import pathlib, sys\n"
    "from refiner_async._export._lock import acquire\n"
    "lock = acquire(pathlib.Path(sys.argv[1]))\n"
    "print('held', flush=True)\n"
    "sys.stdin.read()\n"
)


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def lines(path: Path) -> list[str]:
    return [orjson.loads(line)["uuid"] for line in path.read_bytes().splitlines()]


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lock of ``tmp_path/r.jsonl`` until it is killed."""
    lock = ExportFiles.beside(tmp_path / "r.jsonl").lock
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": root}
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "held\n"
    yield process
    if process.poll() is None:
        process.kill()
    process.wait()
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            stream.close()


def kill_hard(process: subprocess.Popen[str]) -> None:
    """SIGKILL: the holder gets no chance to remove its lock file."""
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


@pytest.mark.fake_refiner(seed=7, responses=900, latency=0.01)
async def test_a_second_export_to_the_same_output_fails_at_once(
    tmp_path: Path, refiner_client: RefinerClient, fake_refiner: FakeRefiner
) -> None:
    """While one export runs, another to its output (even with overwrite) is refused; the first completes whole."""
    out = tmp_path / "r.jsonl"
    running = asyncio.Event()

    def first_page(p: ExportProgress) -> None:
        running.set()

    first = asyncio.create_task(
        export(refiner_client, "responses", out, progress=first_page, **OPTIONS)
    )
    await running.wait()
    for flags in ({"overwrite": True}, {"resume": True}, {}):
        with pytest.raises(ExportError) as caught:
            await export(refiner_client, "responses", out, **flags, **OPTIONS)
        message = str(caught.value)
        assert f"pid {os.getpid()} on host {socket.gethostname()}" in message
        assert str(out) in message
        assert "\n" not in message
    summary = await first
    assert summary.items == 900
    assert sorted(lines(out)) == sorted(fake_refiner.all_response_uuids(include="all"))
    assert names(tmp_path) == ["r.jsonl"]  # the lock file is gone


@pytest.mark.fake_refiner(seed=7, responses=900, latency=0.01)
async def test_overlapping_resumes_run_one_at_a_time(
    tmp_path: Path, refiner_client: RefinerClient, fake_refiner: FakeRefiner
) -> None:
    """Two resumes of one interrupted export: the second is refused, the first finishes with each item once."""
    out = tmp_path / "r.jsonl"

    def stop(p: ExportProgress) -> None:
        if p.pages == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await export(refiner_client, "responses", out, progress=stop, **OPTIONS)
    running = asyncio.Event()
    first = asyncio.create_task(
        export(
            refiner_client,
            "responses",
            out,
            resume=True,
            progress=lambda p: running.set(),
            **OPTIONS,
        )
    )
    await running.wait()
    with pytest.raises(ExportError, match="being written by another export"):
        await export(refiner_client, "responses", out, resume=True, **OPTIONS)
    summary = await first
    assert summary.items == 900
    assert summary.resumed_items == 3 * PAGE
    assert sorted(lines(out)) == sorted(fake_refiner.all_response_uuids(include="all"))
    # A later resume finds nothing to continue and no stale checkpoint to refuse.
    assert ExportFiles.beside(out).load_checkpoint() is None


@pytest.mark.fake_refiner(seed=7, responses=200)
async def test_a_dead_holders_lock_is_taken_over(
    tmp_path: Path,
    refiner_client: RefinerClient,
    holder: subprocess.Popen[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A live holder in another process is named; once it is killed -9, its leftover lock is taken over."""
    out = tmp_path / "r.jsonl"
    with pytest.raises(ExportError, match=f"pid {holder.pid} on host "):
        await export(refiner_client, "responses", out, **OPTIONS)
    kill_hard(holder)
    assert ExportFiles.beside(out).lock.exists()  # left behind by the dead holder
    with caplog.at_level("INFO", logger="refiner_async"):
        summary = await export(refiner_client, "responses", out, **OPTIONS)
    assert summary.items == 200
    assert f"left by pid {holder.pid}" in caplog.text
    assert not ExportFiles.beside(out).lock.exists()
