"""The lead-event journal in MongoDB (``lead_events``), numbered by a counter document.

``seq`` comes from one ``$inc`` on a counter document (``event_counters``), which MongoDB
applies atomically, so it is strictly increasing across every replica and survives the
journal's TTL: an empty journal (all entries expired) never restarts the numbering. Each
event is then inserted whole (an insert, not ``$set``: nx-27017 would store a top-level
datetime given to ``$set`` as a string). Two commands per lead event.

Both the counter and the entries are namespaced by the database's name: nx-27017 (the
embedded server) ignores database names, so two deployments sharing one embedded server would
otherwise share one numbering and replay each other's events (as the webhook outbox rows and
training jobs carry their ``db``).

A ``seq`` can be taken and never written (the process died between the two commands); the
reader (``resolvers/lead_events.py``) waits a bounded time for such a hole, then skips it.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

import pymongo
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from leadgraph.domain.events import DomainEvent

JOURNAL = "lead_events"
COUNTERS = "event_counters"
COUNTER_ID = "lead_events"


class MongoEventJournal:
    def __init__(
        self, database: AsyncDatabase[Any], retention_seconds: int, *,
        collection: str = JOURNAL, counter_id: str = COUNTER_ID,
    ) -> None:
        self._entries = database[collection]
        self._counters = database[COUNTERS]
        self._db = database.name
        self._counter_id = f"{counter_id}:{database.name}"
        self._retention_seconds = retention_seconds

    async def ensure_indexes(self) -> None:
        await self._entries.create_index([("db", pymongo.ASCENDING), ("seq", pymongo.ASCENDING)],
                                         unique=True, name="by_db_seq")
        # A server without TTL indexes keeps entries longer; replay stays correct.
        with suppress(OperationFailure):
            await self._entries.create_index(
                "stored_at", expireAfterSeconds=self._retention_seconds, name="retention"
            )

    async def append(self, event: DomainEvent) -> DomainEvent:
        counter = await self._counters.find_one_and_update(
            {"_id": self._counter_id}, {"$inc": {"seq": 1}}, projection={"seq": 1},
            upsert=True, return_document=ReturnDocument.AFTER,
        )
        if counter is None:  # an upsert with ReturnDocument.AFTER always returns it
            raise LookupError(self._counter_id)
        seq = int(counter["seq"])
        await self._entries.insert_one({
            "db": self._db, "seq": seq, "event_id": event.id, "type": event.type,
            "channel": event.channel,
            "data": event.data, "at": event.at, "stored_at": datetime.now(UTC),
        })
        return DomainEvent(type=event.type, channel=event.channel, data=event.data,
                           at=event.at, id=event.id, seq=seq)

    async def after(self, seq: int, limit: int) -> list[DomainEvent]:
        cursor = self._entries.find({"db": self._db, "seq": {"$gt": seq}}).sort(
            [("seq", pymongo.ASCENDING)]
        ).limit(limit)
        return [_event(document) for document in await cursor.to_list()]

    async def head(self) -> int:
        counter = await self._counters.find_one({"_id": self._counter_id}, {"seq": 1})
        return int(counter["seq"]) if counter is not None else 0


def _event(document: dict[str, Any]) -> DomainEvent:
    at = document["at"]
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)  # BSON dates come back naive (UTC)
    return DomainEvent(
        type=str(document["type"]), channel=str(document["channel"]),
        data=dict(document["data"]), at=at, id=str(document["event_id"]),
        seq=int(document["seq"]),
    )
