"""Writes on connections that drop: the SDK's retry policy, not aiohttp, decides what is repeated.

Two small hostile servers on 127.0.0.1, written here because the emulator cannot misbehave this way:
one applies a DELETE and then drops the connection without answering; the other answers each
request and then closes the keep-alive connection, so that the client's next write goes into a
connection the server has already closed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from refiner_async import APIConnectionError, NotFoundError, OutcomeUnknownError, RefinerClient

pytestmark = pytest.mark.usefixtures("instant")

KEY = "0123456789abcdef0123456789abcdef01234567"
Handler = Callable[[str, bytes, asyncio.StreamWriter], Awaitable[bool]]


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, bytes] | None:
    """One request: its request line and body; None at end of stream."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return lines[0], body


def _answer(writer: asyncio.StreamWriter, status: str, body: bytes) -> None:
    writer.write(
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


@asynccontextmanager
async def _server(handler: Handler) -> AsyncIterator[str]:
    """Serve ``handler`` (request line, body, writer) -> keep the connection open? on 127.0.0.1."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (request := await _read_request(reader)) is not None:
                if not await handler(*request, writer):
                    break
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.close()
        await server.wait_closed()


def _client(base_url: str, **options: Any) -> RefinerClient:
    return RefinerClient(
        KEY, base_url=base_url, rate_limit=None, per_user_rate_limit=None, **options
    )


class DeleteThenDrop:
    """Deletes the contact, then drops the connection unanswered; later DELETEs answer 404."""

    def __init__(self) -> None:
        self.contacts = {"u1"}
        self.deletes = 0  # DELETE /contact requests received

    async def __call__(self, line: str, body: bytes, writer: asyncio.StreamWriter) -> bool:
        if not line.startswith("DELETE /v1/contact?id=u1 "):
            _answer(writer, "200 OK", b'{"message":"ok"}')
            return True
        self.deletes += 1
        if "u1" in self.contacts:
            self.contacts.discard("u1")
            writer.transport.abort()  # applied, then the connection is gone
            return False
        _answer(writer, "404 Not Found", b'{"error":"Contact not found"}')
        return True


@pytest.mark.parametrize("warm", [False, True], ids=["fresh connection", "reused connection"])
async def test_a_delete_applied_before_the_drop_is_never_reported_not_found(warm: bool) -> None:
    """The DELETE is sent once per SDK attempt (aiohttp does not replay it), and a 404 on the
    SDK's retry after a drop that may have followed the delete is OutcomeUnknownError, with the
    attempts counted as the server counted them."""
    server = DeleteThenDrop()
    async with _server(server) as base_url, _client(base_url, max_retries=2) as client:
        if warm:
            await client.account.verify()  # leaves a keep-alive connection in the pool
        with pytest.raises(OutcomeUnknownError) as caught:
            await client.contacts.delete(id="u1")
    assert server.contacts == set()
    assert server.deletes == 2
    assert caught.value.attempts == 2
    assert client.stats.attempts == (3 if warm else 2)
    assert "may have" in str(caught.value)


async def test_a_dropped_delete_without_retries_is_a_connection_error_after_one_request() -> None:
    """With max_retries=0 the dropped DELETE raises APIConnectionError, never NotFoundError, and
    the server saw exactly the one request the SDK counts."""
    server = DeleteThenDrop()
    async with _server(server) as base_url, _client(base_url, max_retries=0) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.contacts.delete(id="u1")
    assert not isinstance(caught.value, NotFoundError)
    assert server.deletes == 1
    assert caught.value.attempts == 1


async def test_a_404_without_an_earlier_ambiguous_attempt_stays_not_found() -> None:
    """A DELETE of a contact that does not exist, answered 404 at once, is NotFoundError."""
    server = DeleteThenDrop()
    server.contacts.clear()
    async with _server(server) as base_url, _client(base_url) as client:
        with pytest.raises(NotFoundError):
            await client.contacts.delete(id="u1")
    assert server.deletes == 1


class CloseAfterAnswer:
    """Runs in a thread of its own (another process, as far as the client's loop can tell): answers
    each track-event on a keep-alive connection, then closes the connection, and signals once the
    close is done."""

    def __init__(self) -> None:
        self.applied = 0
        self.closed = threading.Event()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await _read_request(reader)
        if request is not None:
            self.applied += 1
            _answer(writer, "200 OK", b'{"message":"ok"}')  # no "Connection: close"
            await writer.drain()
        writer.close()
        await writer.wait_closed()
        self.closed.set()

    def _run(self) -> None:
        async def start() -> asyncio.Server:
            return await asyncio.start_server(self._serve, "127.0.0.1", 0)

        server = self._loop.run_until_complete(start())
        self.port = server.sockets[0].getsockname()[1]
        self._started.set()
        self._loop.run_forever()
        server.close()
        self._loop.run_until_complete(server.wait_closed())
        self._loop.close()

    def __enter__(self) -> CloseAfterAnswer:
        self._thread.start()
        self._started.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


async def test_a_write_is_never_put_into_a_connection_the_server_has_closed() -> None:
    """Track-events on keep-alive connections the server closes right after each answer: when the
    close has reached the client before the next write, that connection is not used; every event
    is sent once and recorded once, none is OutcomeUnknownError."""
    outcomes: list[str] = []
    with CloseAfterAnswer() as server:
        async with _client(f"http://127.0.0.1:{server.port}/v1", max_retries=0) as client:
            for _ in range(20):
                server.closed.clear()
                try:
                    await client.events.track("signed_in", id="u1")
                except APIConnectionError as error:
                    outcomes.append(type(error).__name__)
                    continue
                outcomes.append("ok")
                # The loop is busy elsewhere (blocked here) while the server's close arrives.
                assert server.closed.wait(10)
    assert outcomes == ["ok"] * 20
    assert server.applied == 20
    assert client.stats.attempts == 20
