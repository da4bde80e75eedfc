"""GraphQL types for conversations and messages (public contract: names are fixed)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry import Info

from leadgraph.domain import conversations as domain
from leadgraph.domain.errors import ValidationFailed
from leadgraph.domain.events import DomainEvent
from leadgraph.domain.pagination import MAX_PAGE_SIZE, Page
from leadgraph.schema.context import GraphQLContext
from leadgraph.schema.pagination import encode_cursor
from leadgraph.schema.types import Lead, LeadIntent, PageInfo
from leadgraph.schema.webhook_types import ChannelDelivery

Channel = strawberry.enum(domain.Channel, name="Channel")
ConversationStatus = strawberry.enum(domain.ConversationStatus, name="ConversationStatus")
MessageRole = strawberry.enum(domain.MessageRole, name="MessageRole")
DialogStep = strawberry.enum(domain.DialogStep, name="DialogStep")


@strawberry.enum
class ConversationEventType(Enum):
    STARTED = "conversation.started"
    MESSAGE = "conversation.message"
    RESOLVED = "conversation.resolved"


@strawberry.type
class EntityMention:
    type: str
    value: str
    text: str


@strawberry.type
class MessageAnalysis:
    intent: str
    confidence: float
    sentiment: float
    purchase_intent: LeadIntent  # type: ignore[valid-type]
    purchase_reasons: list[str]
    entities: list[EntityMention]

    @classmethod
    def from_domain(cls, analysis: domain.MessageAnalysis) -> MessageAnalysis:
        return cls(
            intent=analysis.intent, confidence=analysis.confidence, sentiment=analysis.sentiment,
            purchase_intent=analysis.purchase_intent,
            purchase_reasons=list(analysis.purchase_reasons),
            entities=[EntityMention(type=e.type, value=e.value, text=e.text)
                      for e in analysis.entities],
        )


@strawberry.type
class Message:
    id: strawberry.ID
    conversation_id: strawberry.ID
    seq: int = strawberry.field(description="Monotonic per conversation; resume with afterSeq.")
    role: MessageRole  # type: ignore[valid-type]
    content: str
    sender: str | None
    timestamp: datetime
    analysis: MessageAnalysis | None

    @classmethod
    def from_domain(cls, message: domain.Message) -> Message:
        return cls(
            id=strawberry.ID(message.id), conversation_id=strawberry.ID(message.conversation_id),
            seq=message.seq, role=message.role, content=message.content, sender=message.sender,
            timestamp=message.timestamp,
            analysis=MessageAnalysis.from_domain(message.analysis) if message.analysis else None,
        )

    @strawberry.field(description="For a reply sent to WhatsApp/Instagram: what the provider "
                      "reported (sent, delivered, read, failed). Null for other messages.")
    async def delivery(self, info: Info[GraphQLContext, Any]) -> ChannelDelivery | None:
        view = await info.context.loaders.delivery_by_message_id.load(str(self.id))
        return ChannelDelivery.from_view(view) if view is not None else None


@strawberry.type
class MessageEdge:
    cursor: str
    node: Message


@strawberry.type
class MessageConnection:
    edges: list[MessageEdge]
    page_info: PageInfo


@strawberry.type
class CollectedInfo:
    project_type: str | None
    features: list[str]
    timeline: str | None
    budget_range: str | None
    name: str | None
    email: str | None
    phone: str | None
    company: str | None


def _seq_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode()


def _seq_from_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not text.startswith("seq:"):
            raise ValueError(text)
        return int(text[4:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed.single("after", "Invalid cursor") from None


@strawberry.type
class Conversation:
    id: strawberry.ID
    session_id: str | None = strawberry.field(
        description="The client's own id (seed 000 session_id, seed 001 user_id, a phone)."
    )
    channel: Channel  # type: ignore[valid-type]
    status: ConversationStatus  # type: ignore[valid-type]
    user_id: strawberry.ID | None
    lead_id: strawberry.ID | None
    chatbot_id: strawberry.ID | None
    collected_info: CollectedInfo
    current_step: DialogStep  # type: ignore[valid-type]
    purchase_intent: LeadIntent  # type: ignore[valid-type]
    message_count: int
    created_at: datetime
    last_active: datetime

    @strawberry.field
    async def lead(self, info: Info[GraphQLContext, Any]) -> Lead | None:
        if not self.lead_id:
            return None
        found = await info.context.loaders.lead_by_id.load(str(self.lead_id))
        return Lead.from_domain(found) if found is not None else None

    @strawberry.field(description="Messages in order; `after` is a cursor from this list.")
    async def messages(
        self, info: Info[GraphQLContext, Any], first: int | None = None, after: str | None = None
    ) -> MessageConnection:
        limit = 50 if first is None else first
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValidationFailed.single("first", f"must be between 1 and {MAX_PAGE_SIZE}")
        after_seq = _seq_from_cursor(after) if after else 0
        batch = await info.context.use_cases.conversations.messages(
            info.context.principal, str(self.id), after_seq, limit + 1
        )
        page = batch[:limit]
        edges = [MessageEdge(cursor=_seq_cursor(m.seq), node=Message.from_domain(m))
                 for m in page]
        return MessageConnection(edges=edges, page_info=PageInfo(
            has_next_page=len(batch) > limit, has_previous_page=after_seq > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ))

    @classmethod
    def from_domain(cls, conversation: domain.Conversation) -> Conversation:
        info = conversation.collected_info
        return cls(
            id=strawberry.ID(conversation.id), session_id=conversation.external_id,
            channel=conversation.channel, status=conversation.status,
            user_id=_id(conversation.user_id), lead_id=_id(conversation.lead_id),
            chatbot_id=_id(conversation.chatbot_id),
            collected_info=CollectedInfo(
                project_type=info.project_type, features=list(info.features),
                timeline=info.timeline, budget_range=info.budget_range, name=info.name,
                email=info.email, phone=info.phone, company=info.company,
            ),
            current_step=conversation.current_step,
            purchase_intent=conversation.purchase_intent, message_count=conversation.last_seq,
            created_at=conversation.created_at, last_active=conversation.last_active,
        )


def _id(value: str | None) -> strawberry.ID | None:
    return strawberry.ID(value) if value else None


@strawberry.type
class ConversationEdge:
    cursor: str
    node: Conversation


@strawberry.type
class ConversationConnection:
    edges: list[ConversationEdge]
    page_info: PageInfo
    total_count: int

    @classmethod
    def from_page(cls, page: Page[domain.Conversation]) -> ConversationConnection:
        edges = [ConversationEdge(cursor=encode_cursor(page.offset + i),
                                  node=Conversation.from_domain(c))
                 for i, c in enumerate(page.items)]
        return cls(edges=edges, total_count=page.total, page_info=PageInfo(
            has_next_page=page.has_next, has_previous_page=page.offset > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ))


@strawberry.type
class ChatTurn:
    user_message: Message
    reply: Message
    analysis: MessageAnalysis
    conversation: Conversation
    lead: Lead | None


@strawberry.type
class ConversationEvent:
    type: ConversationEventType
    conversation: Conversation
    at: datetime

    @classmethod
    def from_domain(cls, event: DomainEvent) -> ConversationEvent:
        conversation = domain.Conversation.model_validate(event.data["conversation"])
        return cls(type=ConversationEventType(event.type),
                   conversation=Conversation.from_domain(conversation), at=event.at)


@strawberry.input
class StartConversationInput:
    channel: Channel = domain.Channel.API  # type: ignore[valid-type]
    session_id: str | None = strawberry.field(
        default=None, description="Your own id for this conversation, if you have one."
    )
    lead_id: strawberry.ID | None = None


@strawberry.input
class ConversationFilter:
    channel: Channel | None = None  # type: ignore[valid-type]
    status: ConversationStatus | None = None  # type: ignore[valid-type]
    lead_id: strawberry.ID | None = None

    def to_domain(self) -> domain.ConversationFilter:
        return domain.ConversationFilter(
            channel=self.channel, status=self.status,
            lead_id=str(self.lead_id) if self.lead_id else None,
        )
