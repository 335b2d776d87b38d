"""Reading by page number: pages fetched ``window`` at a time and handed out in order, each checked
against the one before it; when the offsets moved, the reading is repaired (by cursor where the list
has cursors, else by re-reading from far enough back)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncGenerator
from typing import Any, TypeVar

import attrs

from ..errors import PaginationError
from ..models.page import Page
from ._iteration import Iteration, Prefetch
from ._tokens import Position

__all__ = ["ByNumbers", "last_page"]

T = TypeVar("T")


def last_page(page: Page[Any], page_length: int) -> int | None:
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


def _figures(page: Page[T]) -> Page[T]:
    """``page`` without its items: what the next page is checked against (see ``_drifted``)."""
    return attrs.evolve(page, items=())


def _earlier_page(a: Position | None, b: Position | None) -> bool:
    """Whether both positions are page numbers and ``a`` names an earlier page than ``b``."""
    if a is None or b is None or a.page is None or b.page is None:
        return False
    return a.page < b.page


class ByNumbers(Iteration[T]):
    """An iteration that can read by page number."""

    def _fill(
        self,
        pending: dict[int, Prefetch],
        number: int,
        last: int | None,
        width: int,
        *,
        decoding: bool = False,
    ) -> None:
        """Request pages ``number``.. up to ``width`` ahead, the last page, and what max_items needs.

        ``decoding``: page ``number - 1`` has arrived and is being decoded, not handed out yet, so
        max_items still counts its items among those wanted.
        """
        stop = number + width - 1
        if last is not None:
            stop = min(stop, last)
        if self._remaining is not None:
            needed = math.ceil(self._remaining / self._length) - (1 if decoding else 0)
            stop = min(stop, number + needed - 1)
        for wanted in range(number, stop + 1):
            if wanted not in pending:
                if not self._may_request():
                    return
                pending[wanted] = self._launch(Position(page=wanted))

    def _drifted(self, base: Page[T], page: Page[T], number: int, last: int | None) -> bool:
        """Whether numbered ``page`` may not continue ``base`` (the figures of the page before it)."""
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
        return self._seen.overlaps(self._seen.identities(page.items, keep=True))

    async def _by_numbers(self, first: Page[T], start: Position) -> AsyncGenerator[Page[T], None]:
        """Read by page number, concurrently while the offsets hold (see the module docstring)."""
        assert start.page is not None
        length, window = self._length, self._spec.window
        pending: dict[int, Prefetch] = {}
        sequential = False  # True once offsets moved in a list without cursors
        last = last_page(first, length)
        base = _figures(first)  # of the page read last: the next one is checked against them
        number = start.page + 1  # the next page number to hand out
        out = self._emit(first, start, self._after(first, start.page, last))
        del first  # handed out: its models are not kept while the next page is read
        try:
            while True:
                width = 1 if sequential or last is None else window
                if not self._finished:  # the window, after the first page or a repair
                    self._fill(pending, number, last, width)
                if out is not None:
                    yield out
                    out = None
                if self._finished:
                    return
                if last is not None and number > last:
                    if self._position is not None and self._position.cursor is not None:
                        self._handoff = self._position  # the server says more follows
                    return
                if number not in pending:
                    pending[number] = self._launch(Position(page=number))
                arrived = await self._arrival(pending.pop(number))
                if not self._finished and last is not None:  # a request leaves while it opens
                    self._fill(pending, number + 1, last, width, decoding=True)
                    await asyncio.sleep(0)  # let it go out before the CPU work of decoding
                page = await self._decode(arrived)
                del arrived  # decoded: the body goes before the page is handed out
                _check_figures(base, page, number)
                if sequential:
                    shrink = (base.items_count or 0) - (page.items_count or 0)
                    drift = (
                        base.items_count is not None and page.items_count is not None and shrink > 0
                    )
                else:
                    shrink = abs((base.items_count or 0) - (page.items_count or 0))
                    drift = self._drifted(base, page, number, last)
                base = _figures(page)  # what the page after this one is checked against
                if not drift:
                    if sequential:
                        last = last_page(page, length)
                    held, after = self._position, self._after(page, number, last)
                    if held is not None and held.cursor is not None:
                        origin = held  # the page starts exactly after the last item handed out
                    else:
                        origin = Position(page=number)
                        if _earlier_page(after, held):
                            after = held  # a re-read page: resume tokens never move back
                    out = self._emit(page, origin, after)
                    number += 1
                    del page
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
                last = last_page(page, length)
                del page
        finally:
            await self._drop(list(pending.values()))
