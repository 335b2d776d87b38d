"""The way back: unstructure hooks turning each model into the API's JSON shape.

Field names as the API spells them, every field in declaration order and then the ``extra`` keys
the model kept, timestamps as ISO-8601 in UTC (``2020-09-02T20:44:24Z``), so that
``structure(unstructure(model), type(model)) == model``. The bulk export writes what they return.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import cattrs
from cattrs.fns import identity
from cattrs.gen import make_dict_unstructure_fn, override

from ._shapes import same_type
from ._timestamps import format_timestamp, timestamp_text


def register_unstructure_hooks(conv: cattrs.Converter, models: tuple[type, ...]) -> None:
    """Register on ``conv`` the hooks turning each of ``models`` (nested ones first) back into
    plain JSON values. Optional scalars are JSON values as they are: their hook is cattrs'
    ``identity``, which the generated functions inline."""
    scalar_hooks: dict[Any, Callable[[Any], Any]] = {
        str | None: identity,
        int | None: identity,
        float | None: identity,
        bool | None: identity,
        datetime: format_timestamp,
        datetime | None: timestamp_text,
        Mapping[str, Any]: dict,  # values came from JSON: a shallow copy is a JSON object
        Mapping[str, Any] | None: lambda v: None if v is None else dict(v),
        tuple[str, ...] | None: lambda v: None if v is None else list(v),
        Any: lambda v: v,
    }
    for tp, hook in scalar_hooks.items():
        conv.register_unstructure_hook_func(same_type(tp), hook)
    for cl in models:  # nested models first, so each generated function finds its hooks
        model_hook = _model_hook(cl, conv)
        conv.register_unstructure_hook(cl, model_hook)
        conv.register_unstructure_hook_func(same_type(cl | None), _or_none(model_hook))
        conv.register_unstructure_hook_func(
            same_type(tuple[cl, ...]),  # type: ignore[valid-type]
            _each(model_hook),
        )


def _model_hook(cl: type, conv: cattrs.Converter) -> Callable[[Any], dict[str, Any]]:
    """``cl`` as a dict: every field in declaration order, then the ``extra`` keys it kept."""
    generated: Callable[[Any], dict[str, Any]] = make_dict_unstructure_fn(
        cl, conv, _cattrs_use_linecache=True, extra=override(omit=True)
    )

    def hook(value: Any) -> dict[str, Any]:
        out = generated(value)
        extra = value.extra
        if extra:
            for key, item in extra.items():
                out.setdefault(key, item)  # a known field never yields to an unknown key
        return out

    return hook


def _or_none(hook: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any] | None]:
    def optional(value: Any) -> dict[str, Any] | None:
        return None if value is None else hook(value)

    return optional


def _each(hook: Callable[[Any], dict[str, Any]]) -> Callable[[Any], list[Any]]:
    def each(values: Any) -> list[Any]:
        return [hook(value) for value in values]

    return each
