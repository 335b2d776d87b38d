"""The one cattrs converter: every wire rule for reading the API's JSON into the attrs models.

What it decides, in one place:

- timestamps: both forms the API uses (``2020-09-02 21:53:33`` and ``2020-09-02T20:44:24.000000Z``),
  with or without fraction, ``Z`` or offset, become aware UTC datetimes; null (and PHP's zero date)
  becomes None. A cache makes repeated timestamp strings cost one dictionary lookup.
- unknown keys: kept on each model's ``extra`` mapping, never an error.
- open enums: values such as a form history ``action`` are plain strings; a new value is never rejected.
- tolerance: ``[]`` where an object is expected (PHP's empty array) reads as an empty mapping, null
  lists read as empty tuples, numeric ids read as strings, integral numbers sent as strings read as ints.
- strictness: anything else that does not fit raises :class:`ResponseValidationError` naming the
  field path, e.g. ``items[3].contact.uuid``.
- the way back (:func:`unstructure`): a model becomes the API's JSON shape again, its ``extra`` keys
  merged back in and timestamps written as ISO-8601 in UTC (``2020-09-02T20:44:24Z``), so that
  ``structure(unstructure(model), type(model)) == model``. The bulk export writes what it returns.

Speed: the converter answering requests (``make_converter()``) registers, for each model, a hook
generated once per class. Objects are told apart by their number of keys; the first of each size
gets a hook of its own that takes every value with one ``itemgetter`` call, checks each inline
(values that already fit pass through untouched: no copies of ``data`` or ``attributes``) and fills
the slots of the new instance directly. Refs read from strings alone (a response's survey, a
contact's account) are shared between the responses that carry them, and a page's distinct
timestamps are parsed together before its items. Only when that fails is the payload structured
again by the detailed variant (``make_converter(detailed=True)``, built on cattrs'
``make_dict_structure_fn`` with detailed validation) to name the failing field.
``benchmarks/decode_cost.py`` measures the cost against ``orjson.loads`` and stock cattrs (about
1-1.2x orjson on a page just decoded, and 0.25x stock cattrs, on 1 KB responses).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import operator
import re
import typing
import weakref
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from . import models
from .errors import ResponseValidationError
from .models._base import EMPTY
from .models.page import Page

__all__ = [
    "Converter",
    "clear_caches",
    "converter",
    "format_timestamp",
    "make_converter",
    "parse_timestamp",
    "structure",
    "structure_page",
    "unstructure",
]

T = TypeVar("T")

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

_PAGE_FIGURES = ("current_page", "last_page", "items_count", "page_length")
MAX_CURSOR_CHARS = 4096  # a longer next_page_cursor is refused as not fitting
_TIMESTAMP_CACHE_SIZE = (
    8192  # distinct timestamp strings remembered (cleared when full): a page holds up to 7,000
)
_ZERO_DATES = frozenset({"", "0000-00-00 00:00:00", "0000-00-00T00:00:00Z", "0000-00-00"})


# --- scalar hooks: each takes (value, type) like every cattrs hook -----------------------------


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def parse_timestamp(text: str) -> datetime:
    """An aware UTC datetime from any ISO-8601 form the API sends (naive values are UTC).

    Raises ValueError for text that is not ISO-8601.
    """
    value = None
    if len(text) == 19:  # 'YYYY-MM-DD HH:MM:SS', the responses' form: naive, so UTC
        # Parsing with an explicit offset is several times faster than .replace(tzinfo=), and a
        # plain try/except costs far less than contextlib.suppress on this hot path.
        try:  # noqa: SIM105
            value = datetime.fromisoformat(text + "+00:00")
        except ValueError:
            pass
    if value is None:
        value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if value.tzinfo is not UTC:
        return value.astimezone(UTC)
    return value


def _read_timestamp(value: Any) -> datetime | None:
    """A timestamp field's JSON value as an aware UTC datetime, or None (null, empty, zero date)."""
    if type(value) is str:
        try:
            if len(value) == 19:  # the responses' naive form: this is the hot path
                return datetime.fromisoformat(value + "+00:00")
            return parse_timestamp(value)
        except ValueError:
            text = value.strip()
            if text in _ZERO_DATES:
                return None  # empty, or PHP's zero date: no timestamp
            try:
                return parse_timestamp(text)
            except ValueError:
                raise ValueError(f"not an ISO-8601 timestamp: {value[:40]!r}") from None
    if value is None:
        return None
    if type(value) in (int, float) and math.isfinite(value):
        return datetime.fromtimestamp(value, UTC)  # epoch seconds
    raise TypeError(f"expected a timestamp string, got {_kind(value)}")


#: Timestamp text -> parsed value, so each distinct string is parsed once (datetimes are immutable).
#: A plain dict, read with one subscript by the generated hooks (a subclass with ``__missing__``
#: would take the interpreter's slower generic path on every read); a miss goes to
#: :func:`_timestamp_or_none`, which parses and remembers. ``None`` maps to None. Holds at most
#: ``_TIMESTAMP_CACHE_SIZE`` strings (cleared when full).
_timestamps: dict[Any, datetime | None] = {None: None}


