"""serve(): the standalone emulator, as a coroutine and as ``python -m refiner_async.testing``."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import urllib.request

import aiohttp
import orjson

from refiner_async.testing import FakeRefiner, serve


async def test_serve_runs_until_cancelled():
    """serve() listens until its task is cancelled, then closes."""
    ready: asyncio.Future[FakeRefiner] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(port=0, responses=40, seed=5, ready=ready.set_result))
    fake = await asyncio.wait_for(ready, 10)
    headers = {"Authorization": f"Bearer {fake.api_key}"}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.get(fake.base_url + "/responses?include=all") as response,
    ):
        assert (await response.json())["pagination"]["items_count"] == 40
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert fake.open_connections() == 0


def test_module_entry_point_prints_url_and_key():
    """python -m refiner_async.testing prints the base URL and the key, then serves."""
    process = subprocess.Popen(
        [sys.executable, "-m", "refiner_async.testing", "--port", "0", "--responses", "25"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().split()[-1]
        api_key = process.stdout.readline().split()[-1]
        assert base_url.startswith("http://127.0.0.1:")
        assert base_url.endswith("/v1")
        request = urllib.request.Request(
            base_url + "/responses?include=all", headers={"Authorization": f"Bearer {api_key}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert orjson.loads(response.read())["pagination"]["items_count"] == 25
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
