"""``refiner-async export`` against another export of the same file, and the key from a file or stdin."""

from __future__ import annotations

import os
import resource
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


def limited_file_size(limit: int) -> None:
    """In the child: files larger than ``limit`` bytes cannot be written (EFBIG)."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@pytest.mark.fake_refiner(seed=11, responses=400)
def test_a_file_too_large_names_the_file_and_resume_continues(
    tmp_path: Path, runner: CliRunner, served: FakeRefiner
) -> None:
    """EFBIG (a real file size limit, in a child process) is one line naming the file and --resume; resuming completes."""
    out = tmp_path / "r.jsonl"
    args = ["export", "responses", "--out", str(out), "--include", "all", "--page-length", "50"]
    args += ["--base-url", served.base_url]
    child = subprocess.run(
        [sys.executable, "-c", "from refiner_async.cli import main; main()", *args],
        env={
            **os.environ,
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
            "REFINER_API_KEY": served.api_key,
        },
        preexec_fn=lambda: limited_file_size(120_000),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 1, child.stderr
    error = [line for line in child.stderr.splitlines() if "error" in line]
    assert len(error) == 1
    assert f"cannot write {out}.partial: File too large" in error[0]
    assert "--resume" in error[0]
    assert "Traceback" not in child.stderr
    checkpoint = ExportFiles.beside(out).load_checkpoint()
    assert checkpoint is not None
    assert 0 < checkpoint.items < 400
    result = runner.invoke(cli, [*args, "--api-key", served.api_key, "--resume"])
    assert result.exit_code == 0, result.output
    assert sorted(lines(out)) == sorted(served.all_response_uuids(include="all"))


@pytest.mark.fake_refiner(seed=11, responses=60)
def test_the_key_from_a_file_or_stdin(
    tmp_path: Path, runner: CliRunner, served: FakeRefiner
) -> None:
    """--api-key-file PATH and --api-key-file - read the key (trailing newline ignored), and it is never echoed."""
    key_file = tmp_path / "key"
    key_file.write_text(served.api_key + "\n")
    base = ["export", "segments", "--base-url", served.base_url]
    from_file = runner.invoke(
        cli, [*base, "-o", str(tmp_path / "a.jsonl"), "--api-key-file", str(key_file)]
    )
    assert from_file.exit_code == 0, from_file.output
    from_stdin = runner.invoke(
        cli,
        [*base, "-o", str(tmp_path / "b.jsonl"), "--api-key-file", "-"],
        input=served.api_key + "\n",
    )
    assert from_stdin.exit_code == 0, from_stdin.output
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert served.api_key not in from_file.output + from_stdin.output


@pytest.mark.parametrize(
    ("extra", "text"),
    [
        (["--api-key", "k", "--api-key-file", "KEY"], "--api-key and --api-key-file: give one"),
        (["--api-key-file", "MISSING"], "--api-key-file: cannot read "),
        (["--api-key-file", "EMPTY"], "holds no key"),
    ],
)
def test_key_file_mistakes_are_usage_errors(
    tmp_path: Path, runner: CliRunner, extra: list[str], text: str
) -> None:
    """Both flags at once, an unreadable file and an empty one: one line, exit 2, nothing written."""
    (tmp_path / "KEY").write_text("k")
    (tmp_path / "EMPTY").write_text("\n")
    extra = [str(tmp_path / a) if a in ("KEY", "MISSING", "EMPTY") else a for a in extra]
    out = tmp_path / "out" / "s.jsonl"
    result = runner.invoke(cli, ["export", "segments", "-o", str(out), *extra])
    assert result.exit_code == 2, result.output
    lines_ = result.stderr.splitlines()
    assert len(lines_) == 1
    assert text in lines_[0]
    assert not out.parent.exists()
