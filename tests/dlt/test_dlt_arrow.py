"""``refiner_source(arrow=True)``: pages as pyarrow Tables, loaded into a real DuckDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dlt
import orjson
import pyarrow as pa
import pytest

from refiner_async.dlt import arrow_table, column_hints
from refiner_async.errors import InvalidParameterError
from refiner_async.models import Contact, ContactRef, Form, FormRef, Response, Segment
from refiner_async.models.contacts import ContactAccount
from refiner_async.testing import FakeRefiner

from .test_dlt_source import (
    TABLES,
    completed,
    source,
)

DLT_COLUMNS = ("_dlt_id", "_dlt_load_id")


def pipeline_in(tmp_path: Path, name: str) -> Any:
    return dlt.pipeline(
        pipeline_name=name,
        destination=dlt.destinations.duckdb(str(tmp_path / f"{name}.duckdb")),
        pipelines_dir=str(tmp_path / "pipelines"),
        dataset_name="refiner",
    )


def columns_of(sql: Any, pipeline: Any, table: str) -> dict[str, str]:
    return {name: kind for name, kind, *_ in sql(pipeline, f"describe {table}")}


async def test_arrow_tables_load_what_rows_load(
    fake: FakeRefiner, clock: Any, run: Any, sql: Any, tmp_path: Path
) -> None:
    """Every table loaded from Arrow tables holds the rows, columns and column types the same load
    of dicts holds, dlt's own columns aside (which dlt adds to Arrow tables only when told)."""
    rows, arrow = pipeline_in(tmp_path, "rows"), pipeline_in(tmp_path, "arrow")
    await run(rows, source(fake, clock))
    await run(arrow, source(fake, clock, arrow=True))
    for table in TABLES:
        from_rows = columns_of(sql, rows, table)
        assert set(DLT_COLUMNS) <= set(from_rows)
        assert columns_of(sql, arrow, table) == {
            name: kind for name, kind in from_rows.items() if name not in DLT_COLUMNS
        }
        select = f"select * exclude (_dlt_id, _dlt_load_id) from {table} order by uuid"
        loaded = sql(rows, select)
        assert sql(arrow, select.replace(" exclude (_dlt_id, _dlt_load_id)", "")) == loaded
        assert loaded
    assert len(sql(arrow, "select uuid from responses")) == len(completed(fake))


async def test_an_initial_value_starts_an_arrow_load(
    fake: FakeRefiner, clock: Any, make_pipeline: Any, run: Any, sql: Any
) -> None:
    """``initial_value`` (ISO-8601 text) bounds the first Arrow load as it bounds a load of dicts."""
    start = clock() - timedelta(days=5)
    pipeline = make_pipeline()
    await run(
        pipeline, source(fake, clock, arrow=True, initial_value=f"{start:%Y-%m-%dT%H:%M:%SZ}")
    )
    expected = [u for u, at in completed(fake).items() if at >= start.timestamp()]
    assert 0 < len(expected) < len(completed(fake))
    loaded = sql(pipeline, "select uuid from responses")
    assert sorted(u for (u,) in loaded) == sorted(expected)


async def test_dlt_adds_its_columns_to_arrow_tables_when_told(
    fake: FakeRefiner,
    clock: Any,
    make_pipeline: Any,
    run: Any,
    sql: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With dlt's ``add_dlt_load_id`` and ``add_dlt_id`` set, the Arrow tables get both columns,
    filled, as the tables loaded from dicts have them."""
    monkeypatch.setenv("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")
    monkeypatch.setenv("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_ID", "true")
    pipeline = make_pipeline()
    await run(pipeline, source(fake, clock, arrow=True).with_resources("responses"))
    filled = sql(
        pipeline, "select count(*), count(_dlt_load_id), count(distinct _dlt_id) from responses"
    )
    assert filled == [(len(completed(fake)),) * 3]


def test_arrow_table_has_the_hinted_columns_in_order() -> None:
    """For every model the source loads, the table's columns are column_hints' in their order,
    whatever is null; timestamps are UTC, integers 64-bit, JSON columns text."""
    for model, item in (
        (Response, Response(uuid="r")),
        (Contact, Contact(uuid="c")),
        (Form, Form(uuid="f", name="NPS")),
        (Segment, Segment(uuid="s", name="Trial")),
    ):
        table = arrow_table([item], model)
        assert table.column_names == list(column_hints(model))
        assert table.num_rows == 1
    schema = arrow_table([Response(uuid="r")], Response).schema
    assert schema.field("completed_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("show_counter").type == pa.int64()
    assert schema.field("data").type == pa.string()
    assert schema.field("contact__account__attributes").type == pa.string()
    # nullable as the hints say, so that dlt finds nothing to override but the JSON type
    assert [schema.field(n).nullable for n in ("uuid", "form__uuid")] == [False, True]


def test_arrow_table_values_nulls_and_unknown_keys() -> None:
    """Values come from the models: timestamps in UTC, answers and attributes as JSON text, a null
    nested object as null columns; keys a model kept on ``extra`` are JSON columns at its path."""
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with_all = Response(
        uuid="r1",
        form=FormRef(uuid="f", name="NPS"),
        contact=ContactRef(
            uuid="c",
            email="a@b.c",
            account=ContactAccount(uuid="a", domain="b.c", attributes={"plan": "pro"}),
            extra={"tier": {"level": 2}},
        ),
        data={"nps": 9, "why": ["a", "b"]},
        completed_at=at,
        show_counter=3,
        extra={"channel": "web"},
    )
    bare = Response(uuid="r2")
    alone = arrow_table([bare, Response(uuid="r3", extra={"note": None})], Response)
    assert alone.schema.field("note").type == pa.string()  # an unknown key null in every row
    table = arrow_table([with_all, bare], Response).to_pydict()
    assert table["uuid"] == ["r1", "r2"]
    assert table["completed_at"] == [at, None]
    assert table["show_counter"] == [3, None]
    assert table["contact__account__domain"] == ["b.c", None]
    assert [orjson.loads(t) if t else t for t in table["data"]] == [
        {"nps": 9, "why": ["a", "b"]},
        {},
    ]
    assert table["contact__account__attributes"][0] == '{"plan":"pro"}'
    assert table["form__name"] == ["NPS", None]
    assert table["channel"] == ['"web"', None]
    assert table["contact__tier"] == ['{"level":2}', None]
    assert list(table)[-2:] == ["channel", "contact__tier"]


def test_arrow_and_its_initial_value_are_checked(fake: FakeRefiner, clock: Any) -> None:
    """``arrow`` other than True or False is refused naming it, and with Arrow tables an
    ``initial_value`` that is no ISO-8601 time naming that, before anything is sent."""
    with pytest.raises(InvalidParameterError, match=r"^arrow: expected True or False, got 'yes'"):
        source(fake, clock, arrow="yes")
    with pytest.raises(InvalidParameterError, match=r"^initial_value: not an ISO-8601"):
        source(fake, clock, arrow=True, initial_value="last week")
    assert fake.stats()["requests"] == {}


@pytest.mark.usefixtures("no_pyarrow")
def test_arrow_without_pyarrow_is_refused(fake: FakeRefiner, clock: Any) -> None:
    """``arrow=True`` without pyarrow is refused naming arrow, before anything is sent."""
    with pytest.raises(InvalidParameterError, match=r"^arrow: Arrow tables need pyarrow"):
        source(fake, clock, arrow=True, file_format=None)
    assert source(fake, clock, file_format=None) is not None
    assert fake.stats()["requests"] == {}
