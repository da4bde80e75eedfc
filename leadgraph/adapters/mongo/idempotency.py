"""Idempotency records in MongoDB (``idempotency_keys``): durable and shared by replicas.

``_id`` is the scope and key, so the unique ``_id`` index makes the first claim atomic. A TTL
index on ``expires_at`` removes old keys; the use case also treats an expired record as absent,
so correctness never waits for the TTL monitor. Records are written whole (insert/replace):
compare-and-set on ``claim`` keeps a slow first request from overwriting a newer one.
"""

from __future__ import annotations

import base64
from contextlib import suppress
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure

from leadgraph.domain.idempotency import IdempotencyRecord, RecordState, StoredResponse

KEYS = "idempotency_keys"


def _id(scope: str, key: str) -> str:
    return f"{scope}\n{key}"


class MongoIdempotencyStore:
    def __init__(self, database: AsyncDatabase[Any]) -> None:
        self._keys = database[KEYS]

    async def ensure_indexes(self) -> None:
        # A server without TTL indexes: expired records are still ignored and replaced.
        with suppress(OperationFailure):
            await self._keys.create_index("expires_at", expireAfterSeconds=0, name="expiry")

    async def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        try:
            await self._keys.insert_one(_document(record))
        except DuplicateKeyError:
            found = await self._keys.find_one({"_id": _id(record.scope, record.key)})
            if found is None:  # expired and removed in between: try once more
                try:
                    await self._keys.insert_one(_document(record))
                except DuplicateKeyError:
                    found = await self._keys.find_one({"_id": _id(record.scope, record.key)})
                    return _record(found) if found is not None else record
                return None
            return _record(found)
        return None

    async def take_over(self, record: IdempotencyRecord, previous_claim: str) -> bool:
        result = await self._keys.replace_one(
            {"_id": _id(record.scope, record.key), "claim": previous_claim}, _document(record)
        )
        return result.modified_count == 1

    async def complete(self, record: IdempotencyRecord) -> None:
        await self._keys.replace_one(
            {"_id": _id(record.scope, record.key), "claim": record.claim}, _document(record)
        )

    async def release(self, scope: str, key: str, claim: str) -> None:
        await self._keys.delete_one({"_id": _id(scope, key), "claim": claim,
                                     "state": RecordState.IN_FLIGHT.value})


def _document(record: IdempotencyRecord) -> dict[str, Any]:
    document: dict[str, Any] = {
        "_id": _id(record.scope, record.key), "scope": record.scope, "key": record.key,
        "fingerprint": record.fingerprint, "claim": record.claim, "state": record.state.value,
        "created_at": record.created_at, "expires_at": record.expires_at,
        "lease_until": record.lease_until,
    }
    if record.response is not None:
        document["response"] = {
            "status": record.response.status,
            "headers": [[name, value] for name, value in record.response.headers],
            **_encode_body(record.response.body),
        }
    return document


def _encode_body(body: bytes) -> dict[str, str]:
    """Text as is (readable in the database); other bytes as base64 (nx-27017 stores no
    BSON binary)."""
    try:
        return {"body": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"body_base64": base64.b64encode(body).decode("ascii")}


def _decode_body(stored: dict[str, Any]) -> bytes:
    if "body_base64" in stored:
        return base64.b64decode(stored["body_base64"])
    return str(stored["body"]).encode("utf-8")


def _record(found: dict[str, Any]) -> IdempotencyRecord:
    stored = found.get("response")
    response = None
    if isinstance(stored, dict):
        response = StoredResponse(
            status=int(stored["status"]),
            headers=[(str(name), str(value)) for name, value in stored["headers"]],
            body=_decode_body(stored),
        )
    return IdempotencyRecord(
        scope=found["scope"], key=found["key"], fingerprint=found["fingerprint"],
        claim=found["claim"], state=RecordState(found["state"]), created_at=found["created_at"],
        expires_at=found["expires_at"], lease_until=found["lease_until"], response=response,
    )
