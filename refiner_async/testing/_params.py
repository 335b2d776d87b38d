"""Request parameters for the emulator: one merged map from query string, JSON body and form body.

Pure functions, no aiohttp: :func:`parse_pairs` turns ``key=value`` pairs (with ``key[]`` arrays,
repeated keys and ``key[sub]`` objects) into nested dicts and lists, :func:`merge` lays a body over
the query, and :class:`Params` reads typed values out of the result, raising :class:`ApiError`
(400 ``{"error": ...}``) for anything it cannot read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["ApiError", "Params", "merge", "parse_datetime", "parse_pairs"]

_NAME = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class ApiError(Exception):
    """An answer other than 2xx that a handler decided on: status plus JSON body."""

    def __init__(self, status: int, message: str, *, key: str = "error") -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {key: message}


def bad_request(message: str) -> ApiError:
    """A 400 ``{"error": message}``."""
    return ApiError(400, message)


def parse_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Nest ``key=value`` pairs: ``a[]`` appends to a list, ``a[b]`` sets a dict key, a repeated
    plain key becomes a list of its values."""
    root: dict[str, Any] = {}
    for raw_key, value in pairs:
        m = _NAME.match(raw_key)
        if m is None:
            raise bad_request(f"Malformed parameter name: {raw_key[:80]!r}")
        name, rest = m.group(1), m.group(2)
        segments = _SEGMENT.findall(rest) if rest else []
        if "" in segments[:-1]:
            raise bad_request(f"Unsupported parameter name: {raw_key[:80]!r}")
        _assign(root, name, segments, value)
    return root


def _assign(root: dict[str, Any], name: str, segments: list[str], value: str) -> None:
    container: dict[str, Any] = root
    key = name
    for seg in segments:
        if seg == "":
            current = container.get(key)
            if isinstance(current, list):
                current.append(value)
            elif current is None or isinstance(current, dict):
                container[key] = [value]
            else:
                container[key] = [current, value]
            return
        child = container.get(key)
        if not isinstance(child, dict):
            child = {}
            container[key] = child
        container = child
        key = seg
    current = container.get(key)
    if current is None or isinstance(current, dict):
        container[key] = value
    elif isinstance(current, list):
        current.append(value)
    else:
        container[key] = [current, value]


def _normalize_json(body: Mapping[str, Any]) -> dict[str, Any]:
    """JSON keys sent literally as ``"tags[]"`` mean ``tags``."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        name = key[:-2] if key.endswith("[]") and len(key) > 2 else key
        if name != key and not isinstance(value, list):
            value = [value]
        out[name] = value
    return out


def merge(query: Mapping[str, Any], body: Mapping[str, Any], *, json_body: bool) -> dict[str, Any]:
    """The body's keys win over the query's."""
    merged = dict(query)
    merged.update(_normalize_json(body) if json_body else body)
    return merged


def parse_datetime(value: str, name: str) -> datetime:
    """ISO 8601 date or date-time (``T`` or space, ``Z`` or offset); naive means UTC."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise bad_request(f"Invalid date for {name}: {text[:40]!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


class Params:
    """Typed reads over the merged parameter map."""

    __slots__ = ("raw",)

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def __contains__(self, name: str) -> bool:
        return name in self.raw

    def get_str(self, name: str) -> str | None:
        """A scalar as text (``None`` when absent or empty); a list gives its last value."""
        value = self.raw.get(name)
        if isinstance(value, list):
            value = value[-1] if value else None
        if value is None:
            return None
        if isinstance(value, dict):
            raise bad_request(f"{name} must be a single value")
        if isinstance(value, bool):
            return "1" if value else "0"
        text = value if isinstance(value, str) else str(value)
        return text if text != "" else None

    def get_int(self, name: str, default: int, *, minimum: int = 1) -> int:
        """A whole number at least ``minimum``."""
        text = self.get_str(name)
        if text is None:
            return default
        try:
            number = int(text.strip())
        except ValueError:
            raise bad_request(f"{name} must be an integer") from None
        if number < minimum:
            raise bad_request(f"{name} must be at least {minimum}")
        return number

    def get_bool(self, name: str, default: bool = False) -> bool:
        """``1``/``0``, ``true``/``false`` (any case), JSON booleans."""
        value = self.raw.get(name)
        if isinstance(value, list):
            value = value[-1] if value else None
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise bad_request(f"{name} must be 1, 0, true or false")

    def get_list(self, name: str) -> list[str]:
        """``key[]`` / repeated keys / JSON arrays, or one comma-separated string."""
        value = self.raw.get(name)
        if value is None:
            return []
        if isinstance(value, dict):
            raise bad_request(f"{name} must be a list")
        if isinstance(value, list):
            out = []
            for item in value:
                if isinstance(item, dict | list):
                    raise bad_request(f"{name} must be a list of values")
                if item is not None and item != "":
                    out.append(item if isinstance(item, str) else str(item))
            return out
        text = value if isinstance(value, str) else str(value)
        return [part.strip() for part in text.split(",") if part.strip()]

    def get_dict(self, name: str) -> dict[str, Any] | None:
        """An object parameter (``key[sub]=...`` or a JSON object)."""
        value = self.raw.get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise bad_request(f"{name} must be an object")
        return value

    def get_timestamp(self, name: str) -> int | None:
        """A date parameter as whole epoch seconds, rounded up (bounds compare on whole seconds)."""
        text = self.get_str(name)
        if text is None:
            return None
        return math.ceil(parse_datetime(text, name).timestamp())
