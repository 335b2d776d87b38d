"""RefinerClient: configuration, lifecycle, the owned or borrowed aiohttp session, resource accessors."""

from __future__ import annotations

import functools
import os
import re
import urllib.parse
import warnings
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import aiohttp

from ._decoding import Decoding
from ._http import ClientStats, HTTPCore, RawResponse, SharedSession
from ._logs import configure_logging
from ._ratelimit import Limiter
from ._ratestore import RateStore, Scope
from ._retry import RetryPolicy
from ._types import NOT_GIVEN, NotGiven
from .errors import ConfigurationError

if TYPE_CHECKING:  # the resources (models, converter, paginator) load on first use
    from .models.account import VerifyResult
    from .resources import (
        AccountResource,
        ContactsResource,
        EventsResource,
        FormsResource,
        ReportingResource,
        ResponsesResource,
        SegmentsResource,
    )
    from .resources._passthrough import Passthrough

__all__ = ["DEFAULT_BASE_URL", "RefinerClient"]

DEFAULT_BASE_URL = "https://api.refiner.io/v1"
API_KEY_ENV = "REFINER_API_KEY"
BASE_URL_ENV = "REFINER_BASE_URL"
PER_USER_RATE = 100 / 60  # the API's limit for calls carrying one contact identifier, per second
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024

_KEY_SHAPE = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces or line breaks
_URL_JUNK = re.compile(r"[\s\x00-\x1f\x7f]")  # whitespace or control characters


