"""Compressed bodies (T26): ``max_response_bytes`` bounds the decompressed size, not only the wire's.

A hostile aiohttp.web app on 127.0.0.1 serves gzip and deflate bombs (about 1 MB on the wire that
inflate to 1 GB), bodies compressed normally, corrupt ones and encodings the SDK did not ask for.
"""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

from refiner_async import (
    RefinerClient,
    RefinerError,
    ResponseDecodeError,
    ResponseTooLargeError,
    ServerError,
)
from refiner_async._decompress import Inflater, TooLarge
from tests.conftest import call

CAP = 4 * 1024 * 1024  # max_response_bytes for these clients
BLOCK = 1024 * 1024  # one block of zeros
BLOCKS = 1024  # 1 GiB once inflated


@cache
def bomb(encoding: str) -> bytes:
    """1 GiB of zeros as one gzip or zlib ("deflate") stream, about 1 MB long.

    Built by compressing one 1 MiB block, then repeating the bytes the compressor gives for the
    same block after a full flush (identical each time, since a full flush resets its state); the
    trailer's checksum is computed over the whole GiB, so the stream is valid end to end.
    """
    wbits = 31 if encoding == "gzip" else 15
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    zeros = bytes(BLOCK)
    head = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    unit = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH) == unit
    end = compressor.flush()  # an empty final block, then the trailer of a 3 MiB stream
    body = end[:-8] if encoding == "gzip" else end[:-4]
    if encoding == "gzip":
        crc = 0
        for _ in range(BLOCKS):
            crc = zlib.crc32(zeros, crc)
        trailer = crc.to_bytes(4, "little") + (BLOCKS * BLOCK % 2**32).to_bytes(4, "little")
    else:
        adler = 1
        for _ in range(BLOCKS):
            adler = zlib.adler32(zeros, adler)
        trailer = adler.to_bytes(4, "big")
    return head + unit * (BLOCKS - 1) + body + trailer


PAGE = {"items": [{"uuid": f"u{i}", "text": "a fairly repetitive answer " * 4} for i in range(50)]}


async def compressed(request: web.Request, accept: list[str | None]) -> web.StreamResponse:
    """One compressed answer per path; records in ``accept`` the Accept-Encoding asked with."""
    accept.append(request.headers.get("Accept-Encoding"))
    kind = request.path.removeprefix("/v1/")
    json = {"Content-Type": "application/json"}
    if kind in ("gzip-bomb", "deflate-bomb", "error-bomb"):
        encoding = kind.split("-")[0] if kind != "error-bomb" else "gzip"
        status = 500 if kind == "error-bomb" else 200
        return web.Response(
            body=bomb(encoding), status=status, headers={**json, "Content-Encoding": encoding}
        )
    body = orjson.dumps(PAGE)
    if kind == "gzip":
        return web.Response(body=gzip.compress(body), headers={**json, "Content-Encoding": "gzip"})
    if kind == "gzip-members":  # two gzip members, one after the other (RFC 1952 allows it)
        half = len(body) // 2
        data = gzip.compress(body[:half]) + gzip.compress(body[half:])
        return web.Response(body=data, headers={**json, "Content-Encoding": "gzip"})
    if kind == "deflate":
        return web.Response(
            body=zlib.compress(body), headers={**json, "Content-Encoding": "deflate"}
        )
    if kind == "raw-deflate":
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        data = compressor.compress(body) + compressor.flush()
        return web.Response(body=data, headers={**json, "Content-Encoding": "deflate"})
    if kind == "chunked-gzip":  # aiohttp.web's own compression: chunked, no Content-Length
        response = web.json_response(PAGE)
        response.enable_compression(web.ContentCoding.gzip)
        return response
    if kind == "corrupt":
        return web.Response(
            body=gzip.compress(body)[:-20] + b"x" * 20,
            headers={**json, "Content-Encoding": "gzip"},
        )
    if kind == "brotli":
        return web.Response(body=b"\x0b\x02\x80{}\x03", headers={**json, "Content-Encoding": "br"})
    if kind == "empty":  # no body at all, yet a Content-Encoding
        return web.Response(status=204, headers={"Content-Encoding": "gzip"})
    if kind == "error":
        data = gzip.compress(orjson.dumps({"error": "database on fire"}))
        return web.Response(body=data, status=500, headers={**json, "Content-Encoding": "gzip"})
    return web.json_response({"error": "Not found"}, status=404)


@pytest.fixture
async def served(raw_server: Callable[..., Awaitable[str]]) -> tuple[str, list[str | None]]:
    """The compressing app's base URL, and the Accept-Encoding of every request it received."""
    accept: list[str | None] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        return await compressed(request, accept)

    return await raw_server(handler), accept


