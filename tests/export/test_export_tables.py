"""Column rules of the CSV and Parquet files, the progress lines and the summary text (no HTTP)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from refiner_async import Contact, ExportProgress, ExportSummary, Segment
from refiner_async._export import PlainProgress, describe, format_seconds
from refiner_async._export import _tables as tables
from refiner_async._export._tables import Columns, csv_line, write_csv, write_parquet


def jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r, option=orjson.OPT_APPEND_NEWLINE) for r in rows))
    return path


ROWS: list[dict[str, Any]] = [
    {"uuid": "a", "name": None, "is_manual": True, "meta": {"x": 1, "tags": ["p", "q"]}},
    {"uuid": "b", "name": "B", "is_manual": False, "meta": "flat", "late": 2**63 + 5},
    {"uuid": "c", "name": "C", "is_manual": None, "meta": {"y": 1.5, "x": 2}, "empty": {}},
]


def test_columns_follow_the_model_then_first_appearance() -> None:
    """Model fields first in their order, open keys nested in place by first appearance."""
    columns = Columns(Segment)
    assert columns.names() == ["uuid", "name", "is_manual"]
    for row in ROWS:
        columns.observe(row)
    names = columns.names()
    assert names == [
        "uuid",
        "name",
        "is_manual",
        "meta",
        "meta.x",
        "meta.tags",
        "meta.y",
        "late",
        "empty",
    ]
    assert columns.cells(ROWS[0]) == ["a", None, True, None, 1, ["p", "q"], None, None, None]
    assert columns.cells(ROWS[1])[3] == "flat"  # an object elsewhere, a scalar here


def test_csv_cells(tmp_path: Path) -> None:
    """CSV cells: empty for null, true/false, numbers as written, JSON for lists, objects and big ints."""
    target = tmp_path / "s.csv"
    assert write_csv(jsonl(tmp_path / "s.jsonl", ROWS), target, Segment) == 3
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert rows[0]["name"] == ""
    assert rows[0]["is_manual"] == "true"
    assert rows[0]["meta.tags"] == '["p","q"]'
    assert rows[1]["late"] == str(2**63 + 5)
    assert rows[2]["meta.y"] == "1.5"
    assert rows[2]["empty"] == "{}"


def csv_module_line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(cells)
    return out.getvalue()


def test_csv_line_is_the_csv_modules_line() -> None:
    """Lines are exactly what csv.writer writes, whatever character (any of the first 256, a quote,
    a line break, a comma) the cells hold, alone, first, last or among empty cells."""
    samples = ["", " ", "a", "é", "☃", "a b", "1.5", "true", '["p","q"]', '""', "x\x00y"]
    samples += [f"a{chr(c)}b" for c in range(256)] + [chr(c) for c in range(256)]
    layouts: list[list[str]] = [[]]
    for first in samples:
        layouts += [[first], [first, "z"], ["z", first], [first, ""], ["", first, ""], [first] * 3]
    for cells in layouts:
        assert csv_line(cells) == csv_module_line(cells), cells


def test_csv_rows_are_what_the_csv_module_writes(tmp_path: Path) -> None:
    """A file mixing plain rows with rows whose cells need quoting reads back cell for cell, and is
    byte for byte what csv.writer writes for the same cells."""
    texts = ["plain", 'say "hi"', "a,b", "two\nlines", "cr\rhere", "", "é ☃"]
    rows = [{"uuid": f"u{i}", "name": t, "is_manual": i % 2 == 0} for i, t in enumerate(texts)]
    rows += [
        {"uuid": f"v{i}", "name": None, "meta": {"tags": ["x", t]}} for i, t in enumerate(texts)
    ]
    target = tmp_path / "q.csv"
    assert write_csv(jsonl(tmp_path / "q.jsonl", rows), target, Segment) == len(rows)
    written = target.read_bytes().decode()
    expected = io.StringIO()
    writer = csv.writer(expected)
    writer.writerow(["uuid", "name", "is_manual", "meta.tags"])
    for i, t in enumerate(texts):
        writer.writerow([f"u{i}", t, "true" if i % 2 == 0 else "false", ""])
    for i, t in enumerate(texts):
        writer.writerow([f"v{i}", "", "", orjson.dumps(["x", t]).decode()])
    assert written == expected.getvalue()
    back = list(csv.reader(io.StringIO(written, newline="")))
    assert [r[1] for r in back[1:8]] == texts


# The API writes contacts' times with microseconds and a Z; responses' without a zone.
TIMES: list[dict[str, Any]] = [
    {"uuid": "a", "first_seen_at": "2020-09-02T20:44:24.000000Z", "last_seen_at": None},
    {"uuid": "b", "first_seen_at": "2020-09-02 21:53:33", "last_seen_at": "0000-00-00 00:00:00"},
    {"uuid": "c", "first_seen_at": 1599079464, "last_seen_at": "soon", "remote_id": "x"},
]


def test_timestamps_in_one_form(tmp_path: Path) -> None:
    """The model's timestamps, whatever form the API wrote them in, are ISO-8601 UTC in CSV and
    timestamps in Parquet; a value that is not a time is its text in CSV, and makes the Parquet
    column text, as the API sent it."""
    rows = jsonl(tmp_path / "c.jsonl", TIMES)
    write_csv(rows, tmp_path / "c.csv", Contact)
    cells = list(csv.DictReader(io.StringIO((tmp_path / "c.csv").read_text())))
    assert [c["first_seen_at"] for c in cells] == [
        "2020-09-02T20:44:24Z",
        "2020-09-02T21:53:33Z",
        "2020-09-02T20:44:24Z",
    ]
    assert [c["last_seen_at"] for c in cells] == ["", "", "soon"]  # a zero date is no time
    write_parquet(rows, tmp_path / "c.parquet", Contact, rows_per_group=10)
    table = pq.read_table(tmp_path / "c.parquet")
    assert table.schema.field("first_seen_at").type == pa.timestamp("us", tz="UTC")
    assert table.column("first_seen_at").to_pylist() == [
        datetime(2020, 9, 2, 20, 44, 24, tzinfo=UTC),
        datetime(2020, 9, 2, 21, 53, 33, tzinfo=UTC),
        datetime(2020, 9, 2, 20, 44, 24, tzinfo=UTC),
    ]
    assert table.schema.field("last_seen_at").type == pa.string()
    assert table.column("last_seen_at").to_pylist() == [None, "0000-00-00 00:00:00", "soon"]


def test_timestamps_of_one_form_read_by_arrow(tmp_path: Path) -> None:
    """Columns holding one form of the API's times (as they usually do) read the same times."""
    rows = [
        {
            "uuid": "a",
            "first_seen_at": "2020-09-02 21:53:33",
            "last_seen_at": "2021-01-01T00:00:00Z",
        },
        {"uuid": "b", "first_seen_at": None, "last_seen_at": "2021-01-01T01:30:00.250000+01:00"},
        {"uuid": "c", "first_seen_at": "2020-09-03 00:00:01", "last_seen_at": None},
    ]
    write_parquet(
        jsonl(tmp_path / "c.jsonl", rows), tmp_path / "c.parquet", Contact, rows_per_group=2
    )
    table = pq.read_table(tmp_path / "c.parquet")
    assert table.column("first_seen_at").to_pylist() == [
        datetime(2020, 9, 2, 21, 53, 33, tzinfo=UTC),
        None,
        datetime(2020, 9, 3, 0, 0, 1, tzinfo=UTC),
    ]
    assert table.column("last_seen_at").to_pylist() == [
        datetime(2021, 1, 1, tzinfo=UTC),
        datetime(2021, 1, 1, 0, 30, 0, 250000, tzinfo=UTC),
        None,
    ]


