"""Paginator: turns one page fetch and a page codec into items, pages and lists.

It knows nothing about HTTP: the resource gives it the call's filters, a ``fetch(params, decode)``
that sends one page request (through the client's limiter and retry policy) and returns its answer
(``decode=None``) or ``await decode(answer)``, and a codec that opens an answer into a Page and reads
the next cursor an answer seems to carry before it is opened.

How an iteration reads
----------------------
The first request is always ``page=1`` (or the page a resume token names). Its answer carries
``items_count``, ``last_page`` and, on contacts, responses and segments, ``next_page_cursor``, so
page 1 serves every mode and ``"auto"`` decides after it without a wasted request:

* ``"pages"``: pages 2..N by number, at most ``window`` requests in flight, handed out strictly in
  order. Page k+window is requested once page k has arrived, as it is opened for the consumer (so
  that its decoding overlaps that request's latency), so at most ``window`` pages wait in memory
  however slow the consumer is.
* ``"cursor"``: follow ``next_page_cursor`` one page at a time, fetching the next page while the
  consumer works through the current one. It is requested as the current page is opened, by the
  cursor the codec reads from its bytes; a wrong guess is dropped once the page is open.
  A cursor that repeats, or leads back to an earlier one, raises :class:`PaginationError`;
  ``max_pages`` caps the requests of one iteration; an empty page with a cursor is skipped and
  followed, but ``MAX_EMPTY_RUN`` (5) pages in a row that bring nothing new raise
  :class:`PaginationError`: a page emptied by deletes between two reads happens, a run of them is a
  server handing out cursors to nowhere.
* ``"auto"`` (the rule): page numbers when they buy concurrency, offsets are cheap and the order
  keeps them honest, that is when ``window > 1``, page 1 reports ``items_count <=
  AUTO_PAGE_NUMBERS_MAX_ITEMS`` (10,000, the vendor's advice) and ``new_items_first`` holds; cursors
  otherwise, when the endpoint has them. Forms have no cursor: always page numbers.

Exactly once while the data changes
-----------------------------------
Cursors are keyset positions: a page read by cursor starts right after the last item read, whatever
was inserted or deleted meanwhile, so cursor reading is exact. Page numbers are offsets: an insert
before the read position pushes items to later pages (read twice), a delete pulls them to earlier
pages (never read). Before a numbered page is handed out it is checked against the page handed out
before it: same ``items_count`` and ``last_page``, the expected length, and no item already seen.
Any difference means the offsets moved, and the iteration stops trusting them:

* with a cursor (contacts, responses, segments): prefetched pages not yet handed out are dropped and
  the iteration continues by cursor from the last page handed out, exactly after its last item;
* without one (forms): it re-reads one page at a time from far enough back to cover the change (one
  page plus ``ceil(count change / page_length)`` pages), dropping items already yielded by key. Each
  later read is checked against the read before it; a shrinking count steps back again.

When new items appear at the start of the order (responses, newest first) and items are deleted
anywhere, these checks see every shift that could skip an item, whatever order the server answers
the concurrent requests in (property-tested): the first page read after an insert repeats the last
item of the page before it, and a net delete changes ``items_count``. What offsets cannot show is an
insert *below* a page boundary balanced by a delete *above* it between the reads of those two pages
(lists sorted by name, contacts sorted by ``last_seen_at`` or oldest first): the count and the keys
look unchanged while an item slid across the boundary. Pass ``new_items_first=False`` for such lists
so ``"auto"`` reads them by cursor; ``"pages"`` remains an explicit choice of speed, and forms, which
have no cursor, keep that limit.

Memory: at most ``window`` pages in flight or buffered, plus the key set. A buffered page is its
undecoded answer, opened when it is handed out: only the page being handed out exists as objects,
and it is fresh in the CPU's caches when the consumer reads it; an answer found then not to be JSON
(or not a list envelope) is requested again, with the retries every request has. The key set holds the
identities of the last ``window + 2`` pages when the endpoint has cursors (enough to see an overlap;
repairs continue by cursor and need no older keys) and of every item yielded for forms (page-number
repair must recognise items from any page it re-reads; forms lists are small). With ``key=None``
the items themselves are the keys when hashable; otherwise nothing is de-duplicated and a change in a
list without cursors raises :class:`PaginationError`.

Resume tokens
-------------
``"r1." + urlsafe base64 (unpadded) of compact JSON``: ``f`` a 16-hex fingerprint of the endpoint,
the filters (everything but ``page``/``page_cursor``) and ``page_length``; ``n`` items yielded before
the named page; then ``c`` (a cursor) or ``p`` (a page number), and ``s`` (items at the start of that
page already yielded, after a ``max_items`` cut). A token from another endpoint or query, or a corrupt
one, raises :class:`PaginationError` when the Paginator is built, before any request. A page's
``resume_token`` names the next page; it is None on the last page. Every :class:`RefinerError` that
ends an iteration carries the token of the last page handed out (or of the start) and the number of
items this iteration yielded.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import math
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Mapping, Sequence
from contextlib import aclosing
from typing import Any, Generic, Protocol, TypeGuard, TypeVar

import attrs

from . import _validate
from ._types import PaginationMode
from .errors import (
    InvalidParameterError,
    PaginationError,
    RefinerError,
    ResponseDecodeError,
    ResponseValidationError,
)
from .models.page import Page

__all__ = [
    "AUTO_PAGE_NUMBERS_MAX_ITEMS",
    "DEFAULT_MAX_PAGES",
    "Fetch",
    "PageCodec",
    "PaginationMode",
    "PaginationStats",
    "Paginator",
]

T = TypeVar("T")

#: ``fetch(params, decode)``: one page request with exactly ``params``; its answer (``decode``
#: None) or ``await decode(answer)``, a decode that fails counting as a failed attempt.
Fetch = Callable[[dict[str, Any], Callable[[Any], Awaitable[Any]] | None], Awaitable[Any]]


class PageCodec(Protocol[T]):
    """What the paginator needs to know about an answer."""

    async def open(self, answer: Any) -> Page[T]:
        """The answer as a Page (``ResponseDecodeError``/``ResponseValidationError`` if it is not
        one); used as a fetch's ``decode`` too."""
        ...

    def next_cursor(self, answer: Any) -> str | None:
        """The ``next_page_cursor`` the answer seems to carry, read without opening it (a guess,
        checked once the page is open), or None."""
        ...