async def peak_while(call: Awaitable[Any]) -> tuple[BaseException | None, int]:
    """Run ``call``; the error it raised (if any) and the peak traced memory meanwhile."""
    tracemalloc.start()
    try:
        await call
        error = None
    except RefinerError as raised:
        error = raised
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return error, peak


def client_for(base: str, api_key: str, **options: Any) -> RefinerClient:
    settings: dict[str, Any] = {"rate_limit": None, "max_retries": 0, "max_response_bytes": CAP}
    return RefinerClient(api_key, base_url=base, **{**settings, **options})


@pytest.mark.parametrize("kind", ["gzip-bomb", "deflate-bomb", "error-bomb"])
async def test_t26_a_compression_bomb_stops_at_the_cap(
    served: tuple[str, list[str | None]], api_key: str, report: Callable[..., str], kind: str
) -> None:
    """A 1 MB body inflating to 1 GiB raises ResponseTooLargeError with memory near the cap."""
    base, _ = served
    wire = len(bomb("gzip" if kind == "error-bomb" else kind.split("-")[0]))
    async with client_for(base, api_key) as client:
        error, peak = await peak_while(call(client, "GET", f"/{kind}"))
    report(f"T26 {kind}", wire_kb=wire // 1024, error=type(error).__name__, peak_kb=peak // 1024)
    assert wire < 2 * BLOCK  # the bomb really is small on the wire
    assert isinstance(error, ResponseTooLargeError)
    assert "decompressed" in str(error)
    assert peak < 3 * CAP  # 1 GiB was never built


async def test_t26_a_borrowed_session_that_decompresses_is_still_bounded(
    served: tuple[str, list[str | None]], api_key: str
) -> None:
    """A borrowed session left at aiohttp's auto_decompress=True: the SDK still inflates, bounded."""
    base, _ = served
    async with (
        aiohttp.ClientSession(auto_decompress=True) as session,
        client_for(base, api_key, session=session) as client,
    ):
        error, peak = await peak_while(call(client, "GET", "/gzip-bomb"))
        page = await call(client, "GET", "/gzip")
    assert isinstance(error, ResponseTooLargeError)
    assert peak < 3 * CAP
    assert page == PAGE


@pytest.mark.parametrize("kind", ["gzip", "gzip-members", "deflate", "raw-deflate", "chunked-gzip"])
async def test_t26_compressed_answers_decode_as_sent(
    served: tuple[str, list[str | None]], api_key: str, kind: str
) -> None:
    """gzip (one member or two), zlib and raw deflate, fixed length or chunked: the same JSON."""
    base, accept = served
    async with client_for(base, api_key) as client:
        page = await call(client, "GET", f"/{kind}")
    assert page == PAGE
    assert accept == ["gzip, deflate"]  # only what the SDK can bound is asked for


async def test_t26_an_empty_body_with_an_encoding_is_empty(
    served: tuple[str, list[str | None]], api_key: str
) -> None:
    """A 204 that names gzip but sends nothing is an empty answer, not a corrupt one."""
    base, _ = served
    async with client_for(base, api_key) as client:
        assert await call(client, "GET", "/empty") is None


async def test_t26_compressed_error_bodies_are_read(
    served: tuple[str, list[str | None]], api_key: str
) -> None:
    """A gzip-compressed 500 becomes ServerError carrying the API's message."""
    base, _ = served
    async with client_for(base, api_key) as client:
        with pytest.raises(ServerError) as caught:
            await call(client, "GET", "/error")
    assert caught.value.body == {"error": "database on fire"}


@pytest.mark.parametrize("kind", ["corrupt", "brotli"])
async def test_t26_corrupt_or_unasked_encodings_are_decode_errors(
    served: tuple[str, list[str | None]], api_key: str, kind: str
) -> None:
    """A damaged gzip body, or an encoding that was not advertised: ResponseDecodeError."""
    base, _ = served
    async with client_for(base, api_key) as client:
        with pytest.raises(ResponseDecodeError) as caught:
            await call(client, "GET", f"/{kind}")
    assert ("br" if kind == "brotli" else "gzip") in str(caught.value)


def test_inflater_output_never_passes_cap_plus_one() -> None:
    """Fed a whole bomb at once, the inflater produces at most cap + 1 bytes before refusing."""
    inflater = Inflater("gzip", 1000)
    with pytest.raises(TooLarge) as caught:
        inflater.feed(gzip.compress(bytes(1_000_000)))
    assert caught.value.size == 1001
