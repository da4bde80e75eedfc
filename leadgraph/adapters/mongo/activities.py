"""Activity timeline repository on Beanie."""

from __future__ import annotations

from collections.abc import Sequence

from beanie.odm.enums import SortDirection

from leadgraph.adapters.mongo.documents import ActivityDocument
from leadgraph.adapters.mongo.ids import parse_object_ids
from leadgraph.domain.activities import Activity, ActivityFields


def to_activity(document: ActivityDocument) -> Activity:
    return Activity(id=str(document.id), **document.model_dump(exclude={"id", "revision_id"}))


class MongoActivityRepository:
    async def insert(self, fields: ActivityFields) -> Activity:
        document = ActivityDocument(**fields.model_dump())
        await document.insert()
        return to_activity(document)

    async def insert_many(self, fields: Sequence[ActivityFields]) -> None:
        if fields:
            await ActivityDocument.insert_many([ActivityDocument(**f.model_dump()) for f in fields])

    async def for_lead(self, lead_id: str, offset: int, limit: int) -> list[Activity]:
        documents = await ActivityDocument.find({"lead_id": lead_id}).sort(
            [("created_at", SortDirection.DESCENDING), ("_id", SortDirection.DESCENDING)]
        ).skip(offset).limit(limit).to_list()
        return [to_activity(document) for document in documents]

    async def count_for_lead(self, lead_id: str) -> int:
        return await ActivityDocument.find({"lead_id": lead_id}).count()

    async def count_by_type(self, lead_id: str) -> dict[str, int]:
        cursor = await ActivityDocument.get_pymongo_collection().aggregate([
            {"$match": {"lead_id": lead_id}},
            {"$group": {"_id": "$activity_type", "count": {"$sum": 1}}},
        ])
        return {str(row["_id"]): int(row["count"]) async for row in cursor}

    async def reassign(self, from_lead_id: str, to_lead_id: str) -> list[str]:
        collection = ActivityDocument.get_pymongo_collection()
        ids = [row["_id"] async for row in collection.find({"lead_id": from_lead_id}, {"_id": 1})]
        if ids:
            await collection.update_many({"_id": {"$in": ids}}, {"$set": {"lead_id": to_lead_id}})
        return [str(oid) for oid in ids]

    async def move_back(self, activity_ids: Sequence[str], to_lead_id: str) -> None:
        oids = parse_object_ids(activity_ids)
        if oids:
            await ActivityDocument.get_pymongo_collection().update_many(
                {"_id": {"$in": oids}}, {"$set": {"lead_id": to_lead_id}}
            )
