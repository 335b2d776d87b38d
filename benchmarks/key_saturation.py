"""One process uses one API key fully: ``refiner-async export`` against the key's own limit.

The emulator (its own process) allows 4,000 requests/min (66.7/s, its default burst of a tenth of a
second), adds 30 ms to every request and serves 300,000 responses in pages of 1,000. The command
line exports them (``--include all``: every view) to JSON Lines with its defaults, in a process of its own. The emulator's journal
gives every request's arrival: the rate is the requests after the first second over the time
from then to the last one (the first second holds page 1 and the probes that cut the windows).

Target: at least 0.95 of the limit, with no 429.

Run: ``python benchmarks/key_saturation.py [--quick]``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import Emulator, common_arguments, emulator, publish, table, verdict

NAME = "key_saturation"
LIMIT = 4000 / 60  # the API's limit per key, requests per second
LATENCY = 0.030
TARGET = 0.95
CONSOLE = "from refiner_async._console import main; main()"  # the refiner-async script


def export_once(server: Emulator, out: Path) -> dict[str, Any]:
    server.reset_stats()
    env = {**os.environ, "REFINER_API_KEY": server.api_key, "REFINER_BASE_URL": server.base_url}
    command = [sys.executable, "-c", CONSOLE, "export", "responses", "--include", "all"]
    started = time.perf_counter()
    subprocess.run([*command, "-o", str(out), "--overwrite"], env=env, check=True)
    wall = time.perf_counter() - started
    stats = server.stats(arrivals=True)
    arrivals = sorted(stats["arrivals"])
    steady = [t for t in arrivals if t >= arrivals[0] + 1.0]
    rate = (len(steady) - 1) / (steady[-1] - steady[0])
    return {
        "wall_s": round(wall, 3),
        "requests": stats["requests_total"],
        "server_429": stats["responses_429"],
        "peak_rps": stats["peak_rps"],
        "steady_rps": round(rate, 2),
        "of_limit": round(rate / LIMIT, 3),
        "lines": sum(1 for _ in out.open("rb")),
    }


def measure(responses: int, rounds: int) -> dict[str, Any]:
    with (
        emulator(responses=responses, latency=LATENCY, rate_limit=LIMIT) as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        runs = [export_once(server, Path(tmp) / "r.jsonl") for _ in range(rounds)]
    for r in runs:
        if r["lines"] != responses:
            raise RuntimeError(f"the export wrote {r['lines']} lines, expected {responses}")
    of_limit = statistics.median(r["of_limit"] for r in runs)
    refused = sum(r["server_429"] for r in runs)
    return {
        "responses": responses,
        "limit_rps": round(LIMIT, 2),
        "latency_s": LATENCY,
        "runs": runs,
        "of_limit_median": of_limit,
        "server_429_total": refused,
        "target": {"of_limit_min": TARGET, "met": of_limit >= TARGET and refused == 0},
    }


def render(result: dict[str, Any]) -> str:
    rows = [
        [
            f"{r['wall_s']:.2f}",
            r["requests"],
            f"{r['steady_rps']:.1f}",
            f"{r['of_limit']:.3f}",
            r["peak_rps"],
            r["server_429"],
        ]
        for r in result["runs"]
    ]
    cols = ["export s", "requests", "requests/s after 1 s", "of the limit", "peak in 1 s", "429s"]
    return (
        f"`refiner-async export responses --include all` of {result['responses']:,} responses, every default, "
        f"against an emulator allowing {result['limit_rps']:.1f} requests/s with "
        f"{result['latency_s'] * 1000:.0f} ms per request.\n\n"
        + table(cols, rows)
        + f"\n\nTarget: at least {TARGET:g} of the limit with no 429: "
        f"{result['of_limit_median']:.3f}, {result['server_429_total']} 429s, "
        f"{verdict(result['target']['met'])}."
    )


def main() -> None:
    parser = common_arguments(__doc__.splitlines()[0])
    args = parser.parse_args()
    result = measure(100_000 if args.quick else 300_000, 1 if args.quick else 3)
    publish(NAME, result, render(result), quick=args.quick)


if __name__ == "__main__":
    main()
