"""Cancellation at each phase (T19): limiter wait, DNS/connect, waiting for headers, mid-body,
backoff sleep, a caller's ``asyncio.timeout``; and listings left with prefetches in flight, by
``break``, by ``aclosing`` and by cancelling the consumer.

Each scenario runs a client with ``max_concurrency=1``, so a slot or connection kept by the cancelled
call would hold up the next one: after the cancellation the next call must complete at once. The
CancelledError must reach the caller untouched and no new attempt may start after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from refiner_async import RefinerClient
from refiner_async import _http as http_module
from refiner_async.testing import FakeRefiner
from tests.conftest import call

HANG_GUARD = 60.0  # seconds after which a call that never ends fails the test instead of hanging it
SETTLE_PASSES = 100  # loop passes the SDK's own tasks may take to end once nothing is awaited


class Phases:
    """A tiny server whose paths hang at chosen points; ``reached[path]`` is set when they do."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.reached: dict[str, asyncio.Event] = {}

    def event(self, path: str) -> asyncio.Event:
        return self.reached.setdefault(path, asyncio.Event())

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path.removeprefix("/v1")
        self.calls[path] += 1
        if path == "/hang":  # request read, no answer
            self.event(path).set()
            await asyncio.sleep(5)
        if path == "/half":  # headers and half the body, then nothing
            body = b'{"items": [' + b'"x",' * 5000 + b'"y"]}'
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            response.content_length = len(body)
            await response.prepare(request)
            await response.write(body[: len(body) // 2])
            self.event(path).set()
            await asyncio.sleep(5)
            return response
        if path == "/503":
            return web.json_response({"error": "down"}, status=503)
        return web.json_response({"ok": True})


@pytest.fixture
async def phases(raw_server: Callable[..., Awaitable[str]]) -> tuple[Phases, str]:
    server = Phases()
    return server, await raw_server(server.handle)


async def cancel_when(
    call: Awaitable[Any], ready: Callable[[], Awaitable[Any]], settle: float = 0.02
) -> asyncio.Task[Any]:
    """Start ``call``, wait until ``ready()`` returns, then cancel it; the finished task."""
    task = asyncio.ensure_future(call)
    await asyncio.wait_for(ready(), 2.0)
    await asyncio.sleep(settle)
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return task


async def follow_up_is_immediate(client: RefinerClient) -> float:
    """The next call goes at once: no cooldown, no concurrency slot or connection left held, and it
    takes one attempt. Returns its milliseconds, for the report."""
    limiter = client._core._limiter
    assert limiter.paused_for == 0.0
    assert not limiter._in_flight.locked()
    assert acquired(client) == 0
    attempts = client.stats.attempts
    started = time.monotonic()
    assert await asyncio.wait_for(call(client, "GET", "/ok"), HANG_GUARD) == {"ok": True}
    assert client.stats.attempts == attempts + 1
    return round((time.monotonic() - started) * 1000, 1)


def acquired(client: RefinerClient) -> int:
    session = client._core.shared.session
    assert session is not None
    assert session.connector is not None
    return len(session.connector._acquired)


async def test_t19_cancel_while_waiting_for_a_limiter_slot(
    phases: tuple[Phases, str], api_key: str, report: Callable[..., str]
) -> None:
    """A call queued behind another for the only slot is cancelled: nothing is sent for it."""
    server, base = phases
    async with RefinerClient(api_key, base_url=base, max_concurrency=1) as client:
        holder = asyncio.ensure_future(call(client, "GET", "/hang"))
        await asyncio.wait_for(server.event("/hang").wait(), 2.0)
        await cancel_when(call(client, "GET", "/queued"), lambda: asyncio.sleep(0), 0.05)
        holder.cancel()
        with pytest.raises(asyncio.CancelledError):
            await holder
        follow_up = await follow_up_is_immediate(client)
        held = acquired(client)
    report("T19 limiter wait", sent_for_cancelled=server.calls["/queued"], follow_up_ms=follow_up)
    assert server.calls["/queued"] == 0
    assert held == 0


class SlowResolver(AbstractResolver):
    """Resolves every name to 127.0.0.1:``port``; the first lookup waits until ``release`` is set.

    (aiohttp shares one lookup among the requests for a host and does not cancel it with them, so
    the lookup itself must end before the next request to that host can go.)
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.lookups = 0
        self.waiting = asyncio.Event()
        self.release = asyncio.Event()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups += 1
        if self.lookups == 1:
            self.waiting.set()
            await self.release.wait()
        return [
            {
                "hostname": host,
                "host": "127.0.0.1",
                "port": self.port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        return None


async def test_t19_cancel_while_connecting(
    phases: tuple[Phases, str], api_key: str, report: Callable[..., str]
) -> None:
    """A call cancelled during name resolution (the connect phase) leaves no connection behind."""
    server, base = phases
    resolver = SlowResolver(int(base.rsplit(":", 1)[1].split("/")[0]))
    connector = aiohttp.TCPConnector(resolver=resolver, limit=1)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        RefinerClient(
            api_key, base_url="http://api.refiner.test/v1", session=session, max_concurrency=1
        ) as client,
    ):
        await cancel_when(call(client, "GET", "/ok"), resolver.waiting.wait)
        attempts = client.stats.attempts
        slots_taken = client.max_concurrency - client._core._limiter._in_flight._value
        resolver.release.set()
        follow_up = await follow_up_is_immediate(client)
        held = len(connector._acquired)
    report("T19 connect", attempts_of_cancelled=attempts, follow_up_ms=follow_up)
    assert attempts == 1
    assert slots_taken == 0
    assert server.calls["/ok"] == 1  # only the follow-up reached the server
    assert held == 0


async def test_t19_cancel_while_waiting_for_headers(
    phases: tuple[Phases, str], api_key: str, report: Callable[..., str]
) -> None:
    """A call cancelled after its request reached the server, before any answer: not retried."""
    server, base = phases
    async with RefinerClient(api_key, base_url=base, max_concurrency=1) as client:
        await cancel_when(call(client, "GET", "/hang"), server.event("/hang").wait)
        await asyncio.sleep(0.05)  # a retry, if one were started, would have arrived by now
        follow_up = await follow_up_is_immediate(client)
        held = acquired(client)
    report("T19 headers", requests_for_cancelled=server.calls["/hang"], follow_up_ms=follow_up)
    assert server.calls["/hang"] == 1
    assert client.stats.retries == 0
    assert held == 0


async def test_t19_cancel_mid_body(
    phases: tuple[Phases, str], api_key: str, report: Callable[..., str]
) -> None:
    """A call cancelled while its body is half read: the connection is dropped, not reused."""
    server, base = phases
    async with RefinerClient(api_key, base_url=base, max_concurrency=1) as client:
        await cancel_when(call(client, "GET", "/half"), server.event("/half").wait)
        await asyncio.sleep(0.05)
        follow_up = await follow_up_is_immediate(client)
        held = acquired(client)
    report("T19 mid-body", requests_for_cancelled=server.calls["/half"], follow_up_ms=follow_up)
    assert server.calls["/half"] == 1
    assert client.stats.retries == 0
    assert held == 0


async def test_t19_cancel_during_backoff_sleep(
    phases: tuple[Phases, str],
    api_key: str,
    monkeypatch: pytest.MonkeyPatch,
    report: Callable[..., str],
) -> None:
    """A call cancelled while sleeping before its retry: the retry is never sent."""
    server, base = phases
    backing_off = asyncio.Event()

    def five_seconds(*_args: object, **_kwargs: object) -> float:
        backing_off.set()
        return 5.0

    monkeypatch.setattr(http_module, "retry_wait", five_seconds)
    async with RefinerClient(api_key, base_url=base, max_concurrency=1) as client:
        await cancel_when(call(client, "GET", "/503"), backing_off.wait)
        await asyncio.sleep(0.05)
        follow_up = await follow_up_is_immediate(client)
        held = acquired(client)
    report("T19 backoff sleep", requests_for_cancelled=server.calls["/503"], follow_up_ms=follow_up)
    assert server.calls["/503"] == 1
    assert held == 0


async def test_t19_caller_timeout_is_not_retried(
    phases: tuple[Phases, str], api_key: str, report: Callable[..., str]
) -> None:
    """``asyncio.timeout`` around a call raises the caller's TimeoutError; the SDK does not retry."""
    server, base = phases
    async with RefinerClient(api_key, base_url=base, max_concurrency=1) as client:
        with pytest.raises(TimeoutError) as caught:
            async with asyncio.timeout(0.1):
                await call(client, "GET", "/hang")
        await asyncio.sleep(0.05)
        follow_up = await follow_up_is_immediate(client)
    report("T19 caller timeout", requests=server.calls["/hang"], follow_up_ms=follow_up)
    assert type(caught.value) is TimeoutError  # the caller's own, not an SDK error
    assert server.calls["/hang"] == 1


# --------------------------------------------------------------------------- listings with prefetch


async def count_until(listing: Any, stop_at: int) -> int:
    """Iterate ``listing`` and ``break`` after ``stop_at`` items (the paginator is left to the loop)."""
    count = 0
    async for _ in listing:
        count += 1
        if count == stop_at:
            break
    return count


async def settle_passes(gate: Any, client: RefinerClient) -> int:
    """Loop passes until no SDK task is pending and no connection is held (gives up after
    :data:`SETTLE_PASSES`): ended by cancellation alone, not by a timer or an answer awaited."""
    for passes in range(SETTLE_PASSES):
        if not gate.pending_tasks() and acquired(client) == 0:
            return passes
        await asyncio.sleep(0)
    return SETTLE_PASSES


async def timed_call_ms(client: RefinerClient) -> float:
    """The next call succeeds in one attempt with nothing held before it; its milliseconds."""
    assert client._core._limiter.paused_for == 0.0
    assert not client._core._limiter._in_flight.locked()
    attempts = client.stats.attempts
    started = time.monotonic()
    await asyncio.wait_for(client.account.get(), HANG_GUARD)
    assert client.stats.attempts == attempts + 1
    return round((time.monotonic() - started) * 1000, 1)


async def test_t19_break_with_prefetches_in_flight(
    connect: Callable[..., Any], gate: Any, report: Callable[..., str]
) -> None:
    """``break`` after 1,500 items with 8 pages in flight: every prefetch ends by cancellation
    within a few loop passes, no connection is held, and the next call goes at once."""
    async with (
        FakeRefiner(seed=19, responses=5000, latency=0.05) as fake,
        connect(fake, max_concurrency=8) as client,
    ):
        listing = client.responses.list(include="all", page_length=100, pagination="pages")
        assert await count_until(listing, 1500) == 1500
        in_flight = len(gate.pending_tasks())
        cleanup_passes = await settle_passes(gate, client)  # the loop closes the abandoned iterator
        left, held = len(gate.pending_tasks()), acquired(client)
        follow_up = await timed_call_ms(client)
        requested = sum(1 for e in fake.journal.entries if e.path == "/v1/responses")
    report(
        "T19 break",
        prefetch_tasks_at_break=in_flight,
        page_requests=requested,
        cleanup_loop_passes=cleanup_passes,
        pending_after=left,
        connections_held=held,
        follow_up_ms=follow_up,
    )
    assert in_flight > 0
    assert requested <= 15 + 8
    assert left == 0
    assert held == 0
    assert cleanup_passes < SETTLE_PASSES


async def test_t19_aclosing_ends_prefetches_on_the_spot(
    connect: Callable[..., Any], gate: Any
) -> None:
    """With ``contextlib.aclosing`` the prefetches have ended when the block exits."""
    async with (
        FakeRefiner(seed=19, responses=5000, latency=0.05) as fake,
        connect(fake, max_concurrency=8) as client,
    ):
        listing = client.responses.list(include="all", page_length=100, pagination="pages")
        async with contextlib.aclosing(listing.__aiter__()) as items:
            assert await count_until(items, 1500) == 1500
        assert gate.pending_tasks() == []
        assert acquired(client) == 0


@pytest.mark.parametrize("where", ["waiting for a page", "working on a page"])
async def test_t19_cancel_a_consumer_with_the_window_full(
    connect: Callable[..., Any], gate: Any, report: Callable[..., str], where: str
) -> None:
    """A task iterating a listing with 8 pages in flight is cancelled. Cancelled while it waits for
    the next page, the prefetches have ended by the time CancelledError reaches the caller; while
    it works on a page (outside the iterator), the loop closes the iterator within 1 s."""
    async with (
        FakeRefiner(seed=19, responses=5000, latency=0.2) as fake,
        connect(fake, max_concurrency=8) as client,
    ):
        first_page = asyncio.Event()
        work = 10.0 if where == "working on a page" else 0.0

        async def consume() -> None:
            listing = client.responses.list(include="all", page_length=100, pagination="pages")
            async for _ in listing.pages():
                first_page.set()
                await asyncio.sleep(work)

        consumer = asyncio.create_task(consume())
        await asyncio.wait_for(first_page.wait(), 2.0)
        await asyncio.sleep(0.05)
        in_flight = len(gate.pending_tasks()) - 1
        consumer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await consumer
        at_once = len(gate.pending_tasks())
        cleanup_passes = await settle_passes(gate, client)
        left, held = len(gate.pending_tasks()), acquired(client)
        follow_up = await timed_call_ms(client)
    report(
        f"T19 cancel {where}",
        prefetches=in_flight,
        pending_when_cancelled=at_once,
        cleanup_loop_passes=cleanup_passes,
        follow_up_ms=follow_up,
    )
    assert in_flight >= 7
    if where == "waiting for a page":
        assert at_once == 0
    assert left == 0
    assert held == 0
    assert cleanup_passes < SETTLE_PASSES
