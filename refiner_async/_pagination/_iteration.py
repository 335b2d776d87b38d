"""The state one iteration of a listing keeps, how it requests pages and how it hands them out:
repeats dropped by key, ``max_items`` applied, the resume point advanced."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import attrs

from ..errors import PaginationError, RefinerError, ResponseDecodeError, ResponseValidationError
from ..models.page import Page
from ._keys import SeenKeys
from ._spec import Spec
from ._tokens import MAX_CURSOR_CHARS, Position, Windows, encode_resume_token

__all__ = ["Iteration", "PaginationStats", "Prefetch"]

T = TypeVar("T")

#: A reply arrived and not decoded yet, with its request's parameters.
Arrived = tuple[dict[str, Any], Any]
#: A prefetch under way.
Prefetch = asyncio.Task[Arrived]


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


def _mark_retrieved(task: asyncio.Task[Any]) -> None:
    """Done callback: a failed prefetch that is dropped must not log 'exception never retrieved'."""
    if not task.cancelled():
        task.exception()


class Iteration(Generic[T]):
    """The state of one iteration of a Paginator (each ``pages()`` call starts a fresh one): its
    requests, and how pages are accepted and handed out. The reading strategies build on it."""

    def __init__(self, spec: Spec[T]) -> None:
        self._spec = spec
        self._length = spec.page_length
        start = spec.start
        # where the next page starts (None: done), or the windows of a listing in windows
        self._position: Position | None = start if isinstance(start, Position) else None
        self._open_windows: Windows | None = start if isinstance(start, Windows) else None
        self._listing_count: int | None = None  # items in the whole listing, when read in windows
        self._items_before = spec.start_items  # items yielded by earlier iterations (resume)
        self._yielded = 0  # items yielded by this iteration
        self._remaining = spec.max_items  # items still wanted (None: all)
        self._finished = False  # max_items reached or the end seen: request nothing more
        self._emitted = 0  # pages handed out
        self._requests = 0
        pages_kept = spec.window + 2 if spec.supports_cursor else None
        self._seen = SeenKeys(spec.identify, pages_kept)
        self._cursors: set[str] = set()  # cursors requested by this iteration, for cycle detection
        self._tasks: set[Prefetch] = set()  # prefetches not yet taken
        self._handoff: Position | None = None  # set when page-number reading hands over to cursors
        self.stats = PaginationStats()

    # -- requests ----------------------------------------------------------------------------

    def _params(self, position: Position) -> dict[str, Any]:
        if position.cursor is not None:
            paging: dict[str, Any] = {"page_cursor": position.cursor}
        else:
            paging = {"page": position.page}
        return {**self._spec.params, **paging, "page_length": self._length}

    def _may_request(self) -> bool:
        return self._requests < self._spec.max_pages

    def _count_request(self) -> None:
        if not self._may_request():
            raise PaginationError(f"stopped after {self._requests} page requests (max_pages)")
        self._requests += 1
        self.stats.requests += 1

    async def _get(self, position: Position) -> Page[T]:
        return await self._get_params(self._params(position))

    async def _get_params(self, params: dict[str, Any]) -> Page[T]:
        self._count_request()
        return await self._fetch_page(params)

    async def _fetch_page(self, params: dict[str, Any]) -> Page[T]:
        page: Page[T] = await self._spec.fetch(params, self._spec.codec.decode)
        return page

    def _launch(self, position: Position) -> Prefetch:
        return self._launch_params(self._params(position))

    def _launch_params(self, params: dict[str, Any]) -> Prefetch:
        self._count_request()
        task = asyncio.create_task(self._call(params))
        task.add_done_callback(_mark_retrieved)
        self._tasks.add(task)
        return task

    async def _call(self, params: dict[str, Any]) -> Arrived:
        return params, await self._spec.fetch(params, None)

    async def _arrival(self, task: Prefetch) -> Arrived:
        """A prefetch's reply, not decoded yet: its request's parameters and the reply."""
        if task.done():
            # Give the loop a turn between pages that arrived together, so that other tasks
            # (and the prefetches' own reads) run between two pages' worth of consumer work.
            await asyncio.sleep(0)
        arrived = await task  # on failure the task stays in _tasks; the cleanup waits for it
        self._tasks.discard(task)
        return arrived

    async def _launch_early(
        self,
        arrived: Arrived,
        request: Position,
        params: Callable[[Position], dict[str, Any]],
    ) -> tuple[str, Prefetch] | None:
        """Request the page after an arrived one before decoding it, by the cursor its bytes seem to
        carry (the codec's ``next_cursor``; ``params`` gives the request for that cursor), so that
        its decoding overlaps that request's latency.

        Only while this page cannot end the listing by ``max_items``, and never by a cursor already
        followed. The guess is checked once the page is decoded; a wrong one is dropped.
        """
        cursor = self._spec.codec.next_cursor(arrived[1])
        if (
            cursor is None
            or cursor == request.cursor
            or cursor in self._cursors
            or (self._remaining is not None and self._remaining <= self._length)
            or not self._may_request()
        ):
            return None
        task = self._launch_params(params(Position(cursor=cursor)))
        await asyncio.sleep(0)  # let it go out before the CPU work of decoding
        return cursor, task

    async def _take_early(
        self,
        early: tuple[str, Prefetch] | None,
        wanted: Position | None,
        params: Callable[[Position], dict[str, Any]],
    ) -> Prefetch | None:
        """The request for the page at ``wanted`` (None: no page is wanted): the early one of
        :meth:`_launch_early` when it guessed that page, else a new one for ``params(wanted)``; an
        early request that guessed wrong, or that nothing wants, is dropped."""
        if early is not None:
            if wanted == Position(cursor=early[0]):
                return early[1]  # the guess was right: already under way
            await self._drop([early[1]])
        return None if wanted is None else self._launch_params(params(wanted))

    async def _decode(self, arrived: Arrived) -> Page[T]:
        """A prefetched page, decoded now: decoded and structured just before it is handed out, so
        that the pages waiting meanwhile are bytes (no objects for the collector to traverse, less
        memory) and the one handed out is fresh in the CPU's caches. A body that turns out not to
        be JSON, or not a list envelope, is fetched again, with the retries every request has."""
        params, reply = arrived
        try:
            page: Page[T] = await self._spec.codec.decode(reply)
            return page
        except (ResponseDecodeError, ResponseValidationError):
            self._count_request()
            self.stats.refetched += 1
            return await self._fetch_page(params)

    async def _drop(self, tasks: list[Prefetch]) -> None:
        """Cancel prefetches and wait until they have ended (their results are discarded)."""
        for task in tasks:
            self._tasks.discard(task)
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    # -- handing pages out -------------------------------------------------------------------

    def _token(self, position: Position | Windows | None) -> str | None:
        if position is None:
            return None
        return encode_resume_token(
            self._spec.fingerprint, position, self._items_before + self._yielded
        )

    def _annotate(self, error: RefinerError) -> None:
        """Tell an error that ends the iteration where to resume and how many items came out."""
        error.resume_token = self._token(self._open_windows or self._position)
        error.items_yielded = self._yielded

    def _emit(
        self, page: Page[T], start: Position, after: Position | None, *, always: bool = False
    ) -> Page[T] | None:
        """Accept a page: drop repeats, apply ``start.skip`` and ``max_items``, advance the resume
        point to ``after``. Returns the page to hand out, or None when nothing in it is new."""
        out, cut = self._accept(page, start.skip)
        if cut < len(page.items):  # max_items ended mid-page: the rest of this page comes next
            after = attrs.evolve(start, skip=cut)
        if after is None:
            self._finished = True
        self._position = after
        if not out and not (always or (self._emitted == 0 and after is None)):
            return None
        self._emitted += 1
        return attrs.evolve(page, items=tuple(out), resume_token=self._token(after))

    def _accept(self, page: Page[T], skip: int) -> tuple[Sequence[T], int]:
        """The items of ``page`` to hand out, and where ``max_items`` cut it (its length when it
        did not): repeats dropped, the first ``skip`` items (yielded before the resume point)
        remembered but not repeated. Counts what goes out."""
        items = page.items
        keys = self._seen.identities(items)
        cut = len(items)
        whole = not skip and (self._remaining is None or self._remaining >= cut)
        if whole and (keys is None or (len(set(keys)) == cut and not self._seen.overlaps(keys))):
            out: Sequence[T] = items  # the usual page: every item new, nothing cut
            idents, new = keys or [], True
        else:
            out, idents, cut = self._select(items, keys, skip)
            new = False
        self._seen.remember(idents, new=new)
        self._yielded += len(out)
        self.stats.items += len(out)
        if self._remaining is not None:
            self._remaining -= len(out)
            if self._remaining <= 0:
                self._finished = True
        return out, cut

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

    def _after(self, page: Page[T], number: int | None, last: int | None) -> Position | None:
        """Where reading continues after ``page`` (read as page ``number``, None: by cursor)."""
        cursor = page.next_page_cursor
        if self._spec.supports_cursor and cursor is not None:
            if not isinstance(cursor, str) or not 0 < len(cursor) <= MAX_CURSOR_CHARS:
                raise PaginationError("the server sent an invalid next_page_cursor")
            return Position(cursor=cursor)
        if number is None:
            return None
        if last is not None:
            return Position(page=number + 1) if number < last else None
        return Position(page=number + 1) if len(page.items) >= self._length else None

    def _check_cursor(self, cursor: str, request: Position) -> None:
        """Refuse a cursor that repeats the one just used or any earlier one (a cycle)."""
        if cursor == request.cursor:
            raise PaginationError("the server sent the same next_page_cursor again")
        if cursor in self._cursors:
            raise PaginationError("the server's cursors lead back to an earlier page (a cycle)")
