"""What a listing is given: one page fetch, a codec for its replies, and the call's settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

import attrs

from ..models.page import Page
from ._keys import Identify
from ._tokens import Position, Windows

__all__ = ["Fetch", "PageCodec", "Spec", "Windowing"]

T = TypeVar("T")

#: ``fetch(params, decode)``: one page request with exactly ``params``; its reply (``decode``
#: None) or ``await decode(reply)``, a decode that fails counting as a failed attempt.
Fetch = Callable[[dict[str, Any], Callable[[Any], Awaitable[Any]] | None], Awaitable[Any]]


class PageCodec(Protocol[T]):
    """What the paginator needs to know about a reply."""

    async def decode(self, reply: Any) -> Page[T]:
        """The reply as a Page (``ResponseDecodeError``/``ResponseValidationError`` if it is not
        one); used as a fetch's ``decode`` too."""
        ...

    def next_cursor(self, reply: Any) -> str | None:
        """The ``next_page_cursor`` the reply seems to carry, read without decoding it (a guess,
        checked once the page is decoded), or None."""
        ...


@attrs.frozen
class Windowing:
    """How a list can be cut into disjoint windows: the query parameters of its date filter
    (``start`` inclusive, ``end`` exclusive, ISO-8601) and the time of an item that filter compares
    (to choose the cuts; a wrong guess costs balance, never an item)."""

    start_param: str
    end_param: str
    stamp: Callable[[Any], datetime | None]


@attrs.frozen
class Spec(Generic[T]):
    """One list call, checked: everything an iteration of it reads (see ``Paginator``'s args)."""

    fetch: Fetch
    codec: PageCodec[T]
    params: dict[str, Any]  # the call's filters, without paging parameters
    page_length: int
    max_items: int | None
    mode: str  # "auto", "pages", "cursor" or "windows"
    supports_cursor: bool
    window: int
    identify: Identify | None  # the identities of a page's items (None: the items themselves)
    max_pages: int
    new_items_first: bool
    windowing: Windowing | None  # None: the list cannot be read in windows
    fingerprint: str  # of the endpoint, filters and page length, bound into resume tokens
    start: Position | Windows  # where reading starts (page 1, or a resume token's position)
    start_items: int  # items yielded before ``start`` (a resume token's count)
