"""Merge audit records on Beanie."""

from __future__ import annotations

from datetime import datetime

from leadgraph.adapters.mongo.documents import MergeDocument
from leadgraph.adapters.mongo.ids import parse_object_id
from leadgraph.domain.merges import MergeRecord


def to_record(document: MergeDocument) -> MergeRecord:
    return MergeRecord(id=str(document.id), **document.model_dump(exclude={"id", "revision_id"}))


class MongoMergeRepository:
    async def insert(self, record: MergeRecord) -> MergeRecord:
        document = MergeDocument(**record.model_dump(exclude={"id"}))
        await document.insert()
        return to_record(document)

    async def get(self, merge_id: str) -> MergeRecord | None:
        oid = parse_object_id(merge_id)
        document = await MergeDocument.get(oid) if oid is not None else None
        return to_record(document) if document is not None else None

    async def mark_undone(self, merge_id: str, at: datetime) -> bool:
        result = await MergeDocument.get_pymongo_collection().update_one(
            {"_id": parse_object_id(merge_id), "undone_at": None}, {"$set": {"undone_at": at}}
        )
        return bool(result.modified_count)
