"""Transport faults (T2-T7): resets, cut bodies, bad JSON, slow and hung servers, 5xx bursts.

Every listing here runs in page-number mode so faults can be aimed at page numbers; the figures of
each scenario come from the emulator's journal and ``client.stats``.

aiohttp resends an idempotent request (GET, DELETE) once by itself when the connection is reset or
closed before the answer (``ClientSession._retry_connection``), so a reset on a GET reaches the SDK
only when it happens twice in a row. Figures count both: every injected reset is absorbed by either
aiohttp's silent resend or an SDK retry.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web

from refiner_async import APIConnectionError, APITimeoutError, ResponseDecodeError
from refiner_async._retry import RetryPolicy, _ceiling, instant_retries
from refiner_async.testing import FakeRefiner
from tests.conftest import call

MAX_RETRIES = 4


def attempts_per_request(fake: FakeRefiner) -> Counter[str]:
    """How often the emulator saw each distinct request (path and query)."""
    return Counter(f"{e.method} {e.path}?{e.query}" for e in fake.journal.entries)


@pytest.mark.usefixtures("instant")
async def test_t2_resets_before_headers_on_10_percent_of_gets(
    connect: Callable[..., Any], report: Callable[..., str]
) -> None:
    """10% of page requests are reset before any byte: every page is re-fetched, nothing is lost."""
    async with FakeRefiner(seed=2, responses=4000) as fake:
        fake.faults.add("reset", method="GET", path="/responses", probability=0.1)
        expected = fake.live_response_uuids("all")
        async with connect(fake, max_retries=MAX_RETRIES) as client:
            items = await client.responses.list(
                include="all", page_length=50, pagination="pages"
            ).collect()
        stats = fake.stats()
        per_request = attempts_per_request(fake)
    uuids = [r.uuid for r in items]
    injected = stats["faults"].get("reset", 0)
    resent_by_aiohttp = stats["requests_total"] - client.stats.attempts
    report(
        "T2 resets",
        faults=injected,
        survived=injected,
        sdk_retries=client.stats.retries,
        aiohttp_resends=resent_by_aiohttp,
        items=len(uuids),
        max_arrivals_per_page=max(per_request.values()),
    )
    assert uuids == expected
    assert injected >= 3
    assert injected == client.stats.retries + resent_by_aiohttp
    assert max(per_request.values()) <= 2 * (MAX_RETRIES + 1)


@pytest.mark.usefixtures("instant")
async def test_t3_bodies_cut_mid_way_are_fetched_again(
    connect: Callable[..., Any], report: Callable[..., str]
) -> None:
    """10% of pages announce their full length and send half: re-fetched, no partial page yielded."""
    async with FakeRefiner(seed=3, responses=4000) as fake:
        fake.faults.add("truncate", method="GET", path="/responses", probability=0.1)
        expected = fake.live_response_uuids("all")
        async with connect(fake, max_retries=MAX_RETRIES) as client:
            listing = client.responses.list(include="all", page_length=50, pagination="pages")
            pages = [[r.uuid for r in page.items] async for page in listing.pages()]
        stats = fake.stats()
    yielded = [uuid for page in pages for uuid in page]
    partial = sum(1 for page in pages[:-1] if len(page) != 50)
    injected = stats["faults"].get("truncate", 0)
    report(
        "T3 truncation",
        faults=injected,
        survived=injected,
        retries=client.stats.retries,
        partial_pages=partial,
        items=len(yielded),
    )
    assert injected >= 3
    assert client.stats.retries == injected  # a cut body is not resent by aiohttp: the SDK retries
    assert partial == 0
    assert yielded == expected


async def test_t3_chunked_stream_cut_is_retried_then_typed(
    raw_server: Callable[..., Any], api_key: str, instant: None
) -> None:
    """A chunked body that stops mid-way is retried; when it always does, APIConnectionError."""
    from refiner_async import RefinerClient

    calls = Counter[str]()
    body = b'{"items": [' + b",".join(b'{"n": %d}' % i for i in range(200)) + b"]}"

    async def handler(request: web.Request) -> web.StreamResponse:
        calls[request.path] += 1
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(body[: len(body) // 2])
        if request.path.endswith("/always") or calls[request.path] == 1:
            assert request.transport is not None
            request.transport.close()  # cut inside the chunked stream: no terminating chunk
            return response
        await response.write(body[len(body) // 2 :])
        await response.write_eof()
        return response

    base = await raw_server(handler)
    async with RefinerClient(api_key, base_url=base, rate_limit=None, max_retries=2) as client:
        payload = await call(client, "GET", "/once")
        with pytest.raises(APIConnectionError, match="cut short") as caught:
            await call(client, "GET", "/always")
    assert len(payload["items"]) == 200
    assert calls["/v1/once"] == 2
    assert calls["/v1/always"] == 3
    assert caught.value.attempts == 3


@pytest.mark.usefixtures("instant")
async def test_t4_invalid_json_is_retried_then_a_typed_error(
    connect: Callable[..., Any], report: Callable[..., str]
) -> None:
    """200s with half a JSON document are retried (or, read ahead, requested again when handed
    out); a page that never decodes raises ResponseDecodeError."""
    async with FakeRefiner(seed=4, responses=3000) as fake:
        fake.faults.add("bad_json", method="GET", path="/responses", probability=0.1)
        expected = fake.live_response_uuids("all")
        async with connect(fake, max_retries=MAX_RETRIES) as client:
            listing = client.responses.list(include="all", page_length=50, pagination="pages")
            items = await listing.collect()
            survived_faults = fake.stats()["faults"].get("bad_json", 0)
            # a page read ahead is decoded when handed out: a bad body then is requested again
            retries = client.stats.retries + listing.stats.refetched
            fake.faults.clear()
            fake.faults.add("bad_json", path="/account")
            with pytest.raises(ResponseDecodeError) as caught:
                await client.account.get()
    report(
        "T4 bad JSON",
        faults=survived_faults + MAX_RETRIES + 1,
        survived=survived_faults,
        typed_errors=1,
        retries=retries,
        items=len(items),
    )
    assert [r.uuid for r in items] == expected
    assert survived_faults >= 3
    assert retries == survived_faults
    assert caught.value.status == 200
    assert caught.value.attempts == MAX_RETRIES + 1
    assert (caught.value.method, caught.value.path) == ("GET", "/account")


@pytest.mark.usefixtures("instant")
async def test_t5_slow_headers_and_trickling_body_time_out_then_succeed(
    connect: Callable[..., Any],
    raw_server: Callable[..., Any],
    api_key: str,
    report: Callable[..., str],
) -> None:
    """An attempt slower than ``timeout`` (headers late, or a body trickling in) is cut and retried."""
    from refiner_async import RefinerClient

    timeout = 0.3
    async with FakeRefiner(seed=5, responses=100) as fake:
        fake.faults.add("delay", path="/account", delay=5.0, times=1)
        async with connect(fake, timeout=timeout, deadline=3.0) as client:
            started = time.monotonic()
            await client.account.get()
            slow_headers = time.monotonic() - started
            assert client.stats.attempts == 2

    served = Counter[str]()

    async def trickle(request: web.Request) -> web.StreamResponse:
        served["n"] += 1
        body = b'{"ok": true, "pad": "' + b"x" * 64 + b'"}'
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = len(body)
        await response.prepare(request)
        if served["n"] == 1:
            for byte in body:  # about 4 s in all: far beyond one attempt's budget
                await response.write(bytes([byte]))
                await asyncio.sleep(0.05)
            served["trickled to the end"] += 1
        else:
            await response.write(body)
        return response

    base = await raw_server(trickle)
    async with RefinerClient(api_key, base_url=base, rate_limit=None, timeout=timeout) as client:
        started = time.monotonic()
        assert (await call(client, "GET", "/slow"))["ok"] is True
        trickling = time.monotonic() - started
    report(
        "T5 slow server",
        timeout_s=timeout,
        slow_headers_total_s=round(slow_headers, 3),
        trickling_total_s=round(trickling, 3),
    )
    assert slow_headers >= timeout
    assert trickling >= timeout
    assert served["n"] == 2
    assert served["trickled to the end"] == 0  # the first attempt was given up, not read out


async def test_t6_hung_upstream_raises_at_the_deadline(
    connect: Callable[..., Any], report: Callable[..., str]
) -> None:
    """A server that never answers: APITimeoutError no later than the call's deadline, never past it."""
    deadline = 1.0
    async with FakeRefiner(seed=6, responses=100) as fake:
        fake.faults.add("delay", delay=60.0)

        async def timed(**options: Any) -> tuple[float, int, BaseException]:
            async with connect(
                fake, timeout=0.25, deadline=deadline, max_retries=10, **options
            ) as c:
                sent = len(fake.journal.entries)
                started = time.monotonic()
                with pytest.raises(APITimeoutError) as caught:
                    await c.account.get()
                return time.monotonic() - started, len(fake.journal.entries) - sent, caught.value

        with instant_retries():
            instant_s, instant_sent, instant_error = await timed()
        backoff_s, backoff_sent, backoff_error = await timed()
    overshoot_ms = max(0.0, max(instant_s, backoff_s) - deadline) * 1000
    report(
        "T6 hung upstream",
        deadline_s=deadline,
        no_backoff_s=round(instant_s, 3),
        no_backoff_requests=instant_sent,
        with_backoff_s=round(backoff_s, 3),
        with_backoff_requests=backoff_sent,
        deadline_overshoot_max_ms=round(overshoot_ms, 1),
    )
    # Each attempt's timeout is cut to what is left of the deadline, and a retry (or a backoff)
    # that would start past it is not made: four attempts of 0.25 s fill 1 s, where the 10 retries
    # would make 11. Under load an attempt can take its whole 0.25 s before it is sent: fewer.
    assert instant_s >= 0.95 * deadline  # the attempts use the deadline up
    assert 1 <= instant_sent <= deadline / 0.25
    assert 1 <= backoff_sent < instant_sent + 1
    assert isinstance(instant_error, APITimeoutError)
    assert isinstance(backoff_error, APITimeoutError)


