"""Per-conversation locks: in-process, or Redis so that they hold across replicas."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from leadgraph.domain.errors import ServiceUnavailable


class InProcessLocks:
    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def hold(self, conversation_id: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(conversation_id, asyncio.Lock())
        self._users[conversation_id] = self._users.get(conversation_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[conversation_id] -= 1
            if not self._users[conversation_id]:
                del self._users[conversation_id], self._locks[conversation_id]


class RedisLocks:
    """Redis locks with a lease, so a crashed replica cannot hold a conversation forever.

    Inside one replica an in-process lock queues turns first, so waiting is fair and only
    one waiter at a time polls Redis.
    """

    def __init__(self, url: str, prefix: str, lease_seconds: float = 60.0,
                 wait_seconds: float = 60.0) -> None:
        self._redis: Redis = Redis.from_url(url)
        self._prefix = prefix
        self._lease = lease_seconds
        self._wait = wait_seconds
        self._local = InProcessLocks()

    @asynccontextmanager
    async def hold(self, conversation_id: str) -> AsyncIterator[None]:
        async with self._local.hold(conversation_id):
            lock = self._redis.lock(
                f"{self._prefix}:lock:conversation:{conversation_id}",
                timeout=self._lease, blocking_timeout=self._wait, sleep=0.01,
            )
            if not await lock.acquire():
                raise ServiceUnavailable("The conversation is busy; try again")
            try:
                yield
            finally:
                await lock.release()

    async def close(self) -> None:
        await self._redis.aclose()