def _remember_timestamp(value: Any) -> datetime | None:
    """A timestamp value not in the cache, parsed, and remembered when it is a string (a number
    is never remembered: ``1``, ``1.0`` and ``True`` are equal keys)."""
    parsed: datetime | None
    if type(value) is str and len(value) == 19:  # the responses' naive form: the hot path
        try:
            parsed = datetime.fromisoformat(value + "+00:00")
        except ValueError:
            parsed = _read_timestamp(value)
    else:
        parsed = _read_timestamp(value)
    if type(value) is str:
        if len(_timestamps) >= _TIMESTAMP_CACHE_SIZE:
            _timestamps.clear()
            _timestamps[None] = None
        _timestamps[value] = parsed
    return parsed


def _timestamp_fields(cl: type) -> tuple[Callable[[Any], Any], int] | None:
    """An ``itemgetter`` of ``cl``'s top-level optional timestamp fields and their number (None:
    it has none)."""
    model: Any = cl
    names = [a.name for a in attrs.fields(attrs.resolve_types(model)) if a.type == datetime | None]
    return (operator.itemgetter(*names), len(names)) if names else None


def _warm_timestamps(items: list[Any], fields: Callable[[Any], Any], count: int) -> None:
    """Parse a page's distinct naive timestamps at once, before its items are structured.

    ``fields`` reads an item's ``count`` timestamp fields (see :func:`_timestamp_fields`). The
    distinct strings not yet cached, all naive (``YYYY-MM-DD HH:MM:SS``, the responses' form) as a
    rule, are parsed by one C-level ``map`` as UTC and cached, so the hooks find every one of them
    in the cache; when some are of another form, only the ``YYYY-MM-DD HH:MM:SS`` ones are. Anything
    unusual (a missing field, a number, a string that does not parse) is left to the hooks, which
    handle it one value at a time.
    """
    try:
        values = map(fields, items)
        texts = set(itertools.chain.from_iterable(values) if count > 1 else values)
    except (KeyError, TypeError):  # a field missing, an item not an object, an unhashable value
        return
    new = list(texts.difference(_timestamps))  # looks each text up in the cache (None is there)
    if not new or len(new) >= _TIMESTAMP_CACHE_SIZE:
        return
    try:
        parsed = _naive_utc(new)
    except (TypeError, ValueError):  # another form among them: parse only the usual one
        new = [text for text in new if type(text) is str and len(text) == 19]
        try:
            parsed = _naive_utc(new)
        except ValueError:
            return
    if len(_timestamps) + len(new) >= _TIMESTAMP_CACHE_SIZE:
        _timestamps.clear()
        _timestamps[None] = None
    _timestamps.update(zip(new, parsed, strict=True))


def _naive_utc(texts: list[str]) -> list[datetime]:
    """Naive ISO-8601 texts as aware UTC datetimes, in one C-level pass (ValueError: one is not)."""
    return list(map(datetime.fromisoformat, map(operator.add, texts, itertools.repeat("+00:00"))))


def _timestamp_or_none(value: Any, _: Any = None) -> datetime | None:
    try:
        return _timestamps[value]
    except KeyError:
        return _remember_timestamp(value)
    except TypeError:  # unhashable: an array or an object
        return _read_timestamp(value)  # raises TypeError naming what it got


def _timestamp(value: Any, _: Any = None) -> datetime:
    parsed = _timestamp_or_none(value)
    if parsed is None:
        raise TypeError(f"expected a timestamp, got {value!r}")
    return parsed


def _coerce_str(value: Any) -> str:
    if type(value) is int or (type(value) is float and math.isfinite(value)):
        return str(value)  # a numeric id
    raise TypeError(f"expected a string, got {_kind(value)}")


def _str(value: Any, _: Any = None) -> str:
    return value if type(value) is str else _coerce_str(value)


def _str_or_none(value: Any, _: Any = None) -> str | None:
    return value if value is None or type(value) is str else _coerce_str(value)


def _coerce_int(value: Any) -> int:
    if type(value) is float and value.is_integer():
        return int(value)
    if type(value) is str and value.strip().lstrip("-").isdigit():
        return int(value)
    raise TypeError(f"expected an integer, got {_kind(value)}")


def _int(value: Any, _: Any = None) -> int:
    return value if type(value) is int else _coerce_int(value)


def _int_or_none(value: Any, _: Any = None) -> int | None:
    return value if value is None or type(value) is int else _coerce_int(value)


def _coerce_number(value: Any) -> float:
    if type(value) is str:
        try:
            number = float(value)
        except ValueError:
            pass
        else:
            if math.isfinite(number):
                return number
    raise TypeError(f"expected a number, got {_kind(value)}")


def _number_or_none(value: Any, _: Any = None) -> float | None:
    kind = type(value)
    return value if value is None or kind is int or kind is float else _coerce_number(value)


_BOOLS: Mapping[object, bool] = {
    0: False,
    1: True,
    "0": False,
    "1": True,
    "false": False,
    "true": True,
}


