"""The client's one shared limiter: request rate, requests in flight, per-user rate, 429 cooldown.

Every request of a client passes :meth:`Limiter.slot` once per attempt, meeting in this order:

1. the per-user bucket when the call carries a contact identifier (the API's 100 per minute rule);
2. a concurrency slot (at most ``max_concurrency`` requests in flight);
3. the cooldown: after a 429 the whole limiter pauses until the Retry-After instant, one pause for
   every caller rather than one sleep per task;
4. the client-wide bucket (the API's 4,000 per minute per key);
5. after a 429, a learned pace: 90% of the rate at which the server answered in the second before
   the 429 (since the first answer in it, if that is later: at least over 0.2 s), growing by a
   quarter each second without another one. A client not told the server's limit thus
   stops sending everyone back at once after each cooldown.

Buckets are aiolimiter leaky buckets sized so that no one-second window sees more than the nominal
rate: capacity ``max(1, min(2, rate / 20), 0.02 * rate)`` draining at ``min(0.97 * rate, rate - capacity + 1)``. A
plain ``AsyncLimiter(rate, 1)`` would let a full second's worth through at once (1.5x the rate over
two seconds), and ``AsyncLimiter(1, 1 / rate)`` reaches only about 70% of the rate.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict, deque
from collections.abc import AsyncIterator

from aiolimiter import AsyncLimiter

__all__ = ["Limiter", "bucket_shape", "grown_rate", "rate_after_429"]

MAX_TRACKED_USERS = 10_000  # per-user buckets kept (least recently used dropped first)
RATE_SPAN = 1.0  # seconds of answers a pace is learned from after a 429
MIN_RATE_SPAN = 0.2  # the shortest stretch an answer rate is measured over


def bucket_shape(rate: float) -> tuple[float, float]:
    """``(capacity, drain per second)`` of a bucket that stays within ``rate`` in every 1 s window.

    A capacity of 2 (from 20 requests per second) keeps a waiter woken a little late from losing its
    turn; slower rates keep a capacity of 1 so the drain stays near the rate.
    """
    capacity = max(1.0, min(2.0, rate / 20), 0.02 * rate)
    drain = min(0.97 * rate, rate - capacity + 1.0)
    return capacity, drain


def rate_after_429(answered: int, seconds: float) -> float:
    """The pace to keep after a 429: 90% of the rate the server answered at just before it.

    ``answered`` requests were answered (not refused) over the last ``seconds``; the server's answers
    are the best sign of what it allows. Never below 1 per second.
    """
    return max(1.0, 0.9 * answered / seconds)


def grown_rate(rate: float) -> float:
    """The learned pace after a full second without a 429: 25% more, so a pace set low recovers."""
    return rate * 1.25


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
        self._rate = rate  # the configured client-wide rate (None: not told)
        self._answered: deque[float] = deque()  # loop times of non-429 answers in the last second
        self._learned: float | None = None  # pace learned from 429s, below the configured rate
        self._learned_bucket: AsyncLimiter | None = None
        self._learned_at = 0.0  # loop time the learned pace was last set or grown

    def pause(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` from now (extends, never shortens, a pause)."""
        until = asyncio.get_running_loop().time() + seconds
        self._paused_until = max(self._paused_until, until)

    @property
    def learned_rate(self) -> float | None:
        """Requests per second the client keeps to since the server answered 429 (None: no limit learned)."""
        return self._learned

    def throttled(self, seconds: float) -> None:
        """The server answered 429: pause everyone for ``seconds``, then keep to a learned pace.

        Only the first 429 of a cooldown sets the pace: the others answer requests that were
        already on their way, and say nothing new about the server's limit. Without any answer in
        the last second there is no rate to learn from; the cooldown alone applies.
        """
        now = asyncio.get_running_loop().time()
        first = now >= self._paused_until
        self.pause(seconds)
        self._forget_before(now - RATE_SPAN)
        if not first or not self._answered:  # no answer yet: nothing to learn a pace from
            return
        # Measured over the second before the 429, or since the first answer in it: a client that
        # began sending a moment ago is not held to the handful of answers it has had so far.
        span = max(MIN_RATE_SPAN, now - self._answered[0])
        self._learn(rate_after_429(len(self._answered), span), now)

    def answered(self) -> None:
        """The server answered a request without refusing it; a learned pace grows each quiet second."""
        now = asyncio.get_running_loop().time()
        self._answered.append(now)
        self._forget_before(now - RATE_SPAN)
        if self._learned is not None and now - self._learned_at >= 1.0:
            self._learn(grown_rate(self._learned), now)

    def _forget_before(self, moment: float) -> None:
        while self._answered and self._answered[0] < moment:
            self._answered.popleft()

    def _learn(self, rate: float, now: float) -> None:
        self._learned_at = now
        if self._rate is not None and rate >= self._rate:
            self._learned = self._learned_bucket = None  # the configured bucket is the tighter one
            return
        self._learned = rate
        self._learned_bucket = _bucket(rate)

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

    async def _cooldown(self) -> None:
        # A timed wait, not an event: a 429 during the sleep may push the end further out.
        while (left := self.paused_for) > 0:  # noqa: ASYNC110
            await asyncio.sleep(left)

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
            learned = None
            while self._learned_bucket is not learned:  # relearned while waiting: the new pace
                learned = self._learned_bucket
                if learned is not None:
                    await learned.acquire()
            await self._cooldown()  # a 429 may have arrived while this request waited for a token
            yield loop.time() - started
