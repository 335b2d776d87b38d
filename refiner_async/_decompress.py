"""Bounded decompression of response bodies: gzip and deflate inflated with a ceiling on the output.

The SDK asks aiohttp not to decompress (``auto_decompress=False``) and inflates here instead, so that
``max_response_bytes`` bounds the decompressed body, not only the bytes on the wire: a 1 MB gzip
bomb that would inflate to gigabytes stops after ``cap + 1`` bytes of output. Pure (no I/O, no
asyncio): the reader in ``_http`` feeds it the chunks it receives.
"""

from __future__ import annotations

import zlib

__all__ = [
    "ACCEPT_ENCODING",
    "Corrupt",
    "Inflater",
    "TooLarge",
    "UnsupportedEncoding",
    "inflater_for",
]

#: What the SDK advertises; only what :class:`Inflater` can bound (aiohttp would add ``br`` when
#: the brotli package happens to be installed).
ACCEPT_ENCODING = "gzip, deflate"

_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip header and trailer
_ZLIB_WBITS = zlib.MAX_WBITS  # HTTP's "deflate": zlib-wrapped, as RFC 9110 says
_RAW_WBITS = -zlib.MAX_WBITS  # what some servers send as "deflate" anyway: no wrapper


class TooLarge(Exception):
    """The decompressed body passed the cap; ``size`` is how much was produced (more than the cap)."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


class Corrupt(Exception):
    """The compressed body is cut short or is not what its Content-Encoding says."""


class UnsupportedEncoding(Exception):
    """A Content-Encoding the SDK did not advertise and cannot bound."""


class Inflater:
    """Inflates one gzip or deflate body chunk by chunk, never producing more than ``cap + 1`` bytes.

    ``feed`` returns the output of one chunk and raises :class:`TooLarge` as soon as the total passes
    ``cap``; ``finish`` returns what is left and checks that the stream ended. Both raise
    :class:`Corrupt` for data that is cut short or not what the encoding says. Concatenated gzip members are inflated one after another.
    """

    def __init__(self, encoding: str, cap: int) -> None:
        self._encoding = encoding  # "gzip" or "deflate"
        self._cap = cap
        self._size = 0  # bytes produced so far
        # Created with the first bytes (deflate's wrapper is read from them); an empty body, as a
        # 204 may send with any Content-Encoding, never needs one.
        self._inflate: zlib._Decompress | None = None

    def feed(self, data: bytes) -> bytes:
        """The output of ``data``; :class:`TooLarge` once the total passes the cap."""
        try:
            return self._feed(data)
        except zlib.error as exc:
            raise Corrupt(str(exc)) from None

    def _feed(self, data: bytes) -> bytes:
        if not data:
            return b""
        if self._inflate is None:
            if self._encoding == "gzip":
                wbits = _GZIP_WBITS
            else:  # a zlib stream starts with a CMF byte whose low nibble is 8; raw data rarely does
                wbits = _ZLIB_WBITS if data[0] & 0x0F == 8 else _RAW_WBITS
            self._inflate = zlib.decompressobj(wbits)
        parts: list[bytes] = []
        pending = data
        while pending:
            inflate = self._inflate
            out = inflate.decompress(pending, self._cap - self._size + 1)
            self._produced(len(out))
            parts.append(out)
            pending = inflate.unconsumed_tail
            if inflate.eof and inflate.unused_data:
                if self._encoding != "gzip":
                    break  # trailing bytes after a deflate stream: ignored, as zlib does
                # Another gzip member follows (RFC 1952 allows several): inflate it too.
                pending = inflate.unused_data
                self._inflate = zlib.decompressobj(_GZIP_WBITS)
        return b"".join(parts)

    def finish(self) -> bytes:
        """What the inflater still holds; :class:`Corrupt` when the stream did not end."""
        inflate = self._inflate
        if inflate is None:
            return b""  # an empty body
        try:
            out = inflate.flush()
        except zlib.error as exc:
            raise Corrupt(str(exc)) from None
        self._produced(len(out))
        if not inflate.eof:
            raise Corrupt("the compressed body ended before its end-of-stream marker")
        return out

    def _produced(self, count: int) -> None:
        self._size += count
        if self._size > self._cap:
            raise TooLarge(self._size)


def inflater_for(content_encoding: str | None, cap: int) -> Inflater | None:
    """The inflater for a response's ``Content-Encoding`` (None: the body is not compressed).

    Raises :class:`UnsupportedEncoding` for anything but gzip, deflate and identity (including a
    chain of several encodings, which no server sends unasked).
    """
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return Inflater("gzip", cap)
    if encoding == "deflate":
        return Inflater("deflate", cap)
    raise UnsupportedEncoding(encoding)
