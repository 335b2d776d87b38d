"""Rate-limit efficiency: how much of a server's rate limit 16 concurrent listers get, and the 429s.

The emulator (its own process) allows 40 requests per second (token bucket, burst 4; an over-limit
request gets 429 with an integer ``Retry-After``). Sixteen listers share one client
(``max_concurrency=16``) and read small pages (10 items, by cursor) for 10 seconds. Two clients
alternate: told the limit (``rate_limit=40``; target: at least 0.95 of it, zero 429s) and not told
it (``rate_limit=None``; target: every 429 absorbed by retries, no lister failing; what it gets in
10 s is shown, not judged: its target is its steady state). The client not told the limit also runs
for 30 seconds, so that its steady state, once it has learned the limit, shows: target at least 0.9
of the limit over the second half, nothing lost; the same 30 seconds against a second emulator
whose bucket holds a whole second of its rate (burst 40): the same target. It also runs for 60
seconds against a third emulator that counts the same rate in fixed 10-second windows (400
requests each, then 429 until the window ends): target at least 0.9 of the limit over the second
half, and the longest silence between two pages there (a client that spends each quota at once
waits out most of every window).

Run: ``python benchmarks/rate_limit.py [--quick]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import statistics
import time
from typing import Any

from _common import Emulator, common_arguments, emulator, publish, table, verdict

from refiner_async import RefinerClient, RefinerError

NAME = "rate_limit"
LIMIT = 40.0  # requests per second the emulator allows
LISTERS = 16
PAGE_LENGTH = 10
LONG = 3  # the longer run not told the limit lasts this many times the others
WINDOW = 10.0  # seconds of the third emulator's fixed windows
WINDOWS_LONG = 6  # the run against it lasts this many times the others
# name: (figure judged, at least, zero 429s)
TARGETS = {
    "told": ("efficiency", 0.95, True),
    "untold": ("efficiency", 0.0, False),  # none lost; the rate in 10 s is not judged
    "untold_long": ("efficiency_second_half", 0.9, False),
    "untold_burst": ("efficiency_second_half", 0.9, False),
    "untold_windows": ("efficiency_second_half", 0.9, False),
}


async def run_once(server: Emulator, rate_limit: float | None, duration: float) -> dict[str, Any]:
    """Sixteen listers on one client for ``duration`` seconds; what they got and what it cost."""
    server.reset_stats()
    pages_at: list[float] = []  # when each page reached a lister (seconds from the start)
    failures: list[str] = []
    duplicates = 0
    async with RefinerClient(
        server.api_key,
        base_url=server.base_url,
        rate_limit=rate_limit,
        max_concurrency=LISTERS,
    ) as client:
        start = time.perf_counter()

        async def lister() -> None:
            nonlocal duplicates
            seen: set[str] = set()
            while True:  # start over at the end of the list
                listing = client.responses.list(
                    include="all", page_length=PAGE_LENGTH, pagination="cursor"
                )
                try:
                    async for page in listing.pages():
                        pages_at.append(time.perf_counter() - start)
                        for item in page.items:
                            if item.uuid in seen:
                                duplicates += 1
                            seen.add(item.uuid)
                except RefinerError as exc:
                    failures.append(f"{type(exc).__name__}: {exc}")
                    return
                seen.clear()

        tasks = [asyncio.create_task(lister()) for _ in range(LISTERS)]
        await asyncio.sleep(duration)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        stats = client.stats
    server_stats = server.stats()
    # The rate over the whole window, and over its second half (the steady state).
    got = sum(1 for t in pages_at if t <= duration)
    late = sorted(t for t in pages_at if duration / 2 < t <= duration)
    silence = max((b - a for a, b in itertools.pairwise(late)), default=duration / 2)
    return {
        "rate_limit": rate_limit,
        "duration_s": duration,
        "pages": got,
        "rate": round(got / duration, 2),
        "efficiency": round(got / duration / LIMIT, 3),
        "efficiency_second_half": round(len(late) / (duration / 2) / LIMIT, 3),
        "silence_second_half_s": round(silence, 2),
        "server_429": server_stats["responses_429"],
        "server_peak_rps": server_stats["peak_rps"],
        "server_requests": server_stats["requests_total"],
        "client_429_absorbed": stats.rate_limited,
        "client_retries": stats.retries,
        "client_wait_s": round(stats.rate_limit_wait, 2),
        "failures": len(failures),
        "failure_examples": failures[:3],
        "duplicates": duplicates,
    }


async def measure(duration: float, rounds: int) -> dict[str, Any]:
    with (
        emulator(responses=20_000, rate_limit=LIMIT) as bucket,
        emulator(responses=20_000, rate_limit=LIMIT, rate_burst=LIMIT) as big_burst,
        emulator(responses=20_000, rate_limit=LIMIT, rate_window=WINDOW) as windows,
    ):
        # name: (server, rate_limit, seconds)
        configs = {
            "told": (bucket, LIMIT, duration),
            "untold": (bucket, None, duration),
            "untold_long": (bucket, None, LONG * duration),
            "untold_burst": (big_burst, None, LONG * duration),
            "untold_windows": (windows, None, WINDOWS_LONG * duration),
        }
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in configs}
        names = list(configs)
        for round_no in range(rounds):
            for name in names if round_no % 2 == 0 else names[::-1]:
                await asyncio.sleep(1.0)  # let the server's bucket fill again
                outcome = await run_once(*configs[name])
                runs[name].append(outcome)
                print(
                    f"  {name}: efficiency {outcome['efficiency']:.3f} "
                    f"(2nd half {outcome['efficiency_second_half']:.3f}), "
                    f"429s {outcome['server_429']}, failures {outcome['failures']}, "
                    f"longest silence {outcome['silence_second_half_s']} s",
                    flush=True,
                )
    summary: dict[str, Any] = {}
    for name, outcomes in runs.items():
        figure, least, zero_429 = TARGETS[name]
        # the run with the median of the judged figure stands for the configuration
        ordered = sorted(outcomes, key=lambda o: o[figure])
        chosen = dict(ordered[(len(ordered) - 1) // 2])
        for key in ("efficiency", "efficiency_second_half"):
            chosen[f"{key}_all_runs"] = [o[key] for o in outcomes]
            chosen[f"{key}_median"] = round(statistics.median(chosen[f"{key}_all_runs"]), 3)
        worst_429 = max(o["server_429"] for o in outcomes)
        lost = sum(o["failures"] + o["duplicates"] for o in outcomes)
        met = chosen[f"{figure}_median"] >= least and lost == 0
        if zero_429:
            met = met and worst_429 == 0
        chosen["target"] = {
            "figure": figure,
            f"{figure}_min": least,
            "zero_429": zero_429,
            "met": met,
        }
        summary[name] = chosen
    return {
        "limit_rps": LIMIT,
        "listers": LISTERS,
        "page_length": PAGE_LENGTH,
        "rounds": rounds,
        "runs": summary,
    }


def render(result: dict[str, Any]) -> str:
    runs = result["runs"]
    labels = {
        "told": f"told the limit (rate_limit={LIMIT:g})",
        "untold": "not told (rate_limit=None)",
        "untold_long": f"not told, {runs['untold_long']['duration_s']:g} s run",
        "untold_burst": f"not told, {runs['untold_burst']['duration_s']:g} s run, burst of {LIMIT:g}",
        "untold_windows": (
            f"not told, {runs['untold_windows']['duration_s']:g} s run, fixed {WINDOW:g} s windows"
        ),
    }
    rows = []
    for name, r in runs.items():
        t = r["target"]
        figure = t["figure"]
        least = t[f"{figure}_min"]
        half = " in the 2nd half" if figure == "efficiency_second_half" else ""
        parts = [f">= {least:g}{half}"] if least else []
        target = ", ".join([*parts, "zero 429s" if t["zero_429"] else "none lost"])
        rows.append(
            [
                labels[name],
                f"{r['efficiency_median']:.3f}",
                f"{r['efficiency_second_half_median']:.3f}",
                f"{r['rate']:.1f}",
                r["server_429"],
                r["server_peak_rps"],
                r["client_retries"],
                f"{r['client_wait_s']:.1f}",
                f"{r['silence_second_half_s']:.1f}",
                r["failures"] + r["duplicates"],
                target,
                verdict(t["met"]),
            ]
        )
    head = (
        f"Emulator limit {result['limit_rps']:g} requests/s (burst 4, integer Retry-After); "
        f"{result['listers']} listers on one client (max_concurrency={result['listers']}), "
        f"{result['page_length']}-item pages by cursor, "
        f"{runs['told']['duration_s']:g} s per run "
        f"({runs['untold_long']['duration_s']:g} s for the longer one), "
        f"{result['rounds']} run(s) per client alternating; the two rates are medians over the "
        f"runs, the other columns come from the median run.\n\n"
    )
    cols = [
        "client",
        "rate / limit",
        "2nd half",
        "req/s",
        "429s",
        "peak 1 s",
        "retries",
        "paused s",
        "longest silence s (2nd half)",
        "lost",
        "target",
        "",
    ]
    return head + table(cols, rows)


def main() -> None:
    parser = common_arguments(__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    duration = args.duration or (4.0 if args.quick else 10.0)
    rounds = args.rounds or (1 if args.quick else 2)
    result = asyncio.run(measure(duration, rounds))
    publish(NAME, result, render(result), quick=args.quick)


if __name__ == "__main__":
    main()
