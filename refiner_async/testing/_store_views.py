"""How the emulator's data is listed: cached filtered views, pages, keyset cursors, the envelope.

A filtered listing is a :class:`View`, built once per set of filters and then kept in step with
every write: a write moves the changed item in or out of the cached views (``discard_from`` before
the change, ``place_in`` after). A page is a slice of a sorted sequence, by page number or after a
cursor (a bisect); a cursor is base64url(JSON ``[fingerprint, *sort key of the last item]``), so
one from other filters or another order is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from bisect import bisect_left, bisect_right, insort
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

import orjson

from ._params import bad_request

T = TypeVar("T")
Key = tuple[Any, ...]

_VIEW_CACHE: Final = 64  # filtered views remembered per kind of listing


@dataclass(slots=True)
class ListResult:
    """One page: the items and the ``pagination`` object."""

    items: list[Any]
    pagination: dict[str, Any]


@dataclass(slots=True, eq=False)
class View(Generic[T]):
    """A cached listing: every item that ``match``es, sorted by ``key`` (keys are unique).

    Kept in step one item at a time: an item whose data is about to change is ``discard``ed while
    its key and match are still those it was placed with, and ``place``d again once changed.
    ``reads_contacts``: the view also depends on contact data, which it cannot follow that way.
    """

    match: Callable[[T], bool]
    key: Callable[[T], Key]
    items: list[T]
    reads_contacts: bool = True

    def discard(self, item: T) -> None:
        i = bisect_left(self.items, self.key(item), key=self.key)
        if i < len(self.items) and self.items[i] is item:
            del self.items[i]

    def place(self, item: T) -> None:
        if self.match(item):
            insort(self.items, item, key=self.key)


def discard_from(views: Iterable[View[T]], item: T) -> None:
    """Take ``item`` out of every view, before its data changes."""
    for view in views:
        view.discard(item)


def place_in(views: Iterable[View[T]], item: T) -> None:
    """Put ``item`` back into every view it matches, once its data has changed."""
    for view in views:
        view.place(item)


def remember_view(
    cache: OrderedDict[str, View[T]], name: str, build: Callable[[], View[T]]
) -> View[T]:
    """The view cached as ``name``, built when missing; the least recently used ones are dropped."""
    view = cache.get(name)
    if view is None:
        view = cache[name] = build()
        while len(cache) > _VIEW_CACHE:
            cache.popitem(last=False)
    cache.move_to_end(name)
    return view


@dataclass(slots=True)
class PageRequest:
    """What page a listing asks for: by number, or after a cursor (the cursor wins)."""

    page: int
    page_length: int
    cursor: str | None


def encode_cursor(fingerprint: str, key: Key) -> str:
    """A cursor after ``key``: base64url(JSON ``[fingerprint, *key]``)."""
    raw = orjson.dumps([fingerprint, *key])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, fingerprint: str, shape: tuple[type, ...]) -> Key:
    """The sort key in ``cursor``; 400 when it is not one of ours or belongs to other filters."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise bad_request("Invalid page_cursor") from None
    if (
        not isinstance(value, list)
        or len(value) != len(shape) + 1
        or not all(type(v) is t for v, t in zip(value[1:], shape, strict=True))
    ):
        raise bad_request("Invalid page_cursor")
    if value[0] != fingerprint:
        raise bad_request("page_cursor does not belong to this listing (filters or order changed)")
    return tuple(value[1:])


def fingerprint(*parts: Any) -> str:
    """A short digest of a listing's filters and order, carried in its cursors."""
    return hashlib.sha1(orjson.dumps(parts), usedforsecurity=False).hexdigest()[:12]


def paginate(
    seq: Sequence[T],
    lo: int,
    hi: int,
    key: Callable[[T], Key],
    request: PageRequest,
    *,
    fp: str | None,
    shape: tuple[type, ...] = (),
) -> ListResult:
    """Slice one page out of ``seq[lo:hi]`` by page number or by cursor (the cursor wins)."""
    length = request.page_length
    count = max(0, hi - lo)
    last_page = max(1, -(-count // length))
    if fp is not None and request.cursor is not None:
        after = decode_cursor(request.cursor, fp, shape)
        start = bisect_right(seq, after, lo, hi, key=key)
        current = (start - lo) // length + 1
    else:
        start = lo + (request.page - 1) * length
        current = request.page
    stop = min(start + length, hi)
    items = list(seq[start:stop]) if start < stop else []
    pagination: dict[str, Any] = {
        "items_count": count,
        "current_page": current,
        "last_page": last_page,
        "page_length": length,
    }
    if fp is not None:
        more = bool(items) and stop < hi
        pagination["next_page_cursor"] = encode_cursor(fp, key(items[-1])) if more else None
    return ListResult(items, pagination)


def envelope(item_parts: list[bytes], pagination: dict[str, Any]) -> bytes:
    """A listing's JSON from its items' JSON and its ``pagination`` object."""
    return b"".join(
        (
            b'{"items":[',
            b",".join(item_parts),
            b'],"pagination":',
            orjson.dumps(pagination),
            b"}",
        )
    )