def _bool_or_none(value: Any, _: Any = None) -> bool | None:
    if value is None or type(value) is bool:
        return value
    if type(value) in (int, str) and value in _BOOLS:
        return _BOOLS[value]
    raise TypeError(f"expected a boolean, got {_kind(value)}")


def _mapping(value: Any, _: Any = None) -> Mapping[str, Any]:
    if type(value) is dict:
        return value  # passed through: no copy
    if value is None or value == []:
        return EMPTY  # null, or PHP's empty array standing for an empty object
    raise TypeError(f"expected an object, got {_kind(value)}")


def _mapping_or_none(value: Any, _: Any = None) -> Mapping[str, Any] | None:
    if type(value) is dict or value is None:
        return value
    if value == []:
        return EMPTY
    raise TypeError(f"expected an object, got {_kind(value)}")


def _any(value: Any, _: Any = None) -> Any:
    return value


def _str_tuple_or_none(value: Any, _: Any = None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if type(value) is list:
        return tuple([_str(item) for item in value])
    raise TypeError(f"expected an array of strings, got {_kind(value)}")


# --- composite hooks --------------------------------------------------------------------------


def _tuple_hook(
    item_type: type, item_hook: Callable[[Any, Any], Any], *, detailed: bool
) -> Callable[[Any, Any], tuple[Any, ...]]:
    """``tuple[X, ...]`` from a JSON array (null reads as empty); detailed mode notes the index."""

    def fast(value: Any, _: Any = None) -> tuple[Any, ...]:
        if type(value) is list:
            return tuple([item_hook(item, item_type) for item in value])
        if value is None:
            return ()
        raise TypeError(f"expected an array, got {_kind(value)}")

    def detailed_hook(value: Any, _: Any = None) -> tuple[Any, ...]:
        if type(value) is not list:
            return fast(value)
        items = []
        for index, item in enumerate(value):
            try:
                items.append(item_hook(item, item_type))
            except Exception as exc:
                note = IterableValidationNote(f"Structuring item @ index {index}", index, item_type)
                exc.__notes__ = [*getattr(exc, "__notes__", []), note]
                raise IterableValidationError("While structuring an array", [exc], tuple) from None
        return tuple(items)

    return detailed_hook if detailed else fast


def _model_hook(cl: type[T], conv: cattrs.Converter) -> Callable[[Any, Any], T]:
    """The detailed hook for ``cl``: generated by cattrs, keeping unknown keys on ``extra``.

    Used by the detailed converter only, where cattrs' per-attribute notes give the field path.
    """
    generated = make_dict_structure_fn(
        cl,
        conv,
        _cattrs_forbid_extra_keys=False,
        _cattrs_use_linecache=False,
        extra=override(omit=True),
    )
    known, aliases, fallbacks = _keys_of(cl)

    def hook(value: Any, _: Any = None) -> T:
        if type(value) is not dict:
            raise TypeError(f"expected an object, got {_kind(value)}")
        if fallbacks:
            value = _apply_fallbacks(value, fallbacks)
        instance = generated(value, cl)
        if not known.issuperset(value):
            unknown = _unknown(value, known, aliases)
            if unknown:
                # The instance is new and not yet shared: filling ``extra`` here is safe.
                object.__setattr__(instance, "extra", unknown)
        return instance

    return hook


def _keys_of(cl: type) -> tuple[frozenset[str], frozenset[str], dict[str, str]]:
    """The keys ``cl`` reads, the fallback keys it also understands, and its fallback map."""
    known = frozenset(a.name for a in attrs.fields(cl) if a.name != "extra")
    fallbacks = dict(FALLBACK_KEYS.get(cl, {}))
    return known, frozenset(fallbacks.values()), fallbacks


def _unknown(
    value: dict[str, Any], known: frozenset[str], aliases: frozenset[str]
) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k not in known and k not in aliases}


# Inline checks for the fast hooks, by field type: each reads ``v`` and leaves the structured value
# in ``v``. Anything unusual is handed to the same scalar hook the detailed converter uses.
_INLINE: dict[Any, str] = {
    str: "if type(v) is not str: v = _str(v)",
    str | None: "if v is not None and type(v) is not str: v = _str_or_none(v)",
    int: "if type(v) is not int: v = _int(v)",
    int | None: "if v is not None and type(v) is not int: v = _int_or_none(v)",
    float | None: (
        "if v is not None and type(v) is not int and type(v) is not float: v = _number_or_none(v)"
    ),
    bool | None: "if v is not None and type(v) is not bool: v = _bool_or_none(v)",
    # one subscript when the cache has it (always, after a page's warm-up); else parsed here
    datetime | None: (
        "try:\n    v = _ts[v]\nexcept (KeyError, TypeError):\n    v = _timestamp_or_none(v)"
    ),
    Mapping[str, Any]: "if type(v) is not dict: v = _mapping(v)",
    Mapping[str, Any] | None: "if v is not None and type(v) is not dict: v = _mapping_or_none(v)",
    Any: "",
}

