"""Every format holds exactly the emulator's items: same count, same uuids, values that read back."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from refiner_async import Contact, ExportSummary, Form, RefinerClient, Response, Segment, export
from refiner_async._converters import structure
from refiner_async._export import _run as run_module
from refiner_async._export import _tables as tables
from refiner_async.testing import FakeRefiner


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


pytestmark = [
    pytest.mark.usefixtures("instant"),
    pytest.mark.fake_refiner(seed=5, responses=600, contacts=150, forms=6, segments=4),
]

FORMATS = ("jsonl", "csv", "parquet")
MODELS = {"responses": Response, "contacts": Contact, "forms": Form, "segments": Segment}
OPTIONS: dict[str, dict[str, Any]] = {
    "responses": {"include": "all", "with_attributes": True},
    "contacts": {},
    "forms": {"state": "all_with_archived", "include_info": True, "include_config": True},
    "segments": {},
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("resource", list(MODELS))
async def test_every_resource_round_trips_in_every_format(
    resource: str, fmt: str, tmp_path: Path, refiner_client: RefinerClient, rows: Any
) -> None:
    """Each resource exported in each format reads back with the listed items' count and uuids, in order."""
    lister = getattr(refiner_client, resource).list
    listed = await lister(**OPTIONS[resource]).collect()
    out = tmp_path / f"{resource}.{fmt}"
    summary = await export(
        refiner_client, resource, out, format=fmt, page_length=97, **OPTIONS[resource]
    )
    read = rows(out, fmt)
    assert [row["uuid"] for row in read] == [item.uuid for item in listed]
    assert summary.items == len(listed) > 0
    assert summary.pages == -(-len(listed) // 97)
    assert names(tmp_path) == [out.name]  # no partial, no checkpoint


async def test_jsonl_lines_are_the_api_objects(
    tmp_path: Path, refiner_client: RefinerClient, rows: Any
) -> None:
    """JSONL holds one API object per line, exactly as the API sent it (field order, timestamp
    formats, unknown fields), and each line reads back into an equal model."""
    query: dict[str, Any] = {"include": "all", "with_attributes": True}
    listed = await refiner_client.responses.list(**query).collect()
    sent = await refiner_client.responses.list(**query).raw().collect()
    out = tmp_path / "r.jsonl"
    await export(refiner_client, "responses", out, **query)
    lines = out.read_bytes().splitlines()
    assert [orjson.loads(line) for line in lines] == sent
    assert [structure(orjson.loads(line), Response) for line in lines] == listed


async def test_csv_columns_are_dotted_and_grouped(
    tmp_path: Path, refiner_client: RefinerClient, fake_refiner: FakeRefiner
) -> None:
    """CSV columns follow the model with nested fields dotted and every data.* column together."""
    listed = await refiner_client.responses.list(include="all").collect()
    out = tmp_path / "r.csv"
    await export(refiner_client, "responses", out, format="csv", include="all")
    header, *body = csv.reader(out.read_text(encoding="utf-8").splitlines())
    assert header[:3] == ["uuid", "form.uuid", "form.name"]
    assert "contact.account.domain" in header
    data = [i for i, name in enumerate(header) if name.startswith("data.")]
    assert data == list(range(data[0], data[0] + len(data)))  # contiguous
    assert header[data[-1] + 1 :] == [
        "first_shown_at",
        "last_shown_at",
        "show_counter",
        "first_data_reception_at",
        "last_data_reception_at",
        "completed_at",
        "received_at",
        "dismissed_at",
    ]
    assert len(body) == len(listed)
    for row, response in zip(body, listed, strict=True):
        cells = dict(zip(header, row, strict=True))
        for key, value in response.data.items():
            expected = value if isinstance(value, str) else orjson.dumps(value).decode()
            assert cells[f"data.{key}"] == expected
        assert cells["completed_at"] == (
            "" if response.completed_at is None else response.completed_at.isoformat()[:-6] + "Z"
        )


async def test_parquet_types(
    tmp_path: Path, refiner_client: RefinerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parquet keeps the model's timestamps as UTC timestamps and answers as numbers or text."""
    listed = await refiner_client.responses.list(include="all").collect()
    out = tmp_path / "r.parquet"
    monkeypatch.setattr(tables, "ROWS_PER_GROUP", 250)
    await export(refiner_client, "responses", out, format="parquet", include="all", page_length=200)
    table = pq.read_table(out)
    assert pq.ParquetFile(out).metadata.num_row_groups == -(-len(listed) // 250)
    assert table.schema.field("completed_at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("show_counter").type == pa.int64()
    assert table.schema.field("data.nps").type == pa.int64()
    assert table.column("uuid").to_pylist() == [r.uuid for r in listed]
    completed = table.column("completed_at").to_pylist()
    assert completed == [r.completed_at for r in listed]
    assert all(c is None or c.tzinfo is not None for c in completed)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("resource", list(MODELS))
async def test_tables_take_the_columns_seen_while_writing(
    resource: str, fmt: str, tmp_path: Path, refiner_client: RefinerClient, monkeypatch: Any
) -> None:
    """A table's columns are observed as the export writes its pages: the conversion then reads
    the JSON Lines once, and writes what a first pass over that same file would have found."""
    write = tables.write_csv if fmt == "csv" else tables.write_parquet
    from_file = tmp_path / "checks" / f"from_file.{fmt}"
    from_file.parent.mkdir()
    observed: list[object] = []
    reads: list[Path] = []
    read_rows = tables._rows

    def counting(source: Path) -> Any:
        reads.append(source)
        return read_rows(source)

    def both(source: Path, target: Path, model: type, *, columns: Any = None) -> int:
        write(source, from_file, model)  # collects the columns from the file first
        observed.append(columns)
        reads.clear()
        return write(source, target, model, columns=columns)

    monkeypatch.setattr(tables, "_rows", counting)
    monkeypatch.setattr(run_module, "write_csv" if fmt == "csv" else "write_parquet", both)
    out = tmp_path / f"{resource}.{fmt}"
    summary = await export(
        refiner_client, resource, out, format=fmt, page_length=97, **OPTIONS[resource]
    )
    assert summary.items > 0
    assert len(observed) == 1
    assert observed[0] is not None
    assert len(reads) == 1  # the rows, once: no pass to collect the columns
    if fmt == "csv":
        assert out.read_bytes() == from_file.read_bytes()
    else:
        table, expected = pq.read_table(out), pq.read_table(from_file)
        assert table.schema == expected.schema
        assert table.equals(expected)


async def test_empty_export_has_the_model_columns(
    tmp_path: Path, refiner_client: RefinerClient, rows: Any
) -> None:
    """An export that matches nothing writes an empty JSONL file, a CSV header and an empty Parquet table."""
    for fmt in FORMATS:
        out = tmp_path / f"none.{fmt}"
        summary = await export(
            refiner_client, "responses", out, format=fmt, search="no such text anywhere"
        )
        assert summary.items == 0
        assert rows(out, fmt) == []
    assert (tmp_path / "none.jsonl").read_bytes() == b""
    header = (tmp_path / "none.csv").read_text().splitlines()[0]
    assert header.startswith("uuid,form.uuid,form.name,contact.uuid")
    assert "completed_at" in pq.read_table(tmp_path / "none.parquet").column_names


async def test_max_items_and_summary(tmp_path: Path, refiner_client: RefinerClient) -> None:
    """max_items stops the export there; the summary counts items, pages, requests and rate."""
    out = tmp_path / "r.jsonl"
    summary = await export(
        refiner_client, "responses", out, include="all", page_length=100, max_items=250
    )
    assert isinstance(summary, ExportSummary)
    assert len(out.read_bytes().splitlines()) == summary.items == 250
    assert summary.pages == 3
    assert summary.requests == 3
    assert summary.bytes == out.stat().st_size
    assert summary.items_per_second > 0
    assert summary.resumed_items == 0
    text = str(summary)
    assert text.startswith(f"Exported 250 responses to {out} (jsonl, ")
    assert "3 pages" in text
    assert "items/s" in text
    assert "429s" in text


async def test_retries_and_429s_in_summary(
    tmp_path: Path, refiner_client: RefinerClient, fake_refiner: FakeRefiner
) -> None:
    """Retried 503s and a 429 are counted in the summary, and no item is lost or doubled."""
    fake_refiner.faults.add("503", path="/responses", times=2)
    fake_refiner.faults.add("429", path="/responses", times=1, retry_after=0)
    out = tmp_path / "r.jsonl"
    summary = await export(refiner_client, "responses", out, include="all", page_length=100)
    uuids = [orjson.loads(line)["uuid"] for line in out.read_bytes().splitlines()]
    assert sorted(uuids) == sorted(fake_refiner.all_response_uuids(include="all"))
    assert summary.retries == 3
    assert summary.rate_limited == 1


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("2026-12-03 22:26:20", "2026-12-03T22:26:20Z"),
        ("2026-12-03T22:26:20.000000Z", "2026-12-03T22:26:20Z"),
        ("2026-12-03 22:26:20+02:00", "2026-12-03T20:26:20Z"),
        ("0000-00-00 00:00:00", ""),
        ("2026-13-03 22:26:20", "2026-13-03 22:26:20"),
        ("2026-02-29 10:00:00", "2026-02-29 10:00:00"),
        ("2026-12-03 22:26:2x", "2026-12-03 22:26:2x"),
        (None, ""),
        (1767225600, "2026-01-01T00:00:00Z"),
    ],
)
def test_csv_timestamp_cells(value: object, cell: str) -> None:
    """A timestamp cell: the time in UTC with a Z, empty for none, a value that is not a time as
    its text."""
    from refiner_async._export._tables import _timestamp_text

    assert _timestamp_text(value) == cell


def test_exported_times_are_utc() -> None:
    """The timestamps written are the models' instants, in UTC with a Z."""
    from refiner_async._converters import format_timestamp

    assert format_timestamp(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05Z"
    assert format_timestamp(datetime(2026, 1, 2, 3, 4, 5, 600)) == "2026-01-02T03:04:05.000600Z"
