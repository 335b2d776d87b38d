"""Load Refiner into DuckDB with dlt, against the embedded emulator: one command, no account.

    pip install 'refiner-async[dlt]'
    python examples/refiner_to_duckdb.py            # --responses 20000 --dir /tmp/refiner-demo --arrow

It serves the emulator on 127.0.0.1, runs the pipeline (a first, full load), adds responses and
answers to old ones, runs it again (an incremental load: only the new rows and the lookback are
read), and prints the row counts of each table after each run. ``--arrow`` loads pages as pyarrow
Tables (``refiner_source(arrow=True)``), which dlt writes without normalizing them row by row.

With a real project, drop the emulator: put the key in ``.dlt/secrets.toml``

    [sources.refiner]
    api_key = "..."

and call ``pipeline.run(refiner_source())``. For BigQuery, Snowflake or Postgres, change
``destination=`` (and its credentials in ``.dlt/secrets.toml``); the source stays the same.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from typing import Any

import dlt

from refiner_async.dlt import refiner_source
from refiner_async.testing import FakeRefiner

TABLES = ("responses", "contacts", "forms", "segments")


def counts(pipeline: Any) -> str:
    with pipeline.sql_client() as client:
        return ", ".join(
            f"{table} {client.execute_sql(f'select count(*) from {table}')[0][0]:,}"
            for table in TABLES
        )


async def main(responses: int, folder: str, *, arrow: bool = False) -> None:
    async with FakeRefiner(responses=responses) as fake:
        # The emulator's key, handed to dlt as its secret sources.refiner.api_key would be.
        os.environ["SOURCES__REFINER__API_KEY"] = fake.api_key
        pipeline = dlt.pipeline(
            pipeline_name="refiner_example",
            destination=dlt.destinations.duckdb(os.path.join(folder, "warehouse.duckdb")),
            pipelines_dir=os.path.join(folder, "pipelines"),
            dataset_name="refiner_data",
        )
        for run in ("first load", "incremental load"):
            started = time.perf_counter()
            # pipeline.run blocks: run it off the loop that serves the emulator
            source = refiner_source(base_url=fake.base_url, settle=0, arrow=arrow)
            await asyncio.to_thread(pipeline.run, source)
            seconds = time.perf_counter() - started
            print(f"{run} in {seconds:.1f} s: {counts(pipeline)}")
            if run == "first load":
                new = fake.insert_responses(100)
                for uuid in new[:10]:  # a few answers arriving again on the newest ones
                    fake.receive_data(uuid, time.time())
                await asyncio.sleep(1.1)  # the new rows' second is over (windows end before it)
        state = pipeline.state["sources"]["refiner"]["resources"]["responses"]["incremental"]
        print(f"bookmark kept by dlt: {state['last_data_reception_at']['last_value']}")
        print(f"DuckDB file: {os.path.join(folder, 'warehouse.duckdb')}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=5000, help="responses the emulator holds")
    parser.add_argument(
        "--dir", default=None, help="where DuckDB and dlt's files go (default: a temp dir)"
    )
    parser.add_argument("--arrow", action="store_true", help="load pages as pyarrow Tables")
    args = parser.parse_args()
    folder = args.dir or tempfile.mkdtemp(prefix="refiner-dlt-")
    asyncio.run(main(args.responses, folder, arrow=args.arrow))
