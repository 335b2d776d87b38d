"""Paginator: turns a ``fetch_page(params) -> Page[T]`` coroutine into items, pages and lists.

It knows nothing about HTTP: the resource gives it the call's filters and a fetch function that
sends one page request (through the client's limiter and retry policy) and returns a Page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping
from typing import Any, Generic, Literal, TypeVar

from .models.page import Page

__all__ = ["FetchPage", "PaginationMode", "Paginator"]

T = TypeVar("T")

PaginationMode = Literal["auto", "pages", "cursor"]
FetchPage = Callable[[dict[str, Any]], Awaitable[Page[T]]]


class Paginator(Generic[T]):
    """The result of a list call: iterate items, iterate pages, collect, or await the first page.

    Args:
        fetch: sends one page request with the given parameters and returns the Page.
        params: the call's filters, sent with every page request.
        page_length: items per page (1..1000), sent with every page request.
        max_items: stop after this many items in total (None: all).
        mode: ``"pages"``, ``"cursor"`` or ``"auto"``.
        supports_cursor: False for endpoints without ``next_page_cursor`` (forms).
        resume: a token from ``Page.resume_token`` or an error's ``resume_token``.
        window: how many pages may be fetched at once (the client's max_concurrency).
        endpoint: the list endpoint's path, bound into resume tokens.
        key: the identity of an item, for de-duplication (the uuid).
    """

    def __init__(
        self,
        fetch: FetchPage[T],
        *,
        params: Mapping[str, Any],
        page_length: int = 1000,
        max_items: int | None = None,
        mode: PaginationMode = "auto",
        supports_cursor: bool = True,
        resume: str | None = None,
        window: int = 8,
        endpoint: str = "",
        key: Callable[[T], object] | None = None,
    ) -> None:
        self._fetch = fetch
        self._params = dict(params)
        self._page_length = page_length
        self._max_items = max_items
        self._mode = mode
        self._supports_cursor = supports_cursor
        self._resume = resume
        self._window = window
        self._endpoint = endpoint
        self._key = key

    async def pages(self) -> AsyncIterator[Page[T]]:
        """Pages in server order (sequential page numbers in this version)."""
        page_number = 1
        remaining = self._max_items
        while True:
            params = {**self._params, "page": page_number, "page_length": self._page_length}
            page = await self._fetch(params)
            items = page.items
            if remaining is not None:
                items = items[:remaining]
                remaining -= len(items)
            yield Page(
                items=items,
                current_page=page.current_page,
                last_page=page.last_page,
                items_count=page.items_count,
                page_length=page.page_length,
                next_page_cursor=page.next_page_cursor,
            )
            last = page.last_page or page_number
            if not page.items or page_number >= last or remaining == 0:
                return
            page_number += 1

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item

    async def collect(self) -> list[T]:
        """Every item in a list (respects ``max_items``)."""
        return [item async for item in self]

    async def first_page(self) -> Page[T]:
        """The first page only."""
        params = {**self._params, "page": 1, "page_length": self._page_length}
        return await self._fetch(params)

    def __await__(self) -> Generator[Any, None, Page[T]]:
        return self.first_page().__await__()
