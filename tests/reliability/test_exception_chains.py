"""What an error carries (T29): the right type whatever the borrowed session's settings, the status of
a gateway's reply to a write, and no key or unredacted body anywhere along ``__cause__``/``__context__``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from refiner_async import (
    AuthenticationError,
    NotFoundError,
    OutcomeUnknownError,
    RefinerClient,
    RefinerError,
    ResponseDecodeError,
    ServerError,
)
from tests.conftest import call


def chain(error: BaseException) -> Iterator[BaseException]:
    """Every exception reachable from ``error`` through causes and contexts."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [error]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack += [current.__cause__, current.__context__]


def everything_shown(error: BaseException) -> str:
    """str, repr, args, attributes (aiohttp's request_info, orjson's doc included) of the chain."""
    texts = []
    for link in chain(error):
        texts += [str(link), repr(link), repr(link.args)]
        with contextlib.suppress(TypeError):
            texts.append(repr(vars(link)))
        for name in ("doc", "request_info", "headers", "body"):
            texts.append(repr(getattr(link, name, None)))
    return "\n".join(texts)


async def echoing(request: web.Request) -> web.Response:
    """Answers that echo the Authorization header, by path."""
    auth = request.headers.get("Authorization", "")
    kind = request.path.removeprefix("/v1/")
    if kind == "not-json":  # a 200 that is not JSON and holds the header
        return web.Response(text=f"<pre>{auth}</pre>", content_type="text/html")
    if kind == "responses":  # the same, on a list call (decoded when the page is handed out)
        return web.Response(
            text=f'{{"items": [], "echo": "{auth}"', content_type="application/json"
        )
    if kind == "unauthorized":
        return web.json_response({"error": f"No API key found ({auth})"}, status=401)
    if kind == "missing":
        return web.json_response({"error": "Contact not found"}, status=404)
    if kind.startswith("status-"):
        status = int(kind.removeprefix("status-"))
        return web.json_response({"error": f"upstream said no to {auth}"}, status=status)
    return web.json_response({"ok": True})


@pytest.fixture
async def base(raw_server: Callable[..., Awaitable[str]]) -> str:
    return await raw_server(echoing)


@pytest.fixture
async def strict_session() -> Any:
    """A borrowed session made with raise_for_status=True, as many applications make theirs."""
    async with aiohttp.ClientSession(raise_for_status=True) as session:
        yield session


@pytest.mark.usefixtures("instant")
async def test_t29_a_raise_for_status_session_keeps_the_mapping(
    base: str, api_key: str, strict_session: aiohttp.ClientSession
) -> None:
    """401 is AuthenticationError after one attempt, 404 NotFoundError, a write's 500 ServerError: not connection errors."""
    async with RefinerClient(
        api_key, base_url=base, session=strict_session, rate_limit=None, max_retries=2
    ) as client:
        with pytest.raises(AuthenticationError) as auth:
            await call(client, "GET", "/unauthorized")
        with pytest.raises(NotFoundError):
            await call(client, "GET", "/missing")
        with pytest.raises(ServerError) as server:
            await call(client, "POST", "/status-500", json={"a": 1}, idempotent=False)
        assert await call(client, "GET", "/fine") == {"ok": True}
    assert auth.value.attempts == 1
    assert server.value.status == 500
    assert server.value.attempts == 1
    for error in (auth.value, server.value):
        assert api_key not in everything_shown(error)


@pytest.mark.usefixtures("instant")
@pytest.mark.parametrize("status", [502, 503, 504])
async def test_t29_a_gateways_reply_to_a_write_is_outcome_unknown(
    base: str, api_key: str, status: int
) -> None:
    """502/503/504 on a write: OutcomeUnknownError carrying the status, after one attempt; reads retry them."""
    async with RefinerClient(api_key, base_url=base, rate_limit=None, max_retries=2) as client:
        with pytest.raises(OutcomeUnknownError) as write:
            await call(client, "POST", f"/status-{status}", json={"a": 1}, idempotent=False)
        with pytest.raises(ServerError) as read:
            await call(client, "GET", f"/status-{status}")
    assert write.value.status == status
    assert write.value.attempts == 1
    assert f"a gateway replied {status}" in str(write.value)
    assert isinstance(write.value.__cause__, ServerError)
    assert read.value.attempts == 3
    assert api_key not in everything_shown(write.value)


@pytest.mark.usefixtures("instant")
async def test_t29_no_key_anywhere_along_the_chain(
    base: str, api_key: str, strict_session: aiohttp.ClientSession
) -> None:
    """Bodies echoing the key (a non-JSON 200, a broken list page, a 401): no link of any chain holds it."""
    errors: list[RefinerError] = []
    for session in (None, strict_session):
        async with RefinerClient(
            api_key, base_url=base, session=session, rate_limit=None, max_retries=0
        ) as client:
            for pending in (
                call(client, "GET", "/not-json"),
                client.responses.list(pagination="pages").collect(),
                call(client, "GET", "/unauthorized"),
            ):
                with pytest.raises(RefinerError) as caught:
                    await pending
                errors.append(caught.value)
    assert [type(e) for e in errors] == [
        ResponseDecodeError,
        ResponseDecodeError,
        AuthenticationError,
    ] * 2
    for error in errors:
        shown = everything_shown(error)
        assert api_key not in shown, shown
        assert all(isinstance(link, RefinerError) for link in chain(error))
