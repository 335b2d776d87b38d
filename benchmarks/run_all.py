"""Run the benchmarks, each in a fresh process, then summarise their targets.

``python benchmarks/run_all.py`` runs every benchmark with its full settings (what ``nox -s bench``
does); name some to run only those; ``--quick`` passes short settings to each (to check the scripts
on a busy machine: quick figures are not for quoting). Every benchmark rewrites its results JSON and
its table in ``benchmarks/README.md``; this runner then refreshes the machine record there and the
headline figures in the project README.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from _common import (
    BENCH_README,
    HERE,
    load_result,
    machine,
    machine_line,
    refresh_headline,
    replace_block,
)

#: Every benchmark, in the order a full run takes them (cheapest and least noisy first).
BENCHMARKS = (
    "import_time",
    "decode_cost",
    "export_breakdown",
    "export_throughput",
    "export_formats",
    "latency_export",
    "default_speed",
    "key_saturation",
    "rate_limit",
    "fleet_limit",
    "memory",
    "dlt_load",
)


def targets(name: str) -> list[tuple[str, bool]]:
    """The (description, met) pairs a results file records."""
    r = load_result(name)
    if r is None or ("target" not in r and "runs" not in r):
        return []
    if name == "memory":
        t = r["target"]
        return [("peak RSS flat", t["growth_met"]), ("loop lag p99 < 50 ms", t["lag_met"])]
    if name == "fleet_limit":
        return [("fleet on Redis: rate, zero 429s", r["target"]["met"])]
    if name == "export_formats":
        return [(f"export() {k}", met) for k, met in r["target"].items()]
    if name == "rate_limit":
        return [(f"{k}: efficiency", v["target"]["met"]) for k, v in r["runs"].items()]
    return [(name, r["target"]["met"])] if "target" in r else []  # dlt_load: figures, no target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"some of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="short settings (not for quoting)")
    args = parser.parse_args()
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {BENCHMARKS}")
    names = args.names or list(BENCHMARKS)
    failed = []
    for name in names:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        cmd = [sys.executable, str(HERE / f"{name}.py"), *(["--quick"] if args.quick else [])]
        code = subprocess.run(cmd, check=False).returncode
        print(f"== {name}: {time.perf_counter() - started:.0f} s, exit {code}\n", flush=True)
        if code:
            failed.append(name)
    replace_block(BENCH_README, "bench: machine", machine_line(machine()))
    refresh_headline()
    print("targets:")
    for name in BENCHMARKS:
        for what, met in targets(name):
            print(f"  {what:<32} {'met' if met else 'NOT met'}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
