"""What gzip buys on a page of 1,000 responses: bytes on the wire, and the time it costs and saves.

The SDK advertises ``Accept-Encoding: gzip, deflate`` and inflates bodies itself, bounded by
``max_response_bytes``. Whether to keep advertising compression depends on these figures:

- the page from the emulator (``include=all``, 1,000 responses, about 1 MB) and its gzip size at
  levels 1 and 6 (6 is zlib's default, what aiohttp.web and most servers use);
- the server's compression time and the client's bounded inflation time per page (medians);
- the SDK's whole fetch of that page over loopback, served as it is and served gzipped (the gzip
  precompressed, so only the client's extra work shows), alternating, medians;
- the transfer time saved at 10, 100 and 1,000 Mbit/s, and the link speed below which gzip saves
  more time than the client spends inflating.

Run: ``python benchmarks/compression.py [--quick]`` (prints the figures; not part of ``run_all``).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import statistics
import time
from typing import Any

from _common import common_arguments, emulator


def median_seconds(step: Any, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def inflate(body: bytes) -> bytes:
    from refiner_async._decompress import Inflater

    inflater = Inflater("gzip", 64 * 1024 * 1024)
    out = [inflater.feed(body[i : i + 65_536]) for i in range(0, len(body), 65_536)]
    return b"".join([*out, inflater.finish()])


async def fetch_times(page: bytes, packed: bytes, key: str, rounds: int) -> dict[str, float]:
    """Median seconds for the SDK to fetch and decode the page, plain and gzipped, over loopback."""
    from aiohttp import web

    from refiner_async import RefinerClient

    async def serve(request: web.Request) -> web.Response:
        headers = {"Content-Type": "application/json"}
        if request.path.endswith("/gzip"):
            return web.Response(body=packed, headers={**headers, "Content-Encoding": "gzip"})
        return web.Response(body=page, headers=headers)

    app = web.Application()
    app.router.add_get("/{tail:.*}", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    times: dict[str, list[float]] = {"identity": [], "gzip": []}
    try:
        async with RefinerClient(key, base_url=base, rate_limit=None) as client:
            for _ in range(rounds):
                for kind in ("identity", "gzip", "gzip", "identity"):
                    started = time.perf_counter()
                    await client.get(f"/{kind}")
                    times[kind].append(time.perf_counter() - started)
    finally:
        await runner.cleanup()
    return {kind: statistics.median(values) for kind, values in times.items()}


async def page_from_emulator() -> tuple[bytes, str]:
    import aiohttp

    with emulator(responses=1000) as server:
        headers = {"Authorization": f"Bearer {server.api_key}", "Accept-Encoding": "identity"}
        params = {"include": "all", "page_length": "1000"}
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{server.base_url}/responses", params=params, headers=headers) as answer,
        ):
            return await answer.read(), server.api_key


def main() -> None:
    args = common_arguments(__doc__.splitlines()[0]).parse_args()
    rounds = 5 if args.quick else 30
    page, key = asyncio.run(page_from_emulator())
    fast, packed = gzip.compress(page, 1), gzip.compress(page, 6)
    assert inflate(packed) == page
    inflate_s = median_seconds(lambda: inflate(packed), rounds)
    fetch = asyncio.run(fetch_times(page, packed, key, rounds))
    saved = len(page) - len(packed)
    result: dict[str, Any] = {
        "page_bytes": len(page),
        "gzip1_bytes": len(fast),
        "gzip6_bytes": len(packed),
        "ratio": round(len(page) / len(packed), 2),
        "server_gzip6_ms": round(median_seconds(lambda: gzip.compress(page, 6), rounds) * 1e3, 2),
        "server_gzip1_ms": round(median_seconds(lambda: gzip.compress(page, 1), rounds) * 1e3, 2),
        "client_inflate_ms": round(inflate_s * 1e3, 2),
        "sdk_fetch_loopback_ms": {k: round(v * 1e3, 2) for k, v in fetch.items()},
        "transfer_saved_ms": {
            f"{mbit} Mbit/s": round(saved * 8 / (mbit * 1e6) * 1e3, 1) for mbit in (10, 100, 1000)
        },
        "break_even_mbit_s": round(saved * 8 / inflate_s / 1e6),
    }
    print(json.dumps(result, indent=2))
    print(
        f"gzip: {len(page):,} -> {len(packed):,} bytes ({result['ratio']}x); client inflates in "
        f"{result['client_inflate_ms']} ms, saving {result['transfer_saved_ms']['100 Mbit/s']} ms "
        f"at 100 Mbit/s; worth it below {result['break_even_mbit_s']:,} Mbit/s; loopback fetch "
        f"{fetch['identity'] * 1e3:.1f} ms plain vs {fetch['gzip'] * 1e3:.1f} ms gzipped"
    )


if __name__ == "__main__":
    main()