#: An answer arrived and not opened yet, with its request's parameters.
_Arrived = tuple[dict[str, Any], Any]
#: A prefetch under way.
_Prefetch = asyncio.Task[_Arrived]

AUTO_PAGE_NUMBERS_MAX_ITEMS = 10_000  # "auto" reads by page number up to this many items
DEFAULT_MAX_PAGES = 100_000  # page requests one iteration may send before PaginationError
MAX_EMPTY_RUN = 5  # cursor pages in a row with nothing new before PaginationError
TOKEN_PREFIX = "r1."  # resume token format version
MAX_TOKEN_CHARS = 8192
MAX_CURSOR_CHARS = 2048  # a longer (or non-string, or empty) server cursor is refused
_PAGING_PARAMS = frozenset({"page", "page_cursor", "page_length"})
_MODES = ("auto", "pages", "cursor")


@attrs.frozen
class _Position:
    """Where the next page starts: a page number or a cursor, minus ``skip`` items already yielded."""

    page: int | None = None
    cursor: str | None = None
    skip: int = 0


@attrs.define
class PaginationStats:
    """Figures of a Paginator's latest iteration, for tests, benchmarks and progress reports."""

    mode: str = (
        ""  # "pages" or "cursor": how the iteration reads now (a repair switches to "cursor")
    )
    requests: int = 0  # page requests sent, re-reads included
    items: int = 0  # items yielded
    duplicates_dropped: int = 0  # items read twice because the data moved, not yielded again
    repairs: int = 0  # times a change in the data was detected and repaired
    refetched: int = 0  # prefetched pages requested again because their body was not JSON


