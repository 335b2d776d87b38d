"""The request path: retries with exact attempt counts, write safety, Retry-After, caps, decoding."""

from __future__ import annotations

import re
import socket

import aiohttp
import pytest
from aioresponses import aioresponses

from refiner_async import (
    APIConnectionError,
    AuthenticationError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    RefinerClient,
    ResponseDecodeError,
    ResponseTooLargeError,
    ServerError,
)
from tests.conftest import call

CONTACTS = re.compile(r"^https://api\.refiner\.io/v1/contacts(\?.*)?$")
TRACK = re.compile(r"^https://api\.refiner\.io/v1/track-event$")

pytestmark = pytest.mark.usefixtures("instant")


def client_for(api_key: str, **options: object) -> RefinerClient:
    settings: dict[str, object] = {"rate_limit": None, **options}
    return RefinerClient(api_key, **settings)  # type: ignore[arg-type]


def attempts_made(mock: aioresponses) -> int:
    return sum(len(calls) for calls in mock.requests.values())


@pytest.mark.parametrize("max_retries", [0, 1, 4])
async def test_persistent_503_is_tried_exactly_max_retries_plus_one(
    api_key: str, max_retries: int
) -> None:
    """A GET failing with 503 every time is attempted 1 + max_retries times, then ServerError."""
    with aioresponses() as mock:
        mock.get(CONTACTS, status=503, payload={"error": "down"}, repeat=True)
        async with client_for(api_key, max_retries=max_retries) as client:
            with pytest.raises(ServerError) as caught:
                await call(client, "GET", "/contacts", params={"page": 1})
        assert attempts_made(mock) == max_retries + 1
    assert caught.value.attempts == max_retries + 1
    assert caught.value.status == 503
    assert (caught.value.method, caught.value.path) == ("GET", "/contacts")


async def test_transient_failures_then_success(api_key: str) -> None:
    """Reset, 502 and 429 on the first three attempts, then the answer: four attempts, one result."""
    with aioresponses() as mock:
        mock.get(CONTACTS, exception=aiohttp.ServerDisconnectedError())
        mock.get(CONTACTS, status=502)
        mock.get(CONTACTS, status=429, headers={"Retry-After": "0"})
        mock.get(CONTACTS, payload={"items": []})
        async with client_for(api_key) as client:
            assert await call(client, "GET", "/contacts") == {"items": []}
            assert client.stats.attempts == 4
            assert client.stats.retries == 3
            assert client.stats.rate_limited == 1


async def test_truncated_body_is_retried_for_reads(api_key: str) -> None:
    """A body cut short (ClientPayloadError) is retried for GETs."""
    with aioresponses() as mock:
        mock.get(CONTACTS, exception=aiohttp.ClientPayloadError("not completed"))
        mock.get(CONTACTS, payload={"ok": 1})
        async with client_for(api_key) as client:
            assert await call(client, "GET", "/contacts") == {"ok": 1}


async def test_auth_and_not_found_are_not_retried(api_key: str) -> None:
    """401 and 404 fail at once with their typed errors."""
    with aioresponses() as mock:
        mock.get(CONTACTS, status=404, payload={"message": "API key not valid or does not exist"})
        mock.get(CONTACTS, status=404, payload={"error": "Contact not found"})
        async with client_for(api_key) as client:
            with pytest.raises(AuthenticationError):
                await call(client, "GET", "/contacts")
            with pytest.raises(NotFoundError):
                await call(client, "GET", "/contacts")
        assert attempts_made(mock) == 2


async def test_track_event_is_not_retried_after_it_may_have_arrived(api_key: str) -> None:
    """A non-idempotent write reset after sending is raised as OutcomeUnknownError, sent once."""
    with aioresponses() as mock:
        mock.post(TRACK, exception=aiohttp.ServerDisconnectedError())
        mock.post(TRACK, payload={"message": "ok"})
        async with client_for(api_key) as client:
            with pytest.raises(OutcomeUnknownError, match="may have been applied"):
                await call(
                    client, "POST", "/track-event", json={"event": "e", "id": "u"}, idempotent=False
                )
        assert attempts_made(mock) == 1


