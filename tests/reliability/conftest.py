"""The reliability suite's harness: the leak gate every scenario ends with, and shared helpers.

The gate (``gate``, autouse) watches every RefinerClient and FakeRefiner a test creates and, when the
test ends, fails it if

- a client was left open, or closed with a connection still acquired or a limiter slot still taken;
- an emulator still had client connections open a moment after every client had closed;
- a task other than the test's own is still pending;
- garbage collection reports an unclosed session, connector or transport (ResourceWarning or a
  loop error);
- the API key appears in a captured DEBUG log line, in the ``str``/``repr`` of an error that left
  the request path, in a client's ``repr``, or in a URL or non-auth header the emulator received.

Helpers shared by the modules are fixtures too (test modules cannot import this file):
``connect`` builds clients with test defaults, ``retry_waits`` records every retry wait the policy
computes, ``raw_server`` serves a tiny aiohttp.web app for answers the emulator cannot produce.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import warnings
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from refiner_async import RefinerClient
from refiner_async import _http as http_module
from refiner_async._http import HTTPCore
from refiner_async.testing import FakeRefiner

SETTLE_SECONDS = 1.0  # how long connections and tasks get to wind down before counting as leaked


# ---------------------------------------------------------------------------------------- the gate


def error_texts(error: BaseException) -> list[str]:
    """Everything an error would show a user or a log: str, repr and attributes, causes included."""
    texts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts += [str(current), repr(current)]
        with contextlib.suppress(TypeError):
            texts.append(repr(vars(current)))
        current = current.__cause__ or current.__context__
    return texts


@dataclass
class Gate:
    """What the leak gate saw during one test; tests may read it or add texts to scan."""

    keys: set[str] = field(default_factory=set)  # API keys of the clients created
    clients: list[weakref.ref[RefinerClient]] = field(default_factory=list)
    closed_with_acquired: list[int] = field(default_factory=list)  # connections held at close
    closed_with_slots_taken: list[int] = field(default_factory=list)  # limiter slots held at close
    server_leftovers: list[int] = field(default_factory=list)  # emulator connections after close
    texts: list[str] = field(default_factory=list)  # errors, reprs, URLs and headers to scan

    def open_clients(self) -> list[RefinerClient]:
        """Clients still holding an open session of their own (never used ones hold none)."""
        return [c for ref in self.clients if (c := ref()) is not None and _owns_open_session(c)]

    def scan(self, *items: object) -> None:
        """Add errors (with their causes) or any objects' str/repr to the texts checked for keys."""
        for item in items:
            if isinstance(item, BaseException):
                self.texts += error_texts(item)
            else:
                self.texts += [str(item), repr(item)]

    def key_occurrences(self, extra: Iterable[str] = ()) -> int:
        """How often any client's API key occurs in what was seen (plus ``extra``)."""
        texts = [*self.texts, *extra]
        return sum(text.count(key) for key in self.keys for text in texts)

    @staticmethod
    def pending_tasks() -> list[asyncio.Task[Any]]:
        """Tasks still pending besides the current one, leaving out servers' request handlers."""
        me = asyncio.current_task()
        return [
            t
            for t in asyncio.all_tasks()
            if t is not me and not t.done() and not _serves_a_request(t)
        ]

    def leaked_connections(self) -> int:
        return sum(self.closed_with_acquired) + sum(self.server_leftovers)


async def settle(done: Callable[[], bool], seconds: float = SETTLE_SECONDS) -> None:
    """Poll ``done`` until it holds or ``seconds`` pass (sockets and tasks wind down on their own)."""
    for _ in range(int(seconds / 0.01)):
        if done():
            return
        await asyncio.sleep(0.01)


def _serves_a_request(task: asyncio.Task[Any]) -> bool:
    """A server-side request handler (the emulator's or a raw test server's), not an SDK task.

    aiohttp.web does not cancel a handler whose client went away, so a raw test server's handler,
    or one of an emulator not stopped yet (``FakeRefiner.stop()`` cancels its own), may still be
    running when the test ends; the gate cancels those without blaming the SDK.
    """
    return getattr(task.get_coro(), "__qualname__", "").startswith("RequestHandler.")


def _owns_open_session(client: RefinerClient) -> bool:
    return client._core.left_open


def _acquired(client: RefinerClient) -> int:
    session = client._core.shared.session
    if session is None or session.closed or session.connector is None:
        return 0
    return len(session.connector._acquired)


def _slots_taken(client: RefinerClient) -> int:
    free = client._core._limiter._in_flight._value
    return client.max_concurrency - free


