"""Rate-limit stores: where a client's buckets and 429 pause live, and how many clients share them.

Every :class:`~refiner_async.RefinerClient` keeps its request rate, per-user rate and 429 cooldown in
a :class:`RateStore`. By default each client has an :class:`InProcessRateStore` of its own. Give
several clients one store to make them one limiter::

    from refiner_async.ratelimit import RedisRateStore

    store = RedisRateStore.from_url("redis://localhost:6379/0")   # refiner-async[redis]
    client = RefinerClient(rate_store=store, rate_share=0.75)

Every process then reserves each request in Redis, so that the fleet keeps to the key's rate; a
429 anywhere pauses the fleet; ``rate_share`` caps a client's part of the key. Redis keys hold
hashes, never the API key or a contact identifier. If Redis fails, each process limits itself
alone for a while (one WARNING), then tries Redis again.
"""

from __future__ import annotations

from ._ratelimit_redis import RedisRateStore, RedisStoreStats
from ._ratestore import Bucket, InProcessRateStore, RateStore, Reservation

__all__ = [
    "Bucket",
    "InProcessRateStore",
    "RateStore",
    "RedisRateStore",
    "RedisStoreStats",
    "Reservation",
]
