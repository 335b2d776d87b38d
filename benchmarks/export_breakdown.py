"""Where the SDK's export time goes, per response, with the network taken out.

Fetches 20 pages (1,000 responses each) from the emulator once, then replays them from memory
through the SDK's own pieces, adding one at a time, each stage timed with the cyclic garbage
collector on (as an application runs) and off:

1. ``orjson.loads`` of each page (what the raw floor does);
2. + the SDK's converter (``structure_page``) into typed models;
3. + the Paginator, one page at a time, items by ``async for``, no de-duplication key;
4. + de-duplication by uuid and the page-drift checks (what ``client.responses.list`` uses);
5. + a window of 8 pages (``max_concurrency=8``).

Stage 5 is what ``client.responses.list(pagination="pages")`` does per response apart from HTTP.
A cProfile of stage 5 follows (top functions by own time). No target of its own: it explains the
export throughput figure.

Run: ``python benchmarks/export_breakdown.py [--quick]``.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import io
import pstats
import time
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from _common import common_arguments, emulator, publish, table

from refiner_async._codec import Decoding, PageCodec
from refiner_async._converters import clear_caches, structure_page
from refiner_async._http import RawResponse
from refiner_async._pagination import Paginator
from refiner_async.models import Response

NAME = "export_breakdown"
PAGES = 20


def fetch_bodies(pages: int) -> list[bytes]:
    """The raw bodies of pages 1..``pages`` (1,000 responses each) as the emulator serves them."""
    bodies = []
    with emulator(responses=pages * 1000) as server:
        for page in range(1, pages + 1):
            request = urllib.request.Request(
                f"{server.base_url}/responses?include=all&page_length=1000&page={page}",
                headers={"Authorization": f"Bearer {server.api_key}"},
            )
            with urllib.request.urlopen(request, timeout=60) as answer:
                bodies.append(answer.read())
    return bodies


def stages(bodies: list[bytes]) -> dict[str, Callable[[], int]]:
    """Each stage as a function that replays every page and returns the items it saw."""

    codec = PageCodec(Decoding(), Response)  # as client.responses.list decodes

    async def fetch(params: dict[str, Any], decode: Callable[[Any], Awaitable[Any]] | None) -> Any:
        answer = RawResponse(200, {}, bodies[params["page"] - 1], "GET", "/responses")
        return answer if decode is None else await decode(answer)

    def orjson_only() -> int:
        n = 0
        for raw in bodies:
            for _ in orjson.loads(raw)["items"]:
                n += 1
        return n

    def converter() -> int:
        n = 0
        for raw in bodies:
            page = structure_page(orjson.loads(raw), Response, method="GET", path="/responses")
            for _ in page.items:
                n += 1
        return n

    def paginated(window: int, key: Callable[[Response], object] | None) -> Callable[[], int]:
        async def items() -> int:
            n = 0
            listing = Paginator(
                fetch,  # as client.responses.list: read ahead as bytes, opened when handed out
                codec,
                params={"include": "all"},
                page_length=1000,
                mode="pages",
                window=window,
                endpoint="/responses",
                key=key,
            )
            async for _ in listing:
                n += 1
            return n

        def run() -> int:
            return asyncio.run(items())

        return run

    def uuid_of(item: Response) -> object:
        return item.uuid

    return {
        "orjson": orjson_only,
        "converter": converter,
        "paginator": paginated(1, None),
        "dedupe": paginated(1, uuid_of),
        "window8": paginated(8, uuid_of),
    }


LABELS = {
    "orjson": "orjson.loads, count the dicts (the raw floor's work)",
    "converter": "+ SDK converter into typed models",
    "paginator": "+ Paginator, async for items (window 1, no key)",
    "dedupe": "+ de-duplication by uuid, drift checks",
    "window8": "+ 8 pages at a time (client.responses.list)",
}


def timed(fn: Callable[[], int], items: int, *, collect: bool) -> float:
    """Seconds for one run of ``fn`` with the cyclic GC on or off, the converter's caches cleared."""
    clear_caches()
    gc.collect()
    if not collect:
        gc.disable()
    try:
        started = time.perf_counter()
        seen = fn()
        elapsed = time.perf_counter() - started
    finally:
        gc.enable()
    if seen != items:
        raise RuntimeError(f"saw {seen} items, expected {items}")
    return elapsed