#: Field types whose JSON values are scalars: a model reading only these can be shared (interned).
_SCALAR_TYPES = frozenset(
    {str, str | None, int, int | None, float | None, bool | None, datetime | None}
)
MAX_SHAPES = 8  # key sets per model that get a hook of their own
_INTERNED_SIZE = 4096  # instances remembered per interning hook (cleared when full)
_interned_caches: list[dict[tuple[Any, ...], Any]] = []
#: A hook for one key set that shares its instances -> its value getter, whether it reads one key,
#: and its remembered instances, so that a parent's hook can look them up itself.
_SHARING: weakref.WeakKeyDictionary[
    Callable[..., Any], tuple[Callable[[Any], Any], bool, dict[tuple[Any, ...], Any]]
] = weakref.WeakKeyDictionary()
#: A model's fast hook -> its hooks by number of keys, so a parent's hook can call them directly.
_BY_SIZE: weakref.WeakKeyDictionary[Callable[..., Any], dict[int, Callable[[Any], Any]]] = (
    weakref.WeakKeyDictionary()
)


def clear_caches() -> None:
    """Forget remembered timestamps and shared instances (benchmarks use it to time cold pages)."""
    _timestamps.clear()
    _timestamps[None] = None
    for cache in _interned_caches:
        cache.clear()


def _slot_twin(cl: type) -> type | None:
    """A plain (mutable) class with exactly ``cl``'s slots, or None when CPython cannot swap them.

    A fast hook fills a twin instance with ordinary attribute stores, then assigns ``__class__ =
    cl``: CPython allows that between classes with the same base and the same slot layout, and it
    costs far less than one frozen ``__setattr__`` per field. The twin never escapes the hook. Any
    layout the swap refuses (a ``__weakref__`` slot, another base, another interpreter) falls back
    to setting each slot through its descriptor.
    """
    slots = cl.__dict__.get("__slots__")
    if not slots or cl.__bases__ != (object,):
        return None
    twin = type(f"_{cl.__name__}Builder", (object,), {"__slots__": tuple(slots)})
    probe: Any = object.__new__(twin)
    try:
        probe.__class__ = cl
    except TypeError:
        return None
    return twin


def _optional_model(tp: Any) -> type | None:
    """``M`` when ``tp`` is ``M | None`` for one of the models, else None."""
    args = [arg for arg in typing.get_args(tp) if arg is not type(None)]
    if len(args) == 1 and args[0] in MODELS and type(None) in typing.get_args(tp):
        return args[0]  # type: ignore[no-any-return]
    return None


def _indented(code: str, local: str) -> list[str]:
    """Lines of inline ``code`` (see ``_INLINE``) reading ``local`` for ``v``, indented for a hook."""
    return [f"    {line}" for line in re.sub(r"\bv\b", local, code).splitlines()]


