"""Where a limiter's buckets and 429 pause live: the :class:`RateStore` protocol and its in-process store.

A store answers one question per request, atomically: *reserve a turn in every one of these buckets
and say how long to wait before sending*, or decline without reserving anything when that wait
would pass the call's deadline. Each bucket is a GCRA (generic cell rate algorithm) bucket: its
state is one number, the *theoretical arrival time* (TAT) of the next request. A request may go at
``max(now, pause end, TAT_b - tolerance_b for every bucket b)``; each bucket's TAT then becomes
``max(TAT_b, that moment) + interval_b``. With ``interval = 1 / drain`` and
``tolerance = (capacity - 1) / drain`` this is exactly the leaky bucket of
:func:`refiner_async._ratelimit.bucket_shape`. The decision is the pure function :func:`gcra`,
which the Redis store's Lua script restates on Redis's clock.

Buckets and pauses are named inside a *scope*: one API key, known to stores only by a hash
(:class:`Scope`); per-user buckets are named by a keyed hash of the contact identifier.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import attrs

__all__ = [
    "MAX_TRACKED_BUCKETS",
    "Bucket",
    "InProcessRateStore",
    "RateStore",
    "Reservation",
    "Scope",
    "gcra",
]

MAX_TRACKED_BUCKETS = 10_000  # bucket states kept per scope in process (idle ones go first)


@attrs.frozen
class Bucket:
    """One GCRA bucket: ``name`` within its scope, seconds between requests, seconds of burst."""

    name: str
    interval: float  # 1 / drain: seconds each request adds to the bucket's TAT
    tolerance: float  # (capacity - 1) / drain: how far before its TAT a request may go


@attrs.frozen
class Reservation:
    """A store's answer: ``granted`` with ``wait`` seconds to sleep before sending, or declined
    (nothing reserved) because ``wait`` would pass the deadline. ``paused`` is the seconds left in
    the scope's 429 pause as the store saw it."""

    granted: bool
    wait: float
    paused: float = 0.0


@runtime_checkable
class RateStore(Protocol):
    """Holds the rate buckets and the 429 pause that one or many clients share.

    Implementations must make :meth:`reserve` atomic across everyone sharing the store, and must
    measure time on one clock for all of them (the in-process store: the event loop's; Redis: its
    own ``TIME``).
    """

    async def reserve(
        self, scope: str, buckets: Sequence[Bucket], *, max_wait: float | None
    ) -> Reservation:
        """Reserve one request in every bucket of ``buckets`` (all or none), after the scope's
        pause. Declines, reserving nothing, when the wait would exceed ``max_wait`` seconds."""
        ...

    async def pause(self, scope: str, seconds: float, *, bucket: Bucket | None = None) -> float:
        """Hold the scope back for ``seconds`` from now; extends a pause, never shortens it.
        Returns the seconds the pause now has left. With ``bucket``, hold back only the turns
        taken in that bucket (a contact's own 429): its next turn comes ``seconds`` from now at
        the earliest."""
        ...


def gcra(
    now: float,
    paused_until: float,
    tats: Sequence[float],
    buckets: Sequence[Bucket],
    max_wait: float | None,
) -> tuple[Reservation, list[float]]:
    """The reservation at ``now`` and the buckets' new TATs (the old ones when declined).

    ``tats[i]`` is bucket ``i``'s theoretical arrival time (0 for a bucket never used).
    """
    start = max(now, paused_until)
    for tat, bucket in zip(tats, buckets, strict=True):
        start = max(start, tat - bucket.tolerance)
    wait = start - now
    paused = max(0.0, paused_until - now)
    if max_wait is not None and wait > max_wait:
        return Reservation(False, wait, paused), list(tats)
    new = [max(tat, start) + bucket.interval for tat, bucket in zip(tats, buckets, strict=True)]
    return Reservation(True, wait, paused), new


