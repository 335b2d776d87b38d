"""The one request path every call takes: limiter -> retry -> send -> read -> map errors, returning
the 2xx reply as bytes (:class:`RawResponse`) or what the caller's ``decode`` makes of it.

This module owns the aiohttp session (:class:`SharedSession`) and is the only one that talks to
aiohttp. Every
aiohttp failure is translated here, once, into the error tree of :mod:`refiner_async.errors`. What a
body means is not known here: the codecs (:mod:`._codec`) decode it, inside the retry loop, so that
a reply that cannot be read is asked for again as the retry policy allows.
"""

from __future__ import annotations

import asyncio
import platform
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar, overload

import aiohttp
import attrs
import orjson

from . import _decompress, _protocol, errors
from ._logs import logger
from ._ratelimit import Limiter, QueueDeadline
from ._retry import (
    RetryPolicy,
    may_have_applied,
    retry_wait,
    shared_cooldown,
    should_retry,
    surfaced_error,
)
from ._version import __version__

__all__ = ["ClientStats", "Decode", "HTTPCore", "RawResponse", "SharedSession"]

T = TypeVar("T")


USER_AGENT = (
    f"refiner-async/{__version__} python/{platform.python_version()} aiohttp/{aiohttp.__version__}"
)


@attrs.define
class ClientStats:
    """Counters of one client's traffic since it was created."""

    requests: int = 0  # calls made (each may take several attempts)
    attempts: int = 0  # HTTP exchanges started
    retries: int = 0  # attempts repeated after a failure
    rate_limited: int = 0  # 429 replies received
    rate_limit_wait: float = 0.0  # seconds of cooldown the 429s imposed


@attrs.frozen
class RawResponse:
    """One call's 2xx response as it arrived: ``await client.get_raw(path)``.

    ``status`` is the HTTP status, ``headers`` the server's headers (a read-only, case-insensitive
    mapping; the API key is replaced wherever a server echoed it), ``body`` the bytes of the body
    (decompressed), not decoded.
    """

    status: int
    headers: Mapping[str, str]
    body: bytes = attrs.field(repr=lambda body: f"<{len(body)} bytes>")
    method: str = ""  # the call this replies to, e.g. "GET"
    path: str = ""  # and its path, e.g. "/responses"


#: What a caller makes of a 2xx reply (decoded JSON, a page of models...), run in the retry loop.
Decode = Callable[[RawResponse], Awaitable[T]]


class SharedSession:
    """The aiohttp session behind a client and the clients ``with_options`` derives from it: a
    borrowed one (used, never closed), or one created in the event loop that first sends, bound to
    that loop, and closed by :meth:`aclose`."""

    def __init__(
        self,
        borrowed: aiohttp.ClientSession | None,
        *,
        connections: int,
        trace_configs: Sequence[aiohttp.TraceConfig] = (),
    ) -> None:
        self.borrowed = borrowed  # a caller's session: used, never closed
        self.session = borrowed  # the session in use (None until an owned one is created)
        self.closed = False
        self._connections = connections  # the owned session's connection limit
        self._trace_configs = list(trace_configs)
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop the session is bound to

    def get(self) -> aiohttp.ClientSession:
        """The session, created on first use in the running loop."""
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError(
                "this RefinerClient was first used in another event loop; "
                "create one client per event loop"
            )
        if self.session is None:
            self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections),
                trace_configs=self._trace_configs or None,
            )
        return self.session

    @property
    def left_open(self) -> bool:
        """Whether an owned session was created and not closed."""
        session = self.session
        return session is not None and session is not self.borrowed and not session.closed

    async def aclose(self) -> None:
        """Close an owned session (a borrowed one is left open); no session is handed out after."""
        self.closed = True
        session, self.session = self.session, None
        if session is not None and session is not self.borrowed:
            await session.close()


