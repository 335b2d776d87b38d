"""Interrupted exports resume with no item lost or repeated; the output appears only when complete."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from refiner_async import (
    AuthenticationError,
    ExportError,
    ExportProgress,
    InvalidParameterError,
    RefinerClient,
    ServerError,
    export,
)
from refiner_async._export import Checkpoint, ExportFiles
from refiner_async._export import _run as run_module
from refiner_async.testing import FakeRefiner
from tests.export.conftest import by_uuid


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


pytestmark = [
    pytest.mark.usefixtures("instant"),
    pytest.mark.fake_refiner(seed=7, responses=900, latency=0.002),
]

PAGE = 50  # 900 responses -> 18 pages
OPTIONS: dict[str, Any] = {"include": "all", "page_length": PAGE}


async def interrupt_after(pages: int, client: RefinerClient, out: Path, **options: Any) -> None:
    """Run an export that a KeyboardInterrupt stops once ``pages`` pages are written."""

    def progress(p: ExportProgress) -> None:
        if p.pages == pages:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await export(client, "responses", out, progress=progress, **{**OPTIONS, **options})


async def reference(
    client: RefinerClient, tmp_path: Path, fmt: str = "jsonl", **options: Any
) -> Path:
    out = tmp_path / "reference" / f"r.{fmt}"
    out.parent.mkdir()
    await export(client, "responses", out, format=fmt, **{**OPTIONS, **options})
    return out


async def same_as_uninterrupted(
    out: Path, client: RefinerClient, tmp_path: Path, fmt: str = "jsonl", **options: Any
) -> None:
    """``out`` holds what an uninterrupted export holds: byte for byte in the server's order
    (``pagination="cursor"``), the same rows each once otherwise (windows: arrival order)."""
    expected = await reference(client, tmp_path, fmt, **options)
    if options.get("pagination") != "cursor":
        assert by_uuid(out, fmt) == by_uuid(expected, fmt)
    elif fmt == "parquet":
        assert pq.read_table(out).equals(pq.read_table(expected))
    else:
        assert out.read_bytes() == expected.read_bytes()  # noqa: ASYNC240 (a test)


@pytest.mark.parametrize("pagination", ["cursor", "auto"])
@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
async def test_keyboard_interrupt_then_resume_gives_the_same_file(
    fmt: str, pagination: str, tmp_path: Path, refiner_client: RefinerClient
) -> None:
    """Ctrl-C after 5 pages keeps a checkpoint; resume=True completes a file that holds what an
    uninterrupted one holds (in the server's order, byte for byte, when read by cursor)."""
    out = tmp_path / f"r.{fmt}"
    files = ExportFiles.beside(out)
    await interrupt_after(5, refiner_client, out, format=fmt, pagination=pagination)
    assert not out.exists()
    checkpoint = files.load_checkpoint()
    assert checkpoint is not None
    assert (checkpoint.items, checkpoint.pages, checkpoint.complete) == (5 * PAGE, 5, False)
    assert checkpoint.size == files.partial.stat().st_size
    assert checkpoint.resume_token is not None
    assert checkpoint.total == 900

    seen: list[ExportProgress] = []
    options = {**OPTIONS, "pagination": pagination}
    summary = await export(
        refiner_client, "responses", out, format=fmt, resume=True, progress=seen.append, **options
    )
    assert summary.resumed_items == 5 * PAGE
    assert summary.items == 900
    assert seen[0].resumed_items == 5 * PAGE
    assert seen[0].items > 5 * PAGE  # the first page after the resume point
    if pagination == "cursor":
        assert summary.pages == 13
        assert seen[0].items == 6 * PAGE
    assert names(tmp_path) == [out.name]  # no partial, no checkpoint left
    await same_as_uninterrupted(out, refiner_client, tmp_path, fmt, pagination=pagination)


async def test_cancelled_export_resumes(tmp_path: Path, refiner_client: RefinerClient) -> None:
    """A task cancelled while fetching leaves a checkpoint of whole pages; resuming completes it exactly."""
    out = tmp_path / "r.jsonl"
    three_pages = asyncio.Event()

    def progress(p: ExportProgress) -> None:
        if p.pages == 3:
            three_pages.set()

    task = asyncio.create_task(
        export(refiner_client, "responses", out, progress=progress, **OPTIONS)
    )
    await three_pages.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    checkpoint = ExportFiles.beside(out).load_checkpoint()
    assert checkpoint is not None
    assert checkpoint.pages >= 3
    assert not checkpoint.complete
    await export(refiner_client, "responses", out, resume=True, **OPTIONS)
    await same_as_uninterrupted(out, refiner_client, tmp_path)


async def test_server_failure_then_resume(tmp_path: Path, fake_refiner: FakeRefiner) -> None:
    """A page that keeps failing ends the export with the API error; resume continues after the last page written."""
    out = tmp_path / "r.jsonl"
    async with RefinerClient(
        fake_refiner.api_key, base_url=fake_refiner.base_url, max_retries=0, max_concurrency=1
    ) as client:

        def break_server(p: ExportProgress) -> None:
            if p.pages == 4:
                fake_refiner.faults.add("500", path="/responses")

        with pytest.raises(ServerError):
            await export(client, "responses", out, progress=break_server, **OPTIONS)
        checkpoint = ExportFiles.beside(out).load_checkpoint()
        assert checkpoint is not None
        assert checkpoint.pages >= 4
        with pytest.raises(ExportError, match="can be continued"):
            await export(client, "responses", out, **OPTIONS)
        fake_refiner.faults.clear()
        summary = await export(client, "responses", out, resume=True, **OPTIONS)
        assert summary.resumed_items == checkpoint.items
        await same_as_uninterrupted(out, client, tmp_path)


@pytest.mark.parametrize("interval", [0.0, 3600.0])
async def test_checkpoints_follow_the_interval(
    interval: float,
    tmp_path: Path,
    refiner_client: RefinerClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pages are checkpointed at most every CHECKPOINT_INTERVAL seconds, and at the last page; a
    stop of any kind checkpoints every page written before it."""
    saved: list[int] = []
    save = ExportFiles.save_checkpoint

    def recording(files: ExportFiles, checkpoint: Checkpoint) -> None:
        saved.append(checkpoint.pages)
        save(files, checkpoint)

    monkeypatch.setattr(run_module, "CHECKPOINT_INTERVAL", interval)
    monkeypatch.setattr(ExportFiles, "save_checkpoint", recording)
    out = tmp_path / "r.jsonl"
    await export(refiner_client, "responses", out, pagination="cursor", **OPTIONS)
    assert saved == ([0, *range(1, 19)] if interval == 0 else [0, 18])
    saved.clear()
    await interrupt_after(3, refiner_client, tmp_path / "i.jsonl", pagination="cursor")
    assert saved == ([0, 1, 2, 3] if interval == 0 else [0, 3])


async def test_resume_drops_a_half_written_page(
    tmp_path: Path, refiner_client: RefinerClient
) -> None:
    """Bytes written after the last checkpoint (a page cut short) are truncated away on resume."""
    out = tmp_path / "r.jsonl"
    await interrupt_after(2, refiner_client, out)
    files = ExportFiles.beside(out)
    files.partial.write_bytes(files.partial.read_bytes() + b'{"uuid": "half a li')
    await export(refiner_client, "responses", out, resume=True, **OPTIONS)
    await same_as_uninterrupted(out, refiner_client, tmp_path)


async def test_resume_refuses_another_query(tmp_path: Path, refiner_client: RefinerClient) -> None:
    """A checkpoint is resumed only by the same resource, format and filters."""
    out = tmp_path / "r.jsonl"
    await interrupt_after(1, refiner_client, out)
    with pytest.raises(ExportError, match="other include"):
        await export(
            refiner_client, "responses", out, resume=True, include="completed", page_length=PAGE
        )
    with pytest.raises(ExportError, match="other format"):
        await export(refiner_client, "responses", out, resume=True, format="csv", **OPTIONS)
    # overwrite starts again
    summary = await export(refiner_client, "responses", out, overwrite=True, **OPTIONS)
    assert summary.resumed_items == 0
    assert summary.items == 900


async def test_resume_without_checkpoint_starts_afresh(
    tmp_path: Path, refiner_client: RefinerClient
) -> None:
    """resume=True with nothing to resume is an ordinary export."""
    summary = await export(refiner_client, "segments", tmp_path / "s.jsonl", resume=True)
    assert summary.resumed_items == 0
    assert summary.items > 0


async def test_partial_shorter_than_checkpoint(
    tmp_path: Path, refiner_client: RefinerClient
) -> None:
    """A partial file that lost bytes the checkpoint counts is refused rather than padded."""
    out = tmp_path / "r.jsonl"
    await interrupt_after(2, refiner_client, out)
    files = ExportFiles.beside(out)
    files.partial.write_bytes(b"")
    with pytest.raises(ExportError, match="shorter than its checkpoint"):
        await export(refiner_client, "responses", out, resume=True, **OPTIONS)


async def test_existing_output_needs_overwrite(
    tmp_path: Path, refiner_client: RefinerClient
) -> None:
    """An existing output is kept unless overwrite=True, which replaces it only once complete."""
    out = tmp_path / "s.jsonl"
    out.write_text("keep me\n")
    with pytest.raises(ExportError, match="already exists"):
        await export(refiner_client, "segments", out)
    assert out.read_text() == "keep me\n"
    await interrupt_after(1, refiner_client, out, overwrite=True)
    assert out.read_text() == "keep me\n"  # still there while the new export is unfinished
    await export(refiner_client, "responses", out, overwrite=True, **OPTIONS)
    assert len(out.read_bytes().splitlines()) == 900


async def test_failure_before_any_page_leaves_nothing(
    tmp_path: Path, fake_refiner: FakeRefiner
) -> None:
    """A refused key fails the export before a page is written, leaving no partial file or checkpoint."""
    async with RefinerClient("wrong-key", base_url=fake_refiner.base_url) as client:
        with pytest.raises(AuthenticationError):
            await export(client, "responses", tmp_path / "r.jsonl")
    assert names(tmp_path) == []


async def test_unwritable_output_fails_before_any_request(
    tmp_path: Path, refiner_client: RefinerClient, fake_refiner: FakeRefiner
) -> None:
    """An output that cannot be created raises OSError before a request is sent."""
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError):
        await export(refiner_client, "responses", tmp_path / "file" / "r.jsonl")
    with pytest.raises(FileNotFoundError):
        await export(refiner_client, "responses", tmp_path / "missing" / "r.jsonl")
    assert fake_refiner.stats()["requests_total"] == 0


async def test_bad_arguments_raise_before_files(
    tmp_path: Path, refiner_client: RefinerClient
) -> None:
    """Unknown resources, formats and filters, and bad filter values, raise before any file is made."""
    out = tmp_path / "r.jsonl"
    with pytest.raises(InvalidParameterError, match="resource"):
        await export(refiner_client, "answers", out)
    with pytest.raises(InvalidParameterError, match="format"):
        await export(refiner_client, "responses", out, format="xlsx")
    with pytest.raises(InvalidParameterError, match="order_by: not a filter of responses"):
        await export(refiner_client, "responses", out, order_by="last_seen_at")
    with pytest.raises(InvalidParameterError, match="include"):
        await export(refiner_client, "responses", out, include="everything")
    with pytest.raises(InvalidParameterError, match="pagination"):
        await export(refiner_client, "responses", out, pagination="sideways")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="pagination: forms are read one way only"):
        await export(refiner_client, "forms", out, pagination="cursor")
    assert names(tmp_path) == []


async def test_parquet_without_pyarrow(
    tmp_path: Path, refiner_client: RefinerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without pyarrow, a Parquet export names the extra to install."""
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ExportError, match=r"pip install 'refiner-async\[parquet\]'"):
        await export(refiner_client, "responses", tmp_path / "r.parquet", format="parquet")
    assert names(tmp_path) == []


def test_checkpoint_reads_only_its_own_version(tmp_path: Path) -> None:
    """A checkpoint round-trips through JSON; another version or a damaged file is refused."""
    checkpoint = Checkpoint(resource="responses", format="csv", query={"include": "all"}, items=3)
    assert Checkpoint.from_json(checkpoint.to_json()) == checkpoint
    damaged = orjson.loads(checkpoint.to_json()) | {"version": 99}
    with pytest.raises(ValueError, match="version 99"):
        Checkpoint.from_json(orjson.dumps(damaged))
    with pytest.raises(ValueError, match="unexpected character"):
        Checkpoint.from_json(b"{not json")
    with pytest.raises(ValueError, match="unexpected"):
        Checkpoint.from_json(orjson.dumps({"version": 1, "unexpected": True}))


async def test_unreadable_checkpoint(tmp_path: Path, refiner_client: RefinerClient) -> None:
    """A checkpoint this version cannot read is reported, and overwrite starts again."""
    out = tmp_path / "s.jsonl"
    ExportFiles.beside(out).checkpoint.write_text("{}")
    with pytest.raises(ExportError, match="not a checkpoint this version can read"):
        await export(refiner_client, "segments", out, resume=True)
    await export(refiner_client, "segments", out, overwrite=True)
    assert out.exists()