def query_fingerprint(endpoint: str, params: Mapping[str, Any], page_length: int) -> str:
    """A short hash of the list call a resume token belongs to."""
    filters = {name: value for name, value in params.items() if name not in _PAGING_PARAMS}
    blob = json.dumps(
        [endpoint, filters, page_length], sort_keys=True, separators=(",", ":"), default=repr
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def encode_resume_token(fingerprint: str, position: _Position, items_before: int) -> str:
    """The opaque token naming ``position`` (see the module docstring for the format)."""
    payload: dict[str, Any] = {"f": fingerprint, "n": items_before}
    if position.cursor is not None:
        payload["c"] = position.cursor
    else:
        payload["p"] = position.page
    if position.skip:
        payload["s"] = position.skip
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return TOKEN_PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def decode_resume_token(
    token: str, fingerprint: str, *, supports_cursor: bool
) -> tuple[_Position, int]:
    """The position and items-before count of ``token``; PaginationError unless it is ours and fits."""
    if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX):
        raise PaginationError("resume token is not one this SDK issued (expected 'r1.' prefix)")
    if len(token) > MAX_TOKEN_CHARS:
        raise PaginationError("resume token is too long")
    body = token[len(TOKEN_PREFIX) :]
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, binascii.Error):
        raise PaginationError("resume token is corrupt") from None
    if not isinstance(data, dict) or not set(data) <= {"f", "n", "p", "c", "s"}:
        raise PaginationError("resume token is corrupt")
    if data.get("f") != fingerprint:
        raise PaginationError("resume token belongs to a different list call (endpoint or filters)")
    items_before, skip = data.get("n"), data.get("s", 0)
    page, cursor = data.get("p"), data.get("c")
    if not _count(items_before) or not _count(skip) or (page is None) == (cursor is None):
        raise PaginationError("resume token is corrupt")
    if page is not None and not (_count(page) and page >= 1):
        raise PaginationError("resume token is corrupt")
    if cursor is not None:
        if not supports_cursor:
            raise PaginationError("resume token names a cursor, but this list has no cursors")
        if not isinstance(cursor, str) or not 0 < len(cursor) <= MAX_CURSOR_CHARS:
            raise PaginationError("resume token is corrupt")
    return _Position(page=page, cursor=cursor, skip=skip), items_before


class _SeenKeys:
    """Identities of items already read, to drop repeats and to see pages overlap.

    Keeps the keys of the last ``pages_kept`` pages (None: of every page).
    """

    def __init__(self, key: Callable[[Any], object] | None, pages_kept: int | None) -> None:
        self._key = key
        self.pages_kept = pages_kept
        self._serial = 0  # pages remembered so far
        self._newest: dict[object, int] = {}  # key -> serial of the newest page holding it
        self._pages: deque[tuple[int, list[object]]] = deque()  # (serial, keys), oldest first
        self._shared = False  # True once a key was remembered by two pages
        self._last: tuple[object, list[object]] = ((), [])  # the items last keyed, and their keys
        self.enabled = True  # False once an item has no hashable identity: no de-duplication

    def identities(self, items: tuple[Any, ...]) -> list[object] | None:
        """The keys of ``items`` in order, or None when de-duplication is off (an item without a
        hashable key turns it off for good)."""
        if not self.enabled:
            return None
        if items is self._last[0]:  # the page just checked for drift, now handed out
            return self._last[1]
        idents = list(items) if self._key is None else list(map(self._key, items))
        try:
            hash(tuple(idents))
        except TypeError:
            self.enabled = False
            self._newest.clear()
            self._pages.clear()
            return None
        self._last = (items, idents)
        return idents

    def __contains__(self, ident: object) -> bool:
        return ident in self._newest

    def overlaps(self, idents: list[object] | None) -> bool:
        """Whether any of ``idents`` was read before."""
        return idents is not None and not self._newest.keys().isdisjoint(idents)

    def remember(self, idents: list[object], *, new: bool = False) -> None:
        """Remember a page's keys; ``new``: the caller saw that none of them is remembered yet."""
        self._serial += 1
        self._shared = self._shared or not new
        self._newest.update(dict.fromkeys(idents, self._serial))
        if self.pages_kept is None:
            return
        self._pages.append((self._serial, idents))
        while len(self._pages) > self.pages_kept:
            serial, old = self._pages.popleft()
            if self._shared:  # forget only the keys no newer page holds
                newest = self._newest
                for ident in old:
                    if newest.get(ident) == serial:
                        del newest[ident]
            else:  # every key is held by its one page
                deque(map(self._newest.pop, old), maxlen=0)


