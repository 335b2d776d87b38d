"""Hostile answers (T22) and hostile hops (T23): every one ends in a typed error, with memory bounded
by ``max_response_bytes``, no redirect followed and no retry of a TLS failure.

The answers the emulator cannot produce come from a small aiohttp.web app on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import tracemalloc
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from refiner_async import (
    APIStatusError,
    RefinerClient,
    RefinerError,
    ResponseDecodeError,
    ResponseTooLargeError,
    ResponseValidationError,
    TLSError,
    export,
)
from refiner_async._retry import instant_retries
from refiner_async.testing import FakeRefiner
from tests.conftest import call

CAP = 4 * 1024 * 1024  # max_response_bytes for these clients


async def hostile(request: web.Request) -> web.StreamResponse:
    """One hostile answer per path."""
    kind = request.path.removeprefix("/v1/")
    if kind == "huge-length":  # announces 200 MB, sends 1 KB, then stalls
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = 200_000_000
        await response.prepare(request)
        await response.write(b"[" + b"1," * 512)
        await asyncio.sleep(5)
        return response
    if kind == "endless":  # chunked, never ends
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        chunk = b"[" + b"0," * 32_767
        for _ in range(10_000):
            await response.write(chunk)
        return response
    if kind == "deep":
        return web.Response(body=b"[" * 10_000 + b"]" * 10_000, content_type="application/json")
    if kind == "bigint":
        return web.Response(body=b'{"n": ' + b"7" * 100_000 + b"}", content_type="application/json")
    if kind == "html":
        return web.Response(
            text="<html><body>Sign in to the Wi-Fi</body></html>", content_type="text/html"
        )
    if kind == "plain":
        return web.Response(text="OK", content_type="text/plain")
    if kind == "error-flood":  # a 500 with a 10 MB page
        response = web.StreamResponse(status=500, headers={"Content-Type": "text/html"})
        response.content_length = 10_000_000
        await response.prepare(request)
        for _ in range(10_000_000 // 65_536):
            await response.write(b"x" * 65_536)
        return response
    if kind == "responses":  # list answers whose shape is wrong
        shape = request.query.get("search", "")
        if shape == "items-not-a-list":
            return web.json_response({"items": "nope", "pagination": {}})
        if shape == "cursor-megabyte":
            pagination = {"current_page": 1, "last_page": 1, "next_page_cursor": "c" * 1_000_000}
            return web.json_response({"items": [], "pagination": pagination})
        if shape == "page-is-text":
            return web.json_response({"items": [], "pagination": {"last_page": "many"}})
    return web.json_response({"error": "Not found"}, status=404)


@pytest.fixture
async def hostile_base(raw_server: Callable[..., Awaitable[str]]) -> str:
    return await raw_server(hostile)


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


@pytest.mark.usefixtures("instant")
@pytest.mark.parametrize(
    ("kind", "expected", "attempts"),
    [
        ("huge-length", ResponseTooLargeError, 1),
        ("endless", ResponseTooLargeError, 1),
        ("deep", ResponseDecodeError, 2),
        ("bigint", ResponseDecodeError, 2),
        ("html", ResponseDecodeError, 2),
        ("plain", ResponseDecodeError, 2),
        ("error-flood", ResponseTooLargeError, 1),
    ],
)
async def test_t22_hostile_bodies_become_typed_errors(
    hostile_base: str,
    api_key: str,
    report: Callable[..., str],
    kind: str,
    expected: type[RefinerError],
    attempts: int,
) -> None:
    """Oversized, endless, too deep, over-long numbers, HTML and plain text: typed, memory bounded."""
    async with RefinerClient(
        api_key, base_url=hostile_base, rate_limit=None, max_retries=1, max_response_bytes=CAP
    ) as client:
        error, peak = await peak_while(call(client, "GET", f"/{kind}"))
    report(f"T22 {kind}", error=type(error).__name__, peak_kb=peak // 1024)
    assert isinstance(error, expected)
    assert error.attempts == attempts
    assert peak < 3 * CAP
    if kind in ("html", "plain"):
        assert "text/" in str(error)


@pytest.mark.parametrize("shape", ["items-not-a-list", "cursor-megabyte", "page-is-text"])
async def test_t22_list_answers_of_the_wrong_shape_are_refused(
    hostile_base: str, api_key: str, shape: str
) -> None:
    """A list answer that cannot steer the paginator safely raises ResponseValidationError."""
    async with RefinerClient(api_key, base_url=hostile_base, rate_limit=None) as client:
        with pytest.raises(ResponseValidationError) as caught:
            await client.responses.list(search=shape, pagination="pages").collect()
    assert caught.value.path == "/responses"


async def test_t23_redirects_are_not_followed(
    raw_server: Callable[..., Awaitable[str]], api_key: str, report: Callable[..., str]
) -> None:
    """301/302/307/308 to another origin: not followed, typed error, the other host sees nothing."""
    foreign_calls = Counter[str]()
    leaked: list[str] = []

    async def foreign(request: web.Request) -> web.Response:
        foreign_calls[request.path] += 1
        leaked.extend(v for v in request.headers.values() if api_key in v)
        return web.json_response({"stolen": True})

    foreign_base = await raw_server(foreign)

    async def redirecting(request: web.Request) -> web.Response:
        status = int(request.query.get("status", "302"))
        return web.Response(status=status, headers={"Location": f"{foreign_base}/steal"})

    base = await raw_server(redirecting)
    statuses = {}
    async with RefinerClient(api_key, base_url=base, rate_limit=None) as client:
        for status in (301, 302, 307, 308):
            with pytest.raises(APIStatusError) as caught:
                await call(client, "GET", "/account", params={"status": status})
            statuses[status] = caught.value.status
            assert caught.value.attempts == 1
    report("T23 redirects", statuses=statuses, foreign_requests=sum(foreign_calls.values()))
    assert statuses == {301: 301, 302: 302, 307: 307, 308: 308}
    assert sum(foreign_calls.values()) == 0
    assert leaked == []


@pytest.fixture
def self_signed(tmp_path: Path) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1."""
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def test_t23_self_signed_tls_fails_once_and_is_not_retried(
    raw_server: Callable[..., Awaitable[str]],
    api_key: str,
    self_signed: ssl.SSLContext,
    report: Callable[..., str],
) -> None:
    """A server with a self-signed certificate: TLSError on the first attempt, no retry."""
    handled = Counter[str]()

    async def handler(request: web.Request) -> web.Response:
        handled["n"] += 1
        return web.json_response({"ok": True})

    base = await raw_server(handler, ssl_context=self_signed)
    async with RefinerClient(api_key, base_url=base, rate_limit=None, max_retries=4) as client:
        with pytest.raises(TLSError) as caught:
            await call(client, "GET", "/account")
        retries = client.stats.retries
    report("T23 TLS", error=type(caught.value).__name__, tls_retries=retries, served=handled["n"])
    assert retries == 0
    assert caught.value.attempts == 1
    assert handled["n"] == 0


