"""Query root."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry import Info

from leadgraph.domain.conversations import ConversationFilter as DomainConversationFilter
from leadgraph.domain.leads import LeadFilter as DomainLeadFilter
from leadgraph.domain.leads import LeadOrder as DomainLeadOrder
from leadgraph.schema.analytics_types import (
    ConversationAnalytics,
    DashboardMetrics,
    LeadAnalytics,
    Timeframe,
)
from leadgraph.schema.call_types import CallQuery
from leadgraph.schema.chatbot_types import ChatbotQuery
from leadgraph.schema.context import GraphQLContext
from leadgraph.schema.conversation_types import (
    Conversation,
    ConversationConnection,
    ConversationFilter,
)
from leadgraph.schema.import_types import ImportJob
from leadgraph.schema.inputs import LeadFilter, LeadOrder
from leadgraph.schema.pagination import page_request
from leadgraph.schema.permissions import IsAuthenticated
from leadgraph.schema.types import Lead, LeadConnection, User, UserConnection
from leadgraph.schema.webhook_types import WebhookQuery

Ctx = Info[GraphQLContext, Any]


@strawberry.type
class Query(CallQuery, WebhookQuery, ChatbotQuery):
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def lead(self, info: Ctx, id: strawberry.ID) -> Lead | None:
        found = await info.context.loaders.lead_by_id.load(str(id))
        return Lead.from_domain(found) if found is not None else None

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Leads, newest first unless ordered otherwise. `first` is at most 100.",
    )
    async def leads(
        self,
        info: Ctx,
        filter: LeadFilter | None = None,
        order_by: LeadOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        offset: int | None = None,
    ) -> LeadConnection:
        lead_filter = filter.to_domain() if filter else DomainLeadFilter()
        window = await info.context.use_cases.leads.window(
            info.context.actor(),
            lead_filter,
            order_by.to_domain() if order_by else DomainLeadOrder(),
            page_request(first, after, offset),
        )
        for lead in window.items:
            info.context.loaders.lead_by_id.prime(lead.id, lead)
        return LeadConnection.from_window(window, lead_filter)

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def conversation(self, info: Ctx, id: strawberry.ID) -> Conversation | None:
        found = await info.context.loaders.conversation_by_id.load(str(id))
        return Conversation.from_domain(found) if found is not None else None

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="Conversations, most recently active first.")
    async def conversations(
        self, info: Ctx, filter: ConversationFilter | None = None, first: int | None = None,
        after: str | None = None, offset: int | None = None,
    ) -> ConversationConnection:
        page = await info.context.use_cases.conversations.search(
            info.context.actor(),
            filter.to_domain() if filter else DomainConversationFilter(),
            page_request(first, after, offset),
        )
        return ConversationConnection.from_page(page)

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def me(self, info: Ctx) -> User | None:
        user = await info.context.use_cases.users.me(info.context.actor())
        return User.from_domain(user) if user is not None else None

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def user(self, info: Ctx, id: strawberry.ID) -> User | None:
        found = await info.context.loaders.user_by_id.load(str(id))
        return User.from_domain(found) if found is not None else None

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def users(
        self, info: Ctx, first: int | None = None, offset: int | None = None
    ) -> UserConnection:
        page = await info.context.use_cases.users.search(
            info.context.actor(), page_request(first, None, offset)
        )
        return UserConnection(
            nodes=[User.from_domain(user) for user in page.items],
            total_count=page.total, has_next_page=page.has_next,
        )

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="A lead import job, or null if there is none with this id.")
    async def import_job(self, info: Ctx, id: strawberry.ID) -> ImportJob | None:
        job = await info.context.use_cases.imports.find(info.context.actor(), str(id))
        return ImportJob.from_domain(job) if job is not None else None

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="Dashboard figures; rates cover the last `days` (1-3650, "
                      "default 30) days.")
    async def dashboard(self, info: Ctx, days: int | None = None) -> DashboardMetrics:
        metrics = await info.context.use_cases.analytics.dashboard(info.context.actor(), days)
        return DashboardMetrics.from_domain(metrics)

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="Lead funnel and breakdowns for the leads created in the "
                      "last `days` (1-3650, default 30) days.")
    async def lead_analytics(self, info: Ctx, days: int | None = None) -> LeadAnalytics:
        overview = await info.context.use_cases.analytics.lead_overview(
            info.context.actor(), days
        )
        return LeadAnalytics.from_domain(overview)

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="Conversations started in [start, end) (default: the last "
                      "30 days), bucketed by `timeframe` (default DAILY).")
    async def conversation_analytics(
        self, info: Ctx, start: datetime | None = None, end: datetime | None = None,
        timeframe: Timeframe | None = None,
    ) -> ConversationAnalytics:
        analytics = info.context.use_cases.analytics
        result = await analytics.conversations(
            info.context.actor(), analytics.window(start, end),
            timeframe or Timeframe.DAILY,
        )
        return ConversationAnalytics.from_domain(result)
