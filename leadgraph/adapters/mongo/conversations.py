"""Conversation and message repositories on Beanie."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pymongo
from beanie.odm.enums import SortDirection
from pymongo import ReturnDocument

from leadgraph.adapters.mongo.documents import ConversationDocument, MessageDocument
from leadgraph.adapters.mongo.ids import parse_object_id, parse_object_ids
from leadgraph.adapters.mongo.stored import from_stored
from leadgraph.domain.conversations import (
    Channel,
    Conversation,
    ConversationFields,
    ConversationFilter,
    Message,
    MessageAnalysis,
    MessageFields,
    MessageStats,
)
from leadgraph.domain.pagination import Page, PageRequest


def to_conversation(document: ConversationDocument) -> Conversation:
    return Conversation(
        id=str(document.id), **document.model_dump(exclude={"id", "revision_id"})
    )


def to_message(document: MessageDocument) -> Message:
    return Message(id=str(document.id), **document.model_dump(exclude={"id", "revision_id"}))


class MongoConversationRepository:
    async def insert(self, fields: ConversationFields) -> Conversation:
        document = ConversationDocument(**fields.model_dump())
        await document.insert()
        return to_conversation(document)

    async def get(self, conversation_id: str) -> Conversation | None:
        oid = parse_object_id(conversation_id)
        document = await ConversationDocument.get(oid) if oid is not None else None
        return to_conversation(document) if document is not None else None

    async def get_many(self, conversation_ids: Sequence[str]) -> list[Conversation]:
        oids = parse_object_ids(conversation_ids)
        if not oids:
            return []
        documents = await ConversationDocument.find({"_id": {"$in": oids}}).to_list()
        return [to_conversation(document) for document in documents]

    async def find_by_external_id(
        self, external_id: str, channel: Channel | None = None
    ) -> Conversation | None:
        query: dict[str, Any] = {"external_id": external_id}
        if channel is not None:
            query["channel"] = channel.value
        documents = await ConversationDocument.find(query).sort(
            [("created_at", SortDirection.DESCENDING)]
        ).limit(1).to_list()
        return to_conversation(documents[0]) if documents else None

    async def for_leads(self, lead_ids: Sequence[str]) -> list[Conversation]:
        # Raw documents (see ``stored``): a loader of lead pages.
        cursor = ConversationDocument.get_pymongo_collection().find(
            {"lead_id": {"$in": list(lead_ids)}}
        ).sort([("created_at", pymongo.ASCENDING)])
        return [from_stored(Conversation, document) for document in await cursor.to_list()]

    async def ids_for_leads(self, lead_ids: Sequence[str]) -> list[tuple[str, str]]:
        cursor = ConversationDocument.get_pymongo_collection().find(
            {"lead_id": {"$in": list(lead_ids)}}, {"lead_id": 1}
        )
        return [(str(row["_id"]), str(row["lead_id"])) for row in await cursor.to_list()]

    async def reassign_lead(self, from_lead_id: str, to_lead_id: str) -> list[str]:
        collection = ConversationDocument.get_pymongo_collection()
        ids = [row["_id"] async for row in collection.find({"lead_id": from_lead_id}, {"_id": 1})]
        if ids:
            await collection.update_many({"_id": {"$in": ids}}, {"$set": {"lead_id": to_lead_id}})
        return [str(oid) for oid in ids]

    async def set_lead(self, conversation_ids: Sequence[str], lead_id: str) -> None:
        oids = parse_object_ids(conversation_ids)
        if oids:
            await ConversationDocument.get_pymongo_collection().update_many(
                {"_id": {"$in": oids}}, {"$set": {"lead_id": lead_id}}
            )

    async def reserve_seq(self, conversation_id: str) -> int:
        oid = parse_object_id(conversation_id)
        updated = await ConversationDocument.get_pymongo_collection().find_one_and_update(
            {"_id": oid}, {"$inc": {"last_seq": 1}}, projection={"last_seq": 1},
            return_document=ReturnDocument.AFTER,
        )
        if updated is None:
            raise LookupError(conversation_id)
        return int(updated["last_seq"])

    async def save_state(self, conversation: Conversation) -> None:
        # A whole-document replace, not ``$set``: nx-27017 stores a datetime given to ``$set``
        # as a string. Safe because callers hold the conversation's lock, so ``last_seq`` is
        # the latest one taken.
        document = ConversationDocument(
            id=parse_object_id(conversation.id), **conversation.model_dump(exclude={"id"})
        )
        await document.replace(ignore_revision=True)

    async def delete(self, conversation_id: str) -> bool:
        oid = parse_object_id(conversation_id)
        if oid is None:
            return False
        result = await ConversationDocument.get_pymongo_collection().delete_one({"_id": oid})
        return bool(result.deleted_count)

    async def search(
        self, conversation_filter: ConversationFilter, page: PageRequest
    ) -> Page[Conversation]:
        query = {
            key: (value.value if hasattr(value, "value") else value)
            for key, value in conversation_filter.model_dump().items() if value is not None
        }
        cursor = ConversationDocument.find(query).sort(
            [("last_active", SortDirection.DESCENDING), ("_id", SortDirection.DESCENDING)]
        )
        documents = await cursor.skip(page.offset).limit(page.limit).to_list()
        total = await ConversationDocument.find(query).count()
        return Page(items=[to_conversation(d) for d in documents], total=total,
                    offset=page.offset, limit=page.limit)


class MongoMessageRepository:
    async def insert(self, fields: MessageFields) -> Message:
        document = MessageDocument(**fields.model_dump())
        await document.insert()
        return to_message(document)

    async def set_analysis(self, message_id: str, analysis: MessageAnalysis) -> None:
        await MessageDocument.get_pymongo_collection().update_one(
            {"_id": parse_object_id(message_id)},
            {"$set": {"analysis": analysis.model_dump(mode="json")}},
        )

    async def after(self, conversation_id: str, after_seq: int, limit: int) -> list[Message]:
        documents = await MessageDocument.find(
            {"conversation_id": conversation_id, "seq": {"$gt": after_seq}}
        ).sort([("seq", SortDirection.ASCENDING)]).limit(limit).to_list()
        return [to_message(document) for document in documents]

    async def for_conversations(self, conversation_ids: Sequence[str]) -> list[Message]:
        documents = await MessageDocument.find(
            {"conversation_id": {"$in": list(conversation_ids)}}
        ).sort([("timestamp", SortDirection.ASCENDING), ("seq", SortDirection.ASCENDING)]).to_list()
        return [to_message(document) for document in documents]

    async def latest_of(self, conversation_ids: Sequence[str]) -> list[Message]:
        # One aggregate for a whole page of conversations (the ``lastMessage`` loader), so a
        # list of leads costs the same number of commands whatever its size.
        if not conversation_ids:
            return []
        cursor = await MessageDocument.get_pymongo_collection().aggregate([
            {"$match": {"conversation_id": {"$in": list(conversation_ids)}}},
            {"$sort": {"seq": -1}},
            {"$group": {"_id": "$conversation_id", "doc": {"$first": "$$ROOT"}}},
        ])
        return [from_stored(Message, row["doc"]) async for row in cursor]

    async def stats_for(self, conversation_ids: Sequence[str]) -> MessageStats:
        if not conversation_ids:
            return MessageStats()
        collection = MessageDocument.get_pymongo_collection()
        match = {"conversation_id": {"$in": list(conversation_ids)}}
        cursor = await collection.aggregate([
            {"$match": match}, {"$group": {"_id": "$role", "count": {"$sum": 1}}},
        ])
        counts = {str(row["_id"]): int(row["count"]) async for row in cursor}
        # Not $max in the $group: nx-27017 returns dates from it as extended-JSON strings.
        latest = await collection.find_one(
            match, projection={"timestamp": 1}, sort=[("timestamp", pymongo.DESCENDING)]
        )
        return MessageStats(
            user_messages=counts.get("user", 0),
            assistant_messages=counts.get("assistant", 0),
            last_message_at=latest["timestamp"] if latest else None,
        )

    async def delete_for(self, conversation_id: str) -> None:
        await MessageDocument.get_pymongo_collection().delete_many(
            {"conversation_id": conversation_id}
        )

    async def find_by_external_id(
        self, conversation_id: str, external_id: str
    ) -> Message | None:
        document = await MessageDocument.find_one(
            {"conversation_id": conversation_id, "external_id": external_id}
        )
        return to_message(document) if document is not None else None

    async def find_reply(self, conversation_id: str, message_id: str) -> Message | None:
        document = await MessageDocument.find_one(
            {"conversation_id": conversation_id, "reply_to": message_id}
        )
        return to_message(document) if document is not None else None
