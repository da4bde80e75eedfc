"""Rate-limit counters on the ``limits`` library: Redis when ``REDIS_URL`` is set, else memory.

Fixed windows (one counter per bucket, ``INCRBY`` + ``EXPIRE`` in one Lua call): cheap for a
cost of many points (a GraphQL operation), and the window end is the ``X-RateLimit-Reset``
the seeds document. With several buckets (seed 002's minute and hour) every bucket is tested
first and charged only if all have room, so a refused request uses up nothing.

With Redis, every replica shares the counts. If Redis cannot be reached the counter fails
open (the request is served, without rate-limit headers, and a warning is logged): a Redis
restart must not take the API down with it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import redis.asyncio as aioredis
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter

from leadgraph.domain.ratelimits import Bucket, BucketState

log = logging.getLogger(__name__)


class LimitsCounter:
    """Implements ``leadgraph.domain.ratelimits.RateCounter``."""

    def __init__(self, storage: Storage, pool: aioredis.ConnectionPool | None = None) -> None:
        self._storage = storage
        self._pool = pool
        self._limiter = FixedWindowRateLimiter(storage)

    @classmethod
    def in_memory(cls) -> LimitsCounter:
        return cls(MemoryStorage())

    @classmethod
    def on_redis(cls, redis_url: str, prefix: str) -> LimitsCounter:
        """Counters under ``<prefix>:ratelimit:`` on the Redis at ``redis_url``."""
        pool = aioredis.ConnectionPool.from_url(
            redis_url, socket_connect_timeout=1.0, socket_timeout=1.0,
        )
        storage = RedisStorage(
            "async+" + redis_url, implementation="redispy",
            key_prefix=f"{prefix}:ratelimit",
            connection_pool=pool,  # type: ignore[arg-type]  # passed on to redis-py
        )
        return cls(storage, pool)

    async def charge(
        self, buckets: Sequence[Bucket], cost: int
    ) -> tuple[bool, list[BucketState]]:
        items = [(_item(bucket), bucket) for bucket in buckets]
        try:
            allowed = True
            for item, bucket in items:
                if not await self._limiter.test(item, bucket.key, cost=cost):
                    allowed = False
                    break
            if allowed:
                for item, bucket in items:  # a race may still fill one: then it is refused
                    allowed = await self._limiter.hit(item, bucket.key, cost=cost) and allowed
            states = [await self._state(item, bucket) for item, bucket in items]
        except aioredis.RedisError as exc:
            log.warning("rate limits unavailable, request allowed: %s", exc)
            return True, []
        return allowed, states

    async def _state(self, item: RateLimitItem, bucket: Bucket) -> BucketState:
        stats = await self._limiter.get_window_stats(item, bucket.key)
        reset_at = stats.reset_time
        if stats.remaining >= bucket.amount or reset_at <= time.time():
            reset_at = time.time() + bucket.seconds  # untouched: a full window from now
        return BucketState(bucket, stats.remaining, reset_at)

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
        timer = getattr(self._storage, "timer", None)  # MemoryStorage's expiry task
        if timer is not None and not timer.done():
            timer.cancel()


def _item(bucket: Bucket) -> RateLimitItem:
    return RateLimitItemPerSecond(bucket.amount, bucket.seconds, namespace="LG")
