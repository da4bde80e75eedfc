"""MFA secrets on the user's document (``users``: ``mfa_enabled``, ``mfa_secret``,
``mfa_pending_secret``, ``mfa_last_step``). Only strings, booleans and integers go through
``$set``; the user documents are never replaced wholesale, so these fields survive other
writes."""

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
                        pending_secret=found.get("mfa_pending_secret"),
                        last_step=found.get("mfa_last_step"))

    async def set_pending(self, user_id: str, secret: str) -> None:
        await self._users.update_one({"_id": parse_object_id(user_id)},
                                     {"$set": {"mfa_pending_secret": secret}})

    async def enable(self, user_id: str, secret: str, step: int) -> None:
        await self._users.update_one({"_id": parse_object_id(user_id)}, {
            "$set": {"mfa_secret": secret, "mfa_enabled": True, "mfa_last_step": step},
            "$unset": {"mfa_pending_secret": ""},
        })

    async def use_step(self, user_id: str, step: int) -> bool:
        """Two conditional updates, each atomic on its own: the usual case (a later step than
        the stored one), then a user enabled before steps were recorded (no field yet). Of
        two logins racing with one code, only one update can match."""
        oid = parse_object_id(user_id)
        if oid is None:
            return False
        later = await self._users.update_one(
            {"_id": oid, "mfa_last_step": {"$lt": step}}, {"$set": {"mfa_last_step": step}})
        if later.modified_count:
            return True
        first = await self._users.update_one(
            {"_id": oid, "mfa_last_step": {"$exists": False}},
            {"$set": {"mfa_last_step": step}})
        return bool(first.modified_count)
