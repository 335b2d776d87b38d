"""Fixtures shared by every test directory."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import aiohttp
import aioresponses.core
import pytest

from refiner_async._retry import instant_retries

T = TypeVar("T")

if "stream_writer" in inspect.signature(aiohttp.ClientResponse.__init__).parameters:
    # aiohttp 3.14 made ClientResponse require a stream_writer that aioresponses (0.7.9) does not
    # pass; give its canned responses a finished writer so they build as before.

    class _CannedResponse(aiohttp.ClientResponse):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
            super().__init__(*args, **kwargs)

    aioresponses.core.ClientResponse = _CannedResponse  # type: ignore[misc]

API_KEY = "0123456789abcdef0123456789abcdef01234567"  # 40 hex characters, shaped like a real key
ROOT = Path(__file__).resolve().parents[1]
#: What a clean run of a program leaves on stderr: none of these (a library's log lines may be there).
STDERR_NOISE = re.compile(r"Traceback|Exception ignored|Unclosed|\w+Warning: ")


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock jumps straight to the next timer when nothing is ready to run.

    Sleeps and timers cost no wall time, so rate limits and backoff can be checked to the millisecond.
    Only for code without real I/O.
    """

    def __init__(self) -> None:
        super().__init__()
        self._virtual_now = 0.0

    def time(self) -> float:
        return self._virtual_now

    def _run_once(self) -> None:
        ready: Any = self._ready  # type: ignore[attr-defined]
        scheduled: Any = self._scheduled  # type: ignore[attr-defined]
        if not ready and scheduled:
            when = min((h.when() for h in scheduled if not h.cancelled()), default=None)
            if when is not None:
                # Always move forward a little, so that timers re-armed for "now" by float
                # rounding (as a leaky bucket does) see time pass, as they would on a real clock.
                self._virtual_now = max(when, self._virtual_now + 1e-6)
        super()._run_once()  # type: ignore[misc]


@pytest.fixture
def run_virtual() -> Iterator[Callable[[Any], Any]]:
    """Run a coroutine to completion on a fresh virtual-clock loop."""
    loop = VirtualClockLoop()

    def run(coro: Any) -> Any:
        return loop.run_until_complete(coro)

    yield run
    loop.close()


@pytest.fixture
def instant() -> Iterator[None]:
    """Retry waits become zero for the duration of the test."""
    with instant_retries():
        yield


@pytest.fixture
def api_key() -> str:
    return API_KEY


def readme_example(heading: str, first_line: str = "") -> str:
    """The first python block after ``heading`` (a whole heading line of README.md) whose source
    starts with ``first_line``."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(heading + "\n", 1)[1]
    match = re.search(rf"```python\n({re.escape(first_line)}.*?)```", section, re.DOTALL)
    assert match is not None
    return match.group(1)


def connect_to(fake: Any, **options: Any) -> Any:
    """A client for the emulator ``fake`` without a client-side rate limit."""
    from refiner_async import RefinerClient

    return RefinerClient(fake.api_key, base_url=fake.base_url, rate_limit=None, **options)


def emulator_env(fake: Any, **extra: str) -> dict[str, str]:
    """The environment of a program pointed at the emulator ``fake``, as a reader would set it.

    ``REFINER_API_KEY`` and ``REFINER_BASE_URL`` name the emulator, this tree is first on
    ``PYTHONPATH``, none of this process's other ``REFINER_*``/``SOURCES__*`` settings remain;
    ``extra`` is added last (and wins).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REFINER_", "SOURCES__"))}
    env.update(PYTHONPATH=str(ROOT), REFINER_API_KEY=fake.api_key, REFINER_BASE_URL=fake.base_url)
    env.update(extra)
    return env


async def run_python(
    *args: str, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """``python -W default ARGS`` in a subprocess, while this test's event loop goes on (serving
    an emulator the test started); a run still going after 300 s is killed, and its pipes
    closed, before the test fails."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-W", "default", *args,
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=300)
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()
    assert process.returncode is not None
    return subprocess.CompletedProcess(args, process.returncode, stdout.decode(), stderr.decode())


def max_in_window(times: list[float], width: float) -> int:
    """The most events inside any half-open window of ``width`` seconds."""
    ordered = sorted(times)
    best = lo = 0
    for hi, t in enumerate(ordered):
        while t - ordered[lo] >= width:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


class RedisServer:
    """A real ``redis-server`` on a Unix socket in a temporary directory, started and stopped here.

    ``url`` stays the same across :meth:`stop` and :meth:`start`, so clients can see it come back;
    :meth:`freeze` and :meth:`thaw` stop and continue the process (a hung Redis).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.socket = directory / "redis.sock"
        self.url = f"unix://{self.socket}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail(
                "redis-server is not installed (.ci/run installs it); the rate-store tests need it"
            )
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                "0",
                "--unixsocket",
                str(self.socket),
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(500):  # up to 5 s for the socket to answer
            if self.ping():
                return
            time.sleep(0.01)
        self.stop()
        pytest.fail("redis-server did not start")

    def ping(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(1.0)
                sock.connect(str(self.socket))
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGCONT)  # a frozen server cannot shut down
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def freeze(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A fresh redis-server of this test's own (a missing redis-server fails the test, never skips)."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


async def call(client: Any, method: str, path: str, **options: Any) -> Any:
    """One call through ``client``'s request path and JSON codec, as a resource sends it: the
    answer's JSON (``None`` for an empty body)."""
    return await client._core.request(method, path, decode=client._decoding.json, **options)