class _HookBuilder:
    """Writes the fast hooks of one attrs class: the general one, and one per key set seen.

    The models are plain frozen attrs classes without validators, converters or
    ``__attrs_post_init__``, so a hook builds exactly what ``__init__`` would by filling the slots
    of a twin (see :func:`_slot_twin`), at a fraction of the cost of cattrs' generic hooks.
    """

    def __init__(self, cl: type, conv: cattrs.Converter) -> None:
        model: Any = cl
        self.cl = cl
        self.fields = [a for a in attrs.fields(attrs.resolve_types(model)) if a.name != "extra"]
        for a in self.fields:
            if a.validator is not None or a.converter is not None:
                raise TypeError(
                    f"{cl.__name__}.{a.name}: fast hooks need fields without validators"
                )
        if hasattr(cl, "__attrs_post_init__"):
            raise TypeError(f"{cl.__name__}: fast hooks need classes without __attrs_post_init__")
        self.has_extra = "extra" in attrs.fields_dict(model)
        self.known, aliases, fallbacks = _keys_of(cl)
        self.required = frozenset(a.name for a in self.fields if a.default is attrs.NOTHING)
        self.twin = _slot_twin(cl)
        self.env: dict[str, Any] = {
            "_cl": cl,
            "_twin": self.twin,
            "_new": object.__new__,
            "_EMPTY": EMPTY,
            "_known": self.known,
            "_aliases": aliases,
            "_fallbacks": fallbacks,
            "_unknown": _unknown,
            "_apply_fallbacks": _apply_fallbacks,
            "_kind": _kind,
            "_ts": _timestamps,
            "_timestamp_or_none": _timestamp_or_none,
            "_str": _str,
            "_str_or_none": _str_or_none,
            "_int": _int,
            "_int_or_none": _int_or_none,
            "_number_or_none": _number_or_none,
            "_bool_or_none": _bool_or_none,
            "_mapping": _mapping,
            "_mapping_or_none": _mapping_or_none,
        }
        self.inline: dict[str, str] = {}  # field -> the code structuring ``v`` in place
        self.inline_known: dict[str, str] = {}  # the same for hooks of known key sets
        for a in self.fields:
            code = known_code = _INLINE.get(a.type, "")
            if a.type not in _INLINE:
                target = _optional_model(a.type) or a.type  # ``M | None``: None is checked inline
                nested = conv.get_structure_hook(target)
                self.env[f"_hook_{a.name}"] = nested
                self.env[f"_type_{a.name}"] = target
                code = known_code = f"v = _hook_{a.name}(v, _type_{a.name})"
                if nested in _BY_SIZE:  # a nested model: call its hook for the size directly
                    self.env[f"_sizes_{a.name}"] = _BY_SIZE[nested].get
                    known_code = (
                        f"v = (_sizes_{a.name}(len(v)) or _hook_{a.name})(v) "
                        f"if type(v) is dict else _hook_{a.name}(v, _type_{a.name})"
                    )
                if a.default is None:  # ``M | None``: null, or PHP's empty array, reads as None
                    code, known_code = (
                        f"if v == []: v = None\nif v is not None: {code}",
                        f"if v == []: v = None\nif v is not None: {known_code}",
                    )
            self.inline[a.name] = code
            self.inline_known[a.name] = known_code

    def _store(self, name: str, value: str) -> str:
        if self.twin is not None:
            return f"i.{name} = {value}"
        setter = f"_set_{name}"
        self.env[setter] = self.cl.__dict__[name].__set__  # the slot's descriptor
        return f"{setter}(i, {value})"

    def _compile(self, name: str, lines: list[str], env: dict[str, Any]) -> Any:
        source = "\n".join(lines)
        exec(compile(source, f"<refiner_async fast hook for {self.cl.__name__}>", "exec"), env)
        return env[name]

    def _field_lines(self, name: str) -> list[str]:
        return _indented(self.inline[name], "v")

    def general(self) -> Callable[[Any], Any]:
        """The hook for any object: reads each field by name, keeps unknown keys on ``extra``.

        A required key that is missing raises ``KeyError``; the detailed converter then names it.
        """
        lines = ["def general(o):"]
        if self.env["_fallbacks"]:
            lines.append("    o = _apply_fallbacks(o, _fallbacks)")
        lines += [
            "    g = o.get",
            "    i = _new(_cl)" if self.twin is None else "    i = _new(_twin)",
        ]
        for a in self.fields:
            lines.append(
                f"    v = o[{a.name!r}]" if a.name in self.required else f"    v = g({a.name!r})"
            )
            lines += self._field_lines(a.name)
            lines.append(f"    {self._store(a.name, 'v')}")
        if self.has_extra:
            lines += [
                "    if _known.issuperset(o):",
                f"        {self._store('extra', '_EMPTY')}",
                "    else:",
                f"        {self._store('extra', '_unknown(o, _known, _aliases) or _EMPTY')}",
            ]
        if self.twin is not None:
            lines.append("    i.__class__ = _cl  # the filled twin becomes the frozen model")
        lines.append("    return i")
        return self._compile("general", lines, self.env)  # type: ignore[no-any-return]

    def for_keys(self, o: dict[str, Any]) -> Callable[[Any], Any] | None:
        """A hook for objects with exactly ``keys`` (None when a required field is missing, a
        fallback key stands in for one, or the model keeps no unknown keys and some are there).

        It takes every value with one ``itemgetter`` call; the unknown keys, known in advance, go to
        ``extra``. When the keys are all fields and every one is a scalar, the instances it builds
        from strings and nulls alone are remembered and shared: the models are immutable, and a
        survey or an account recurs on many responses. A nested object of ``o`` that such a hook
        of its model reads is looked up in its instances inline (objects of another size are
        handed to its model's hook).
        """
        keys = tuple(o)
        present = [a for a in self.fields if a.name in keys]
        unknown = [key for key in keys if key not in self.known]
        if not self.required.issubset(keys) or any(key in self.env["_aliases"] for key in keys):
            return None
        if unknown and not self.has_extra:
            return None  # ignoring them would also ignore a known key in their place
        env = dict(self.env)
        names = [f"f{n}" for n in range(len(present) + len(unknown))]
        values = "(_get(o),)" if len(names) == 1 else "_get(o)"  # always a tuple
        if names:
            env["_get"] = operator.itemgetter(*(a.name for a in present), *unknown)
        shared = bool(present) and not unknown and all(a.type in _SCALAR_TYPES for a in present)
        lines = ["def for_keys(o):"]
        if shared:
            cache: dict[tuple[Any, ...], Any] = {}
            _interned_caches.append(cache)
            env["_interned"] = cache
            lines += [
                f"    key = {values}",
                "    i = _interned.get(key)",
                "    if i is not None:",
                "        return i",
                f"    {', '.join(names)}, = key",
                # only strings and nulls are remembered: 1, 1.0 and True are equal keys
                "    text = " + " and ".join(f"({n} is None or type({n}) is str)" for n in names),
            ]
        elif names:
            lines.append(f"    {', '.join(names)}, = {values}")
        lines.append("    i = _new(_cl)" if self.twin is None else "    i = _new(_twin)")
        for a, local in zip(present, names, strict=False):  # then the unknown keys
            shared_lines = self._shared_lines(a, o[a.name], local, env)
            code = self.inline_known[a.name]
            if shared_lines:
                lines += shared_lines
            elif code:
                lines += _indented(code, local)
            lines.append(f"    {self._store(a.name, local)}")
        for a in self.fields:
            if a.name not in keys:
                env[f"_default_{a.name}"] = a.default
                lines.append(f"    {self._store(a.name, f'_default_{a.name}')}")
        if self.has_extra:
            extra = ", ".join(
                f"{key!r}: {local}"
                for key, local in zip(unknown, names[len(present) :], strict=True)
            )
            lines.append(f"    {self._store('extra', '{' + extra + '}' if unknown else '_EMPTY')}")
        if self.twin is not None:
            lines.append("    i.__class__ = _cl  # the filled twin becomes the frozen model")
        if shared:
            lines += [
                "    if text:",
                f"        if len(_interned) >= {_INTERNED_SIZE}:",
                "            _interned.clear()",
                "        _interned[key] = i",
            ]
        lines.append("    return i")
        hook = self._compile("for_keys", lines, env)
        if shared:
            _SHARING[hook] = (env["_get"], len(names) == 1, env["_interned"])
        return hook  # type: ignore[no-any-return]

    def _shared_lines(self, a: Any, value: Any, local: str, env: dict[str, Any]) -> list[str]:
        """Code reading field ``a`` (the nested object ``value`` in the sample) into ``local`` by
        looking its instance up inline, when its model shares instances of that size; else []."""
        nested: Callable[..., Any] | None = self.env.get(f"_hook_{a.name}")
        if type(value) is not dict or nested is None or nested not in _BY_SIZE:
            return []
        with contextlib.suppress(Exception):  # let the nested model learn the size (a misfit: no)
            nested(value, self.env[f"_type_{a.name}"])
        specific = _BY_SIZE[nested].get(len(value))
        sharing = None if specific is None else _SHARING.get(specific)
        if sharing is None:
            return []
        getter, single, cache = sharing
        env[f"_shared_get_{a.name}"], env[f"_shared_{a.name}"] = getter, cache
        key = f"(_shared_get_{a.name}({local}),)" if single else f"_shared_get_{a.name}({local})"
        call = f"_hook_{a.name}({local}, _type_{a.name})"
        otherwise = "elif" if a.default is None else "else"
        return [
            f"    if type({local}) is dict and len({local}) == {len(value)}:",
            f"        {local} = _shared_{a.name}.get({key}) or {call}",
            f"    {otherwise}{f' {local} is not None' if a.default is None else ''}:",
            f"        {local} = {call}",
        ]


