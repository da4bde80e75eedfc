"""In-process broker: fan-out of events to local subscriber queues.

Also the local half of the Redis broker, which feeds it from one Redis connection per replica.
A subscription is registered the moment ``subscribe`` returns, so a caller can subscribe,
then replay history, and miss nothing in between. A subscriber that falls too far behind is
cut off with an error instead of silently losing events, so a client can resubscribe and
replay (``afterSeq``) rather than show a gap.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from leadgraph.domain.events import STREAM_RESYNC, DomainEvent

DEFAULT_QUEUE_SIZE = 1000


class SubscriberOverflow(Exception):
    """The subscriber did not keep up; its stream ends so the client can resubscribe."""


class Subscription:
    """An async iterator of one channel's events; ``aclose()`` unregisters it."""

    def __init__(
        self, broker: InMemoryBroker, channel: str, size: int, *, resync: bool = False
    ) -> None:
        self.channel = channel
        self.resync = resync
        self.queue: asyncio.Queue[DomainEvent] = asyncio.Queue(maxsize=size)
        self.overflowed = False
        self._broker = broker
        self._closed = False
        broker._register(self)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> DomainEvent:
        if self._closed:
            raise StopAsyncIteration
        event = await self.queue.get()
        if self.overflowed:
            await self.aclose()
            raise SubscriberOverflow(f"subscriber on {self.channel!r} fell behind")
        return event

    def offer(self, event: DomainEvent) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            self._broker._unregister(self)
            # Make room so the reader wakes up and notices at once.
            self.queue.get_nowait()
            self.queue.put_nowait(event)

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._broker._unregister(self)


class InMemoryBroker:
    def __init__(self, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self._queue_size = queue_size
        self._subscriptions: dict[str, set[Subscription]] = defaultdict(set)

    async def publish(self, event: DomainEvent) -> None:
        self.deliver(event)

    def deliver(self, event: DomainEvent) -> None:
        for subscription in list(self._subscriptions.get(event.channel, ())):
            subscription.offer(event)

    def subscribe(self, channel: str, *, resync: bool = False) -> Subscription:
        return Subscription(self, channel, self._queue_size, resync=resync)

    def resync(self) -> None:
        """Tell every subscription that asked for it that events may have been missed.

        The Redis broker calls this once its subscription is back after a lost connection.
        """
        for subscriptions in list(self._subscriptions.values()):
            for subscription in list(subscriptions):
                if subscription.resync:
                    subscription.offer(DomainEvent(
                        type=STREAM_RESYNC, channel=subscription.channel, data={}
                    ))

    def _register(self, subscription: Subscription) -> None:
        self._subscriptions[subscription.channel].add(subscription)

    def _unregister(self, subscription: Subscription) -> None:
        channel_subscriptions = self._subscriptions.get(subscription.channel)
        if channel_subscriptions is not None:
            channel_subscriptions.discard(subscription)
            if not channel_subscriptions:
                del self._subscriptions[subscription.channel]

    def subscriber_count(self, channel: str | None = None) -> int:
        if channel is not None:
            return len(self._subscriptions.get(channel, ()))
        return sum(len(subs) for subs in self._subscriptions.values())

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._subscriptions.clear()
