"""The identities of items already read: repeats are dropped, and overlapping pages are seen."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["SeenKeys"]


class SeenKeys:
    """Identities of items already read, to drop repeats and to see pages overlap.

    Keeps the keys of the last ``pages_kept`` pages (None: of every page).
    """

    def __init__(self, key: Callable[[Any], object] | None, pages_kept: int | None) -> None:
        self._key = key
        self.pages_kept = pages_kept
        self._serial = 0  # pages remembered so far
        self._newest: dict[object, int] = {}  # key -> serial of the newest page holding it
        self._pages: deque[tuple[int, list[object]]] = deque()  # (serial, keys), oldest first
        self._shared = False  # True once a key was remembered by two pages
        self._last: tuple[object, list[object]] = ((), [])  # the items last keyed, and their keys
        self.enabled = True  # False once an item has no hashable identity: no de-duplication

    def identities(self, items: tuple[Any, ...]) -> list[object] | None:
        """The keys of ``items`` in order, or None when de-duplication is off (an item without a
        hashable key turns it off for good)."""
        if not self.enabled:
            return None
        if items is self._last[0]:  # the page just checked for drift, now handed out
            return self._last[1]
        idents = list(items) if self._key is None else list(map(self._key, items))
        try:
            hash(tuple(idents))
        except TypeError:
            self.enabled = False
            self._newest.clear()
            self._pages.clear()
            return None
        self._last = (items, idents)
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