def _last_page(page: Page[Any], page_length: int) -> int | None:
    """The last page number by the server's figures (None when it sent neither). When both are
    sent and disagree, the larger wins: a list is read too far (an empty page) rather than short."""
    if page.last_page is None and page.items_count is None:
        return None
    by_count = 0 if page.items_count is None else math.ceil(page.items_count / page_length)
    return max(1, page.last_page or 0, by_count)


def _check_figures(base: Page[Any], page: Page[Any], number: int) -> None:
    """Refuse a numbered page without pagination figures after pages that had them: the list would
    end there short of what it announced. (Pages read by cursor end by their cursor; whether the
    API sends figures in cursor mode is not known, so they are not required there.)"""
    if (page.items_count is None and page.last_page is None) and (
        base.items_count is not None or base.last_page is not None
    ):
        raise PaginationError(
            f"page {number} came without the pagination figures (items_count, last_page) the pages "
            "before it had; the list would end short of what it announced"
        )


def _earlier_page(a: _Position | None, b: _Position | None) -> bool:
    """Whether both positions are page numbers and ``a`` names an earlier page than ``b``."""
    if a is None or b is None or a.page is None or b.page is None:
        return False
    return a.page < b.page


def _mark_retrieved(task: asyncio.Task[Any]) -> None:
    """Done callback: a failed prefetch that is dropped must not log 'exception never retrieved'."""
    if not task.cancelled():
        task.exception()


