"""The use cases of one running service, handed to both transports by the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from leadgraph.resolvers.activities import ActivityUseCases
from leadgraph.resolvers.analytics import AnalyticsUseCases
from leadgraph.resolvers.auth import AuthUseCases
from leadgraph.resolvers.calls import CallUseCases
from leadgraph.resolvers.chatbots import ChatbotUseCases
from leadgraph.resolvers.conversations import ConversationUseCases
from leadgraph.resolvers.health import HealthUseCases
from leadgraph.resolvers.idempotency import IdempotencyUseCases
from leadgraph.resolvers.imports import ImportUseCases
from leadgraph.resolvers.integrations import IntegrationUseCases
from leadgraph.resolvers.leads import LeadUseCases
from leadgraph.resolvers.merges import MergeUseCases
from leadgraph.resolvers.mfa import MfaUseCases
from leadgraph.resolvers.persisted_queries import PersistedQueryUseCases
from leadgraph.resolvers.ratelimits import RateLimits
from leadgraph.resolvers.scores import ScoreUseCases
from leadgraph.resolvers.sockets import SocketQuota
from leadgraph.resolvers.users import UserUseCases
from leadgraph.resolvers.voice import VoiceUseCases


@dataclass(frozen=True)
class UseCases:
    leads: LeadUseCases
    auth: AuthUseCases
    users: UserUseCases
    health: HealthUseCases
    conversations: ConversationUseCases
    sockets: SocketQuota
    activities: ActivityUseCases
    scores: ScoreUseCases
    merges: MergeUseCases
    imports: ImportUseCases
    analytics: AnalyticsUseCases
    calls: CallUseCases
    voice: VoiceUseCases
    integrations: IntegrationUseCases | None = None
    chatbots: ChatbotUseCases | None = None
    mfa: MfaUseCases | None = None
    idempotency: IdempotencyUseCases | None = None
    persisted_queries: PersistedQueryUseCases | None = None
    rate_limits: RateLimits | None = None  # None: no limits (e.g. a CLI command)
