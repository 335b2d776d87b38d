"""What every benchmark shares: the machine record, the emulator process, timing, and publishing.

Publishing a result writes ``benchmarks/results/<name>.json`` (with the machine it ran on) and
rewrites that benchmark's table in ``benchmarks/README.md`` between its markers, then refreshes the
headline figures in the project README from every results file present. A full run on a quiet
machine therefore refreshes every figure with one command: ``nox -s bench``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.metadata
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
BENCH_README = HERE / "README.md"
PROJECT_README = HERE.parent / "README.md"

PACKAGES = (
    "refiner-async",
    "aiohttp",
    "orjson",
    "cattrs",
    "attrs",
    "aiolimiter",
    "httpx",
    "msgspec",
)


# --- the machine -------------------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or what the platform module knows)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            # what the benchmarks themselves rewrite does not make the tree dirty
            [
                "git",
                "-C",
                str(HERE.parent),
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":!benchmarks/results",
                ":!benchmarks/README.md",
                ":!README.md",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{out}+dirty" if dirty else out


def machine() -> dict[str, Any]:
    """Where and with what a benchmark ran: CPU, cores, load, Python, package versions, commit."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in load],
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(terse=True),
        "packages": versions,
        "commit": _git_commit(),
    }


def machine_line(info: Mapping[str, Any]) -> str:
    """One line naming the machine of a result, for tables."""
    pkgs = info.get("packages", {})
    shown = ", ".join(f"{k} {v}" for k, v in pkgs.items() if v and k != "refiner-async")
    load = "/".join(f"{x:g}" for x in info.get("load_average", []))
    return (
        f"{info.get('cpu')}, {info.get('cores')} cores, load {load} at start; "
        f"{info.get('python')}; {shown}; commit {info.get('commit')}"
    )


# --- the emulator in its own process ----------------------------------------------------------


@dataclass
class Emulator:
    """A FakeRefiner served by ``python -m refiner_async.testing`` in a separate process."""

    process: subprocess.Popen[str]
    base_url: str
    api_key: str
    build_seconds: float

    @property
    def url(self) -> str:
        return self.base_url.removesuffix("/v1")

    def stats(self, *, arrivals: bool = False) -> dict[str, Any]:
        """The emulator's journal (``GET /__admin/stats``), with every request's arrival time
        only when asked (``arrivals``)."""
        with urllib.request.urlopen(f"{self.url}/__admin/stats", timeout=30) as answer:
            out: dict[str, Any] = json.loads(answer.read())
        if not arrivals:
            out.pop("arrivals", None)
        return out

    def reset_stats(self) -> None:
        request = urllib.request.Request(f"{self.url}/__admin/reset-stats", method="POST")
        with urllib.request.urlopen(request, timeout=30):
            pass

    def cpu_seconds(self) -> float:
        """User + system CPU seconds the emulator process has used so far."""
        return process_cpu_seconds(self.process.pid)


@contextlib.contextmanager
def emulator(
    *,
    responses: int,
    seed: int = 1,
    latency: float = 0.0,
    rate_limit: float | None = None,
    rate_burst: float | None = None,
    rate_window: float | None = None,
    startup_timeout: float = 300.0,
) -> Iterator[Emulator]:
    """Start a FakeRefiner process on a free port; stop it on exit."""
    cmd = [
        sys.executable,
        "-m",
        "refiner_async.testing",
        "--port",
        "0",
        "--seed",
        str(seed),
        "--responses",
        str(responses),
        "--latency",
        str(latency),
    ]
    if rate_limit is not None:
        cmd += ["--rate-limit", str(rate_limit)]
    if rate_burst is not None:
        cmd += ["--rate-burst", str(rate_burst)]
    if rate_window is not None:
        cmd += ["--rate-window", str(rate_window)]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        base_url = api_key = ""
        build = 0.0
        deadline = time.monotonic() + startup_timeout
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                raise RuntimeError(f"emulator exited early with code {process.wait()}")
            if line.startswith("FakeRefiner serving "):
                base_url = line.split()[-1]
            elif line.startswith("api_key "):
                api_key = line.split()[-1]
            elif line.startswith("built "):
                build = float(line.split()[-2])
                break
        if not base_url or not api_key:
            raise RuntimeError("emulator did not announce its address in time")
        yield Emulator(process, base_url, api_key, build)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process from /proc (0.0 where /proc is not available)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


# --- timing ------------------------------------------------------------------------------------


