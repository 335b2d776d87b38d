"""RefinerClient construction, lifecycle and event-loop binding."""

from __future__ import annotations

import asyncio
import gc
import re

import aiohttp
import pytest
from aioresponses import aioresponses

from refiner_async import ConfigurationError, RefinerClient
from tests.conftest import call

BASE = "https://api.refiner.io/v1"
ROOT = re.compile(r"^https://api\.refiner\.io/v1/$")


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"api_key": ""}, "api_key"),
        ({"api_key": "   "}, "api_key"),
        ({"api_key": "abc\ndef"}, "api_key"),
        ({"base_url": "ftp://api.refiner.io/v1"}, "base_url"),
        ({"base_url": "api.refiner.io/v1"}, "base_url"),
        ({"rate_limit": 0}, "rate_limit"),
        ({"rate_limit": -1.0}, "rate_limit"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"max_retries": -1}, "max_retries"),
        ({"timeout": 0}, "timeout"),
        ({"per_user_rate_limit": 0}, "per_user_rate_limit"),
        ({"deadline": -3}, "deadline"),
    ],
)
def test_bad_configuration_raises_value_error_naming_the_setting(
    kwargs: dict[str, object], param: str, api_key: str
) -> None:
    """Bad settings raise ConfigurationError (a ValueError) at construction, naming the setting."""
    options: dict[str, object] = {"api_key": api_key, **kwargs}
    with pytest.raises(ValueError, match=param) as caught:
        RefinerClient(**options)  # type: ignore[arg-type]
    assert isinstance(caught.value, ConfigurationError)


def test_missing_key_reads_environment(monkeypatch: pytest.MonkeyPatch, api_key: str) -> None:
    """Without api_key the client reads REFINER_API_KEY, and refuses to start without either."""
    monkeypatch.delenv("REFINER_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="REFINER_API_KEY"):
        RefinerClient()
    monkeypatch.setenv("REFINER_API_KEY", api_key)
    client = RefinerClient()
    assert client.base_url == BASE


def test_construction_needs_no_event_loop(api_key: str) -> None:
    """A client can be built outside any event loop."""
    client = RefinerClient(api_key)
    assert not client.closed


def test_repr_does_not_show_the_key(api_key: str) -> None:
    """repr(client) names the base URL and never the key."""
    client = RefinerClient(api_key)
    assert api_key not in repr(client)
    assert "api.refiner.io" in repr(client)


async def test_async_with_closes_owned_session(api_key: str) -> None:
    """Leaving `async with` closes the session the client created; aclose is idempotent."""
    with aioresponses() as mock:
        mock.get(ROOT, payload={"project_name": "Production"})
        async with RefinerClient(api_key) as client:
            await call(client, "GET", "/")
            session = client._core.shared.session
            assert session is not None
            assert not session.closed
        assert session.closed
        assert client.closed
        await client.aclose()  # a second close does nothing


async def test_use_after_close_raises_runtime_error(api_key: str) -> None:
    """A closed client refuses further calls and cannot be re-entered."""
    client = RefinerClient(api_key)
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await call(client, "GET", "/")
    with pytest.raises(RuntimeError, match="closed"):
        async with client:
            pass


async def test_borrowed_session_is_never_closed(api_key: str) -> None:
    """A session the caller lends stays open after the client closes, and carries the calls."""
    async with aiohttp.ClientSession() as session:
        with aioresponses() as mock:
            mock.get(ROOT, payload={"ok": True})
            async with RefinerClient(api_key, session=session) as client:
                assert await call(client, "GET", "/") == {"ok": True}
        assert not session.closed


def test_use_from_another_event_loop_fails_clearly(api_key: str) -> None:
    """A client bound to one loop raises a clear RuntimeError when used from another."""
    client = RefinerClient(api_key)
    first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        with aioresponses() as mock:
            mock.get(ROOT, payload={}, repeat=True)
            first.run_until_complete(call(client, "GET", "/"))
            with pytest.raises(RuntimeError, match="another event loop"):
                second.run_until_complete(call(client, "GET", "/"))
        first.run_until_complete(client.aclose())
    finally:
        first.close()
        second.close()


async def test_unclosed_client_warns(api_key: str) -> None:
    """Dropping an open client without closing it raises our ResourceWarning."""
    client = RefinerClient(api_key)
    with aioresponses() as mock:
        mock.get(ROOT, payload={})
        await call(client, "GET", "/")
    session = client._core.shared.session
    assert session is not None
    with pytest.warns(ResourceWarning, match="RefinerClient was not closed"):
        client.__del__()
    await session.close()
    del client
    gc.collect()