class HTTPCore:
    """Sends one logical call with the client's limiter and retry policy; returns its 2xx reply."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        timeout: float,
        policy: RetryPolicy,
        limiter: Limiter,
        session: SharedSession,
        max_response_bytes: int,
        derived: bool = False,
    ) -> None:
        self._base_url = base_url
        self._api_key = api_key  # only ever placed in the Authorization header
        self._timeout = timeout  # seconds per attempt
        self._policy = policy
        self._limiter = limiter
        self.shared = session
        self._derived = derived  # made by derive(): the session is the parent core's to close
        self._max_response_bytes = max_response_bytes
        self.stats = ClientStats()
        self.closed = False

    def session(self) -> aiohttp.ClientSession:
        """The session to send with; RuntimeError once this core or its parent is closed."""
        if self.closed:
            raise RuntimeError("this RefinerClient is closed; create a new one")
        if self.shared.closed:
            raise RuntimeError(
                "the RefinerClient this one was derived from (with_options) is closed"
            )
        return self.shared.get()

    @property
    def left_open(self) -> bool:
        """Whether this core owns a session that was created and never closed."""
        return not self._derived and self.shared.left_open

    async def aclose(self) -> None:
        """Refuse further calls; the core that owns the session closes it."""
        if self.closed:
            return
        self.closed = True
        if not self._derived:
            await self.shared.aclose()

    @property
    def paused_for(self) -> float:
        """Seconds left of the cooldown a 429 imposed (0.0 when none)."""
        return self._limiter.paused_for

    def derive(
        self,
        *,
        timeout: float,
        max_retries: int,
        deadline: float | None,
        max_response_bytes: int,
    ) -> HTTPCore:
        """A core with other per-call settings that shares this one's session, limiter and stats:
        calls through either are paced and counted as one client's. Closing it leaves the session
        open; once this core is closed, it refuses to send."""
        core = HTTPCore(
            base_url=self._base_url,
            api_key=self._api_key,
            timeout=timeout,
            policy=attrs.evolve(self._policy, max_retries=max_retries, deadline=deadline),
            limiter=self._limiter,
            session=self.shared,
            max_response_bytes=max_response_bytes,
            derived=True,
        )
        core.stats = self.stats
        return core

    @overload
    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        idempotent: bool = True,
        decode: None = None,
    ) -> RawResponse: ...

    @overload
    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        idempotent: bool = True,
        decode: Decode[T],
    ) -> T: ...

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        idempotent: bool = True,
        decode: Decode[T] | None = None,
    ) -> T | RawResponse:
        """Send ``method path`` with query ``params`` and/or a JSON body; retry as the policy allows.

        Returns the 2xx reply, or ``await decode(reply)``: a decode that raises
        ``ResponseDecodeError`` or ``ResponseValidationError`` counts as a failed attempt.

        ``idempotent=False`` marks writes that must not be repeated once they may have reached the
        server (track-event, store response): those retry only failed connects and 429 refusals.
        """
        loop = asyncio.get_running_loop()
        deadline = None if self._policy.deadline is None else loop.time() + self._policy.deadline
        query = _protocol.encode_query(params) if params else None
        body = orjson.dumps(_protocol.encode_json(json)) if json is not None else None
        user = _protocol.user_key(params, json)
        self.stats.requests += 1
        attempt = 0
        maybe_applied = False  # whether a failed attempt may have taken effect
        while True:
            attempt += 1
            try:
                reply = await self._attempt(method, path, query, body, user, attempt, deadline)
                return reply if decode is None else await decode(reply)
            except QueueDeadline as declined:  # never sent: a definite error, never retried
                raise errors.APITimeoutError(
                    f"not sent: {declined}",
                    method=method,
                    path=path,
                    attempts=attempt,
                    request_sent=False,
                ) from None
            except errors.RefinerError as error:
                if isinstance(error, errors._RequestError):
                    error.attempts = attempt
                wait = None
                if attempt <= self._policy.max_retries and should_retry(
                    error, idempotent=idempotent
                ):
                    wait = retry_wait(error, attempt, self._policy)
                if wait is not None and deadline is not None and loop.time() + wait >= deadline:
                    wait = None
                if isinstance(error, errors.RateLimitError):
                    self.stats.rate_limited += 1
                    # One cooldown for every caller (or for the contact the call names), then a
                    # pace, whether this call retries or not.
                    self._limiter.throttled(shared_cooldown(error, wait, self._policy), user=user)
                    await self._limiter.publish_pause()  # now, not when a caller next comes by
                if wait is None:
                    raise surfaced_error(  # noqa: B904
                        error, idempotent=idempotent, maybe_applied=maybe_applied
                    )
                maybe_applied = maybe_applied or may_have_applied(error)
                self.stats.retries += 1
                logger.info(
                    "retrying %s %s in %.2f s after %s (attempt %d of %d)",
                    method,
                    path,
                    wait,
                    type(error).__name__,
                    attempt,
                    self._policy.max_retries + 1,
                )
                if isinstance(error, errors.RateLimitError):
                    self.stats.rate_limit_wait += wait
                await asyncio.sleep(wait)

    async def _attempt(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]] | None,
        body: bytes | None,
        user: str | None,
        attempt: int,
        deadline: float | None,
    ) -> RawResponse:
        session = self.session()
        loop = asyncio.get_running_loop()
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            "Accept-Encoding": _decompress.ACCEPT_ENCODING,
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        async with self._limiter.slot(user, deadline=deadline) as waited:
            if waited > 0.001:
                logger.debug("%s %s waited %.3f s for the rate limiter", method, path, waited)
            budget = (
                self._timeout if deadline is None else min(self._timeout, deadline - loop.time())
            )
            if budget <= 0:
                raise errors.APITimeoutError(
                    "not sent: the call's total deadline ran out",
                    method=method,
                    path=path,
                    request_sent=False,
                )
            if method != "GET":
                await _settle_closed_connections()
            self.stats.attempts += 1
            started = loop.time()
            try:
                async with session.request(
                    method,
                    _protocol.join_url(self._base_url, path),
                    params=query,
                    data=body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=budget),
                    allow_redirects=False,
                    auto_decompress=False,  # _read inflates, within max_response_bytes
                    raise_for_status=False,  # a borrowed session's own setting must not map errors
                    **_NO_REPLAY.get(method, {}),
                ) as response:
                    status = response.status
                    received = response.headers  # read-only; copied only where kept
                    retry_after = received.get("Retry-After")
                    raw = await self._read(response, method, path)
            except _NotReplayed as exc:
                raise self._connection_error(exc.dropped, method, path) from exc.dropped
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise self._connection_error(exc, method, path) from exc
        if status != 429:
            self._limiter.replied()
        elapsed_ms = (loop.time() - started) * 1000
        logger.debug("%s %s -> %d (attempt %d, %.0f ms)", method, path, status, attempt, elapsed_ms)
        kept = _protocol.response_headers(received.items(), self._api_key)
        if 200 <= status < 300:
            return RawResponse(status, kept, raw, method, path)
        raise _protocol.error_for_status(
            status,
            _protocol.redact_body(_error_body(raw), self._api_key),
            method=method,
            path=path,
            retry_after=_protocol.parse_retry_after(retry_after, time.time()),
            headers=kept,
        )

    async def _read(self, response: aiohttp.ClientResponse, method: str, path: str) -> bytes:
        """The whole body, decompressed, refused once it is known to exceed ``max_response_bytes``.

        The cap bounds both the bytes on the wire and the decompressed body: a gzip or deflate body
        is inflated here chunk by chunk (the request asks aiohttp not to), and the read stops as
        soon as the output passes the cap, so a compression bomb never grows in memory.
        """
        cap = self._max_response_bytes
        status = response.status
        length = response.content_length
        if length is not None and length > cap:
            raise _too_large(length, cap, status, method, path)
        encoding = response.headers.get("Content-Encoding")
        try:
            inflater = _decompress.inflater_for(encoding, cap)
        except _decompress.UnsupportedEncoding:
            raise errors.ResponseDecodeError(
                f"response has a Content-Encoding the SDK did not ask for: {encoding!r}",
                method=method,
                path=path,
                status=status,
            ) from None
        chunks: list[bytes] = []
        wire = 0  # bytes received
        try:
            async for chunk in response.content.iter_any():
                wire += len(chunk)
                if wire > cap:
                    raise _too_large(wire, cap, status, method, path)
                chunks.append(chunk if inflater is None else inflater.feed(chunk))
            if inflater is not None:
                chunks.append(inflater.finish())
        except _decompress.TooLarge as exc:
            raise _too_large(exc.size, cap, status, method, path, decompressed=True) from None
        except _decompress.Corrupt as exc:
            raise errors.ResponseDecodeError(
                f"response body is not valid {encoding} data ({exc})",
                method=method,
                path=path,
                status=status,
            ) from None
        return b"".join(chunks)

    def _connection_error(
        self, exc: BaseException, method: str, path: str
    ) -> errors.APIConnectionError:
        detail = _protocol.redact(f"{type(exc).__name__}: {exc}", self._api_key)
        if isinstance(exc, aiohttp.ClientSSLError):
            return errors.TLSError(f"TLS failure ({detail})", method=method, path=path)
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            return errors.APITimeoutError(
                f"connect timed out ({detail})", method=method, path=path, request_sent=False
            )
        if isinstance(exc, TimeoutError):
            return errors.APITimeoutError(
                f"timed out after {self._timeout:g} s ({detail})", method=method, path=path
            )
        if isinstance(exc, aiohttp.ClientConnectorError):
            return errors.APIConnectionError(
                f"could not connect ({detail})", method=method, path=path, request_sent=False
            )
        if isinstance(exc, aiohttp.ClientPayloadError):
            return errors.APIConnectionError(
                f"response body cut short ({detail})", method=method, path=path
            )
        return errors.APIConnectionError(f"connection failed ({detail})", method=method, path=path)


async def _settle_closed_connections() -> None:
    """Two loop passes before a write takes a pooled connection: the first polls the sockets, the
    second lets a connection whose close (FIN) has already arrived mark its transport closing, so
    that the pool discards it instead of writing the request into a connection the server has
    closed (which would end as ``OutcomeUnknownError`` for a write that never reached it)."""
    await asyncio.sleep(0)
    await asyncio.sleep(0)


class _NotReplayed(aiohttp.ClientConnectionError):
    """A dropped connection, carried past aiohttp's own replay of idempotent methods (which reacts
    only to ClientOSError and ServerDisconnectedError), so that the retry policy decides instead."""

    def __init__(self, dropped: aiohttp.ClientError) -> None:
        super().__init__(str(dropped))
        self.dropped = dropped


async def _no_replay(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """Per-request middleware: a connection dropped while sending or before the reply's headers is
    raised as :class:`_NotReplayed` rather than replayed by aiohttp on its own."""
    try:
        return await handler(request)
    except aiohttp.ClientConnectorError:
        raise  # a failed connect: aiohttp does not replay it either
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as exc:
        raise _NotReplayed(exc) from exc


#: Per-method request options: aiohttp replays an idempotent DELETE once by itself when the
#: connection drops; a DELETE that was applied before the drop then gets 404 on the replay, so
#: DELETEs go through :func:`_no_replay` and the retry policy sees every attempt (a replayed GET is
#: harmless and keeps aiohttp's quick resend).
_NO_REPLAY: dict[str, dict[str, Any]] = {"DELETE": {"middlewares": (_no_replay,)}}


def _too_large(
    size: int, cap: int, status: int, method: str, path: str, *, decompressed: bool = False
) -> errors.ResponseTooLargeError:
    text = (
        f"decompressed response exceeds max_response_bytes={cap} (stopped after {size} bytes)"
        if decompressed
        else f"response of {size} bytes exceeds max_response_bytes={cap}"
    )
    return errors.ResponseTooLargeError(
        text,
        method=method,
        path=path,
        status=status,
    )


def _error_body(raw: bytes) -> object:
    """An error reply's body: decoded JSON when it is JSON, else its text."""
    try:
        return orjson.loads(raw)
    except (ValueError, RecursionError):
        return raw.decode("utf-8", "replace")
