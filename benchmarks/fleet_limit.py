"""Fleet rate limiting: several worker processes on one API key, with and without a shared store.

The emulator (its own process) allows 40 requests per second (token bucket, burst 4; 429 with an
integer ``Retry-After``). A fleet of 1, 3 or 6 worker processes (``tests/fleet_worker.py``), each
its own RefinerClient told the key's limit (``rate_limit=40``, 4 tasks calling ``GET /account`` in a
loop), runs for the same seconds twice: each process on its own in-process limiter, and all on one
``RedisRateStore`` (a redis-server this script starts on a Unix socket). Figures: the answered
requests per second (from the first arrival to the last) over the limit, the emulator's 429s and
its busiest second. Target: with the store, 3 and 6 processes get >= 0.9 of the limit with zero
429s.

A lone process on the store also times each reservation (one ``EVALSHA`` round trip) and its CPU per
request is set against the same process on its in-process store: the cost of sharing.

Run: ``python benchmarks/fleet_limit.py [--quick]``.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from _common import HERE, Emulator, common_arguments, emulator, publish, table, verdict

NAME = "fleet_limit"
LIMIT = 40.0
FLEETS = (1, 3, 6)
WORKER = HERE.parent / "tests" / "fleet_worker.py"
STARTUP = 2.5  # seconds for the workers to import and connect before they start together


class RedisServer:
    """A redis-server on a Unix socket in a temporary directory, for the length of the benchmark."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is needed (apt-get install redis-server)")
        self.directory = tempfile.TemporaryDirectory()
        sock = Path(self.directory.name) / "redis.sock"
        self.url = f"unix://{sock}"
        self.process = subprocess.Popen(
            [binary, "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(500):
            if sock.exists():
                return
            time.sleep(0.01)
        raise SystemExit("redis-server did not start")

    def close(self) -> None:
        self.process.terminate()
        self.process.wait()
        self.directory.cleanup()


def server_arrivals(server: Emulator) -> list[float]:
    """When each request reached the emulator (its journal, which ``Emulator.stats`` leaves out)."""
    with urllib.request.urlopen(f"{server.url}/__admin/stats", timeout=30) as answer:
        arrivals: list[float] = json.loads(answer.read())["arrivals"]
    return arrivals


async def run_fleet(
    server: Emulator, processes: int, redis_url: str | None, seconds: float, *, time_store: bool
) -> dict[str, Any]:
    """``processes`` workers for ``seconds``; the emulator's counts and the workers' summaries."""
    server.reset_stats()
    settings = {
        "base_url": server.base_url,
        "api_key": server.api_key,
        "rate": LIMIT,
        "path": "/account",
        "redis_url": redis_url,
        "start_at": time.time() + STARTUP,
        "seconds": seconds,
        "tasks": 4,
        "time_store": time_store,
    }
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable, str(WORKER), json.dumps(settings), stdout=asyncio.subprocess.PIPE
        )
        for _ in range(processes)
    ]
    outputs = [json.loads((await w.communicate())[0]) for w in workers]
    stats = server.stats()
    arrivals = server_arrivals(server)
    answered = stats["statuses"].get("200", 0)
    span = max(arrivals) - min(arrivals)  # from the first request to the last one, late ones too
    return {
        "processes": processes,
        "store": "redis" if redis_url else "in-process",
        "seconds": seconds,
        "answered": answered,
        "rate_of_limit": round((answered - 1) / span / LIMIT, 3),
        "server_429": stats["responses_429"],
        "peak_rps": stats["peak_rps"],
        "untyped_errors": sum(len(o["untyped"]) for o in outputs),
        "failed_calls": sum(n for o in outputs for k, n in o["outcomes"].items() if k != "ok"),
        "requests": sum(o["requests"] for o in outputs),
        "cpu_s": round(sum(o["cpu_seconds"] for o in outputs), 3),
        "store_seconds_median": outputs[0]["store_seconds_median"],
        "store_calls": outputs[0]["store_calls"],
    }


