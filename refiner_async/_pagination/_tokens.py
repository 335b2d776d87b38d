"""Resume tokens: where an iteration stands, as an opaque string bound to its list call.

``"r1." + urlsafe base64 (unpadded) of compact JSON``: ``f`` a 16-hex fingerprint of the endpoint,
the filters (everything but ``page``/``page_cursor``) and ``page_length``; ``n`` items yielded before
the named page; then ``c`` (a cursor) or ``p`` (a page number), and ``s`` (items at the start of that
page already yielded, after a ``max_items`` cut). ``"r2."`` names a listing in windows instead: ``f``,
``n`` and ``w``, one ``[start, end, cursor or null, skip]`` per window not read to the end.
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
    "MAX_WINDOWS",
    "PAGING_PARAMS",
    "Position",
    "Window",
    "Windows",
    "decode_resume_token",
    "encode_resume_token",
    "query_fingerprint",
]

TOKEN_PREFIX = "r1."  # resume token format version: one position
WINDOWS_PREFIX = "r2."  # resume token format version: the windows of a listing in windows
MAX_WINDOWS = 64  # windows one listing (and its token) may have
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


@attrs.frozen
class Window:
    """One window of a listing in windows: ``start`` (inclusive) and ``end`` (exclusive) as the API's
    date bounds (None: open), and ``at``, where its next page starts."""

    start: str | None
    end: str | None
    at: Position = Position(page=1)


@attrs.frozen
class Windows:
    """A listing in windows's resume point: the windows not read to the end yet."""

    windows: tuple[Window, ...]


def encode_resume_token(fingerprint: str, position: Position | Windows, items_before: int) -> str:
    """The opaque token naming ``position`` (see the module docstring)."""
    payload: dict[str, Any] = {"f": fingerprint, "n": items_before}
    if isinstance(position, Windows):
        payload["w"] = [
            [w.start, w.end, w.at.cursor, w.at.skip] for w in position.windows
        ]  # a cursor of None: the window's first page
        return _pack(WINDOWS_PREFIX, payload)
    if position.cursor is not None:
        payload["c"] = position.cursor
    else:
        payload["p"] = position.page
    if position.skip:
        payload["s"] = position.skip
    return _pack(TOKEN_PREFIX, payload)


def _pack(prefix: str, payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return prefix + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _cursor(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value) <= MAX_CURSOR_CHARS


def _bound(value: object) -> bool:
    return value is None or (isinstance(value, str) and 0 < len(value) <= 64)


def decode_resume_token(
    token: str, fingerprint: str, *, supports_cursor: bool
) -> tuple[Position | Windows, int]:
    """The position and items-before count of ``token``; PaginationError unless it is ours and fits."""
    prefix = token[:3] if isinstance(token, str) else ""
    if prefix not in (TOKEN_PREFIX, WINDOWS_PREFIX):
        raise PaginationError(
            "resume token is not one this SDK issued (expected an 'r1.' or 'r2.' prefix)"
        )
    if len(token) > MAX_TOKEN_CHARS:
        raise PaginationError("resume token is too long")
    body = token[len(prefix) :]
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, binascii.Error):
        raise PaginationError("resume token is corrupt") from None
    keys = {"f", "n", "w"} if prefix == WINDOWS_PREFIX else {"f", "n", "p", "c", "s"}
    if not isinstance(data, dict) or not set(data) <= keys:
        raise PaginationError("resume token is corrupt")
    if data.get("f") != fingerprint:
        raise PaginationError("resume token belongs to a different list call (endpoint or filters)")
    items_before = data.get("n")
    if not _count(items_before):
        raise PaginationError("resume token is corrupt")
    if prefix == WINDOWS_PREFIX:
        return _read_windows(data.get("w"), supports_cursor), items_before
    skip, page, cursor = data.get("s", 0), data.get("p"), data.get("c")
    if not _count(skip) or (page is None) == (cursor is None):
        raise PaginationError("resume token is corrupt")
    if page is not None and not (_count(page) and page >= 1):
        raise PaginationError("resume token is corrupt")
    if cursor is not None:
        if not supports_cursor:
            raise PaginationError("resume token names a cursor, but this list has no cursors")
        if not _cursor(cursor):
            raise PaginationError("resume token is corrupt")
    return Position(page=page, cursor=cursor, skip=skip), items_before


def _read_windows(windows: object, supports_cursor: bool) -> Windows:
    if not supports_cursor:
        raise PaginationError("resume token names windows, but this list has no cursors")
    if not isinstance(windows, list) or not 0 < len(windows) <= MAX_WINDOWS:
        raise PaginationError("resume token is corrupt")
    out = []
    for window in windows:
        if not isinstance(window, list) or len(window) != 4:
            raise PaginationError("resume token is corrupt")
        start, end, cursor, skip = window
        if not (_bound(start) and _bound(end) and _count(skip)):
            raise PaginationError("resume token is corrupt")
        if cursor is not None and not _cursor(cursor):
            raise PaginationError("resume token is corrupt")
        at = Position(page=1, skip=skip) if cursor is None else Position(cursor=cursor, skip=skip)
        out.append(Window(start, end, at))
    return Windows(tuple(out))
