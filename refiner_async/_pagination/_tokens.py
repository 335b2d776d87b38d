"""Resume tokens: where an iteration stands, as an opaque string bound to its list call.

``"r1." + urlsafe base64 (unpadded) of compact JSON``: ``f`` a 16-hex fingerprint of the endpoint,
the filters (everything but ``page``/``page_cursor``) and ``page_length``; ``n`` items yielded before
the named page; then ``c`` (a cursor) or ``p`` (a page number), and ``s`` (items at the start of that
page already yielded, after a ``max_items`` cut).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from typing import Any, TypeGuard

import attrs

from ..errors import PaginationError

__all__ = [
    "MAX_CURSOR_CHARS",
    "PAGING_PARAMS",
    "Position",
    "decode_resume_token",
    "encode_resume_token",
    "query_fingerprint",
]

TOKEN_PREFIX = "r1."  # resume token format version
MAX_TOKEN_CHARS = 8192
MAX_CURSOR_CHARS = 2048  # a longer (or non-string, or empty) server cursor is refused
PAGING_PARAMS = frozenset({"page", "page_cursor", "page_length"})


@attrs.frozen
class Position:
    """Where the next page starts: a page number or a cursor, minus ``skip`` items already yielded."""

    page: int | None = None
    cursor: str | None = None
    skip: int = 0


def query_fingerprint(endpoint: str, params: Mapping[str, Any], page_length: int) -> str:
    """A short hash of the list call a resume token belongs to."""
    filters = {name: value for name, value in params.items() if name not in PAGING_PARAMS}
    blob = json.dumps(
        [endpoint, filters, page_length], sort_keys=True, separators=(",", ":"), default=repr
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def encode_resume_token(fingerprint: str, position: Position, items_before: int) -> str:
    """The opaque token naming ``position`` (see the module docstring)."""
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
) -> tuple[Position, int]:
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
    return Position(page=page, cursor=cursor, skip=skip), items_before
