"""``refiner_async.dlt.refiner_source``: runs into a real DuckDB, incremental state, failing runs."""

from __future__ import annotations

import logging
import math
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dlt
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from refiner_async import RefinerClient
from refiner_async.dlt import (
    _pages,
    _SharedClient,
    column_hints,
    nested_paths,
    refiner_source,
    without_null_objects,
)
from refiner_async.errors import InvalidParameterError
from refiner_async.models import Response
from refiner_async.testing import FakeRefiner

LOOKBACK = 300.0
SETTLE = 60.0


def source(fake: FakeRefiner, clock: Any, **options: Any) -> Any:
    """The source as a user configures it: the key from dlt's secrets, not from code."""
    options.setdefault("client_options", {"max_retries": 0})
    return refiner_source(
        base_url=fake.base_url, lookback=LOOKBACK, settle=SETTLE, clock=clock, **options
    )


def files_under(root: Path) -> dict[str, bytes]:
    """Every file dlt wrote under ``root``, by path."""
    out = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder, name)
            out[str(path)] = path.read_bytes()
    return out


def bookmark(pipeline: Any) -> Any:
    """The last value dlt keeps for the responses' cursor."""
    resources = pipeline.state["sources"]["refiner"]["resources"]
    return resources["responses"]["incremental"]["last_data_reception_at"]["last_value"]


def responses_requests(fake: FakeRefiner) -> int:
    return sum(fake.stats()["requests"].get("/v1/responses", {}).values())


def completed(fake: FakeRefiner) -> dict[str, int]:
    return {r.uuid: r.sort_at for r in fake.store.lists["completed"]}


def received_at(sql: Any, pipeline: Any, uuids: list[str], moment: datetime) -> int:
    """How many of ``uuids`` the responses table holds as last received at ``moment``."""
    rows = sql(
        pipeline,
        "select count(*) from responses where uuid in ({}) and last_data_reception_at = '{}'".format(
            ",".join(f"'{u}'" for u in uuids), f"{moment:%Y-%m-%d %H:%M:%S}+00"
        ),
    )
    count: int = rows[0][0]
    return count


@pytest.mark.parametrize("arrow", [False, True], ids=["dicts", "arrow"])
async def test_two_runs_with_inserts_merge_to_the_emulators_responses(
    fake: FakeRefiner, clock: Any, make_pipeline: Any, run: Any, sql: Any, arrow: bool
) -> None:
    """Two runs with inserts and growing responses between them: one row per live uuid (no
    duplicate), contacts, forms and segments complete, and dlt's state holds the bookmark (the
    newest reception time: ISO-8601 text, or a datetime for Arrow tables)."""

    def moment(at: datetime) -> str | datetime:
        return at if arrow else f"{at:%Y-%m-%dT%H:%M:%SZ}"

    pipeline = make_pipeline()
    await run(pipeline, source(fake, clock, arrow=arrow))
    assert sql(pipeline, "select count(*) from responses")[0][0] == len(completed(fake))
    newest = max(completed(fake).values())
    assert bookmark(pipeline) == moment(datetime.fromtimestamp(newest, UTC))

    fake.insert_responses(40)
    grown = fake.live_response_uuids()[200:203]
    for uuid in grown:
        fake.receive_data(uuid, clock())
    clock.advance(600)
    fake.reset_stats()
    await run(make_pipeline(), source(fake, clock, page_length=20, arrow=arrow))
    rows, distinct = sql(pipeline, "select count(*), count(distinct uuid) from responses")[0]
    assert rows == distinct == len(completed(fake))
    assert sql(pipeline, "select count(*) from contacts")[0][0] == len(fake.store.contacts)
    assert sql(pipeline, "select count(*) from forms")[0][0] == len(fake.store.forms)
    assert sql(pipeline, "select count(*) from segments")[0][0] == len(fake.store.segments)
    # only the new rows and the lag were read: 43 rows in pages of 20
    assert responses_requests(fake) == math.ceil(43 / 20)
    assert bookmark(make_pipeline()) == moment(clock() - timedelta(seconds=600))
    assert received_at(sql, pipeline, grown, clock() - timedelta(seconds=600)) == 3


