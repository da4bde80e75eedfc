"""Gap-free lead events: a journaling publisher and a replaying reader.

``JournaledBroker`` wraps the broker for every use case that publishes: an event on a
journaled channel (``leads``) is numbered and stored in the journal first (it is published
after the write it describes is stored, so the journal never holds an event whose write was
lost), then published with its ``seq``. Every other channel passes straight through. One
place, so no lead-event publisher (leads, merges, scores) can forget the journal.

``GaplessStream`` is the reading side (``leadEvents(afterSeq:)``): subscribed first, then the
journal is read after ``afterSeq``; live events then follow in ``seq`` order, each once. It
re-reads the journal after the last ``seq`` delivered when the broker says it lost its link
(``STREAM_RESYNC``, a Redis restart) and when a ``seq`` is missing. A missing ``seq`` is
usually an event still on its way (two replicas publish concurrently, or it sat in another
replica's outbox), so the reader holds later events back, polls the journal and, after
``hole_grace_seconds`` without it, gives up on it: that ``seq`` was taken by a process that
died before storing its event, so there is nothing to wait for.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Iterator
from contextlib import aclosing

from leadgraph.domain.events import STREAM_RESYNC, DomainEvent
from leadgraph.domain.ports import EventBroker, EventJournal, EventSubscription

log = logging.getLogger(__name__)

REPLAY_BATCH = 500
FIRST_POLL_SECONDS = 0.05
MAX_POLL_SECONDS = 0.5


class JournaledBroker:
    """An ``EventBroker`` that journals the events of ``channels`` before publishing them."""

    def __init__(self, broker: EventBroker, journal: EventJournal,
                 channels: frozenset[str]) -> None:
        self._broker = broker
        self._journal = journal
        self._channels = channels

    async def publish(self, event: DomainEvent) -> None:
        if event.channel in self._channels and event.seq is None:
            try:
                event = await self._journal.append(event)
            except Exception:  # the write it describes is already stored
                # MongoDB failed right after the write succeeded: still tell live subscribers
                # (and the webhook dispatcher); this one event cannot be replayed.
                log.exception("could not journal %s; publishing it without a seq", event.type)
        await self._broker.publish(event)

    def subscribe(self, channel: str, *, resync: bool = False) -> EventSubscription:
        return self._broker.subscribe(channel, resync=resync)

    async def ping(self) -> bool:
        return await self._broker.ping()


class SharedJournalReads:
    """One process's journal reads, shared by all of its subscribers.

    Every local subscriber sees the same live events, so when one ``seq`` arrives late (two
    publishers raced between numbering and publishing) they all open the same hole and all
    poll the journal from the same point: with a thousand subscribers that was a thousand
    identical reads per hole. Here concurrent reads of the same range share one query, and a
    finished read answers the same range again for ``fresh_seconds``; the returned events are
    the same objects for every subscriber, so their GraphQL execution is shared as well
    (``schema/sharing.py``). Appends and ``head`` pass straight through.
    """

    def __init__(self, journal: EventJournal, fresh_seconds: float = 0.02) -> None:
        self._journal = journal
        self._fresh_seconds = fresh_seconds
        self._reads: dict[tuple[int, int], tuple[float, asyncio.Future[list[DomainEvent]]]] = {}

    async def append(self, event: DomainEvent) -> DomainEvent:
        return await self._journal.append(event)

    async def head(self) -> int:
        return await self._journal.head()

    async def after(self, seq: int, limit: int) -> list[DomainEvent]:
        loop = asyncio.get_running_loop()
        now = loop.time()
        key = (seq, limit)
        known = self._reads.get(key)
        if known is not None and (not known[1].done() or now - known[0] < self._fresh_seconds):
            return list(await asyncio.shield(known[1]))
        for stale in [k for k, (at, f) in self._reads.items()
                      if f.done() and now - at >= self._fresh_seconds]:
            del self._reads[stale]
        read = asyncio.ensure_future(self._journal.after(seq, limit))
        self._reads[key] = (now, read)
        try:
            return list(await asyncio.shield(read))
        except BaseException:
            if self._reads.get(key, (0.0, None))[1] is read:
                del self._reads[key]  # a failed read is not remembered
            raise


class GaplessStream:
    """One subscriber's events in ``seq`` order, each once, live ones after any replay.

    ``subscription`` must have been opened (with ``resync=True``) before ``journal`` is read,
    and ``last`` is the ``seq`` after which events are wanted: ``afterSeq``, or the journal's
    head read just before subscribing (a subscription without ``afterSeq`` starts now).
    """

    def __init__(
        self, subscription: EventSubscription, journal: EventJournal, last: int, *,
        replay: bool, hole_grace_seconds: float,
    ) -> None:
        self._subscription = subscription
        self._journal = journal
        self._last = last
        self._replay = replay
        self._grace = hole_grace_seconds
        self._held: dict[int, DomainEvent] = {}  # arrived ahead of a missing seq
        self._hole_since: float | None = None
        self._poll = FIRST_POLL_SECONDS

    async def events(self) -> AsyncGenerator[DomainEvent, None]:
        try:
            if self._replay:
                for event in await self._catch_up():
                    yield event
            while True:
                try:
                    received = await self._next()
                except StopAsyncIteration:
                    return
                if received is None or received.type == STREAM_RESYNC:
                    # A hole still open after a poll interval, or the broker's link is back.
                    for replayed in await self._catch_up():
                        yield replayed
                    continue
                event = received
                if event.seq is None:  # could not be journaled: deliver, cannot order it
                    yield event
                    continue
                if event.seq <= self._last or event.seq in self._held:
                    continue  # replayed already (or a flushed outbox echo)
                self._held[event.seq] = event
                for ready in self._ready():
                    yield ready
        finally:
            await self._subscription.aclose()

    async def _next(self) -> DomainEvent | None:
        """The next broker event; ``None`` after a poll interval while a hole is open."""
        if not self._held:
            return await self._subscription.__anext__()
        try:
            return await asyncio.wait_for(self._subscription.__anext__(), self._poll)
        except TimeoutError:
            self._poll = min(self._poll * 2, MAX_POLL_SECONDS)
            return None

    def _ready(self) -> Iterator[DomainEvent]:
        """Held events that now follow ``last`` without a gap."""
        while self._last + 1 in self._held:
            self._last += 1
            yield self._held.pop(self._last)
        loop = asyncio.get_running_loop()
        if not self._held:
            self._hole_since = None
            self._poll = FIRST_POLL_SECONDS
        elif self._hole_since is None:
            self._hole_since = loop.time()

    async def _catch_up(self) -> list[DomainEvent]:
        """Everything the journal has after ``last``, plus held events, in order; a hole
        older than the grace period is skipped."""
        out: list[DomainEvent] = []
        cursor = self._last
        while True:
            batch = await self._journal.after(cursor, REPLAY_BATCH)
            for stored in batch:
                if stored.seq is None:
                    continue
                cursor = stored.seq
                if stored.seq > self._last:
                    # Keep a live object already held: identical subscribers share its output.
                    self._held.setdefault(stored.seq, stored)
            out.extend(self._ready())
            if len(batch) < REPLAY_BATCH:
                break
        if self._held and self._hole_since is not None and \
                asyncio.get_running_loop().time() - self._hole_since >= self._grace:
            missing = min(self._held) - 1
            log.warning("lead events %d..%d never stored; skipping them",
                        self._last + 1, missing)
            self._last = missing
            self._hole_since = None
            out.extend(self._ready())
        return out


async def gapless_events(
    broker: EventBroker, journal: EventJournal, channel: str, after_seq: int | None, *,
    hole_grace_seconds: float,
) -> AsyncGenerator[DomainEvent, None]:
    """Open a ``GaplessStream`` on ``channel``: with ``after_seq``, replay first; without it,
    from now on (the head is read before subscribing, so an event published once this is
    subscribed has a higher ``seq`` and is delivered)."""
    if after_seq is None:
        start = await journal.head()
        subscription = broker.subscribe(channel, resync=True)
    else:
        subscription = broker.subscribe(channel, resync=True)
    try:
        if after_seq is not None:
            # A seq from the future (a client of a wiped database) would silence the stream
            # until the counter caught up: start from the head instead. Read after
            # subscribing, so any event above it also arrives live.
            start = min(after_seq, await journal.head())
        stream = GaplessStream(subscription, journal, max(start, 0),
                               replay=after_seq is not None,
                               hole_grace_seconds=hole_grace_seconds)
        async with aclosing(stream.events()) as events:
            async for event in events:
                yield event
    finally:
        await subscription.aclose()  # at once, whoever closes this generator
