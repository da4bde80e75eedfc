"""All configuration, from the environment, in one object.

Names follow the legacy documents where they define one (``MONGODB_URL``, ``API_KEY``,
``SECRET_KEY``, ``WHATSAPP_*`` …). In production mode (``LEADGRAPH_ENV=production``) no secret
has a usable default; in the embedded default a missing ``SECRET_KEY`` is generated once and
kept in the data directory.
"""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    leadgraph_env: Environment = Environment.DEVELOPMENT
    leadgraph_data_dir: Path = Path(".leadgraph")

    # Storage and pub/sub. Unset MONGODB_URL -> embedded nx-27017; unset REDIS_URL -> in-process.
    mongodb_url: str | None = None
    mongodb_db_name: str = "leadgraph"
    # Fail fast when MongoDB is unreachable (PyMongo waits 30 s by default): requests answer
    # 503 within about this long, and readiness turns red (see README "Production / scale-out").
    mongodb_server_selection_timeout_ms: int = Field(default=2000, ge=100)
    mongodb_connect_timeout_ms: int = Field(default=5000, ge=100)
    redis_url: str | None = None
    redis_channel_prefix: str = "leadgraph"
    # Lead-event journal (``leadEvents(afterSeq:)`` replay): entries kept this long (TTL), and
    # how long a subscriber waits for a missing ``seq`` before skipping it (a writer that died
    # between numbering and storing its event).
    lead_events_retention_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    lead_events_hole_grace_seconds: float = Field(default=5.0, gt=0)

    # Security.
    api_key: SecretStr | None = None
    secret_key: SecretStr | None = None
    jwt_issuer: str = "leadgraph"
    jwt_audience: str = "leadgraph-api"
    access_token_ttl_seconds: int = Field(default=3600, ge=60)
    refresh_token_ttl_seconds: int = Field(default=14 * 24 * 3600, ge=300)
    # TOTP time-steps (30 s) accepted either side of now. 1 (RFC 6238's advice) in service; the
    # MFA tests widen it to have many distinct codes, each accepted once, without waiting.
    mfa_totp_valid_window: int = Field(default=1, ge=0, le=10)

    # Assistant.
    ai_provider: str = "local"
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    ai_model: str = "gpt-4o-mini"
    openai_timeout_seconds: float = Field(default=20.0, gt=0)

    # Voice.
    elevenlabs_api_key: SecretStr | None = None
    # Voice adapters (leadgraph.adapters.voice): ElevenLabs TTS is used when its key is set,
    # OpenAI transcription when STT_PROVIDER=openai and OPENAI_API_KEY is set; both fall back
    # to the local engines (espeak-ng, pocketsphinx) on any provider failure.
    elevenlabs_base_url: str | None = None
    elevenlabs_voice_id: str = "21m00Tcm4TlvDq8ikWAM"
    elevenlabs_model_id: str = "eleven_multilingual_v2"
    stt_provider: str = "local"
    openai_stt_model: str = "whisper-1"
    voice_timeout_seconds: float = Field(default=15.0, gt=0)

    # Channels.
    whatsapp_webhook_verify_token: SecretStr | None = None
    whatsapp_access_token: SecretStr | None = None
    whatsapp_phone_number_id: str | None = None
    whatsapp_app_secret: SecretStr | None = None
    instagram_webhook_verify_token: SecretStr | None = None
    instagram_access_token: SecretStr | None = None
    instagram_app_secret: SecretStr | None = None
    # Graph API base (WhatsApp/Instagram replies); tests point it at a local server.
    graph_api_base_url: str = "https://graph.facebook.com/v19.0"

    # Outbound webhooks (leadgraph.resolvers.integrations): retry backoff and endpoint health.
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_retry_base_seconds: float = Field(default=2.0, gt=0)
    webhook_retry_max_seconds: float = Field(default=600.0, gt=0)
    webhook_max_attempts: int = Field(default=8, ge=1)
    webhook_disable_after_failures: int = Field(default=10, ge=1)
    webhook_poll_seconds: float = Field(default=1.0, gt=0)
    webhook_secret_overlap_seconds: float = Field(default=24 * 3600, ge=0)
    # Inbound WhatsApp/Instagram messages: how long one worker holds a message (a worker
    # that dies mid-turn leaves it to be resumed after this), and how often it is tried.
    channel_inbound_lease_seconds: float = Field(default=120.0, gt=0)
    channel_inbound_max_attempts: int = Field(default=5, ge=1)
    # Chatbot training jobs: a replica holds a job by a lease it renews while training; a
    # job whose replica died is taken over once the lease expires, at most this many times.
    training_lease_seconds: float = Field(default=30.0, ge=0.3)
    training_max_attempts: int = Field(default=3, ge=1)

    # Email alerts.
    smtp_server: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    notification_emails: Annotated[list[str], NoDecode] = Field(default_factory=list)
    smtp_from: str = "leadgraph@localhost"
    # STARTTLS certificates are verified (system CAs, or SMTP_CA_FILE); SMTP_TLS_VERIFY=false
    # only for a server with a self-signed certificate you cannot add to a CA file.
    smtp_tls_verify: bool = True
    smtp_ca_file: Path | None = None
    # A configured login is never sent unencrypted unless this says so (a loopback relay).
    smtp_allow_plaintext_login: bool = False

    # GraphQL hardening.
    graphql_introspection: bool = True
    graphql_max_depth: int = 12
    graphql_max_aliases: int = 30
    graphql_max_tokens: int = 5000
    graphql_cache_size: int = 256
    # Persisted queries (leadgraph.resolvers.persisted_queries): APQ texts are cached in Redis
    # (REDIS_URL) for the TTL, else in a per-process LRU; GRAPHQL_SAFELIST=1 runs only
    # operations registered with `leadgraph graphql register-operations`.
    graphql_safelist: bool = False
    graphql_apq_cache_size: int = Field(default=1000, ge=1)
    graphql_apq_ttl_seconds: int = Field(default=24 * 3600, ge=1)

    # Idempotency-Key (leadgraph.resolvers.idempotency): keys expire after the TTL; a claim
    # whose request never finished (a crashed replica) is free again after the lease.
    idempotency_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    idempotency_lease_seconds: float = Field(default=60.0, gt=0)
    graphql_max_directives: int = Field(default=50, ge=1)
    # Field selections per operation, fragments expanded (duplicates count): graphql-core's
    # overlap check recurses once per duplicate and gives up near 800 of them.
    graphql_max_fields: int = Field(default=500, ge=1)
    graphql_max_batch_operations: int = Field(default=10, ge=0)  # 0 turns batching off
    graphql_ws_init_timeout_seconds: float = Field(default=10.0, gt=0)
    graphql_ws_max_subscriptions: int = Field(default=50, ge=1)

    # Seed 003's 10 sockets per user (leadgraph.resolvers.sockets): with REDIS_URL every
    # replica shares the count; an open socket renews its lease, a crashed replica's expire.
    ws_connection_lease_seconds: float = Field(default=60.0, ge=1)

    # Transport limits (HTTP 413 / WebSocket close 1009); see README "Security".
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=512 * 1024 * 1024, ge=1024)  # multipart/form-data
    ws_max_message_bytes: int = Field(default=1024 * 1024, ge=1024)

    # Rate limits and GraphQL query cost (README "Rate limits and query cost"). The rules
    # themselves are in leadgraph/domain/ratelimits.py; the multiplier scales all of them.
    rate_limits_enabled: bool = True
    rate_limit_multiplier: float = Field(default=1.0, gt=0)
    graphql_max_cost: int = Field(default=10_000, ge=1)  # per operation, refused beforehand
    graphql_default_list_size: int = Field(default=20, ge=1)  # a list with no first/limit

    @field_validator("notification_emails", mode="before")
    @classmethod
    def _split_emails(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _production_has_secrets(self) -> Settings:
        if self.leadgraph_env is Environment.PRODUCTION:
            missing = [name for name, value in (
                ("SECRET_KEY", self.secret_key), ("MONGODB_URL", self.mongodb_url)
            ) if not value]
            if missing:
                raise ValueError(f"production mode requires {', '.join(missing)}")
        if self.secret_key is not None and len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("SECRET_KEY must be at least 32 characters")
        return self

    @property
    def embedded_mongo(self) -> bool:
        return not self.mongodb_url

    def resolved_secret_key(self) -> str:
        """SECRET_KEY, or (development only) one generated once and kept in the data dir."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        if self.leadgraph_env is Environment.PRODUCTION:  # pragma: no cover - validated above
            raise RuntimeError("SECRET_KEY is required in production")
        path = self.leadgraph_data_dir / "secret_key"
        if not path.exists():
            self.leadgraph_data_dir.mkdir(parents=True, exist_ok=True)
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another worker won the race; read theirs
            else:
                with os.fdopen(descriptor, "w") as handle:
                    handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip()