async def reservation_cost(url: str, count: int) -> dict[str, float]:
    """Wall and CPU microseconds of one reservation made back to back on an idle event loop:
    Redis (one EVALSHA round trip) against the in-process store."""
    from refiner_async._ratelimit import bucket
    from refiner_async.ratelimit import InProcessRateStore, RateStore, RedisRateStore

    key = [bucket("key", 1e9)]  # a rate no test reaches: every turn is granted at once
    out: dict[str, float] = {}
    redis_store = RedisRateStore.from_url(url)
    stores: dict[str, RateStore] = {"redis": redis_store, "in_process": InProcessRateStore()}
    for name, store in stores.items():
        for _ in range(100):  # connect, load the script
            await store.reserve("bench", key, max_wait=None)
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(count):
            await store.reserve("bench", key, max_wait=None)
        out[f"{name}_wall_us"] = round((time.perf_counter() - wall) / count * 1e6, 1)
        out[f"{name}_cpu_us"] = round((time.process_time() - cpu) / count * 1e6, 1)
    await redis_store.aclose()
    return out


async def measure(seconds: float, count: int) -> dict[str, Any]:
    redis = RedisServer()
    runs: list[dict[str, Any]] = []
    try:
        round_trip = await reservation_cost(redis.url, count)
        with emulator(responses=100, rate_limit=LIMIT) as server:
            for processes in FLEETS:
                for url in (None, redis.url):
                    await asyncio.sleep(1.0)  # let the emulator's bucket fill again
                    run = await run_fleet(
                        server, processes, url, seconds, time_store=processes == 1
                    )
                    runs.append(run)
                    print(
                        f"  {processes} x {run['store']}: {run['rate_of_limit']:.3f} of the limit, "
                        f"429s {run['server_429']}, peak {run['peak_rps']}",
                        flush=True,
                    )
    finally:
        redis.close()
    alone = {r["store"]: r for r in runs if r["processes"] == 1}
    per_request = {k: r["cpu_s"] / max(1, r["requests"]) for k, r in alone.items()}
    cost = {
        **round_trip,
        "round_trip_us_median": round(alone["redis"]["store_seconds_median"] * 1e6, 1),
        "reservations_timed": alone["redis"]["store_calls"],
        "cpu_us_per_request_in_process": round(per_request["in-process"] * 1e6, 1),
        "cpu_us_per_request_redis": round(per_request["redis"] * 1e6, 1),
        "cpu_share_of_store": round(1 - per_request["in-process"] / per_request["redis"], 3),
    }
    shared = [r for r in runs if r["store"] == "redis" and r["processes"] > 1]
    met = all(r["server_429"] == 0 and r["rate_of_limit"] >= 0.9 for r in shared)
    return {
        "limit_rps": LIMIT,
        "runs": runs,
        "cost": cost,
        "target": {"rate_of_limit_min": 0.9, "zero_429": True, "met": met},
    }


def render(result: dict[str, Any]) -> str:
    rows = [
        [
            r["processes"],
            r["store"],
            f"{r['rate_of_limit']:.3f}",
            r["server_429"],
            r["peak_rps"],
            r["failed_calls"],
        ]
        for r in result["runs"]
    ]
    c = result["cost"]
    head = (
        f"Emulator limit {result['limit_rps']:g} requests/s (burst 4); each worker process told "
        f"rate_limit={result['limit_rps']:g}, 4 tasks, {result['runs'][0]['seconds']:g} s per run.\n\n"
    )
    cost = (
        f"\n\nSharing cost. Back to back on an idle event loop, a reservation takes "
        f"{c['redis_wall_us']:g} µs ({c['redis_cpu_us']:g} µs of client CPU; one EVALSHA over a "
        f"Unix socket) against {c['in_process_wall_us']:g} µs in-process. In the lone worker "
        f"process above, a reservation took {c['round_trip_us_median']:g} µs (median of "
        f"{c['reservations_timed']}, event-loop turns included), and its CPU per request was "
        f"{c['cpu_us_per_request_redis']:g} µs on Redis against "
        f"{c['cpu_us_per_request_in_process']:g} µs in-process: the store is "
        f"{c['cpu_share_of_store']:.0%} of a request's client CPU.\n\n"
        f"Target: with the shared store, 3 and 6 processes >= 0.9 of the limit and zero 429s: "
        f"{verdict(result['target']['met'])}."
    )
    cols = ["processes", "store", "rate / limit", "429s", "peak 1 s", "failed calls"]
    return head + table(cols, rows) + cost


def main() -> None:
    parser = common_arguments(__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=None)
    args = parser.parse_args()
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    result = asyncio.run(measure(seconds, 500 if args.quick else 5000))
    publish(NAME, result, render(result), quick=args.quick)


if __name__ == "__main__":
    main()
