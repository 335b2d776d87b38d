"""RedisRateStore: one API key's buckets and 429 pause shared by every process that uses one Redis.

Each reservation is one ``EVALSHA`` of :data:`RESERVE_LUA`, which restates
:func:`refiner_async._ratestore.gcra` on Redis's own clock (``TIME``, in microseconds), so that the
workers' clocks never matter. It returns the wait as a string (Lua would truncate a number). A
pause (of the scope, or of one bucket: a contact's) is :data:`PAUSE_LUA`: extend-only, with a PX
TTL. Every key is
``<prefix>:{<scope>}:<name>``: the ``{scope}`` tag (a hash of the API key) keeps one key's buckets
in one Redis Cluster slot, as a multi-key script needs.

Redis trouble is not an outage: each call is bounded (``call_timeout``, and at most
``max_in_flight`` calls at once, the size of the connection pool, which raises rather than waits at
its limit); a failure logs one WARNING and opens a circuit for ``circuit_seconds``, during which the
store serves from an in-process store; then the next call tries Redis again. redis-py is imported
only when a RedisRateStore is made (the ``refiner-async[redis]`` extra).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Self

import attrs

from ._logs import logger
from ._ratestore import Bucket, InProcessRateStore, Reservation

if TYPE_CHECKING:
    import redis.asyncio

__all__ = ["PAUSE_LUA", "RESERVE_LUA", "RedisRateStore", "RedisStoreStats"]


_US = 1_000_000  # microseconds per second: Redis's TIME and the scripts count in them

# KEYS[1]: the scope's pause; KEYS[2..]: one per bucket.
# ARGV[1]: the longest wait allowed in microseconds (-1: no limit);
# ARGV[2i], ARGV[2i+1]: bucket i's interval and tolerance in microseconds.
# Returns {granted (1/0), wait in microseconds, pause left in microseconds}, numbers as strings.
RESERVE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local paused_until = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(now, paused_until)
local tats = {}
for i = 1, #KEYS - 1 do
  local tat = tonumber(redis.call('GET', KEYS[i + 1]) or '0')
  tats[i] = tat
  start = math.max(start, tat - tonumber(ARGV[2 * i + 1]))
end
local wait = string.format('%.0f', start - now)
local paused = string.format('%.0f', math.max(0, paused_until - now))
local max_wait = tonumber(ARGV[1])
if max_wait >= 0 and start - now > max_wait then
  return {0, wait, paused}
end
for i = 1, #KEYS - 1 do
  local tat = math.max(tats[i], start) + tonumber(ARGV[2 * i])
  local ttl = math.floor((tat - now) / 1000) + 1000
  redis.call('SET', KEYS[i + 1], string.format('%.0f', tat), 'PX', ttl)
end
return {1, wait, paused}
"""

# KEYS[1]: the scope's pause, or a bucket; ARGV[1]: the pause's length in microseconds; ARGV[2]:
# the bucket's tolerance in microseconds (0 for the scope's pause: its value is when it ends; a
# bucket's is its TAT, whose turn comes a tolerance earlier). Returns the pause left (string).
PAUSE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local length = tonumber(ARGV[1])
local offset = tonumber(ARGV[2])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if now + length + offset > current then
  current = now + length + offset
  redis.call('SET', KEYS[1], string.format('%.0f', current), 'PX', math.floor((current - now) / 1000) + 1)
