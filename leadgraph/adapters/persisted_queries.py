"""APQ text caches: Redis (shared by every replica, entries expire) or an in-process LRU.

Both are bounded: Redis by its TTL (and its own memory policy), the LRU by its size, so a
client inventing hashes cannot grow memory without limit. With Redis unreachable the cache
misses and forgets: an Apollo client then sends the full text, so requests still work.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class InProcessQueryCache:
    def __init__(self, max_entries: int = 1000) -> None:
        self._entries: OrderedDict[str, str] = OrderedDict()
        self._max = max_entries

    async def get(self, digest: str) -> str | None:
        text = self._entries.get(digest)
        if text is not None:
            self._entries.move_to_end(digest)
        return text

    async def put(self, digest: str, text: str) -> None:
        self._entries[digest] = text
        self._entries.move_to_end(digest)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)


class RedisQueryCache:
    def __init__(self, url: str, prefix: str, ttl_seconds: int) -> None:
        self._redis: Redis = Redis.from_url(url)
        self._prefix = f"{prefix}:apq:"
        self._ttl = ttl_seconds

    async def get(self, digest: str) -> str | None:
        try:
            value = await self._redis.get(self._prefix + digest)
        except RedisError as exc:
            log.warning("APQ cache unavailable (read): %s", exc)
            return None
        return value.decode() if isinstance(value, bytes) else value

    async def put(self, digest: str, text: str) -> None:
        try:
            await self._redis.set(self._prefix + digest, text, ex=self._ttl)
        except RedisError as exc:
            log.warning("APQ cache unavailable (write): %s", exc)

    async def close(self) -> None:
        await self._redis.aclose()
