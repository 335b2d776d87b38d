"""What one converter remembers between calls: shared instances, and its hooks by size.

Every cache belongs to a converter instance (see :class:`HookCaches`), so two converters never
share state and clearing one leaves the others alone.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import cattrs

#: Instances remembered per sharing hook (cleared when full).
INTERNED_SIZE = 4096

#: The instances one sharing hook remembers: the first of their values -> (all their values, the
#: instance). Looked up by the first value alone (a uuid), so that the others are compared, never
#: hashed.
Interned = dict[Any, tuple[tuple[Any, ...], Any]]

#: What a hook that shares its instances exposes to a parent's hook: its value getter, whether it
#: reads one key, and its remembered instances (see ``_codegen._HookBuilder.for_keys``).
Sharing = tuple[Callable[[Any], Any], bool, Interned]


class HookCaches:
    """The caches of one converter's hooks.

    - ``interned``: the instances each sharing hook has built from strings and nulls alone;
    - ``sharing``: a hook for one key set that shares its instances -> what a parent's hook needs to
      look them up itself;
    - ``by_size``: a model's fast hook -> its hooks by number of keys, so that a parent's hook and
      ``structure_page`` can call them directly.

    The two hook maps are weak: they hold no hook alive.
    """

    def __init__(self) -> None:
        self.interned: list[Interned] = []
        self.sharing: weakref.WeakKeyDictionary[Callable[..., Any], Sharing] = (
            weakref.WeakKeyDictionary()
        )
        self.by_size: weakref.WeakKeyDictionary[
            Callable[..., Any], dict[int, Callable[[Any], Any]]
        ] = weakref.WeakKeyDictionary()

    def new_interned(self) -> Interned:
        """An empty instance cache for one sharing hook, cleared with the others."""
        cache: Interned = {}
        self.interned.append(cache)
        return cache

    def clear(self) -> None:
        """Forget the shared instances (the hooks stay)."""
        for cache in self.interned:
            cache.clear()


class CachingConverter(cattrs.Converter):
    """A cattrs converter carrying the :class:`HookCaches` its generated hooks read."""

    def __init__(self, caches: HookCaches, *, detailed_validation: bool) -> None:
        super().__init__(detailed_validation=detailed_validation, forbid_extra_keys=False)
        self.caches = caches


def caches_of(conv: cattrs.Converter) -> HookCaches:
    """The caches of ``conv``'s hooks (new ones for a converter that carries none)."""
    return conv.caches if isinstance(conv, CachingConverter) else HookCaches()
