"""One page of a list call."""

from __future__ import annotations

from typing import Generic, TypeVar

import attrs

T = TypeVar("T")

__all__ = ["Page"]


@attrs.frozen
class Page(Generic[T]):
    """One page of a list endpoint, as yielded by ``Paginator.pages()``.

    ``items_count``, ``current_page`` and ``last_page`` are the server's pagination figures (None when
    the server did not send them); ``next_page_cursor`` is None on the last page and for forms.
    Pages read in date windows carry the whole listing's ``items_count`` as its first page gave it
    (None after a resume) and no page numbers.
    ``resume_token`` names where the next page starts: pass it as ``list(..., resume=token)`` to
    continue from there (None when no page follows).
    """

    items: tuple[T, ...]
    current_page: int | None = None
    last_page: int | None = None
    items_count: int | None = None
    page_length: int | None = None
    next_page_cursor: str | None = None
    resume_token: str | None = None
