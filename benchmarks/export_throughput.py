"""Export throughput: refiner_async against the raw floor, a naive loop, httpx and msgspec.

The emulator (FakeRefiner, no latency) runs in its own process with 100,000 responses (~1 KB each);
every contender lists them all, 1,000 per page, in the same run, alternating A B C .. C B A, and
the medians are compared. Target: the SDK, building typed attrs models with ``max_concurrency=8``
and no client-side rate limit, within 1.5x of the raw dict floor's time.

Run: ``python benchmarks/export_throughput.py [--quick]``.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
from _clients import (
    QUERY,
    bytes_only_export,
    floor_concurrent_export,
    floor_export,
    httpx_export,
    msgspec_export,
    naive_export,
    sdk_export,
)
from _common import (
    Emulator,
    alternate,
    emulator,
    run_export_benchmark,
    table,
    timing_cells,
    verdict,
)

NAME = "export_throughput"
TARGET = 1.5  # SDK time / floor time

LABELS = {
    "floor": "raw floor: aiohttp + orjson dicts, sequential",
    "sdk": "refiner_async: typed models, max_concurrency=8",
    "sdk_pages": "refiner_async: .pages(), max_concurrency=8",
    "sdk_seq": "refiner_async: typed models, max_concurrency=1",
    "sdk_gc": "refiner_async: typed models, pause_gc=True (as export() runs)",
    "naive": "naive loop: aiohttp + response.json(), sequential",
    "httpx": "httpx AsyncClient + orjson dicts, sequential",
    "msgspec": "aiohttp + msgspec typed structs, sequential",
    "floor8": "aiohttp + orjson dicts, 8 pages at a time",
    "bytes": "transport only: aiohttp, bodies read, not decoded",
}


async def warm(server: Emulator) -> int:
    """One pass over every page (fills the emulator's serialization cache); total body bytes."""
    total = 0
    headers = {"Authorization": f"Bearer {server.api_key}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        page, last = 1, 1
        while page <= last:
            params = {**QUERY, "page": page}
            async with session.get(f"{server.base_url}/responses", params=params) as r:
                body = await r.read()
            total += len(body)
            last = orjson.loads(body)["pagination"]["last_page"]
            page += 1
    return total


async def measure(responses: int, rounds: int) -> dict[str, Any]:
    with emulator(responses=responses) as server:
        url, key = server.base_url, server.api_key
        total_bytes = await warm(server)
        contenders = {
            "floor": lambda: floor_export(url, key),
            "sdk": lambda: sdk_export(url, key, max_concurrency=8, rate_limit=None),
            "sdk_pages": lambda: sdk_export(url, key, max_concurrency=8, by_page=True),
            "sdk_seq": lambda: sdk_export(url, key, max_concurrency=1, rate_limit=None),
            "sdk_gc": lambda: sdk_export(url, key, pause_gc=True),
            "naive": lambda: naive_export(url, key),
            "httpx": lambda: httpx_export(url, key),
            "msgspec": lambda: msgspec_export(url, key),
            "floor8": lambda: floor_concurrent_export(url, key, window=8),
            "bytes": lambda: bytes_only_export(url, key),
        }
        samples = await alternate(contenders, rounds=rounds, warmup=1, server=server)
    floor = samples["floor"].median_wall()
    rows = {}
    for name, s in samples.items():
        median = s.median_wall()
        rows[name] = {
            "label": LABELS[name],
            **s.summary(),
            "items_per_s": round(responses / median),
            "mb_per_s": round(total_bytes / median / 1e6, 1),
            "over_floor": round(median / floor, 3),
        }
        if rows[name]["items"] != responses:
            raise RuntimeError(f"{name} saw {rows[name]['items']} items, expected {responses}")
    sdk = samples["sdk"].median_wall()
    return {
        "responses": responses,
        "pages": -(-responses // 1000),
        "bytes_total": total_bytes,
        "bytes_per_item": round(total_bytes / responses),
        "rounds": rounds,
        "contenders": rows,
        "headline": {
            "sdk_over_floor": round(sdk / floor, 3),
            "naive_over_sdk": round(samples["naive"].median_wall() / sdk, 3),
            "httpx_over_sdk": round(samples["httpx"].median_wall() / sdk, 3),
            "msgspec_over_floor": round(samples["msgspec"].median_wall() / floor, 3),
            "sdk_over_floor_concurrent": round(sdk / samples["floor8"].median_wall(), 3),
        },
        "target": {"sdk_over_floor_max": TARGET, "met": sdk / floor <= TARGET},
    }


def render(result: dict[str, Any]) -> str:
    rows = []
    for r in result["contenders"].values():
        rows.append(
            [
                *timing_cells(r),
                f"{r['items_per_s']:,}",
                f"{r['mb_per_s']:.0f}",
                f"{r['cpu_s_median']:.2f}",
                f"{r['server_cpu_s_median']:.2f}",
                f"{r['over_floor']:.2f}x",
            ]
        )
    h = result["headline"]
    head = (
        f"{result['responses']:,} responses in {result['pages']} pages of 1,000 "
        f"({result['bytes_per_item']} bytes per response, {result['bytes_total'] / 1e6:.0f} MB), "
        f"median of {result['rounds']} alternating rounds.\n\n"
    )
    tail = (
        f"\n\nTarget: refiner_async within {TARGET}x of the raw floor's time: "
        f"{h['sdk_over_floor']:.2f}x, {verdict(result['target']['met'])}. "
        f"Against the floor fetching 8 pages at a time as the SDK does: "
        f"{h['sdk_over_floor_concurrent']:.2f}x."
    )
    cols = [
        "contender",
        "median s",
        "range s",
        "items/s",
        "MB/s",
        "client CPU s",
        "server CPU s",
        "x floor",
    ]
    return head + table(cols, rows) + tail


def main() -> None:
    run_export_benchmark(NAME, __doc__.splitlines()[0], measure, render, rounds=(3, 7))


if __name__ == "__main__":
    main()
