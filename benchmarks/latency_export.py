"""Latency-bound export: 30 ms per request, pages fetched concurrently against one after the other.

The emulator (its own process) adds 30 ms to every request; each contender lists 100,000 responses
(1,000 per page) in the same run, alternating, medians compared. Target: refiner_async with
``max_concurrency=8`` and page numbers at least 5x faster than a sequential page loop.

Run: ``python benchmarks/latency_export.py [--quick]``.
"""

from __future__ import annotations

from typing import Any

from _clients import naive_export, sdk_export
from _common import alternate, emulator, run_export_benchmark, table, timing_cells, verdict

NAME = "latency_export"
LATENCY = 0.030  # seconds the emulator adds to every request
TARGET = 5.0  # naive time / SDK time

LABELS = {
    "sdk": 'refiner_async, max_concurrency=8, pagination="pages"',
    "sdk_auto": 'refiner_async, max_concurrency=8, pagination="auto" (the default)',
    "sdk_windows": 'refiner_async, max_concurrency=8, pagination="windows"',
    "sdk_seq": 'refiner_async, max_concurrency=1, pagination="pages"',
    "naive": "naive loop: aiohttp + response.json(), sequential",
}


async def measure(responses: int, rounds: int) -> dict[str, Any]:
    with emulator(responses=responses, latency=LATENCY) as server:
        url, key = server.base_url, server.api_key
        contenders = {
            "sdk": lambda: sdk_export(url, key, max_concurrency=8, pagination="pages"),
            "sdk_auto": lambda: sdk_export(url, key, max_concurrency=8, pagination="auto"),
            "sdk_windows": lambda: sdk_export(url, key, max_concurrency=8, pagination="windows"),
            "sdk_seq": lambda: sdk_export(url, key, max_concurrency=1, pagination="pages"),
            "naive": lambda: naive_export(url, key),
        }
        samples = await alternate(contenders, rounds=rounds, warmup=1, server=server)
    sdk = samples["sdk"].median_wall()
    pages = -(-responses // 1000)
    rows = {}
    for name, s in samples.items():
        median = s.median_wall()
        rows[name] = {
            "label": LABELS[name],
            **s.summary(),
            "items_per_s": round(responses / median),
            "ms_per_page": round(median / pages * 1000, 1),
            "over_sdk": round(median / sdk, 3),
        }
        if rows[name]["items"] != responses:
            raise RuntimeError(f"{name} saw {rows[name]['items']} items, expected {responses}")
    speedup = samples["naive"].median_wall() / sdk
    return {
        "responses": responses,
        "pages": pages,
        "latency_s": LATENCY,
        "rounds": rounds,
        "contenders": rows,
        "headline": {
            "speedup_vs_naive": round(speedup, 2),
            "speedup_vs_sequential_sdk": round(samples["sdk_seq"].median_wall() / sdk, 2),
            "auto_over_pages": round(samples["sdk_auto"].median_wall() / sdk, 2),
            "windows_over_pages": round(samples["sdk_windows"].median_wall() / sdk, 2),
            # the best 8-wide reading could do: 1/8 of the pages' latency
            "latency_bound_s": round(pages * LATENCY / 8, 3),
        },
        "target": {"speedup_min": TARGET, "met": speedup >= TARGET},
    }


def render(result: dict[str, Any]) -> str:
    rows = []
    for r in result["contenders"].values():
        rows.append(
            [
                *timing_cells(r),
                f"{r['ms_per_page']:.1f}",
                f"{r['items_per_s']:,}",
                f"{r['cpu_s_median']:.2f}",
                f"{r['over_sdk']:.2f}x",
            ]
        )
    h = result["headline"]
    head = (
        f"{result['responses']:,} responses in {result['pages']} pages of 1,000, "
        f"{result['latency_s'] * 1000:.0f} ms added to every request, "
        f"median of {result['rounds']} alternating rounds. "
        f"Latency alone bounds 8-wide reading at {h['latency_bound_s']:.2f} s.\n\n"
    )
    tail = (
        f"\n\nTarget: at least {TARGET:g}x faster than the sequential loop: "
        f"{h['speedup_vs_naive']:.2f}x, {verdict(result['target']['met'])} "
        f"({h['speedup_vs_sequential_sdk']:.2f}x against the same SDK with max_concurrency=1)."
    )
    cols = ["contender", "median s", "range s", "ms/page", "items/s", "client CPU s", "x sdk"]
    return head + table(cols, rows) + tail


def main() -> None:
    run_export_benchmark(NAME, __doc__.splitlines()[0], measure, render, rounds=(2, 5))


if __name__ == "__main__":
    main()
