"""The event broker contract, for the in-process broker and for Redis pub/sub (real Redis)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest

from leadgraph.adapters.broker.memory import InMemoryBroker, SubscriberOverflow, Subscription
from leadgraph.adapters.broker.redis import RedisBroker
from leadgraph.domain.events import DomainEvent

Broker = InMemoryBroker | RedisBroker
END = "test.end"


def event(channel: str, number: int, kind: str = "test.event") -> DomainEvent:
    return DomainEvent(type=kind, channel=channel, data={"n": number})


def end(channel: str) -> DomainEvent:
    return DomainEvent(type=END, channel=channel, data={})


def stream_of(broker: Broker, channel: str) -> Subscription:
    return broker.subscribe(channel)


async def wait_for_count(broker: Broker, channel: str, count: int) -> None:
    for _ in range(500):
        if broker.subscriber_count(channel) == count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(
        f"{channel!r} has {broker.subscriber_count(channel)} subscribers, expected {count}"
    )


class Reader:
    """Consumes one subscription in a task until an END event, recording what arrived."""

    def __init__(self, broker: Broker, channel: str) -> None:
        self.stream = stream_of(broker, channel)
        self.events: list[DomainEvent] = []
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for item in self.stream:
            if item.type == END:
                return
            self.events.append(item)

    async def finish(self) -> list[DomainEvent]:
        try:
            await asyncio.wait_for(self.task, timeout=10)
        finally:
            await self.stream.aclose()
        return self.events


@contextlib.asynccontextmanager
async def redis_broker(url: str, prefix: str) -> AsyncIterator[RedisBroker]:
    broker = RedisBroker(url, prefix=prefix)
    await broker.start()
    try:
        yield broker
    finally:
        await broker.close()


@pytest.fixture(params=["memory", "redis"])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    if request.param == "memory":
        memory = InMemoryBroker()
        yield memory
        await memory.close()
        return
    url: str = request.getfixturevalue("redis_url")
    async with redis_broker(url, f"lgtest-broker-{uuid.uuid4().hex[:8]}") as redis:
        yield redis


def channel_name() -> str:
    return f"ch-{uuid.uuid4().hex[:8]}"


# -- contract ------------------------------------------------------------------------------


async def test_ping(broker: Broker) -> None:
    assert await broker.ping() is True


async def test_events_arrive_on_their_channel_only_and_in_order(broker: Broker) -> None:
    wanted, other = channel_name(), channel_name()
    reader = Reader(broker, wanted)
    await wait_for_count(broker, wanted, 1)
    assert broker.subscriber_count(other) == 0

    sent = []
    for number in range(10):
        mine = event(wanted, number)
        sent.append(mine)
        await broker.publish(mine)
        await broker.publish(event(other, number, "test.other"))
    await broker.publish(end(wanted))

    received = await reader.finish()
    assert [item.id for item in received] == [item.id for item in sent]
    assert [item.data for item in received] == [{"n": n} for n in range(10)]
    assert {item.channel for item in received} == {wanted}
    assert {item.type for item in received} == {"test.event"}
    # The event survives the trip intact (Redis serialises it to JSON and back).
    assert received[0].at == sent[0].at
    assert received[0] == sent[0]


async def test_two_subscribers_each_get_every_event_once(broker: Broker) -> None:
    channel = channel_name()
    first, second = Reader(broker, channel), Reader(broker, channel)
    await wait_for_count(broker, channel, 2)

    sent = [event(channel, number) for number in range(7)]
    for item in sent:
        await broker.publish(item)
    await broker.publish(end(channel))

    expected = [item.id for item in sent]
    assert [item.id for item in await first.finish()] == expected
    assert [item.id for item in await second.finish()] == expected


async def test_closing_the_stream_removes_the_subscriber(broker: Broker) -> None:
    channel = channel_name()
    stream = stream_of(broker, channel)
    pending = asyncio.ensure_future(stream.__anext__())
    await wait_for_count(broker, channel, 1)
    assert broker.subscriber_count() >= 1

    first = event(channel, 1)
    await broker.publish(first)
    assert (await asyncio.wait_for(pending, 10)).id == first.id

    await stream.aclose()
    assert broker.subscriber_count(channel) == 0

    # The channel still works for a new subscriber, which is also removed when done.
    reader = Reader(broker, channel)
    await wait_for_count(broker, channel, 1)
    later = event(channel, 3)
    await broker.publish(later)
    await broker.publish(end(channel))
    assert [item.id for item in await reader.finish()] == [later.id]
    assert broker.subscriber_count(channel) == 0
    # Publishing to a channel nobody listens to is harmless.
    await broker.publish(event(channel, 4))
    assert broker.subscriber_count(channel) == 0


async def test_subscription_is_registered_as_soon_as_subscribe_returns(broker: Broker) -> None:
    channel = channel_name()
    stream = stream_of(broker, channel)
    # Not iterated yet, and already counted: nothing published from now on can be missed.
    assert broker.subscriber_count(channel) == 1
    sent = [event(channel, number) for number in range(3)]
    for item in sent:
        await broker.publish(item)
    received = [(await asyncio.wait_for(stream.__anext__(), 10)).id for _ in sent]
    assert received == [item.id for item in sent]
    await stream.aclose()
    assert broker.subscriber_count(channel) == 0


async def test_a_closed_subscription_ends_and_gets_nothing_more(broker: Broker) -> None:
    channel = channel_name()
    stream = stream_of(broker, channel)
    pending = asyncio.ensure_future(stream.__anext__())
    await asyncio.sleep(0)
    pending.cancel()  # a client that went away while waiting
    with pytest.raises(asyncio.CancelledError):
        await pending
    await stream.aclose()
    assert broker.subscriber_count(channel) == 0
    await stream.aclose()  # closing twice is harmless
    await broker.publish(event(channel, 1))
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(stream.__anext__(), 10)
    assert [item async for item in stream] == []


# -- scale-out over Redis ------------------------------------------------------------------


async def test_event_published_on_one_replica_reaches_another_exactly_once_in_order(
    redis_url: str,
) -> None:
    prefix = f"lgtest-replicas-{uuid.uuid4().hex[:8]}"
    channel = channel_name()
    async with redis_broker(redis_url, prefix) as replica_a, \
            redis_broker(redis_url, prefix) as replica_b:
        on_b = Reader(replica_b, channel)
        on_a = Reader(replica_a, channel)
        await wait_for_count(replica_b, channel, 1)
        await wait_for_count(replica_a, channel, 1)

        sent = [event(channel, number) for number in range(50)]
        for item in sent:
            await replica_a.publish(item)
        await replica_a.publish(end(channel))

        received_b = await on_b.finish()
        assert [item.data["n"] for item in received_b] == list(range(50))
        assert [item.id for item in received_b] == [item.id for item in sent]
        # The publishing replica's own subscribers get each event exactly once as well.
        assert [item.id for item in await on_a.finish()] == [item.id for item in sent]


async def test_replicas_with_another_prefix_are_isolated(redis_url: str) -> None:
    channel = channel_name()
    async with redis_broker(redis_url, f"lgtest-a-{uuid.uuid4().hex[:8]}") as tenant_a, \
            redis_broker(redis_url, f"lgtest-b-{uuid.uuid4().hex[:8]}") as tenant_b:
        on_b = Reader(tenant_b, channel)
        await wait_for_count(tenant_b, channel, 1)
        await tenant_a.publish(event(channel, 1))
        mine = event(channel, 2)
        await tenant_b.publish(mine)
        await tenant_b.publish(end(channel))
        assert [item.id for item in await on_b.finish()] == [mine.id]


# -- back-pressure -------------------------------------------------------------------------


async def test_slow_subscriber_overflow_ends_its_stream_with_an_error() -> None:
    broker = InMemoryBroker(queue_size=3)
    channel = channel_name()
    slow = stream_of(broker, channel)
    fast = stream_of(broker, channel)
    slow_first = asyncio.ensure_future(slow.__anext__())
    fast_next = asyncio.ensure_future(fast.__anext__())
    await wait_for_count(broker, channel, 2)

    sent = [event(channel, number) for number in range(8)]
    await broker.publish(sent[0])
    assert (await asyncio.wait_for(slow_first, 10)).id == sent[0].id

    fast_received = [(await asyncio.wait_for(fast_next, 10)).id]
    for item in sent[1:]:
        await broker.publish(item)  # the slow one reads nothing from here on
        fast_received.append((await asyncio.wait_for(fast.__anext__(), 10)).id)

    # The slow subscriber is cut off instead of silently losing events ...
    assert broker.subscriber_count(channel) == 1
    with pytest.raises(SubscriberOverflow, match="fell behind"):
        await asyncio.wait_for(slow.__anext__(), 10)
    with pytest.raises(StopAsyncIteration):
        await slow.__anext__()
    # ... while the one that kept up got everything, in order.
    assert fast_received == [item.id for item in sent]
    await fast.aclose()
    assert broker.subscriber_count(channel) == 0
    await broker.close()


async def test_subscriber_within_its_queue_size_loses_nothing() -> None:
    broker = InMemoryBroker(queue_size=3)
    channel = channel_name()
    stream = stream_of(broker, channel)
    first = asyncio.ensure_future(stream.__anext__())
    await wait_for_count(broker, channel, 1)
    sent = [event(channel, number) for number in range(3)]
    for item in sent:  # published back to back: the queue fills up exactly
        await broker.publish(item)
    received = [(await asyncio.wait_for(first, 10)).id]
    for _ in range(2):
        received.append((await asyncio.wait_for(stream.__anext__(), 10)).id)
    assert received == [item.id for item in sent]
    assert broker.subscriber_count(channel) == 1
    await stream.aclose()
    assert broker.subscriber_count(channel) == 0
    await broker.close()
