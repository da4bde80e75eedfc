"""Interfaces the use cases need from the outside world; adapters implement them.

Resolvers depend on these Protocols only, so a test or another deployment can plug in any
implementation without patching imports.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol

from leadgraph.domain.activities import Activity, ActivityFields
from leadgraph.domain.analytics import (
    ConversationCounts,
    DashboardCounts,
    DateRange,
    LeadCaptureCounts,
    LeadOverviewCounts,
    Timeframe,
)
from leadgraph.domain.assistant.engine import AssistantTurn
from leadgraph.domain.conversations import (
    Channel,
    Conversation,
    ConversationFields,
    ConversationFilter,
    Message,
    MessageAnalysis,
    MessageFields,
    MessageStats,
)
from leadgraph.domain.events import DomainEvent
from leadgraph.domain.idempotency import IdempotencyRecord
from leadgraph.domain.imports import ImportJob
from leadgraph.domain.leads import Lead, LeadFields, LeadFilter, LeadOrder, LeadScore
from leadgraph.domain.merges import MergeRecord
from leadgraph.domain.pagination import Page, PageRequest, Window
from leadgraph.domain.persisted_queries import PersistedOperation
from leadgraph.domain.scoring import ScoreHistoryEntry
from leadgraph.domain.users import ApiKey, ApiKeyTier, Role, User


class Clock(Protocol):
    def now(self) -> datetime: ...


class LeadRepository(Protocol):
    async def insert(self, fields: LeadFields) -> Lead: ...
    async def replace(self, lead_id: str, fields: LeadFields) -> Lead | None: ...
    async def get(self, lead_id: str) -> Lead | None: ...
    async def get_many(self, lead_ids: Sequence[str]) -> list[Lead]: ...
    async def find_duplicate(self, email: str | None, phone: str | None) -> Lead | None: ...
    async def delete(self, lead_id: str) -> bool: ...
    async def search(
        self, lead_filter: LeadFilter, order: LeadOrder, page: PageRequest
    ) -> Page[Lead]: ...
    async def window(
        self, lead_filter: LeadFilter, order: LeadOrder, page: PageRequest
    ) -> Window[Lead]: ...
    async def count(self, lead_filter: LeadFilter) -> int: ...
    async def restore(self, lead: Lead) -> Lead:
        """Insert a lead again under its old id (undoing a merge)."""
        ...
    async def candidates(self, lead: Lead, limit: int) -> list[Lead]:
        """Leads that share an email, phone tail, name or email domain with ``lead``."""
        ...
    async def set_score(self, lead_id: str, score: LeadScore) -> Lead | None:
        """Store a recomputed score without touching any other field."""
        ...


class UserRepository(Protocol):
    async def insert(
        self, *, email: str, username: str | None, name: str, password_hash: str, role: Role,
        now: datetime,
    ) -> User: ...
    async def get(self, user_id: str) -> User | None: ...
    async def get_many(self, user_ids: Sequence[str]) -> list[User]: ...
    async def find_credentials(self, identifier: str) -> tuple[User, str] | None:
        """The user whose email or username is ``identifier``, with its password hash."""
        ...
    async def exists(self, *, email: str, username: str | None) -> bool: ...
    async def count(self) -> int: ...
    async def page(self, page: PageRequest) -> Page[User]: ...


class ApiKeyRepository(Protocol):
    async def insert(
        self, *, name: str, prefix: str, key_hash: str, tier: ApiKeyTier,
        created_by: str | None, now: datetime,
    ) -> ApiKey: ...
    async def find_active_by_hash(self, key_hash: str) -> ApiKey | None: ...
    async def revoke(self, key_id: str) -> bool: ...


class SessionRepository(Protocol):
    """Login sessions: one per login, carrying the current refresh token id (rotation)."""

    async def create(
        self, *, user_id: str, refresh_jti: str, now: datetime, expires_at: datetime
    ) -> str: ...
    async def rotate(self, session_id: str, expected_jti: str, new_jti: str) -> bool:
        """Swap the refresh id only if ``expected_jti`` is current (atomic compare-and-set)."""
        ...
    async def is_active(self, session_id: str) -> bool: ...
    async def revoke(self, session_id: str) -> None: ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str, password: str) -> bool: ...


class TokenCodec(Protocol):
    """Signs and checks bearer tokens. ``decode`` raises ``Unauthenticated`` on any defect."""

    def encode(self, claims: dict[str, Any], token_type: str, ttl_seconds: int) -> str: ...
    def decode(self, token: str, token_type: str) -> dict[str, Any]: ...


class EventSubscription(Protocol):
    """Registered on creation, so nothing published afterwards is missed."""

    def __aiter__(self) -> EventSubscription: ...
    async def __anext__(self) -> DomainEvent: ...
    async def aclose(self) -> None: ...


class EventBroker(Protocol):
    """Publish/subscribe of domain events, in-process or across replicas."""

    async def publish(self, event: DomainEvent) -> None:
        """Never fails because the broker is down: undeliverable events are queued."""
        ...
    def subscribe(self, channel: str, *, resync: bool = False) -> EventSubscription:
        """With ``resync``, a ``STREAM_RESYNC`` event follows any gap in delivery."""
        ...
    async def ping(self) -> bool: ...


class EventJournal(Protocol):
    """A durable, numbered record of one channel's events (lead events), shared by replicas,
    so a subscriber can replay what it missed (``afterSeq``, a Redis restart)."""

    async def append(self, event: DomainEvent) -> DomainEvent:
        """Store the event under the next ``seq`` (strictly increasing across replicas);
        returns it with that ``seq``."""
        ...
    async def after(self, seq: int, limit: int) -> list[DomainEvent]:
        """Stored events with a ``seq`` above ``seq``, in ``seq`` order."""
        ...
    async def head(self) -> int:
        """The last ``seq`` taken (0 before the first event)."""
        ...


class HealthProbe(Protocol):
    async def ping(self) -> bool: ...


class ConversationRepository(Protocol):
    async def insert(self, fields: ConversationFields) -> Conversation: ...
    async def get(self, conversation_id: str) -> Conversation | None: ...
    async def get_many(self, conversation_ids: Sequence[str]) -> list[Conversation]: ...
    async def find_by_external_id(
        self, external_id: str, channel: Channel | None = None
    ) -> Conversation | None: ...
    async def for_leads(self, lead_ids: Sequence[str]) -> list[Conversation]: ...
    async def ids_for_leads(self, lead_ids: Sequence[str]) -> list[tuple[str, str]]:
        """``(conversation id, lead id)`` of every conversation of these leads."""
        ...
    async def reassign_lead(self, from_lead_id: str, to_lead_id: str) -> list[str]: ...
    async def set_lead(self, conversation_ids: Sequence[str], lead_id: str) -> None: ...
    async def reserve_seq(self, conversation_id: str) -> int:
        """Atomically take the next message number of a conversation."""
        ...
    async def save_state(self, conversation: Conversation) -> None:
        """Store the conversation; call it holding the conversation's lock."""
        ...
    async def delete(self, conversation_id: str) -> bool: ...
    async def search(
        self, conversation_filter: ConversationFilter, page: PageRequest
    ) -> Page[Conversation]: ...


