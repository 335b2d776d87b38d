"""An export stopped during its last steps (the renames, the checkpoint's removal) finishes with resume."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from refiner_async import ExportError, RefinerClient, export
from refiner_async._export import ExportFiles
from refiner_async._export import _run as run_module

pytestmark = [
    pytest.mark.usefixtures("instant"),
    pytest.mark.fake_refiner(seed=7, responses=300),
]

OPTIONS: dict[str, Any] = {"include": "all", "page_length": 50}


class Killed(BaseException):
    """Stands for the process being killed: nothing after it runs (it is no Exception)."""


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def kill_around_rename(
    monkeypatch: pytest.MonkeyPatch, output: Path, *, before: bool
) -> Callable[[], None]:
    """Make the rename onto ``output`` stop the export just before or just after it happens."""
    replace = os.replace

    def stopping(src: Any, dst: Any) -> None:
        if Path(dst) == output:
            if not before:
                replace(src, dst)
            raise Killed
        replace(src, dst)

    monkeypatch.setattr(run_module.os, "replace", stopping)
    return lambda: monkeypatch.setattr(run_module.os, "replace", replace)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
async def test_killed_right_after_the_final_rename(
    fmt: str, tmp_path: Path, refiner_client: RefinerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The output is complete but the checkpoint stayed: resume recognises it and finishes cleanly."""
    out = tmp_path / f"r.{fmt}"
    reference = tmp_path / "ref" / out.name
    reference.parent.mkdir()
    await export(refiner_client, "responses", reference, format=fmt, **OPTIONS)
    restore = kill_around_rename(monkeypatch, out, before=False)
    with pytest.raises(Killed):
        await export(refiner_client, "responses", out, format=fmt, **OPTIONS)
    restore()
    checkpoint = ExportFiles.beside(out).load_checkpoint()
    assert checkpoint is not None
    assert checkpoint.complete
    left = names(tmp_path)
    assert out.name + ".partial" not in left  # no 66 MB partial file left beside a CSV
    with pytest.raises(ExportError, match=r"can be continued|already exists"):
        await export(refiner_client, "responses", out, format=fmt, **OPTIONS)
    requests = refiner_client.stats.requests
    summary = await export(refiner_client, "responses", out, format=fmt, resume=True, **OPTIONS)
    assert refiner_client.stats.requests == requests  # nothing fetched again
    assert summary.items == 300
    assert summary.pages == 0
    assert names(tmp_path) == sorted([out.name, "ref"])
    if fmt != "parquet":  # (Parquet files carry their writer's metadata; the rows are compared)
        assert out.read_bytes() == reference.read_bytes()
    else:
        import pyarrow.parquet as pq

        assert pq.read_table(out).equals(pq.read_table(reference))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
async def test_killed_just_before_the_converted_files_rename(
    fmt: str, tmp_path: Path, refiner_client: RefinerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Converted and the partial file removed, not yet renamed: resume renames it, fetching nothing."""
    out = tmp_path / f"r.{fmt}"
    restore = kill_around_rename(monkeypatch, out, before=True)
    with pytest.raises(Killed):
        await export(refiner_client, "responses", out, format=fmt, **OPTIONS)
    restore()
    assert names(tmp_path) == [f"{out.name}.checkpoint.json", f"{out.name}.converting"]
    requests = refiner_client.stats.requests
    summary = await export(refiner_client, "responses", out, format=fmt, resume=True, **OPTIONS)
    assert refiner_client.stats.requests == requests
    assert summary.items == 300
    assert names(tmp_path) == [out.name]


async def test_an_overwrite_stopped_before_its_rename_does_not_pass_for_complete(
    tmp_path: Path, refiner_client: RefinerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With an older output in place and the new partial file not yet renamed, resume renames the new one."""
    out = tmp_path / "r.jsonl"
    out.write_text("old\n")
    restore = kill_around_rename(monkeypatch, out, before=True)
    with pytest.raises(Killed):
        await export(refiner_client, "responses", out, overwrite=True, **OPTIONS)
    restore()
    assert out.read_text() == "old\n"
    with pytest.raises(ExportError, match="already exists"):
        await export(refiner_client, "responses", out, resume=True, **OPTIONS)
    await export(refiner_client, "responses", out, overwrite=True, **OPTIONS)
    assert len(out.read_bytes().splitlines()) == 300
