"""Timestamps both ways.

Reading: both forms the API uses (``2020-09-02 21:53:33`` and ``2020-09-02T20:44:24.000000Z``), with
or without fraction, ``Z`` or offset, become aware UTC datetimes (naive text is UTC); null, empty
text and PHP's zero date become None; a number is epoch seconds. Writing: ISO-8601 in UTC with a
``Z`` (``2020-09-02T20:44:24Z``).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from ._scalars import kind

_WHOLE_SECONDS = "%04d-%02d-%02dT%02d:%02d:%02dZ"
_ZERO_DATES = frozenset({"", "0000-00-00 00:00:00", "0000-00-00T00:00:00Z", "0000-00-00"})


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


def format_timestamp(value: datetime) -> str:
    """``value`` as ISO-8601 in UTC with a ``Z``: ``2020-09-02T20:44:24Z`` (naive values are UTC)."""
    if value.tzinfo is UTC and not value.microsecond:  # the models' usual value
        # printf-style formatting of the fields takes two thirds of isoformat()'s time
        return _WHOLE_SECONDS % (
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
        )
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    elif value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat()[:-6] + "Z"  # drop "+00:00"


def timestamp_text(value: datetime | None) -> str | None:
    """The unstructure hook for timestamps: :func:`format_timestamp`, None staying None."""
    return None if value is None else format_timestamp(value)


def naive_text(value: Any) -> str | None:
    """The :func:`format_timestamp` text of a time in the responses' naive form
    (``YYYY-MM-DD HH:MM:SS``, UTC), rewritten as text once checked, without building a datetime in
    UTC; None for any other value (PHP's zero date, other forms, not a time)."""
    if type(value) is not str or len(value) != 19 or value[10] != " ":
        return None
    if value[13] != ":" or value[16] != ":":
        return None
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return None
    return value[:10] + "T" + value[11:] + "Z"


def read_timestamp(value: Any, _: Any = None) -> datetime | None:
    """A timestamp field's JSON value as an aware UTC datetime, or None (null, empty, zero date).

    Also the structure hook for ``datetime | None`` (the second argument, the type, is ignored).
    """
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
    raise TypeError(f"expected a timestamp string, got {kind(value)}")


def read_required_timestamp(value: Any, _: Any = None) -> datetime:
    """The structure hook for ``datetime``: as :func:`read_timestamp`, but null is refused."""
    parsed = read_timestamp(value)
    if parsed is None:
        raise TypeError(f"expected a timestamp, got {value!r}")
    return parsed
