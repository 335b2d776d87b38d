"""``refiner-async export`` against another export of the same file, and the key from a file or stdin."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from refiner_async._export import ExportFiles
from refiner_async.cli import cli
from refiner_async.testing import FakeRefiner

pytestmark = pytest.mark.usefixtures("instant")

HOLD = (
    "import pathlib, sys\n"
    "from refiner_async._export._lock import acquire\n"
    "lock = acquire(pathlib.Path(sys.argv[1]))\n"
    "print('held', flush=True)\n"
    "sys.stdin.read()\n"
)


def lines(path: Path) -> list[str]:
    return [orjson.loads(line)["uuid"] for line in path.read_bytes().splitlines()]


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lock of ``tmp_path/r.jsonl`` until it is killed."""
    lock = ExportFiles.beside(tmp_path / "r.jsonl").lock
    root = str(Path(__file__).resolve().parents[2])
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": root},
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


@pytest.mark.fake_refiner(seed=11, responses=400)
def test_a_second_export_names_the_holder_and_a_dead_ones_lock_is_taken_over(
    tmp_path: Path, runner: CliRunner, served: FakeRefiner, holder: subprocess.Popen[str]
) -> None:
    """One line naming the holder's pid and host, exit 1; after kill -9 the same command succeeds."""
    out = tmp_path / "r.jsonl"
    args = ["export", "responses", "--out", str(out), "--include", "all"]
    args += ["--base-url", served.base_url, "--api-key", served.api_key]
    result = runner.invoke(cli, [*args, "--overwrite"])
    assert result.exit_code == 1, result.output
    error = result.stderr.splitlines()
    assert len(error) == 1
    assert error[0].startswith("refiner-async: error: ")
    assert f"pid {holder.pid} on host {socket.gethostname()}" in error[0]
    assert not out.exists()
    os.kill(holder.pid, signal.SIGKILL)  # no chance to remove its lock file
    holder.wait()
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert len(lines(out)) == 400
