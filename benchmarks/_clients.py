"""The export loops the benchmarks compare: the SDK and what a user could write instead.

Each function lists every response of ``GET /responses`` (``include=all``, 1,000 per page) and
returns how many items it saw. They keep nothing: a pipeline would hand each item on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import aiohttp
import httpx
import msgspec
import orjson

from refiner_async import RefinerClient

PAGE_LENGTH = 1000
QUERY = {"include": "all", "page_length": str(PAGE_LENGTH)}


def _auth(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}


# --- the SDK -----------------------------------------------------------------------------------


async def sdk_export(
    base_url: str,
    api_key: str,
    *,
    max_concurrency: int = 8,
    rate_limit: float | None = None,
    pagination: str = "pages",
    max_items: int | None = None,
    by_page: bool = False,
    pause_gc: bool = False,
    raw: bool = False,
) -> int:
    """refiner_async: typed ``Response`` models, item by item (``by_page``: page by page;
    ``raw``: the API's own objects, ``Paginator.raw()``)."""
    async with RefinerClient(
        api_key,
        base_url=base_url,
        rate_limit=rate_limit,
        max_concurrency=max_concurrency,
        pause_gc=pause_gc,
    ) as client:
        listing = client.responses.list(
            include="all", page_length=PAGE_LENGTH, pagination=pagination, max_items=max_items
        )
        source = listing.raw() if raw else listing
        n = 0
        if by_page:
            async for page in source.pages():
                n += len(page.items)
        else:
            async for _ in source:
                n += 1
    return n


# --- plain aiohttp -----------------------------------------------------------------------------


async def page_items(base_url: str, api_key: str, *, window: int = 1) -> AsyncIterator[list[Any]]:
    """Every page's items: one aiohttp session, orjson, page after page, or pages 2..N fetched
    ``window`` at a time and handed on as they arrive."""
    async with aiohttp.ClientSession(headers=_auth(api_key)) as session:
        gate = asyncio.Semaphore(window)

        async def fetch(page: int) -> Any:
            async with gate:
                params = {**QUERY, "page": page}
                async with session.get(f"{base_url}/responses", params=params) as r:
                    r.raise_for_status()
                    body = await r.read()
            return orjson.loads(body)

        first = await fetch(1)
        yield first["items"]
        later = range(2, first["pagination"]["last_page"] + 1)
        if window == 1:
            for page in later:
                yield (await fetch(page))["items"]
        else:
            for done in asyncio.as_completed([fetch(p) for p in later]):
                yield (await done)["items"]


async def floor_export(base_url: str, api_key: str) -> int:
    """The raw floor: one aiohttp session, orjson, dicts, one page after the other."""
    n = 0
    async for items in page_items(base_url, api_key):
        for _ in items:
            n += 1
    return n


async def bytes_only_export(base_url: str, api_key: str) -> int:
    """Transport alone: the floor's requests with the bodies read and not decoded (pages, not items)."""
    pages = 0
    async with aiohttp.ClientSession(headers=_auth(api_key)) as session:
        page, last = 1, 1
        while page <= last:
            async with session.get(f"{base_url}/responses", params={**QUERY, "page": page}) as r:
                r.raise_for_status()
                body = await r.read()
            if page == 1:
                last = orjson.loads(body)["pagination"]["last_page"]
            pages += 1
            page += 1
    return pages * PAGE_LENGTH


async def floor_concurrent_export(base_url: str, api_key: str, *, window: int = 8) -> int:
    """The floor with pages 2..N fetched ``window`` at a time (the SDK's strategy, without models)."""
    n = 0
    async for items in page_items(base_url, api_key, window=window):
        for _ in items:
            n += 1
    return n


async def naive_export(base_url: str, api_key: str) -> int:
    """What a user writes first: aiohttp, ``response.json()`` (the json module), page after page."""
    n = 0
    async with aiohttp.ClientSession() as session:
        page = 1
        while True:
            async with session.get(
                f"{base_url}/responses",
                params={"include": "all", "page_length": PAGE_LENGTH, "page": page},
                headers={"Authorization": f"Bearer {api_key}"},
            ) as r:
                r.raise_for_status()
                payload = await r.json()
            for _ in payload["items"]:
                n += 1
            if page >= payload["pagination"]["last_page"]:
                break
            page += 1
    return n


# --- httpx -------------------------------------------------------------------------------------


async def httpx_export(base_url: str, api_key: str) -> int:
    """httpx's AsyncClient doing the floor's work: orjson, dicts, one page after the other."""
    n = 0
    async with httpx.AsyncClient(headers=_auth(api_key), timeout=30.0) as client:
        page, last = 1, 1
        while page <= last:
            r = await client.get(f"{base_url}/responses", params={**QUERY, "page": page})
            r.raise_for_status()
            payload = orjson.loads(r.content)
            for _ in payload["items"]:
                n += 1
            last = payload["pagination"]["last_page"]
            page += 1
    return n


# --- msgspec -----------------------------------------------------------------------------------
# Typed structs decoded straight from the bytes. msgspec reads the API's zone-less timestamps
# ("2026-01-01 12:00:00") as naive datetimes; the SDK makes them aware (UTC).


class MsAccount(msgspec.Struct):
    uuid: str
    remote_id: str | None = None
    domain: str | None = None
    display_name: str | None = None


class MsContact(msgspec.Struct):
    uuid: str
    remote_id: str | None = None
    email: str | None = None
    display_name: str | None = None
    account: MsAccount | None = None
    attributes: dict[str, Any] | None = None


class MsForm(msgspec.Struct):
    uuid: str
    name: str | None = None


class MsResponse(msgspec.Struct):
    uuid: str
    form: MsForm | None = None
    contact: MsContact | None = None
    data: dict[str, Any] = {}
    first_shown_at: datetime | None = None
    last_shown_at: datetime | None = None
    show_counter: int | None = None
    first_data_reception_at: datetime | None = None
    last_data_reception_at: datetime | None = None
    completed_at: datetime | None = None
    received_at: datetime | None = None
    dismissed_at: datetime | None = None


class MsPagination(msgspec.Struct):
    items_count: int | None = None
    current_page: int | None = None
    last_page: int | None = None
    page_length: int | None = None
    next_page_cursor: str | None = None


class MsPage(msgspec.Struct):
    items: list[MsResponse]
    pagination: MsPagination


def msgspec_decoder() -> Callable[[bytes], MsPage]:
    decoder = msgspec.json.Decoder(MsPage)
    return decoder.decode


async def msgspec_export(base_url: str, api_key: str) -> int:
    """aiohttp, msgspec decoding each page straight into typed structs, one page after the other."""
    decode = msgspec_decoder()
    n = 0
    async with aiohttp.ClientSession(headers=_auth(api_key)) as session:
        page, last = 1, 1
        while page <= last:
            async with session.get(f"{base_url}/responses", params={**QUERY, "page": page}) as r:
                r.raise_for_status()
                body = await r.read()
            decoded = decode(body)
            for _ in decoded.items:
                n += 1
            last = decoded.pagination.last_page or page
            page += 1
    return n
