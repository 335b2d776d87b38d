"""The API key never leaks: not in logs at DEBUG, errors, reprs or URLs; log lines have one shape."""

from __future__ import annotations

import logging
import re
import socket

import aiohttp
import pytest
from aioresponses import aioresponses

import refiner_async
from refiner_async import RefinerClient, RefinerError
from tests.conftest import call

ANY = re.compile(r"^https://api\.refiner\.io/v1/.*$")

pytestmark = pytest.mark.usefixtures("instant")


async def test_key_absent_from_logs_errors_and_reprs(
    api_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Across successes, auth refusals, retries, resets and refused connections, the key never shows."""
    caplog.set_level(logging.DEBUG)
    raised: list[RefinerError] = []
    with aioresponses() as mock:
        mock.get(ANY, payload={"project_name": "Production"})
        mock.get(ANY, status=401, payload={"error": "API key does not look valid"})
        mock.get(ANY, status=500, body="boom", repeat=2)
        mock.get(ANY, status=404, payload={"message": "API key not valid or does not exist"})
        mock.post(ANY, exception=aiohttp.ServerDisconnectedError())
        mock.get(ANY, body="not json")
        async with RefinerClient(
            api_key, rate_limit=None, per_user_rate_limit=None, max_retries=1
        ) as client:
            await call(client, "GET", "/")
            for method, path in [
                ("GET", "/contact"),
                ("GET", "/contacts"),
                ("GET", "/contact"),
                ("POST", "/track-event"),
                ("GET", "/forms"),
            ]:
                try:
                    await call(
                        client,
                        method,
                        path,
                        params={"email": "jane@example.com"},
                        idempotent=method == "GET",
                    )
                except RefinerError as error:
                    raised.append(error)
            client_repr = repr(client)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with RefinerClient(
        api_key, base_url=f"http://127.0.0.1:{port}/v1", max_retries=0
    ) as client:
        try:
            await call(client, "GET", "/")
        except RefinerError as error:
            raised.append(error)
    assert len(raised) == 6
    texts = [caplog.text, client_repr]
    for error in raised:
        texts += [str(error), repr(error), repr(error.__cause__), repr(vars(error))]
    for text in texts:
        assert api_key not in text
    assert "GET /contact -> 401 (attempt 1," in caplog.text


async def test_debug_line_shape_and_no_bodies(
    api_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Each attempt logs `METHOD path -> status (attempt n, ms)`; bodies and queries are never logged."""
    caplog.set_level(logging.DEBUG, logger="refiner_async")
    with aioresponses() as mock:
        mock.get(ANY, status=503)
        mock.get(ANY, payload={"email": "secret-answer@example.com"})
        async with RefinerClient(api_key, rate_limit=None, per_user_rate_limit=None) as client:
            await call(client, "GET", "/contact", params={"email": "jane@example.com"})
    lines = [r.getMessage() for r in caplog.records if r.name == "refiner_async"]
    assert re.fullmatch(r"GET /contact -> 503 \(attempt 1, \d+ ms\)", lines[0])
    assert any(line.startswith("retrying GET /contact") for line in lines)
    assert re.fullmatch(r"GET /contact -> 200 \(attempt 2, \d+ ms\)", lines[-1])
    assert "example.com" not in caplog.text


def test_public_surface_is_pinned() -> None:
    """The facade exports exactly the documented names, sorted."""
    exported = refiner_async.__all__
    assert exported == sorted(exported)
    for name in exported:
        assert getattr(refiner_async, name) is not None
    for required in [
        "RefinerClient",
        "RefinerError",
        "ConfigurationError",
        "APIConnectionError",
        "APITimeoutError",
        "APIStatusError",
        "AuthenticationError",
        "NotFoundError",
        "RateLimitError",
        "ServerError",
        "PaginationError",
        "Paginator",
        "Page",
    ]:
        assert required in exported


def test_error_tree() -> None:
    """Every error is a RefinerError; the two ValueErrors are ConfigurationError and InvalidParameterError."""
    for name in refiner_async.__all__:
        obj = getattr(refiner_async, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, RefinerError)
    assert issubclass(refiner_async.ConfigurationError, ValueError)
    assert issubclass(refiner_async.InvalidParameterError, ValueError)
    assert issubclass(refiner_async.APITimeoutError, refiner_async.APIConnectionError)
    assert issubclass(refiner_async.AuthenticationError, refiner_async.APIStatusError)
