"""Timestamps both ways, and the cache that makes a repeated timestamp string one dict lookup.

Reading: both forms the API uses (``2020-09-02 21:53:33`` and ``2020-09-02T20:44:24.000000Z``), with
or without fraction, ``Z`` or offset, become aware UTC datetimes (naive text is UTC); null, empty
text and PHP's zero date become None; a number is epoch seconds. Writing: ISO-8601 in UTC with a
``Z`` (``2020-09-02T20:44:24Z``).
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs

from ._scalars import kind

#: Distinct timestamp strings a cache remembers (it is cleared when full): a page holds up to 7,000.
TIMESTAMP_CACHE_SIZE = 8192
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


def read_timestamp(value: Any) -> datetime | None:
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
    raise TypeError(f"expected a timestamp string, got {kind(value)}")


def _naive_utc(texts: list[str]) -> list[datetime]:
    """Naive ISO-8601 texts as aware UTC datetimes, in one C-level pass (ValueError: one is not)."""
    return list(map(datetime.fromisoformat, map(operator.add, texts, itertools.repeat("+00:00"))))


def timestamp_fields(cl: type) -> tuple[Callable[[Any], Any], int] | None:
    """An ``itemgetter`` of ``cl``'s top-level optional timestamp fields and their number (None:
    it has none)."""
    model: Any = cl
    names = [a.name for a in attrs.fields(attrs.resolve_types(model)) if a.type == datetime | None]
    return (operator.itemgetter(*names), len(names)) if names else None


class TimestampCache:
    """Timestamp text -> parsed value, so each distinct string is parsed once (datetimes are
    immutable); one per converter.

    ``values`` is a plain dict, read with one subscript by the generated hooks (a subclass with
    ``__missing__`` would take the interpreter's slower generic path on every read) and only ever
    changed in place, as those hooks hold it. A miss goes to :meth:`read`, which parses and
    remembers. ``None`` maps to None. Holds at most ``size`` strings (cleared when full).
    """

    def __init__(self, size: int = TIMESTAMP_CACHE_SIZE) -> None:
        self.size = size
        self.values: dict[Any, datetime | None] = {None: None}

    def clear(self) -> None:
        """Forget every remembered timestamp."""
        self.values.clear()
        self.values[None] = None

    def read(self, value: Any, _: Any = None) -> datetime | None:
        """The structure hook for ``datetime | None``: from the cache, else parsed and remembered."""
        try:
            return self.values[value]
        except KeyError:
            return self._remember(value)
        except TypeError:  # unhashable: an array or an object
            return read_timestamp(value)  # raises TypeError naming what it got

    def read_required(self, value: Any, _: Any = None) -> datetime:
        """The structure hook for ``datetime``: as :meth:`read`, but null is refused."""
        parsed = self.read(value)
        if parsed is None:
            raise TypeError(f"expected a timestamp, got {value!r}")
        return parsed

    def _remember(self, value: Any) -> datetime | None:
        """A timestamp value not in the cache, parsed, and remembered when it is a string (a number
        is never remembered: ``1``, ``1.0`` and ``True`` are equal keys)."""
        parsed: datetime | None
        if type(value) is str and len(value) == 19:  # the responses' naive form: the hot path
            try:
                parsed = datetime.fromisoformat(value + "+00:00")
            except ValueError:
                parsed = read_timestamp(value)
        else:
            parsed = read_timestamp(value)
        if type(value) is str:
            if len(self.values) >= self.size:
                self.clear()
            self.values[value] = parsed
        return parsed

    def warm(self, items: list[Any], fields: Callable[[Any], Any], count: int) -> None:
        """Parse a page's distinct naive timestamps at once, before its items are structured.

        ``fields`` reads an item's ``count`` timestamp fields (see :func:`timestamp_fields`). The
        distinct strings not yet cached, all naive (``YYYY-MM-DD HH:MM:SS``, the responses' form)
        as a rule, are parsed by one C-level ``map`` as UTC and cached, so the hooks find every one
        of them in the cache; when some are of another form, only the ``YYYY-MM-DD HH:MM:SS`` ones
        are. Anything unusual (a missing field, a number, a string that does not parse) is left to
        the hooks, which handle it one value at a time.
        """
        try:
            values = map(fields, items)
            texts = set(itertools.chain.from_iterable(values) if count > 1 else values)
        except (KeyError, TypeError):  # a field missing, an item not an object, an unhashable value
            return
        new = list(texts.difference(self.values))  # looks each text up in the cache (None is there)
        if not new or len(new) >= self.size:
            return
        try:
            parsed = _naive_utc(new)
        except (TypeError, ValueError):  # another form among them: parse only the usual one
            new = [text for text in new if type(text) is str and len(text) == 19]
            try:
                parsed = _naive_utc(new)
            except ValueError:
                return
        if len(self.values) + len(new) >= self.size:
            self.clear()
        self.values.update(zip(new, parsed, strict=True))


class TimestampTexts:
    """Datetime -> its :func:`format_timestamp` text, so that a datetime object written many times
    is formatted once (a page's models share one object per timestamp text: see
    :class:`TimestampCache`); one per converter.

    Keyed by the object's identity, not its value: hashing an aware datetime takes longer than
    formatting it. Each entry holds its datetime, so an id is never reused while it is remembered.
    Holds at most ``size`` datetimes (cleared when full).
    """

    def __init__(self, size: int = TIMESTAMP_CACHE_SIZE) -> None:
        self.size = size
        self.texts: dict[int, tuple[datetime, str]] = {}

    def clear(self) -> None:
        """Forget every remembered text."""
        self.texts.clear()

    def text(self, value: datetime | None) -> str | None:
        """``value`` as ISO-8601 in UTC with a ``Z`` (see :func:`format_timestamp`); None stays
        None."""
        if value is None:
            return None
        key = id(value)
        entry = self.texts.get(key)
        if entry is not None and entry[0] is value:
            return entry[1]
        text = format_timestamp(value)
        if len(self.texts) >= self.size:
            self.texts.clear()
        self.texts[key] = (value, text)
        return text
