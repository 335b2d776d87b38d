"""Reading by cursor: follow ``next_page_cursor`` one page at a time, the next page requested by
the cursor a reply's bytes carry before the page is decoded."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TypeVar

from ..errors import PaginationError
from ..models.page import Page
from ._iteration import Iteration, Prefetch
from ._tokens import Position

__all__ = ["MAX_EMPTY_RUN", "ByCursor"]

T = TypeVar("T")

MAX_EMPTY_RUN = 5  # cursor pages in a row with nothing new before PaginationError


class ByCursor(Iteration[T]):
    """An iteration that can read by cursor."""

    async def _by_cursor(
        self, page: Page[T] | None, request: Position
    ) -> AsyncGenerator[Page[T], None]:
        """Follow next_page_cursor from ``request`` (``page``: its reply, when already read)."""
        if request.cursor is not None:
            self._cursors.add(request.cursor)
        task: Prefetch | None = None
        empty_run = 0  # pages in a row that brought nothing new
        while True:
            early: tuple[str, Prefetch] | None = None  # the next page, asked for by a guess
            if page is None and task is not None:
                arrived = await self._arrival(task)
                early = await self._launch_early(arrived, request, self._params)
                page = await self._decode(arrived)
                del arrived  # decoded: the body goes before the page is handed out
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
            wanted = None  # the next page, read ahead while the consumer works
            if cursor is not None and not self._finished:
                self._cursors.add(cursor)
                wanted = after
            task = await self._take_early(early, wanted, self._params)
            if out is not None:
                yield out
                del out  # handed out: its models are not kept while the next page is read
            if task is None or after is None:
                return
            page, request = None, after
