"""Chatbot storage: plain documents in ``chatbots``, ``training_datasets``, ``training_jobs``,
``model_versions`` and ``templates`` (whole-document inserts and replaces only: nx-27017
stores datetimes given to ``$set`` as strings)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from leadgraph.adapters.mongo.ids import parse_object_id
from leadgraph.domain.chatbots import (
    ACTIVE_JOB_STATUSES,
    CONVERSATIONS,
    JOBS,
    ChatbotActivity,
    IntentCount,
)


def _out(document: dict[str, Any]) -> dict[str, Any]:
    document = dict(document)
    document["id"] = str(document.pop("_id"))
    document.pop("db", None)
    return document


class MongoChatbotStore:
    def __init__(self, database: AsyncDatabase[Any]) -> None:
        self._db = database
        # Training jobs carry their database's name and lease claims filter on it: nx-27017
        # does not separate databases, and two services (tests) may share one server.
        self._scope = database.name

    def _document(self, collection: str, item: dict[str, Any]) -> dict[str, Any]:
        document = {key: value for key, value in item.items() if key != "id"}
        if collection == JOBS:
            document["db"] = self._scope
        return document

    async def insert(self, collection: str, fields: dict[str, Any]) -> dict[str, Any]:
        document = self._document(collection, fields)
        document["_id"] = ObjectId()
        await self._db[collection].insert_one(document)
        return _out(document)

    async def get(self, collection: str, item_id: str) -> dict[str, Any] | None:
        oid = parse_object_id(item_id)
        if oid is None:
            return None
        found = await self._db[collection].find_one({"_id": oid})
        return _out(found) if found is not None else None

    async def replace(self, collection: str, item: dict[str, Any]) -> None:
        await self._db[collection].replace_one(
            {"_id": ObjectId(item["id"])}, self._document(collection, item))

    # -- training-job leases --------------------------------------------------------------

    async def claim_job(self, now: float, owner: str, lease_until: float
                        ) -> dict[str, Any] | None:
        claimed = await self._db[JOBS].find_one_and_update(
            {"$and": [
                {"db": {"$in": [self._scope, None]}},  # None: rows from before leases
                {"status": {"$in": list(ACTIVE_JOB_STATUSES)}},
                {"$or": [{"lease_expires_at": None}, {"lease_expires_at": {"$lt": now}}]},
            ]},
            {"$set": {"lease_owner": owner, "lease_expires_at": lease_until, "db": self._scope},
             "$inc": {"attempts": 1}},
            sort=[("created_at", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )
        return _out(claimed) if claimed is not None else None

    async def renew_job(self, job_id: str, owner: str, lease_until: float) -> bool:
        result = await self._db[JOBS].update_one(
            {"_id": ObjectId(job_id), "lease_owner": owner},
            {"$set": {"lease_expires_at": lease_until}})
        return result.matched_count == 1

    async def replace_job(self, job: dict[str, Any], owner: str) -> bool:
        result = await self._db[JOBS].replace_one(
            {"_id": ObjectId(job["id"]), "lease_owner": owner},
            {**self._document(JOBS, job), "lease_owner": owner})
        return result.matched_count == 1

    async def release_job(self, job_id: str, owner: str) -> None:
        await self._db[JOBS].update_one(
            {"_id": ObjectId(job_id), "lease_owner": owner},
            {"$set": {"lease_expires_at": 0.0}})

    async def delete(self, collection: str, item_id: str) -> bool:
        oid = parse_object_id(item_id)
        if oid is None:
            return False
        result = await self._db[collection].delete_one({"_id": oid})
        return result.deleted_count > 0

    async def find(
        self, collection: str, query: dict[str, Any], offset: int = 0, limit: int = 0,
        projection: dict[str, Any] | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        cursor = self._db[collection].find(query, projection).sort(
            [("created_at", DESCENDING), ("_id", DESCENDING)]
        ).skip(offset)
        if limit:
            cursor = cursor.limit(limit)
        items = [_out(document) async for document in cursor]
        total = await self._db[collection].count_documents(query)
        return items, total

    async def count(self, collection: str, query: dict[str, Any]) -> int:
        return await self._db[collection].count_documents(query)

    async def count_by_chatbot(self, collection: str, chatbot_ids: list[str]
                               ) -> dict[str, int]:
        """One ``$group`` for any number of bots (bots with none are absent)."""
        return {str(row["_id"]): int(row["count"]) for row in await _rows(
            self._db[collection], [
                {"$match": {"chatbot_id": {"$in": chatbot_ids}}},
                {"$group": {"_id": "$chatbot_id", "count": {"$sum": 1}}},
            ])}

    async def activities(self, chatbot_ids: list[str]) -> dict[str, ChatbotActivity]:
        """Four commands whatever the number of bots or the traffic: conversations grouped by
        bot, status and purchase intent; the conversations' ids, bots, leads and last activity
        (messages carry their conversation's id, not the bot's, and nx-27017's ``$max`` on
        dates gives strings, so the latest is picked here); then the messages grouped by
        conversation and role, and the visitor's messages by conversation and intent, folded
        into their bots. Plain ``$match`` + ``$group`` stages (see
        ``adapters/mongo/analytics.py`` for what nx-27017 evaluates like MongoDB). One bot's
        figures (REST) and a page of bots' (GraphQL ``Chatbot.analytics``) run this same code."""
        conversations = self._db[CONVERSATIONS]
        messages = self._db["messages"]
        mine = {"chatbot_id": {"$in": chatbot_ids}}
        by_status: dict[str, dict[str, int]] = {}
        by_intent: dict[str, dict[str, int]] = {}
        for row in await _rows(conversations, [
            {"$match": mine},
            {"$group": {"_id": {"$concat": ["$chatbot_id", "|", "$status", "|",
                                            "$purchase_intent"]},
                        "count": {"$sum": 1}}},
        ]):
            bot, _, rest = str(row["_id"]).partition("|")
            status, _, intent = rest.partition("|")
            statuses = by_status.setdefault(bot, {})
            statuses[status] = statuses.get(status, 0) + int(row["count"])
            intents = by_intent.setdefault(bot, {})
            intents[intent] = intents.get(intent, 0) + int(row["count"])
        if not by_status:
            return {}
        bot_of: dict[str, str] = {}
        with_lead: dict[str, int] = {}
        latest: dict[str, datetime] = {}
        async for row in conversations.find(
                mine, {"_id": 1, "chatbot_id": 1, "lead_id": 1, "last_active": 1}):
            bot = str(row["chatbot_id"])
            bot_of[str(row["_id"])] = bot
            if row.get("lead_id") is not None:
                with_lead[bot] = with_lead.get(bot, 0) + 1
            active = row.get("last_active")
            if isinstance(active, datetime) and (bot not in latest or active > latest[bot]):
                latest[bot] = active
        in_bots = {"conversation_id": {"$in": list(bot_of)}}
        roles: dict[str, dict[str, int]] = {}
        for row in await _rows(messages, [
            {"$match": in_bots},
            {"$group": {"_id": {"$concat": ["$conversation_id", "|", "$role"]},
                        "count": {"$sum": 1}}},
        ]):
            conversation, _, role = str(row["_id"]).partition("|")
            counted = roles.setdefault(bot_of.get(conversation, ""), {})
            counted[role] = counted.get(role, 0) + int(row["count"])
        # bot -> intent -> [count, sentiment sum, confidence sum]
        sums: dict[str, dict[str, list[float]]] = {}
        for row in await _rows(messages, [
            {"$match": {"$and": [in_bots, {"role": "user"},
                                 {"analysis.intent": {"$ne": None}}]}},
            {"$group": {"_id": {"$concat": ["$conversation_id", "|", "$analysis.intent"]},
                        "count": {"$sum": 1},
                        "sentiment": {"$avg": "$analysis.sentiment"},
                        "confidence": {"$avg": "$analysis.confidence"}}},
        ]):
            if row["_id"] is None or not row["count"]:
                continue
            conversation, _, intent = str(row["_id"]).partition("|")
            count = int(row["count"])
            total = sums.setdefault(bot_of.get(conversation, ""), {}).setdefault(
                intent, [0, 0.0, 0.0])
            total[0] += count
            total[1] += _float(row.get("sentiment")) * count
            total[2] += _float(row.get("confidence")) * count
        return {
            bot: ChatbotActivity(
                conversations_by_status=by_status[bot],
                conversations_by_purchase_intent=by_intent.get(bot, {}),
                conversations_with_lead=with_lead.get(bot, 0),
                messages_by_role=roles.get(bot, {}),
                visitor_intents=[
                    IntentCount(intent, int(c), s / c, f / c)
                    for intent, (c, s, f) in sums.get(bot, {}).items()
                ],
                last_active=latest.get(bot),
            )
            for bot in by_status
        }


async def _rows(collection: AsyncCollection[Any], pipeline: list[dict[str, Any]]
                ) -> list[dict[str, Any]]:
    cursor = await collection.aggregate(pipeline)
    return [row async for row in cursor]


def _float(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0
