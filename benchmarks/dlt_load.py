"""dlt into DuckDB: a first load of ~100,000 responses, then incremental runs of 1,000 new ones.

The emulator runs in its own process (no latency, no rate limit); the pipeline runs here, step by
step (``extract``, ``normalize``, ``load``) so that each step's wall time is known: extraction is
the SDK reading the API plus dlt's handling of the rows it yields (incremental filter, buffering to
disk), normalization and loading are dlt and DuckDB. The second incremental run selects only the
``responses`` resource, leaving out the full reads of contacts, forms and segments. Three more
first loads alternate with it, each into a new DuckDB file: with ``file_format=None``, the load
files DuckDB gets from dlt by default (SQL inserts), against the source's Parquet; with dlt told
not to gzip the files it passes between its steps (``DATA_WRITER__DISABLE_COMPRESSION=true``, a
setting of the pipeline's, not of the source); and with ``arrow=True``, the pages yielded as
pyarrow Tables. For scale, the SDK alone reads the same responses as plain dicts
(no dlt) first. Figures are recorded; there is no target yet.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
import urllib.request
from typing import Any

import dlt
from _common import common_arguments, emulator, publish, table

from refiner_async import RefinerClient
from refiner_async.dlt import refiner_source
from refiner_async.sync import _records

#: A first load with every default.
FIRST = "first"
#: A first load through dlt's own choice of load files (SQL inserts, for DuckDB).
INSERTS = "first, file_format=None"
#: A first load with dlt's own files between its steps left uncompressed (a pipeline setting).
UNCOMPRESSED = "first, dlt's files uncompressed"
#: A first load of pyarrow Tables (``arrow=True``) instead of dicts.
ARROW = "first, arrow=True"
UNCOMPRESSED_SETTING = "DATA_WRITER__DISABLE_COMPRESSION"
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


def median_steps(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each step's median over ``runs``."""
    return {step: statistics.median(run[step] for run in runs) for step in runs[0]}


def measure(target: int, new: int, rounds: int) -> dict[str, Any]:
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

        def run(name: str, pipeline: Any, source: Any) -> dict[str, Any]:
            emu.reset_stats()
            if name == UNCOMPRESSED:
                os.environ[UNCOMPRESSED_SETTING] = "true"
            try:
                steps = timed_run(pipeline, source)
            finally:
                os.environ.pop(UNCOMPRESSED_SETTING, None)
            return {
                "steps_s": steps,
                "requests": requests_sent(emu.stats()),
                "rows": {
                    t: rows_in(pipeline, t) for t in ("responses", "contacts", "forms", "segments")
                },
            }

        # First loads in alternating rounds, each into a new DuckDB file; the first of them then
        # takes the incremental loads.
        firsts: dict[str, list[dict[str, Any]]] = {
            FIRST: [],
            INSERTS: [],
            UNCOMPRESSED: [],
            ARROW: [],
        }
        loaded = []
        for round_ in range(rounds):
            for index, (name, runs_of) in enumerate(firsts.items()):
                loaded.append(new_pipeline(f"load_{round_}_{index}"))
                options = {INSERTS: {"file_format": None}, ARROW: {"arrow": True}}.get(name, {})
                source = refiner_source(base_url=emu.base_url, settle=0, **options)
                runs_of.append(run(name, loaded[-1], source))
        runs: dict[str, Any] = {}
        for name, runs_of in firsts.items():
            runs[name] = {**runs_of[0], "steps_s": median_steps([r["steps_s"] for r in runs_of])}
        for name in ("incremental", "incremental, responses only"):
            mutate(emu.url, new)
            time.sleep(1.1)  # the new responses' second is over: the read ends before now
            source = refiner_source(base_url=emu.base_url, settle=0)
            if name.endswith("responses only"):
                source = source.with_resources("responses")
            runs[name] = run(name, loaded[0], source)
        return {
            "emulator_responses": emulator_size,
            "new_responses": new,
            "rounds": rounds,
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
    firsts = sum(name.startswith(FIRST) for name in r["runs"])
    head = (
        f"{r['emulator_responses']:,} emulator responses, of which {r['sdk_only']['rows']:,} completed "
        f"(the default include); then {r['new_responses']:,} new before each incremental run. The SDK alone reads those "
        f"{r['sdk_only']['rows']:,} as plain dicts in {r['sdk_only']['seconds']:.1f} s. The "
        f"{firsts} first loads are medians of {r.get('rounds', 1)} alternating rounds, each into a "
        "new DuckDB file."
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
    parquet, inserts = runs[FIRST]["steps_s"], runs[INSERTS]["steps_s"]
    out = (
        f"\n\nA first load with the source's Parquet load files takes {parquet['total']:.1f} s against "
        f"{inserts['total']:.1f} s with SQL inserts ({inserts['total'] / parquet['total']:.1f}x faster; "
        f"the load step alone {inserts['load'] / parquet['load']:.1f}x)."
    )
    if UNCOMPRESSED in runs:
        plain = runs[UNCOMPRESSED]["steps_s"]
        out += (
            f" With `{UNCOMPRESSED_SETTING}=true` (dlt gzips the files it passes between its steps "
            f"unless told not to) it takes {plain['total']:.1f} s, extraction {plain['extract']:.1f} s "
            f"against {parquet['extract']:.1f} s."
        )
    if ARROW in runs:
        arrow = runs[ARROW]["steps_s"]
        out += (
            f" With `arrow=True` (pages as pyarrow Tables, which dlt writes without normalizing "
            f"them row by row) it takes {arrow['total']:.1f} s ({parquet['total'] / arrow['total']:.1f}x "
            f"faster): extraction {arrow['extract']:.1f} s, normalization {arrow['normalize']:.1f} s "
            f"against {parquet['normalize']:.1f} s."
        )
    return out


def main() -> None:
    parser = common_arguments(__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=None, help="completed responses to load")
    parser.add_argument("--new", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=None, help="rounds of the first loads")
    args = parser.parse_args()
    target = args.responses or (20_000 if args.quick else 100_000)
    result = measure(target, args.new, args.rounds or (1 if args.quick else 3))
    publish("dlt_load", result, render(result), quick=args.quick)


if __name__ == "__main__":
    main()
