"""WebSocket slots per principal (``ConnectionSlots``): in-process, or in Redis so that seed
003's "at most 10 concurrent sockets per user" holds across replicas.

In Redis each principal has a sorted set ``<prefix>:sockets:<principal>`` of connection ids
scored by lease expiry (milliseconds, Redis's own clock, so replicas' clocks never disagree).
Taking a slot is one Lua script: drop expired members, count, add if below the limit; the key
itself expires with its newest lease. An open socket renews its lease; a replica that dies
stops renewing, and its sockets stop counting when their leases run out.

The Redis adapter also keeps this replica's own count. If Redis cannot be reached, that count
decides alone (logged): a Redis restart must not refuse every socket, and the per-replica
limit still holds. Renewals put such sockets into Redis once it is back.
"""

from __future__ import annotations

import logging
import os
import socket

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# KEYS[1]: the principal's set. ARGV: limit, connection id, lease (ms).
_TAKE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if redis.call('ZSCORE', KEYS[1], ARGV[2]) == false
    and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
local lease = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now_ms + lease, ARGV[2])
redis.call('PEXPIRE', KEYS[1], lease)
return 1
"""

# KEYS[1]: the principal's set. ARGV: connection id, lease (ms). Adds the member back if it
# was lost (Redis restarted, or it was taken while Redis was down): the socket is open.
_RENEW = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local lease = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
redis.call('ZADD', KEYS[1], now_ms + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[1], lease)
return 1
"""


class InProcessConnectionSlots:
    """This process's open connections; no leases needed, a crash takes them all along."""

    def __init__(self) -> None:
        self._open: dict[str, set[str]] = {}

    def count(self, owner: str) -> int:
        return len(self._open.get(owner, ()))

    async def take(self, owner: str, connection_id: str, limit: int,
                   lease_seconds: float) -> bool:
        held = self._open.setdefault(owner, set())
        if connection_id not in held and len(held) >= limit:
            if not held:
                del self._open[owner]
            return False
        held.add(connection_id)
        return True

    async def renew(self, owner: str, connection_id: str, lease_seconds: float) -> None:
        return None

    async def give_back(self, owner: str, connection_id: str) -> None:
        held = self._open.get(owner)
        if held is not None:
            held.discard(connection_id)
            if not held:
                del self._open[owner]


class RedisConnectionSlots:
    def __init__(self, url: str, prefix: str) -> None:
        self._redis: Redis = Redis.from_url(
            url, socket_connect_timeout=1, socket_timeout=2,
            client_name=f"{prefix}:sockets:{socket.gethostname()}-{os.getpid()}",
        )
        self._prefix = f"{prefix}:sockets:"
        self._local = InProcessConnectionSlots()
        self._take = self._redis.register_script(_TAKE)
        self._renew = self._redis.register_script(_RENEW)

    def key(self, owner: str) -> str:
        return self._prefix + owner

    async def take(self, owner: str, connection_id: str, limit: int,
                   lease_seconds: float) -> bool:
        # This replica's own sockets are a subset of all of them: full here is full.
        if not await self._local.take(owner, connection_id, limit, lease_seconds):
            return False
        try:
            allowed = await self._take(keys=[self.key(owner)],
                                       args=[limit, connection_id, _ms(lease_seconds)])
        except (RedisError, OSError) as exc:
            log.warning("socket quota: Redis unavailable (%s); counting %s on this replica "
                        "only", exc, owner)
            return True
        if not allowed:
            await self._local.give_back(owner, connection_id)
        return bool(allowed)

    async def renew(self, owner: str, connection_id: str, lease_seconds: float) -> None:
        try:
            await self._renew(keys=[self.key(owner)],
                              args=[connection_id, _ms(lease_seconds)])
        except (RedisError, OSError) as exc:
            log.warning("socket quota: lease renewal failed for %s: %s", owner, exc)

    async def give_back(self, owner: str, connection_id: str) -> None:
        await self._local.give_back(owner, connection_id)
        try:
            await self._redis.zrem(self.key(owner), connection_id)
        except (RedisError, OSError) as exc:  # the lease runs out by itself
            log.warning("socket quota: release failed for %s: %s", owner, exc)

    async def close(self) -> None:
        await self._redis.aclose()


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))
