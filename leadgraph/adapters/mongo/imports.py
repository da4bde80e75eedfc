"""Import jobs and set-at-a-time lead operations, on the raw PyMongo collections.

Bulk paths skip Beanie's per-document machinery: a batch of 500 leads is one ``insert_many``,
one ``bulk_write`` and one ``find`` with ``$in``. Documents are written exactly as
``MongoLeadRepository`` writes them (the domain model's fields), so either reads the other's.
Collections are taken from the database Beanie bound ``LeadDocument`` to.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import DESCENDING, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from leadgraph.adapters.mongo.documents import LeadDocument
from leadgraph.adapters.mongo.ids import parse_object_id
from leadgraph.adapters.mongo.leads import lead_query
from leadgraph.domain.imports import ImportJob
from leadgraph.domain.leads import Lead, LeadFields, LeadFilter

IMPORT_JOBS = "import_jobs"
Collection = AsyncCollection[dict[str, Any]]


def _leads() -> Collection:
    collection: Collection = LeadDocument.get_pymongo_collection()
    return collection


def _lead(document: dict[str, Any]) -> Lead:
    document = dict(document)
    document.pop("revision_id", None)
    return Lead.model_validate({"id": str(document.pop("_id")), **document})


class MongoImportJobRepository:
    def _collection(self) -> Collection:
        return _leads().database[IMPORT_JOBS]

    async def create(self, *, filename: str, created_by: str | None, now: datetime) -> ImportJob:
        job = ImportJob(id=str(ObjectId()), filename=filename, created_by=created_by,
                        created_at=now)
        document = job.model_dump(exclude={"id"})
        document["_id"] = ObjectId(job.id)
        await self._collection().insert_one(document)
        return job

    async def get(self, job_id: str) -> ImportJob | None:
        oid = parse_object_id(job_id)
        document = await self._collection().find_one({"_id": oid}) if oid else None
        if document is None:
            return None
        return ImportJob.model_validate({"id": str(document.pop("_id")), **document})

    async def save(self, job: ImportJob) -> None:
        await self._collection().update_one(
            {"_id": ObjectId(job.id)}, {"$set": job.model_dump(exclude={"id"})}
        )


class MongoLeadBulkStore:
    async def find_by_contacts(self, emails: Sequence[str], phones: Sequence[str]) -> list[Lead]:
        # Two indexed $in queries rather than one $or: nx-27017 scans the whole collection
        # for an $or (quadratic over an import), and on MongoDB it costs the same.
        found: dict[Any, dict[str, Any]] = {}
        for key, values in (("email", emails), ("phone", phones)):
            if values:
                async for document in _leads().find({key: {"$in": list(values)}}):
                    found[document["_id"]] = document
        return [_lead(document) for document in found.values()]

    async def insert_many(self, fields: Sequence[LeadFields]) -> list[str]:
        if not fields:
            return []
        result = await _leads().insert_many([item.model_dump() for item in fields], ordered=True)
        return [str(oid) for oid in result.inserted_ids]

    async def update_many(self, updates: Sequence[tuple[str, dict[str, Any]]]) -> None:
        operations = [
            UpdateOne({"_id": ObjectId(lead_id)}, {"$set": values}) for lead_id, values in updates
        ]
        if operations:
            await _leads().bulk_write(operations, ordered=True)

    async def stream(
        self, lead_filter: LeadFilter, batch_size: int
    ) -> AsyncGenerator[Lead, None]:
        cursor = (
            _leads().find(lead_query(lead_filter))
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .batch_size(batch_size)
        )
        try:
            async for document in cursor:
                yield _lead(document)
        finally:
            await cursor.close()