def _compile_fast_hook(cl: type[T], conv: cattrs.Converter) -> Callable[[Any, Any], T]:
    """A fast structure hook for the attrs class ``cl``.

    Objects are told apart by their number of keys: the first object of each size gets a hook for
    its keys (:meth:`_HookBuilder.for_keys`), for up to ``MAX_SHAPES`` sizes. Another object of that
    size with other keys makes that hook raise ``KeyError`` and is read by the general hook, as is
    anything else without a hook of its own (an object lacking a required field, one using a
    fallback key, any size beyond the first ``MAX_SHAPES``).
    """
    builder = _HookBuilder(cl, conv)
    general = builder.general()
    by_size: dict[int, Callable[[Any], Any]] = {}

    def learn(o: dict[str, Any]) -> Callable[[Any], Any]:
        specific = builder.for_keys(o) if len(by_size) < MAX_SHAPES else None
        if specific is None:
            return general
        by_size[len(o)] = specific
        return specific

    def hook(o: Any, _: Any = None) -> T:
        if type(o) is not dict:
            raise TypeError(f"expected an object, got {_kind(o)}")
        read = by_size.get(len(o)) or learn(o)
        if read is not general:
            try:
                return read(o)  # type: ignore[no-any-return]
            except KeyError:  # same size, other keys
                pass
        return general(o)  # type: ignore[no-any-return]

    _BY_SIZE[hook] = by_size
    return hook


def _apply_fallbacks(value: dict[str, Any], fallbacks: Mapping[str, str]) -> dict[str, Any]:
    missing = {f: value[k] for f, k in fallbacks.items() if f not in value and k in value}
    return {**value, **missing} if missing else value


def make_converter(*, detailed: bool = False) -> cattrs.Converter:
    """Build the cattrs converter with every hook the models need.

    ``detailed=True`` builds the slower variant whose errors carry the field path (used to explain a
    failure, not to read pages).
    """
    conv = cattrs.Converter(detailed_validation=detailed, forbid_extra_keys=False)
    scalar_hooks: dict[Any, Callable[[Any, Any], Any]] = {
        str: _str,
        str | None: _str_or_none,
        int: _int,
        int | None: _int_or_none,
        float | None: _number_or_none,
        bool | None: _bool_or_none,
        datetime: _timestamp,
        datetime | None: _timestamp_or_none,
        Mapping[str, Any]: _mapping,
        Mapping[str, Any] | None: _mapping_or_none,
        tuple[str, ...] | None: _str_tuple_or_none,
        Any: _any,
    }
    # Simple types first: the generated model hooks look them up when they are built.
    for tp, hook in scalar_hooks.items():
        if isinstance(tp, type):
            conv.register_structure_hook(tp, hook)  # classes go through singledispatch
        else:
            conv.register_structure_hook_func(_is(tp), hook)
    for cl in MODELS:
        hook = _model_hook(cl, conv) if detailed else _compile_fast_hook(cl, conv)
        conv.register_structure_hook(cl, hook)
        conv.register_structure_hook_func(_is(cl | None), _or_none(hook))
        conv.register_structure_hook_func(
            _is(tuple[cl, ...]),  # type: ignore[valid-type]
            _tuple_hook(cl, hook, detailed=detailed),
        )
    _register_unstructure_hooks(conv)
    return conv


