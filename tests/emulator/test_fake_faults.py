"""Fault injection, latency and server-side rate limits, seen from a plain aiohttp client."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import orjson
import pytest

from refiner_async.testing import FAULT_KINDS


async def _get(fake, path="/responses", **params):
    """One GET on a fresh session: (status, headers, body bytes)."""
    headers = {"Authorization": f"Bearer {fake.api_key}"}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.get(fake.base_url + path, params=params) as response,
    ):
        return response.status, response.headers, await response.read()


async def test_reset_drops_the_connection_before_headers(fake_refiner):
    """A reset fault aborts the connection: the client sees a connection error, then recovers.

    aiohttp itself silently resends an idempotent request once after a reset, so two resets
    are needed for the error to reach the caller."""
    rule = fake_refiner.faults.add("reset", path="/responses", times=2)
    with pytest.raises((aiohttp.ClientOSError, aiohttp.ServerDisconnectedError)):
        await _get(fake_refiner)
    assert rule.fired == 2
    assert rule.times == 0
    assert (await _get(fake_refiner))[0] == 200
    assert fake_refiner.stats()["requests"]["/v1/responses"] == {"dropped": 2, "200": 1}


async def test_truncated_body_is_a_payload_error(fake_refiner):
    """A truncated answer announces the full Content-Length, sends half, then closes."""
    fake_refiner.faults.add("truncate", path="/v1/responses", times=1)
    with pytest.raises(aiohttp.ClientPayloadError):
        await _get(fake_refiner, page_length=100)
    assert (await _get(fake_refiner))[0] == 200


async def test_reset_after_commits_the_write(fake_refiner):
    """reset_after carries the request out (the contact exists) and then resets the connection."""
    fake_refiner.faults.add("reset_after", path="/identify-user", method="POST", times=1)
    headers = {"Authorization": f"Bearer {fake_refiner.api_key}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        with pytest.raises((aiohttp.ClientOSError, aiohttp.ServerDisconnectedError)):
            async with session.post(
                fake_refiner.base_url + "/identify-user", json={"id": "ambiguous"}
            ) as response:
                await response.read()
    status, _, body = await _get(fake_refiner, "/contact", id="ambiguous")
    assert status == 200
    assert orjson.loads(body)["remote_id"] == "ambiguous"


@pytest.mark.parametrize("kind", ["500", 502, "503", "504"])
async def test_server_errors(fake_refiner, kind):
    """500 answers JSON {"error": ...}; 502/503/504 answer an HTML page like a proxy would."""
    fake_refiner.faults.add(kind, times=1)
    status, headers, body = await _get(fake_refiner)
    assert status == int(kind)
    if status == 500:
        assert orjson.loads(body) == {"error": "Server Error"}
    else:
        assert headers["Content-Type"].startswith("text/html")
    assert (await _get(fake_refiner))[0] == 200
    assert fake_refiner.stats()["faults"] == {str(kind): 1}


@pytest.mark.parametrize("retry_after", [2, "2.5", "Wed, 21 Oct 2015 07:28:00 GMT", "soon", None])
async def test_injected_429_sends_the_scripted_retry_after(fake_refiner, retry_after):
    """A 429 fault sends Retry-After exactly as scripted (or none)."""
    fake_refiner.faults.add("429", retry_after=retry_after, times=1)
    status, headers, body = await _get(fake_refiner, "/segments")
    assert status == 429
    assert orjson.loads(body) == {"error": "You are doing this too often."}
    assert headers.get("Retry-After") == (None if retry_after is None else str(retry_after))


async def test_bad_json_and_delay(fake_refiner):
    """bad_json answers 200 with a body that does not parse; delay answers late but correctly."""
    fake_refiner.faults.add("bad_json", path="/account", times=1)
    status, _, body = await _get(fake_refiner, "/account")
    assert status == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(body)
    fake_refiner.faults.add("delay", path="/account", delay=0.15, times=1)
    started = time.monotonic()
    status, _, body = await _get(fake_refiner, "/account")
    assert status == 200
    assert "subscription" in orjson.loads(body)
    assert time.monotonic() - started >= 0.15


async def test_fail_the_next_n_requests_for_one_page(fake_refiner):
    """A rule matched on page=3 fails exactly that page N times; other pages are untouched."""
    fake_refiner.faults.add("503", path="/responses", match={"page": 3}, times=2)
    assert (await _get(fake_refiner, page=1))[0] == 200
    assert (await _get(fake_refiner, page=3))[0] == 503
    assert (await _get(fake_refiner, page=2))[0] == 200
    assert (await _get(fake_refiner, page=3))[0] == 503
    assert (await _get(fake_refiner, page=3))[0] == 200


async def test_probabilistic_faults_follow_the_seed(fake_refiner_factory):
    """The same seed and the same request sequence inject the same faults."""
    outcomes = []
    for _ in range(2):
        fake = await fake_refiner_factory(seed=42, responses=50)
        fake.faults.add("500", probability=0.3)
        fake.faults.add("502", path="/segments", probability=0.5)
        run = [(await _get(fake, "/segments"))[0] for _ in range(30)]
        outcomes.append(run)
        await fake.stop()
    assert outcomes[0] == outcomes[1]
    assert {200, 500, 502} <= set(outcomes[0])


async def test_faults_clear_and_bad_kinds(fake_refiner):
    """faults.clear() removes every rule; an unknown kind is a ValueError."""
    fake_refiner.faults.add("500")
    fake_refiner.faults.clear()
    assert (await _get(fake_refiner))[0] == 200
    with pytest.raises(ValueError, match="unknown fault kind"):
        fake_refiner.faults.add("explode")
    assert "reset" in FAULT_KINDS
    assert "truncate" in FAULT_KINDS


@pytest.mark.fake_refiner(latency=0.03, jitter=0.005)
async def test_latency_with_jitter_applies_to_every_request(fake_refiner):
    """latency=0.03, jitter=0.005: every request waits at least 25 ms on the server."""
    for _ in range(3):
        await _get(fake_refiner, "/")
    durations = [e.duration for e in fake_refiner.journal.entries]
    assert len(durations) == 3
    assert all(d >= 0.025 for d in durations), durations


@pytest.mark.fake_refiner(rate_limit=20, rate_burst=3)
async def test_token_bucket_rate_limit(fake_refiner):
    """Over rate_limit the server answers 429 with an integer Retry-After of at least 1."""
    headers = {"Authorization": f"Bearer {fake_refiner.api_key}"}
    async with aiohttp.ClientSession(headers=headers) as session:

        async def one():
            async with session.get(fake_refiner.base_url + "/") as r:
                return r.status, r.headers.get("Retry-After")

        answers = await asyncio.gather(*(one() for _ in range(12)))
    statuses = [s for s, _ in answers]
    assert statuses.count(200) == 3
    assert statuses.count(429) == 9
    assert {ra for s, ra in answers if s == 429} == {"1"}
    stats = fake_refiner.stats()
    assert stats["rate_limited"] == 9
    assert stats["responses_429"] == 9
    await asyncio.sleep(0.06)
    assert (await _get(fake_refiner, "/"))[0] == 200


@pytest.mark.fake_refiner(rate_limit=4, rate_window=30)
async def test_fixed_window_rate_limit(fake_refiner):
    """With rate_window the quota (rate_limit x rate_window) holds for the whole window, whatever
    the speed: then 429 with a Retry-After until the window ends."""
    answers = [await _get(fake_refiner, "/") for _ in range(121)]
    assert [status for status, _, _ in answers[:120]] == [200] * 120
    status, headers, _ = answers[120]
    assert status == 429
    assert 20 <= int(headers["Retry-After"]) <= 30


@pytest.mark.fake_refiner(rate_limit=10, rate_burst=1, decimal_retry_after=True)
async def test_decimal_retry_after(fake_refiner):
    """decimal_retry_after sends the exact wait with three decimals."""
    await _get(fake_refiner, "/")
    status, headers, _ = await _get(fake_refiner, "/")
    assert status == 429
    assert 0 < float(headers["Retry-After"]) <= 0.1


@pytest.mark.fake_refiner(per_user_limit=3)
async def test_per_user_limit(fake_refiner):
    """per_user_limit counts requests per id/email/uuid in a sliding minute."""
    for _ in range(3):
        assert (await _get(fake_refiner, "/contact", id="user_000002"))[0] in (200, 404)
    status, headers, _ = await _get(fake_refiner, "/contact", id="user_000002")
    assert status == 429
    assert int(headers["Retry-After"]) >= 59
    assert (await _get(fake_refiner, "/contact", id="user_000003"))[0] in (200, 404)
    assert (await _get(fake_refiner, "/segments"))[0] == 200


def _handlers_running():
    """aiohttp.web request handler tasks not yet finished (the emulator's or anyone's)."""
    return [
        t
        for t in asyncio.all_tasks()
        if not t.done() and t.get_coro().__qualname__.startswith("RequestHandler.")
    ]


@pytest.mark.fake_refiner(responses=10, latency=30)
async def test_stop_cancels_a_request_sleeping_in_latency(fake_refiner, until, monkeypatch):
    """stop() cancels a handler sleeping in the latency option at once: it does not wait for
    aiohttp's grace period (0.25 s, twice), the client's request fails and no handler is left."""
    headers = {"Authorization": f"Bearer {fake_refiner.api_key}"}
    async with aiohttp.ClientSession(headers=headers) as session:

        async def hang():
            async with session.get(fake_refiner.base_url + "/") as response:
                return await response.read()

        pending = asyncio.create_task(hang())
        assert await until(lambda: fake_refiner.journal.entries)
        handlers = list(fake_refiner._handlers)
        runner_class = type(fake_refiner._runner)
        cleanup = runner_class.cleanup
        ended_before_cleanup: list[bool] = []

        async def recording_cleanup(runner):
            # aiohttp's cleanup is where the grace periods are waited out
            ended_before_cleanup.extend(task.done() for task in handlers)
            await cleanup(runner)

        monkeypatch.setattr(runner_class, "cleanup", recording_cleanup)
        await fake_refiner.stop()
        assert handlers
        assert ended_before_cleanup == [True] * len(handlers)
        assert all(task.cancelled() for task in handlers)
        with pytest.raises(aiohttp.ClientError):
            await pending
    assert _handlers_running() == []


async def test_stop_cancels_a_delayed_request_whose_client_has_gone(fake_refiner_factory, until):
    """A handler sleeping in a delay fault after its client closed the connection is not
    waited for by aiohttp at all; stop() cancels it, so no handler task outlives the emulator."""
    fake = await fake_refiner_factory(responses=10)
    fake.faults.add("delay", delay=30)
    _, writer = await asyncio.open_connection(fake.host, fake.port)
    writer.write(
        f"GET /v1/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {fake.api_key}\r\n\r\n".encode()
    )
    assert await until(lambda: fake.journal.entries)
    writer.close()
    await writer.wait_closed()
    assert await until(lambda: fake.open_connections() == 0)
    assert _handlers_running()  # still sleeping for its gone client
    await fake.stop()
    assert _handlers_running() == []
