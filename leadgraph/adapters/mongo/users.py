"""User, API key and login-session repositories on Beanie."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from beanie.odm.enums import SortDirection

from leadgraph.adapters.mongo.documents import ApiKeyDocument, AuthSessionDocument, UserDocument
from leadgraph.adapters.mongo.ids import parse_object_id, parse_object_ids
from leadgraph.adapters.mongo.stored import from_stored
from leadgraph.domain.pagination import Page, PageRequest
from leadgraph.domain.users import ApiKey, ApiKeyTier, Role, User


def to_user(document: UserDocument) -> User:
    return User(
        id=str(document.id), email=document.email, username=document.username,
        name=document.name, role=document.role, is_active=document.is_active,
        created_at=document.created_at,
    )


class MongoUserRepository:
    async def insert(
        self, *, email: str, username: str | None, name: str, password_hash: str, role: Role,
        now: datetime,
    ) -> User:
        document = UserDocument(
            email=email, username=username, name=name, password_hash=password_hash, role=role,
            created_at=now,
        )
        await document.insert()
        return to_user(document)

    async def get(self, user_id: str) -> User | None:
        oid = parse_object_id(user_id)
        document = await UserDocument.get(oid) if oid is not None else None
        return to_user(document) if document is not None else None

    async def get_many(self, user_ids: Sequence[str]) -> list[User]:
        oids = parse_object_ids(user_ids)
        if not oids:
            return []
        # Raw documents (see ``stored``): the assignee loader of every lead page.
        cursor = UserDocument.get_pymongo_collection().find({"_id": {"$in": oids}})
        return [from_stored(User, document) for document in await cursor.to_list()]

    async def find_credentials(self, identifier: str) -> tuple[User, str] | None:
        key = "email" if "@" in identifier else "username"
        value = identifier.strip().lower() if key == "email" else identifier.strip()
        document = await UserDocument.find_one({key: value})
        return (to_user(document), document.password_hash) if document is not None else None

    async def exists(self, *, email: str, username: str | None) -> bool:
        keys: list[dict[str, str]] = [{"email": email}]
        if username:
            keys.append({"username": username})
        return await UserDocument.find_one({"$or": keys}) is not None

    async def count(self) -> int:
        return await UserDocument.find({}).count()

    async def page(self, page: PageRequest) -> Page[User]:
        documents = (
            await UserDocument.find({}).sort([("created_at", SortDirection.ASCENDING)])
            .skip(page.offset).limit(page.limit).to_list()
        )
        return Page(
            items=[to_user(d) for d in documents], total=await UserDocument.find({}).count(),
            offset=page.offset, limit=page.limit,
        )


def to_api_key(document: ApiKeyDocument) -> ApiKey:
    return ApiKey(
        id=str(document.id), name=document.name, prefix=document.prefix, tier=document.tier,
        created_by=document.created_by, created_at=document.created_at, revoked=document.revoked,
    )


class MongoApiKeyRepository:
    async def insert(
        self, *, name: str, prefix: str, key_hash: str, tier: ApiKeyTier,
        created_by: str | None, now: datetime,
    ) -> ApiKey:
        document = ApiKeyDocument(
            name=name, prefix=prefix, key_hash=key_hash, tier=tier, created_by=created_by,
            created_at=now,
        )
        await document.insert()
        return to_api_key(document)

    async def find_active_by_hash(self, key_hash: str) -> ApiKey | None:
        document = await ApiKeyDocument.find_one({"key_hash": key_hash, "revoked": False})
        return to_api_key(document) if document is not None else None

    async def revoke(self, key_id: str) -> bool:
        oid = parse_object_id(key_id)
        if oid is None:
            return False
        result = await ApiKeyDocument.get_pymongo_collection().update_one(
            {"_id": oid}, {"$set": {"revoked": True}}
        )
        return bool(result.matched_count)


class MongoSessionRepository:
    async def create(
        self, *, user_id: str, refresh_jti: str, now: datetime, expires_at: datetime
    ) -> str:
        document = AuthSessionDocument(
            user_id=user_id, refresh_jti=refresh_jti, created_at=now, expires_at=expires_at
        )
        await document.insert()
        return str(document.id)

    async def rotate(self, session_id: str, expected_jti: str, new_jti: str) -> bool:
        oid = parse_object_id(session_id)
        if oid is None:
            return False
        result = await AuthSessionDocument.get_pymongo_collection().update_one(
            {"_id": oid, "refresh_jti": expected_jti, "revoked": False},
            {"$set": {"refresh_jti": new_jti}},
        )
        return bool(result.modified_count)

    async def is_active(self, session_id: str) -> bool:
        oid = parse_object_id(session_id)
        if oid is None:
            return False
        found = await AuthSessionDocument.get_pymongo_collection().find_one(
            {"_id": oid, "revoked": False}, projection={"_id": 1}
        )
        return found is not None

    async def revoke(self, session_id: str) -> None:
        oid = parse_object_id(session_id)
        if oid is not None:
            await AuthSessionDocument.get_pymongo_collection().update_one(
                {"_id": oid}, {"$set": {"revoked": True}}
            )
