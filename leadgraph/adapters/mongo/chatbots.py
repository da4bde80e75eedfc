"""Chatbot storage: plain documents in ``chatbots``, ``training_datasets``, ``training_jobs``,
``model_versions`` and ``templates`` (whole-document inserts and replaces only: nx-27017
stores datetimes given to ``$set`` as strings)."""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from leadgraph.adapters.mongo.ids import parse_object_id


def _out(document: dict[str, Any]) -> dict[str, Any]:
    document = dict(document)
    document["id"] = str(document.pop("_id"))
    return document


class MongoChatbotStore:
    def __init__(self, database: AsyncDatabase[Any]) -> None:
        self._db = database

    async def insert(self, collection: str, fields: dict[str, Any]) -> dict[str, Any]:
        document = {key: value for key, value in fields.items() if key != "id"}
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
        document = {key: value for key, value in item.items() if key != "id"}
        await self._db[collection].replace_one({"_id": ObjectId(item["id"])}, document)

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
