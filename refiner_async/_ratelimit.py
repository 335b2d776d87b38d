"""The client's one shared limiter: request rate, requests in flight, per-user rate, 429 cooldown.

Every request of a client passes :meth:`Limiter.slot` once per attempt, meeting in this order:

1. the per-user bucket when the call carries a contact identifier (the API's 100 per minute rule);
2. a concurrency slot (at most ``max_concurrency`` requests in flight);
3. the cooldown: after a 429 the whole limiter pauses until the Retry-After instant (without one,
   for the first retry's backoff), one pause for every caller rather than one sleep per task; a 429
   to a call naming a contact pauses only the calls naming it (the per-user limit), unless another
   contact was refused in the same second, which makes it the key's;
4. the client's share of the key when ``share`` is below 1, then the client-wide bucket (the API's
   4,000 per minute per key);
5. after a 429, a learned pace (below).

The buckets of 1 and 4 and the cooldown live in a :class:`~refiner_async._ratestore.RateStore`:
the client's own in-process store, or one shared by many clients and processes (Redis). Each is
one atomic reservation that says how long to wait; the caller then sleeps here. A 429 pauses the
store's scope too, so that everyone sharing it holds back; a contact's own 429 pauses that
contact's bucket in the store, so that every client sharing it holds back its calls naming him.
With a ``deadline``, a call whose wait in 1-5 would pass it is declined (:class:`QueueDeadline`)
without taking a turn.

A request that got its turn in 4 or 5 while a cooldown began waits for the cooldown and queues
again, so that the callers leave at the pace when it ends, not all together into another 429.

A client not told the server's limit learns a pace from its 429s (:func:`ceiling_after_429`,
:func:`rate_after_429`, :func:`cycle_rate`, :func:`windowed`, :func:`about_rate`, :func:`grown_rate`,
:func:`probed_ceiling`); how, and why the buckets have the shape of :func:`bucket_shape`:
``docs/design/limiter.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence

from ._ratestore import Bucket, InProcessRateStore, RateStore, Reservation

__all__ = [
    "Limiter",
    "QueueDeadline",
    "about_rate",
    "bucket",
    "bucket_shape",
    "ceiling_after_429",
    "cycle_rate",
    "grown_rate",
    "key_wide",
    "probed_ceiling",
    "rate_after_429",
    "windowed",
]

RATE_SPAN = 1.0  # seconds of replies a 429 measures the server's rate over
MIN_RATE_SPAN = 0.2  # the shortest stretch a reply rate is measured over
CEILING_SPAN = 0.5  # a 429 sets a ceiling only from replies spread over at least this long
HOLD = 0.96  # the share of the ceiling the learned pace keeps to
GROWTH = 2.0  # a learned pace below its hold grows by this factor per second of sending
NOT_ABOUT_RATE = 0.5  # a 429 at less than this share of the ceiling is not about the rate
WINDOWED = 2.0  # a cooldown this many times the sending after it: a server counting in windows
STEP_DOWN = 0.9  # the pace after a 429 too soon after resuming to measure, as a share of the last
PACE_CAPACITY = 2.0  # the most a learned pace lets through at once: the server's burst is unknown
PROBE_SECONDS = 200.0  # seconds without a 429 after which a ceiling is probed at twice its measure
LOW_PROBE = 0.03  # a ceiling whose measure may read low grows by this share per second
LOW_MOST = 0.15  # up to this share above its measure (the most such a measure reads low by)


def bucket_shape(rate: float, *, most: float = math.inf) -> tuple[float, float]:
    """``(capacity, drain per second)`` of a bucket that stays within ``rate`` in every 1 s window,
    holding at most ``most``.

    A capacity of 2 (from 20 requests per second) keeps a waiter woken a little late from losing its
    turn; slower rates keep a capacity of 1 so the drain stays near the rate.
    """
    capacity = min(most, max(1.0, min(2.0, rate / 20), 0.02 * rate))
    drain = min(0.97 * rate, rate - capacity + 1.0)
    return capacity, drain


def ceiling_after_429(replied: int, seconds: float) -> float | None:
    """The server's rate as a 429 shows it: ``replied`` requests over the last ``seconds``.

    Only a stretch of at least :data:`CEILING_SPAN` measures a rate; over a shorter one (the
    handful of replies to a first burst) it is None, and the ceiling known before stands.
    """
    return replied / seconds if seconds >= CEILING_SPAN else None


def cycle_rate(replied: int, seconds: float) -> float | None:
    """The server's rate as a whole cycle shows it: ``replied`` replies (those since the first 429
    of the last cooldown) over the ``seconds`` from the end of that cooldown to the end of the one a
    429 begins now, a pause included (None: a cycle too short to tell, under :data:`CEILING_SPAN`).

    It measures a 429 that came too soon after a cooldown for the second before it to say anything
    (a server with a burst lets a handful of replies through at once, then refuses): what the
    server let through over the cycle is what it takes, whatever its burst. From one cooldown's end
    to the next, the retry's jitter on the pauses cancels out, and a server counting in windows
    shows one window exactly.
    """
    return replied / seconds if seconds >= CEILING_SPAN else None


def windowed(paused: float, sending: float) -> bool:
    """Whether a cycle looks like a server that counts requests in fixed windows (so many a minute,
    Retry-After until the minute ends): the cooldown lasted at least :data:`WINDOWED` times as long
    as the sending after it, up to the next 429.

    Such a server lets a client that waited out a window send the whole next quota at any speed, so
    the second before the next 429 measures the client's speed; the cycle (:func:`cycle_rate`)
    measures the server's rate, and is the lower of the two.
    """
    return paused >= WINDOWED * sending


def about_rate(replied: int, seconds: float, ceiling: float | None) -> bool:
    """Whether a 429 that came after ``replied`` replies over ``seconds`` says anything about the
    server's rate: not when the client was sending at less than :data:`NOT_ABOUT_RATE` of a rate
    the server already replied at (the ceiling). Such a 429 is a per-user limit, a proxy's, or
    one the server gives at random; it pauses the client but leaves the pace and the ceiling.
    """
    return ceiling is None or replied / max(seconds, MIN_RATE_SPAN) >= NOT_ABOUT_RATE * ceiling


def rate_after_429(replied: int, seconds: float, ceiling: float | None) -> float:
    """The pace to resume at after a 429: 96% of the reply rate, never above 96% of the ceiling.

    ``replied`` requests got a reply (not a refusal) over the last ``seconds``, counted as at least
    :data:`MIN_RATE_SPAN`. Never below 1 per second.
    """
    rate = HOLD * replied / max(seconds, MIN_RATE_SPAN)
    if ceiling is not None:
        rate = min(rate, HOLD * ceiling)
    return max(1.0, rate)


def probed_ceiling(ceiling: float, quiet: float, *, low: bool = False) -> float:
    """The ceiling ``quiet`` seconds after it was measured, without another 429 since.

    It grows with the square of the time: 1% after 20 s, 4% after 40 s, double after 200 s. A pace
    at 96% of a limit that holds crosses it again only after about a minute, and a ceiling set low
    by a one-off 429 (a per-user one, say) is left behind within minutes.

    A measure that may read ``low`` grows by :data:`LOW_PROBE` a second at least, up to
    :data:`LOW_MOST` above it, so that the next 429, if one comes, comes within seconds, at a pace
    that barely changes over the second it is measured over. Two measures may read low:

    - one over the second before a 429 while the pace still doubled each second: that second spans
      part of the rise, so against a server with a small burst it reads 91% of 66.7 per second
      with a burst of 4, 87% of 100;
    - one over a whole cycle (:func:`cycle_rate`): a server that refills its burst before the pause
      ends wastes some of it, and a Retry-After in whole seconds, rounded up, lengthens the pause.
    """
    lift = (quiet / PROBE_SECONDS) ** 2
    if low:
        lift = max(lift, min(LOW_PROBE * quiet, LOW_MOST))
    return ceiling * (1.0 + lift)


def grown_rate(rate: float, seconds: float, ceiling: float | None) -> float:
    """The learned pace after ``seconds`` more of sending without a 429: doubling each second up to
    96% of the (probed) ceiling, or until the server refuses when none is known. Never lowered."""
    grown = rate * math.pow(GROWTH, seconds)
    if ceiling is not None:
        grown = min(grown, HOLD * ceiling)
    return max(rate, grown)


def key_wide(user: str | None, others_refused: set[str]) -> bool:
    """Whether a 429 is about the API key (everyone waits, the pace is learned) rather than about the
    one contact the call named (the API's per-user limit: only calls naming it wait).

    A call naming no contact can only have met the key's limit. One naming a contact met that
    contact's unless other contacts were refused in the same second: per-user limits do not
    coincide across contacts, the key's limit refuses whoever comes.
    """
    return user is None or bool(others_refused)


def bucket(name: str, rate: float) -> Bucket:
    """The store bucket ``name`` shaped by :func:`bucket_shape` for ``rate`` requests per second."""
    capacity, drain = bucket_shape(rate)
    return Bucket(name, 1.0 / drain, (capacity - 1.0) / drain)


class QueueDeadline(Exception):
    """A call's deadline would pass while it waits in the limiter: it was not sent."""


class _Pace:
    """A bucket shaped like :func:`bucket_shape` whose rate may change under its waiters.

    The learned pace changes with every reply while it grows. A new aiolimiter bucket for each
    change would start empty and let its capacity through at once each time; here the bucket's state
    is the instant it is next empty (``_due``), kept across changes. Waiters take turns (the lock is
    first come, first served) and are admitted once the bucket holds room for one more.
    """

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._due = 0.0  # loop time at which the bucket, draining, is empty
        self._turn = asyncio.Lock()

    async def acquire(self) -> None:
        loop = asyncio.get_running_loop()
        async with self._turn:
            while True:  # the rate may change while the first in line sleeps
                capacity, drain = bucket_shape(self.rate, most=PACE_CAPACITY)
                now = loop.time()
                room_at = self._due - (capacity - 1.0) / drain
                if room_at <= now:
                    break
                await asyncio.sleep(room_at - now)
            self._due = max(self._due, now) + 1.0 / drain


class Limiter:
    """Rate, concurrency, per-user and cooldown limits shared by every request of one client."""

    def __init__(
        self,
        *,
        rate: float | None,
        max_concurrency: int,
        per_user_rate: float | None = None,
        store: RateStore | None = None,
        scope: str = "local",
        share: float = 1.0,
        user_bucket: Callable[[str], str] = lambda user: f"user:{user}",
    ) -> None:
        # The client-wide bucket, and the share of it this client may use (same store, same scope).
        self._buckets: list[Bucket] = [] if not rate else [bucket("key", rate)]
        self._share = bucket(f"share:{share:g}", rate * share) if rate and share < 1.0 else None
        self._store: RateStore = store if store is not None else InProcessRateStore()
        self._shared = store is not None  # a given store may hold pauses set by other clients
        self._scope = scope  # the store's name for this client's API key
        self._user_name = user_bucket  # contact identifier -> its bucket's name in the store
        self._per_user_rate = per_user_rate
        self._in_flight = asyncio.Semaphore(max_concurrency)
        self._paused_until = 0.0  # loop time before which no request may start (429 cooldown)
        self._unpublished = False  # a pause of this client's not yet written to the store
        self._store_paused_until = 0.0  # loop time the store's pause ends, as last seen
        self._rate = rate  # the configured client-wide rate (None: not told)
        self._replied: deque[float] = deque()  # loop times of non-429 replies in the last second
        self._ceiling: float | None = None  # the server's rate as the last measured 429 showed it
        self._low = False  # whether the ceiling's measure may read low (see probed_ceiling)
        self._ceiling_at = 0.0  # loop time the ceiling was measured (the end of that cooldown)
        self._pace: _Pace | None = None  # the pace learned from 429s, below the configured rate
        self._paced_since = 0.0  # loop time the pace was last grown (or its cooldown ended)
        self._resumed_at = (
            0.0  # loop time the last cooldown ended: replies before it measure nothing
        )
        self._replies_total = 0  # replies (not 429s) so far
        self._cycle: tuple[float, int] | None = None  # loop time and replies_total at the last
        # cooldown's first 429
        self._user_paused: dict[str, float] = {}  # contact -> loop time its own 429 pause ends
        self._users_unpublished: set[str] = set()  # contacts whose pause the store has not seen
        self._refused_users: deque[tuple[float, str]] = deque()  # (loop time, contact) of 429s

    def pause(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` from now (extends, never shortens, a pause).

        :meth:`publish_pause`, or the next request to reach :meth:`slot`, writes it to the store."""
        until = asyncio.get_running_loop().time() + seconds
        self._paused_until = max(self._paused_until, until)
        self._unpublished = True

    @property
    def learned_rate(self) -> float | None:
        """Requests per second the client keeps to since the server replied 429 (None: no limit learned)."""
        return None if self._pace is None else self._pace.rate

    @property
    def ceiling(self) -> float | None:
        """The server's rate as the last 429 measured over long enough showed it (None: not known)."""
        return self._ceiling

    def throttled(self, seconds: float, *, user: str | None = None) -> None:
        """The server replied 429: pause everyone for ``seconds``, then keep to a learned pace.

        A 429 to a call naming a contact is that contact's business (the API's per-user limit):
        only calls naming it wait, and nothing is learned, unless another contact was refused in the
        same second, which makes it the key's. Only the first 429 of a cooldown learns: the others
        reply to requests that were already on their way, and say nothing new about the server's limit.
        The rate is measured over the replies since sending last resumed (a second at most): time
        spent in a cooldown is not time the server was replying. Without any reply there is no
        rate to learn from; the cooldown alone applies.
        """
        now = asyncio.get_running_loop().time()
        if user is not None:
            others = self._note_refused(user, now)
            if not key_wide(user, others):
                self._user_paused[user] = max(self._user_paused.get(user, 0.0), now + seconds)
                self._users_unpublished.add(user)
                return
        first = now >= self._paused_until
        ended = self._paused_until  # the end of the last cooldown
        self.pause(seconds)
        cycle = None  # the reply rate from the last cooldown's end to this one's
        windows = False  # whether that cooldown outlasted the sending after it (see windowed)
        if first:
            self._resumed_at = ended
            if self._cycle is not None:
                began, replies = self._cycle
                cycle = cycle_rate(
                    self._replies_total - replies, self._paused_until - self._resumed_at
                )
                windows = windowed(self._resumed_at - began, now - self._resumed_at)
            self._cycle = (now, self._replies_total)
        self._forget_before(max(now - RATE_SPAN, self._resumed_at))
        if not first or not self._replied:  # no reply yet: nothing to learn a pace from
            return
        # Measured over the second before the 429, or since the first reply in it: a client that
        # began sending a moment ago is not held to the handful of replies it has had so far.
        replied, span = len(self._replied), now - self._replied[0]
        if not about_rate(replied, span, self._ceiling):
            return
        measured = ceiling_after_429(replied, span)
        # The first rate measured on a pace learned from a 429 was measured on its doubling rise.
        rise = measured is not None and self._ceiling is None and self._pace is not None
        low = rise
        if measured is None and self._pace is not None:  # refused again right after resuming
            # The second before says nothing (a burst let a handful through at once). Without a
            # ceiling, the cycle since the last cooldown measures what the server takes;
            # below a known one, its rate dropped: step down.
            low = self._ceiling is None
            measured = cycle if low else STEP_DOWN * self._pace.rate / HOLD
        elif (
            measured is not None and not rise and cycle is not None and windows and cycle < measured
        ):
            # A whole quota sent at the client's speed after waiting out a window: the cycle
            # measures what the server takes. (Not on the pace's first rise: a server that asks
            # for long pauses looks the same then, and the rise measures it.)
            measured, low = cycle, True
        if measured is not None:  # the latest measure replaces the ceiling, lower or higher
            self._low = low
            self._ceiling, self._ceiling_at = measured, self._paused_until
        self._paced_since = self._paused_until  # the pace grows with the time spent sending at it
        self._set_pace(rate_after_429(replied, span, self._ceiling))

    def _note_refused(self, user: str, now: float) -> set[str]:
        """Record a 429 to a call naming ``user``; the other contacts refused in the last second."""
        while self._refused_users and self._refused_users[0][0] < now - RATE_SPAN:
            self._refused_users.popleft()
        self._refused_users.append((now, user))
        for name, until in list(self._user_paused.items()):
            if until <= now:
                del self._user_paused[name]
        return {name for _, name in self._refused_users} - {user}

    def replied(self) -> None:
        """The server replied to a request without refusing it; a learned pace grows while none is refused."""
        now = asyncio.get_running_loop().time()
        self._replied.append(now)
        self._replies_total += 1
        self._forget_before(now - RATE_SPAN)
        if self._pace is None or now <= self._paced_since:
            return
        ceiling = None
        if self._ceiling is not None:
            ceiling = probed_ceiling(self._ceiling, now - self._ceiling_at, low=self._low)
        rate = grown_rate(self._pace.rate, now - self._paced_since, ceiling)
        self._paced_since = now
        self._set_pace(rate)

    def _forget_before(self, moment: float) -> None:
        while self._replied and self._replied[0] < moment:
            self._replied.popleft()

    def _set_pace(self, rate: float) -> None:
        if self._rate is not None and rate >= self._rate:
            self._pace = None  # the configured bucket is the tighter one
        elif self._pace is None:
            self._pace = _Pace(rate)
        else:
            self._pace.rate = rate

    @property
    def paused_for(self) -> float:
        """Seconds left in the current cooldown, this client's or the store's (0 when none)."""
        until = max(self._paused_until, self._store_paused_until)
        return max(0.0, until - asyncio.get_running_loop().time())

    async def publish_pause(self) -> None:
        """Write this client's pauses to the store, so that everyone sharing it holds back too
        (once per pause: later calls until the next pause return at once). A contact's own pause
        goes to that contact's bucket, which every client limiting per user takes a turn in."""
        loop = asyncio.get_running_loop()
        while self._users_unpublished:
            user = self._users_unpublished.pop()
            left = self._user_paused.get(user, 0.0) - loop.time()
            if left > 0 and self._per_user_rate is not None:
                user_bucket = bucket(self._user_name(user), self._per_user_rate)
                await self._store.pause(self._scope, left, bucket=user_bucket)
        if not self._unpublished:
            return
        self._unpublished = False
        left = self._paused_until - loop.time()
        if left > 0:
            self._note_store_pause(await self._store.pause(self._scope, left), loop.time())

    def _note_store_pause(self, left: float, now: float) -> None:
        self._store_paused_until = max(self._store_paused_until, now + left)

    async def _take(self, buckets: Sequence[Bucket], deadline: float | None, what: str) -> None:
        """Reserve a turn in ``buckets`` and sleep until it; :class:`QueueDeadline` when the turn
        would come after ``deadline`` (nothing is reserved then)."""
        loop = asyncio.get_running_loop()
        asked = loop.time()
        max_wait = None if deadline is None else max(0.0, deadline - asked)
        reservation: Reservation = await self._store.reserve(
            self._scope, buckets, max_wait=max_wait
        )
        self._note_store_pause(reservation.paused, asked)
        if not reservation.granted:
            raise QueueDeadline(
                f"the {what} would hold it {reservation.wait:.3g} s, past the call's deadline"
            )
        if reservation.wait > 0:
            await asyncio.sleep(reservation.wait)

    def _paused_left(self, user: str | None) -> float:
        if user is None:
            return self.paused_for
        return self._user_paused.get(user, 0.0) - asyncio.get_running_loop().time()

    async def _cooldown(self, deadline: float | None, user: str | None = None) -> None:
        """Wait out the cooldown everyone keeps, or with ``user`` that contact's own 429 pause;
        :class:`QueueDeadline` at once when it outlasts ``deadline``."""
        # A timed wait, not an event: a 429 during the sleep may push the end further out.
        loop = asyncio.get_running_loop()
        whose = "the 429 cooldown" if user is None else "the contact's 429 cooldown"
        while (left := self._paused_left(user)) > 0:
            if deadline is not None and loop.time() + left > deadline:
                raise QueueDeadline(f"{whose} ({left:.3g} s left) outlasts the deadline")
            await asyncio.sleep(left)

    @contextlib.asynccontextmanager
    async def slot(
        self, user: str | None = None, *, deadline: float | None = None
    ) -> AsyncIterator[float]:
        """Wait for permission to send one request; yields the seconds spent waiting.

        ``deadline`` (loop time): raise :class:`QueueDeadline` instead of waiting past it, the
        request unsent and no slot held.
        """
        loop = asyncio.get_running_loop()
        started = loop.time()
        await self.publish_pause()
        try:
            async with asyncio.timeout_at(deadline):  # waits that cannot be foreseen: slot, pace
                if user is not None:
                    await self._cooldown(deadline, user)
                if user is not None and self._per_user_rate is not None:
                    # Before taking a slot, so one busy user cannot hold them all.
                    user_bucket = bucket(self._user_name(user), self._per_user_rate)
                    await self._take([user_bucket], deadline, "per-user rate limit")
                await self._in_flight.acquire()
        except TimeoutError:
            raise QueueDeadline("no request slot came free before the deadline") from None
        try:
            async with asyncio.timeout_at(deadline):
                while True:
                    await self._cooldown(deadline)
                    await self.publish_pause()
                    if self._share is not None:
                        # The share's turn first, the key's when it comes: a key turn reserved
                        # ahead for a share's later turn would leave the gap unusable by others.
                        await self._take([self._share], deadline, "rate share")
                    if self._buckets or self._shared:
                        await self._take(self._buckets, deadline, "rate limit")
                    if self._pace is not None:
                        await self._pace.acquire()
                    if self.paused_for == 0:
                        break
                    # A 429 arrived while this request waited for its turn: the turn is void. Queue
                    # again when the cooldown ends, so the waiters leave at the pace, not all at
                    # its end.
        except BaseException as exc:
            self._in_flight.release()
            if isinstance(exc, TimeoutError):
                raise QueueDeadline(
                    "its turn in the limiter would come after the deadline"
                ) from None
            raise
        try:
            yield loop.time() - started
        finally:
            self._in_flight.release()
