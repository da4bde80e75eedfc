"""Subscription root (graphql-transport-ws only)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from strawberry import Info

from leadgraph.schema.context import GraphQLContext
from leadgraph.schema.permissions import IsAuthenticated
from leadgraph.schema.types import LeadEvent

Ctx = Info[GraphQLContext, Any]


@strawberry.type
class Subscription:
    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="Every lead created, updated or deleted, through any transport or replica.",
    )
    async def lead_events(self, info: Ctx) -> AsyncGenerator[LeadEvent, None]:
        async for event in info.context.use_cases.leads.events(info.context.actor()):
            yield LeadEvent.from_domain(event)
