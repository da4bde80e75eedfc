"""Beanie documents. Each reuses the domain's field model, so storage cannot drift from it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pymongo
from beanie import Document
from pydantic import Field

from leadgraph.domain.activities import ActivityFields
from leadgraph.domain.conversations import ConversationFields, MessageFields
from leadgraph.domain.leads import LeadFields
from leadgraph.domain.scoring import ScoreHistoryEntry
from leadgraph.domain.users import ApiKeyTier, Role


class LeadDocument(LeadFields, Document):
    class Settings:
        name = "leads"
        indexes = [
            pymongo.IndexModel([("email", pymongo.ASCENDING)]),
            pymongo.IndexModel([("phone", pymongo.ASCENDING)]),
            pymongo.IndexModel([("created_at", pymongo.DESCENDING)]),
            pymongo.IndexModel([("status", pymongo.ASCENDING)]),
            pymongo.IndexModel([("assigned_to", pymongo.ASCENDING)]),
        ]


class UserDocument(Document):
    email: str
    username: str | None = None
    name: str = ""
    password_hash: str
    role: Role = Role.AGENT
    is_active: bool = True
    created_at: datetime

    class Settings:
        name = "users"
        indexes = [
            pymongo.IndexModel([("email", pymongo.ASCENDING)], unique=True),
            pymongo.IndexModel([("username", pymongo.ASCENDING)]),
        ]


class ApiKeyDocument(Document):
    name: str
    prefix: str
    key_hash: str
    tier: ApiKeyTier = ApiKeyTier.STANDARD
    created_by: str | None = None
    created_at: datetime
    revoked: bool = False

    class Settings:
        name = "api_keys"
        indexes = [pymongo.IndexModel([("key_hash", pymongo.ASCENDING)], unique=True)]


class AuthSessionDocument(Document):
    user_id: str
    refresh_jti: str
    revoked: bool = False
    created_at: datetime
    expires_at: datetime
    rotated_at: datetime | None = Field(default=None)

    class Settings:
        name = "auth_sessions"
        indexes = [pymongo.IndexModel([("user_id", pymongo.ASCENDING)])]


ALL_DOCUMENTS: list[type[Document]] = [
    LeadDocument, UserDocument, ApiKeyDocument, AuthSessionDocument,
]


class ConversationDocument(ConversationFields, Document):
    class Settings:
        name = "conversations"
        indexes = [
            pymongo.IndexModel([("external_id", pymongo.ASCENDING)]),
            pymongo.IndexModel([("lead_id", pymongo.ASCENDING)]),
            pymongo.IndexModel([("last_active", pymongo.DESCENDING)]),
        ]


class MessageDocument(MessageFields, Document):
    class Settings:
        name = "messages"
        indexes = [
            pymongo.IndexModel(
                [("conversation_id", pymongo.ASCENDING), ("seq", pymongo.ASCENDING)], unique=True
            ),
        ]


class ActivityDocument(ActivityFields, Document):
    class Settings:
        name = "activities"
        indexes = [
            pymongo.IndexModel(
                [("lead_id", pymongo.ASCENDING), ("created_at", pymongo.DESCENDING)]
            ),
        ]


class ScoreHistoryDocument(ScoreHistoryEntry, Document):
    class Settings:
        name = "score_history"
        indexes = [pymongo.IndexModel([("lead_id", pymongo.ASCENDING), ("at", pymongo.DESCENDING)])]


class MergeDocument(Document):
    primary_id: str
    duplicate_id: str
    primary_before: dict[str, Any]
    duplicate_before: dict[str, Any]
    moved_conversations: list[str] = Field(default_factory=list)
    moved_activities: list[str] = Field(default_factory=list)
    actor: str | None = None
    merged_at: datetime
    undone_at: datetime | None = None

    class Settings:
        name = "lead_merges"
        indexes = [pymongo.IndexModel([("primary_id", pymongo.ASCENDING)])]


ALL_DOCUMENTS += [ConversationDocument, MessageDocument, ActivityDocument, ScoreHistoryDocument,
                  MergeDocument]
