"""The one converter: every wire rule for reading the API's JSON into the attrs models, and back.

What it decides, in one place:

- timestamps (``_timestamps``): both forms the API uses, with or without fraction, ``Z`` or
  offset, become aware UTC datetimes; null (and PHP's zero date) becomes None;
- unknown keys: kept on each model's ``extra`` mapping, never an error;
- open enums: values such as a form history ``action`` are plain strings, never rejected;
- tolerance (``_scalars``): ``[]`` where an object is expected reads as an empty mapping, null
  lists as empty tuples, numeric ids as strings, integral numbers sent as strings as ints;
- strictness (``_converter``): anything else raises :class:`ResponseValidationError` naming the
  field path, e.g. ``items[3].contact.uuid``;
- the way back (``_unstructure``): :func:`unstructure` gives a model as the API's JSON shape, so
  that ``structure(unstructure(model), type(model)) == model``.

The fast hooks are generated per model (``_codegen``) and registered by :func:`make_converter`
(``_factory``); each converter owns its caches (``_caches``). The functions here use one
module-level :class:`Converter`. The design and its measurements: ``docs/design/converter.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ..models.page import Page
from ._converter import MAX_CURSOR_CHARS, Converter
from ._factory import make_converter
from ._shapes import FALLBACK_KEYS, MODELS
from ._timestamps import format_timestamp, parse_timestamp

__all__ = [
    "FALLBACK_KEYS",
    "MAX_CURSOR_CHARS",
    "MODELS",
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

#: The module-level instance every resource uses.
converter = Converter()


def clear_caches() -> None:
    """Forget the module-level converter's shared instances (benchmarks use it to time cold
    pages)."""
    converter.clear_caches()


def structure(payload: Any, cl: type[T], *, method: str = "", path: str = "") -> T:
    """Read ``payload`` as a ``cl`` with the module-level converter (see :meth:`Converter.structure`)."""
    return converter.structure(payload, cl, method=method, path=path)


def structure_page(
    payload: Any,
    item_type: type[T],
    *,
    method: str = "",
    path: str = "",
    reread: Callable[[], Any] | None = None,
) -> Page[T]:
    """Read a list answer as a Page (see :meth:`Converter.structure_page`)."""
    return converter.structure_page(payload, item_type, method=method, path=path, reread=reread)


def unstructure(model: Any) -> dict[str, Any]:
    """A model as the API's JSON object: plain dicts, lists and scalars (timestamps as ISO-8601)."""
    out: dict[str, Any] = converter.fast.unstructure(model)
    return out
