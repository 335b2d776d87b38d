"""A 2xx answer whose body is only an error (``{"error": "..."}``, the API's error shape) is a
failure, never a success; a body that merely carries an ``error`` key among its data is data."""

from __future__ import annotations

from typing import Any

import pytest

from refiner_async import RefinerClient, ResponseValidationError


@pytest.mark.parametrize(
    ("method", "path", "call"),
    [
        ("POST", "/track-event", lambda c: c.events.track("e", id="u1")),
        ("DELETE", "/contact", lambda c: c.contacts.delete(id="u1")),
        ("POST", "/identify-user", lambda c: c.contacts.identify(id="u1")),
        ("POST", "/responses", lambda c: c.responses.store("f1", id="u1")),
    ],
    ids=["track", "delete", "identify", "store"],
)
async def test_a_2xx_error_body_raises(
    api: Any, client: RefinerClient, method: str, path: str, call: Any
) -> None:
    """200 {"error": "..."}: ResponseValidationError quoting the error, after one request."""
    api.add(method, path, pattern=True, payload={"error": "Event tracking not in your plan"})
    with pytest.raises(ResponseValidationError, match="Event tracking not in your plan"):
        await call(client)
    assert len(api.sent()) == 1


async def test_an_error_key_among_data_is_data(api: Any, client: RefinerClient) -> None:
    """An identify answer with contact_uuid and an 'error' field is read as usual (extra kept)."""
    api.add(
        "POST",
        "/identify-user",
        payload={"message": "ok", "contact_uuid": "c1", "error": None},
    )
    result = await client.contacts.identify(id="u1")
    assert result.contact_uuid == "c1"