async def test_a_failing_run_does_not_advance_dlts_state(
    fake: FakeRefiner, clock: Any, make_pipeline: Any, run: Any, sql: Any
) -> None:
    """An API error mid-run fails pipeline.run; dlt's state keeps the previous bookmark (on disk and
    at the destination), so the next run reads the same range again and misses nothing."""
    pipeline = make_pipeline()
    await run(pipeline, source(fake, clock))
    before = bookmark(pipeline)
    rows_before = sql(pipeline, "select count(*) from responses")[0][0]

    fake.insert_responses(120)
    clock.advance(600)
    fake.faults.add(500, path="/responses", after=1, times=1)  # the second page
    with pytest.raises(PipelineStepFailed):
        await run(make_pipeline(), source(fake, clock, page_length=50))
    assert fake.faults.rules[0].fired == 1
    assert bookmark(make_pipeline()) == before
    assert sql(pipeline, "select count(*) from responses")[0][0] == rows_before

    await run(make_pipeline(), source(fake, clock, page_length=50))
    rows, distinct = sql(pipeline, "select count(*), count(distinct uuid) from responses")[0]
    assert rows == distinct == len(completed(fake))
    assert bookmark(make_pipeline()) > before


async def test_never_filled_columns_have_their_model_types(
    fake: FakeRefiner, clock: Any, make_pipeline: Any, run: Any, sql: Any
) -> None:
    """Columns null in every loaded row (dismissed_at on completed responses) exist with the type the
    model gives them; answers stay JSON."""
    pipeline = make_pipeline()
    await run(pipeline, source(fake, clock).with_resources("responses"))
    types = dict((name, kind) for name, kind, *_ in sql(pipeline, "describe responses"))
    assert sql(pipeline, "select count(dismissed_at) from responses")[0][0] == 0
    assert types["dismissed_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["data"] == "JSON"
    assert types["form__uuid"] == "VARCHAR"
    assert types["show_counter"] == "BIGINT"


TABLES = ("responses", "contacts", "forms", "segments")


async def test_parquet_load_files_hold_what_dlts_default_loads(
    fake: FakeRefiner, clock: Any, run: Any, sql: Any, tmp_path: Path
) -> None:
    """By default every resource writes Parquet load files; the tables then hold exactly what the
    same load holds through the destination's own default (SQL inserts, for DuckDB)."""
    loaded: dict[str | None, dict[str, list[tuple[Any, ...]]]] = {}
    for file_format in ("parquet", None):
        pipeline = dlt.pipeline(
            pipeline_name=f"refiner_{file_format}",
            destination=dlt.destinations.duckdb(str(tmp_path / f"{file_format}.duckdb")),
            pipelines_dir=str(tmp_path / "pipelines"),
            dataset_name="refiner",
        )
        options = {} if file_format else {"file_format": None}
        info = await run(pipeline, source(fake, clock, **options))
        written = {
            job.job_file_info.file_format
            for package in info.load_packages
            for job in package.jobs["completed_jobs"]
            if job.job_file_info.table_name in TABLES
        } - {"sql"}  # the merge's statements
        assert written == {file_format or "insert_values"}
        loaded[file_format] = {
            table: sql(
                pipeline, f"select * exclude (_dlt_id, _dlt_load_id) from {table} order by uuid"
            )
            for table in TABLES
        }
    assert loaded["parquet"] == loaded[None]
    assert len(loaded["parquet"]["responses"]) == len(completed(fake))


async def test_tables_loaded_from_sql_inserts_take_parquet_loads_after(
    fake: FakeRefiner, clock: Any, make_pipeline: Any, run: Any, sql: Any
) -> None:
    """A pipeline whose tables were loaded from SQL inserts (file_format=None, as the source wrote
    before Parquet) merges the next runs' Parquet load files into them: one row per uuid."""
    pipeline = make_pipeline()
    await run(pipeline, source(fake, clock, file_format=None))
    fake.insert_responses(30)
    grown = fake.live_response_uuids()[100:102]
    for uuid in grown:
        fake.receive_data(uuid, clock())
    clock.advance(600)
    await run(make_pipeline(), source(fake, clock))
    rows, distinct = sql(pipeline, "select count(*), count(distinct uuid) from responses")[0]
    assert rows == distinct == len(completed(fake))
    assert sql(pipeline, "select count(*) from contacts")[0][0] == len(fake.store.contacts)
    assert received_at(sql, pipeline, grown, clock() - timedelta(seconds=600)) == 2


async def test_null_nested_objects_load_as_null_columns(
    fake: FakeRefiner, clock: Any, make_pipeline: Any, run: Any, sql: Any
) -> None:
    """A contact without an account reaches dlt without the key, not as null (which dlt would keep
    as a column of its own that never holds a value, and warn about on every load); its
    contact__account__* columns load as null."""
    without_account = {r.uuid for r in fake.store.lists["completed"] if r.contact.account is None}
    assert without_account  # the data set has some
    shared = _SharedClient(lambda: RefinerClient(fake.api_key, base_url=fake.base_url))
    pages = _pages(shared, lambda client: client.responses.list(), Response)
    rows = [row async for page in pages for row in page]  # what the responses resource yields
    assert {row["uuid"] for row in rows if "account" not in row["contact"]} == without_account
    assert all(row["contact"].get("account", ...) is not None for row in rows)
    pipeline = make_pipeline()
    await run(pipeline, source(fake, clock))
    null_accounts = sql(pipeline, "select uuid from responses where contact__account__uuid is null")
    assert {uuid for (uuid,) in null_accounts} == without_account
    columns = {name for name, *_ in sql(pipeline, "describe responses")}
    assert "contact__account__domain" in columns


def test_null_objects_are_left_out_at_any_depth() -> None:
    """without_null_objects drops null nested objects, parents first, and leaves the rest as it is."""
    paths = nested_paths(Response)
    assert paths == [("form",), ("contact",), ("contact", "account")]
    row: dict[str, Any] = {"uuid": "r", "form": None, "contact": {"uuid": "c", "account": None}}
    assert without_null_objects(row, paths) == {"uuid": "r", "contact": {"uuid": "c"}}
    assert without_null_objects({"contact": None}, paths) == {}
    kept = {"form": {"uuid": "f"}, "contact": {"account": {"uuid": "a"}}, "data": None}
    assert without_null_objects(dict(kept), paths) == kept


def test_file_format_is_checked_before_anything_is_sent(fake: FakeRefiner, clock: Any) -> None:
    """A load file format dlt does not know is refused naming file_format when the source is
    built."""
    with pytest.raises(InvalidParameterError, match=r"^file_format: expected None or one of"):
        source(fake, clock, file_format="xlsx")
    assert fake.stats()["requests"] == {}


@pytest.mark.usefixtures("no_pyarrow")
def test_parquet_without_pyarrow_is_refused_before_anything_is_sent(
    fake: FakeRefiner, clock: Any
) -> None:
    """Parquet load files without pyarrow are refused naming file_format; None is taken."""
    with pytest.raises(
        InvalidParameterError, match=r"^file_format: Parquet load files need pyarrow"
    ):
        source(fake, clock)
    assert source(fake, clock, file_format=None) is not None
    assert fake.stats()["requests"] == {}


def test_column_hints_follow_the_model() -> None:
    """column_hints: scalar fields typed, nested models flattened with __, mappings as JSON, the
    primary key not nullable, unknown extras left to dlt."""
    hints = column_hints(Response)
    assert hints["uuid"] == {"name": "uuid", "data_type": "text", "nullable": False}
    assert hints["last_data_reception_at"]["data_type"] == "timestamp"
    assert hints["contact__account__domain"]["data_type"] == "text"
    assert hints["contact__attributes"]["data_type"] == "json"
    assert "extra" not in hints
    assert "contact" not in hints


async def test_the_key_comes_from_secrets_and_is_never_written(
    fake: FakeRefiner,
    clock: Any,
    make_pipeline: Any,
    run: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The source reads the key from dlt's secrets; it appears in no file dlt writes (state, trace,
    schemas, load packages), in no log line of the SDK or dlt at debug level, nor in any repr."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="refiner_async")
    pipeline = make_pipeline()
    src = source(fake, clock)
    await run(pipeline, src)
    assert any(r.name.startswith("refiner_async") for r in caplog.records)  # the SDK did log
    assert fake.api_key not in caplog.text
    assert fake.api_key not in repr(src)
    assert fake.api_key not in str(pipeline.last_trace)
    written = files_under(tmp_path / "pipelines")
    assert len(written) > 5  # the state, schemas and trace are there to search
    assert [name for name, data in written.items() if fake.api_key.encode() in data] == []


async def test_missing_key_is_a_configuration_error(
    fake: FakeRefiner, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the secret sources.refiner.api_key, building the source fails naming it."""
    monkeypatch.delenv("SOURCES__REFINER__API_KEY")
    with pytest.raises(Exception, match="api_key"):
        refiner_source(base_url=fake.base_url, clock=clock)
    assert dlt.secrets.get("sources.refiner.api_key") is None


def test_the_module_does_not_shadow_the_dlt_package() -> None:
    """refiner_async.dlt and the dlt package are distinct modules; the source is a dlt source."""
    import importlib

    ours = importlib.import_module("refiner_async.dlt")
    theirs = importlib.import_module("dlt")
    assert ours is not theirs
    assert theirs.__name__ == "dlt"
    assert callable(theirs.pipeline)
    assert ours.dlt is theirs
