"""GraphQL types for the lead timeline and score history."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from leadgraph.domain import activities as domain
from leadgraph.domain.scoring import ScoreHistoryEntry as DomainScoreHistoryEntry
from leadgraph.schema.types import PageInfo


@strawberry.type
class Activity:
    id: strawberry.ID
    lead_id: strawberry.ID
    activity_type: str = strawberry.field(description="e.g. email_sent, message_received.")
    description: str
    metadata: JSON
    actor: str | None
    created_at: datetime

    @classmethod
    def from_domain(cls, activity: domain.Activity) -> Activity:
        return cls(
            id=strawberry.ID(activity.id), lead_id=strawberry.ID(activity.lead_id),
            activity_type=activity.activity_type, description=activity.description,
            metadata=activity.metadata,  # type: ignore[arg-type]
            actor=activity.actor, created_at=activity.created_at,
        )


@strawberry.type
class ActivityEdge:
    cursor: str
    node: Activity


@strawberry.type
class ActivityConnection:
    edges: list[ActivityEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type
class ScoreHistoryEntry:
    at: datetime
    overall_score: float
    conversion_probability: float
    demographic_score: float
    behavioral_score: float
    engagement_score: float
    intent_score: float
    model_version: str
    trigger: str

    @classmethod
    def from_domain(cls, entry: DomainScoreHistoryEntry) -> ScoreHistoryEntry:
        return cls(**entry.model_dump(exclude={"lead_id"}))


@strawberry.input
class LeadActivityInput:
    activity_type: str
    description: str = ""
    metadata: JSON | None = None
