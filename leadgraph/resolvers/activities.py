"""The lead timeline: people's activities and the ones the system records."""

from __future__ import annotations

from typing import Any

from leadgraph.domain.activities import Activity, ActivityFields, validate_activity
from leadgraph.domain.errors import NotFound
from leadgraph.domain.ports import ActivityRepository, Clock, LeadRepository
from leadgraph.domain.users import Principal
from leadgraph.resolvers.scores import ScoreUseCases


class ActivityUseCases:
    def __init__(
        self, activities: ActivityRepository, leads: LeadRepository, scores: ScoreUseCases,
        clock: Clock,
    ) -> None:
        self._activities = activities
        self._leads = leads
        self._scores = scores
        self._clock = clock

    async def add(
        self, actor: Principal, lead_id: str, activity_type: object, description: object = "",
        metadata: object = None,
    ) -> Activity:
        kind, text, extra = validate_activity(activity_type, description, metadata)
        if await self._leads.get(lead_id) is None:
            raise NotFound("Lead", lead_id)
        return await self.record(lead_id, kind, text, extra, actor=actor.id)

    async def record(
        self, lead_id: str, activity_type: str, description: str = "",
        metadata: dict[str, Any] | None = None, *, actor: str | None = None,
    ) -> Activity:
        """Used by other use cases (messages, status changes, calls): no validation needed."""
        activity = await self._activities.insert(ActivityFields(
            lead_id=lead_id, activity_type=activity_type, description=description,
            metadata=metadata or {}, actor=actor, created_at=self._clock.now(),
        ))
        self._scores.request_refresh(lead_id, f"activity:{activity_type}")
        return activity

    async def timeline(
        self, actor: Principal, lead_id: str, offset: int, limit: int
    ) -> tuple[list[Activity], int]:
        if await self._leads.get(lead_id) is None:
            raise NotFound("Lead", lead_id)
        items = await self._activities.for_lead(lead_id, offset, limit)
        return items, await self._activities.count_for_lead(lead_id)
