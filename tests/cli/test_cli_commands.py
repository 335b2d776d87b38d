"""``refiner-async`` itself: --version, --help, demo, emulator, and Ctrl-C on a real process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from refiner_async import RefinerClient, __version__
from refiner_async._export import ExportFiles
from refiner_async.cli import cli
from refiner_async.testing import FakeRefiner


def command() -> list[str]:
    """The installed console script, or the same entry point through this interpreter."""
    script = Path(sys.executable).with_name("refiner-async")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from refiner_async.cli import main; main()"]


def test_version(runner: CliRunner) -> None:
    """--version prints the package version."""
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"refiner-async, version {__version__}\n"


def test_help_lists_the_commands(runner: CliRunner) -> None:
    """--help lists export, demo and emulator; export --help lists its flags."""
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in ("export", "demo", "emulator"):
        assert f"  {name} " in result.stdout
    flags = runner.invoke(cli, ["export", "--help"]).stdout
    for flag in ("--out", "--format", "--form", "--since", "--resume", "--overwrite", "--debug"):
        assert flag in flags
    emulator = runner.invoke(cli, ["emulator", "--help"])
    assert emulator.exit_code == 0
    assert "--responses" in emulator.stdout


def test_the_package_does_not_need_the_cli_extras() -> None:
    """import refiner_async loads neither click, rich nor pyarrow."""
    code = (
        "import sys, refiner_async\n"
        "assert refiner_async.export\n"
        "print(sorted({'click', 'rich', 'pyarrow'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout == "[]\n"


def test_unknown_command(runner: CliRunner) -> None:
    """An unknown subcommand is one line and exit 2."""
    result = runner.invoke(cli, ["exprot"])
    assert result.exit_code == 2
    assert result.stderr == (
        "refiner-async: error: No such command 'exprot'. Did you mean 'export'? (see 'refiner-async --help')\n"
    )


def test_demo(tmp_path: Path, runner: CliRunner) -> None:
    """The demo exports the embedded emulator's responses, prints the summary and checks the file."""
    out = tmp_path / "demo.jsonl"
    result = runner.invoke(cli, ["demo", "--responses", "500", "--latency", "0", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Starting the Refiner API emulator: 500 responses, seed 1" in result.stdout
    assert f"Exported 500 responses to {out} (jsonl, " in result.stdout
    assert "retries" in result.stdout
    assert "Checked: 500 lines, each of the emulator's 500 responses exactly once." in result.stdout
    assert len(out.read_bytes().splitlines()) == 500


def test_demo_in_a_temporary_directory(runner: CliRunner) -> None:
    """Without --out the demo cleans up after itself."""
    result = runner.invoke(cli, ["demo", "--responses", "50", "--latency", "0"])
    assert result.exit_code == 0, result.output
    written = Path(result.stdout.split("Exported 50 responses to ")[1].split(" (jsonl")[0])
    assert not written.parent.exists()


def test_emulator_subprocess() -> None:
    """The emulator command serves the API on the port asked for until it is terminated."""
    process = subprocess.Popen(
        [*command(), "emulator", "--port", "0", "--responses", "120", "--seed", "3"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        serving = process.stdout.readline().split()
        key = process.stdout.readline().split()
        assert serving[:2] == ["FakeRefiner", "serving"]
        assert key[0] == "api_key"

        async def count() -> int:
            async with RefinerClient(key[1], base_url=serving[2]) as client:
                return len(await client.responses.list(include="all").collect())

        assert asyncio.run(count()) == 120
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.mark.fake_refiner(seed=12, responses=1_000, latency=0.05)
def test_sigint_leaves_a_resumable_export(tmp_path: Path, served: FakeRefiner) -> None:
    """SIGINT to a running export exits 130 with a resume hint; --resume finishes the same file."""
    # Requests from the twelfth on are held back until the signal, so the export is still running
    # when it comes, however slowly a loaded machine gets there.
    served.faults.add("delay", path="/responses", after=11, delay=120.0)
    out = tmp_path / "r.jsonl"
    args = [*command(), "export", "responses", "--out", str(out), "--page-length", "20"]
    args += ["--base-url", served.base_url]
    env = {**os.environ, "REFINER_API_KEY": served.api_key}
    # A shell starting the suite in the background makes it ignore SIGINT, and a child inherits an
    # ignored signal (a handled one is reset to the default by exec): handle it while starting.
    ignored = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen(args, env=env, stderr=subprocess.PIPE, text=True)
    finally:
        signal.signal(signal.SIGINT, ignored)
    files = ExportFiles.beside(out)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # pages written (checkpointed once it stops)
        if files.partial.exists() and files.partial.stat().st_size > 0:
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    try:
        _, err = process.communicate(timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("refiner-async: error: interrupted: ")
    assert "run the same command with --resume to continue" in err
    assert "Traceback" not in err
    assert not out.exists()
    saved = files.load_checkpoint()
    expected = served.all_response_uuids()  # completed responses, the default
    assert saved is not None
    assert 0 < saved.items < len(expected)

    served.faults.clear()
    resumed = subprocess.run([*args, "--resume"], env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    lines = out.read_bytes().splitlines()
    assert len(lines) == len(expected)
    assert {orjson.loads(line)["uuid"] for line in lines} == expected
