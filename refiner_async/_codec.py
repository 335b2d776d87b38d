"""What a list reply becomes: the HTTP core hands over bytes (:class:`RawResponse`); a codec
decodes them in the client's decoding turn (:mod:`._decoding`).

- :class:`PageCodec`: a list reply as a ``Page`` of models, and the ``next_page_cursor`` its bytes
  seem to carry (:func:`peek_cursor`), read without decoding them; :class:`DictPageCodec`: the
  same as a ``Page`` of the API's own objects, for data that leaves as data.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import Any, Generic, TypeVar

from . import _decoding
from ._converters import converter
from ._decoding import Decoding
from ._http import Decode, RawResponse
from ._pagination import MAX_CURSOR_CHARS
from .models.page import Page

__all__ = ["Decode", "Decoding", "DictPageCodec", "PageCodec", "peek_cursor"]

T = TypeVar("T")


class _ListCodec:
    """What every list codec shares: the decoding turn, and the cursor read from the bytes."""

    def __init__(self, decoding: Decoding) -> None:
        self._decoding = decoding

    @staticmethod
    def next_cursor(raw: RawResponse) -> str | None:
        """The cursor the reply's bytes seem to carry (:func:`peek_cursor`)."""
        return peek_cursor(raw.body)


class PageCodec(_ListCodec, Generic[T]):
    """List replies of one endpoint as pages of ``item_type``, decoded in ``decoding``'s turn."""

    def __init__(self, decoding: Decoding, item_type: type[T]) -> None:
        super().__init__(decoding)
        self._item_type = item_type

    async def decode(self, raw: RawResponse) -> Page[T]:
        """A :data:`Decode`: the reply as a Page (``ResponseDecodeError`` if it is not JSON,
        ``ResponseValidationError`` if it is not a list envelope)."""
        return await self._decoding.run_steps(lambda: self._page(raw))

    def _page(self, raw: RawResponse) -> Generator[None, None, Page[T]]:
        """The body's JSON in one step, then its models a few hundred a step. The decoded items are
        taken one by one (freed as their models are built); a failure decodes the body again to
        name the field that does not fit."""
        payload = _decoding.json_value(raw)
        yield
        steps = converter.structure_page_steps(
            payload,
            self._item_type,
            method=raw.method,
            path=raw.path,
            reread=lambda: _decoding.json_value(raw),
        )
        return (yield from steps)


class DictPageCodec(_ListCodec):
    """List replies as pages of the API's own objects: its JSON values, no models built."""

    async def decode(self, raw: RawResponse) -> Page[dict[str, Any]]:
        """A :data:`Decode`: the reply as a Page of dicts (the envelope checked as for models)."""
        return await self._decoding.run(
            lambda: converter.page_of_dicts(
                _decoding.json_value(raw), method=raw.method, path=raw.path
            )
        )


_CURSOR_KEY = b'"next_page_cursor"'
_CURSOR_VALUE = re.compile(rb'\s*:\s*"([^"\\\x00-\x1f]{1,%d})"' % MAX_CURSOR_CHARS)


def peek_cursor(body: bytes) -> str | None:
    """The ``next_page_cursor`` an undecoded list reply seems to carry, read from its bytes: the
    value of the last key of that name when it is a plain string (no escapes), else None. A guess,
    to be checked against the page once it is decoded."""
    at = body.rfind(_CURSOR_KEY)
    if at < 0:
        return None
    match = _CURSOR_VALUE.match(body, at + len(_CURSOR_KEY))
    if match is None:
        return None
    try:
        return match.group(1).decode()
    except UnicodeDecodeError:
        return None