def test_parquet_kinds(tmp_path: Path) -> None:
    """Parquet column types come from the values: ints and floats mix to double, mixtures to text."""
    target = tmp_path / "s.parquet"
    assert write_parquet(jsonl(tmp_path / "s.jsonl", ROWS), target, Segment, rows_per_group=2) == 3
    table = pq.read_table(target)
    types = {field.name: field.type for field in table.schema}
    assert types["is_manual"] == pa.bool_()
    assert types["meta"] == pa.string()
    assert types["meta.x"] == pa.int64()
    assert types["meta.y"] == pa.float64()
    assert types["late"] == pa.string()  # beyond int64
    assert table.column("meta.tags").to_pylist() == ['["p","q"]', None, None]
    assert pq.ParquetFile(target).metadata.num_row_groups == 2


def test_parquet_row_groups_from_batches(tmp_path: Path, monkeypatch: Any) -> None:
    """A row group is built from several Arrow batches (the last one short) and is the same file
    as one built from a single batch: each batch's timestamps are read in the form that batch
    holds, by Arrow or (forms mixed) value by value."""
    times = [
        "2020-09-02 21:53:33",
        "2021-01-01T00:00:00Z",
        None,
        "2020-09-03 00:00:01",
        "2021-01-01T01:30:00.250000+01:00",
    ]
    rows = [
        {"uuid": f"u{n}", "first_seen_at": times[n % 5], "attributes": {"n": n}} for n in range(12)
    ]
    source = jsonl(tmp_path / "c.jsonl", rows)
    whole, batched = tmp_path / "whole.parquet", tmp_path / "batched.parquet"
    assert write_parquet(source, whole, Contact, rows_per_group=5) == 12
    monkeypatch.setattr(tables, "ROWS_PER_BATCH", 2)  # groups of 5: batches of 2, 2 and 1
    assert write_parquet(source, batched, Contact, rows_per_group=5) == 12
    assert batched.read_bytes() == whole.read_bytes()
    meta = pq.ParquetFile(batched).metadata
    assert [meta.row_group(g).num_rows for g in range(meta.num_row_groups)] == [5, 5, 2]
    table = pq.read_table(batched)
    assert table.column("attributes.n").to_pylist() == list(range(12))
    assert table.column("first_seen_at").to_pylist()[:5] == [
        datetime(2020, 9, 2, 21, 53, 33, tzinfo=UTC),
        datetime(2021, 1, 1, tzinfo=UTC),
        None,
        datetime(2020, 9, 3, 0, 0, 1, tzinfo=UTC),
        datetime(2021, 1, 1, 0, 30, 0, 250000, tzinfo=UTC),
    ]


