"""The pagination engine: a list call's items, pages and resume tokens, each item exactly once while
the data changes, pages read concurrently where that is safe.

- :mod:`._paginator`: ``Paginator``, what a list call returns;
- :mod:`._spec`: what it is given (one ``fetch``, a ``PageCodec``, the call's settings);
- :mod:`._run`: one iteration: :mod:`._iteration` (its state, requests and hand-out) read
  :mod:`._numbers` (by page number, drift checks and repairs) or :mod:`._cursors` (by cursor);
- :mod:`._tokens`: positions and resume tokens; :mod:`._keys`: the identities already read.

How and why it reads as it does: ``docs/design/pagination.md``.
"""

from .._types import PaginationMode
from ._cursors import MAX_EMPTY_RUN
from ._iteration import PaginationStats
from ._keys import SeenKeys
from ._paginator import DEFAULT_MAX_PAGES, Paginator
from ._run import AUTO_PAGE_NUMBERS_MAX_ITEMS
from ._spec import Fetch, PageCodec, Windowing
from ._tokens import MAX_CURSOR_CHARS, decode_resume_token, encode_resume_token, query_fingerprint

__all__ = [
    "AUTO_PAGE_NUMBERS_MAX_ITEMS",
    "DEFAULT_MAX_PAGES",
    "MAX_CURSOR_CHARS",
    "MAX_EMPTY_RUN",
    "Fetch",
    "PageCodec",
    "PaginationMode",
    "PaginationStats",
    "Paginator",
    "SeenKeys",
    "Windowing",
    "decode_resume_token",
    "encode_resume_token",
    "query_fingerprint",
]