@dataclass
class Samples:
    """The measurements of one contender."""

    wall: list[float] = field(default_factory=list)  # seconds
    cpu: list[float] = field(default_factory=list)  # client process CPU seconds
    server_cpu: list[float] = field(default_factory=list)  # emulator process CPU seconds
    items: list[int] = field(default_factory=list)

    def median_wall(self) -> float:
        return statistics.median(self.wall)

    def summary(self) -> dict[str, Any]:
        return {
            "runs": len(self.wall),
            "wall_s": {
                "median": round(statistics.median(self.wall), 4),
                "min": round(min(self.wall), 4),
                "max": round(max(self.wall), 4),
            },
            "cpu_s_median": round(statistics.median(self.cpu), 4),
            "server_cpu_s_median": round(statistics.median(self.server_cpu), 4)
            if self.server_cpu
            else None,
            "items": self.items[-1] if self.items else 0,
        }


Contender = Callable[[], Awaitable[int]]


async def alternate(
    contenders: Mapping[str, Contender],
    *,
    rounds: int,
    warmup: int = 1,
    server: Emulator | None = None,
    progress: bool = True,
) -> dict[str, Samples]:
    """Run each contender once per round, in A B C .. C B A order, after ``warmup`` unmeasured rounds.

    Alternating (and reversing the order every other round) spreads slow drifts and bursts of
    load from other processes over every contender alike; compare medians.
    """
    names = list(contenders)
    samples = {name: Samples() for name in names}
    for round_no in range(-warmup, rounds):
        order = names if round_no % 2 == 0 else names[::-1]
        for name in order:
            gc.collect()
            server_before = server.cpu_seconds() if server is not None else 0.0
            cpu_before = time.process_time()
            started = time.perf_counter()
            items = await contenders[name]()
            wall = time.perf_counter() - started
            cpu = time.process_time() - cpu_before
            if round_no < 0:
                continue
            s = samples[name]
            s.wall.append(wall)
            s.cpu.append(cpu)
            if server is not None:
                s.server_cpu.append(server.cpu_seconds() - server_before)
            s.items.append(items)
        if progress and round_no >= 0:
            done = ", ".join(f"{n} {samples[n].wall[-1]:.3f}s" for n in names)
            print(f"  round {round_no + 1}/{rounds}: {done}", file=sys.stderr)
    return samples


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def run(coro: Awaitable[Any]) -> Any:
    """``asyncio.run`` for a coroutine object."""

    async def main() -> Any:
        return await coro

    return asyncio.run(main())


# --- tables and publishing ---------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A markdown table (numbers right-aligned)."""

    def cell(value: Any) -> str:
        return "" if value is None else str(value)

    cells = [[cell(v) for v in row] for row in rows]
    numeric = [
        all(re.fullmatch(r"[-+0-9.,x%]+", r[i] or "0") for r in cells) for i in range(len(headers))
    ]
    lines = ["| " + " | ".join(headers) + " |"]
    lines.append("|" + "|".join("---:" if n else "---" for n in numeric) + "|")
    lines += ["| " + " | ".join(r) + " |" for r in cells]
    return "\n".join(lines)


def verdict(met: bool | None) -> str:
    if met is None:
        return "not measured"
    return "**met**" if met else "**not met**"


