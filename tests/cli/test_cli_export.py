"""``refiner-async export``: each format, the filter flags, progress, resume, and one-line errors."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from refiner_async import AuthenticationError, ExportProgress, RefinerClient
from refiner_async.cli import _export_command, cli, progress_reporter
from refiner_async.testing import FakeRefiner
from tests.cli.conftest import one_line_error

pytestmark = pytest.mark.usefixtures("instant")


def uuids(path: Path, fmt: str) -> list[str]:
    if fmt == "jsonl":
        return [orjson.loads(line)["uuid"] for line in path.read_bytes().splitlines()]
    if fmt == "csv":
        return [row["uuid"] for row in csv.DictReader(io.StringIO(path.read_text()))]
    return [str(u) for u in pq.read_table(path).column("uuid").to_pylist()]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_export_in_each_format(
    fmt: str, tmp_path: Path, runner: CliRunner, served: FakeRefiner, connect: list[str]
) -> None:
    """Each format holds every response once; the summary goes to stdout, progress to stderr."""
    out = tmp_path / f"responses.{fmt}"  # the format comes from the suffix
    result = runner.invoke(
        cli, ["export", "responses", "--out", str(out), "--include", "all", *connect]
    )
    assert result.exit_code == 0, result.output
    assert sorted(uuids(out, fmt)) == sorted(served.all_response_uuids(include="all"))
    assert result.stdout.startswith(f"Exported 400 responses to {out} ({fmt}, ")
    assert "items/s" in result.stdout
    assert "429s" in result.stdout
    assert result.stderr.startswith("responses: 400 of 400 (100%)")


def test_filter_flags(
    tmp_path: Path, runner: CliRunner, served: FakeRefiner, connect: list[str]
) -> None:
    """--form twice filters on both surveys; --max-items and --page-length apply."""

    async def forms() -> list[str]:
        async with RefinerClient(served.api_key, base_url=served.base_url) as client:
            return [f.uuid for f in await client.forms.list().collect()]

    first, second = asyncio.run(forms())[:2]
    out = tmp_path / "two.jsonl"
    args = ["export", "responses", "-o", str(out), "--form", first, "--form", second, *connect]
    assert runner.invoke(cli, [*args, "--include", "all"]).exit_code == 0
    rows = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert {row["form"]["uuid"] for row in rows} == {first, second}
    limited = tmp_path / "some.csv"
    result = runner.invoke(
        cli,
        [
            *("export", "contacts", "-o", str(limited), "--max-items", "30"),
            *("--page-length", "7", "--order-by", "last_seen_at", *connect),
        ],
    )
    assert result.exit_code == 0, result.output
    assert len(uuids(limited, "csv")) == 30
    assert "5 pages" in result.stdout


@pytest.mark.parametrize("pagination", ["cursor", "windows"])
def test_pagination_flag(
    pagination: str, tmp_path: Path, runner: CliRunner, served: FakeRefiner, connect: list[str]
) -> None:
    """--pagination cursor writes the responses in the server's order; windows holds the same
    responses, each once, in the order its pages arrived."""
    out = tmp_path / "r.jsonl"
    args = ["export", "responses", "-o", str(out), "--include", "all", "--page-length", "20"]
    result = runner.invoke(cli, [*args, "--pagination", pagination, *connect])
    assert result.exit_code == 0, result.output
    written = uuids(out, "jsonl")
    server_order = served.live_response_uuids("all")
    if pagination == "cursor":
        assert written == server_order
    else:
        assert sorted(written) == sorted(server_order)
        assert written != server_order


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["forms", "--form", "f1"], "--form does not apply to forms"),
        (["contacts", "--form", "f1", "--form", "f2"], "--form may be given once for contacts"),
        (["responses", "--state", "all"], "--state does not apply to responses"),
        (["segments", "--search", "x"], "--search does not apply to segments"),
        (["responses", "--bogus"], "No such option '--bogus'"),
        (["answers"], "'answers' is not one of"),
    ],
)
def test_flags_that_do_not_apply(
    args: list[str], message: str, tmp_path: Path, runner: CliRunner
) -> None:
    """A flag the resource does not take is a usage error (exit 2), on one line."""
    result = runner.invoke(cli, ["export", *args, "--out", str(tmp_path / "x.jsonl")])
    one_line_error(result, 2, message)


def test_bad_value_names_the_flag(tmp_path: Path, runner: CliRunner, connect: list[str]) -> None:
    """A value the SDK refuses is reported under its flag's name, before anything is written."""
    out = tmp_path / "x.jsonl"
    result = runner.invoke(
        cli, ["export", "responses", "-o", str(out), "--since", "soon", *connect]
    )
    one_line_error(result, 2, "--since: ")
    forms = ["export", "forms", "-o", str(out), "--pagination", "cursor", *connect]
    one_line_error(runner.invoke(cli, forms), 2, "--pagination: forms are read one way only")
    assert list(tmp_path.iterdir()) == []


def test_missing_api_key(tmp_path: Path, runner: CliRunner) -> None:
    """No --api-key and no REFINER_API_KEY: one line saying how to give one."""
    result = runner.invoke(cli, ["export", "segments", "--out", str(tmp_path / "s.jsonl")])
    one_line_error(
        result, 2, "no API key: set REFINER_API_KEY or pass --api-key-file PATH ('-': stdin)"
    )


