"""Secret hygiene (T24). The leak gate already scans every scenario of this suite (DEBUG logs, errors
leaving the request path, client reprs, URLs and non-auth headers the emulator received); these
tests aim at the places a key has leaked from in other SDKs."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from refiner_async import ConfigurationError, RefinerClient, RefinerError
from refiner_async.testing import FakeRefiner
from tests.conftest import call


@pytest.mark.usefixtures("instant")
async def test_t24_error_answers_echoing_the_key_are_scrubbed(
    raw_server: Callable[..., Awaitable[str]], api_key: str, report: Callable[..., str]
) -> None:
    """A server or proxy that echoes the Authorization header in its error body does not get the key
    into the error's message, body or repr (Unleash #206, superset #3956)."""

    async def echo(request: web.Request) -> web.Response:
        status = int(request.query["status"])
        auth = request.headers["Authorization"]
        body = {"error": f"rejected {auth}", "debug": {"headers": [auth, request.path]}}
        if status >= 502:
            return web.Response(status=status, text=f"<pre>{auth}</pre>", content_type="text/html")
        return web.json_response(body, status=status, headers={"Retry-After": "0"})

    base = await raw_server(echo)
    raised: list[RefinerError] = []
    async with RefinerClient(api_key, base_url=base, rate_limit=None, max_retries=1) as client:
        for status in (400, 401, 403, 404, 422, 429, 500, 502, 503):
            with pytest.raises(RefinerError) as caught:
                await call(client, "GET", "/contact", params={"status": status})
            raised.append(caught.value)
    texts = [text for error in raised for text in (str(error), repr(error), repr(vars(error)))]
    occurrences = sum(text.count(api_key) for text in texts)
    report("T24 echoed key", errors=len(raised), api_key_occurrences=occurrences)
    assert occurrences == 0
    assert all("<redacted>" in repr(vars(error)) for error in raised)


def test_t24_malformed_keys_are_refused_without_echoing_them() -> None:
    """A key with a trailing newline or a space is refused before use, and not repeated in the error
    (slack java-sdk #566: the HTTP library's exception carried the whole header)."""
    for bad in ("0123456789abcdef0123456789abcdef01234567\n", "0123456789abcdef 0123456789"):
        with pytest.raises(ConfigurationError) as caught:
            RefinerClient(bad)
        assert bad.strip() not in str(caught.value)
        assert bad.split()[0] not in repr(caught.value)


async def test_t24_key_from_the_environment_stays_out_of_sight(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    connect: Callable[..., Any],
    gate: Any,
) -> None:
    """A key read from REFINER_API_KEY is sent as a Bearer header only; DEBUG logs, the client's
    repr, URLs and the other headers never show it, through successes, faults and refusals."""
    async with FakeRefiner(seed=24, responses=300) as fake:
        monkeypatch.setenv("REFINER_API_KEY", fake.api_key)
        fake.faults.add("503", path="/responses", times=1)
        fake.faults.add("reset", path="/track-event", times=1)
        async with RefinerClient(base_url=fake.base_url, rate_limit=None, max_retries=2) as client:
            await client.responses.list(page_length=50, pagination="pages").collect()
            with pytest.raises(RefinerError) as caught:
                await client.events.track("Exported", id="user-24")
            described = repr(client)
        async with RefinerClient("f" * 40, base_url=fake.base_url) as stranger:
            with pytest.raises(RefinerError) as refused:
                await stranger.account.get()
        entries = list(fake.journal.entries)
    gate.scan(caught.value, refused.value, described)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert fake.api_key not in logged
    assert fake.api_key not in described
    assert all(fake.api_key not in e.query for e in entries)
    assert "f" * 40 not in str(refused.value)
    assert any(r.levelno == logging.DEBUG for r in caplog.records)