@pytest.fixture(autouse=True)
async def gate(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[Gate]:
    """The leak gate: see the module docstring for what fails a test."""
    caplog.set_level(logging.DEBUG, logger="refiner_async")
    seen = Gate()
    loop = asyncio.get_running_loop()
    loop_errors: list[str] = []
    previous_handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: loop_errors.append(str(context)))

    original_init = RefinerClient.__init__
    original_aclose = RefinerClient.aclose
    original_request = HTTPCore.request
    original_dispatch = FakeRefiner._dispatch
    original_stop = FakeRefiner.stop

    def init(self: RefinerClient, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        seen.keys.add(self._core._api_key)
        seen.clients.append(weakref.ref(self))

    async def aclose(self: RefinerClient) -> None:
        shared = self._core.shared
        if not self.closed and shared.session is not shared.borrowed:
            seen.closed_with_acquired.append(_acquired(self))
            seen.closed_with_slots_taken.append(_slots_taken(self))
            seen.texts.append(repr(self))
        await original_aclose(self)

    async def request(self: HTTPCore, *args: Any, **kwargs: Any) -> Any:
        try:
            return await original_request(self, *args, **kwargs)
        except Exception as error:
            seen.texts += error_texts(error)
            raise

    async def dispatch(self: FakeRefiner, request: web.Request) -> web.StreamResponse:
        seen.texts.append(str(request.rel_url))
        seen.texts += [f"{k}: {v}" for k, v in request.headers.items() if k != "Authorization"]
        return await original_dispatch(self, request)

    async def stop(self: FakeRefiner) -> None:
        if self._runner is not None and not seen.open_clients():
            await settle(lambda: not self.open_connections())
            seen.server_leftovers.append(self.open_connections())
        await original_stop(self)

    monkeypatch.setattr(RefinerClient, "__init__", init)
    monkeypatch.setattr(RefinerClient, "aclose", aclose)
    monkeypatch.setattr(HTTPCore, "request", request)
    monkeypatch.setattr(FakeRefiner, "_dispatch", dispatch)
    monkeypatch.setattr(FakeRefiner, "stop", stop)

    yield seen

    problems: list[str] = []
    left_open = seen.open_clients()
    for client in left_open:
        await original_aclose(client)
    if left_open:
        problems.append(f"{len(left_open)} client(s) left open")
    if any(seen.closed_with_acquired):
        problems.append(f"connections still acquired at close: {seen.closed_with_acquired}")
    if any(seen.closed_with_slots_taken):
        problems.append(f"limiter slots still taken at close: {seen.closed_with_slots_taken}")
    if any(seen.server_leftovers):
        problems.append(f"emulator connections left open: {seen.server_leftovers}")

    await settle(lambda: not seen.pending_tasks())
    sdk_tasks = seen.pending_tasks()
    me = asyncio.current_task()
    pending = [t for t in asyncio.all_tasks() if t is not me and not t.done()]  # handlers too
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    if sdk_tasks:
        problems.append(f"{len(sdk_tasks)} task(s) still pending: {sdk_tasks[:3]}")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
        await asyncio.sleep(0)  # let a collected transport's close callbacks run
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    if unclosed:
        problems.append(f"unclosed resources: {unclosed[:3]}")
    loop.set_exception_handler(previous_handler)
    if loop_errors:
        problems.append(f"event loop errors: {loop_errors[:3]}")

    formatter = logging.Formatter("%(message)s %(exc_text)s")
    logged = [formatter.format(r) for when in ("setup", "call") for r in caplog.get_records(when)]
    occurrences = seen.key_occurrences(logged)
    if occurrences:
        problems.append(f"the API key appeared {occurrences} time(s) in logs, errors or requests")
    if problems:
        pytest.fail("leak gate: " + "; ".join(problems), pytrace=False)


# ---------------------------------------------------------------------------------------- helpers


@pytest.fixture
def connect() -> Callable[..., RefinerClient]:
    """``connect(fake, **options)``: a client for ``fake`` without client-side rate limits."""

    def make(fake: FakeRefiner, **options: Any) -> RefinerClient:
        settings: dict[str, Any] = {
            "base_url": fake.base_url,
            "rate_limit": None,
            "per_user_rate_limit": None,
            **options,
        }
        return RefinerClient(fake.api_key, **settings)

    return make


@dataclass(frozen=True)
class Wait:
    """One retry wait the policy computed."""

    attempt: int
    error: str  # the error type that caused it
    seconds: float  # what the policy asked for (before any scaling)
    hint: float | None  # the error's Retry-After, if any


@pytest.fixture
def retry_waits(monkeypatch: pytest.MonkeyPatch) -> list[Wait]:
    """Record every wait the retry policy computes; the request path then waits 0 s instead.

    The policy's own numbers are kept (``instant_retries`` would make them 0), so tests can check
    each against its bounds without spending the wall time.
    """
    waits: list[Wait] = []
    compute = http_module.retry_wait

    def recorded(error: Any, attempt: int, policy: Any, rng: Any = None) -> float | None:
        seconds = compute(error, attempt, policy, rng)
        if seconds is not None:
            hint = getattr(error, "retry_after", None)
            waits.append(Wait(attempt, type(error).__name__, seconds, hint))
            return 0.0
        return None

    monkeypatch.setattr(http_module, "retry_wait", recorded)
    return waits


RawHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """``await raw_server(handler)``: serve one aiohttp.web handler on 127.0.0.1; its base URL."""
    runners: list[web.AppRunner] = []

    async def start(handler: RawHandler, **site_options: Any) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, **site_options)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        scheme = "https" if site_options.get("ssl_context") else "http"
        return f"{scheme}://127.0.0.1:{port}/v1"

    yield start
    for runner in reversed(runners):
        await runner.cleanup()


FIGURES = pytest.StashKey[list[str]]()


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[..., str]:
    """``report("T2 resets", faults=3, retries=3)``: print one figures line, repeated at the end."""

    def emit(label: str, **figures: object) -> str:
        line = f"{label}: " + " ".join(f"{name}={value}" for name, value in figures.items())
        print(line)
        request.config.stash.setdefault(FIGURES, []).append(line)
        return line

    return emit


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Repeat every figures line the scenarios reported, so they show without ``-s``."""
    lines = config.stash.get(FIGURES, [])
    if lines:
        terminalreporter.section("reliability figures")
        for line in lines:
            terminalreporter.write_line(line)