async def test_t7_503_burst_retried_with_waits_in_bounds(
    connect: Callable[..., Any], retry_waits: list[Any], report: Callable[..., str]
) -> None:
    """Pages 3-5 answer 503 twice each: all items, exactly 6 retries, each wait within the policy."""
    async with FakeRefiner(seed=7, responses=1000) as fake:
        for page in (3, 4, 5):
            fake.faults.add("503", path="/responses", match={"page": page}, times=2)
        expected = fake.live_response_uuids()
        async with connect(fake) as client:
            items = await client.responses.list(page_length=100, pagination="pages").collect()
    policy = RetryPolicy()
    seconds = [w.seconds for w in retry_waits]
    report(
        "T7 503 burst",
        retries=client.stats.retries,
        min_sleep=round(min(seconds), 3),
        max_sleep=round(max(seconds), 3),
        mean_sleep=round(sum(seconds) / len(seconds), 3),
        bound=f"[0,{_ceiling(1, policy)}|{_ceiling(2, policy)}]",
    )
    assert [r.uuid for r in items] == expected
    assert client.stats.retries == 6
    assert len(retry_waits) == 6
    for wait in retry_waits:
        assert wait.error == "ServerError"
        assert 0.0 <= wait.seconds < _ceiling(wait.attempt, policy)
