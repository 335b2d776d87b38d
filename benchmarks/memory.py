"""Memory and event-loop lag while exporting: peak RSS streaming 100,000 vs 1,000,000 responses.

One emulator process serves 1,000,000 responses (~1 KB each). Every measurement runs in a fresh
Python process (``--child``) so that each peak RSS (``ru_maxrss``) is its own:

- ``baseline``: the imports, a client and one 1-item request: what any client process costs;
- ``floor``: raw aiohttp + orjson dicts, streamed page after page, for comparison;
- ``stream``: refiner_async, ``async for`` over typed models, ``max_concurrency=8``, page numbers;
- ``collect``: refiner_async ``.collect()`` of the smaller count into a list, for contrast;
- ``export-jsonl``, ``export-csv``, ``export-parquet``: ``refiner_async.export()`` of each count
  to a file (pages written as they arrive, checkpointed every second; CSV and Parquet converted at
  the end): how long the export holds the loop of an application sharing it, and whether its peak
  RSS grows with the export.

While the SDK streams, a heartbeat task asks to wake every 10 ms and records how late it wakes:
that lateness is how long decoding (or anything else) held the event loop. Each row runs
``ROUNDS`` times, in alternating order, and shows the medians. Targets: the larger
stream's and each larger export's peak RSS within 1.2x of the smaller's; heartbeat lag p99 under
50 ms.

Run: ``python benchmarks/memory.py [--quick]``; ``--export-only [--small N]`` runs just the three
export rows against an emulator of N responses (100,000 by default) and prints them.
"""

from __future__ import annotations

import asyncio
import asyncio.base_events
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import common_arguments, emulator, percentile, publish, table, verdict

NAME = "memory"
GROWTH_TARGET = 1.2
LAG_TARGET_MS = 50.0
HEARTBEAT = 0.010  # seconds between heartbeats
FORMATS = ("jsonl", "csv", "parquet")
ROUNDS = 3  # fresh processes per row; each row shows their medians


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_loop_passes(passes: list[float]) -> None:
    """Record the CPU time of every event-loop pass (one ``_run_once``) in ``passes``.

    The heartbeat's lag is wall time: on a shared machine it also counts the moments the OS ran
    another process. The CPU time of a pass counts only what this process did while it held the
    loop: decoding, garbage collection, callbacks. (A private asyncio method, wrapped only here.)
    """
    loop_class: Any = asyncio.base_events.BaseEventLoop
    run_once = getattr(loop_class, "_run_once", None)
    if run_once is None:
        return

    def timed_run_once(self: Any) -> None:
        started = time.thread_time()
        run_once(self)
        passes.append(time.thread_time() - started)

    loop_class._run_once = timed_run_once


async def heartbeat(lags: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        asked = loop.time()
        await asyncio.sleep(HEARTBEAT)
        lags.append(max(0.0, loop.time() - asked - HEARTBEAT))


async def child(mode: str, items: int, base_url: str, api_key: str) -> dict[str, Any]:
    """One measurement, in this (fresh) process."""
    import aiohttp
    import orjson

    from refiner_async import RefinerClient

    lags: list[float] = []
    passes: list[float] = []
    time_loop_passes(passes)
    beat = asyncio.create_task(heartbeat(lags))
    started = time.perf_counter()
    n = 0
    if mode == "floor":
        headers = {"Authorization": f"Bearer {api_key}"}
        async with aiohttp.ClientSession(headers=headers) as session:
            page = 1
            while n < items:
                params = {"include": "all", "page_length": "1000", "page": str(page)}
                async with session.get(f"{base_url}/responses", params=params) as r:
                    body = await r.read()
                for _ in orjson.loads(body)["items"][: items - n]:
                    n += 1
                page += 1
    else:
        async with RefinerClient(
            api_key, base_url=base_url, rate_limit=None, max_concurrency=8
        ) as client:
            if mode == "baseline":
                first = await client.responses.list(include="all", page_length=1)
                n = len(first.items)
            elif mode.startswith("export-"):
                import tempfile

                from refiner_async import export

                fmt = mode.removeprefix("export-")
                with tempfile.TemporaryDirectory() as directory:
                    summary = await export(
                        client,
                        "responses",
                        Path(directory) / f"r.{fmt}",
                        format=fmt,
                        include="all",
                        page_length=1000,
                        max_items=items,
                    )
                n = summary.items
            else:
                listing = client.responses.list(
                    include="all", page_length=1000, pagination="pages", max_items=items
                )
                if mode == "collect":
                    n = len(await listing.collect())
                else:
                    async for _ in listing:
                        n += 1
    elapsed = time.perf_counter() - started
    beat.cancel()
    return {
        "mode": mode,
        "items": n,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "elapsed_s": round(elapsed, 2),
        "heartbeats": len(lags),
        "lag_ms": {
            "p50": round(percentile(lags, 0.50) * 1000, 2),
            "p99": round(percentile(lags, 0.99) * 1000, 2),
            "max": round(max(lags, default=0.0) * 1000, 2),
        },
        "loop_pass_cpu_ms": {
            "passes": len(passes),
            "max": round(max(passes, default=0.0) * 1000, 2),
            "over_20ms": sum(1 for p in passes if p > 0.020),
            "over_50ms": sum(1 for p in passes if p > 0.050),
        },
    }


def spawn(mode: str, items: int, base_url: str, api_key: str) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter and read its JSON answer."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--items", str(items)]
    cmd += ["--base-url", base_url, "--api-key", api_key]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(f"{mode} {items} failed:\n{out.stderr}")
    answer: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"  {mode:<8} {items:>9,} items: {answer['peak_rss_mb']:7.1f} MB, "
        f"{answer['elapsed_s']:6.2f} s, lag p99 {answer['lag_ms']['p99']:.1f} ms",
        file=sys.stderr,
        flush=True,
    )
    return answer