async def test_a_page_without_the_envelope_mid_export_fails_and_resumes(
    raw_server: Callable[..., Awaitable[str]],
    connect: Callable[..., RefinerClient],
    api_key: str,
    tmp_path: Path,
) -> None:
    """Page 1 announces more than its 100 responses, page 2 answers ``{}``: the export fails with
    ResponseValidationError and no output file (it used to end complete with 100); once the server
    answers again, ``resume=True`` writes every announced response exactly once."""
    async with FakeRefiner(seed=20, responses=200) as fake, connect(fake) as source:
        pages = [
            await call(source, "GET", "/responses", params={"page": n, "page_length": 100})
            for n in (1, 2)
        ]
    broken = True

    async def server(request: web.Request) -> web.Response:
        follows = request.query.get("page_cursor") == pages[0]["pagination"]["next_page_cursor"]
        number = 2 if follows else int(request.query.get("page", "1"))
        if number == 2 and broken:
            return web.json_response({})
        return web.json_response(pages[number - 1])

    base = await raw_server(server)
    out = tmp_path / "responses.jsonl"
    async with RefinerClient(api_key, base_url=base, rate_limit=None) as client:
        with instant_retries(), pytest.raises(ResponseValidationError):
            await export(client, "responses", out, page_length=100)
        assert not out.exists()
        broken = False
        summary = await export(client, "responses", out, page_length=100, resume=True)
    announced = pages[0]["pagination"]["items_count"]
    lines = out.read_bytes().splitlines()
    assert announced > 100  # page 2 holds the rest
    assert summary.items == announced
    assert len(lines) == len({orjson.loads(line)["uuid"] for line in lines}) == announced
