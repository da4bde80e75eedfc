"""Score history repository on Beanie."""

from __future__ import annotations

from beanie.odm.enums import SortDirection

from leadgraph.adapters.mongo.documents import ScoreHistoryDocument
from leadgraph.domain.scoring import ScoreHistoryEntry


class MongoScoreHistoryRepository:
    async def insert(self, entry: ScoreHistoryEntry) -> None:
        await ScoreHistoryDocument(**entry.model_dump()).insert()

    async def for_lead(self, lead_id: str, limit: int) -> list[ScoreHistoryEntry]:
        documents = await ScoreHistoryDocument.find({"lead_id": lead_id}).sort(
            [("at", SortDirection.DESCENDING), ("_id", SortDirection.DESCENDING)]
        ).limit(limit).to_list()
        return [ScoreHistoryEntry(**d.model_dump(exclude={"id", "revision_id"}))
                for d in documents]

    async def reassign(self, from_lead_id: str, to_lead_id: str) -> None:
        await ScoreHistoryDocument.get_pymongo_collection().update_many(
            {"lead_id": from_lead_id}, {"$set": {"lead_id": to_lead_id}}
        )