def median_run(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """One row from the rounds of a measurement: every figure's median (the lag and pass figures
    each on their own), with the peak RSS's range beside it."""

    def median_of(key: str, sub: str | None = None) -> float:
        values = [s[key] if sub is None else s[key][sub] for s in samples]
        return round(statistics.median(values), 2)

    first = samples[0]
    return {
        "mode": first["mode"],
        "items": first["items"],
        "rounds": len(samples),
        "peak_rss_mb": median_of("peak_rss_mb"),
        "peak_rss_mb_range": [
            min(s["peak_rss_mb"] for s in samples),
            max(s["peak_rss_mb"] for s in samples),
        ],
        "elapsed_s": median_of("elapsed_s"),
        "heartbeats": int(median_of("heartbeats")),
        "lag_ms": {q: median_of("lag_ms", q) for q in first["lag_ms"]},
        "loop_pass_cpu_ms": {
            k: median_of("loop_pass_cpu_ms", k) for k in first["loop_pass_cpu_ms"]
        },
    }


def measure(small: int, large: int, rounds: int) -> dict[str, Any]:
    plan = [
        ("baseline", 1),
        ("floor", small),
        ("stream", small),
        ("collect", small),
        *((f"export-{fmt}", small) for fmt in FORMATS),
        ("floor", large),
        ("stream", large),
        *((f"export-{fmt}", large) for fmt in FORMATS),
    ]
    samples: dict[tuple[str, int], list[dict[str, Any]]] = {step: [] for step in plan}
    with emulator(responses=large, startup_timeout=900) as server:
        url, key = server.base_url, server.api_key
        for round_ in range(rounds):  # alternating order: a slow stretch of the machine is shared
            for mode, items in plan if round_ % 2 == 0 else reversed(plan):
                samples[mode, items].append(spawn(mode, items, url, key))
        build = server.build_seconds
    runs = [median_run(samples[step]) for step in plan]
    for r in runs:
        wanted = 1 if r["mode"] == "baseline" else None
        if wanted is None and r["items"] not in (small, large):
            raise RuntimeError(f"{r['mode']} saw {r['items']} items")
    stream_small = next(r for r in runs if r["mode"] == "stream" and r["items"] == small)
    stream_large = next(r for r in runs if r["mode"] == "stream" and r["items"] == large)
    collect = next(r for r in runs if r["mode"] == "collect")
    growth = stream_large["peak_rss_mb"] / stream_small["peak_rss_mb"]
    export_growth = {
        fmt: round(
            next(r for r in runs if r["mode"] == f"export-{fmt}" and r["items"] == large)[
                "peak_rss_mb"
            ]
            / next(r for r in runs if r["mode"] == f"export-{fmt}" and r["items"] == small)[
                "peak_rss_mb"
            ],
            3,
        )
        for fmt in FORMATS
    }
    lag_p99 = max(stream_small["lag_ms"]["p99"], stream_large["lag_ms"]["p99"])
    return {
        "small": small,
        "large": large,
        "emulator_build_s": round(build, 1),
        "runs": runs,
        "headline": {
            "small_items": small,
            "large_items": large,
            "small_rss_mb": stream_small["peak_rss_mb"],
            "large_rss_mb": stream_large["peak_rss_mb"],
            "collect_rss_mb": collect["peak_rss_mb"],
            "growth": round(growth, 3),
            "export_growth": export_growth,
            "lag_p99_ms": lag_p99,
            "lag_max_ms": max(stream_small["lag_ms"]["max"], stream_large["lag_ms"]["max"]),
            "longest_pass_cpu_ms": max(
                stream_small["loop_pass_cpu_ms"]["max"], stream_large["loop_pass_cpu_ms"]["max"]
            ),
        },
        "target": {
            "growth_max": GROWTH_TARGET,
            "growth_met": growth <= GROWTH_TARGET,
            "export_growth_met": max(export_growth.values()) <= GROWTH_TARGET,
            "lag_p99_ms_max": LAG_TARGET_MS,
            "lag_met": lag_p99 < LAG_TARGET_MS,
        },
    }


def render(result: dict[str, Any]) -> str:
    labels = {
        "baseline": "imports + client + one 1-item request",
        "floor": "raw aiohttp + orjson dicts, streamed",
        "stream": "refiner_async, async for, max_concurrency=8",
        "collect": "refiner_async, .collect() into a list",
        "export-jsonl": "refiner_async, export() to JSON Lines",
        "export-csv": "refiner_async, export() to CSV",
        "export-parquet": "refiner_async, export() to Parquet",
    }
    rows = []
    for r in result["runs"]:
        lag = r["lag_ms"]
        rows.append(
            [
                labels[r["mode"]],
                f"{r['items']:,}",
                "{:.0f} ({:.0f}-{:.0f})".format(r["peak_rss_mb"], *r["peak_rss_mb_range"]),
                f"{r['elapsed_s']:.1f}",
                f"{lag['p50']:.1f}",
                f"{lag['p99']:.1f}",
                f"{lag['max']:.1f}",
                f"{r['loop_pass_cpu_ms']['max']:.1f}",
                r["loop_pass_cpu_ms"]["over_20ms"],
            ]
        )
    h, t = result["headline"], result["target"]
    rounds = result["runs"][0]["rounds"]
    head = (
        f"Each row gives the medians of {rounds} run{'s' if rounds > 1 else ''}, each a fresh "
        f"process (the rows run in alternating order), reading from an emulator holding "
        f"{result['large']:,} responses; peak RSS is the process's ru_maxrss. Heartbeat lag: how late a task asking "
        f"to wake every 10 ms woke (wall time, so a busy machine adds to it). Loop pass: the CPU "
        f"time of one event-loop pass, what the process itself held the loop for; the longest, "
        f"and how many passes took over 20 ms.\n\n"
    )
    tail = (
        f"\n\nTargets: streaming {h['large_items']:,} within {t['growth_max']}x of "
        f"{h['small_items']:,}: {h['growth']:.2f}x, {verdict(t['growth_met'])}; exporting "
        + ", ".join(f"{fmt} {g:.2f}x" for fmt, g in h["export_growth"].items())
        + f", {verdict(t['export_growth_met'])}; "
        f"heartbeat lag p99 under {t['lag_p99_ms_max']:g} ms while decoding: "
        f"{h['lag_p99_ms']:.1f} ms (max {h['lag_max_ms']:.1f} ms), {verdict(t['lag_met'])}; "
        f"the longest loop pass took {h['longest_pass_cpu_ms']:.1f} ms of CPU."
    )
    cols = [
        "process",
        "items",
        "peak RSS MB (range)",
        "s",
        "lag p50 ms",
        "lag p99 ms",
        "lag max ms",
        "longest pass CPU ms",
        "passes > 20 ms",
    ]
    return head + table(cols, rows) + tail


def main() -> None:
    parser = common_arguments(__doc__.splitlines()[0])
    parser.add_argument(
        "--child",
        choices=["baseline", "floor", "stream", "collect", *(f"export-{f}" for f in FORMATS)],
    )
    parser.add_argument("--export-only", action="store_true", help="only the export rows")
    parser.add_argument("--items", type=int, default=0)
    parser.add_argument("--base-url", default="")
    parser.add_argument("--api-key", default="")
    parser.add_argument("--small", type=int, default=None)
    parser.add_argument("--large", type=int, default=None)
    args = parser.parse_args()
    if args.child:
        answer = asyncio.run(child(args.child, args.items, args.base_url, args.api_key))
        print(json.dumps(answer))
        return
    small = args.small or (20_000 if args.quick else 100_000)
    if args.export_only:
        with emulator(responses=small, startup_timeout=900) as server:
            for fmt in FORMATS:
                print(json.dumps(spawn(f"export-{fmt}", small, server.base_url, server.api_key)))
        return
    large = args.large or (200_000 if args.quick else 1_000_000)
    result = measure(small, large, 1 if args.quick else ROUNDS)
    publish(NAME, result, render(result), quick=args.quick)


if __name__ == "__main__":
    main()