class RefinerClient:
    """An async client for the Refiner REST API (v1).

    One client owns one aiohttp session (or borrows yours), one rate limiter and one retry policy,
    shared by every call made through it. Use it as ``async with RefinerClient() as client:`` or
    call :meth:`aclose` when done. Construction needs no running event loop; the session is created
    on first use inside the loop, and the client must then stay in that loop.

    Args:
        api_key: the project's API key; ``None`` reads ``REFINER_API_KEY``. Sent only as a Bearer header.
        base_url: the API root; ``None`` reads ``REFINER_BASE_URL``, and without it (or with it
            empty) ``https://api.refiner.io/v1``.
        timeout: seconds allowed for one attempt.
        max_retries: retries after the first attempt (0 disables retrying).
        rate_limit: requests per second across every call of this client (the API allows 4,000 per
            minute per key); ``None`` turns the client-side limit off.
        max_concurrency: requests in flight at once, across everything this client does.
        session: an ``aiohttp.ClientSession`` to borrow; the client never closes it.
        per_user_rate_limit: requests per second for calls carrying the same ``id``/``email``/``uuid``
            (the API allows 100 per minute); ``None`` turns it off.
        deadline: total seconds one call may take, attempts and waits included; ``None`` for none.
        max_response_bytes: a larger response body raises ``ResponseTooLargeError``.
        trace_configs: ``aiohttp.TraceConfig`` objects for the owned session.
        rate_store: where the rate buckets and the 429 pause live
            (:mod:`refiner_async.ratelimit`); clients given one store share them, across processes
            with a ``RedisRateStore``. ``None``: an in-process store of this client's own.
        rate_share: the part of ``rate_limit`` this client may use, in (0, 1]; clients with the same
            share on one store draw on one budget of that size, leaving the rest of the key to others.
        pause_gc: pause Python's cyclic garbage collector while a response is decoded (bulk reads
            spend less CPU; figures in benchmarks/README.md). ``export()`` and the command line turn
            it on. The collector is process-wide, so it is off by default; a collector your
            application disabled stays so.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 4,
        rate_limit: float | None = 4000 / 60,
        max_concurrency: int = 8,
        session: aiohttp.ClientSession | None = None,
        per_user_rate_limit: float | None = PER_USER_RATE,
        deadline: float | None = 300.0,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        trace_configs: list[aiohttp.TraceConfig] | None = None,
        rate_store: RateStore | None = None,
        rate_share: float = 1.0,
        pause_gc: bool = False,
    ) -> None:
        configure_logging(os.environ)
        key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        base_url, base_url_source = resolve_base_url(base_url, os.environ)
        _check_config(
            key,
            base_url=base_url,
            base_url_source=base_url_source,
            timeout=timeout,
            max_retries=max_retries,
            rate_limit=rate_limit,
            max_concurrency=max_concurrency,
            per_user_rate_limit=per_user_rate_limit,
            deadline=deadline,
            max_response_bytes=max_response_bytes,
            rate_store=rate_store,
            rate_share=rate_share,
        )
        _check_pause_gc(pause_gc)
        assert key is not None  # checked above
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.rate_limit = rate_limit
        self.max_concurrency = max_concurrency
        self.rate_share = rate_share
        self.deadline = deadline
        self.max_response_bytes = max_response_bytes
        self._decoding = Decoding(pause_gc=pause_gc)
        scope = Scope(key)  # what the rate store knows of the key: hashes only
        self._core = HTTPCore(
            base_url=self.base_url,
            api_key=key,
            timeout=timeout,
            policy=RetryPolicy(max_retries=max_retries, deadline=deadline),
            limiter=Limiter(
                rate=rate_limit,
                max_concurrency=max_concurrency,
                per_user_rate=per_user_rate_limit,
                store=rate_store,
                scope=scope.name,
                share=rate_share,
                user_bucket=scope.user,
            ),
            session=SharedSession(
                session, connections=max_concurrency, trace_configs=trace_configs or ()
            ),
            max_response_bytes=max_response_bytes,
        )

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return (
            f"<RefinerClient base_url={self.base_url!r} rate_limit={self.rate_limit!r} "
            f"max_concurrency={self.max_concurrency} {state}>"
        )

    def with_options(
        self,
        *,
        timeout: float | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
        max_response_bytes: int | NotGiven = NOT_GIVEN,
        pause_gc: bool | NotGiven = NOT_GIVEN,
    ) -> RefinerClient:
        """A client with other per-call settings that shares this one's session, rate limiter and
        ``stats``: ``quick = client.with_options(timeout=5, max_retries=0, deadline=10)``.

        Options left out keep this client's values; ``deadline=None`` means no deadline. Bad values
        raise ``ConfigurationError`` naming the option, at once.

        The session stays this client's (or the borrowed one this client uses): closing the derived
        client, or leaving its ``async with``, only marks it closed; the parent owns the session and
        closes it, after which derived clients can no longer send.
        """
        settings = (
            self.timeout if isinstance(timeout, NotGiven) else timeout,
            self.max_retries if isinstance(max_retries, NotGiven) else max_retries,
            self.deadline if isinstance(deadline, NotGiven) else deadline,
            self.max_response_bytes
            if isinstance(max_response_bytes, NotGiven)
            else max_response_bytes,
        )
        _check_call_options(*settings)
        if isinstance(pause_gc, NotGiven):
            pause_gc = self._decoding.pause_gc
        _check_pause_gc(pause_gc)
        return self._derived(*settings, pause_gc=pause_gc)

    def _derived(
        self,
        timeout: float,
        max_retries: int,
        deadline: float | None,
        max_response_bytes: int,
        *,
        pause_gc: bool,
    ) -> RefinerClient:
        """A client object built around :meth:`HTTPCore.derive`."""
        derived = object.__new__(type(self))
        derived.base_url = self.base_url
        derived.timeout = timeout
        derived.max_retries = max_retries
        derived.rate_limit = self.rate_limit
        derived.max_concurrency = self.max_concurrency
        derived.rate_share = self.rate_share
        derived.deadline = deadline
        derived.max_response_bytes = max_response_bytes
        derived._decoding = self._decoding.derive(pause_gc=pause_gc)
        derived._core = self._core.derive(
            timeout=timeout,
            max_retries=max_retries,
            deadline=deadline,
            max_response_bytes=max_response_bytes,
        )
        return derived

    @functools.cached_property
    def account(self) -> AccountResource:
        """Plan, usage and environments: ``await client.account.get()``."""
        from .resources import AccountResource

        return AccountResource(self)

    @functools.cached_property
    def contacts(self) -> ContactsResource:
        """Get, delete, identify and list contacts."""
        from .resources import ContactsResource

        return ContactsResource(self)

    @functools.cached_property
    def events(self) -> EventsResource:
        """Track events: ``await client.events.track(name, id=...)``."""
        from .resources import EventsResource

        return EventsResource(self)

    @functools.cached_property
    def forms(self) -> FormsResource:
        """List, publish, duplicate and archive surveys; their history."""
        from .resources import FormsResource

        return FormsResource(self)

    @functools.cached_property
    def reporting(self) -> ReportingResource:
        """Aggregated reports: ``await client.reporting.get("nps")``."""
        from .resources import ReportingResource

        return ReportingResource(self)

    @functools.cached_property
    def responses(self) -> ResponsesResource:
        """List, store and tag survey responses."""
        from .resources import ResponsesResource

        return ResponsesResource(self)

    @functools.cached_property
    def segments(self) -> SegmentsResource:
        """List segments; add or remove contacts in manual segments."""
        from .resources import SegmentsResource

        return SegmentsResource(self)

    @functools.cached_property
    def _passthrough(self) -> Passthrough:
        from .resources._passthrough import Passthrough

        return Passthrough(self)

    async def get(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        """``GET path`` for an endpoint the SDK does not wrap: ``await client.get("/forms")``.

        ``path`` is relative to the base URL (``/contacts``, no query string: parameters go in
        ``params``, encoded as every call encodes them). Returns the decoded JSON (dict, list, scalar,
        or None for an empty body). The call shares the client's limiter, retries, deadline and
        typed errors; a bad ``path`` or ``params`` raises ``InvalidParameterError`` before anything
        is sent.
        """
        return await self._passthrough.json("GET", path, params=params)

    async def post(self, path: str, *, json: Mapping[str, Any] | None = None) -> Any:
        """``POST path`` with a JSON body (``None`` values left out, datetimes as ISO-8601 UTC), for
        an endpoint the SDK does not wrap; returns the decoded JSON as :meth:`get` does.

        A POST may record something each time it arrives, so it is retried only when the request
        provably never reached the server or was refused with 429 (as ``events.track`` is).
        """
        return await self._passthrough.json("POST", path, json=json)

    async def get_raw(self, path: str, *, params: Mapping[str, Any] | None = None) -> RawResponse:
        """:meth:`get`, returning the 2xx reply as it arrived: ``RawResponse(status, headers,
        body)`` with the body's bytes undecoded. Non-2xx replies raise the usual typed errors
        (which carry ``status``, ``headers`` and ``body`` too)."""
        return await self._passthrough.raw("GET", path, params=params)

    async def post_raw(self, path: str, *, json: Mapping[str, Any] | None = None) -> RawResponse:
        """:meth:`post`, returning the 2xx reply as it arrived (see :meth:`get_raw`)."""
        return await self._passthrough.raw("POST", path, json=json)

    async def verify(self) -> VerifyResult:
        """Check the API key (``GET /``); returns the environment (project) it belongs to.

        A missing, malformed, unknown or revoked key raises ``AuthenticationError``.
        """
        return await self.account.verify()

    @property
    def stats(self) -> ClientStats:
        """Counters of this client's requests, attempts, retries and 429s."""
        return self._core.stats

    @property
    def paused_for(self) -> float:
        """Seconds left of the cooldown a 429 imposed on this client (or, with a shared
        ``rate_store``, on the API key); 0.0 while it may send. Read it inside the event loop."""
        return self._core.paused_for

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` has run."""
        return self._core.closed

    async def aclose(self) -> None:
        """Close the owned session (a borrowed one is left open; a client made by
        :meth:`with_options` leaves its parent's open). Safe to call more than once."""
        await self._core.aclose()

    async def __aenter__(self) -> Self:
        if self.closed:
            raise RuntimeError("this RefinerClient is closed; create a new one")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        core = getattr(self, "_core", None)
        if core is not None and core.left_open:
            warnings.warn(
                "RefinerClient was not closed; use 'async with' or 'await client.aclose()'",
                ResourceWarning,
                stacklevel=2,
            )


def _check_config(
    key: str | None,
    *,
    base_url: str,
    base_url_source: str = "base_url",
    timeout: float,
    max_retries: int,
    rate_limit: float | None,
    max_concurrency: int,
    per_user_rate_limit: float | None,
    deadline: float | None,
    max_response_bytes: int,
    rate_store: object = None,
    rate_share: float = 1.0,
) -> None:
    """Raise ConfigurationError naming the first bad setting."""
    if key is None:
        raise ConfigurationError(f"api_key: none given and {API_KEY_ENV} is not set")
    if not key.strip():
        raise ConfigurationError("api_key: must not be empty")
    if not _KEY_SHAPE.fullmatch(key):
        raise ConfigurationError("api_key: must be printable ASCII without spaces or line breaks")
    _check_base_url(base_url, base_url_source)
    _check_call_options(timeout, max_retries, deadline, max_response_bytes)
    if rate_limit is not None and not rate_limit > 0:
        raise ConfigurationError(f"rate_limit: must be positive or None, got {rate_limit!r}")
    if per_user_rate_limit is not None and not per_user_rate_limit > 0:
        raise ConfigurationError(
            f"per_user_rate_limit: must be positive or None, got {per_user_rate_limit!r}"
        )
    if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
        raise ConfigurationError(f"max_concurrency: must be an int, got {max_concurrency!r}")
    if max_concurrency < 1:
        raise ConfigurationError(f"max_concurrency: must be >= 1, got {max_concurrency!r}")
    if rate_store is not None and not isinstance(rate_store, RateStore):
        raise ConfigurationError(
            f"rate_store: must be a RateStore (reserve and pause coroutines), got {rate_store!r}"
        )
    if (
        isinstance(rate_share, bool)
        or not isinstance(rate_share, int | float)
        or not 0 < rate_share <= 1
    ):
        raise ConfigurationError(f"rate_share: must be a number in (0, 1], got {rate_share!r}")
    if rate_share < 1 and rate_limit is None:
        raise ConfigurationError("rate_share: a share needs a rate_limit to take a share of")


def _check_pause_gc(pause_gc: object) -> None:
    if not isinstance(pause_gc, bool):
        raise ConfigurationError(f"pause_gc: must be True or False, got {pause_gc!r}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_call_options(
    timeout: float, max_retries: int, deadline: float | None, max_response_bytes: int
) -> None:
    """Raise ConfigurationError naming the first bad per-call setting (the settings
    :meth:`RefinerClient.with_options` may change)."""
    if not _is_number(timeout) or not timeout > 0:
        raise ConfigurationError(f"timeout: must be a positive number, got {timeout!r}")
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ConfigurationError(f"max_retries: must be an int >= 0, got {max_retries!r}")
    if deadline is not None and (not _is_number(deadline) or not deadline > 0):
        raise ConfigurationError(f"deadline: must be a positive number or None, got {deadline!r}")
    if (
        isinstance(max_response_bytes, bool)
        or not isinstance(max_response_bytes, int)
        or max_response_bytes < 1
    ):
        raise ConfigurationError(
            f"max_response_bytes: must be an int >= 1, got {max_response_bytes!r}"
        )


def resolve_base_url(given: str | None, environ: Mapping[str, str]) -> tuple[str, str]:
    """The base URL to use and where it came from (named in errors): the argument, else a non-empty
    ``REFINER_BASE_URL``, else :data:`DEFAULT_BASE_URL`."""
    if given is not None:
        return given, "base_url"
    if environ.get(BASE_URL_ENV, "").strip():
        return environ[BASE_URL_ENV], BASE_URL_ENV
    return DEFAULT_BASE_URL, "base_url"


def _check_base_url(base_url: str, name: str = "base_url") -> None:
    """Raise ConfigurationError unless ``base_url`` is a plain ``http(s)://host[:port][/path]``;
    ``name`` is the setting it came from.

    Whitespace and control characters (yarl would drop a CR/LF silently), a query (the call's path
    would land in it), a fragment (the path would be cut off) and credentials are refused.
    """
    if not isinstance(base_url, str) or _URL_JUNK.search(base_url):
        raise ConfigurationError(
            f"{name}: must not contain spaces, line breaks or control characters, got {base_url!r}"
        )
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"{name}: must be an http(s) URL, got {base_url!r}")
    if "?" in base_url or "#" in base_url:
        raise ConfigurationError(f"{name}: must not have a query or a fragment, got {base_url!r}")
    if "@" in parts.netloc:
        raise ConfigurationError(f"{name}: must not carry credentials (the key goes in api_key)")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        raise ConfigurationError(f"{name}: bad port in {base_url!r}") from None