class MessageRepository(Protocol):
    async def insert(self, fields: MessageFields) -> Message: ...
    async def set_analysis(self, message_id: str, analysis: MessageAnalysis) -> None: ...
    async def after(
        self, conversation_id: str, after_seq: int, limit: int
    ) -> list[Message]: ...
    async def for_conversations(self, conversation_ids: Sequence[str]) -> list[Message]: ...
    async def latest_of(self, conversation_ids: Sequence[str]) -> list[Message]:
        """The newest message of each conversation that has one, in one round trip."""
        ...
    async def stats_for(self, conversation_ids: Sequence[str]) -> MessageStats: ...
    async def delete_for(self, conversation_id: str) -> None: ...
    async def find_by_external_id(
        self, conversation_id: str, external_id: str
    ) -> Message | None: ...
    async def find_reply(self, conversation_id: str, message_id: str) -> Message | None: ...


class ConversationLock(Protocol):
    """Serialises the turns of one conversation, across replicas when Redis is configured."""

    def hold(self, conversation_id: str) -> AbstractAsyncContextManager[None]: ...


class ConnectionSlots(Protocol):
    """Open long-lived connections (WebSockets) per principal, for a per-user quota: in
    Redis, shared by every replica, or in-process. Each slot is a lease that its holder
    renews while the connection is open, so the slots of a crashed replica free up."""

    async def take(self, owner: str, connection_id: str, limit: int,
                   lease_seconds: float) -> bool:
        """Hold a slot for ``connection_id`` unless ``owner`` already holds ``limit`` live
        ones (atomically); False: the quota is full."""
        ...
    async def renew(self, owner: str, connection_id: str, lease_seconds: float) -> None:
        """Extend the slot's lease (restoring it if it was lost). Never raises."""
        ...
    async def give_back(self, owner: str, connection_id: str) -> None:
        """Free the slot. Never raises (an unreturned slot expires with its lease)."""
        ...


class AssistantEngine(Protocol):
    name: str

    async def respond(self, conversation: Conversation, text: str) -> AssistantTurn: ...


class ActivityRepository(Protocol):
    async def insert(self, fields: ActivityFields) -> Activity: ...
    async def insert_many(self, fields: Sequence[ActivityFields]) -> None: ...
    async def for_lead(self, lead_id: str, offset: int, limit: int) -> list[Activity]: ...
    async def count_for_lead(self, lead_id: str) -> int: ...
    async def count_by_type(self, lead_id: str) -> dict[str, int]: ...
    async def reassign(self, from_lead_id: str, to_lead_id: str) -> list[str]:
        """Move a lead's activities to another lead; returns the ids moved (for undo)."""
        ...
    async def move_back(self, activity_ids: Sequence[str], to_lead_id: str) -> None: ...


