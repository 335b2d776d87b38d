"""Helpers for the emulator tests: a plain aiohttp session speaking to ``fake_refiner``, and
``until`` to wait for something the server does on its own time (a closed socket noticed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any

import aiohttp
import orjson
import pytest

from refiner_async.testing import FakeRefiner

ParamsArg = Mapping[str, Any] | Iterable[tuple[str, Any]] | None


class Api:
    """Raw HTTP against a FakeRefiner; answers are (status, parsed JSON or None)."""

    def __init__(self, session: aiohttp.ClientSession, fake: FakeRefiner) -> None:
        self.session = session
        self.fake = fake

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: ParamsArg = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> tuple[int, Any]:
        sent = dict(headers or {})
        if auth:
            sent.setdefault("Authorization", f"Bearer {self.fake.api_key}")
        async with self.session.request(
            method,
            self.fake.base_url + path,
            params=_encode(params),
            json=json,
            data=data,
            headers=sent,
        ) as response:
            body = await response.read()
            try:
                parsed = orjson.loads(body) if body else None
            except orjson.JSONDecodeError:
                parsed = body.decode()
            return response.status, parsed

    async def get(self, path: str, params: ParamsArg = None, **kw: Any) -> tuple[int, Any]:
        return await self.call("GET", path, params=params, **kw)

    async def post(self, path: str, json: Any = None, **kw: Any) -> tuple[int, Any]:
        return await self.call("POST", path, json=json, **kw)

    async def delete(self, path: str, params: ParamsArg = None, **kw: Any) -> tuple[int, Any]:
        return await self.call("DELETE", path, params=params, **kw)

    async def ok(self, path: str, params: ParamsArg = None) -> Any:
        status, body = await self.get(path, params)
        assert status == 200, body
        return body

    async def walk(self, path: str, params: ParamsArg = None, *, mode: str = "cursor") -> list[Any]:
        """Every item of a listing, following cursors (or page numbers)."""
        base = list(_encode(params) or [])
        items: list[Any] = []
        cursor: str | None = None
        page = 1
        for _ in range(10_000):
            extra = [("page_cursor", cursor)] if cursor else []
            if mode == "pages":
                extra = [("page", page)]
            body = await self.ok(path, base + extra)
            items.extend(body["items"])
            pagination = body["pagination"]
            if mode == "pages":
                if pagination["current_page"] >= pagination["last_page"]:
                    return items
                page += 1
            else:
                cursor = pagination["next_page_cursor"]
                if cursor is None:
                    return items
        raise AssertionError("pagination did not end")


def _encode(params: ParamsArg) -> list[tuple[str, str]] | None:
    if params is None:
        return None
    pairs = params.items() if isinstance(params, Mapping) else params
    return [(k, v if isinstance(v, str) else str(v)) for k, v in pairs]


@pytest.fixture
async def api(fake_refiner: FakeRefiner) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(session, fake_refiner)


async def _until(done: Callable[[], object], seconds: float = 5.0) -> bool:
    """Poll ``done`` every 10 ms until it holds; False if it still does not after ``seconds``."""
    for _ in range(int(seconds / 0.01)):
        if done():
            return True
        await asyncio.sleep(0.01)
    return bool(done())


@pytest.fixture
def until() -> Callable[..., Awaitable[bool]]:
    """``await until(lambda: condition, seconds=5.0)``: poll until it holds (see ``_until``)."""
    return _until