def profile(fn: Callable[[], int], top: int = 12) -> list[dict[str, Any]]:
    """The ``top`` functions of one run of ``fn`` by own time (cProfile inflates small calls)."""
    profiler = cProfile.Profile()
    profiler.enable()
    fn()
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    rows = []
    entries: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in entries.values())
    for (filename, line, func), (_, calls, own, cumulative, _) in sorted(
        entries.items(), key=lambda kv: kv[1][2], reverse=True
    )[:top]:
        where = filename.rsplit("/", 1)[-1] if filename != "~" else ""
        rows.append(
            {
                "function": f"{where}:{line}({func})" if where else func,
                "calls": calls,
                "own_ms": round(own * 1000, 1),
                "own_share": round(own / total, 3) if total else 0.0,
                "cumulative_ms": round(cumulative * 1000, 1),
            }
        )
    return rows


def measure(repeat: int) -> dict[str, Any]:
    bodies = fetch_bodies(PAGES)
    items = PAGES * 1000
    funcs = stages(bodies)
    for fn in funcs.values():
        fn()  # warm every hook once
    # Rounds interleave every stage, GC on and off, so that bursts of load from other processes
    # spread over all of them; the best of the rounds stands for each.
    runs: dict[tuple[str, bool], list[float]] = {(n, c): [] for n in funcs for c in (True, False)}
    for _ in range(repeat):
        for (name, collect), times in runs.items():
            times.append(timed(funcs[name], items, collect=collect))
    rows: dict[str, Any] = {}
    previous_on = previous_off = 0.0
    for name in funcs:
        on = min(runs[name, True]) / items * 1e6
        off = min(runs[name, False]) / items * 1e6
        rows[name] = {
            "label": LABELS[name],
            "us_per_item_gc_on": round(on, 3),
            "us_per_item_gc_off": round(off, 3),
            "added_gc_on": round(on - previous_on, 3),
            "added_gc_off": round(off - previous_off, 3),
        }
        previous_on, previous_off = on, off
    floor = rows["orjson"]["us_per_item_gc_on"]
    full = rows["window8"]["us_per_item_gc_on"]
    return {
        "pages": PAGES,
        "items": items,
        "bytes_per_item": round(sum(len(b) for b in bodies) / items),
        "repeat": repeat,
        "stages": rows,
        "sdk_over_orjson_gc_on": round(full / floor, 3),
        "profile_window8": profile(funcs["window8"]),
    }


def render(result: dict[str, Any]) -> str:
    rows = [
        [
            r["label"],
            f"{r['us_per_item_gc_on']:.2f}",
            f"{r['added_gc_on']:+.2f}",
            f"{r['us_per_item_gc_off']:.2f}",
            f"{r['added_gc_off']:+.2f}",
        ]
        for r in result["stages"].values()
    ]
    head = (
        f"{result['items']:,} responses ({result['bytes_per_item']} bytes each) replayed from "
        f"memory, µs per response, best of {result['repeat']} interleaved rounds.\n\n"
    )
    cols = ["stage", "GC on µs", "added", "GC off µs", "added"]
    prof = [
        [p["function"], f"{p['calls']:,}", f"{p['own_ms']:.1f}", f"{p['own_share']:.0%}"]
        for p in result["profile_window8"]
    ]
    tail = (
        f"\n\nThe whole SDK path costs {result['sdk_over_orjson_gc_on']:.2f}x orjson.loads per "
        f"response (GC on). cProfile of the last stage, top functions by own time:\n\n"
        + table(["function", "calls", "own ms", "share"], prof)
    )
    return head + table(cols, rows) + tail


def main() -> None:
    parser = common_arguments(__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=None)
    args = parser.parse_args()
    repeat = args.repeat or (3 if args.quick else 9)
    result = measure(repeat)
    publish(NAME, result, render(result), quick=args.quick)


if __name__ == "__main__":
    main()
