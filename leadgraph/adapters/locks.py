"""Per-conversation locks: in-process, or Redis so that they hold across replicas."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.exceptions import RedisError

from leadgraph.domain.errors import ServiceUnavailable

log = logging.getLogger(__name__)


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
    one waiter at a time polls Redis. With Redis unreachable a turn goes ahead under the
    in-process lock alone (logged): turns on one replica stay ordered, and across replicas
    the unique ``(conversation_id, seq)`` index still keeps messages consistent; refusing
    every chat turn during a Redis restart would be the worse failure.
    """

    def __init__(self, url: str, prefix: str, lease_seconds: float = 60.0,
                 wait_seconds: float = 60.0) -> None:
        self._redis: Redis = Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=5,
            client_name=f"{prefix}:locks:{socket.gethostname()}-{os.getpid()}",
        )
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
            try:
                acquired: bool | None = await lock.acquire()
            except (RedisError, OSError) as exc:
                log.warning("redis lock unavailable (%s); holding %s on this replica only",
                            exc, conversation_id)
                acquired = None
            if acquired is None:
                yield
                return
            if not acquired:
                raise ServiceUnavailable("The conversation is busy; try again")
            try:
                yield
            finally:
                try:
                    await lock.release()
                except (RedisError, OSError) as exc:  # lease expires by itself
                    log.warning("redis lock release failed for %s: %s", conversation_id, exc)

    async def close(self) -> None:
        await self._redis.aclose()
