"""Reading in windows: the query cut into disjoint date windows (the list's date filter, start
inclusive, end exclusive), each read by cursor, several at once.

The cuts come from the list itself: page 1 says how many items match, and one-item probes at even
ranks (``page=r, page_length=1``, in parallel) give the times that split them into windows of
about equal size. Every item matches exactly one window, whatever the cuts, so a wrong guess about
the field the filter compares costs balance, never an item; each window is a keyset read, exact
while other writers insert or delete anywhere. Page 1 itself is read again by the newest window.
Pages are handed out as they arrive (each window's in server order; of pages that arrive together,
the window with the most items left first, so that the windows end together), at most one page
read ahead per window: a window's next page is asked for by the cursor its last page's bytes
carry, before that page is decoded (as when reading by cursor).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import math
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any, TypeVar

import attrs

from .. import _validate
from .._converters import format_timestamp
from ..models.page import Page
from ._iteration import Iteration, Prefetch
from ._spec import Windowing
from ._tokens import MAX_WINDOWS, Position, Window, Windows

__all__ = ["AUTO_PAGES_PER_WINDOW", "ByWindows", "cuts_to_windows"]

T = TypeVar("T")

AUTO_PAGES_PER_WINDOW = 4  # "auto" cuts windows of at least this many pages


def cuts_to_windows(
    cuts: list[datetime], start: datetime | None, end: datetime | None
) -> tuple[Window, ...]:
    """Windows between the ``cuts`` (times, any order), newest first: ``[cut1, ...)``,
    ``[cut2, cut1)``, ... ``[..., cutN)``, the open ends being the query's own bounds (``start``,
    ``end``); cuts outside them and repeats are dropped, at whole seconds (the API's precision)."""
    inside = {
        c.replace(microsecond=0)
        for c in cuts
        if (start is None or c > start) and (end is None or c < end)
    }
    edges: list[datetime | None] = [None, *sorted(inside, reverse=True), None]
    return tuple(
        Window(
            start=None if low is None else format_timestamp(low),
            end=None if high is None else format_timestamp(high),
        )
        for high, low in itertools.pairwise(edges)
    )


class ByWindows(Iteration[T]):
    """An iteration that can read in windows."""

    def _window_count(self, count: int | None) -> int:
        """How many windows to cut ``count`` items into: one per request in flight, each at least
        one page, under ``"auto"`` at least ``AUTO_PAGES_PER_WINDOW`` pages (so that the probes and
        the windows' partial last pages add few requests: under a sixth at 100 pages)."""
        pages = math.ceil((count or 0) / self._length)
        per_window = AUTO_PAGES_PER_WINDOW if self._spec.mode == "auto" else 1
        return min(self._spec.window, MAX_WINDOWS, pages // per_window)

    def _window_params(self, window: Window, at: Position | None = None) -> dict[str, Any]:
        """The request for ``window``'s page at ``at`` (default: where the window stands)."""
        windowing = self._spec.windowing
        assert windowing is not None
        params = self._params(window.at if at is None else at)
        for name, bound in (
            (windowing.start_param, window.start),
            (windowing.end_param, window.end),
        ):
            if bound is not None:  # an open end keeps the query's own bound
                params[name] = bound
        return params

    async def _plan(self, first: Page[T], windowing: Windowing) -> Windows | None:
        """Windows of about equal size for the list page 1 describes (None: no cut found)."""
        count = first.items_count or 0
        self._listing_count = first.items_count
        windows = self._window_count(count)
        ranks = sorted({round(j * count / windows) for j in range(1, windows)} - {0})
        probe = {**self._spec.params, "page_length": 1}
        pages = await asyncio.gather(*(self._get_params({**probe, "page": r}) for r in ranks))
        cuts = [
            moment
            for page in pages
            if page.items and (moment := windowing.stamp(page.items[0])) is not None
        ]
        start, end = (
            None if (given := self._spec.params.get(name)) is None else _validate.when(name, given)
            for name in (windowing.start_param, windowing.end_param)
        )
        found = cuts_to_windows(cuts, start, end)
        return Windows(found) if len(found) > 1 else None

    async def _by_windows(self, state: Windows) -> AsyncGenerator[Page[T], None]:
        """Read every window of ``state`` by cursor, all at once; hand pages out as they arrive."""
        slots: list[Window | None] = list(state.windows)
        self._open_windows = state
        left = [math.inf] * len(slots)  # items each window has still to hand out (inf: unknown)
        pending: dict[Prefetch, int] = {}
        for index, window in enumerate(slots):
            assert window is not None
            pending[self._launch_params(self._window_params(window))] = index
        try:
            while pending:
                done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                task = min(done, key=lambda t: _turn(left, pending[t]))
                index = pending.pop(task)
                window = slots[index]
                assert window is not None
                arrived = await self._arrival(task)
                request = functools.partial(self._window_params, window)
                early = await self._launch_early(arrived, window.at, request)
                page = await self._decode(arrived)
                del arrived, task, done  # decoded: the body goes before the page is handed out
                left[index] = _left_after(page, left[index])
                after = self._after(page, None, None)
                if after is not None and after.cursor is not None:
                    self._check_cursor(after.cursor, window.at)
                    self._cursors.add(after.cursor)
                out = self._emit_window(page, slots, index, after)
                following = slots[index]
                wanted = None if following is None or self._finished else following.at
                next_task = await self._take_early(early, wanted, request)
                if next_task is not None:
                    pending[next_task] = index
                del page  # handed out below: its models are not kept while the next is read
                if out is not None:
                    yield out
                    del out
                if self._finished:
                    return
        finally:
            await self._drop(list(pending))

    def _emit_window(
        self,
        page: Page[T],
        slots: list[Window | None],
        index: int,
        after: Position | None,
        *,
        always: bool = False,
    ) -> Page[T] | None:
        """Accept a page of window ``index`` (see ``_emit``); the window continues at ``after``
        (None: it is done), and the resume point names every window not done."""
        window = slots[index]
        assert window is not None
        out, cut = self._accept(page, window.at.skip)
        if cut < len(page.items):  # max_items ended mid-page: the rest of it comes next
            after = attrs.evolve(window.at, skip=cut)
        slots[index] = None if after is None else attrs.evolve(window, at=after)
        left = tuple(w for w in slots if w is not None)
        self._open_windows = Windows(left) if left else None
        if not left:
            self._finished = True
        if not out and not (always or (self._emitted == 0 and not left)):
            return None
        self._emitted += 1
        return attrs.evolve(
            page,
            items=tuple(out),
            resume_token=self._token(self._open_windows),
            items_count=self._listing_count,  # the listing's, not the window's
            current_page=None,
            last_page=None,
        )


def _turn(left: list[float], index: int) -> tuple[float, int]:
    """Of pages that came together, the one handed out first sorts lowest: the window with the
    most items left (so that windows end together, not one after the other), then the newest."""
    return -left[index], index


def _left_after(page: Page[Any], before: float) -> float:
    """Items a window has left once ``page`` is handed out: the first page read of it counts the
    window's items (all of them: a window resumed midway reads as larger, which only moves its
    turn); later ones take theirs off."""
    if before == math.inf:
        return math.inf if page.items_count is None else page.items_count - len(page.items)
    return before - len(page.items)
