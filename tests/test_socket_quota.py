"""Seed 003's "at most 10 concurrent WebSockets per user", held across replicas through Redis.

Two app instances share one Redis (same key prefix) and one database, like two replicas
behind a load balancer; seed 003's ``/ws/conversations/{id}`` socket is the one under quota.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
import pytest
import redis.asyncio as aioredis
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from leadgraph.adapters.connection_slots import RedisConnectionSlots
from leadgraph.resolvers.auth import BOOTSTRAP_KEY_ID
from tests.conftest import make_settings, serve
from tests.support import API_KEY, LiveServer

LEASE_SECONDS = 6.0  # renewed every 2 s; short enough to watch a renewal happen
REFUSAL = "At most 10 concurrent connections per user"


class Replicas:
    def __init__(self, a: LiveServer, b: LiveServer, prefix: str, redis_url: str) -> None:
        self.a, self.b = a, b
        self.redis: aioredis.Redis = aioredis.Redis.from_url(redis_url)
        self.key = f"{prefix}:sockets:{BOOTSTRAP_KEY_ID}"
        self.path = ""

    async def now_ms(self) -> int:
        seconds, micros = await self.redis.time()
        return int(seconds) * 1000 + int(micros) // 1000

    async def empty(self) -> None:
        """Until the sockets of an earlier test have been given back (just after their close
        handshake), then start from a clean set."""
        for _ in range(200):
            if not await self.redis.zcard(self.key):
                return
            await asyncio.sleep(0.05)
        raise AssertionError("slots of closed sockets were never given back")


@pytest.fixture(scope="module")
async def replicas(
    mongo_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Replicas]:
    prefix = f"lgtest-sq-{uuid.uuid4().hex[:8]}"
    shared = {"redis_channel_prefix": prefix,
              "mongodb_db_name": f"lgtest_sq_{uuid.uuid4().hex[:8]}",
              "ws_connection_lease_seconds": LEASE_SECONDS}
    first = make_settings(mongo_url, redis_url, tmp_path_factory.mktemp("a"), **shared)
    second = make_settings(mongo_url, redis_url, tmp_path_factory.mktemp("b"), **shared)
    async with serve(first) as a, serve(second) as b:
        pair = Replicas(a, b, prefix, redis_url)
        async with httpx.AsyncClient(base_url=a.base_url, headers={"X-API-Key": API_KEY},
                                     timeout=30) as client:
            created = await client.post("/conversations")
            assert created.status_code == 201, created.text
        pair.path = f"/ws/conversations/{created.json()['conversation_id']}?token={API_KEY}"
        try:
            yield pair
        finally:
            await pair.redis.delete(pair.key)
            await pair.redis.aclose()


async def accepted(server: LiveServer, path: str) -> ClientConnection:
    """A socket the server kept open (a refused one is closed with 4429 right away)."""
    connection = await websockets.connect(f"{server.ws_url}{path}", open_timeout=10)
    try:
        await asyncio.wait_for(connection.recv(), 0.2)
    except TimeoutError:
        return connection
    except ConnectionClosed as exc:
        raise AssertionError(f"refused: {exc.rcvd}") from exc
    raise AssertionError("unexpected frame on a fresh socket")


async def refusal(server: LiveServer, path: str) -> tuple[int, str]:
    connection = await websockets.connect(f"{server.ws_url}{path}", open_timeout=10)
    try:
        await asyncio.wait_for(connection.recv(), 10)
    except ConnectionClosed as exc:
        assert exc.rcvd is not None
        return exc.rcvd.code, exc.rcvd.reason
    finally:
        await connection.close()
    raise AssertionError("the socket was accepted")


async def reopen_after_release(server: LiveServer, path: str) -> ClientConnection:
    """Connect once the slot of a just-closed socket is free (it is given back right after
    the close handshake), retrying a bounded number of times while 4429 still answers."""
    for _ in range(100):
        connection = await websockets.connect(f"{server.ws_url}{path}", open_timeout=10)
        try:
            await asyncio.wait_for(connection.recv(), 0.1)
        except TimeoutError:
            return connection
        except ConnectionClosed as exc:
            assert exc.rcvd is not None and exc.rcvd.code == 4429, exc
            await asyncio.sleep(0.02)
            continue
        raise AssertionError("unexpected frame on a fresh socket")
    raise AssertionError("the closed socket's slot was never given back")


async def test_ten_sockets_per_user_across_two_replicas(replicas: Replicas) -> None:
    await replicas.empty()
    async with AsyncExitStack() as stack:
        sockets: list[ClientConnection] = []
        for server in (replicas.a, replicas.b) * 5:
            socket = await accepted(server, replicas.path)
            stack.push_async_callback(socket.close)
            sockets.append(socket)
        assert await replicas.redis.zcard(replicas.key) == 10

        # The 11th is refused on either replica, with seed 003's close code and reason.
        assert await refusal(replicas.a, replicas.path) == (4429, REFUSAL)
        assert await refusal(replicas.b, replicas.path) == (4429, REFUSAL)

        # Closing one on A frees a slot that B can use; then both are full again.
        await sockets[0].close()
        replacement = await reopen_after_release(replicas.b, replicas.path)
        stack.push_async_callback(replacement.close)
        assert (await refusal(replicas.a, replicas.path))[0] == 4429
        assert (await refusal(replicas.b, replicas.path))[0] == 4429


async def test_a_dead_replicas_expired_slots_do_not_count(replicas: Replicas) -> None:
    await replicas.empty()
    now = await replicas.now_ms()
    # A replica that crashed: ten sockets whose leases ran out, never given back. And one
    # that is alive elsewhere, whose lease is current: it counts.
    await replicas.redis.zadd(replicas.key, {f"dead-{i}": now - 1000 - i for i in range(10)})
    await replicas.redis.zadd(replicas.key, {"alive-elsewhere": now + 120_000})
    await replicas.redis.pexpire(replicas.key, 120_000)
    async with AsyncExitStack() as stack:
        for server in (replicas.a, replicas.b, replicas.a) * 3:
            socket = await accepted(server, replicas.path)
            stack.push_async_callback(socket.close)
        assert (await refusal(replicas.b, replicas.path))[0] == 4429
        assert await replicas.redis.zcard(replicas.key) == 10
        members = {m.decode() for m in await replicas.redis.zrange(replicas.key, 0, -1)}
        assert "alive-elsewhere" in members
        assert not any(member.startswith("dead-") for member in members)
    await replicas.redis.zrem(replicas.key, "alive-elsewhere")


async def test_an_open_socket_renews_its_lease(replicas: Replicas) -> None:
    await replicas.empty()
    socket = await accepted(replicas.a, replicas.path)
    try:
        (member, first), = await replicas.redis.zrange(replicas.key, 0, -1, withscores=True)
        # Wait (bounded) until the first lease is over: by then it must have been renewed.
        for _ in range(300):
            if await replicas.now_ms() > first:
                break
            await asyncio.sleep(0.05)
        renewed = await replicas.redis.zscore(replicas.key, member)
        assert renewed is not None and renewed > first
    finally:
        await socket.close()


async def test_without_redis_each_replica_counts_its_own() -> None:
    """Redis unreachable: the quota falls back to this replica's count instead of refusing
    everyone (or admitting everyone)."""
    slots = RedisConnectionSlots("redis://127.0.0.1:1", "lgtest-down")
    try:
        taken = [await slots.take("user", f"c{i}", 10, 60) for i in range(10)]
        assert taken == [True] * 10
        assert not await slots.take("user", "c10", 10, 60)
        assert await slots.take("someone-else", "c0", 10, 60)
        await slots.renew("user", "c0", 60)  # logged, not raised
        await slots.give_back("user", "c0")
        assert await slots.take("user", "c10", 10, 60)
    finally:
        await slots.close()
