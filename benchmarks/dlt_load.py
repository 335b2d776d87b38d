"""dlt into DuckDB: a first load of ~100,000 responses, then incremental runs of 1,000 new ones.

The emulator runs in its own process (no latency, no rate limit); the pipeline runs here, step by
step (``extract``, ``normalize``, ``load``) so that each step's wall time is known: extraction is
the SDK reading the API plus dlt's handling of the rows it yields (incremental filter, buffering to
disk), normalization and loading are dlt and DuckDB. The second incremental run selects only the
``responses`` resource, leaving out the full reads of contacts, forms and segments. A last run
loads everything again into a new DuckDB file with ``file_format=None``, the load files DuckDB gets
from dlt by default (SQL inserts), against the source's Parquet. For scale, the SDK alone reads the
same responses as plain dicts (no dlt) first. Figures are recorded; there is no target yet.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
import urllib.request
from typing import Any

import dlt
from _common import common_arguments, emulator, publish, table

from refiner_async import RefinerClient
from refiner_async.dlt import refiner_source
from refiner_async.sync import _records

#: The run loading through dlt's own choice of load files (SQL inserts, for DuckDB).
INSERTS = "first, file_format=None"
COMPLETED_SHARE = 0.609  # completed responses per emulator response (the default include)


def requests_sent(stats: dict[str, Any]) -> dict[str, int]:
    return {path: sum(codes.values()) for path, codes in stats["requests"].items()}


def mutate(url: str, insert: int) -> None:
    request = urllib.request.Request(
        f"{url}/__admin/mutate",
        data=json.dumps({"insert": insert}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60):
        pass


async def sdk_read(base_url: str, api_key: str) -> tuple[float, int]:
    """The SDK alone: every completed response as plain dicts, the path the dlt source takes."""
    started = time.perf_counter()
    rows = 0
    async with RefinerClient(api_key, base_url=base_url) as client:
        async for page in _records(client.responses.list()):
            rows += len(page.items)
    return time.perf_counter() - started, rows


def timed_run(pipeline: Any, source: Any) -> dict[str, float]:
    """One pipeline run, step by step: wall seconds of extract, normalize and load."""
    out: dict[str, float] = {}
    for step in ("extract", "normalize", "load"):
        started = time.perf_counter()
        if step == "extract":
            pipeline.extract(source)
        else:
            getattr(pipeline, step)()
        out[step] = time.perf_counter() - started
    out["total"] = sum(out.values())
    return out


def rows_in(pipeline: Any, table_name: str) -> int:
    with pipeline.sql_client() as client:
        count: int = client.execute_sql(f"select count(*) from {table_name}")[0][0]
        return count


def measure(target: int, new: int) -> dict[str, Any]:
    emulator_size = round(target / COMPLETED_SHARE)
    with emulator(responses=emulator_size) as emu, tempfile.TemporaryDirectory() as folder:
        sdk_seconds, sdk_rows = asyncio.run(sdk_read(emu.base_url, emu.api_key))
        os.environ["SOURCES__REFINER__API_KEY"] = emu.api_key

        def new_pipeline(name: str) -> Any:
            return dlt.pipeline(
                pipeline_name=name,
                destination=dlt.destinations.duckdb(os.path.join(folder, f"{name}.duckdb")),
                pipelines_dir=os.path.join(folder, "pipelines"),
                dataset_name="refiner_data",
            )

        pipeline = new_pipeline("refiner_bench")
        runs: dict[str, Any] = {}
        for name in ("first", "incremental", "incremental, responses only", INSERTS):
            if name.startswith("incremental"):
                mutate(emu.url, new)
                time.sleep(1.1)  # the new responses' second is over: the read ends before now
            emu.reset_stats()
            source = refiner_source(base_url=emu.base_url, settle=0)
            if name.endswith("responses only"):
                source = source.with_resources("responses")
            if name == INSERTS:  # a first load again, into a new DuckDB file
                pipeline = new_pipeline("refiner_inserts")
                source = refiner_source(base_url=emu.base_url, settle=0, file_format=None)
            steps = timed_run(pipeline, source)
            runs[name] = {
                "steps_s": steps,
                "requests": requests_sent(emu.stats()),
                "rows": {
                    t: rows_in(pipeline, t) for t in ("responses", "contacts", "forms", "segments")
                },
            }
        return {
            "emulator_responses": emulator_size,
            "new_responses": new,
            "sdk_only": {"seconds": sdk_seconds, "rows": sdk_rows},
            "runs": runs,
        }


def render(r: dict[str, Any]) -> str:
    rows = []
    for name, run in r["runs"].items():
        s = run["steps_s"]
        total = s["total"]
        requests = run["requests"]
        rows.append(
            [
                name,
                f"{run['rows']['responses']:,}",
                f"{total:.1f}",
                f"{s['extract']:.1f} ({s['extract'] / total:.0%})",
                f"{s['normalize']:.1f} ({s['normalize'] / total:.0%})",
                f"{s['load']:.1f} ({s['load'] / total:.0%})",
                f"{requests.get('/v1/responses', 0)} + {sum(requests.values()) - requests.get('/v1/responses', 0)}",
            ]
        )
    head = (
        f"{r['emulator_responses']:,} emulator responses, of which {r['sdk_only']['rows']:,} completed "
        f"(the default include); then {r['new_responses']:,} new before each incremental run. The SDK alone reads those "
        f"{r['sdk_only']['rows']:,} as plain dicts in {r['sdk_only']['seconds']:.1f} s."
    )
    return (
        head
        + "\n\n"
        + table(
            [
                "run",
                "responses in table",
                "wall s",
                "extract s (share)",
                "normalize s (share)",
                "load s (share)",
                "requests: responses + others",
            ],
            rows,
        )
        + parquet_against_inserts(r["runs"])
    )


def parquet_against_inserts(runs: dict[str, Any]) -> str:
    """A sentence comparing the first load's steps with the source's Parquet and with SQL inserts."""
    if INSERTS not in runs:
        return ""
    parquet, inserts = runs["first"]["steps_s"], runs[INSERTS]["steps_s"]
    return (
        f"\n\nA first load with the source's Parquet load files takes {parquet['total']:.1f} s against "
        f"{inserts['total']:.1f} s with SQL inserts ({inserts['total'] / parquet['total']:.1f}x faster; "
        f"the load step alone {inserts['load'] / parquet['load']:.1f}x)."
    )


def main() -> None:
    parser = common_arguments(__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=None, help="completed responses to load")
    parser.add_argument("--new", type=int, default=1000)
    args = parser.parse_args()
    target = args.responses or (20_000 if args.quick else 100_000)
    result = measure(target, args.new)
    publish("dlt_load", result, render(result), quick=args.quick)


if __name__ == "__main__":
    main()
