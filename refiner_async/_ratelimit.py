"""The client's one shared limiter: request rate, requests in flight, per-user rate, 429 cooldown.

Every request of a client passes :meth:`Limiter.slot` once per attempt, meeting in this order:

1. the per-user bucket when the call carries a contact identifier (the API's 100 per minute rule);
2. a concurrency slot (at most ``max_concurrency`` requests in flight);
3. the cooldown: after a 429 the whole limiter pauses until the Retry-After instant, one pause for
   every caller rather than one sleep per task;
4. the client-wide bucket (the API's 4,000 per minute per key);
5. the pace: a 429 also means the server allows less than this client sends (the key is shared
   with other processes, or ``rate_limit`` is set too high). The first 429 of a cooldown sets a pace
   of 0.7x the send rate of the last second (or of the current pace, if lower), so the callers
   released when the cooldown ends start one after another instead of all at once. From then on
   the pace doubles every 4 s until it no longer holds anyone back; each later cooldown lowers it
   again (the adaptive client rate of botocore's "adaptive" retry mode, in its simplest form).

Buckets are aiolimiter leaky buckets sized so that no one-second window sees more than the nominal
rate: capacity ``max(1, 0.02 * rate)`` draining at ``min(0.97 * rate, rate - capacity + 1)``. A
plain ``AsyncLimiter(rate, 1)`` would let a full second's worth through at once (1.5x the rate over
two seconds), and ``AsyncLimiter(1, 1 / rate)`` reaches only about 70% of the rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import OrderedDict, deque
from collections.abc import AsyncIterator

from aiolimiter import AsyncLimiter

__all__ = ["Limiter", "bucket_shape"]

MAX_TRACKED_USERS = 10_000  # per-user buckets kept (least recently used dropped first)
PACE_FACTOR = 0.7  # a 429 sets the pace to this share of the send rate of the last second
PACE_DOUBLING = 4.0  # seconds for the pace to double again after a 429
PACE_FLOOR = 0.5  # requests per second: the slowest pace
PACE_CEILING = 10_000.0  # requests per second: a pace this high (without rate_limit) is dropped


def bucket_shape(rate: float) -> tuple[float, float]:
    """``(capacity, drain per second)`` of a bucket that stays within ``rate`` in every 1 s window."""
    capacity = max(1.0, 0.02 * rate)
    drain = min(0.97 * rate, rate - capacity + 1.0)
    return capacity, drain


def _bucket(rate: float) -> AsyncLimiter:
    capacity, drain = bucket_shape(rate)
    return AsyncLimiter(capacity, capacity / drain)


class Limiter:
    """Rate, concurrency, per-user and cooldown limits shared by every request of one client."""

    def __init__(
        self,
        *,
        rate: float | None,
        max_concurrency: int,
        per_user_rate: float | None = None,
    ) -> None:
        self._bucket = _bucket(rate) if rate else None  # client-wide requests per second
        self._per_user_rate = per_user_rate
        self._users: OrderedDict[str, AsyncLimiter] = OrderedDict()  # identifier -> its bucket
        self._in_flight = asyncio.Semaphore(max_concurrency)
        self._paused_until = 0.0  # loop time before which no request may start (429 cooldown)
        self._rate = rate
        self._starts: deque[float] = deque()  # loop times requests started, the last second's
        self._pace: tuple[float, float] | None = None  # (requests per second, from) after a 429
        self._next_start = 0.0  # loop time the next paced request may start

    def pause(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` from now (extends, never shortens, a pause).

        The first pause of a cooldown also sets the pace at which requests start once it ends.
        """
        now = asyncio.get_running_loop().time()
        until = now + seconds
        if now >= self._paused_until:  # the 429s of requests already in flight count once
            sending = min(self._send_rate(now), self.pace or PACE_CEILING)
            self._pace = (max(PACE_FLOOR, PACE_FACTOR * sending), until)
            self._next_start = max(self._next_start, until)
        self._paused_until = max(self._paused_until, until)

    def _forget_starts(self, now: float) -> None:
        while self._starts and self._starts[0] <= now - 1.0:
            self._starts.popleft()

    def _send_rate(self, now: float) -> float:
        """Requests started per second over the last second (over less when younger)."""
        self._forget_starts(now)
        if not self._starts:
            return 0.0
        return len(self._starts) / max(0.1, now - self._starts[0])

    @property
    def pace(self) -> float | None:
        """Requests per second the client holds itself to after a 429; None when not slowed."""
        if self._pace is None:
            return None
        rate, since = self._pace  # the pace holds during the cooldown and grows once it ends
        grown = max(0.0, asyncio.get_running_loop().time() - since)
        pace = rate * math.pow(2.0, grown / PACE_DOUBLING)
        if pace >= (self._rate or PACE_CEILING):
            self._pace = None
            return None
        return pace

    @property
    def paused_for(self) -> float:
        """Seconds left in the current cooldown (0 when none)."""
        return max(0.0, self._paused_until - asyncio.get_running_loop().time())

    def _user_bucket(self, key: str) -> AsyncLimiter | None:
        if self._per_user_rate is None:
            return None
        bucket = self._users.get(key)
        if bucket is None:
            bucket = self._users[key] = _bucket(self._per_user_rate)
            if len(self._users) > MAX_TRACKED_USERS:
                self._users.popitem(last=False)
        else:
            self._users.move_to_end(key)
        return bucket

    async def _cooldown(self) -> float:
        waited = 0.0
        while (left := self.paused_for) > 0:
            waited += left
            await asyncio.sleep(left)
        return waited

    async def _paced(self) -> None:
        """Wait for this request's turn at the pace set by the last 429 (no wait when none)."""
        pace = self.pace
        if pace is None:
            return
        now = asyncio.get_running_loop().time()
        start = max(now, self._next_start)
        self._next_start = start + 1.0 / pace
        if start > now:
            await asyncio.sleep(start - now)

    @contextlib.asynccontextmanager
    async def slot(self, user: str | None = None) -> AsyncIterator[float]:
        """Wait for permission to send one request; yields the seconds spent waiting."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        if user is not None and (bucket := self._user_bucket(user)) is not None:
            await bucket.acquire()  # before taking a slot, so one busy user cannot hold them all
        async with self._in_flight:
            await self._cooldown()
            if self._bucket is not None:
                await self._bucket.acquire()
            await self._paced()
            while self.paused_for > 0:  # a 429 arrived while this request waited for its turn
                await self._cooldown()
                await self._paced()
            now = loop.time()
            self._forget_starts(now)
            self._starts.append(now)
            yield now - started