async def test_track_event_5xx_is_raised_not_repeated(api_key: str) -> None:
    """A non-idempotent write answered 500 is raised as ServerError after one attempt."""
    with aioresponses() as mock:
        mock.post(TRACK, status=500, repeat=True)
        async with client_for(api_key) as client:
            with pytest.raises(ServerError):
                await call(client, "POST", "/track-event", json={"event": "e"}, idempotent=False)
        assert attempts_made(mock) == 1


async def test_track_event_429_is_retried(api_key: str) -> None:
    """A 429 refusal is safe to repeat even for a non-idempotent write."""
    with aioresponses() as mock:
        mock.post(TRACK, status=429, headers={"Retry-After": "1"})
        mock.post(TRACK, payload={"message": "ok"})
        async with client_for(api_key) as client:
            result = await call(
                client, "POST", "/track-event", json={"event": "e"}, idempotent=False
            )
        assert result == {"message": "ok"}
        assert attempts_made(mock) == 2


async def test_connect_failure_is_retried_even_for_writes(api_key: str) -> None:
    """A refused connection never reached the server, so even a write is retried (then raised)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nothing listens there
    client = client_for(api_key, base_url=f"http://127.0.0.1:{port}/v1", max_retries=2)
    async with client:
        with pytest.raises(APIConnectionError) as caught:
            await call(client, "POST", "/track-event", json={"event": "e"}, idempotent=False)
    assert not isinstance(caught.value, OutcomeUnknownError)
    assert caught.value.request_sent is False
    assert caught.value.attempts == 3


async def test_retry_after_beyond_cap_raises_rate_limit_error(api_key: str) -> None:
    """A Retry-After over 120 s raises RateLimitError(retry_after=...) without waiting or retrying."""
    with aioresponses() as mock:
        mock.get(CONTACTS, status=429, headers={"Retry-After": "3600"}, repeat=True)
        async with client_for(api_key) as client:
            with pytest.raises(RateLimitError) as caught:
                await call(client, "GET", "/contacts")
        assert attempts_made(mock) == 1
    assert caught.value.retry_after == 3600.0


async def test_non_json_success_is_a_decode_error(api_key: str) -> None:
    """A 200 whose body is not JSON raises ResponseDecodeError after the retry budget."""
    with aioresponses() as mock:
        mock.get(CONTACTS, body="<html>oops</html>", content_type="text/html", repeat=True)
        async with client_for(api_key, max_retries=1) as client:
            with pytest.raises(ResponseDecodeError, match="text/html"):
                await call(client, "GET", "/contacts")
        assert attempts_made(mock) == 2


async def test_deeply_nested_json_is_a_decode_error(api_key: str) -> None:
    """JSON nested beyond the decoder's limit is a typed error, not a crash."""
    with aioresponses() as mock:
        mock.get(CONTACTS, body="[" * 5_000 + "]" * 5_000, repeat=True)
        async with client_for(api_key, max_retries=0) as client:
            with pytest.raises(ResponseDecodeError):
                await call(client, "GET", "/contacts")


async def test_oversized_body_is_refused(api_key: str) -> None:
    """A body larger than max_response_bytes raises ResponseTooLargeError and is not retried."""
    with aioresponses() as mock:
        mock.get(CONTACTS, body=b"[" + b"1," * 5000 + b"1]", repeat=True)
        async with client_for(api_key, max_response_bytes=1000) as client:
            with pytest.raises(ResponseTooLargeError, match="max_response_bytes=1000"):
                await call(client, "GET", "/contacts")
        assert attempts_made(mock) == 1


async def test_empty_success_body_is_none(api_key: str) -> None:
    """A 204 or empty 200 decodes to None."""
    with aioresponses() as mock:
        mock.delete(CONTACTS, status=204, body=b"")
        async with client_for(api_key) as client:
            assert await call(client, "DELETE", "/contacts") is None


async def test_bearer_header_only(api_key: str) -> None:
    """The key travels in the Authorization header, never in the URL or the body."""
    with aioresponses() as mock:
        mock.post(TRACK, payload={"message": "ok"})
        async with client_for(api_key) as client:
            await call(client, "POST", "/track-event", json={"event": "e"}, idempotent=False)
        ((_method, url), calls) = next(iter(mock.requests.items()))
    sent = calls[0]
    assert sent.kwargs["headers"]["Authorization"] == f"Bearer {api_key}"
    assert api_key not in str(url)
    assert api_key.encode() not in sent.kwargs["data"]