class ScoreHistoryRepository(Protocol):
    async def insert(self, entry: ScoreHistoryEntry) -> None: ...
    async def for_lead(self, lead_id: str, limit: int) -> list[ScoreHistoryEntry]: ...
    async def reassign(self, from_lead_id: str, to_lead_id: str) -> None: ...


class ImportJobRepository(Protocol):
    async def create(
        self, *, filename: str, created_by: str | None, now: datetime
    ) -> ImportJob: ...
    async def get(self, job_id: str) -> ImportJob | None: ...
    async def save(self, job: ImportJob) -> None: ...


class LeadBulkStore(Protocol):
    """Set-at-a-time lead reads and writes for imports and exports."""

    async def find_by_contacts(
        self, emails: Sequence[str], phones: Sequence[str]
    ) -> list[Lead]: ...
    async def insert_many(self, fields: Sequence[LeadFields]) -> list[str]:
        """Insert in order; returns the new ids in the same order."""
        ...
    async def update_many(self, updates: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """``$set`` each ``(lead_id, values)``, in one round trip."""
        ...
    def stream(
        self, lead_filter: LeadFilter, batch_size: int
    ) -> AsyncGenerator[Lead, None]:
        """Matching leads, newest first, fetched ``batch_size`` at a time."""
        ...


class MergeRepository(Protocol):
    async def insert(self, record: MergeRecord) -> MergeRecord: ...
    async def get(self, merge_id: str) -> MergeRecord | None: ...
    async def mark_undone(self, merge_id: str, at: datetime) -> bool:
        """Atomically mark as undone; False if it already was (an undo happens once)."""
        ...


class AnalyticsRepository(Protocol):
    """Aggregated figures, computed by the database in a fixed number of commands."""

    async def lead_capture(self) -> LeadCaptureCounts: ...
    async def dashboard(self, since: datetime, today: datetime) -> DashboardCounts:
        """Leads (all, created since ``today``, cohort created since ``since``) and calls."""
        ...
    async def lead_overview(self, since: datetime) -> LeadOverviewCounts: ...
    async def conversations(
        self, window: DateRange, timeframe: Timeframe
    ) -> ConversationCounts: ...


class PersistedQueryCache(Protocol):
    """APQ texts by SHA-256: Redis (shared by replicas, with a TTL) or a bounded in-process
    LRU. A cache: an entry may vanish, and the client then resends the text."""

    async def get(self, digest: str) -> str | None: ...
    async def put(self, digest: str, text: str) -> None: ...


class OperationRegistry(Protocol):
    """The safelist: registered operations by SHA-256, durable and shared by replicas."""

    async def get(self, digest: str) -> PersistedOperation | None: ...
    async def register(self, operation: PersistedOperation, now: datetime) -> bool:
        """Store once; False if that hash was already registered."""
        ...


class IdempotencyStore(Protocol):
    """Idempotency records by (scope, key), durable and shared by replicas, expiring."""

    async def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        """Insert ``record`` (in flight) unless the key exists; returns the existing one."""
        ...
    async def take_over(self, record: IdempotencyRecord, previous_claim: str) -> bool:
        """Replace an expired or abandoned record, only if ``previous_claim`` still holds it."""
        ...
    async def complete(self, record: IdempotencyRecord) -> None:
        """Store the response on the record this request claimed."""
        ...
    async def release(self, scope: str, key: str, claim: str) -> None:
        """Forget an in-flight claim (the request failed), so the key can be used again."""
        ...


class ServiceObserver(Protocol):
    """Operational events worth counting. ``leadgraph.metrics.ServiceMetrics`` implements it
    (one per app, handed in by the composition root); ``NullObserver`` when nobody counts.
    Calls must be cheap and never raise: they sit on hot paths."""

    def assistant_fallback(self, engine: str, reason: str) -> None:
        """``engine`` failed (``reason``: the error's type) and the local engine answered."""
        ...
    def webhook_delivery(self, kind: str, outcome: str) -> None:
        """One outbound attempt settled: ``delivered``, ``retry``, ``failed`` or
        ``cancelled``; ``kind`` is ``webhook``, ``whatsapp``, ``instagram`` or ``email``."""
        ...
    def subscription_started(self, field: str) -> None:
        """A GraphQL subscription (root ``field``) began streaming."""
        ...
    def subscription_ended(self, field: str) -> None: ...


class NullObserver:
    """Counts nothing (CLI commands, tests of other things)."""

    def assistant_fallback(self, engine: str, reason: str) -> None:
        return None

    def webhook_delivery(self, kind: str, outcome: str) -> None:
        return None

    def subscription_started(self, field: str) -> None:
        return None

    def subscription_ended(self, field: str) -> None:
        return None
