"""MFA secrets on the user's document (``users``: ``mfa_enabled``, ``mfa_secret``,
``mfa_pending_secret``). Only strings and booleans go through ``$set``; the user documents are
never replaced wholesale, so these fields survive other writes."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from leadgraph.adapters.mongo.ids import parse_object_id
from leadgraph.domain.mfa import MfaState

USERS = "users"


class MongoMfaStore:
    def __init__(self, database: AsyncDatabase[Any]) -> None:
        self._users = database[USERS]

    async def state(self, user_id: str) -> MfaState | None:
        oid = parse_object_id(user_id)
        found = await self._users.find_one({"_id": oid}) if oid is not None else None
        if found is None:
            return None
        return MfaState(email=found["email"], enabled=bool(found.get("mfa_enabled")),
                        secret=found.get("mfa_secret"),
                        pending_secret=found.get("mfa_pending_secret"))

    async def set_pending(self, user_id: str, secret: str) -> None:
        await self._users.update_one({"_id": parse_object_id(user_id)},
                                     {"$set": {"mfa_pending_secret": secret}})

    async def enable(self, user_id: str, secret: str) -> None:
        await self._users.update_one({"_id": parse_object_id(user_id)}, {
            "$set": {"mfa_secret": secret, "mfa_enabled": True},
            "$unset": {"mfa_pending_secret": ""},
        })
