"""Conversations (seed 000 calls them sessions) and their messages.

A message's ``seq`` is monotonic per conversation: subscribers use it to resume without gaps
or duplicates (``messageAdded(afterSeq:)``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from leadgraph.domain.errors import ValidationFailed
from leadgraph.domain.leads import LeadIntent, LeadSource

MAX_MESSAGE_LENGTH = 4000


class Channel(StrEnum):
    WEBSITE = "website"
    WHATSAPP = "whatsapp"
    INSTAGRAM = "instagram"
    API = "api"
    VOICE = "voice"

    @property
    def lead_source(self) -> LeadSource:
        return {
            Channel.WEBSITE: LeadSource.WEBSITE, Channel.WHATSAPP: LeadSource.WHATSAPP,
            Channel.INSTAGRAM: LeadSource.INSTAGRAM, Channel.API: LeadSource.API,
            Channel.VOICE: LeadSource.VOICE,
        }[self]


class ConversationStatus(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"


class MessageRole(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"
    AGENT = "agent"


class DialogStep(StrEnum):
    """Seed 000's requirement-gathering steps, in order."""

    GREETING = "greeting"
    REQUIREMENT_GATHERING = "requirement_gathering"
    TIMELINE_BUDGET = "timeline_budget"
    CONTACT_INFO = "contact_info"
    SUMMARY = "summary"
    COMPLETED = "completed"


class Entity(BaseModel):
    type: str
    value: str
    text: str = ""


class MessageAnalysis(BaseModel):
    intent: str
    confidence: float
    entities: list[Entity] = Field(default_factory=list)
    sentiment: float = 0.0
    purchase_intent: LeadIntent = LeadIntent.NEUTRAL
    purchase_reasons: list[str] = Field(default_factory=list)


class CollectedInfo(BaseModel):
    """The slots the assistant fills while qualifying a visitor."""

    project_type: str | None = None
    features: list[str] = Field(default_factory=list)
    timeline: str | None = None
    budget_range: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    company: str | None = None

    def as_public_dict(self) -> dict[str, object]:
        """Only what is known, as seed 000's ``collected_info`` shows it."""
        return {key: value for key, value in self.model_dump().items() if value not in (None, [])}


class ConversationFields(BaseModel):
    channel: Channel = Channel.API
    external_id: str | None = Field(
        default=None, description="The client's id: seed 000 session_id, 001 user_id, a phone."
    )
    user_id: str | None = None
    chatbot_id: str | None = None
    status: ConversationStatus = ConversationStatus.OPEN
    lead_id: str | None = None
    collected_info: CollectedInfo = Field(default_factory=CollectedInfo)
    current_step: DialogStep = DialogStep.GREETING
    asked: list[str] = Field(default_factory=list)
    purchase_intent: LeadIntent = LeadIntent.NEUTRAL
    last_seq: int = 0
    created_at: datetime
    last_active: datetime


class Conversation(ConversationFields):
    id: str


class MessageFields(BaseModel):
    conversation_id: str
    seq: int
    role: MessageRole
    content: str
    sender: str | None = None
    analysis: MessageAnalysis | None = None
    timestamp: datetime
    external_id: str | None = Field(
        default=None,
        description="The provider's id of an inbound channel message (a WhatsApp wamid, an "
        "Instagram mid): a redelivered or resumed message is recognised by it.",
    )
    reply_to: str | None = Field(
        default=None, description="On an assistant reply: the id of the message it answers.",
    )


class Message(MessageFields):
    id: str


def clean_message_text(text: object, field_name: str = "message") -> str:
    """A visitor's message: a non-empty string of bounded length."""
    if not isinstance(text, str):
        raise ValidationFailed.single(field_name, "must be a string")
    stripped = text.strip()
    if not stripped:
        raise ValidationFailed.single(field_name, "must not be empty")
    if len(stripped) > MAX_MESSAGE_LENGTH:
        raise ValidationFailed.single(
            field_name, f"must be at most {MAX_MESSAGE_LENGTH} characters"
        )
    return stripped


class ConversationFilter(BaseModel):
    channel: Channel | None = None
    status: ConversationStatus | None = None
    lead_id: str | None = None
    user_id: str | None = None
    chatbot_id: str | None = None


class MessageStats(BaseModel):
    """Counts behind a lead's engagement score."""

    user_messages: int = 0
    assistant_messages: int = 0
    last_message_at: datetime | None = None
