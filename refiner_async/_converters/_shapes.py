"""Which models the converter reads, which keys of a JSON object each model understands, and the
predicate matching a hook to exactly one type."""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from .. import models

#: Every model the converter reads, in dependency order (nested models first).
MODELS: tuple[type, ...] = (
    models.SegmentRef,
    models.ContactAccount,
    models.Contact,
    models.IdentifyResult,
    models.Form,
    models.FormRef,
    models.FormHistoryEntry,
    models.DuplicateFormResult,
    models.ContactRef,
    models.Response,
    models.StoreResponseResult,
    models.Segment,
    models.SyncSegmentResult,
    models.Subscription,
    models.Environment,
    models.AccountInfo,
    models.VerifyResult,
    models.Report,
)

#: Keys read under another name when the preferred one is absent: model -> {field: fallback key}.
FALLBACK_KEYS: Mapping[type, Mapping[str, str]] = {
    models.SyncSegmentResult: {"segment_uuid": "segment_uid"},
}


def keys_of(cl: type) -> tuple[frozenset[str], frozenset[str], dict[str, str]]:
    """The keys ``cl`` reads, the fallback keys it also understands, and its fallback map."""
    known = frozenset(a.name for a in attrs.fields(cl) if a.name != "extra")
    fallbacks = dict(FALLBACK_KEYS.get(cl, {}))
    return known, frozenset(fallbacks.values()), fallbacks


def unknown_keys(
    value: dict[str, Any], known: frozenset[str], aliases: frozenset[str]
) -> dict[str, Any]:
    """The entries of ``value`` that are neither fields nor fallback keys: they go to ``extra``."""
    return {k: v for k, v in value.items() if k not in known and k not in aliases}


def apply_fallbacks(value: dict[str, Any], fallbacks: Mapping[str, str]) -> dict[str, Any]:
    """``value`` with each absent field filled from its fallback key (``value`` itself if none)."""
    missing = {f: value[k] for f, k in fallbacks.items() if f not in value and k in value}
    return {**value, **missing} if missing else value


def without_none(tp: Any) -> Any:
    """``X`` for the field type ``X | None``; any other type as it is."""
    args = typing.get_args(tp)
    if type(None) in args:
        rest = [arg for arg in args if arg is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return tp


def same_type(tp: Any) -> Callable[[Any], bool]:
    """A cattrs predicate matching exactly ``tp``."""

    def predicate(t: Any) -> bool:
        return bool(t == tp)

    return predicate
