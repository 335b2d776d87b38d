"""The identities of items already read: repeats are dropped, and overlapping pages are seen."""

from __future__ import annotations

import operator
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["Identify", "SeenKeys", "by_key", "uuid_of", "uuids"]

#: The identities of a page's items, in order.
Identify = Callable[[Sequence[Any]], list[object]]

_UUID = operator.itemgetter("uuid")
_STRINGS = frozenset({str})


def by_key(key: Callable[[Any], object]) -> Identify:
    """The identities of a page's items: ``key`` applied to each."""
    return lambda items: list(map(key, items))


def uuid_of(item: dict[str, Any]) -> object:
    """A plain object's identity: its ``uuid``, else one that matches nothing else."""
    uuid = item.get("uuid")
    return uuid if isinstance(uuid, str) else object()


def uuids(items: Sequence[dict[str, Any]]) -> list[object]:
    """The identities of plain objects, as :func:`uuid_of` gives them: read in one C-level pass
    when every object has a string ``uuid`` (as a rule), else one object at a time."""
    try:
        idents = list(map(_UUID, items))
    except KeyError:
        return list(map(uuid_of, items))
    return idents if set(map(type, idents)) <= _STRINGS else list(map(uuid_of, items))


class SeenKeys:
    """Identities of items already read, to drop repeats and to see pages overlap.

    Keeps the keys of the last ``pages_kept`` pages (None: of every page).
    """

    def __init__(self, identify: Identify | None, pages_kept: int | None) -> None:
        self._identify = identify
        self.pages_kept = pages_kept
        self._serial = 0  # pages remembered so far
        self._newest: dict[object, int] = {}  # key -> serial of the newest page holding it
        self._pages: deque[tuple[int, list[object]]] = deque()  # (serial, keys), oldest first
        self._shared = False  # True once a key was remembered by two pages
        self._kept: tuple[object, list[object]] = ((), [])  # a page kept keyed, and its keys
        self.enabled = True  # False once an item has no hashable identity: no de-duplication

    def identities(self, items: tuple[Any, ...], *, keep: bool = False) -> list[object] | None:
        """The keys of ``items`` in order, or None when de-duplication is off (an item without a
        hashable key turns it off for good). ``keep``: the next call takes them if it is for the
        same items (a page checked for drift, then handed out); nothing else holds on to a page."""
        if not self.enabled:
            return None
        (kept, kept_keys), self._kept = self._kept, ((), [])
        if items is kept:
            return kept_keys
        idents = list(items) if self._identify is None else self._identify(items)
        try:
            hash(tuple(idents))
        except TypeError:
            self.enabled = False
            self._newest.clear()
            self._pages.clear()
            return None
        if keep:
            self._kept = (items, idents)
        return idents

    def __contains__(self, ident: object) -> bool:
        return ident in self._newest

    def overlaps(self, idents: list[object] | None) -> bool:
        """Whether any of ``idents`` was read before."""
        return idents is not None and not self._newest.keys().isdisjoint(idents)

    def remember(self, idents: list[object], *, new: bool = False) -> None:
        """Remember a page's keys; ``new``: the caller saw that none of them is remembered yet."""
        self._serial += 1
        self._shared = self._shared or not new
        self._newest.update(dict.fromkeys(idents, self._serial))
        if self.pages_kept is None:
            return
        self._pages.append((self._serial, idents))
        while len(self._pages) > self.pages_kept:
            serial, old = self._pages.popleft()
            if self._shared:  # forget only the keys no newer page holds
                newest = self._newest
                for ident in old:
                    if newest.get(ident) == serial:
                        del newest[ident]
            else:  # every key is held by its one page
                deque(map(self._newest.pop, old), maxlen=0)