class _Run(Generic[T]):
    """The state of one iteration of a Paginator (each ``pages()`` call starts a fresh one)."""

    def __init__(self, source: Paginator[T]) -> None:
        self._src = source
        self._length = source._page_length
        self._position: _Position | None = source._start  # where the next page starts; None: done
        self._items_before = source._start_items  # items yielded by earlier iterations (resume)
        self._yielded = 0  # items yielded by this iteration
        self._remaining = source._max_items  # items still wanted (None: all)
        self._finished = False  # max_items reached or the end seen: request nothing more
        self._emitted = 0  # pages handed out
        self._requests = 0
        pages_kept = source._window + 2 if source._supports_cursor else None
        self._seen = _SeenKeys(source._key, pages_kept)
        self._cursors: set[str] = set()  # cursors requested by this iteration, for cycle detection
        self._tasks: set[_Prefetch] = set()  # prefetches not yet taken
        self._handoff: _Position | None = None  # set when page-number reading hands over to cursors
        self.stats = PaginationStats()

    # -- requests ----------------------------------------------------------------------------

    def _params(self, position: _Position) -> dict[str, Any]:
        if position.cursor is not None:
            paging: dict[str, Any] = {"page_cursor": position.cursor}
        else:
            paging = {"page": position.page}
        return {**self._src._params, **paging, "page_length": self._length}

    def _may_request(self) -> bool:
        return self._requests < self._src._max_pages

    def _count_request(self) -> None:
        if not self._may_request():
            raise PaginationError(f"stopped after {self._requests} page requests (max_pages)")
        self._requests += 1
        self.stats.requests += 1

    async def _get(self, position: _Position) -> Page[T]:
        self._count_request()
        return await self._fetch_page(self._params(position))

    async def _fetch_page(self, params: dict[str, Any]) -> Page[T]:
        page: Page[T] = await self._src._fetch(params, self._src._codec.open)
        return page

    def _launch(self, position: _Position) -> _Prefetch:
        self._count_request()
        task = asyncio.create_task(self._call(self._params(position)))
        task.add_done_callback(_mark_retrieved)
        self._tasks.add(task)
        return task

    async def _call(self, params: dict[str, Any]) -> _Arrived:
        return params, await self._src._fetch(params, None)

    async def _arrival(self, task: _Prefetch) -> _Arrived:
        """A prefetch's answer, not opened yet: its request's parameters and its opener."""
        if task.done():
            # Give the loop a turn between pages that arrived together, so that other tasks
            # (and the prefetches' own reads) run between two pages' worth of consumer work.
            await asyncio.sleep(0)
        arrived = await task  # on failure the task stays in _tasks; the cleanup waits for it
        self._tasks.discard(task)
        return arrived

    async def _open(self, arrived: _Arrived) -> Page[T]:
        """A prefetched page, opened now: decoded and structured just before it is handed out, so
        that the pages waiting meanwhile are bytes (no objects for the collector to traverse, less
        memory) and the one handed out is fresh in the CPU's caches. A body that turns out not to
        be JSON, or not a list envelope, is fetched again, with the retries every request has."""
        params, answer = arrived
        try:
            page: Page[T] = await self._src._codec.open(answer)
            return page
        except (ResponseDecodeError, ResponseValidationError):
            self._count_request()
            self.stats.refetched += 1
            return await self._fetch_page(params)

    async def _drop(self, tasks: list[_Prefetch]) -> None:
        """Cancel prefetches and wait until they have ended (their results are discarded)."""
        for task in tasks:
            self._tasks.discard(task)
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    # -- handing pages out -------------------------------------------------------------------

    def _token(self, position: _Position | None) -> str | None:
        if position is None:
            return None
        return encode_resume_token(
            self._src._fingerprint, position, self._items_before + self._yielded
        )

    def _annotate(self, error: RefinerError) -> None:
        """Tell an error that ends the iteration where to resume and how many items came out."""
        error.resume_token = self._token(self._position)
        error.items_yielded = self._yielded

    def _emit(
        self, page: Page[T], start: _Position, after: _Position | None, *, always: bool = False
    ) -> Page[T] | None:
        """Accept a page: drop repeats, apply ``start.skip`` and ``max_items``, advance the resume
        point to ``after``. Returns the page to hand out, or None when nothing in it is new."""
        items = page.items
        keys = self._seen.identities(items)
        cut = len(items)
        whole = not start.skip and (self._remaining is None or self._remaining >= cut)
        if whole and (keys is None or (len(set(keys)) == cut and not self._seen.overlaps(keys))):
            out: Sequence[T] = items  # the usual page: every item new, nothing cut
            idents, new = keys or [], True
        else:
            out, idents, cut = self._select(items, keys, start.skip)
            new = False
        self._seen.remember(idents, new=new)
        self._yielded += len(out)
        self.stats.items += len(out)
        if self._remaining is not None:
            self._remaining -= len(out)
            if self._remaining <= 0:
                self._finished = True
        if cut < len(items):  # max_items ended mid-page: the rest of this page comes next
            after = attrs.evolve(start, skip=cut)
        if after is None:
            self._finished = True
        self._position = after
        if not out and not (always or (self._emitted == 0 and after is None)):
            return None
        self._emitted += 1
        return attrs.evolve(page, items=tuple(out), resume_token=self._token(after))

    def _select(
        self, items: tuple[T, ...], keys: list[object] | None, skip: int
    ) -> tuple[list[T], list[object], int]:
        """Item by item: the items to hand out, the keys to remember, and where ``max_items`` cut
        the page (its length when it did not). Items before ``skip`` were yielded before the resume
        point: remembered, not repeated."""
        out: list[T] = []
        idents: list[object] = []
        fresh: set[object] = set()
        for index, item in enumerate(items):
            ident = None if keys is None else keys[index]
            if index < skip:
                if ident is not None:
                    idents.append(ident)
                continue
            if self._remaining is not None and len(out) >= self._remaining:
                return out, idents, index
            if ident is not None:
                if ident in self._seen or ident in fresh:
                    self.stats.duplicates_dropped += 1
                    continue
                fresh.add(ident)
                idents.append(ident)
            out.append(item)
        return out, idents, len(items)

    def _after(self, page: Page[T], number: int | None, last: int | None) -> _Position | None:
        """Where reading continues after ``page`` (read as page ``number``, None: by cursor)."""
        cursor = page.next_page_cursor
        if self._src._supports_cursor and cursor is not None:
            if not isinstance(cursor, str) or not 0 < len(cursor) <= MAX_CURSOR_CHARS:
                raise PaginationError("the server sent an invalid next_page_cursor")
            return _Position(cursor=cursor)
        if number is None:
            return None
        if last is not None:
            return _Position(page=number + 1) if number < last else None
        return _Position(page=number + 1) if len(page.items) >= self._length else None

    def _check_cursor(self, cursor: str, request: _Position) -> None:
        """Refuse a cursor that repeats the one just used or any earlier one (a cycle)."""
        if cursor == request.cursor:
            raise PaginationError("the server sent the same next_page_cursor again")
        if cursor in self._cursors:
            raise PaginationError("the server's cursors lead back to an earlier page (a cycle)")

    def _choose(self, first: Page[T]) -> str:
        mode = self._src._mode
        if mode != "auto":
            return mode
        has_cursor = self._src._supports_cursor and first.next_page_cursor is not None
        large = first.items_count is None or first.items_count > AUTO_PAGE_NUMBERS_MAX_ITEMS
        offsets_fit = not large and self._src._window > 1 and self._src._new_items_first
        return "cursor" if has_cursor and not offsets_fit else "pages"

    # -- the iteration -----------------------------------------------------------------------

    async def pages(self) -> AsyncGenerator[Page[T], None]:
        try:
            if self._remaining == 0 or self._position is None:
                return
            start = self._position
            first: Page[T] | None = None
            mode = "cursor"
            if start.cursor is None:
                first = await self._get(start)
                mode = self._choose(first)
            self.stats.mode = mode
            if mode == "pages" and first is not None:
                async with aclosing(self._by_numbers(first, start)) as numbered:
                    async for page in numbered:
                        yield page
                if self._handoff is None:
                    return
                self.stats.mode = "cursor"
                first, start = None, self._handoff
            async with aclosing(self._by_cursor(first, start)) as cursored:
                async for page in cursored:
                    yield page
        except RefinerError as error:
            self._annotate(error)
            raise
        finally:
            await self._drop(list(self._tasks))

    async def first(self) -> Page[T]:
        """The first page alone (no prefetch)."""
        start = self._position or _Position(page=1)
        try:
            page = await self._get(start)
            last = _last_page(page, self._length)
            after = self._after(page, start.page, last)
            if after is not None and after.cursor is not None:
                self._check_cursor(after.cursor, start)
            emitted = self._emit(page, start, after, always=True)
            assert emitted is not None  # always=True
            return emitted
        except RefinerError as error:
            self._annotate(error)
            raise

    async def _by_cursor(
        self, page: Page[T] | None, request: _Position
    ) -> AsyncGenerator[Page[T], None]:
        """Follow next_page_cursor from ``request`` (``page``: its answer, when already read)."""
        if request.cursor is not None:
            self._cursors.add(request.cursor)
        task: _Prefetch | None = None
        empty_run = 0  # pages in a row that brought nothing new
        while True:
            early: tuple[str, _Prefetch] | None = None  # the next page, asked for by a guess
            if page is None and task is not None:
                arrived = await self._arrival(task)
                early = await self._launch_early(arrived, request)
                page = await self._open(arrived)
            elif page is None:
                page = await self._get(request)
            after = self._after(page, None, None)
            cursor = after.cursor if after is not None else None
            if cursor is not None:
                self._check_cursor(cursor, request)
            out = self._emit(page, request, after)
            empty_run = 0 if out is not None and out.items else empty_run + 1
            if empty_run >= MAX_EMPTY_RUN and cursor is not None:
                raise PaginationError(
                    f"{empty_run} pages in a row brought no new item and the server still sends a "
                    "next_page_cursor; stopped instead of following it further"
                )
            task = None
            if cursor is not None and after is not None and not self._finished:
                self._cursors.add(cursor)
                if early is not None and early[0] == cursor:
                    task, early = early[1], None  # the guess was right: already under way
                else:
                    task = self._launch(after)  # read ahead while the consumer works
            if early is not None:
                await self._drop([early[1]])
            if out is not None:
                yield out
            if task is None or after is None:
                return
            page, request = None, after

    async def _launch_early(
        self, arrived: _Arrived, request: _Position
    ) -> tuple[str, _Prefetch] | None:
        """Request the page after an arrived one before opening it, by the cursor its bytes seem to
        carry (the codec's ``next_cursor``), so that its decoding overlaps that request's latency.

        Only while this page cannot end the listing by ``max_items``, and never by a cursor already
        followed. The guess is checked once the page is opened; a wrong one is dropped.
        """
        cursor = self._src._codec.next_cursor(arrived[1])
        if (
            cursor is None
            or cursor == request.cursor
            or cursor in self._cursors
            or (self._remaining is not None and self._remaining <= self._length)
            or not self._may_request()
        ):
            return None
        task = self._launch(_Position(cursor=cursor))
        await asyncio.sleep(0)  # let it go out before the CPU work of opening
        return cursor, task

    def _fill(
        self,
        pending: dict[int, _Prefetch],
        number: int,
        last: int | None,
        width: int,
        *,
        opening: bool = False,
    ) -> None:
        """Request pages ``number``.. up to ``width`` ahead, the last page, and what max_items needs.

        ``opening``: page ``number - 1`` has arrived and is being opened, not handed out yet, so
        max_items still counts its items among those wanted.
        """
        stop = number + width - 1
        if last is not None:
            stop = min(stop, last)
        if self._remaining is not None:
            needed = math.ceil(self._remaining / self._length) - (1 if opening else 0)
            stop = min(stop, number + needed - 1)
        for wanted in range(number, stop + 1):
            if wanted not in pending:
                if not self._may_request():
                    return
                pending[wanted] = self._launch(_Position(page=wanted))

    def _drifted(self, base: Page[T], page: Page[T], number: int, last: int | None) -> bool:
        """Whether numbered ``page`` may not continue ``base`` (the page handed out before it)."""
        if page.items_count != base.items_count or page.last_page != base.last_page:
            return True
        if page.current_page is not None and page.current_page != number:
            return True
        if page.items_count is not None:
            expected: int | None = max(
                0, min(self._length, page.items_count - (number - 1) * self._length)
            )
        else:
            expected = self._length if last is not None and number < last else None
        if expected is not None and len(page.items) != expected:
            return True
        return self._seen.overlaps(self._seen.identities(page.items))

    async def _by_numbers(self, first: Page[T], start: _Position) -> AsyncGenerator[Page[T], None]:
        """Read by page number, concurrently while the offsets hold (see the module docstring)."""
        assert start.page is not None
        length, window = self._length, self._src._window
        pending: dict[int, _Prefetch] = {}
        sequential = False  # True once offsets moved in a list without cursors
        last = _last_page(first, length)
        base = first  # the page read last that the next one is checked against
        number = start.page + 1  # the next page number to hand out
        out = self._emit(first, start, self._after(first, start.page, last))
        try:
            while True:
                width = 1 if sequential or last is None else window
                if not self._finished:  # the window, after the first page or a repair
                    self._fill(pending, number, last, width)
                if out is not None:
                    yield out
                if self._finished:
                    return
                if last is not None and number > last:
                    if self._position is not None and self._position.cursor is not None:
                        self._handoff = self._position  # the server says more follows
                    return
                if number not in pending:
                    pending[number] = self._launch(_Position(page=number))
                arrived = await self._arrival(pending.pop(number))
                if not self._finished and last is not None:  # a request leaves while it opens
                    self._fill(pending, number + 1, last, width, opening=True)
                    await asyncio.sleep(0)  # let it go out before the CPU work of opening
                page = await self._open(arrived)
                _check_figures(base, page, number)
                if sequential:
                    shrink = (base.items_count or 0) - (page.items_count or 0)
                    drift = (
                        base.items_count is not None and page.items_count is not None and shrink > 0
                    )
                else:
                    shrink = abs((base.items_count or 0) - (page.items_count or 0))
                    drift = self._drifted(base, page, number, last)
                if not drift:
                    if sequential:
                        last = _last_page(page, length)
                    held, after = self._position, self._after(page, number, last)
                    if held is not None and held.cursor is not None:
                        origin = held  # the page starts exactly after the last item handed out
                    else:
                        origin = _Position(page=number)
                        if _earlier_page(after, held):
                            after = held  # a re-read page: resume tokens never move back
                    out = self._emit(page, origin, after)
                    base, number = page, number + 1
                    continue
                # The offsets moved: stop trusting them.
                self.stats.repairs += 1
                await self._drop(list(pending.values()))
                pending.clear()
                out = None
                position = self._position
                if position is not None and position.cursor is not None:
                    self._handoff = position  # exactly after the last item handed out
                    return
                if not self._seen.enabled:
                    raise PaginationError(
                        "the list changed during the iteration and its items have no key to "
                        "de-duplicate by; start again or pass resume"
                    )
                back = math.ceil(max(shrink, 1) / length) + (0 if sequential else 1)
                if self._seen.pages_kept is not None:  # keys of older pages are gone
                    back = min(back, self._seen.pages_kept - 1)
                number = max(1, number - back)
                sequential = True
                base = page
                last = _last_page(page, length)
        finally:
            await self._drop(list(pending.values()))


