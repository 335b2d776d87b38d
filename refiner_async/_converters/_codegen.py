"""The code generator: fast structure hooks written and compiled once per model class.

Objects are told apart by their number of keys; the first of each size gets a hook of its own that
takes every value with one ``itemgetter`` call, checks each inline (values that already fit pass
through untouched) and fills the slots of the new instance directly. Refs read from strings alone
(a response's survey, a contact's account) are shared between the objects that carry them. Each
generated function's source is registered in :mod:`linecache` under a name of its own, so that a
traceback through it shows the generated line.
"""

from __future__ import annotations

import contextlib
import itertools
import linecache
import operator
import re
import weakref
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import attrs
import cattrs

from ..models._base import EMPTY
from . import _scalars, _timestamps
from ._caches import INTERNED_SIZE, HookCaches, caches_of
from ._shapes import MODELS, apply_fallbacks, keys_of, unknown_keys, without_none

T = TypeVar("T")

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
    # the responses' naive form (``YYYY-MM-DD HH:MM:SS``, UTC) parsed here; any other to the hook
    datetime | None: (
        "if v is not None:\n"
        "    try:\n"
        "        v = _fromisoformat(v + '+00:00') if len(v) == 19 else _timestamp_or_none(v)\n"
        "    except (TypeError, ValueError):\n"
        "        v = _timestamp_or_none(v)"
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
_SOURCE_NUMBERS = itertools.count(1)  # makes each generated function's file name unique


def register_source(source: str, what: str) -> str:
    """Register generated ``source`` in :mod:`linecache` under a new unique file name, returned.

    As cattrs does for its generated functions: the entry has no modification time, so
    ``linecache.checkcache`` keeps it, and tracebacks and debuggers show the generated lines.
    """
    filename = f"<refiner_async generated {what} #{next(_SOURCE_NUMBERS)}>"
    lines = source.splitlines(keepends=True)
    linecache.cache[filename] = (len(source), None, lines, filename)
    return filename


def slot_twin(cl: type) -> type | None:
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
    base = without_none(tp)
    return base if base is not tp and base in MODELS else None


def _timestamp_lines(code: str, local: str, earlier: list[str]) -> list[str]:
    """Lines reading the timestamp in ``local`` with ``code`` (see ``_INLINE``), keeping its text in
    ``t{local}``. A text equal to one of the timestamp fields read before it (``earlier``, the
    latest first) takes that one's datetime, parsed once: a response's first and last shown times,
    or its first data, completion and receipt, are often one instant."""
    read = _indented(code, local)
    if not earlier:
        return [f"    t{local} = {local}", *read]
    return [
        f"    t{local} = {local}",
        f"    if type({local}) is not str:",
        *(f"    {line}" for line in read),
        *(f"    elif {local} == t{e}:\n        {local} = {e}" for e in earlier),
        "    else:",
        *(f"    {line}" for line in read),
    ]


def _remembered(cache: str, key: str) -> str:
    """The condition under which a sharing hook's ``cache`` holds an instance for the value tuple
    ``key``, left in ``known[1]`` (see ``_caches.Interned``): found by the first value, taken when
    all the values are equal."""
    return f"(known := {cache}.get({key}[0])) is not None and known[0] == {key}"


def _indented(code: str, local: str) -> list[str]:
    """Lines of inline ``code`` (see ``_INLINE``) reading ``local`` for ``v``, indented for a hook."""
    return [f"    {line}" for line in re.sub(r"\bv\b", local, code).splitlines()]


class _HookBuilder:
    """Writes the fast hooks of one attrs class: the general one, and one per key set seen.

    The models are plain frozen attrs classes without validators, converters or
    ``__attrs_post_init__``, so a hook builds exactly what ``__init__`` would by filling the slots
    of a twin (see :func:`slot_twin`), at a fraction of the cost of cattrs' generic hooks.
    """

    def __init__(self, cl: type, conv: cattrs.Converter, caches: HookCaches) -> None:
        model: Any = cl
        self.cl = cl
        self.caches = caches
        self.fields = [a for a in attrs.fields(attrs.resolve_types(model)) if a.name != "extra"]
        for a in self.fields:
            if a.validator is not None or a.converter is not None:
                raise TypeError(
                    f"{cl.__name__}.{a.name}: fast hooks need fields without validators"
                )
        if hasattr(cl, "__attrs_post_init__"):
            raise TypeError(f"{cl.__name__}: fast hooks need classes without __attrs_post_init__")
        self.has_extra = "extra" in attrs.fields_dict(model)
        self.known, aliases, fallbacks = keys_of(cl)
        self.required = frozenset(a.name for a in self.fields if a.default is attrs.NOTHING)
        self.twin = slot_twin(cl)
        self.env: dict[str, Any] = {
            "_cl": cl,
            "_twin": self.twin,
            "_new": object.__new__,
            "_EMPTY": EMPTY,
            "_known": self.known,
            "_aliases": aliases,
            "_fallbacks": fallbacks,
            "_unknown": unknown_keys,
            "_apply_fallbacks": apply_fallbacks,
            "_kind": _scalars.kind,
            "_fromisoformat": datetime.fromisoformat,
            "_timestamp_or_none": _timestamps.read_timestamp,
            "_str": _scalars.str_,
            "_str_or_none": _scalars.str_or_none,
            "_int": _scalars.int_,
            "_int_or_none": _scalars.int_or_none,
            "_number_or_none": _scalars.number_or_none,
            "_bool_or_none": _scalars.bool_or_none,
            "_mapping": _scalars.mapping,
            "_mapping_or_none": _scalars.mapping_or_none,
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
                call = f"v = _hook_{a.name}(v, _type_{a.name})"
                optional = a.default is None  # null, or PHP's empty array, reads as None
                code = known_code = (
                    f"if v == []: v = None\nif v is not None: {call}" if optional else call
                )
                if nested in caches.by_size:  # a nested model: its object (the usual value) first,
                    # read by its hook for the object's size
                    self.env[f"_sizes_{a.name}"] = caches.by_size[nested].get
                    sized = f"v = (_sizes_{a.name}(len(v)) or _hook_{a.name})(v)"
                    rest = f"elif v == []: v = None\nelif v is not None: {call}"
                    known_code = (
                        f"if type(v) is dict: {sized}\n{rest if optional else f'else: {call}'}"
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
        source = "\n".join(lines) + "\n"
        filename = register_source(source, f"hook {self.cl.__name__}.{name}")
        exec(compile(source, filename, "exec"), env)
        function = env[name]
        # the source goes with the function: many converters leave no lines behind
        weakref.finalize(function, linecache.cache.pop, filename, None).atexit = False
        return function

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
            cache = self.caches.new_interned()
            env["_interned"] = cache
            lines += [
                f"    key = {values}",
                f"    if {_remembered('_interned', 'key')}:",
                "        return known[1]",
                f"    {', '.join(names)}, = key",
                # only strings and nulls are remembered: 1, 1.0 and True are equal keys
                "    text = " + " and ".join(f"({n} is None or type({n}) is str)" for n in names),
            ]
        elif names:
            lines.append(f"    {', '.join(names)}, = {values}")
        lines.append("    i = _new(_cl)" if self.twin is None else "    i = _new(_twin)")
        earlier: list[str] = []  # the locals of the timestamp fields read so far, latest first
        for a, local in zip(present, names, strict=False):  # then the unknown keys
            shared_lines = self._shared_lines(a, o[a.name], local, env)
            code = self.inline_known[a.name]
            if shared_lines:
                lines += shared_lines
            elif a.type == datetime | None:
                lines += _timestamp_lines(code, local, earlier)
                earlier.insert(0, local)
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
                f"        if len(_interned) >= {INTERNED_SIZE}:",
                "            _interned.clear()",
                "        _interned[key[0]] = (key, i)",
            ]
        lines.append("    return i")
        hook = self._compile("for_keys", lines, env)
        if shared:
            self.caches.sharing[hook] = (env["_get"], len(names) == 1, env["_interned"])
        return hook  # type: ignore[no-any-return]

    def _shared_lines(self, a: Any, value: Any, local: str, env: dict[str, Any]) -> list[str]:
        """Code reading field ``a`` (the nested object ``value`` in the sample) into ``local`` by
        looking its instance up inline, when its model shares instances of that size; else []."""
        nested: Callable[..., Any] | None = self.env.get(f"_hook_{a.name}")
        if type(value) is not dict or nested is None or nested not in self.caches.by_size:
            return []
        with contextlib.suppress(Exception):  # let the nested model learn the size (a misfit: no)
            nested(value, self.env[f"_type_{a.name}"])
        specific = self.caches.by_size[nested].get(len(value))
        sharing = None if specific is None else self.caches.sharing.get(specific)
        if sharing is None:
            return []
        getter, single, cache = sharing
        env[f"_shared_get_{a.name}"], env[f"_shared_{a.name}"] = getter, cache
        key = f"(_shared_get_{a.name}({local}),)" if single else f"_shared_get_{a.name}({local})"
        call = f"_hook_{a.name}({local}, _type_{a.name})"
        otherwise = "elif" if a.default is None else "else"
        return [
            f"    if type({local}) is dict and len({local}) == {len(value)}:",
            f"        key = {key}",
            f"        {local} = known[1] if {_remembered(f'_shared_{a.name}', 'key')} else {call}",
            f"    {otherwise}{f' {local} is not None' if a.default is None else ''}:",
            f"        {local} = {call}",
        ]


def compile_fast_hook(
    cl: type[T], conv: cattrs.Converter, caches: HookCaches | None = None
) -> Callable[[Any, Any], T]:
    """A fast structure hook for the attrs class ``cl``.

    Objects are told apart by their number of keys: each size is read first by a hook for the keys
    an object of that size last came with (:meth:`_HookBuilder.for_keys`). An object of that size
    with other keys makes that hook raise ``KeyError``; a hook for its keys is then learned (up to
    ``MAX_SHAPES`` key sets), and becomes the one its size is read by, so that a size whose keys
    changed (or whose first object was unusual) is read at full speed again from the next object
    on. Anything without a hook of its own is read by the general hook: an object lacking a required
    field, one using a fallback key, a key set beyond the first ``MAX_SHAPES``. ``caches`` are those
    its hooks read and fill (by default the ones ``conv`` carries, see ``_caches.caches_of``).
    """
    caches = caches if caches is not None else caches_of(conv)
    builder = _HookBuilder(cl, conv, caches)
    general = builder.general()
    by_size: dict[int, Callable[[Any], Any]] = {}  # size -> the hook it is read by first
    shapes: dict[tuple[str, ...], Callable[[Any], Any]] = {}  # key set -> its hook, or general

    def learn(o: dict[str, Any]) -> Callable[[Any], Any]:
        keys = tuple(o)
        specific = shapes.get(keys)
        if specific is None:
            if len(shapes) >= MAX_SHAPES:
                return general
            specific = shapes[keys] = builder.for_keys(o) or general
        if specific is not general:
            by_size[len(o)] = specific
        return specific

    def hook(o: Any, _: Any = None) -> T:
        if type(o) is not dict:
            raise TypeError(f"expected an object, got {_scalars.kind(o)}")
        read = by_size.get(len(o)) or learn(o)
        if read is not general:
            try:
                return read(o)  # type: ignore[no-any-return]
            except KeyError:  # same size, other keys (or a nested object lacking a key)
                learned = learn(o)
                if learned is not read and learned is not general:
                    try:
                        return learned(o)  # type: ignore[no-any-return]
                    except KeyError:
                        pass
        return general(o)  # type: ignore[no-any-return]

    caches.by_size[hook] = by_size
    return hook
