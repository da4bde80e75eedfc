"""Redis pub/sub broker, so a subscriber on one replica sees writes made on another.

One Redis subscriber connection per replica (a pattern subscription on ``<prefix>:*``, named
``<prefix>:sub:<replica>`` with ``CLIENT SETNAME`` so operators can count them) feeds the
in-process fan-out; clients never get a Redis connection of their own. Publishing goes to
Redis only, and the replica's own events come back through that one subscription, so every
local subscriber gets each event exactly once and in publish order.

Redis is optional at run time: the data is in MongoDB, Redis only carries notifications.
While Redis is unreachable

* ``publish`` never fails the write that caused the event: the event goes to this replica's
  subscribers at once and into a bounded, ordered outbox, flushed to Redis when it is back
  (its echo is then skipped here, so local subscribers still see it once);
* the subscriber connection reconnects by itself with capped exponential backoff, and once it
  is back, subscriptions opened with ``resync=True`` get a ``STREAM_RESYNC`` event so
  sequence-numbered streams replay what they missed from MongoDB.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections import OrderedDict, deque
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from leadgraph.adapters.broker.memory import InMemoryBroker, Subscription
from leadgraph.domain.events import DomainEvent

log = logging.getLogger(__name__)

BACKOFF_START = 0.1
BACKOFF_MAX = 1.0
# After a reconnect, wait this long before flushing the outbox, so the other replicas (whose
# backoff is at most BACKOFF_MAX) are subscribed again and receive what is flushed.
RESUBSCRIBE_GRACE = 1.5
MAX_PENDING = 10_000


class RedisBroker:
    def __init__(
        self, url: str, prefix: str = "leadgraph", *, replica: str | None = None,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self.replica = replica or f"{socket.gethostname()}-{os.getpid()}"
        self._prefix = prefix
        common: dict[str, Any] = {"decode_responses": True, "socket_connect_timeout": 2}
        # Commands (publish, ping) time out rather than hang on a dead server.
        self._redis: Redis = Redis.from_url(
            url, socket_timeout=5, client_name=f"{prefix}:pub:{self.replica}", **common
        )
        # The one subscriber connection: no read timeout (it waits for messages), but
        # periodic PINGs so a dead connection is noticed.
        self._listener: Redis = Redis.from_url(
            url, health_check_interval=10, socket_keepalive=True,
            client_name=f"{prefix}:sub:{self.replica}", **common,
        )
        self._local = InMemoryBroker()
        self._pump_task: asyncio.Task[None] | None = None
        self._flush_task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._connections = 0
        self._pending: deque[DomainEvent] = deque()
        self._max_pending = max_pending
        self._echoes: OrderedDict[str, None] = OrderedDict()
        self._wake = asyncio.Event()
        self.dropped = 0  # outbox overflow while Redis was down (sequence streams replay)

    @property
    def pattern(self) -> str:
        return f"{self._prefix}:*"

    @property
    def pending(self) -> int:
        """Events waiting in the outbox for Redis to come back."""
        return len(self._pending)

    async def start(self, wait_seconds: float = 10.0) -> None:
        """Subscribe; with Redis down, start anyway (degraded) and keep retrying."""
        self._pump_task = asyncio.create_task(self._pump(), name="redis-broker-pump")
        self._flush_task = asyncio.create_task(self._flush(), name="redis-broker-outbox")
        try:
            await asyncio.wait_for(self._subscribed.wait(), timeout=wait_seconds)
        except TimeoutError:
            log.warning("Redis is not reachable; starting without it and retrying")

    async def _pump(self) -> None:
        """Listen on the replica's one subscription, reconnecting with backoff on failure."""
        backoff = BACKOFF_START
        while True:
            pubsub = self._listener.pubsub()
            try:
                await pubsub.psubscribe(self.pattern)
                await self._confirmed(pubsub)
                backoff = BACKOFF_START
                self._connections += 1
                self._subscribed.set()
                if self._connections > 1:
                    log.warning("redis subscription restored; resyncing streams")
                    self._local.resync()
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "pmessage":
                        self._receive(message)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if self._subscribed.is_set():
                    log.warning("redis subscription lost (%s); reconnecting", exc)
                self._subscribed.clear()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    @staticmethod
    async def _confirmed(pubsub: Any) -> None:
        """Until Redis confirms the pattern subscription: from then on nothing is missed."""
        while True:
            message = await pubsub.get_message(timeout=5.0)
            if message is None:
                raise RedisError("no psubscribe confirmation")
            if message.get("type") == "psubscribe":
                return

    def _receive(self, message: dict[str, Any]) -> None:
        try:
            event = DomainEvent.from_message(json.loads(message["data"]))
        except (ValueError, KeyError, TypeError):
            log.warning("dropping malformed broker message on %s", message.get("channel"))
            return
        if event.id in self._echoes:
            del self._echoes[event.id]  # delivered here when it was queued
            return
        self._local.deliver(event)

    async def publish(self, event: DomainEvent) -> None:
        """To Redis; with Redis down (or events still queued), to the outbox in order."""
        if not self._pending:
            try:
                await self._redis.publish(self._channel(event), self._payload(event))
                return
            except (RedisError, OSError) as exc:
                log.warning("redis publish failed (%s); queueing events until it is back", exc)
        self._enqueue(event)

    def _enqueue(self, event: DomainEvent) -> None:
        if len(self._pending) >= self._max_pending:
            dropped = self._pending.popleft()
            self._echoes.pop(dropped.id, None)
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.error("redis outbox full: %d events dropped", self.dropped)
        self._pending.append(event)
        self._echoes[event.id] = None
        while len(self._echoes) > 2 * self._max_pending:
            self._echoes.popitem(last=False)
        self._local.deliver(event)  # this replica's subscribers need not wait for Redis
        self._wake.set()

    async def _flush(self) -> None:
        """Publish the outbox in order once the subscription (so Redis) is back."""
        while True:
            await self._wake.wait()
            backoff = BACKOFF_START
            while self._pending:
                if not self._subscribed.is_set():
                    await self._subscribed.wait()
                    await asyncio.sleep(RESUBSCRIBE_GRACE)
                event = self._pending[0]
                try:
                    await self._redis.publish(self._channel(event), self._payload(event))
                except (RedisError, OSError):
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, BACKOFF_MAX)
                    continue
                backoff = BACKOFF_START
                if self._pending and self._pending[0] is event:
                    self._pending.popleft()
            self._wake.clear()
            log.warning("redis outbox flushed")

    def _channel(self, event: DomainEvent) -> str:
        return f"{self._prefix}:{event.channel}"

    @staticmethod
    def _payload(event: DomainEvent) -> str:
        return json.dumps(event.to_message())

    def subscribe(self, channel: str, *, resync: bool = False) -> Subscription:
        return self._local.subscribe(channel, resync=resync)

    def subscriber_count(self, channel: str | None = None) -> int:
        return self._local.subscriber_count(channel)

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        for task in (self._flush_task, self._pump_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._pending:
            log.warning("closing with %d events never published to Redis", len(self._pending))
        await self._local.close()
        await self._listener.aclose()
        await self._redis.aclose()
