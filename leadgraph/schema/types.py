"""GraphQL output types. Field names here are a public contract: change them with care."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import Info

from leadgraph.domain import leads as domain_leads
from leadgraph.domain import users as domain_users
from leadgraph.domain.events import (
    LEAD_CREATED,
    LEAD_DELETED,
    LEAD_SCORE_CHANGED,
    LEAD_UPDATED,
    DomainEvent,
)
from leadgraph.domain.pagination import Window
from leadgraph.schema.context import GraphQLContext
from leadgraph.schema.pagination import encode_cursor, page_request

if TYPE_CHECKING:
    from leadgraph.schema.activity_types import ActivityConnection, ScoreHistoryEntry
    from leadgraph.schema.call_types import Call
    from leadgraph.schema.conversation_types import Conversation, Message
    from leadgraph.schema.merge_types import DuplicateCandidate

LeadStatus = strawberry.enum(domain_leads.LeadStatus, name="LeadStatus")
LeadSource = strawberry.enum(domain_leads.LeadSource, name="LeadSource")
LeadIntent = strawberry.enum(
    domain_leads.LeadIntent, name="LeadIntent", description="Purchase intent."
)
ProjectType = strawberry.enum(domain_leads.ProjectType, name="ProjectType")
FollowUpStatus = strawberry.enum(domain_leads.FollowUpStatus, name="FollowUpStatus")
LeadSortField = strawberry.enum(domain_leads.LeadSortField, name="LeadSortField")
Role = strawberry.enum(domain_users.Role, name="Role")
ApiKeyTier = strawberry.enum(domain_users.ApiKeyTier, name="ApiKeyTier")


@strawberry.enum
class SortDirection(Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.enum
class LeadEventType(Enum):
    CREATED = LEAD_CREATED
    UPDATED = LEAD_UPDATED
    DELETED = LEAD_DELETED
    SCORE_CHANGED = LEAD_SCORE_CHANGED


@strawberry.type
class ScoreFactors:
    positive_factors: list[str]
    negative_factors: list[str]


@strawberry.type
class LeadScore:
    overall_score: float
    demographic_score: float
    behavioral_score: float
    engagement_score: float
    intent_score: float
    conversion_probability: float
    factors: ScoreFactors
    recommendations: list[str]
    model_version: str
    computed_at: datetime | None

    @classmethod
    def from_domain(cls, score: domain_leads.LeadScore) -> LeadScore:
        return cls(
            overall_score=score.overall_score,
            demographic_score=score.demographic_score,
            behavioral_score=score.behavioral_score,
            engagement_score=score.engagement_score,
            intent_score=score.intent_score,
            conversion_probability=score.conversion_probability,
            factors=ScoreFactors(
                positive_factors=list(score.factors.positive_factors),
                negative_factors=list(score.factors.negative_factors),
            ),
            recommendations=list(score.recommendations),
            model_version=score.model_version,
            computed_at=score.computed_at,
        )


@strawberry.type
class User:
    id: strawberry.ID
    email: str
    username: str | None
    name: str
    role: Role  # type: ignore[valid-type]
    is_active: bool
    created_at: datetime

    @classmethod
    def from_domain(cls, user: domain_users.User) -> User:
        return cls(
            id=strawberry.ID(user.id), email=user.email, username=user.username, name=user.name,
            role=user.role, is_active=user.is_active, created_at=user.created_at,
        )


@strawberry.type
class Lead:
    id: strawberry.ID
    name: str = strawberry.field(description="Full name (seed 000 calls it client_name).")
    first_name: str
    last_name: str
    email: str | None
    phone: str | None = strawberry.field(description="E.164, e.g. +15551234567.")
    company: str | None
    title: str | None
    industry: str | None
    source: LeadSource  # type: ignore[valid-type]
    status: LeadStatus  # type: ignore[valid-type]
    intent: LeadIntent  # type: ignore[valid-type]
    score: LeadScore
    project_type: ProjectType | None  # type: ignore[valid-type]
    requirements_summary: str | None
    timeline: str | None
    budget_range: str | None
    follow_up_status: FollowUpStatus  # type: ignore[valid-type]
    notes: str | None
    assigned_to: strawberry.ID | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="The user this lead is assigned to.")
    async def assignee(self, info: Info[GraphQLContext, Any]) -> User | None:
        if not self.assigned_to:
            return None
        user = await info.context.loaders.user_by_id.load(str(self.assigned_to))
        return User.from_domain(user) if user is not None else None

    @strawberry.field(description="Conversations linked to this lead, oldest first.")
    async def conversations(
        self, info: Info[GraphQLContext, Any]
    ) -> list[Annotated[Conversation, strawberry.lazy("leadgraph.schema.conversation_types")]]:
        from leadgraph.schema.conversation_types import Conversation

        found = await info.context.loaders.conversations_by_lead_id.load(str(self.id))
        return [Conversation.from_domain(conversation) for conversation in found]

    @strawberry.field(description="The newest message of any conversation with this lead.")
    async def last_message(
        self, info: Info[GraphQLContext, Any]
    ) -> Annotated[Message, strawberry.lazy("leadgraph.schema.conversation_types")] | None:
        from leadgraph.schema.conversation_types import Message

        # Batched across the page: a list costs two queries, whatever its size.
        found = await info.context.loaders.last_message_by_lead_id.load(str(self.id))
        return Message.from_domain(found) if found is not None else None

    @strawberry.field(description="Voice AI calls with this lead, oldest first.")
    async def calls(
        self, info: Info[GraphQLContext, Any]
    ) -> list[Annotated[Call, strawberry.lazy("leadgraph.schema.call_types")]]:
        from leadgraph.schema.call_types import Call

        found = await info.context.loaders.calls_by_lead_id.load(str(self.id))
        return [Call.from_domain(call) for call in found]

    @strawberry.field(description="The timeline, newest first: messages, calls, status changes…")
    async def activities(
        self, info: Info[GraphQLContext, Any], first: int | None = None, after: str | None = None
    ) -> Annotated[ActivityConnection, strawberry.lazy("leadgraph.schema.activity_types")]:
        from leadgraph.schema.activity_types import Activity, ActivityConnection, ActivityEdge

        page = page_request(first, after, None)
        items, total = await info.context.use_cases.activities.timeline(
            info.context.actor(), str(self.id), page.offset, page.limit
        )
        edges = [ActivityEdge(cursor=encode_cursor(page.offset + i), node=Activity.from_domain(a))
                 for i, a in enumerate(items)]
        return ActivityConnection(edges=edges, total_count=total, page_info=PageInfo(
            has_next_page=page.offset + len(items) < total, has_previous_page=page.offset > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ))

    @strawberry.field(description="Other leads that are probably the same person.")
    async def possible_duplicates(
        self, info: Info[GraphQLContext, Any]
    ) -> list[Annotated[DuplicateCandidate, strawberry.lazy("leadgraph.schema.merge_types")]]:
        from leadgraph.schema.merge_types import DuplicateCandidate

        me = await info.context.loaders.lead_by_id.load(str(self.id))
        if me is None:
            return []
        matches = await info.context.use_cases.merges.possible_duplicates(
            info.context.actor(), me
        )
        found = await info.context.loaders.lead_by_id.load_many([m.lead_id for m in matches])
        return [DuplicateCandidate(lead=Lead.from_domain(lead), likelihood=match.likelihood,
                                   reasons=match.reasons)
                for match, lead in zip(matches, found, strict=True) if lead is not None]

    @strawberry.field(description="Every recorded score change, newest first.")
    async def score_history(
        self, info: Info[GraphQLContext, Any], limit: int = 20
    ) -> list[Annotated[ScoreHistoryEntry, strawberry.lazy("leadgraph.schema.activity_types")]]:
        from leadgraph.schema.activity_types import ScoreHistoryEntry

        entries = await info.context.use_cases.scores.history(
            info.context.actor(), str(self.id), max(1, min(limit, 100))
        )
        return [ScoreHistoryEntry.from_domain(entry) for entry in entries]

    @classmethod
    def from_domain(cls, lead: domain_leads.Lead) -> Lead:
        return cls(
            id=strawberry.ID(lead.id), name=lead.name, first_name=lead.first_name,
            last_name=lead.last_name, email=lead.email, phone=lead.phone, company=lead.company,
            title=lead.title, industry=lead.industry, source=lead.source, status=lead.status,
            intent=lead.intent, score=LeadScore.from_domain(lead.score),
            project_type=lead.project_type, requirements_summary=lead.requirements_summary,
            timeline=lead.timeline, budget_range=lead.budget_range,
            follow_up_status=lead.follow_up_status, notes=lead.notes,
            assigned_to=strawberry.ID(lead.assigned_to) if lead.assigned_to else None,
            tags=list(lead.tags), created_at=lead.created_at, updated_at=lead.updated_at,
        )


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class LeadEdge:
    cursor: str
    node: Lead


@strawberry.type
class LeadConnection:
    edges: list[LeadEdge]
    page_info: PageInfo
    lead_filter: strawberry.Private[domain_leads.LeadFilter]

    @strawberry.field(description="All leads matching the filter (counted only when asked).")
    async def total_count(self, info: Info[GraphQLContext, Any]) -> int:
        return await info.context.use_cases.leads.count(info.context.actor(), self.lead_filter)

    @classmethod
    def from_window(
        cls, window: Window[domain_leads.Lead], lead_filter: domain_leads.LeadFilter
    ) -> LeadConnection:
        edges = [
            LeadEdge(cursor=encode_cursor(window.offset + index), node=Lead.from_domain(lead))
            for index, lead in enumerate(window.items)
        ]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=window.has_more,
                has_previous_page=window.offset > 0,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            lead_filter=lead_filter,
        )


@strawberry.type
class UserConnection:
    nodes: list[User]
    total_count: int
    has_next_page: bool


@strawberry.type
class LeadEvent:
    type: LeadEventType
    lead: Lead = strawberry.field(description="The lead as stored after the change.")
    at: datetime
    changed_fields: list[str] = strawberry.field(description="Lead fields the change touched.")
    seq: int | None = strawberry.field(
        default=None,
        description=(
            "Position in the lead-event journal, increasing across replicas: pass the last one "
            "you received as leadEvents(afterSeq:) to get what you missed. Null only if the "
            "journal could not be written."
        ),
    )

    @classmethod
    def from_domain(cls, event: DomainEvent) -> LeadEvent:
        # Every local subscriber gets the same event, live from the broker or (after a late
        # seq) from the journal: build the (read-only) output once per event id, not once per
        # subscriber, so one object also lets their executions be shared (schema/sharing.py).
        for seen, built in _RECENT_LEAD_EVENTS:
            if seen == (event.id, event.seq):
                return built
        lead = domain_leads.Lead.model_validate(event.data["lead"])
        built = cls(
            type=LeadEventType(event.type), lead=Lead.from_domain(lead), at=event.at,
            changed_fields=list(event.data.get("changed", [])), seq=event.seq,
        )
        _RECENT_LEAD_EVENTS.append(((event.id, event.seq), built))
        del _RECENT_LEAD_EVENTS[:-8]  # a few: subscribers may take late events in other orders
        return built


_RECENT_LEAD_EVENTS: list[tuple[tuple[str, int | None], LeadEvent]] = []


@strawberry.type
class AuthPayload:
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int
    user: User


@strawberry.type
class ApiKey:
    id: strawberry.ID
    name: str
    prefix: str
    tier: ApiKeyTier  # type: ignore[valid-type]
    created_at: datetime


@strawberry.type
class ApiKeyCreated:
    api_key: ApiKey
    key: str = strawberry.field(description="The secret. Shown only in this response.")
