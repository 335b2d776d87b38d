"""Models to plain JSON values: :func:`to_dict` (public), and what an action puts in its envelope's
``data``.

attrs models become dicts keyed by the API's field names (the models name their fields as the API
does), with the unknown keys the server sent (each model's ``extra``) put back beside them; a mapping
field still holding its shared empty default (the server sent nothing, null or ``[]``) is left out
rather than shown as ``{}``. Datetimes
become ISO-8601 UTC strings (``2026-01-05T10:00:00Z``), tuples become lists, read-only mappings
become dicts. Everything returned survives ``json.dumps``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import attrs

from ._protocol import format_datetime
from .models.page import Page

__all__ = ["page_to_json", "to_dict", "to_json"]

#: The pagination figures an action returns beside a page's items, named as the API names them.
PAGINATION_FIELDS = ("current_page", "last_page", "items_count", "page_length", "next_page_cursor")


def to_json(value: Any) -> Any:
    """A JSON-ready copy of ``value`` (a model, a mapping, a sequence or a scalar)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime | date):
        return format_datetime(value)
    if attrs.has(type(value)):
        out: dict[str, Any] = {}
        for field in attrs.fields(type(value)):
            item = getattr(value, field.name)
            if field.name == "extra" or (item is field.default and isinstance(item, Mapping)):
                continue  # the shared empty default: the server sent nothing there
            out[field.name] = to_json(item)
        for key, item in getattr(value, "extra", {}).items():
            out.setdefault(str(key), to_json(item))
        return out
    if isinstance(value, Mapping):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_json(item) for item in value]
    raise TypeError(f"cannot represent {type(value).__name__} as JSON")


def page_to_json(page: Page[Any]) -> dict[str, Any]:
    """One page as the API sends it: ``{"items": [...], "pagination": {...}}``."""
    return {
        "items": [to_json(item) for item in page.items],
        "pagination": {name: getattr(page, name) for name in PAGINATION_FIELDS},
    }


def to_dict(model: Any) -> dict[str, Any]:
    """A model as plain JSON values: ``refiner_async.to_dict(contact)``.

    Keys are the API's field names, with the unknown fields the server sent put back beside them;
    datetimes become ISO-8601 UTC strings (``2026-01-05T10:00:00Z``), tuples lists. A ``Page`` gives
    the API's page shape, ``{"items": [...], "pagination": {...}}``. The result survives
    ``json.dumps`` unchanged. Anything but a model or a page raises ``TypeError``.
    """
    if isinstance(model, Page):
        return page_to_json(model)
    if isinstance(model, type) or not attrs.has(type(model)):
        raise TypeError(
            f"model: expected a refiner_async model or Page, got {type(model).__name__}"
        )
    data: dict[str, Any] = to_json(model)
    return data
