"""``Paginator``: the result of a list call, over one page fetch and a page codec."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from contextlib import aclosing
from typing import Any, Generic, TypeVar, cast, get_args

import attrs

from .. import _validate
from .._types import PaginationMode
from ..errors import InvalidParameterError
from ..models.page import Page
from ._iteration import PaginationStats
from ._keys import by_key, uuids
from ._run import Run
from ._spec import Fetch, PageCodec, Spec, Windowing
from ._tokens import PAGING_PARAMS, Position, Windows, decode_resume_token, query_fingerprint

__all__ = ["DEFAULT_MAX_PAGES", "Paginator"]

T = TypeVar("T")

DEFAULT_MAX_PAGES = 100_000  # page requests one iteration may send before PaginationError
_MODES = get_args(PaginationMode)


class Paginator(Generic[T]):
    """The result of a list call: iterate items, iterate pages, collect, or await the first page.

    Every item once, in server order, even while other writers insert or delete; pages fetched
    ``window`` at a time when page numbers are used. ``docs/design/pagination.md`` explains the
    ``"auto"`` rule, how changes in the data are detected and repaired, the memory bound and the
    resume tokens.

    Args:
        fetch: ``fetch(params, decode)`` sends one page request with exactly ``params`` and returns
            its reply (``decode=None``: prefetched pages wait undecoded until they are handed out)
            or ``await decode(reply)``.
        codec: decodes a reply into a Page, and reads the next cursor a reply seems to carry.
        params: the call's filters, sent with every page request.
        page_length: items per page (1..1000), sent with every page request.
        max_items: stop after this many items in total (None: all).
        mode: ``"pages"``, ``"cursor"``, ``"windows"`` or ``"auto"``.
        supports_cursor: False for endpoints without ``next_page_cursor`` (forms).
        resume: a token from ``Page.resume_token`` or an error's ``resume_token``.
        window: how many pages may be fetched at once (the client's max_concurrency).
        endpoint: the list endpoint's path, bound into resume tokens.
        key: the identity of an item, for de-duplication (the uuid).
        raw_codec: decodes a reply into a Page of plain objects, for :meth:`raw`.
        max_pages: page requests one iteration may send before it raises PaginationError.
        new_items_first: whether new items only ever appear at the start of the order. False when
            they can land anywhere else or items move within the order (a write with a past date,
            sorted by name or by ``last_seen_at``, oldest first): "auto" then never reads by page
            number.
        windowing: how the list can be cut into date windows, for ``mode="windows"``: windows of about
            equal size, each read by cursor, several at once, pages handed out as they arrive.

    Raises:
        InvalidParameterError: a bad option (before anything is sent).
        PaginationError: ``resume`` is not a token of this endpoint and query (before anything is sent).
    """

    def __init__(
        self,
        fetch: Fetch,
        codec: PageCodec[T],
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
        max_pages: int = DEFAULT_MAX_PAGES,
        new_items_first: bool = True,
        windowing: Windowing | None = None,
        raw_codec: PageCodec[dict[str, Any]] | None = None,
    ) -> None:
        if mode not in _MODES:
            raise InvalidParameterError("pagination", f"must be one of {', '.join(_MODES)}")
        if mode == "windows" and (windowing is None or not supports_cursor):
            raise InvalidParameterError(
                "pagination", "this list cannot be read in date windows: use 'cursor' or 'pages'"
            )
        if mode == "cursor" and not supports_cursor:
            raise InvalidParameterError("pagination", "this list has no cursors: use 'pages'")
        if page_length < 1:
            raise InvalidParameterError("page_length", "must be at least 1")
        if max_items is not None and max_items < 0:
            raise InvalidParameterError("max_items", "must not be negative")
        if window < 1:
            raise InvalidParameterError("window", "must be at least 1")
        if max_pages < 1:
            raise InvalidParameterError("max_pages", "must be at least 1")
        filters = {k: v for k, v in params.items() if k not in PAGING_PARAMS}
        fingerprint = query_fingerprint(endpoint, filters, page_length)
        start: Position | Windows = Position(page=1)
        start_items = 0
        if resume is not None:
            start, start_items = decode_resume_token(
                resume, fingerprint, supports_cursor=supports_cursor
            )
        self._spec = Spec(
            fetch=fetch,
            codec=codec,
            params=filters,
            page_length=page_length,
            max_items=max_items,
            mode=mode,
            supports_cursor=supports_cursor,
            window=window,
            identify=None if key is None else by_key(key),
            max_pages=max_pages,
            new_items_first=new_items_first,
            windowing=windowing,
            fingerprint=fingerprint,
            start=start,
            start_items=start_items,
        )
        self._raw_codec = raw_codec
        #: Figures of the latest iteration (mode chosen, requests, duplicates dropped, repairs).
        self.stats = PaginationStats()

    def raw(self) -> Paginator[dict[str, Any]]:
        """The same listing as the API's own objects: plain dicts holding exactly its JSON values
        (timestamps as the API writes them, unknown fields kept), no models built. Same requests,
        limiter, retries, exactly-once rule and resume tokens (a token of either form resumes the
        other): ``async for d in client.responses.list().raw()``, ``.raw().pages()``."""
        if self._raw_codec is None:
            raise TypeError("this listing was built without a codec for plain objects")
        raw: Paginator[dict[str, Any]] = object.__new__(Paginator)
        objects = cast("Spec[dict[str, Any]]", self._spec)  # the same call, read as plain objects
        identify = None if objects.identify is None else uuids
        raw._spec = attrs.evolve(objects, codec=self._raw_codec, identify=identify)
        raw._raw_codec = self._raw_codec
        raw.stats = PaginationStats()
        return raw

    def pages(self) -> AsyncGenerator[Page[T], None]:
        """Pages in server order (read in date windows: as they arrive, each window's in server
        order), each with its ``resume_token``; empty pages are skipped (an empty list gives one
        empty page)."""
        run = Run(self._spec)
        self.stats = run.stats
        return run.pages()

    async def __aiter__(self) -> AsyncGenerator[T, None]:
        async with aclosing(self.pages()) as pages:
            async for page in pages:
                for item in page.items:
                    yield item
                del page  # read: its models go before the next page is read

    async def collect(self) -> list[T]:
        """Every item in a list (respects ``max_items``)."""
        return [item async for item in self]

    async def first_page(self) -> Page[T]:
        """The first page only (with ``max_items`` applied), and nothing fetched ahead."""
        run = Run(self._spec)
        self.stats = run.stats
        return await run.first()

    async def fetch_page(self, *, page: int | None = None, cursor: str | None = None) -> Page[T]:
        """Exactly one page request, by page number (default 1) or by ``cursor``, with this call's
        filters and page length: nothing fetched ahead, de-duplicated or resumable (no resume_token).
        For callers that page by hand, such as an agent tool returning one page per call."""
        if page is not None and cursor is not None:
            raise InvalidParameterError("page", "give a page number or a cursor, not both")
        if page is not None and (type(page) is not int or page < 1):
            raise InvalidParameterError("page", f"must be an int >= 1; got {page!r}")
        spec = self._spec
        request: dict[str, Any] = {**spec.params, "page_length": spec.page_length}
        if cursor is not None:
            request["page_cursor"] = _validate.cursor(cursor)
        else:
            request["page"] = 1 if page is None else page
        page_read: Page[T] = await spec.fetch(request, spec.codec.decode)
        return page_read

    def __await__(self) -> Generator[Any, None, Page[T]]:
        return self.first_page().__await__()
