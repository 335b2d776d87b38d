"""One iteration of a listing: the first page, then the mode ``"auto"`` picks (date windows, page
numbers or cursor), a page-number reading handing over to cursors after a repair. The reasoning is
in ``docs/design/pagination.md``."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import TypeVar

from ..errors import RefinerError
from ..models.page import Page
from ._cursors import ByCursor
from ._numbers import ByNumbers, last_page
from ._tokens import Position, Window
from ._windows import ByWindows

__all__ = ["AUTO_PAGE_NUMBERS_MAX_ITEMS", "Run"]

T = TypeVar("T")

AUTO_PAGE_NUMBERS_MAX_ITEMS = 10_000  # "auto" reads by page number up to this many items


class Run(ByNumbers[T], ByCursor[T], ByWindows[T]):
    """One iteration (each ``pages()`` or ``first_page()`` call starts a fresh one)."""

    def _choose(self, first: Page[T], start: Position) -> str:
        mode = self._spec.mode
        has_cursor = self._spec.supports_cursor and first.next_page_cursor is not None
        from_the_start = start == Position(page=1) and self._items_before == 0
        if mode == "windows":  # cut only a listing read from its start that has more to read
            return "windows" if has_cursor and from_the_start else "cursor"
        if mode != "auto":
            return mode
        count = first.items_count
        whole = self._remaining is None or (count is not None and self._remaining >= count)
        windowed = self._spec.windowing is not None and self._window_count(count) > 1
        if has_cursor and from_the_start and whole and windowed:  # max_items wants the newest
            return "windows"
        large = count is None or count > AUTO_PAGE_NUMBERS_MAX_ITEMS
        offsets_fit = not large and self._spec.window > 1 and self._spec.new_items_first
        return "cursor" if has_cursor and not offsets_fit else "pages"

    # -- the iteration -----------------------------------------------------------------------

    async def pages(self) -> AsyncGenerator[Page[T], None]:
        try:
            if self._remaining == 0:
                return
            reader = await self._reader()
            while reader is not None:
                async with aclosing(reader) as reading:
                    async for page in reading:
                        yield page
                        del page  # handed out: its models are not kept while the next is read
                reader = self._handed_over()
        except RefinerError as error:
            self._annotate(error)
            raise
        finally:
            await self._drop(list(self._tasks))

    async def _reader(self) -> AsyncGenerator[Page[T], None] | None:
        """The pages as the mode chosen reads them (None: nothing to read). Page 1, read here to
        choose, goes to the reader that hands it out (windows read it again)."""
        windows = self._open_windows  # a listing in windows, resumed
        if windows is None:
            if self._position is None:
                return None
            start = self._position
            first: Page[T] | None = None
            mode = "cursor"
            if start.cursor is None:
                first = await self._get(start)
                mode = self._choose(first, start)
            if mode == "windows" and first is not None and self._spec.windowing is not None:
                windows = await self._plan(first, self._spec.windowing)
                mode = "cursor"  # unless cut: no cut found (every item at one time)
        if windows is not None:
            self.stats.mode = "windows"
            return self._by_windows(windows)
        self.stats.mode = mode
        if mode == "pages" and first is not None:
            return self._by_numbers(first, start)
        return self._by_cursor(first, start)

    def _handed_over(self) -> AsyncGenerator[Page[T], None] | None:
        """Once page numbers handed over to cursors, the rest read by cursor; else None."""
        handoff, self._handoff = self._handoff, None
        if handoff is None:
            return None
        self.stats.mode = "cursor"
        return self._by_cursor(None, handoff)

    async def first(self) -> Page[T]:
        """The first page alone (no prefetch)."""
        start = self._position or Position(page=1)
        try:
            if self._open_windows is not None:  # windows resumed: the newest one's next page
                slots: list[Window | None] = list(self._open_windows.windows)
                assert slots[0] is not None
                page = await self._get_params(self._window_params(slots[0]))
                after = self._after(page, None, None)
                if after is not None and after.cursor is not None:
                    self._check_cursor(after.cursor, slots[0].at)
                emitted = self._emit_window(page, slots, 0, after, always=True)
                assert emitted is not None  # always=True
                return emitted
            page = await self._get(start)
            last = last_page(page, self._length)
            after = self._after(page, start.page, last)
            if after is not None and after.cursor is not None:
                self._check_cursor(after.cursor, start)
            emitted = self._emit(page, start, after, always=True)
            assert emitted is not None  # always=True
            return emitted
        except RefinerError as error:
            self._annotate(error)
            raise
