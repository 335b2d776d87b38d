"""client.events.track: body encoding and the no-repeat rule for a non-idempotent write."""

from __future__ import annotations

from typing import Any

import pytest

from refiner_async import RateLimitError, RefinerClient, ServerError


async def test_track_posts_event_and_identifiers(api: Any, client: RefinerClient) -> None:
    """track() posts {"event", "id", "email"} as JSON to /track-event and returns None."""
    api.add("POST", "/track-event", payload={"message": "ok"})
    assert await client.events.track("Signed Up", id="u1", email="u1@x.io") is None
    sent = api.only()
    assert (sent.method, sent.path, sent.params) == ("POST", "/track-event", [])
    assert sent.json == {"event": "Signed Up", "id": "u1", "email": "u1@x.io"}


async def test_track_with_email_only(api: Any, client: RefinerClient) -> None:
    """track() with only an email sends no id key at all."""
    api.add("POST", "/track-event", payload={"message": "ok"})
    await client.events.track("Upgraded", email="u2@x.io")
    assert api.only().json == {"event": "Upgraded", "email": "u2@x.io"}


async def test_track_5xx_is_not_repeated(api: Any, client: RefinerClient) -> None:
    """A 500 on track-event raises ServerError after one attempt: the event may be recorded."""
    api.add("POST", "/track-event", payload={"error": "boom"}, status=500, repeat=True)
    with pytest.raises(ServerError) as caught:
        await client.events.track("Signed Up", id="u1")
    assert caught.value.attempts == 1
    assert len(api.sent()) == 1


async def test_track_429_is_retried(api: Any, client: RefinerClient) -> None:
    """A 429 refusal was not recorded, so track-event retries it until every attempt is spent."""
    api.add("POST", "/track-event", payload={"error": "slow down"}, status=429, repeat=True)
    with pytest.raises(RateLimitError) as caught:
        await client.events.track("Signed Up", id="u1")
    assert caught.value.attempts == 5
    assert len(api.sent()) == 5


async def test_track_429_then_success(api: Any, client: RefinerClient) -> None:
    """A 429 followed by 200 records the event once, on the second attempt."""
    api.add("POST", "/track-event", payload={"error": "slow down"}, status=429)
    api.add("POST", "/track-event", payload={"message": "ok"})
    await client.events.track("Signed Up", id="u1")
    assert len(api.sent()) == 2