end
return string.format('%.0f', math.max(0, current - offset - now))
"""


def _redis_module() -> Any:
    try:
        import redis.asyncio
    except ImportError as exc:
        raise ImportError(
            "RedisRateStore needs redis-py: pip install 'refiner-async[redis]'"
        ) from exc
    return redis.asyncio


@attrs.define
class RedisStoreStats:
    """What one RedisRateStore did since it was made."""

    redis_calls: int = 0  # reservations and pauses Redis served
    fallback_calls: int = 0  # served in-process because Redis could not be used
    failures: int = 0  # Redis calls that failed or timed out
    trips: int = 0  # times the circuit opened
    recoveries: int = 0  # times Redis served again after a trip


class RedisRateStore:
    """A :class:`~refiner_async.ratelimit.RateStore` in Redis, shared by processes and machines.

    Make one per process (or event loop) with :meth:`from_url`, give it to every client, and close
    it with :meth:`aclose` when the process ends. ``call_timeout`` bounds one Redis call;
    ``circuit_seconds`` is how long the store limits in-process after a failure before it tries
    Redis again; ``max_in_flight`` bounds the calls under way at once. ``prefix`` starts every key.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        *,
        prefix: str = "refiner",
        call_timeout: float = 0.25,
        circuit_seconds: float = 10.0,
        max_in_flight: int = 32,
        owns_client: bool = False,
    ) -> None:
        if not call_timeout > 0:
            raise ValueError(f"call_timeout: must be positive, got {call_timeout!r}")
        if not circuit_seconds >= 0:
            raise ValueError(f"circuit_seconds: must be >= 0, got {circuit_seconds!r}")
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight: must be >= 1, got {max_in_flight!r}")
        _redis_module()
        self._redis = client
        self._owns_client = owns_client
        self._prefix = prefix
        self._call_timeout = call_timeout
        self._circuit_seconds = circuit_seconds
        self._in_flight = asyncio.Semaphore(max_in_flight)  # never more calls than pool connections
        self._reserve_script = client.register_script(RESERVE_LUA)
        self._pause_script = client.register_script(PAUSE_LUA)
        self._fallback = InProcessRateStore()  # serves while the circuit is open
        self._open_until = 0.0  # loop time before which Redis is not tried (the circuit is open)
        self._warned = False  # a WARNING was logged for the current outage
        self.stats = RedisStoreStats()

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = "refiner",
        call_timeout: float = 0.25,
        circuit_seconds: float = 10.0,
        max_in_flight: int = 32,
        **redis_options: Any,
    ) -> Self:
        """A store on a new redis-py client for ``url`` (``redis://``, ``rediss://``, ``unix://``).

        The client's pool holds ``max_in_flight`` connections; its socket timeouts are
        ``call_timeout`` and it does not retry on its own (the store falls back instead).
        ``redis_options`` go to ``redis.asyncio.Redis.from_url`` and win over these.
        """
        module = _redis_module()
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        options: dict[str, Any] = {
            "max_connections": max_in_flight,
            "socket_timeout": call_timeout,
            "socket_connect_timeout": call_timeout,
            "retry": Retry(NoBackoff(), 0),
            **redis_options,
        }
        client = module.Redis.from_url(url, **options)
        return cls(
            client,
            prefix=prefix,
            call_timeout=call_timeout,
            circuit_seconds=circuit_seconds,
            max_in_flight=max_in_flight,
            owns_client=True,
        )

    def key(self, scope: str, name: str) -> str:
        """The Redis key of ``name`` (a bucket, or ``pause``) in ``scope``."""
        return f"{self._prefix}:{{{scope}}}:{name}"

    @property
    def falling_back(self) -> bool:
        """True while the circuit is open and reservations are made in-process."""
        return asyncio.get_running_loop().time() < self._open_until

    async def reserve(
        self, scope: str, buckets: Sequence[Bucket], *, max_wait: float | None
    ) -> Reservation:
        """One atomic reservation in Redis (see :data:`RESERVE_LUA`); in-process while Redis is
        out of reach."""
        keys = [self.key(scope, "pause"), *(self.key(scope, b.name) for b in buckets)]
        args: list[int] = [-1 if max_wait is None else round(max_wait * _US)]
        for b in buckets:
            args += [round(b.interval * _US), round(b.tolerance * _US)]
        reply = await self._call(self._reserve_script, keys, args)
        if reply is None:
            self.stats.fallback_calls += 1
            return self._fallback.reserve_now(scope, buckets, max_wait=max_wait)
        granted, wait, paused = reply
        return Reservation(int(granted) == 1, int(wait) / _US, int(paused) / _US)

    async def pause(self, scope: str, seconds: float, *, bucket: Bucket | None = None) -> float:
        """Extend the scope's pause (or ``bucket``'s) in Redis to ``seconds`` from now (Redis's
        now)."""
        # also held here, should Redis fail meanwhile
        self._fallback.pause_now(scope, seconds, bucket=bucket)
        key = self.key(scope, "pause" if bucket is None else bucket.name)
        offset = 0 if bucket is None else round(bucket.tolerance * _US)
        reply = await self._call(self._pause_script, [key], [round(seconds * _US), offset])
        if reply is None:
            self.stats.fallback_calls += 1
            return seconds
        return int(reply) / _US

    async def _call(self, script: Any, keys: list[str], args: list[int]) -> Any:
        """The script's reply, or None when Redis cannot be used now (circuit open, or it failed)."""
        loop = asyncio.get_running_loop()
        if loop.time() < self._open_until:
            return None
        async with self._in_flight:
            if loop.time() < self._open_until:  # opened while this call waited its turn
                return None
            try:
                async with asyncio.timeout(self._call_timeout):
                    reply = await script(keys=keys, args=args)
            except (TimeoutError, OSError) as exc:
                self._failed(exc)
                return None
            except Exception as exc:
                if not isinstance(exc, _redis_module().RedisError):
                    raise
                self._failed(exc)
                return None
        self.stats.redis_calls += 1
        if self._warned:
            self._warned = False
            self.stats.recoveries += 1
            logger.info("Redis rate store reachable again; limits are shared again")
        return reply

    def _failed(self, exc: BaseException) -> None:
        """Open the circuit; the first failure of an outage logs a WARNING, later ones DEBUG."""
        self.stats.failures += 1
        now = asyncio.get_running_loop().time()
        if now >= self._open_until:
            self.stats.trips += 1
        self._open_until = now + self._circuit_seconds
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if self._warned:
            logger.debug("Redis rate store still failing (%s)", reason)
            return
        self._warned = True
        logger.warning(
            "Redis rate store failed (%s); limiting in this process alone for %g s, then trying "
            "Redis again",
            reason,
            self._circuit_seconds,
        )

    async def aclose(self) -> None:
        """Close the redis-py client if this store made it (:meth:`from_url`)."""
        if self._owns_client:
            await self._redis.aclose()

    def __repr__(self) -> str:
        state = "falling back" if self._warned else "ok"
        return f"<RedisRateStore prefix={self._prefix!r} {state}>"
