"""The defaults against hand-written scripts: 100,000 responses at 0, 30 and 100 ms per request.

For each latency the emulator (its own process) serves 100,000 responses in pages of 1,000 and
the contenders run in alternating rounds, medians compared:

- ``script8``: a hand-written aiohttp + orjson script fetching pages 2..N eight at a time;
- ``naive``: aiohttp + ``response.json()``, one page after the other (at 0 ms only: at 100 ms it
  spends 10 s waiting);
- ``typed``: ``client.responses.list()`` with every default (``pagination="auto"``,
  ``max_concurrency=8``), iterating ``Response`` models;
- ``raw``: the same listing's ``.raw()``, iterating the API's own objects.

The rate limiter is off for the SDK (``rate_limit=None``) as the scripts have none: at the
default 4,000 requests/min, 100 pages take at least 1.5 s whatever reads them.

Targets: ``typed`` within 1.2x max(``script8``'s wall time, ``typed``'s own CPU time) at 30 and
100 ms and no slower than ``naive`` at 0 ms; ``raw`` within 1.15x ``script8`` at every latency.

Run: ``python benchmarks/default_speed.py [--quick] [--responses N] [--rounds N]``.
"""

from __future__ import annotations

from typing import Any

from _clients import floor_concurrent_export, naive_export, sdk_export
from _common import alternate, emulator, run_export_benchmark, table, verdict

NAME = "default_speed"
LATENCIES = (0.0, 0.030, 0.100)
TYPED_TARGET = 1.2  # typed wall / max(script8 wall, typed CPU), at 30 and 100 ms
RAW_TARGET = 1.15  # raw wall / script8 wall, at every latency


async def one_latency(responses: int, latency: float, rounds: int) -> dict[str, Any]:
    with emulator(responses=responses, latency=latency) as server:
        url, key = server.base_url, server.api_key
        contenders = {
            "script8": lambda: floor_concurrent_export(url, key),
            "typed": lambda: sdk_export(url, key, pagination="auto"),
            "raw": lambda: sdk_export(url, key, pagination="auto", raw=True),
        }
        if latency == 0:
            contenders["naive"] = lambda: naive_export(url, key)
        samples = await alternate(contenders, rounds=rounds, warmup=1, server=server)
    rows = {name: s.summary() for name, s in samples.items()}
    for name, row in rows.items():
        if row["items"] != responses:
            raise RuntimeError(f"{name} saw {row['items']} items, expected {responses}")
    wall = {name: row["wall_s"]["median"] for name, row in rows.items()}
    typed_bound = max(wall["script8"], rows["typed"]["cpu_s_median"])
    typed_ratio = wall["typed"] / typed_bound
    raw_ratio = wall["raw"] / wall["script8"]
    typed_met = wall["typed"] <= wall["naive"] if latency == 0 else typed_ratio <= TYPED_TARGET
    return {
        "latency_s": latency,
        "contenders": rows,
        "typed_over_bound": round(typed_ratio, 3),
        "typed_over_naive": round(wall["typed"] / wall["naive"], 3) if latency == 0 else None,
        "raw_over_script8": round(raw_ratio, 3),
        "target": {"typed_met": typed_met, "raw_met": raw_ratio <= RAW_TARGET},
    }


async def measure(responses: int, rounds: int) -> dict[str, Any]:
    runs = [await one_latency(responses, latency, rounds) for latency in LATENCIES]
    met = all(r["target"]["typed_met"] and r["target"]["raw_met"] for r in runs)
    return {"responses": responses, "rounds": rounds, "runs": runs, "met": met}


def render(result: dict[str, Any]) -> str:
    rows = []
    for r in result["runs"]:
        c = r["contenders"]
        typed = (
            f"{r['typed_over_naive']:.2f}x naive"
            if r["typed_over_naive"] is not None
            else f"{r['typed_over_bound']:.2f}x"
        )
        rows.append(
            [
                f"{r['latency_s'] * 1000:.0f} ms",
                f"{c['script8']['wall_s']['median']:.3f}",
                f"{c['naive']['wall_s']['median']:.3f}" if "naive" in c else "",
                f"{c['typed']['wall_s']['median']:.3f}",
                f"{c['typed']['cpu_s_median']:.3f}",
                f"{c['raw']['wall_s']['median']:.3f}",
                f"{typed} ({verdict(r['target']['typed_met'])})",
                f"{r['raw_over_script8']:.2f}x ({verdict(r['target']['raw_met'])})",
            ]
        )
    cols = [
        "latency",
        "script8 s",
        "naive s",
        "typed s",
        "typed CPU s",
        "raw s",
        "typed / max(script8, its CPU)",
        "raw / script8",
    ]
    return (
        f"{result['responses']:,} responses in pages of 1,000, every SDK default but the rate "
        f"limit, median of {result['rounds']} alternating rounds per latency.\n\n"
        + table(cols, rows)
        + f"\n\nTargets: typed within {TYPED_TARGET:g}x max(script8, its own CPU) at 30 and "
        f"100 ms and no slower than the naive loop at 0 ms; raw within {RAW_TARGET:g}x script8 at "
        f"every latency: {verdict(result['met'])}."
    )


def main() -> None:
    run_export_benchmark(NAME, __doc__.splitlines()[0], measure, render, rounds=(2, 9))


if __name__ == "__main__":
    main()