# --- the way back: models as the API's JSON ------------------------------------------------------


def format_timestamp(value: datetime) -> str:
    """``value`` as ISO-8601 in UTC with a ``Z``: ``2020-09-02T20:44:24Z`` (naive values are UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    elif value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat()[:-6] + "Z"  # drop "+00:00"


def _register_unstructure_hooks(conv: cattrs.Converter) -> None:
    """Hooks turning each model back into plain JSON values, field names as the API spells them."""
    scalar_hooks: dict[Any, Callable[[Any], Any]] = {
        datetime: format_timestamp,
        datetime | None: lambda v: None if v is None else format_timestamp(v),
        Mapping[str, Any]: dict,  # values came from JSON: a shallow copy is a JSON object
        Mapping[str, Any] | None: lambda v: None if v is None else dict(v),
        tuple[str, ...] | None: lambda v: None if v is None else list(v),
        Any: lambda v: v,
    }
    for tp, hook in scalar_hooks.items():
        conv.register_unstructure_hook_func(_is(tp), hook)
    for cl in MODELS:  # nested models first, so each generated function finds its hooks
        model_hook = _unstructure_model_hook(cl, conv)
        conv.register_unstructure_hook(cl, model_hook)
        conv.register_unstructure_hook_func(_is(cl | None), _unstructure_or_none(model_hook))
        conv.register_unstructure_hook_func(
            _is(tuple[cl, ...]),  # type: ignore[valid-type]
            _unstructure_each(model_hook),
        )


def _unstructure_model_hook(cl: type, conv: cattrs.Converter) -> Callable[[Any], dict[str, Any]]:
    """``cl`` as a dict: every field in declaration order, then the ``extra`` keys it kept."""
    generated: Callable[[Any], dict[str, Any]] = make_dict_unstructure_fn(
        cl, conv, _cattrs_use_linecache=False, extra=override(omit=True)
    )

    def hook(value: Any) -> dict[str, Any]:
        out = generated(value)
        extra = value.extra
        if extra:
            for key, item in extra.items():
                out.setdefault(key, item)  # a known field never yields to an unknown key
        return out

    return hook


def _unstructure_or_none(
    hook: Callable[[Any], dict[str, Any]],
) -> Callable[[Any], dict[str, Any] | None]:
    def optional(value: Any) -> dict[str, Any] | None:
        return None if value is None else hook(value)

    return optional


def _unstructure_each(hook: Callable[[Any], dict[str, Any]]) -> Callable[[Any], list[Any]]:
    def each(values: Any) -> list[Any]:
        return [hook(value) for value in values]

    return each


def _is(tp: Any) -> Callable[[Any], bool]:
    """A cattrs predicate matching exactly ``tp``."""

    def predicate(t: Any) -> bool:
        return bool(t == tp)

    return predicate


def _or_none(hook: Callable[[Any, Any], T]) -> Callable[[Any, Any], T | None]:
    """``hook`` for ``X | None``: null (or PHP's empty array, ``[]``) reads as None."""

    def optional(value: Any, _: Any = None) -> T | None:
        return None if value is None or value == [] else hook(value, None)

    return optional


class Converter:
    """The SDK's converter: the fast cattrs converter, and its detailed variant to name failures."""

    def __init__(self) -> None:
        self.fast = make_converter()
        self.detailed = make_converter(detailed=True)
        self._timestamp_fields: dict[type, tuple[Callable[[Any], Any], int] | None] = {}

    def structure(self, payload: Any, cl: type[T], *, method: str = "", path: str = "") -> T:
        """``payload`` as a ``cl``, or :class:`ResponseValidationError` naming the failing field."""
        try:
            return self.fast.structure(payload, cl)
        except Exception:
            raise self._explain(payload, cl, method, path, "") from None

    def structure_page(
        self, payload: Any, item_type: type[T], *, method: str = "", path: str = ""
    ) -> Page[T]:
        """A list answer ``{"items": [...], "pagination": {...}}`` as a Page of ``item_type``.

        Missing pagination fields read as None; forms send no ``next_page_cursor``. Pagination
        figures must be integers (integral strings accepted) and the cursor a string of at most
        ``MAX_CURSOR_CHARS`` characters.
        """
        if type(payload) is not dict:
            raise _invalid(f"expected an object, got {_kind(payload)}", method, path, "")
        raw_items = payload.get("items")
        if raw_items is None:
            raw_items = []
        if type(raw_items) is not list:
            raise _invalid(f"expected an array, got {_kind(raw_items)}", method, path, "items")
        hook = self.fast.get_structure_hook(item_type)
        if item_type not in self._timestamp_fields:
            self._timestamp_fields[item_type] = _timestamp_fields(item_type)
        fields = self._timestamp_fields[item_type]
        if fields is not None and len(raw_items) > 1:
            _warm_timestamps(raw_items, *fields)
        by_size = _BY_SIZE.get(hook)
        try:
            if by_size is None:
                items = tuple([hook(item, item_type) for item in raw_items])
            elif len(sizes := set(map(len, raw_items))) == 1 and (
                read := by_size.get(sizes.pop())
            ):  # the usual page: every item of one size, read by its hook in one C-level loop
                items = tuple(map(read, raw_items))
            else:  # each item's hook for its size, straight away (see _compile_fast_hook)
                size = by_size.get
                items = tuple(
                    [
                        read(item) if (read := size(len(item))) else hook(item, item_type)
                        for item in raw_items
                    ]
                )
        except Exception:
            try:  # one dispatched by size may have met other keys of that size
                items = tuple([hook(item, item_type) for item in raw_items])
            except Exception:
                raise self._explain_items(raw_items, item_type, method, path) from None
        pagination = payload.get("pagination")
        if pagination is None or pagination == []:
            pagination = {}
        if type(pagination) is not dict:
            raise _invalid(
                f"expected an object, got {_kind(pagination)}", method, path, "pagination"
            )
        figures: dict[str, int | None] = {}
        for name in _PAGE_FIGURES:
            try:
                figures[name] = _int_or_none(pagination.get(name))
            except TypeError as exc:
                raise _invalid(str(exc), method, path, f"pagination.{name}") from None
        cursor = pagination.get("next_page_cursor")
        if cursor is not None:
            if type(cursor) is not str or len(cursor) > MAX_CURSOR_CHARS:
                problem = (
                    f"expected a string, got {_kind(cursor)}"
                    if type(cursor) is not str
                    else f"longer than {MAX_CURSOR_CHARS} characters"
                )
                raise _invalid(problem, method, path, "pagination.next_page_cursor")
            if not cursor:
                cursor = None  # an empty cursor means there is no next page
        return Page(
            items=items,
            current_page=figures["current_page"],
            last_page=figures["last_page"],
            items_count=figures["items_count"],
            page_length=figures["page_length"],
            next_page_cursor=cursor,
        )

    def _explain_items(
        self, raw_items: list[Any], item_type: type[T], method: str, path: str
    ) -> ResponseValidationError:
        hook = self.fast.get_structure_hook(item_type)
        for index, item in enumerate(raw_items):
            try:
                hook(item, item_type)
            except Exception:
                return self._explain(item, item_type, method, path, f"items[{index}]")
        return _invalid("items do not fit", method, path, "items")  # pragma: no cover

    def _explain(
        self, payload: Any, cl: type[T], method: str, path: str, root: str
    ) -> ResponseValidationError:
        try:
            self.detailed.structure(payload, cl)
        except Exception as exc:
            field_path, problem = _first_problem(exc, root)
            return _invalid(problem, method, path, field_path)
        return _invalid("does not fit", method, path, root)  # pragma: no cover


def _first_problem(exc: BaseException, path: str) -> tuple[str, str]:
    """The path and description of the first leaf error under a cattrs validation error."""
    if isinstance(exc, ClassValidationError | IterableValidationError):
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            if isinstance(note, AttributeValidationNote):
                sub_path = f"{path}.{note.name}" if path else note.name
            else:
                sub_path = f"{path}[{note.index!r}]"
            return _first_problem(sub, sub_path)
        if without:
            return _first_problem(without[0], path)
    if isinstance(exc, KeyError):
        return path, "required field missing"
    return path, str(exc) or type(exc).__name__


def _invalid(problem: str, method: str, path: str, field_path: str) -> ResponseValidationError:
    where = field_path or "the response body"
    return ResponseValidationError(
        f"{where}: {problem}", method=method, path=path, field_path=field_path
    )


#: The module-level instance every resource uses.
converter = Converter()


def structure(payload: Any, cl: type[T], *, method: str = "", path: str = "") -> T:
    """Read ``payload`` as a ``cl`` with the module-level converter (see :meth:`Converter.structure`)."""
    return converter.structure(payload, cl, method=method, path=path)


def structure_page(
    payload: Any, item_type: type[T], *, method: str = "", path: str = ""
) -> Page[T]:
    """Read a list answer as a Page (see :meth:`Converter.structure_page`)."""
    return converter.structure_page(payload, item_type, method=method, path=path)


def unstructure(model: Any) -> dict[str, Any]:
    """A model as the API's JSON object: plain dicts, lists and scalars (timestamps as ISO-8601)."""
    out: dict[str, Any] = converter.fast.unstructure(model)
    return out