def test_parquet_memory_pool_without_jemalloc() -> None:
    """A pyarrow built without jemalloc converts with the system allocator's pool."""

    class NoJemalloc:
        def jemalloc_memory_pool(self) -> Any:
            raise NotImplementedError("built without jemalloc")

        system_memory_pool = staticmethod(pa.system_memory_pool)

    assert tables._memory_pool(NoJemalloc()).backend_name == "system"
    assert tables._memory_pool(pa).backend_name in {"jemalloc", "system"}


def test_progress_lines() -> None:
    """Plain progress writes a line for the first page, then at most one per interval."""
    stream = io.StringIO()
    report = PlainProgress(stream, interval=3600)
    for items in (100, 200, 300):
        report(
            ExportProgress("responses", items=items, total=1000, pages=items // 100, seconds=1.0)
        )
    lines = stream.getvalue().splitlines()
    assert lines == ["responses: 100 of 1,000 (10%), 100 items/s, about 9.0 s left"]
    resumed = ExportProgress("forms", items=50, total=None, pages=1, seconds=0.0, resumed_items=40)
    assert describe(resumed) == "forms: 50, 0 items/s"
    assert resumed.eta_seconds is None


def test_durations_and_summary() -> None:
    """Durations read naturally; the summary names items, pages, rate, retries and 429s."""
    assert [format_seconds(s) for s in (4.25, 185, 3725)] == ["4.2 s", "3 min 05 s", "1 h 02 min"]
    summary = ExportSummary(
        resource="responses",
        path=Path("out.csv"),
        format="csv",
        items=50_000,
        pages=50,
        seconds=2.0,
        bytes=31_400_000,
        resumed_items=10_000,
        requests=53,
        retries=3,
        rate_limited=1,
        rate_limit_wait=1.04,
    )
    assert summary.items_per_second == 20_000
    assert str(summary) == (
        "Exported 50,000 responses to out.csv (csv, 31.4 MB, 10,000 of them from before the resume)\n"
        "  50 pages in 2.0 s: 20,000 items/s; 53 requests, 3 retries, 1 429s (waited 1.0 s)"
    )
