"""Redis pub/sub broker, so a subscriber on one replica sees writes made on another.

One Redis subscriber connection per replica (a pattern subscription on ``<prefix>:*``) feeds
the in-process fan-out; clients never get a Redis connection of their own. Publishing goes
to Redis only, and the replica's own events come back through that one subscription, so
every local subscriber gets each event exactly once and in publish order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from leadgraph.adapters.broker.memory import InMemoryBroker, Subscription
from leadgraph.domain.events import DomainEvent

log = logging.getLogger(__name__)


class RedisBroker:
    def __init__(self, url: str, prefix: str = "leadgraph") -> None:
        self._redis: Redis = Redis.from_url(url, decode_responses=True)
        self._prefix = prefix
        self._local = InMemoryBroker()
        self._pump_task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        await self._redis.ping()
        self._pump_task = asyncio.create_task(self._pump(), name="redis-broker-pump")
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def _pump(self) -> None:
        """Listen on the replica's one subscription, reconnecting with backoff on failure."""
        backoff = 0.1
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(f"{self._prefix}:*")
                self._ready.set()
                backoff = 0.1
                async for message in pubsub.listen():
                    if message.get("type") != "pmessage":
                        continue
                    try:
                        event = DomainEvent.from_message(json.loads(message["data"]))
                    except (ValueError, KeyError, TypeError):
                        log.warning("dropping malformed broker message on %s", message["channel"])
                        continue
                    self._local.deliver(event)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("redis subscription lost (%s); retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def publish(self, event: DomainEvent) -> None:
        await self._redis.publish(
            f"{self._prefix}:{event.channel}", json.dumps(event.to_message())
        )

    def subscribe(self, channel: str) -> Subscription:
        return self._local.subscribe(channel)

    def subscriber_count(self, channel: str | None = None) -> int:
        return self._local.subscriber_count(channel)

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        if self._pump_task is not None:
            self._pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump_task
        await self._local.close()
        await self._redis.aclose()