def test_api_key_from_environment(tmp_path: Path, runner: CliRunner, served: FakeRefiner) -> None:
    """REFINER_API_KEY and REFINER_BASE_URL stand in for the flags."""
    out = tmp_path / "s.jsonl"
    env = {"REFINER_API_KEY": served.api_key, "REFINER_BASE_URL": served.base_url}
    result = runner.invoke(cli, ["export", "segments", "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert out.exists()


def test_authentication_failure(tmp_path: Path, runner: CliRunner, served: FakeRefiner) -> None:
    """A refused key is one line (exit 1) and leaves no file; --debug shows the traceback instead."""
    args = ["export", "responses", "--out", str(tmp_path / "r.jsonl")]
    args += ["--base-url", served.base_url, "--api-key", "not-the-key"]
    one_line_error(runner.invoke(cli, args), 1, "the API refused the key (401 GET /responses")
    assert list(tmp_path.iterdir()) == []
    debug = runner.invoke(cli, [*args, "--debug"])
    assert isinstance(debug.exception, AuthenticationError)


def test_existing_output(tmp_path: Path, runner: CliRunner, connect: list[str]) -> None:
    """An existing output is refused without --overwrite and replaced with it."""
    out = tmp_path / "s.jsonl"
    out.write_text("old\n")
    args = ["export", "segments", "--out", str(out), *connect]
    one_line_error(runner.invoke(cli, args), 1, "already exists; use overwrite (--overwrite)")
    assert out.read_text() == "old\n"
    assert runner.invoke(cli, [*args, "--overwrite"]).exit_code == 0
    assert out.read_text() != "old\n"


def test_unwritable_output(tmp_path: Path, runner: CliRunner, connect: list[str]) -> None:
    """An output that cannot be created is one line naming the file and the reason."""
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "s.jsonl"
    result = runner.invoke(cli, ["export", "segments", "--out", str(out), *connect])
    one_line_error(result, 1, f"cannot write {out}.lock: Not a directory")  # its first file


def test_missing_pyarrow(
    tmp_path: Path, runner: CliRunner, connect: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parquet without pyarrow names the extra to install."""
    monkeypatch.setitem(__import__("sys").modules, "pyarrow", None)
    result = runner.invoke(
        cli, ["export", "segments", "--out", str(tmp_path / "s.parquet"), *connect]
    )
    one_line_error(result, 1, "pip install 'refiner-async[parquet]'")


def test_interrupt_then_resume(
    tmp_path: Path, runner: CliRunner, connect: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C exits 130 with a resume hint; --resume completes the same file as an uninterrupted run."""
    out = tmp_path / "r.jsonl"
    args = ["export", "responses", "--out", str(out), "--page-length", "50", *connect]

    class Interrupting:
        def __enter__(self) -> Any:
            def report(progress: ExportProgress) -> None:
                if progress.pages == 3:
                    raise KeyboardInterrupt

            return report

        def __exit__(self, *exc: object) -> None:
            return None

    with monkeypatch.context() as patch:
        patch.setattr(_export_command, "progress_reporter", Interrupting)
        interrupted = runner.invoke(cli, args)
    one_line_error(interrupted, 130, "interrupted: 150 responses saved in ")
    assert "run the same command with --resume to continue" in interrupted.stderr
    assert not out.exists()
    again = runner.invoke(cli, args)
    one_line_error(again, 1, "can be continued: use resume (--resume)")
    resumed = runner.invoke(cli, [*args, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert "150 of them from before the resume" in resumed.stdout
    whole = tmp_path / "whole.jsonl"
    assert runner.invoke(cli, ["export", "responses", "--out", str(whole), *connect]).exit_code == 0
    assert out.read_bytes() == whole.read_bytes()


def test_api_error_mid_export_says_how_to_resume(
    tmp_path: Path,
    runner: CliRunner,
    served: FakeRefiner,
    connect: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An API failure after some pages reports the items saved and --resume."""
    out = tmp_path / "r.jsonl"

    class Breaking:
        def __enter__(self) -> Any:
            def report(progress: ExportProgress) -> None:
                if progress.pages == 2:
                    served.faults.add("500", path="/responses")

            return report

        def __exit__(self, *exc: object) -> None:
            return None

    monkeypatch.setattr(_export_command, "progress_reporter", Breaking)
    args = ["export", "responses", "--out", str(out), "--page-length", "50", *connect]
    result = runner.invoke(cli, args)
    one_line_error(result, 1, "500 GET /responses")
    assert f"responses saved in {out}.partial; run the same command with --resume" in result.stderr


def test_rich_progress_on_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    """On a terminal the progress is a bar with items done of total, rate and ETA."""
    with progress_reporter(terminal=True) as report:
        report(ExportProgress("responses", items=1000, total=4000, pages=1, seconds=0.5))
        report(ExportProgress("responses", items=2000, total=4000, pages=2, seconds=1.0))
    err = capsys.readouterr().err
    assert "2000/4000" in err
    assert "2,000 items/s" in err
    assert "ETA 1.0 s" in err
