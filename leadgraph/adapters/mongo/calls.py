"""Voice call repository on Beanie: calls, their turns (one document each) and turn audio."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pymongo
from beanie import Document
from beanie.odm.enums import SortDirection
from bson import Binary
from pymongo import ReturnDocument

from leadgraph.adapters.mongo.ids import parse_object_id, parse_object_ids
from leadgraph.domain.calls import (
    Call,
    CallFields,
    CallFilter,
    CallStatus,
    CallTurn,
    CallTurnFields,
    LeadCallStats,
)
from leadgraph.domain.pagination import Page, PageRequest

AUDIO_COLLECTION = "call_audio"
_DATE_FIELDS = ("created_at", "started_at", "ended_at")


class CallDocument(CallFields, Document):
    class Settings:
        name = "calls"  # also read by the dashboard (leadgraph.adapters.mongo.analytics)
        indexes = [
            pymongo.IndexModel([("lead_id", pymongo.ASCENDING)]),
            pymongo.IndexModel([("created_at", pymongo.DESCENDING)]),
            pymongo.IndexModel([("status", pymongo.ASCENDING)]),
        ]


class CallTurnDocument(CallTurnFields, Document):
    class Settings:
        name = "call_turns"
        indexes = [
            pymongo.IndexModel(
                [("call_id", pymongo.ASCENDING), ("seq", pymongo.ASCENDING)], unique=True
            ),
        ]


CALL_DOCUMENTS: list[type[Document]] = [CallDocument, CallTurnDocument]


def to_call(document: CallDocument) -> Call:
    return Call(id=str(document.id), **document.model_dump(exclude={"id", "revision_id"}))


def to_turn(document: CallTurnDocument) -> CallTurn:
    return CallTurn(id=str(document.id), **document.model_dump(exclude={"id", "revision_id"}))


class MongoCallRepository:
    async def insert(self, fields: CallFields) -> Call:
        document = CallDocument(**fields.model_dump())
        await document.insert()
        return to_call(document)

    async def get(self, call_id: str) -> Call | None:
        oid = parse_object_id(call_id)
        document = await CallDocument.get(oid) if oid is not None else None
        return to_call(document) if document is not None else None

    async def get_many(self, call_ids: Sequence[str]) -> list[Call]:
        oids = parse_object_ids(call_ids)
        if not oids:
            return []
        documents = await CallDocument.find({"_id": {"$in": oids}}).to_list()
        return [to_call(document) for document in documents]

    async def for_leads(self, lead_ids: Sequence[str]) -> list[Call]:
        documents = await CallDocument.find({"lead_id": {"$in": list(lead_ids)}}).sort(
            [("created_at", SortDirection.ASCENDING)]
        ).to_list()
        return [to_call(document) for document in documents]

    async def search(self, call_filter: CallFilter, page: PageRequest) -> Page[Call]:
        query = {
            key: (value.value if hasattr(value, "value") else value)
            for key, value in call_filter.model_dump().items() if value is not None
        }
        cursor = CallDocument.find(query).sort(
            [("created_at", SortDirection.DESCENDING), ("_id", SortDirection.DESCENDING)]
        )
        documents = await cursor.skip(page.offset).limit(page.limit).to_list()
        total = await CallDocument.find(query).count()
        return Page(items=[to_call(d) for d in documents], total=total, offset=page.offset,
                    limit=page.limit)

    async def reserve_seq(self, call_id: str) -> int:
        updated = await CallDocument.get_pymongo_collection().find_one_and_update(
            {"_id": parse_object_id(call_id)}, {"$inc": {"last_seq": 1}},
            projection={"last_seq": 1}, return_document=ReturnDocument.AFTER,
        )
        if updated is None:
            raise LookupError(call_id)
        return int(updated["last_seq"])

    async def save_state(self, call: Call) -> None:
        """The whole document, replaced (callers hold the call's lock, and their ``last_seq``
        is current). Not ``$set``: nx-27017 stores datetimes given to ``$set`` as strings."""
        state: dict[str, Any] = call.model_dump(mode="json", exclude={"id"})
        for name in _DATE_FIELDS:  # real dates, not strings: the dashboard compares them
            state[name] = getattr(call, name)
        await CallDocument.get_pymongo_collection().replace_one(
            {"_id": parse_object_id(call.id)}, state
        )

    async def insert_turn(self, fields: CallTurnFields) -> CallTurn:
        document = CallTurnDocument(**fields.model_dump())
        await document.insert()
        return to_turn(document)

    async def turns_after(self, call_id: str, after_seq: int, limit: int) -> list[CallTurn]:
        documents = await CallTurnDocument.find(
            {"call_id": call_id, "seq": {"$gt": after_seq}}
        ).sort([("seq", SortDirection.ASCENDING)]).limit(limit).to_list()
        return [to_turn(document) for document in documents]

    async def store_audio(self, call_id: str, mime_type: str, data: bytes) -> str:
        collection = CallDocument.get_pymongo_collection().database[AUDIO_COLLECTION]
        result = await collection.insert_one(
            {"call_id": call_id, "mime_type": mime_type, "data": Binary(data)}
        )
        return str(result.inserted_id)

    async def stats_for_lead(self, lead_id: str) -> LeadCallStats:
        finished = [CallStatus.ENDED.value, CallStatus.FAILED.value]
        documents = await CallDocument.find(
            {"lead_id": lead_id, "status": {"$in": finished}}
        ).sort([("ended_at", SortDirection.ASCENDING)]).to_list()
        if not documents:
            return LeadCallStats()
        sentiments = [d.summary.overall_sentiment for d in documents if d.summary is not None]
        interest: list[str] = []
        objections: list[str] = []
        for document in documents:
            interest += [s for s in document.interest_signals if s not in interest]
            objections += [o for o in document.objections if o not in objections]
        ended = [d.ended_at for d in documents if d.ended_at is not None]
        return LeadCallStats(
            calls=len(documents),
            avg_sentiment=round(sum(sentiments) / len(sentiments), 3) if sentiments else None,
            interest_signals=interest, objections=objections,
            last_call_at=max(ended) if ended else None,
        )
