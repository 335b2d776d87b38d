"""What a person sees when something around the command is wrong: help on every option, a base URL
without /v1, a busy port, a reader that closed standard output."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from refiner_async.cli import base_url_hint, cli
from refiner_async.testing import FakeRefiner
from refiner_async.testing.__main__ import run
from tests.cli.conftest import one_line_error
from tests.cli.test_cli_commands import command


def options() -> Iterator[tuple[str, click.Option]]:
    for name, sub in cli.commands.items():  # type: ignore[attr-defined]
        for param in sub.params:
            if isinstance(param, click.Option):
                yield name, param


@pytest.mark.parametrize(("name", "option"), list(options()), ids=lambda v: getattr(v, "name", v))
def test_every_option_of_every_command_has_help(name: str, option: click.Option) -> None:
    """``--help`` explains every option of every command."""
    assert option.help, f"refiner-async {name} {option.opts[0]} has no help"


def test_emulator_help_is_the_commands_own(runner: CliRunner) -> None:
    """``refiner-async emulator --help`` names the command and explains the emulator's options."""
    result = runner.invoke(cli, ["emulator", "--help"])
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: refiner-async emulator [OPTIONS]")
    assert "python -m" not in result.stdout
    for flag in ("--port", "--seed", "--responses", "--rate-limit", "--strict-page-length"):
        assert flag in result.stdout


def test_base_url_hints() -> None:
    """A base URL without a version is told to add /v1; one with a version is asked whether it is
    the Refiner API at all."""
    assert base_url_hint("http://localhost:8080/") == (
        "--base-url http://localhost:8080/ lacks the API version: try http://localhost:8080/v1"
    )
    assert base_url_hint("https://example.com/v2").startswith(
        "is --base-url https://example.com/v2 the Refiner API? (it is https://api.refiner.io/v1)"
    )


def test_a_base_url_without_v1_is_named(
    runner: CliRunner, served: FakeRefiner, tmp_path: Path
) -> None:
    """Pointed at the emulator's root instead of /v1, an export says which flag to fix."""
    root = served.base_url.removesuffix("/v1")
    args = ["export", "responses", "-o", str(tmp_path / "r.jsonl"), "--base-url", root]
    result = runner.invoke(cli, [*args, "--api-key", served.api_key])
    one_line_error(result, 1, f"404 GET /responses: Not found; --base-url {root} lacks the API")
    assert f"try {root}/v1" in result.stderr


def test_a_busy_port_is_one_line(runner: CliRunner, capfd: pytest.CaptureFixture[str]) -> None:
    """Both emulator commands, asked for a port another process listens on, exit 1 with one line
    that names the address and the way out."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert run({"port": port, "responses": 10}) == 1
        err = capfd.readouterr().err
        assert err == (
            f"python -m refiner_async.testing: error: cannot listen on 127.0.0.1:{port}: "
            "Address already in use (--port 0 picks a free port)\n"
        )
        result = runner.invoke(cli, ["emulator", "--port", str(port), "--responses", "10"])
        one_line_error(result, 1, f"cannot listen on 127.0.0.1:{port}: Address already in use")


def test_a_closed_standard_output_does_not_fail_the_export(
    served: FakeRefiner, tmp_path: Path
) -> None:
    """A reader that goes away (``refiner-async export ... | head -c0``) leaves the export whole and
    the exit code 0; stderr says in one line that the report is not shown."""
    out = tmp_path / "r.jsonl"
    args = [*command(), "export", "responses", "-o", str(out), "--base-url", served.base_url]
    process = subprocess.Popen(
        [*args, "--api-key", served.api_key, "--include", "all"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.close()  # the reader is gone before the report is written
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "refiner-async: standard output is closed; the report is not shown" in err.splitlines()
    assert "Traceback" not in err
    assert len(out.read_bytes().splitlines()) == len(served.all_response_uuids(include="all"))
