"""LeadRepository on Beanie."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from beanie.exceptions import DocumentNotFound
from beanie.odm.enums import SortDirection
from pymongo import ReturnDocument

from leadgraph.adapters.mongo.documents import LeadDocument
from leadgraph.adapters.mongo.ids import parse_object_id, parse_object_ids
from leadgraph.adapters.mongo.stored import from_stored
from leadgraph.domain.leads import (
    Lead,
    LeadFields,
    LeadFilter,
    LeadOrder,
    LeadScore,
    LeadSortField,
)
from leadgraph.domain.pagination import Page, PageRequest, Window

_SORT_KEYS: dict[LeadSortField, str] = {
    LeadSortField.CREATED_AT: "created_at",
    LeadSortField.UPDATED_AT: "updated_at",
    LeadSortField.SCORE: "score.overall_score",
    LeadSortField.NAME: "name",
    LeadSortField.COMPANY: "company",
    LeadSortField.STATUS: "status",
}


def to_lead(document: LeadDocument) -> Lead:
    return Lead(id=str(document.id), **document.model_dump(exclude={"id", "revision_id"}))


def lead_query(lead_filter: LeadFilter) -> dict[str, Any]:
    """The MongoDB filter for a domain filter (also used by analytics and export)."""
    query: dict[str, Any] = {}
    if lead_filter.statuses:
        query["status"] = {"$in": [status.value for status in lead_filter.statuses]}
    if lead_filter.sources:
        query["source"] = {"$in": [source.value for source in lead_filter.sources]}
    if lead_filter.intents:
        query["intent"] = {"$in": [intent.value for intent in lead_filter.intents]}
    if lead_filter.assigned_to is not None:
        query["assigned_to"] = lead_filter.assigned_to
    if lead_filter.min_score is not None:
        query["score.overall_score"] = {"$gte": lead_filter.min_score}
    if lead_filter.search:
        pattern = re.escape(lead_filter.search.strip())
        query["$or"] = [
            {key: {"$regex": pattern, "$options": "i"}}
            for key in ("name", "email", "company")
        ]
    return query


class MongoLeadRepository:
    async def insert(self, fields: LeadFields) -> Lead:
        document = LeadDocument(**fields.model_dump())
        await document.insert()
        return to_lead(document)

    async def replace(self, lead_id: str, fields: LeadFields) -> Lead | None:
        oid = parse_object_id(lead_id)
        if oid is None:
            return None
        document = LeadDocument(id=oid, **fields.model_dump())
        try:
            await document.replace(ignore_revision=True)
        except DocumentNotFound:
            return None
        return to_lead(document)

    async def get(self, lead_id: str) -> Lead | None:
        oid = parse_object_id(lead_id)
        document = await LeadDocument.get(oid) if oid is not None else None
        return to_lead(document) if document is not None else None

    async def get_many(self, lead_ids: Sequence[str]) -> list[Lead]:
        oids = parse_object_ids(lead_ids)
        if not oids:
            return []
        documents = await LeadDocument.find({"_id": {"$in": oids}}).to_list()
        return [to_lead(document) for document in documents]

    async def find_duplicate(self, email: str | None, phone: str | None) -> Lead | None:
        keys: list[dict[str, Any]] = []
        if email:
            keys.append({"email": email})
        if phone:
            keys.append({"phone": phone})
        if not keys:
            return None
        # The oldest match is the canonical record.
        matches = (
            await LeadDocument.find({"$or": keys})
            .sort([("created_at", SortDirection.ASCENDING)])
            .limit(1)
            .to_list()
        )
        return to_lead(matches[0]) if matches else None

    async def delete(self, lead_id: str) -> bool:
        oid = parse_object_id(lead_id)
        if oid is None:
            return False
        result = await LeadDocument.get_pymongo_collection().delete_one({"_id": oid})
        return bool(result.deleted_count)

    async def search(
        self, lead_filter: LeadFilter, order: LeadOrder, page: PageRequest
    ) -> Page[Lead]:
        leads = await self._find(lead_filter, order, page.offset, page.limit)
        total = await self.count(lead_filter)
        return Page(items=leads, total=total, offset=page.offset, limit=page.limit)

    async def window(
        self, lead_filter: LeadFilter, order: LeadOrder, page: PageRequest
    ) -> Window[Lead]:
        leads = await self._find(lead_filter, order, page.offset, page.limit + 1)
        return Window(items=leads[:page.limit], offset=page.offset, limit=page.limit,
                      has_more=len(leads) > page.limit)

    async def count(self, lead_filter: LeadFilter) -> int:
        return await LeadDocument.find(lead_query(lead_filter)).count()

    async def restore(self, lead: Lead) -> Lead:
        document = LeadDocument(id=parse_object_id(lead.id), **lead.model_dump(exclude={"id"}))
        await document.insert()
        return to_lead(document)

    async def candidates(self, lead: Lead, limit: int) -> list[Lead]:
        keys: list[dict[str, Any]] = []
        if lead.email:
            keys.append({"email": lead.email})
            if lead.last_name:
                domain = lead.email.split("@")[-1]
                keys.append({"email": {"$regex": f"@{re.escape(domain)}$"},
                             "last_name": {"$regex": f"^{re.escape(lead.last_name)}$",
                                           "$options": "i"}})
        digits = re.sub(r"\D", "", lead.phone or "")
        if len(digits) >= 7:
            keys.append({"phone": {"$regex": f"{digits[-7:]}$"}})
        if lead.name:
            keys.append({"name": {"$regex": f"^{re.escape(lead.name)}$", "$options": "i"}})
        if not keys:
            return []
        documents = await LeadDocument.find(
            {"$or": keys, "_id": {"$ne": parse_object_id(lead.id)}}
        ).limit(limit).to_list()
        return [to_lead(document) for document in documents]

    async def set_score(self, lead_id: str, score: LeadScore) -> Lead | None:
        oid = parse_object_id(lead_id)
        if oid is None:
            return None
        updated = await LeadDocument.get_pymongo_collection().find_one_and_update(
            {"_id": oid}, {"$set": {"score": score.model_dump()}},
            return_document=ReturnDocument.AFTER,
        )
        if updated is None:
            return None
        return to_lead(LeadDocument.model_validate(updated))

    async def _find(
        self, lead_filter: LeadFilter, order: LeadOrder, offset: int, limit: int
    ) -> list[Lead]:
        direction = SortDirection.DESCENDING if order.descending else SortDirection.ASCENDING
        sort = [(_SORT_KEYS[order.field], direction), ("_id", direction)]
        # Raw documents straight into domain leads (see ``stored``): a page of 50 is the
        # most common read, and Beanie documents cost more than the rest of the request.
        cursor = LeadDocument.get_pymongo_collection().find(lead_query(lead_filter))
        documents = await cursor.sort(sort).skip(offset).limit(limit).to_list()
        return [from_stored(Lead, document) for document in documents]
