"""The GraphQL safelist in MongoDB (``persisted_operations``, ``_id`` = SHA-256 of the body),
so every replica enforces the same list and a registration survives restarts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from leadgraph.domain.persisted_queries import PersistedOperation

OPERATIONS = "persisted_operations"


class MongoOperationRegistry:
    def __init__(self, database: AsyncDatabase[Any]) -> None:
        self._operations = database[OPERATIONS]

    async def get(self, digest: str) -> PersistedOperation | None:
        found = await self._operations.find_one({"_id": digest})
        if found is None:
            return None
        return PersistedOperation(hash=found["_id"], body=found["body"], name=found.get("name"),
                                  type=found.get("type"))

    async def register(self, operation: PersistedOperation, now: datetime) -> bool:
        try:
            await self._operations.insert_one({
                "_id": operation.hash, "body": operation.body, "name": operation.name,
                "type": operation.type, "registered_at": now,
            })
        except DuplicateKeyError:
            return False
        return True
