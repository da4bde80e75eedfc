"""In-process broker: fan-out of events to local subscriber queues.

Also the local half of the Redis broker, which feeds it from one Redis connection per replica.
A subscriber that falls too far behind is cut off with an error instead of silently losing
events, so a client can reconnect and replay (``afterSeq``) rather than show a gap.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator

from leadgraph.domain.events import DomainEvent

DEFAULT_QUEUE_SIZE = 1000


class SubscriberOverflow(Exception):
    """The subscriber did not keep up; its stream ends so the client can resubscribe."""


class _Subscription:
    __slots__ = ("overflowed", "queue")

    def __init__(self, size: int) -> None:
        self.queue: asyncio.Queue[DomainEvent] = asyncio.Queue(maxsize=size)
        self.overflowed = False


class InMemoryBroker:
    def __init__(self, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self._queue_size = queue_size
        self._subscriptions: dict[str, set[_Subscription]] = defaultdict(set)

    async def publish(self, event: DomainEvent) -> None:
        self.deliver(event)

    def deliver(self, event: DomainEvent) -> None:
        for subscription in list(self._subscriptions.get(event.channel, ())):
            try:
                subscription.queue.put_nowait(event)
            except asyncio.QueueFull:
                subscription.overflowed = True
                self._subscriptions[event.channel].discard(subscription)
                # Wake the reader so it notices at once.
                subscription.queue.get_nowait()
                subscription.queue.put_nowait(event)

    async def subscribe(self, channel: str) -> AsyncIterator[DomainEvent]:
        subscription = _Subscription(self._queue_size)
        self._subscriptions[channel].add(subscription)
        try:
            while True:
                event = await subscription.queue.get()
                if subscription.overflowed:
                    raise SubscriberOverflow(f"subscriber on {channel!r} fell behind")
                yield event
        finally:
            channel_subscriptions = self._subscriptions.get(channel)
            if channel_subscriptions is not None:
                channel_subscriptions.discard(subscription)
                if not channel_subscriptions:
                    del self._subscriptions[channel]

    def subscriber_count(self, channel: str | None = None) -> int:
        if channel is not None:
            return len(self._subscriptions.get(channel, ()))
        return sum(len(subs) for subs in self._subscriptions.values())

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._subscriptions.clear()