def publish(name: str, result: dict[str, Any], markdown: str, *, quick: bool) -> Path:
    """Write the result JSON, print ``markdown``, and refresh this table and the headlines."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    info = machine()
    result = {
        "benchmark": name,
        "mode": "quick" if quick else "full",
        "measured_at": when,
        **result,
        "machine": info,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    block = f"{markdown}\n\n<sub>{result['mode']} run, {when}: {machine_line(info)}</sub>"
    print(markdown)
    print(f"wrote {path.relative_to(HERE.parent)}")
    if not replace_block(BENCH_README, f"results: {name}", block):
        raise RuntimeError(f"benchmarks/README.md has no '<!-- results: {name} -->' block")
    refresh_headline()
    return path


def load_result(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def replace_block(path: Path, marker: str, content: str) -> bool:
    """Replace the text between ``<!-- marker -->`` and ``<!-- /marker -->`` (False if absent)."""
    if not path.exists():
        return False
    text = path.read_text()
    start, end = f"<!-- {marker} -->", f"<!-- /{marker} -->"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        return False
    new = pattern.sub(lambda _: f"{start}\n{content}\n{end}", text, count=1)
    if new != text:
        path.write_text(new)
    return True


def _met(met: bool) -> str:
    return "met" if met else "not met"


def _all_met(met: bool) -> str:
    return "all targets met" if met else "not every target met"


def _headline_lines() -> list[str]:
    """The headline figures quoted in the project README, one line per results file present."""
    lines: list[str] = []
    r = load_result("export_throughput")
    if r:
        h = r["headline"]
        lines.append(
            f"- Bulk export of {r['responses']:,} responses (~1 KB each, 1,000 per page, no "
            f"latency): typed `Response` models in **{h['sdk_over_floor']:.2f}x** the time of the "
            f"raw aiohttp + orjson dict loop (target 1.5x: {_met(r['target']['met'])}), "
            f"{r['contenders']['sdk_gc']['over_floor']:.2f}x with `pause_gc=True` (as `export()` "
            f"and the CLI run); a naive aiohttp + `json` loop takes {h['naive_over_sdk']:.2f}x and "
            f"httpx's AsyncClient {h['httpx_over_sdk']:.2f}x the SDK's time ({r['mode']} run)."
        )
    r = load_result("latency_export")
    if r:
        h = r["headline"]
        lines.append(
            f'- The same with 30 ms of latency per request: `pagination="pages"` '
            f"**{h['speedup_vs_naive']:.1f}x** faster than a sequential page loop and "
            f"{h['speedup_vs_sequential_sdk']:.1f}x faster than the SDK with `max_concurrency=1` "
            f'(target 5x: {_met(r["target"]["met"])}); `"windows"` '
            f'{h["windows_over_pages"]:.2f}x and the default `"auto"` (date windows for '
            f'responses) {h["auto_over_pages"]:.2f}x the time of `"pages"` ({r["mode"]} run).'
        )
    r = load_result("default_speed")
    if r:
        at = {round(run["latency_s"] * 1000): run for run in r["runs"]}
        lines.append(
            f"- Every default, 100,000 responses: typed iteration "
            f"**{at[30]['typed_over_bound']:.2f}x** / {at[100]['typed_over_bound']:.2f}x the time "
            f"of a hand-written 8-concurrent aiohttp + orjson script (or of its own CPU, if more) "
            f"at 30 / 100 ms per request (target 1.2x) and {at[0]['typed_over_naive']:.2f}x a "
            f"naive loop at 0 ms; `.raw()` {at[0]['raw_over_script8']:.2f}x / "
            f"{at[30]['raw_over_script8']:.2f}x / {at[100]['raw_over_script8']:.2f}x the script at "
            f"0 / 30 / 100 ms (target 1.15x; {_all_met(r['met'])}; {r['mode']} run)."
        )
    r = load_result("export_formats")
    if r:
        ratio, slow = r["sdk_over_floor"], r["latency"]
        met = all(r["target"].values())
        lines.append(
            f"- `export()` of {r['responses']:,} responses against hand-written scripts writing "
            f"the same file: JSON Lines **{ratio['jsonl']:.2f}x** (target 1.15x), CSV "
            f"**{ratio['csv']:.2f}x** and Parquet **{ratio['parquet']:.2f}x** (target 1.3x); JSON "
            f"Lines {slow['sdk_over_jsonl8']:.2f}x an 8-concurrent script at "
            f"{slow['latency_s'] * 1000:.0f} ms per request (target 1.2x; {_all_met(met)}; "
            f"{r['mode']} run)."
        )
    r = load_result("key_saturation")
    if r:
        lines.append(
            f"- `refiner-async export` against the key's limit (66.7 requests/s, 30 ms per "
            f"request): **{r['of_limit_median']:.3f}** of it with {r['server_429_total']} 429s "
            f"(target 0.95 with none: {_met(r['target']['met'])}; {r['mode']} run)."
        )
    r = load_result("decode_cost")
    if r:
        us = r["us_per_item"]
        lines.append(
            f"- Decoding one ~1 KB response: `orjson.loads` {us['orjson_loads']:.2f} µs, then "
            f"**{us['sdk_converter']:.2f} µs** for the SDK's models ({r['sdk_over_orjson']:.2f}x "
            f"orjson, target 1x: {_met(r['target']['met'])}); stock cattrs "
            f"{us['stock_cattrs']:.2f} µs; msgspec straight into structs "
            f"{us.get('msgspec_structs', float('nan')):.2f} µs for the whole job"
        )
        built = r.get("pages", {}).get("built", {})
        if "open_free_over_orjson" in built:
            served = r["pages"]["emulator"]
            lines[-1] += (
                f"; a typed page's whole life (decode, build, free the models) "
                f"**{built['open_free_over_orjson']:.2f}x** / {served['open_free_over_orjson']:.2f}x "
                f"(built / emulator page) that of a page of dicts (target 2.5x: "
                f"{_met(r['target']['open_free_met'])})"
            )
        lines[-1] += f" ({r['mode']} run)."
    r = load_result("import_time")
    if r:
        ms = r["median_ms"]
        lines.append(
            f"- `import refiner_async` {ms['refiner_async']:.0f} ms, **{r['sdk_over_aiohttp']:.2f}x** "
            f"`import aiohttp` (target 1.2x: {_met(r['target']['met'])}; {r['mode']} run)."
        )
    r = load_result("rate_limit")
    if r:
        told, untold = r["runs"]["told"], r["runs"]["untold"]
        lines.append(
            f"- A 40 requests/s limit shared by 16 listers: **{told['efficiency_median']:.2f}** "
            f"of it with {told['server_429']} 429s when the client is told the limit (target "
            f"0.95: {_met(told['target']['met'])}); {untold['efficiency_median']:.2f} with "
            f"{untold['server_429']} 429s and {untold['failures']} listers failing over "
            f"{untold['duration_s']:g} s when it is not (nothing lost: "
            f"{_met(untold['target']['met'])})"
        )
        long, windows = r["runs"].get("untold_long"), r["runs"].get("untold_windows")
        burst = r["runs"].get("untold_burst")
        if long is not None:
            lines[-1] += (
                f", **{long['efficiency_second_half_median']:.2f}** once it has learned the limit "
                f"(the second half of a {long['duration_s']:g} s run; target 0.9: "
                f"{_met(long['target']['met'])})"
            )
        if burst is not None:
            lines[-1] += (
                f", **{burst['efficiency_second_half_median']:.2f}** against a bucket holding a "
                f"second of the rate (target 0.9: {_met(burst['target']['met'])})"
            )
        if windows is not None:
            lines[-1] += (
                f", **{windows['efficiency_second_half_median']:.2f}** against fixed windows "
                f"(the second half of {windows['duration_s']:g} s, its longest silence "
                f"{windows['silence_second_half_s']:.1f} s; target 0.9: "
                f"{_met(windows['target']['met'])})"
            )
        lines[-1] += f" ({r['mode']} run)."
    r = load_result("dlt_load")
    if r and "first, file_format=None" in r["runs"]:
        runs = {name: run["steps_s"]["total"] for name, run in r["runs"].items()}
        first, inserts = runs["first"], runs["first, file_format=None"]
        lines.append(
            f"- dlt into DuckDB: a first load of {r['sdk_only']['rows']:,} responses (and the "
            f"contacts, forms, segments) in **{first:.1f} s** with the source's Parquet load "
            f"files, {inserts / first:.1f}x faster than with dlt's default SQL inserts "
            f"({inserts:.1f} s)"
            + (
                f", and in **{runs['first, arrow=True']:.1f} s** with `arrow=True`"
                if "first, arrow=True" in runs
                else ""
            )
            + f"; an incremental run of {r['new_responses']:,} new responses "
            f"{runs['incremental']:.1f} s, {runs['incremental, responses only']:.1f} s for the "
            f"responses alone (no target; {r['mode']} run)."
        )
    r = load_result("memory")
    if r:
        h, t = r["headline"], r["target"]
        lines.append(
            f"- Streaming {h['small_items']:,} vs {h['large_items']:,} responses: peak RSS "
            f"{h['small_rss_mb']:.0f} MB vs {h['large_rss_mb']:.0f} MB (**{h['growth']:.2f}x**, "
            f"target 1.2x: {_met(t['growth_met'])}; `.collect()` of {h['small_items']:,}: "
            f"{h['collect_rss_mb']:.0f} MB); event-loop lag p99 **{h['lag_p99_ms']:.0f} ms** "
            f"while decoding (target < 50 ms: {_met(t['lag_met'])}; {r['mode']} run)."
        )
        if "export_growth" in h:
            growth = ", ".join(f"{fmt} {g:.2f}x" for fmt, g in h["export_growth"].items())
            lines[-1] += (
                f" Exporting them, peak RSS grows {growth} "
                f"(target 1.2x: {_met(t['export_growth_met'])})."
            )
    return lines


def refresh_headline() -> None:
    """Rewrite the project README's headline figures from the results files present."""
    lines = _headline_lines()
    if lines:
        replace_block(PROJECT_README, "bench: headline", "\n".join(lines))


def common_arguments(description: str) -> Any:
    """An ArgumentParser with ``--quick`` (short settings for a busy machine)."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--quick", action="store_true", help="short settings to check the script, not to quote"
    )
    return parser


def run_export_benchmark(
    name: str,
    description: str,
    measure: Callable[[int, int], Awaitable[dict[str, Any]]],
    render: Callable[[dict[str, Any]], str],
    *,
    rounds: tuple[int, int],
) -> None:
    """The ``main()`` of an export benchmark: ``--responses`` and ``--rounds`` (``rounds`` is the
    default with and without ``--quick``), then measure and publish."""
    parser = common_arguments(description)
    parser.add_argument("--responses", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    responses = args.responses or (20_000 if args.quick else 100_000)
    count = args.rounds or (rounds[0] if args.quick else rounds[1])
    result = asyncio.run(measure(responses, count))
    publish(name, result, render(result), quick=args.quick)


def timing_cells(contender: Mapping[str, Any]) -> list[str]:
    """The first cells of an export table's row: the contender, its median wall time and range."""
    wall = contender["wall_s"]
    return [contender["label"], f"{wall['median']:.3f}", f"{wall['min']:.3f}-{wall['max']:.3f}"]