class Scope:
    """The names a store sees for one API key: a hash of the key, and keyed hashes of identifiers.

    ``name`` is the first 24 hex digits of SHA-256 over the key; a contact identifier becomes the
    first 32 hex digits of HMAC-SHA-256 keyed by the API key, so that nobody reading the store can
    test guesses of identifiers without the key. Neither the key nor an identifier is kept.
    """

    def __init__(self, api_key: str) -> None:
        secret = api_key.encode()
        self.name = hashlib.sha256(b"refiner-async rate scope\x00" + secret).hexdigest()[:24]
        self._mac = hmac.new(secret, digestmod=hashlib.sha256)

    def user(self, identifier: str) -> str:
        """The bucket name of calls carrying ``identifier`` (``id:42``, ``email:a@b.c``...)."""
        mac = self._mac.copy()
        mac.update(identifier.encode())
        return "user:" + mac.hexdigest()[:32]

    def __repr__(self) -> str:
        return f"<Scope {self.name}>"


class InProcessRateStore:
    """A :class:`RateStore` in this process's memory, on the running event loop's clock.

    Every client has one of its own unless given a store; one instance passed to several clients
    of one process and one event loop makes them share their buckets and pauses (and
    ``rate_share`` splits them). No locking is needed: a reservation runs without awaiting.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] | None = None,
        max_buckets: int = MAX_TRACKED_BUCKETS,
    ) -> None:
        self._clock = clock
        self._max_buckets = max_buckets
        self._tats: dict[str, OrderedDict[str, float]] = {}  # scope -> bucket name -> TAT
        self._paused: dict[str, float] = {}  # scope -> moment its pause ends

    def _now(self) -> float:
        if self._clock is not None:
            return self._clock()
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:
            return time.monotonic()

    async def reserve(
        self, scope: str, buckets: Sequence[Bucket], *, max_wait: float | None
    ) -> Reservation:
        return self.reserve_now(scope, buckets, max_wait=max_wait)

    def reserve_now(
        self, scope: str, buckets: Sequence[Bucket], *, max_wait: float | None
    ) -> Reservation:
        """:meth:`reserve` without a coroutine (it never waits)."""
        now = self._now()
        states = self._tats.setdefault(scope, OrderedDict())
        tats = [states.get(b.name, 0.0) for b in buckets]
        reservation, new = gcra(now, self._paused.get(scope, 0.0), tats, buckets, max_wait)
        if reservation.granted:
            for bucket, tat in zip(buckets, new, strict=True):
                states[bucket.name] = tat
                states.move_to_end(bucket.name)
            if len(states) > self._max_buckets:
                self._forget_idle(states, now)
        return reservation

    async def pause(self, scope: str, seconds: float, *, bucket: Bucket | None = None) -> float:
        return self.pause_now(scope, seconds, bucket=bucket)

    def pause_now(self, scope: str, seconds: float, *, bucket: Bucket | None = None) -> float:
        """:meth:`pause` without a coroutine."""
        now = self._now()
        if bucket is None:
            until = max(self._paused.get(scope, 0.0), now + seconds)
            self._paused[scope] = until
            return max(0.0, until - now)
        # A bucket's next turn comes at its TAT less its tolerance: move the TAT past the pause.
        states = self._tats.setdefault(scope, OrderedDict())
        tat = max(states.get(bucket.name, 0.0), now + seconds + bucket.tolerance)
        states[bucket.name] = tat
        states.move_to_end(bucket.name)
        return max(0.0, tat - bucket.tolerance - now)

    def _forget_idle(self, states: OrderedDict[str, float], now: float) -> None:
        """Drop buckets back at rest (a TAT in the past is the same as no state), then the least
        recently used ones while over the bound."""
        for name in [name for name, tat in states.items() if tat <= now]:
            del states[name]
        while len(states) > self._max_buckets:
            states.popitem(last=False)

    def __repr__(self) -> str:
        return f"<InProcessRateStore scopes={len(self._tats)}>"