class Paginator(Generic[T]):
    """The result of a list call: iterate items, iterate pages, collect, or await the first page.

    Every item once, in server order, even while other writers insert or delete; pages fetched
    ``window`` at a time when page numbers are used. See the module docstring for the ``"auto"``
    rule, how changes in the data are detected and repaired, the memory bound and the resume tokens.

    Args:
        fetch: ``fetch(params, decode)`` sends one page request with exactly ``params`` and returns
            its answer (``decode=None``: prefetched pages wait undecoded until they are handed out)
            or ``await decode(answer)``.
        codec: opens an answer into a Page, and reads the next cursor an answer seems to carry.
        params: the call's filters, sent with every page request.
        page_length: items per page (1..1000), sent with every page request.
        max_items: stop after this many items in total (None: all).
        mode: ``"pages"``, ``"cursor"`` or ``"auto"``.
        supports_cursor: False for endpoints without ``next_page_cursor`` (forms).
        resume: a token from ``Page.resume_token`` or an error's ``resume_token``.
        window: how many pages may be fetched at once (the client's max_concurrency).
        endpoint: the list endpoint's path, bound into resume tokens.
        key: the identity of an item, for de-duplication (the uuid).
        max_pages: page requests one iteration may send before it raises PaginationError.
        new_items_first: whether new items only ever appear at the start of the order (responses,
            newest first). False when they can land anywhere else or items move within the order
            (sorted by name, by ``last_seen_at``, oldest first): "auto" then reads by cursor.

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
    ) -> None:
        if mode not in _MODES:
            raise InvalidParameterError("pagination", f"must be one of {', '.join(_MODES)}")
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
        self._fetch = fetch
        self._codec = codec
        self._params = {k: v for k, v in params.items() if k not in _PAGING_PARAMS}
        self._page_length = page_length
        self._max_items = max_items
        self._mode = mode
        self._supports_cursor = supports_cursor
        self._window = window
        self._endpoint = endpoint
        self._key = key
        self._max_pages = max_pages
        self._new_items_first = new_items_first
        self._fingerprint = query_fingerprint(endpoint, self._params, page_length)
        self._start = _Position(page=1)
        self._start_items = 0
        if resume is not None:
            self._start, self._start_items = decode_resume_token(
                resume, self._fingerprint, supports_cursor=supports_cursor
            )
        #: Figures of the latest iteration (mode chosen, requests, duplicates dropped, repairs).
        self.stats = PaginationStats()

    async def pages(self) -> AsyncGenerator[Page[T], None]:
        """Pages in server order, each with its ``resume_token``; empty pages are skipped (an
        empty list gives one empty page)."""
        run = _Run(self)
        self.stats = run.stats
        async with aclosing(run.pages()) as pages:
            async for page in pages:
                yield page

    async def __aiter__(self) -> AsyncGenerator[T, None]:
        async with aclosing(self.pages()) as pages:
            async for page in pages:
                for item in page.items:
                    yield item

    async def collect(self) -> list[T]:
        """Every item in a list (respects ``max_items``)."""
        return [item async for item in self]

    async def first_page(self) -> Page[T]:
        """The first page only (with ``max_items`` applied), and nothing fetched ahead."""
        run = _Run(self)
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
        request: dict[str, Any] = {**self._params, "page_length": self._page_length}
        if cursor is not None:
            request["page_cursor"] = _validate.cursor(cursor)
        else:
            request["page"] = 1 if page is None else page
        page_read: Page[T] = await self._fetch(request, self._codec.open)
        return page_read

    def __await__(self) -> Generator[Any, None, Page[T]]:
        return self.first_page().__await__()
