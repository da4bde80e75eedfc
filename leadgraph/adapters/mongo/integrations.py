"""Raw collections behind the integrations: webhooks, the delivery outbox, inbound channel ids.

Scheduling times are stored as epoch seconds (floats) so the claim query is a plain number
comparison; human-facing timestamps are ISO strings. Claims are atomic
(``find_one_and_update``) so several replicas can share one outbox.
"""

from __future__ import annotations

import json
from typing import Any, overload

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from leadgraph.adapters.mongo.connection import MongoDatabase

Doc = dict[str, Any]


class MongoIntegrationStore:
    def __init__(self, database: MongoDatabase) -> None:
        db = database.client[database.db_name]
        # Every row carries its database name and queries filter on it: nx-27017 0.8.1 does
        # not separate databases, and two services (tests) may share one server.
        self._scope = database.db_name
        self._webhooks = db["webhooks"]
        self._deliveries = db["webhook_deliveries"]
        self._inbound = db["channel_inbound"]
        self._channel_messages = db["channel_messages"]

    async def ensure_indexes(self) -> None:
        await self._deliveries.create_index(
            [("dedupe_key", ASCENDING)], unique=True, name="dedupe_key_unique"
        )
        await self._deliveries.create_index([("webhook_id", ASCENDING)], name="by_webhook")
        await self._channel_messages.create_index(
            [("message_id", ASCENDING)], name="by_message")

    # -- webhooks -------------------------------------------------------------------------

    async def insert_webhook(self, doc: Doc) -> None:
        await self._webhooks.insert_one({**doc, "db": self._scope})

    async def get_webhook(self, webhook_id: str) -> Doc | None:
        return await self._webhooks.find_one({"_id": webhook_id})

    async def list_webhooks(self) -> list[Doc]:
        cursor = self._webhooks.find({"db": self._scope}).sort("created_at", ASCENDING)
        return [doc async for doc in cursor]

    async def replace_webhook(self, doc: Doc) -> None:
        await self._webhooks.replace_one({"_id": doc["_id"]}, {**doc, "db": self._scope})

    async def delete_webhook(self, webhook_id: str) -> bool:
        result = await self._webhooks.delete_one({"_id": webhook_id})
        return result.deleted_count == 1

    async def webhook_outcome(self, webhook_id: str, *, success: bool) -> Doc | None:
        update: Doc = (
            {"$set": {"consecutive_failures": 0}} if success
            else {"$inc": {"consecutive_failures": 1}}
        )
        return await self._webhooks.find_one_and_update(
            {"_id": webhook_id}, update, return_document=ReturnDocument.AFTER
        )

    async def disable_active_webhook(self, webhook_id: str, reason: str) -> bool:
        """Disable once: True only for the caller that turned an active webhook off."""
        result = await self._webhooks.update_one(
            {"$and": [{"_id": webhook_id}, {"status": "active"}]},
            {"$set": {"status": "disabled", "disabled_reason": reason}},
        )
        return result.modified_count == 1

    # -- outbox ---------------------------------------------------------------------------

    async def enqueue(self, doc: Doc) -> bool:
        """False when the same ``dedupe_key`` is already queued (another replica saw it)."""
        try:
            await self._deliveries.insert_one({**doc, "db": self._scope})
        except DuplicateKeyError:
            return False
        return True

    async def claim_due(self, now: float, lease_until: float) -> Doc | None:
        return await self._deliveries.find_one_and_update(
            {"$and": [{"db": self._scope}, {"status": "pending"},
                      {"next_attempt_at": {"$lte": now}}]},
            {"$set": {"next_attempt_at": lease_until}},
            sort=[("next_attempt_at", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )

    async def record_attempt(self, delivery_id: str, attempt: Doc, changes: Doc) -> None:
        # Read-modify-write instead of ``$push``: nx-27017 0.8.1 stores a pushed document as
        # a JSON string. Safe here: the row is leased to this worker while it is attempted.
        current = await self._deliveries.find_one({"_id": delivery_id}, {"attempts": 1})
        attempts = [*_attempts(current), attempt]
        await self._deliveries.update_one(
            {"_id": delivery_id}, {"$set": {**changes, "attempts": attempts}}
        )

    async def get_delivery(self, delivery_id: str) -> Doc | None:
        return _decoded(await self._deliveries.find_one({"_id": delivery_id}))

    async def deliveries_for(self, webhook_id: str, limit: int) -> list[Doc]:
        cursor = self._deliveries.find({"webhook_id": webhook_id}).sort("seq", ASCENDING)
        return [_decoded(doc) async for doc in cursor.limit(limit)]

    async def reset_delivery(self, delivery_id: str, now: float) -> bool:
        result = await self._deliveries.update_one(
            {"_id": delivery_id},
            {"$set": {"status": "pending", "next_attempt_at": now, "failures": 0}},
        )
        return result.matched_count == 1

    # -- inbound channel messages ---------------------------------------------------------

    async def accept_inbound(self, doc: Doc) -> bool:
        """Store an inbound provider message once; False for a duplicate provider id."""
        try:
            await self._inbound.insert_one({**doc, "db": self._scope})
        except DuplicateKeyError:
            return False
        return True

    async def claim_inbound(self, now: float, lease_until: float) -> Doc | None:
        """Lease the oldest due message; ``attempts`` counts claims (a crash counts as one)."""
        return await self._inbound.find_one_and_update(
            {"$and": [{"db": self._scope}, {"status": "pending"},
                      {"lease_until": {"$lte": now}}]},
            {"$set": {"lease_until": lease_until}, "$inc": {"attempts": 1}},
            sort=[("received_seq", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )

    async def finish_inbound(self, inbound_id: str, changes: Doc) -> None:
        await self._inbound.update_one({"_id": inbound_id}, {"$set": changes})

    async def get_inbound(self, inbound_id: str) -> Doc | None:
        return await self._inbound.find_one({"_id": inbound_id})

    # -- outbound channel messages and their provider statuses ----------------------------

    async def link_channel_message(self, key: str, fields: Doc) -> None:
        """Tie a provider message id to our message (upsert: a status may have come first)."""
        await self._channel_messages.update_one(
            {"_id": key}, {"$set": {**fields, "db": self._scope}, "$max": {"rank": 0}},
            upsert=True,
        )

    async def record_channel_status(
        self, key: str, fields: Doc, rank: int, event: Doc
    ) -> Doc | None:
        """Add one provider status; ``rank`` only rises. Returns the row as it was before."""
        before = await self._channel_messages.find_one_and_update(
            {"_id": key},
            {"$set": {**fields, "db": self._scope}, "$max": {"rank": rank},
             "$push": {"events": event}},
            upsert=True, return_document=ReturnDocument.BEFORE,
        )
        return _decoded_events(before)

    async def channel_messages_for(self, message_ids: list[str]) -> list[Doc]:
        cursor = self._channel_messages.find({"message_id": {"$in": message_ids}})
        return [_decoded_events(doc) async for doc in cursor]

    async def get_channel_message(self, key: str) -> Doc | None:
        return _decoded_events(await self._channel_messages.find_one({"_id": key}))

    async def channel_messages_to(self, channel: str, recipient: str) -> list[Doc]:
        cursor = self._channel_messages.find(
            {"$and": [{"db": self._scope}, {"channel": channel}, {"recipient": recipient}]})
        return [_decoded_events(doc) async for doc in cursor]


def _attempts(doc: Doc | None) -> list[Doc]:
    raw = (doc or {}).get("attempts") or []
    return [json.loads(item) if isinstance(item, str) else item for item in raw]


@overload
def _decoded_events(doc: Doc) -> Doc: ...
@overload
def _decoded_events(doc: None) -> None: ...
def _decoded_events(doc: Doc | None) -> Doc | None:
    # nx-27017 0.8.1 stores a pushed document as a JSON string.
    if doc is None:
        return None
    raw = doc.get("events") or []
    return {**doc, "events": [json.loads(e) if isinstance(e, str) else e for e in raw]}


@overload
def _decoded(doc: Doc) -> Doc: ...
@overload
def _decoded(doc: None) -> None: ...
def _decoded(doc: Doc | None) -> Doc | None:
    if doc is None:
        return None
    return {**doc, "attempts": _attempts(doc)}
