"""Structure hooks for the scalar field types: strings, numbers, booleans and free-form objects.

Each takes ``(value, type)`` like every cattrs hook, returns a value that already fits untouched
(no copies of ``data`` or ``attributes``), and coerces what the API is known to send instead
(numeric ids, integral numbers as strings, 0/1 booleans, PHP's ``[]`` for an empty object).
Anything else raises ``TypeError`` naming what it got. The generated hooks inline the fast checks
and call these for anything unusual.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..models._base import EMPTY


def kind(value: object) -> str:
    """What a JSON value is, in words, for error messages: ``null``, ``an object``, ``str``..."""
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def _coerce_str(value: Any) -> str:
    if type(value) is int or (type(value) is float and math.isfinite(value)):
        return str(value)  # a numeric id
    raise TypeError(f"expected a string, got {kind(value)}")


def str_(value: Any, _: Any = None) -> str:
    return value if type(value) is str else _coerce_str(value)


def str_or_none(value: Any, _: Any = None) -> str | None:
    return value if value is None or type(value) is str else _coerce_str(value)


def _coerce_int(value: Any) -> int:
    if type(value) is float and value.is_integer():
        return int(value)
    if type(value) is str and value.strip().lstrip("-").isdigit():
        return int(value)
    raise TypeError(f"expected an integer, got {kind(value)}")


def int_(value: Any, _: Any = None) -> int:
    return value if type(value) is int else _coerce_int(value)


def int_or_none(value: Any, _: Any = None) -> int | None:
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
    raise TypeError(f"expected a number, got {kind(value)}")


def number_or_none(value: Any, _: Any = None) -> float | None:
    type_ = type(value)
    return value if value is None or type_ is int or type_ is float else _coerce_number(value)


_BOOLS: Mapping[object, bool] = {
    0: False,
    1: True,
    "0": False,
    "1": True,
    "false": False,
    "true": True,
}


def bool_or_none(value: Any, _: Any = None) -> bool | None:
    if value is None or type(value) is bool:
        return value
    if type(value) in (int, str) and value in _BOOLS:
        return _BOOLS[value]
    raise TypeError(f"expected a boolean, got {kind(value)}")


def mapping(value: Any, _: Any = None) -> Mapping[str, Any]:
    if type(value) is dict:
        return value  # passed through: no copy
    if value is None or value == []:
        return EMPTY  # null, or PHP's empty array standing for an empty object
    raise TypeError(f"expected an object, got {kind(value)}")


def mapping_or_none(value: Any, _: Any = None) -> Mapping[str, Any] | None:
    if type(value) is dict or value is None:
        return value
    if value == []:
        return EMPTY
    raise TypeError(f"expected an object, got {kind(value)}")


def any_(value: Any, _: Any = None) -> Any:
    return value


def str_tuple_or_none(value: Any, _: Any = None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if type(value) is list:
        return tuple([str_(item) for item in value])
    raise TypeError(f"expected an array of strings, got {kind(value)}")
