"""What ``import refiner_async`` costs next to ``import aiohttp``, each in a fresh interpreter.

Each round starts one interpreter per contender with ``python -X importtime -c "import NAME"`` and
reads the cumulative time of NAME's top-level import from the report (the interpreter's own start
is left out). Rounds alternate the contenders; the medians are compared. The contenders:

- ``aiohttp``: the HTTP client the SDK is built on, the floor;
- ``refiner_async``: the package as an application imports it;
- ``refiner_async.testing`` and ``refiner_async.cli``: the emulator and the command line, which
  ``import refiner_async`` should not pay for.

Target: ``import refiner_async`` at most 1.2x ``import aiohttp``.

Run: ``python benchmarks/import_time.py [--quick]``.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
from typing import Any

from _common import common_arguments, publish, table, verdict

NAME = "import_time"
TARGET = 1.2  # import refiner_async / import aiohttp
MODULES = ("aiohttp", "refiner_async", "refiner_async.testing", "refiner_async.cli")
_LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def import_seconds(module: str) -> float:
    """Cumulative seconds of ``import module`` in a fresh interpreter (its -X importtime line)."""
    report = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    for line in report.splitlines():
        match = _LINE.match(line)
        if match and match.group(4) == module and len(match.group(3)) == 1:  # top level
            return int(match.group(2)) / 1e6
    raise RuntimeError(f"no import time line for {module}")


def measure(rounds: int) -> dict[str, Any]:
    for module in MODULES:  # the first start of each fills the bytecode caches
        import_seconds(module)
    times: dict[str, list[float]] = {m: [] for m in MODULES}
    for _ in range(rounds):
        for module in MODULES:
            times[module].append(import_seconds(module))
    medians = {m: statistics.median(t) for m, t in times.items()}
    ratio = medians["refiner_async"] / medians["aiohttp"]
    return {
        "rounds": rounds,
        "median_ms": {m: round(v * 1000, 1) for m, v in medians.items()},
        "sdk_over_aiohttp": round(ratio, 3),
        "target": {"sdk_over_aiohttp_max": TARGET, "met": ratio <= TARGET},
    }


def render(result: dict[str, Any]) -> str:
    base = result["median_ms"]["aiohttp"]
    rows = [
        [f"`import {m}`", f"{ms:.1f}", f"{ms / base:.2f}x"] for m, ms in result["median_ms"].items()
    ]
    return (
        f"Median of {result['rounds']} fresh interpreters each (rounds alternate), cumulative "
        "`-X importtime` of the top-level import.\n\n"
        + table(["import", "ms", "x aiohttp"], rows)
        + f"\n\nTarget: `import refiner_async` at most {TARGET:g}x `import aiohttp`: "
        f"{result['sdk_over_aiohttp']:.2f}x, {verdict(result['target']['met'])}."
    )


def main() -> None:
    parser = common_arguments(__doc__.splitlines()[0])
    args = parser.parse_args()
    result = measure(5 if args.quick else 21)
    publish(NAME, result, render(result), quick=args.quick)


if __name__ == "__main__":
    main()
