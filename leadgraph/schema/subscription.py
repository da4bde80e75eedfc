"""Subscription root (graphql-transport-ws only)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from strawberry import Info

from leadgraph.schema.call_types import CallSubscription
from leadgraph.schema.chatbot_types import ChatbotSubscription
from leadgraph.schema.context import GraphQLContext
from leadgraph.schema.conversation_types import ConversationEvent, Message
from leadgraph.schema.import_types import ImportJob
from leadgraph.schema.permissions import IsAuthenticated
from leadgraph.schema.types import LeadEvent

Ctx = Info[GraphQLContext, Any]


@strawberry.type
class Subscription(CallSubscription, ChatbotSubscription):
    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description=(
            "Every lead created, updated or deleted, through any transport or replica, in seq "
            "order, each once. With afterSeq, the events after that seq are replayed first "
            "(the journal keeps them for LEAD_EVENTS_RETENTION_SECONDS)."
        ),
    )
    async def lead_events(
        self, info: Ctx, after_seq: int | None = None
    ) -> AsyncGenerator[LeadEvent, None]:
        async for event in info.context.use_cases.leads.events(info.context.actor(),
                                                               after_seq):
            yield LeadEvent.from_domain(event)

    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description=(
            "Every message of a conversation (visitor and assistant), in order, whatever "
            "transport it came by. With afterSeq, missed messages are replayed first."
        ),
    )
    async def message_added(
        self, info: Ctx, conversation_id: strawberry.ID, after_seq: int | None = None
    ) -> AsyncGenerator[Message, None]:
        stream = await info.context.use_cases.conversations.open_message_stream(
            info.context.actor(), str(conversation_id), after_seq
        )
        async for message in stream:
            yield Message.from_domain(message)

    @strawberry.subscription(permission_classes=[IsAuthenticated],
                             description="Conversations started, messaged and resolved.")
    async def conversation_events(self, info: Ctx) -> AsyncGenerator[ConversationEvent, None]:
        async for event in info.context.use_cases.conversations.events(info.context.actor()):
            yield ConversationEvent.from_domain(event)

    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="An import job now and after every batch; ends once it completes or fails.",
    )
    async def import_job_progress(
        self, info: Ctx, job_id: strawberry.ID
    ) -> AsyncGenerator[ImportJob, None]:
        async for job in info.context.use_cases.imports.watch(info.context.actor(), str(job_id)):
            yield ImportJob.from_domain(job)
