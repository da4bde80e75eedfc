"""Composition root: build adapters from settings and wire them into the use cases.

Everything with a lifetime (database client, embedded server, broker) is opened here, inside
the app's lifespan (or a CLI command), and closed in reverse order. Nothing is created at
import time.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import openai
from pydantic import SecretStr
from pymongo.monitoring import CommandListener

from leadgraph import __version__
from leadgraph.adapters.ai.openai_assistant import OpenAIAssistant
from leadgraph.adapters.broker.memory import InMemoryBroker
from leadgraph.adapters.broker.redis import RedisBroker
from leadgraph.adapters.clock import SystemClock
from leadgraph.adapters.connection_slots import InProcessConnectionSlots, RedisConnectionSlots
from leadgraph.adapters.locks import InProcessLocks, RedisLocks
from leadgraph.adapters.mongo.activities import MongoActivityRepository
from leadgraph.adapters.mongo.analytics import MongoAnalyticsRepository
from leadgraph.adapters.mongo.calls import MongoCallRepository
from leadgraph.adapters.mongo.chatbots import MongoChatbotStore
from leadgraph.adapters.mongo.connection import MongoDatabase
from leadgraph.adapters.mongo.conversations import (
    MongoConversationRepository,
    MongoMessageRepository,
)
from leadgraph.adapters.mongo.embedded import EmbeddedMongo
from leadgraph.adapters.mongo.idempotency import MongoIdempotencyStore
from leadgraph.adapters.mongo.imports import MongoImportJobRepository, MongoLeadBulkStore
from leadgraph.adapters.mongo.integrations import MongoIntegrationStore
from leadgraph.adapters.mongo.lead_events import MongoEventJournal
from leadgraph.adapters.mongo.leads import MongoLeadRepository
from leadgraph.adapters.mongo.merges import MongoMergeRepository
from leadgraph.adapters.mongo.mfa import MongoMfaStore
from leadgraph.adapters.mongo.operations import MongoOperationRegistry
from leadgraph.adapters.mongo.scores import MongoScoreHistoryRepository
from leadgraph.adapters.mongo.users import (
    MongoApiKeyRepository,
    MongoSessionRepository,
    MongoUserRepository,
)
from leadgraph.adapters.outbound import HttpxSender, SmtpConfig, SmtpMailer
from leadgraph.adapters.persisted_queries import InProcessQueryCache, RedisQueryCache
from leadgraph.adapters.ratelimit import LimitsCounter
from leadgraph.adapters.security.passwords import Argon2PasswordHasher
from leadgraph.adapters.security.tokens import JwtTokenCodec
from leadgraph.adapters.voice import open_voice
from leadgraph.domain.assistant.engine import LocalAssistant
from leadgraph.domain.events import LEADS_CHANNEL
from leadgraph.domain.ports import ServiceObserver
from leadgraph.resolvers.activities import ActivityUseCases
from leadgraph.resolvers.analytics import AnalyticsUseCases
from leadgraph.resolvers.auth import AuthPolicy, AuthUseCases
from leadgraph.resolvers.calls import CallUseCases
from leadgraph.resolvers.chatbots import ChatbotUseCases
from leadgraph.resolvers.conversations import ConversationUseCases
from leadgraph.resolvers.health import HealthUseCases
from leadgraph.resolvers.idempotency import IdempotencyUseCases
from leadgraph.resolvers.imports import ImportUseCases
from leadgraph.resolvers.integrations import IntegrationConfig, IntegrationUseCases
from leadgraph.resolvers.lead_events import JournaledBroker, SharedJournalReads
from leadgraph.resolvers.leads import LeadUseCases
from leadgraph.resolvers.merges import MergeUseCases
from leadgraph.resolvers.mfa import MfaUseCases
from leadgraph.resolvers.persisted_queries import PersistedQueryUseCases
from leadgraph.resolvers.ratelimits import RateLimits
from leadgraph.resolvers.registry import UseCases
from leadgraph.resolvers.scores import ScoreUseCases
from leadgraph.resolvers.sockets import SocketQuota
from leadgraph.resolvers.users import UserUseCases
from leadgraph.resolvers.voice import VoiceUseCases
from leadgraph.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    use_cases: UseCases
    database: MongoDatabase
    broker: InMemoryBroker | RedisBroker


@asynccontextmanager
async def open_assistant(
    settings: Settings, observer: ServiceObserver | None = None
) -> AsyncIterator[LocalAssistant | OpenAIAssistant]:
    """The local engine, or OpenAI (falling back to local, reported to ``observer``)."""
    local = LocalAssistant()
    if settings.ai_provider.lower() != "openai" or settings.openai_api_key is None:
        yield local
        return
    client = openai.AsyncOpenAI(
        api_key=settings.openai_api_key.get_secret_value(), base_url=settings.openai_base_url,
        max_retries=0, timeout=settings.openai_timeout_seconds,
    )
    try:
        yield OpenAIAssistant(client, settings.ai_model, local,
                              timeout_seconds=settings.openai_timeout_seconds,
                              observer=observer)
    finally:
        await client.close()


@asynccontextmanager
async def open_runtime(
    settings: Settings, command_listeners: Sequence[CommandListener] = (),
    observer: ServiceObserver | None = None,
) -> AsyncIterator[Runtime]:
    """Open every resource the service needs; ``command_listeners`` watch MongoDB traffic,
    ``observer`` (the app's metrics) hears assistant fallbacks and delivery outcomes."""
    async with AsyncExitStack() as stack:
        mongodb_url = settings.mongodb_url or EmbeddedMongo.running_url(
            settings.leadgraph_data_dir
        )
        if not mongodb_url:
            embedded = EmbeddedMongo(settings.leadgraph_data_dir)
            mongodb_url = await embedded.astart()
            stack.push_async_callback(embedded.astop)

        database = MongoDatabase(
            mongodb_url, settings.mongodb_db_name, command_listeners=command_listeners,
            server_selection_timeout_ms=settings.mongodb_server_selection_timeout_ms,
            connect_timeout_ms=settings.mongodb_connect_timeout_ms,
        )
        stack.push_async_callback(database.close)
        await database.connect()

        broker: InMemoryBroker | RedisBroker
        if settings.redis_url:
            redis_broker = RedisBroker(settings.redis_url, prefix=settings.redis_channel_prefix)
            await redis_broker.start()
            broker = redis_broker
        else:
            broker = InMemoryBroker()
        stack.push_async_callback(broker.close)

        clock = SystemClock()
        users = MongoUserRepository()
        mfa = MfaUseCases(MongoMfaStore(database.client[database.db_name]), clock,
                          valid_window=settings.mfa_totp_valid_window)
        auth = AuthUseCases(
            users=users,
            api_keys=MongoApiKeyRepository(),
            sessions=MongoSessionRepository(),
            hasher=Argon2PasswordHasher(),
            tokens=JwtTokenCodec(
                settings.resolved_secret_key(), settings.jwt_issuer, settings.jwt_audience
            ),
            clock=clock,
            bootstrap_api_key=settings.api_key.get_secret_value() if settings.api_key else None,
            policy=AuthPolicy(
                access_ttl_seconds=settings.access_token_ttl_seconds,
                refresh_ttl_seconds=settings.refresh_token_ttl_seconds,
            ),
            second_factor=mfa,
        )
        locks: InProcessLocks | RedisLocks
        if settings.redis_url:
            redis_locks = RedisLocks(settings.redis_url, prefix=settings.redis_channel_prefix)
            stack.push_async_callback(redis_locks.close)
            locks = redis_locks
        else:
            locks = InProcessLocks()
        assistant = await stack.enter_async_context(open_assistant(settings, observer))

        probes = {"mongodb": database, "broker": broker}
        lead_repository = MongoLeadRepository()
        conversation_repository = MongoConversationRepository()
        message_repository = MongoMessageRepository()
        activity_repository = MongoActivityRepository()
        call_repository = MongoCallRepository()
        voice_engines = await stack.enter_async_context(open_voice(settings))
        # Lead events are numbered and journaled in MongoDB before they are published, by
        # every use case that publishes them (leads, scores, merges): leadEvents(afterSeq:).
        lead_journal = MongoEventJournal(database.client[database.db_name],
                                         settings.lead_events_retention_seconds)
        await lead_journal.ensure_indexes()
        lead_publisher = JournaledBroker(broker, lead_journal, frozenset({LEADS_CHANNEL}))
        voice = VoiceUseCases(voice_engines.tts, voice_engines.stt)
        scores = ScoreUseCases(
            lead_repository, conversation_repository, message_repository, activity_repository,
            MongoScoreHistoryRepository(), lead_publisher, clock, calls=call_repository,
        )
        scores.start()
        stack.push_async_callback(scores.stop)
        activities = ActivityUseCases(activity_repository, lead_repository, scores, clock)
        leads = LeadUseCases(lead_repository, users, lead_publisher, clock, activities, scores,
                             journal=SharedJournalReads(lead_journal),
                             hole_grace_seconds=settings.lead_events_hole_grace_seconds)
        imports = ImportUseCases(
            MongoImportJobRepository(), MongoLeadBulkStore(), users, activity_repository, broker,
            clock, rescore=scores.request_refresh,
        )
        stack.push_async_callback(imports.aclose)  # runs before the database closes
        chatbots = ChatbotUseCases(
            MongoChatbotStore(database.client[database.db_name]), clock, assistant, broker,
            owner=f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
            lease_seconds=settings.training_lease_seconds,
            max_attempts=settings.training_max_attempts,
        )
        await chatbots.start()
        stack.push_async_callback(chatbots.stop)  # runs before the database closes
        use_cases = UseCases(
            leads=leads,
            chatbots=chatbots,
            mfa=mfa,
            conversations=ConversationUseCases(
                conversation_repository, message_repository, leads, assistant,
                locks, broker, clock, activities, selector=chatbots.assistant_for,
            ),
            activities=activities,
            scores=scores,
            merges=MergeUseCases(
                lead_repository, conversation_repository, activity_repository,
                MongoMergeRepository(), activities, scores, lead_publisher, clock,
            ),
            auth=auth,
            users=UserUseCases(users, auth),
            health=HealthUseCases(probes, clock, __version__, optional=["broker"]),
            sockets=open_socket_quota(stack, settings),
            imports=imports,
            analytics=AnalyticsUseCases(MongoAnalyticsRepository(), clock),
            calls=CallUseCases(
                call_repository, leads, activities,
                assistant if isinstance(assistant, LocalAssistant) else LocalAssistant(),
                voice, locks, broker, clock,
            ),
            voice=voice,
        )
        use_cases = await open_integrations(stack, settings, database, broker, use_cases,
                                            assistant_engine=assistant.name, observer=observer)
        use_cases = await open_protection(stack, settings, database, clock, use_cases)
        use_cases = open_rate_limits(stack, settings, clock, use_cases)
        yield Runtime(settings=settings, use_cases=use_cases, database=database, broker=broker)


def open_socket_quota(stack: AsyncExitStack, settings: Settings) -> SocketQuota:
    """Seed 003's 10 sockets per user: counted in Redis when configured (every replica),
    else in this process."""
    slots: InProcessConnectionSlots | RedisConnectionSlots
    if settings.redis_url:
        redis_slots = RedisConnectionSlots(settings.redis_url, settings.redis_channel_prefix)
        stack.push_async_callback(redis_slots.close)
        slots = redis_slots
    else:
        slots = InProcessConnectionSlots()
    return SocketQuota(slots, per_user=10, lease_seconds=settings.ws_connection_lease_seconds)


def open_rate_limits(
    stack: AsyncExitStack, settings: Settings, clock: SystemClock, use_cases: UseCases
) -> UseCases:
    """Rate-limit counters: in Redis when configured (shared by every replica), else here."""
    counter = (
        LimitsCounter.on_redis(settings.redis_url, settings.redis_channel_prefix)
        if settings.redis_url else LimitsCounter.in_memory()
    )
    stack.push_async_callback(counter.aclose)
    limits = RateLimits(counter, clock, multiplier=settings.rate_limit_multiplier,
                        enabled=settings.rate_limits_enabled)
    return dataclasses.replace(use_cases, rate_limits=limits)


async def open_protection(
    stack: AsyncExitStack, settings: Settings, database: MongoDatabase, clock: SystemClock,
    use_cases: UseCases,
) -> UseCases:
    """Idempotency keys and persisted GraphQL operations (durable parts in MongoDB; the APQ
    text cache in Redis when configured, so replicas share it)."""
    db = database.client[database.db_name]
    keys = MongoIdempotencyStore(db)
    await keys.ensure_indexes()
    cache: InProcessQueryCache | RedisQueryCache
    if settings.redis_url:
        cache = RedisQueryCache(settings.redis_url, settings.redis_channel_prefix,
                                settings.graphql_apq_ttl_seconds)
        stack.push_async_callback(cache.close)
    else:
        cache = InProcessQueryCache(settings.graphql_apq_cache_size)
    return dataclasses.replace(
        use_cases,
        idempotency=IdempotencyUseCases(
            keys, clock, ttl_seconds=settings.idempotency_ttl_seconds,
            lease_seconds=settings.idempotency_lease_seconds,
        ),
        persisted_queries=PersistedQueryUseCases(
            cache, MongoOperationRegistry(db), clock, safelist=settings.graphql_safelist,
        ),
    )


async def open_integrations(
    stack: AsyncExitStack, settings: Settings, database: MongoDatabase,
    broker: InMemoryBroker | RedisBroker, use_cases: UseCases, *, assistant_engine: str = "local",
    observer: ServiceObserver | None = None,
) -> UseCases:
    """Webhook outbox, channel inbound queue and email alerts; stopped before the DB closes."""
    sender = HttpxSender(settings.webhook_timeout_seconds)
    stack.push_async_callback(sender.aclose)
    mailer = None
    if settings.smtp_server:
        mailer = SmtpMailer(SmtpConfig(
            server=settings.smtp_server, port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password
            else None,
            sender=settings.smtp_from, tls_verify=settings.smtp_tls_verify,
            ca_file=str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
            allow_plaintext_login=settings.smtp_allow_plaintext_login,
        ))
    secret = settings.whatsapp_access_token
    instagram = settings.instagram_access_token
    integrations = IntegrationUseCases(
        MongoIntegrationStore(database), sender, broker, use_cases.conversations,
        IntegrationConfig(
            retry_base_seconds=settings.webhook_retry_base_seconds,
            retry_max_seconds=settings.webhook_retry_max_seconds,
            max_attempts=settings.webhook_max_attempts,
            disable_after_failures=settings.webhook_disable_after_failures,
            poll_seconds=settings.webhook_poll_seconds,
            request_timeout_seconds=settings.webhook_timeout_seconds,
            secret_overlap_seconds=settings.webhook_secret_overlap_seconds,
            graph_api_base_url=settings.graph_api_base_url.rstrip("/"),
            whatsapp_phone_number_id=settings.whatsapp_phone_number_id,
            whatsapp_access_token=secret.get_secret_value() if secret else None,
            instagram_access_token=instagram.get_secret_value() if instagram else None,
            notification_emails=list(settings.notification_emails),
            whatsapp_verify_token=_secret(settings.whatsapp_webhook_verify_token),
            whatsapp_app_secret=_secret(settings.whatsapp_app_secret),
            instagram_verify_token=_secret(settings.instagram_webhook_verify_token),
            instagram_app_secret=_secret(settings.instagram_app_secret),
            inbound_lease_seconds=settings.channel_inbound_lease_seconds,
            inbound_max_attempts=settings.channel_inbound_max_attempts,
            assistant_engine=assistant_engine,
        ),
        mailer, observer=observer,
    )
    await integrations.start()
    stack.push_async_callback(integrations.stop)
    return dataclasses.replace(use_cases, integrations=integrations)


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None
