"""``export()`` to JSON Lines, CSV and Parquet against scripts writing the same files by hand.

The emulator (its own process) serves 100,000 responses (1,000 per page, ``include=all``); every
contender writes them to a file in a temporary directory, in alternating rounds, medians compared.
The SDK runs ``refiner_async.export()`` with its defaults on a client with ``rate_limit=None``
(the scripts have no limiter; the command line keeps the key's limit of 4,000 requests/min). The
floors:

- ``jsonl``: aiohttp + orjson, one page after the other, each object written as one line; and
  ``jsonl8``, the same fetching 8 pages at a time;
- ``csv``: aiohttp + orjson, every object flattened into dotted columns and held in memory, then
  written with ``csv.DictWriter`` (columns in first-seen order);
- ``parquet``: aiohttp + orjson, every flattened object held in memory, then
  ``pyarrow.Table.from_pylist`` and ``pyarrow.parquet.write_table`` (lists and values of mixed
  kinds as JSON text).

The floors hold the whole table in memory, which the export does not (see the memory benchmark).
Targets: JSON Lines at most 1.15x ``jsonl`` at no latency and 1.2x ``jsonl8`` with 30 ms added to
every request (a second emulator), CSV and Parquet at most 1.3x their floors. CSV and Parquet are
also run with 100 ms added to every request (a third emulator), against their floors fetching 8
pages at a time (no target: at that latency the export collects a table's columns while pages are
on their way, and only writes the rows once the last one is in).

Run: ``python benchmarks/export_formats.py [--quick] [--responses N] [--rounds N]``.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
from _clients import page_items
from _common import alternate, emulator, run_export_benchmark, table, verdict

from refiner_async import RefinerClient, export

NAME = "export_formats"
TARGETS = {"jsonl": 1.15, "csv": 1.3, "parquet": 1.3}
LATENCY = 0.030  # seconds added to every request in the JSON Lines run with latency
LATENCY_TARGET = 1.2  # export() to JSON Lines / the 8-page script, at LATENCY
TABLES_LATENCY = 0.100  # seconds added to every request in the CSV and Parquet run with latency


def flatten(
    obj: dict[str, Any], prefix: str = "", out: dict[str, Any] | None = None
) -> dict[str, Any]:
    out = {} if out is None else out
    for key, value in obj.items():
        if isinstance(value, dict) and value:
            flatten(value, f"{prefix}{key}.", out)
        else:
            out[prefix + key] = value
    return out


async def jsonl_floor(base_url: str, api_key: str, out: Path, window: int = 1) -> int:
    n = 0
    with open(out, "wb") as file:  # noqa: ASYNC230 (a script's way)
        async for items in page_items(base_url, api_key, window=window):
            file.write(b"".join([orjson.dumps(i, option=orjson.OPT_APPEND_NEWLINE) for i in items]))
            n += len(items)
    return n


async def csv_floor(base_url: str, api_key: str, out: Path, window: int = 1) -> int:
    rows = [
        flatten(i) async for items in page_items(base_url, api_key, window=window) for i in items
    ]
    names = list(dict.fromkeys(k for row in rows for k in row))
    with open(out, "w", newline="", encoding="utf-8") as file:  # noqa: ASYNC230 (a script's way)
        writer = csv.DictWriter(file, names)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    k: orjson.dumps(v).decode() if isinstance(v, list | dict) else v
                    for k, v in row.items()
                }
            )
    return len(rows)


async def parquet_floor(base_url: str, api_key: str, out: Path, window: int = 1) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [
        flatten(i) async for items in page_items(base_url, api_key, window=window) for i in items
    ]
    kinds: dict[str, set[type]] = {}
    for row in rows:
        for k, v in row.items():
            if v is not None:
                kinds.setdefault(k, set()).add(type(v))
    text = {k for k, seen in kinds.items() if len(seen) > 1 or seen & {list, dict}}
    for row in rows:
        for k in text.intersection(row):
            v = row[k]
            row[k] = (
                None if v is None else orjson.dumps(v).decode() if not isinstance(v, str) else v
            )
    pq.write_table(pa.Table.from_pylist(rows), out)
    return len(rows)


async def sdk(base_url: str, api_key: str, out: Path, fmt: str) -> int:
    async with RefinerClient(api_key, base_url=base_url, rate_limit=None) as client:
        summary = await export(client, "responses", out, format=fmt, include="all", overwrite=True)
    return summary.items


async def measure(responses: int, rounds: int) -> dict[str, Any]:
    with emulator(responses=responses) as server, tempfile.TemporaryDirectory() as tmp:
        url, key, at = server.base_url, server.api_key, Path(tmp)
        contenders = {
            "sdk_jsonl": lambda: sdk(url, key, at / "s.jsonl", "jsonl"),
            "jsonl": lambda: jsonl_floor(url, key, at / "f.jsonl"),
            "jsonl8": lambda: jsonl_floor(url, key, at / "f8.jsonl", window=8),
            "sdk_csv": lambda: sdk(url, key, at / "s.csv", "csv"),
            "csv": lambda: csv_floor(url, key, at / "f.csv"),
            "sdk_parquet": lambda: sdk(url, key, at / "s.parquet", "parquet"),
            "parquet": lambda: parquet_floor(url, key, at / "f.parquet"),
        }
        samples = await alternate(contenders, rounds=rounds, warmup=1, server=server)
    rows = {name: s.summary() for name, s in samples.items()}
    for name, row in rows.items():
        if row["items"] != responses:
            raise RuntimeError(f"{name} wrote {row['items']} items, expected {responses}")
    wall = {name: row["wall_s"]["median"] for name, row in rows.items()}
    ratios = {fmt: round(wall[f"sdk_{fmt}"] / wall[fmt], 3) for fmt in TARGETS}
    slow = await with_latency(responses, rounds)
    tables_slow = await tables_with_latency(responses, min(rounds, 5))
    return {
        "responses": responses,
        "rounds": rounds,
        "contenders": rows,
        "sdk_over_floor": ratios,
        "sdk_jsonl_over_jsonl8": round(wall["sdk_jsonl"] / wall["jsonl8"], 3),
        "latency": slow,
        "tables_latency": tables_slow,
        "target": {
            **{fmt: ratios[fmt] <= limit for fmt, limit in TARGETS.items()},
            "jsonl_at_latency": slow["sdk_over_jsonl8"] <= LATENCY_TARGET,
        },
    }


async def _walls_at(
    latency: float,
    responses: int,
    rounds: int,
    contenders: Callable[[str, str, Path], dict[str, Callable[[], Awaitable[int]]]],
) -> dict[str, float]:
    """The median wall times of ``contenders(url, key, directory)`` against an emulator adding
    ``latency`` to every request."""
    with (
        emulator(responses=responses, latency=latency) as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        made = contenders(server.base_url, server.api_key, Path(tmp))
        samples = await alternate(made, rounds=rounds, warmup=1, server=server)
    return {name: s.median_wall() for name, s in samples.items()}


async def with_latency(responses: int, rounds: int) -> dict[str, Any]:
    """JSON Lines with ``LATENCY`` added to every request: export() against the script fetching
    8 pages at a time."""
    wall = await _walls_at(
        LATENCY,
        responses,
        rounds,
        lambda url, key, at: {
            "sdk_jsonl": lambda: sdk(url, key, at / "s.jsonl", "jsonl"),
            "jsonl8": lambda: jsonl_floor(url, key, at / "f8.jsonl", window=8),
        },
    )
    return {
        "latency_s": LATENCY,
        "sdk_s": round(wall["sdk_jsonl"], 3),
        "jsonl8_s": round(wall["jsonl8"], 3),
        "sdk_over_jsonl8": round(wall["sdk_jsonl"] / wall["jsonl8"], 3),
    }


async def tables_with_latency(responses: int, rounds: int) -> dict[str, Any]:
    """CSV and Parquet with ``TABLES_LATENCY`` added to every request: export() against the floor
    scripts fetching 8 pages at a time."""
    wall = await _walls_at(
        TABLES_LATENCY,
        responses,
        rounds,
        lambda url, key, at: {
            "sdk_csv": lambda: sdk(url, key, at / "s.csv", "csv"),
            "csv8": lambda: csv_floor(url, key, at / "f8.csv", window=8),
            "sdk_parquet": lambda: sdk(url, key, at / "s.parquet", "parquet"),
            "parquet8": lambda: parquet_floor(url, key, at / "f8.parquet", window=8),
        },
    )
    return {
        "latency_s": TABLES_LATENCY,
        "rounds": rounds,
        **{f"{name}_s": round(seconds, 3) for name, seconds in wall.items()},
        **{
            f"sdk_over_{fmt}8": round(wall[f"sdk_{fmt}"] / wall[f"{fmt}8"], 3)
            for fmt in ("csv", "parquet")
        },
    }


def render(result: dict[str, Any]) -> str:
    c, r, slow = result["contenders"], result["sdk_over_floor"], result["latency"]
    rows = []
    for fmt, limit in TARGETS.items():
        sdk_row, floor = c[f"sdk_{fmt}"], c[fmt]
        rows.append(
            [
                fmt,
                f"{sdk_row['wall_s']['median']:.3f}",
                f"{sdk_row['cpu_s_median']:.2f}",
                f"{floor['wall_s']['median']:.3f}",
                f"{r[fmt]:.2f}x",
                f"{limit:g}x: {verdict(result['target'][fmt])}",
            ]
        )
    return (
        f"{result['responses']:,} responses to a file, no latency, median of {result['rounds']} "
        "alternating rounds; export() with its defaults (limiter off, as the scripts have none).\n\n"
        + table(["format", "export() s", "its CPU s", "floor s", "x floor", "target"], rows)
        + f"\n\nJSON Lines against the script fetching 8 pages at a time: "
        f"{result['sdk_jsonl_over_jsonl8']:.2f}x; with {slow['latency_s'] * 1000:.0f} ms per "
        f"request {slow['sdk_s']:.3f} s against {slow['jsonl8_s']:.3f} s, "
        f"**{slow['sdk_over_jsonl8']:.2f}x** (target {LATENCY_TARGET:g}x: "
        f"{verdict(result['target']['jsonl_at_latency'])})."
        + _tables_line(result.get("tables_latency"))
    )


def _tables_line(slow: dict[str, Any] | None) -> str:
    """The CSV and Parquet run with latency, as a sentence (none in results from before it)."""
    if slow is None:
        return ""
    each = "; ".join(
        f"{label} {slow[f'sdk_{fmt}_s']:.3f} s against {slow[f'{fmt}8_s']:.3f} s "
        f"(**{slow[f'sdk_over_{fmt}8']:.2f}x**)"
        for fmt, label in (("csv", "CSV"), ("parquet", "Parquet"))
    )
    return (
        f" With {slow['latency_s'] * 1000:.0f} ms per request (median of {slow['rounds']} "
        f"rounds), export() against the floor scripts fetching 8 pages at a time: {each} "
        "(no target)."
    )


def main() -> None:
    run_export_benchmark(NAME, __doc__.splitlines()[0], measure, render, rounds=(2, 9))


if __name__ == "__main__":
    main()
