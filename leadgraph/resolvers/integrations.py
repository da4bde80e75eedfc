"""Integrations: signed outbound webhooks (durable outbox), WhatsApp/Instagram inbound, alerts.

Delivery is at-least-once. The dispatcher subscribes to the broker channels when the service
starts and writes one outbox row per (event, matching webhook); a unique ``dedupe_key`` keeps
replicas from writing it twice. The worker claims due rows atomically, POSTs them, and
retries 5xx / 408 / 429 / timeouts / connection errors with exponential backoff and jitter.
A 410 disables the endpoint, as do N consecutive failures. Rows live in MongoDB, so a restart
picks up whatever was pending.

Signing (receivers should verify the raw body they got):
- ``X-LeadGraph-Signature: sha256=<hex HMAC-SHA256(secret, "{X-LeadGraph-Timestamp}.{body}")>``
- ``X-Signature: sha256=<hex HMAC-SHA256(secret, body)>`` (seed 004's verifier). The body is
  compact JSON (``separators=(",", ":")``, non-ASCII kept), so ``JSON.stringify(JSON.parse(
  body))`` reproduces it byte for byte for the payloads we send. The payload does NOT carry
  a ``signature`` field: a signature inside the signed body cannot verify; it is a header.
During a secret rotation both headers list two signatures, new first, comma-separated.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import random
import secrets
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from leadgraph.domain.conversations import Channel
from leadgraph.domain.errors import (
    DomainError,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
)
from leadgraph.domain.events import DomainEvent
from leadgraph.domain.ports import EventBroker, NullObserver, ServiceObserver
from leadgraph.domain.users import Principal
from leadgraph.resolvers.auth import require_admin
from leadgraph.resolvers.conversations import ConversationUseCases

log = logging.getLogger(__name__)

Doc = dict[str, Any]

# (broker channel, broker event type) -> the public catalogue name.
SOURCES: dict[tuple[str, str], str] = {
    ("leads", "lead.created"): "lead.created",
    ("leads", "lead.updated"): "lead.updated",
    ("leads", "lead.deleted"): "lead.deleted",
    ("leads", "lead.score_changed"): "lead.score_changed",
    ("conversations", "conversation.started"): "conversation.created",
    ("conversations", "conversation.message"): "message.received",
    ("conversations", "conversation.resolved"): "conversation.ended",
    ("calls", "call.started"): "call.started",
    ("calls", "call.completed"): "call.completed",
    ("calls", "call.failed"): "call.failed",
}
CATALOGUE = frozenset([*SOURCES.values(), "error.occurred"])
ALIASES: dict[str, str] = {
    "new_lead": "lead.created", "lead_created": "lead.created",
    "lead_updated": "lead.updated", "lead_deleted": "lead.deleted",
    "lead_score_changed": "lead.score_changed", "score_changed": "lead.score_changed",
    "conversation.started": "conversation.created", "conversation_started":
        "conversation.created", "conversation_created": "conversation.created",
    "new_conversation": "conversation.created",
    "conversation.message": "message.received", "new_message": "message.received",
    "message_received": "message.received",
    "conversation.resolved": "conversation.ended", "conversation_ended": "conversation.ended",
    "conversation_resolved": "conversation.ended",
    "call_started": "call.started", "call_completed": "call.completed",
    "call_failed": "call.failed", "error": "error.occurred", "error_occurred": "error.occurred",
    "*": "*",
}
PING = "webhook.ping"
ERROR_OCCURRED = "error.occurred"
CHANNEL_KINDS = ("whatsapp", "instagram")
# Provider statuses of an outbound channel message; the stored status only moves up this
# scale (statuses can arrive out of order: "read" before "delivered").
STATUS_RANK = {"accepted": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4}
RANK_STATUS = {rank: name for name, rank in STATUS_RANK.items()}
WATCHED_CHANNELS = ("leads", "conversations", "calls")


def canonical_event(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationFailed.single("events", "each event must be a non-empty string")
    key = name.strip().lower().replace("-", "_")
    if key in CATALOGUE:
        return key
    if key in ALIASES:
        return ALIASES[key]
    known = ", ".join(sorted(CATALOGUE))
    raise ValidationFailed.single("events", f"unknown event {name!r}; known events: {known}")


def canonical_events(names: object) -> list[str]:
    if not isinstance(names, list) or not names:
        raise ValidationFailed.single("events", "must be a non-empty list of event names")
    result: list[str] = []
    for name in names:
        event = canonical_event(name)
        if event not in result:
            result.append(event)
    return result


def validate_url(url: object) -> str:
    if not isinstance(url, str) or not url.strip():
        raise ValidationFailed.single("url", "is required")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed.single("url", "must be an absolute http(s) URL")
    return url.strip()


def sign(secret: str, message: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_meta_signature(app_secret: str, raw_body: bytes, header: str | None) -> bool:
    """Meta's ``X-Hub-Signature-256: sha256=<hex HMAC(app_secret, raw body)>``."""
    if not header:
        return False
    return hmac.compare_digest(sign(app_secret, raw_body), header.strip())


def compact_json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


class IntegrationStore(Protocol):
    async def ensure_indexes(self) -> None: ...
    async def insert_webhook(self, doc: Doc) -> None: ...
    async def get_webhook(self, webhook_id: str) -> Doc | None: ...
    async def list_webhooks(self) -> list[Doc]: ...
    async def replace_webhook(self, doc: Doc) -> None: ...
    async def delete_webhook(self, webhook_id: str) -> bool: ...
    async def webhook_outcome(self, webhook_id: str, *, success: bool) -> Doc | None: ...
    async def disable_active_webhook(self, webhook_id: str, reason: str) -> bool: ...
    async def enqueue(self, doc: Doc) -> bool: ...
    async def claim_due(self, now: float, lease_until: float) -> Doc | None: ...
    async def record_attempt(self, delivery_id: str, attempt: Doc, changes: Doc) -> None: ...
    async def get_delivery(self, delivery_id: str) -> Doc | None: ...
    async def deliveries_for(self, webhook_id: str, limit: int) -> list[Doc]: ...
    async def reset_delivery(self, delivery_id: str, now: float) -> bool: ...
    async def accept_inbound(self, doc: Doc) -> bool: ...
    async def claim_inbound(self, now: float, lease_until: float) -> Doc | None: ...
    async def finish_inbound(self, inbound_id: str, changes: Doc) -> None: ...
    async def get_inbound(self, inbound_id: str) -> Doc | None: ...
    async def link_channel_message(self, key: str, fields: Doc) -> None: ...
    async def record_channel_status(
        self, key: str, fields: Doc, rank: int, event: Doc) -> Doc | None: ...
    async def channel_messages_for(self, message_ids: list[str]) -> list[Doc]: ...
    async def get_channel_message(self, key: str) -> Doc | None: ...
    async def channel_messages_to(self, channel: str, recipient: str) -> list[Doc]: ...


class PostOutcome(Protocol):
    @property
    def status_code(self) -> int | None: ...
    @property
    def latency_ms(self) -> float: ...
    @property
    def error(self) -> str | None: ...
    @property
    def body(self) -> str: ...


class Sender(Protocol):
    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> PostOutcome: ...


class Mailer(Protocol):
    async def send(self, recipients: list[str], subject: str, text: str) -> None: ...


@dataclass(frozen=True)
class IntegrationConfig:
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 600.0
    max_attempts: int = 8
    disable_after_failures: int = 10
    poll_seconds: float = 1.0
    request_timeout_seconds: float = 10.0
    secret_overlap_seconds: float = 24 * 3600
    graph_api_base_url: str = "https://graph.facebook.com/v19.0"
    whatsapp_phone_number_id: str | None = None
    whatsapp_access_token: str | None = None
    instagram_access_token: str | None = None
    notification_emails: list[str] = field(default_factory=list)
    whatsapp_verify_token: str | None = None
    whatsapp_app_secret: str | None = None
    instagram_verify_token: str | None = None
    instagram_app_secret: str | None = None
    # An inbound message is leased to one worker this long; a worker that dies mid-turn
    # leaves it to be resumed (not redone) once the lease ends.
    inbound_lease_seconds: float = 120.0
    inbound_max_attempts: int = 5
    # The configured assistant ("openai" or "local"): a turn answered by another engine
    # means the provider failed and the local engine stood in (reported as error.occurred).
    assistant_engine: str = "local"


def webhook_view(doc: Doc, *, now: float | None = None) -> Doc:
    now = time.time() if now is None else now
    return {
        "id": doc["_id"], "url": doc["url"], "events": list(doc["events"]),
        "status": doc["status"], "consecutive_failures": doc.get("consecutive_failures", 0),
        "disabled_reason": doc.get("disabled_reason"), "created_at": doc["created_at"],
        "secret_rotating": bool(doc.get("previous_secret"))
        and float(doc.get("previous_secret_until") or 0) > now,
    }


def delivery_view(doc: Doc) -> Doc:
    pending = doc["status"] == "pending"
    return {
        "id": doc["_id"], "webhook_id": doc.get("webhook_id"), "kind": doc["kind"],
        "event": doc["event"], "status": doc["status"], "created_at": doc["created_at"],
        "attempts": list(doc.get("attempts", [])),
        "next_retry_at": _iso(float(doc["next_attempt_at"])) if pending else None,
    }


def channel_status_view(doc: Doc) -> Doc:
    """An outbound channel message's provider status and its history (oldest first)."""
    seen: set[tuple[str, str]] = set()
    events: list[Doc] = []
    for event in sorted(doc.get("events") or [], key=lambda e: (str(e.get("at") or ""),
                                                                 STATUS_RANK.get(e["status"], 0))):
        marker = (str(event.get("status")), str(event.get("at")))
        if marker not in seen:  # a provider may send the same status twice
            seen.add(marker)
            events.append({"status": event["status"], "at": event.get("at"),
                           "errors": list(event.get("errors") or [])})
    return {
        "channel": doc.get("channel"), "provider_message_id": doc.get("provider_message_id"),
        "message_id": doc.get("message_id"), "conversation_id": doc.get("conversation_id"),
        "recipient": doc.get("recipient"), "sent_at": doc.get("sent_at"),
        "status": RANK_STATUS.get(int(doc.get("rank") or 0), "accepted"), "events": events,
    }


class IntegrationUseCases:
    """Webhook management is for administrators (API keys act as admins): a webhook receives
    every lead's data, so an agent may not point one at a server of their choosing."""

    def __init__(
        self, store: IntegrationStore, sender: Sender, broker: EventBroker,
        conversations: ConversationUseCases, config: IntegrationConfig,
        mailer: Mailer | None = None, observer: ServiceObserver | None = None,
    ) -> None:
        self._observer = observer or NullObserver()
        self._store = store
        self._sender = sender
        self._broker = broker
        self._conversations = conversations
        self._config = config
        self._mailer = mailer
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._worker: asyncio.Task[None] | None = None
        self._stopping = False

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        await self._store.ensure_indexes()
        for channel in WATCHED_CHANNELS:
            subscription = self._broker.subscribe(channel)  # registered now: nothing missed
            self._tasks.append(asyncio.create_task(self._dispatch(channel, subscription)))
        self._worker = asyncio.create_task(self._work())

    async def stop(self) -> None:
        """Stop observing; let an in-flight attempt finish (bounded) so no lease is left."""
        self._stopping = True
        self._wake.set()
        worker, self._worker = self._worker, None
        for task in self._tasks:
            task.cancel()
        if worker is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(
                    asyncio.shield(worker), self._config.request_timeout_seconds + 2)
            worker.cancel()
            self._tasks.append(worker)
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    # -- registration ---------------------------------------------------------------------

    async def register(
        self, actor: Principal, url: object, events: object, secret: object = None
    ) -> Doc:
        require_admin(actor)
        checked_url = validate_url(url)
        checked_events = canonical_events(events)
        if secret is None or secret == "":
            secret = secrets.token_urlsafe(32)
        if not isinstance(secret, str) or len(secret) > 512:
            raise ValidationFailed.single("secret", "must be a string of at most 512 chars")
        doc: Doc = {
            "_id": f"wh_{uuid.uuid4().hex}", "url": checked_url, "events": checked_events,
            "secret": secret, "previous_secret": None, "previous_secret_until": 0.0,
            "status": "active", "consecutive_failures": 0, "disabled_reason": None,
            "created_at": _iso(time.time()), "created_by": actor.id,
        }
        await self._store.insert_webhook(doc)
        return {**webhook_view(doc), "secret": secret}

    async def list_webhooks(self, actor: Principal) -> list[Doc]:
        require_admin(actor)
        return [webhook_view(doc) for doc in await self._store.list_webhooks()]

    async def _webhook(self, webhook_id: str) -> Doc:
        doc = await self._store.get_webhook(webhook_id)
        if doc is None:
            raise NotFound("Webhook", webhook_id)
        return doc

    async def get(self, actor: Principal, webhook_id: str) -> Doc:
        require_admin(actor)
        return webhook_view(await self._webhook(webhook_id))

    async def update(
        self, actor: Principal, webhook_id: str, *, url: object = None, events: object = None,
        secret: object = None, active: bool | None = None,
    ) -> Doc:
        require_admin(actor)
        doc = await self._webhook(webhook_id)
        if url is not None:
            doc["url"] = validate_url(url)
        if events is not None:
            doc["events"] = canonical_events(events)
        if secret is not None:
            if not isinstance(secret, str) or not secret or len(secret) > 512:
                raise ValidationFailed.single("secret", "must be a non-empty string")
            if secret != doc["secret"]:
                doc["previous_secret"] = doc["secret"]
                doc["previous_secret_until"] = time.time() + self._config.secret_overlap_seconds
                doc["secret"] = secret
        if active is not None:
            doc["status"] = "active" if active else "disabled"
            doc["disabled_reason"] = None if active else "disabled by user"
            if active:
                doc["consecutive_failures"] = 0
        await self._store.replace_webhook(doc)
        return webhook_view(doc)

    async def delete(self, actor: Principal, webhook_id: str) -> Doc:
        require_admin(actor)
        doc = await self._webhook(webhook_id)
        await self._store.delete_webhook(webhook_id)
        return webhook_view(doc)

    async def test(self, actor: Principal, webhook_id: str) -> Doc:
        """Queue a ``webhook.ping`` delivery (sent even to a disabled endpoint)."""
        require_admin(actor)
        doc = await self._webhook(webhook_id)
        payload = {"event": PING, "timestamp": _iso(time.time()),
                   "data": {"webhook_id": doc["_id"], "message": "ping"}}
        delivery = self._delivery("webhook", PING, payload, f"ping:{uuid.uuid4().hex}",
                                  webhook_id=doc["_id"])
        await self._store.enqueue(delivery)
        self._wake.set()
        return delivery_view(delivery)

    async def deliveries(self, actor: Principal, webhook_id: str, limit: int = 100) -> list[Doc]:
        require_admin(actor)
        await self._webhook(webhook_id)
        return [delivery_view(d) for d in await self._store.deliveries_for(webhook_id, limit)]

    async def redeliver(self, actor: Principal, delivery_id: str) -> Doc:
        require_admin(actor)
        if not await self._store.reset_delivery(delivery_id, time.time()):
            raise NotFound("WebhookDelivery", delivery_id)
        self._wake.set()
        found = await self._store.get_delivery(delivery_id)
        assert found is not None
        return delivery_view(found)

    # -- inbound channels -----------------------------------------------------------------

    @property
    def config(self) -> IntegrationConfig:
        return self._config

    def verify_subscription(
        self, channel: str, mode: str | None, token: str | None, challenge: str | None
    ) -> str | None:
        """Meta's GET handshake: the challenge to echo, or None (answer 403)."""
        expected = (self._config.whatsapp_verify_token if channel == "whatsapp"
                    else self._config.instagram_verify_token)
        if mode != "subscribe" or not expected or token is None or challenge is None:
            return None
        return challenge if hmac.compare_digest(expected, token) else None

    def signature_problem(self, channel: str, raw: bytes, header: str | None) -> int | None:
        """None when acceptable; 401 (no signature) / 403 (bad one) when a secret is set."""
        app_secret = (self._config.whatsapp_app_secret if channel == "whatsapp"
                      else self._config.instagram_app_secret)
        if not app_secret:
            return None
        if not header:
            return 401
        return None if verify_meta_signature(app_secret, raw, header) else 403

    async def accept_whatsapp(self, payload: Mapping[str, Any]) -> dict[str, int]:
        """Queue each new text message of a WhatsApp Cloud API webhook, record each status."""
        counts = {"accepted": 0, "duplicates": 0, "statuses": 0, "ignored": 0}
        for entry in _list(payload.get("entry")):
            for change in _list(_dict(entry).get("changes")):
                value = _dict(_dict(change).get("value"))
                for status in _list(value.get("statuses")):
                    status = _dict(status)
                    recorded = await self._record_status(
                        "whatsapp", status.get("id"), status.get("status"),
                        _provider_time(status.get("timestamp"), 1.0),
                        _errors(status.get("errors")), recipient=status.get("recipient_id"))
                    counts["statuses" if recorded else "ignored"] += 1
                for message in _list(value.get("messages")):
                    message = _dict(message)
                    sender, mid = message.get("from"), message.get("id")
                    text = _dict(message.get("text")).get("body")
                    if not (isinstance(sender, str) and isinstance(mid, str)
                            and isinstance(text, str) and text.strip()):
                        counts["ignored"] += 1
                        continue
                    phone = sender if sender.startswith("+") else f"+{sender}"
                    fresh = await self._queue_inbound("whatsapp", mid, sender, text,
                                                      {"phone": phone})
                    counts["accepted" if fresh else "duplicates"] += 1
        return counts

    async def accept_instagram(self, payload: Mapping[str, Any]) -> dict[str, int]:
        """Queue new text messages; record ``delivery`` and ``read`` events."""
        counts = {"accepted": 0, "duplicates": 0, "statuses": 0, "ignored": 0}
        for entry in _list(payload.get("entry")):
            for event in _list(_dict(entry).get("messaging")):
                event = _dict(event)
                sender = _dict(event.get("sender")).get("id")
                if "delivery" in event or "read" in event:
                    counts["statuses"] += await self._instagram_statuses(event, sender)
                    continue
                message = _dict(event.get("message"))
                mid, text = message.get("mid"), message.get("text")
                if message.get("is_echo") or not (
                    isinstance(sender, str) and isinstance(mid, str)
                    and isinstance(text, str) and text.strip()
                ):
                    counts["ignored"] += 1
                    continue
                fresh = await self._queue_inbound("instagram", mid, sender, text, {})
                counts["accepted" if fresh else "duplicates"] += 1
        return counts

    async def _instagram_statuses(self, event: Doc, sender: object) -> int:
        """``delivery: {mids, watermark}`` / ``read: {mid?, watermark}``. The sender is the
        person our message went to; without mids, everything sent to them up to the
        watermark (epoch ms) has that status."""
        recorded = 0
        for status in ("delivery", "read"):
            if status not in event:
                continue
            name = "delivered" if status == "delivery" else "read"
            body = _dict(event.get(status))
            watermark = body.get("watermark")
            at = _provider_time(watermark if watermark is not None else event.get("timestamp"),
                                0.001)
            mids = [m for m in [*_list(body.get("mids")), body.get("mid")]
                    if isinstance(m, str)]
            if not mids and isinstance(sender, str) and isinstance(watermark, (int, float)):
                mids = [row["provider_message_id"]
                        for row in await self._store.channel_messages_to("instagram", sender)
                        if float(row.get("sent_at_ms") or 0) <= watermark]
            for mid in mids:
                recorded += await self._record_status(
                    "instagram", mid, name, at, [],
                    recipient=sender if isinstance(sender, str) else None)
        return recorded

    async def _record_status(
        self, channel: str, provider_id: object, status: object, at: str | None,
        errors: list[str], *, recipient: object = None,
    ) -> bool:
        if not isinstance(provider_id, str) or not provider_id or status not in STATUS_RANK:
            return False
        assert isinstance(status, str)
        fields: Doc = {"channel": channel, "provider_message_id": provider_id}
        if isinstance(recipient, str) and recipient:
            fields["recipient"] = recipient
        before = await self._store.record_channel_status(
            f"{channel}:{provider_id}", fields, STATUS_RANK[status],
            {"status": status, "at": at, "recorded_at": _iso(time.time()), "errors": errors})
        if status == "failed" and int((before or {}).get("rank") or 0) < STATUS_RANK["failed"]:
            await self.report_error(
                "channel.delivery_failed",
                f"{channel} could not deliver message {provider_id}: "
                + ("; ".join(errors) or "no reason given"),
                {"channel": channel, "provider_message_id": provider_id,
                 "message_id": (before or {}).get("message_id"),
                 "conversation_id": (before or {}).get("conversation_id"),
                 "recipient": fields.get("recipient"), "errors": errors})
        return True

    async def delivery_statuses(self, message_ids: Sequence[str]) -> list[Doc | None]:
        """The channel delivery status of each of our messages (None: not sent to a channel),
        in the order asked (a DataLoader's batch function)."""
        rows = await self._store.channel_messages_for(list(message_ids))
        by_message = {row["message_id"]: channel_status_view(row) for row in rows
                      if row.get("message_id")}
        return [by_message.get(message_id) for message_id in message_ids]

    async def channel_message_status(
        self, actor: Principal, channel: str, provider_message_id: str
    ) -> Doc | None:
        found = await self._store.get_channel_message(f"{channel}:{provider_message_id}")
        return channel_status_view(found) if found is not None else None

    async def _queue_inbound(
        self, channel: str, mid: str, sender: str, text: str, visitor: Doc
    ) -> bool:
        """Stored before the provider gets its 200: from here on a crash loses nothing."""
        fresh = await self._store.accept_inbound({
            "_id": f"{channel}:{mid}", "channel": channel, "provider_message_id": mid,
            "sender": sender, "text": text, "visitor": visitor, "status": "pending",
            "lease_until": 0.0, "attempts": 0, "received_seq": time.time_ns(),
            "received_at": _iso(time.time()),
        })
        if fresh:
            self._wake.set()
        return fresh

    async def _process_inbound(self, doc: Doc) -> None:
        """Run the assistant's turn for one inbound message and queue the reply.

        Resumable: the visitor's message is stored with the provider's id, so a claim after
        a crash (the lease ran out) finishes the same turn instead of starting a second one,
        and the reply's outbox row is unique per inbound message.
        """
        channel = Channel.WHATSAPP if doc["channel"] == "whatsapp" else Channel.INSTAGRAM
        mid = str(doc.get("provider_message_id") or doc["_id"].split(":", 1)[-1])
        context = {"channel": doc["channel"], "provider_message_id": mid,
                   "sender": doc["sender"], "attempts": int(doc.get("attempts") or 1)}
        if int(doc.get("attempts") or 1) > self._config.inbound_max_attempts:
            await self._store.finish_inbound(doc["_id"], {"status": "failed",
                                                          "error": "too many attempts"})
            await self.report_error("channel.processing_failed",
                                    f"gave up on inbound {doc['channel']} message {mid}",
                                    context)
            return
        try:
            conversation = await self._conversations.open_session(None, doc["sender"], channel)
            turn = await self._conversations.send_message(
                None, conversation.id, doc["text"], sender=doc["sender"],
                visitor=doc["visitor"], external_id=mid,
            )
        except DomainError as exc:
            if isinstance(exc, ServiceUnavailable):  # e.g. the conversation lock: transient
                await self._retry_inbound(doc, exc)
                return
            await self._store.finish_inbound(doc["_id"], {"status": "rejected",
                                                          "error": str(exc)})
            await self.report_error("channel.message_rejected", str(exc), context)
            return
        except Exception as exc:
            log.exception("inbound %s message %s failed", doc["channel"], mid)
            await self._retry_inbound(doc, exc)
            return
        if (not turn.replayed and self._config.assistant_engine != "local"
                and turn.engine != self._config.assistant_engine):
            await self.report_error(
                "assistant.fallback",
                f"the {self._config.assistant_engine} assistant failed; the {turn.engine} "
                "engine answered instead",
                {**context, "conversation_id": conversation.id, "engine": turn.engine})
        reply = turn.reply.content
        payload: Doc
        if doc["channel"] == "whatsapp":
            payload = {"messaging_product": "whatsapp", "to": doc["sender"], "type": "text",
                       "text": {"body": reply}}
        else:
            payload = {"recipient": {"id": doc["sender"]}, "message": {"text": reply}}
        delivery = self._delivery(doc["channel"], "channel.reply", payload,
                                  f"reply:{doc['_id']}")
        delivery["ref"] = {"message_id": turn.reply.id, "conversation_id": conversation.id,
                           "recipient": doc["sender"]}
        await self._store.enqueue(delivery)
        await self._store.finish_inbound(doc["_id"], {
            "status": "done", "conversation_id": conversation.id,
            "lead_id": turn.conversation.lead_id, "reply_message_id": turn.reply.id,
        })

    async def _retry_inbound(self, doc: Doc, exc: Exception) -> None:
        """Left pending: the next claim (after the backoff) resumes the turn."""
        backoff = min(self._config.retry_max_seconds, self._config.retry_base_seconds
                      * 2 ** (int(doc.get("attempts") or 1) - 1))
        await self._store.finish_inbound(doc["_id"], {
            "lease_until": time.time() + backoff,
            "error": f"{type(exc).__name__}: {exc}"[:300]})

    # -- error.occurred -------------------------------------------------------------------

    async def report_error(self, code: str, message: str, context: Doc) -> None:
        """Tell integrators about a failure they may act on: one ``error.occurred`` delivery
        per subscribed, active webhook (a disabled endpoint is not told its own news)."""
        log.warning("error.occurred %s: %s", code, message)
        error_id = f"err_{uuid.uuid4().hex}"
        payload = {"event": ERROR_OCCURRED, "timestamp": _iso(time.time()),
                   "data": {"error": {"id": error_id, "code": code, "message": message,
                                      "context": context}}}
        queued = False
        for hook in await self._store.list_webhooks():
            if hook["status"] == "active" and (
                ERROR_OCCURRED in hook["events"] or "*" in hook["events"]
            ):
                queued |= await self._store.enqueue(self._delivery(
                    "webhook", ERROR_OCCURRED, payload, f"{hook['_id']}:{error_id}",
                    webhook_id=hook["_id"]))
        if queued:
            self._wake.set()

    # -- dispatch -------------------------------------------------------------------------

    async def _dispatch(self, channel: str, subscription: Any) -> None:
        while not self._stopping:
            try:
                async for event in subscription:
                    try:
                        await self.observe(event)
                    except Exception:
                        log.exception("webhook dispatch failed for %s", event.type)
            except asyncio.CancelledError:
                await subscription.aclose()
                raise
            except Exception:
                log.exception("webhook subscription on %r ended; resubscribing", channel)
                await asyncio.sleep(0.5)
            subscription = self._broker.subscribe(channel)

    async def observe(self, event: DomainEvent) -> None:
        """Write the outbox rows one event calls for (idempotent per event id)."""
        name = SOURCES.get((event.channel, event.type))
        if name is None:
            return
        payload = {"event": name, "timestamp": event.at.isoformat().replace("+00:00", "Z"),
                   "data": event.data}
        queued = False
        for hook in await self._store.list_webhooks():
            if hook["status"] != "active":
                continue
            if name not in hook["events"] and "*" not in hook["events"]:
                continue
            queued |= await self._store.enqueue(self._delivery(
                "webhook", name, payload, f"{hook['_id']}:{event.id}", webhook_id=hook["_id"]))
        queued |= await self._maybe_alert(name, event)
        if queued:
            self._wake.set()

    async def _maybe_alert(self, name: str, event: DomainEvent) -> bool:
        if self._mailer is None or not self._config.notification_emails:
            return False
        lead = event.data.get("lead")
        if name not in ("lead.created", "lead.updated") or not isinstance(lead, dict):
            return False
        if str(lead.get("intent", "")).upper() != "HOT":
            return False
        if name == "lead.updated" and "intent" not in (event.data.get("changed") or []):
            return False
        subject = f"HOT lead: {lead.get('name') or lead.get('email') or lead.get('id')}"
        lines = [f"{key}: {lead.get(key)}" for key in
                 ("id", "name", "email", "phone", "company", "project_type", "budget_range",
                  "timeline", "score") if lead.get(key) is not None]
        payload = {"subject": subject, "text": "A lead turned HOT.\n\n" + "\n".join(lines)}
        return await self._store.enqueue(self._delivery(
            "email", "lead.hot", payload, f"email:{lead.get('id')}:{event.id}"))

    def _delivery(
        self, kind: str, event: str, payload: Doc, dedupe_key: str,
        *, webhook_id: str | None = None,
    ) -> Doc:
        now = time.time()
        return {
            "_id": f"dl_{uuid.uuid4().hex}", "kind": kind, "webhook_id": webhook_id,
            "event": event, "dedupe_key": dedupe_key, "body": compact_json(payload),
            "status": "pending", "attempts": [], "failures": 0, "next_attempt_at": now,
            "created_at": _iso(now), "seq": time.time_ns(),
        }

    # -- worker ---------------------------------------------------------------------------

    async def _work(self) -> None:
        while not self._stopping:
            try:
                busy = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("integration worker iteration failed")
                busy = False
            if not busy:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._config.poll_seconds)

    async def run_once(self, batch: int = 8) -> bool:
        now = time.time()
        lease = now + self._config.request_timeout_seconds + 5
        inbound = await self._store.claim_inbound(now, now + self._config.inbound_lease_seconds)
        if inbound is not None:
            await self._process_inbound(inbound)
        claimed: list[Doc] = []
        for _ in range(batch):
            delivery = await self._store.claim_due(time.time(), lease)
            if delivery is None:
                break
            claimed.append(delivery)
        await asyncio.gather(*(self._attempt(d) for d in claimed))
        return inbound is not None or bool(claimed)

    def _webhook_headers(self, hook: Doc, delivery: Doc, body: bytes) -> dict[str, str]:
        timestamp = str(int(time.time()))
        keys = [hook["secret"]]
        if hook.get("previous_secret") and float(hook.get("previous_secret_until") or 0) > (
            time.time()
        ):
            keys.append(hook["previous_secret"])
        signed = timestamp.encode() + b"." + body
        return {
            "Content-Type": "application/json", "User-Agent": "LeadGraph-Webhooks/1",
            "X-LeadGraph-Event": delivery["event"], "X-LeadGraph-Delivery": delivery["_id"],
            "X-LeadGraph-Timestamp": timestamp,
            "X-LeadGraph-Signature": ",".join(sign(key, signed) for key in keys),
            "X-Signature": ",".join(sign(key, body) for key in keys),
        }

    async def _attempt(self, delivery: Doc) -> None:
        body = delivery["body"].encode()
        kind = delivery["kind"]
        hook: Doc | None = None
        config = self._config
        if kind == "email":
            await self._attempt_email(delivery)
            return
        if kind == "webhook":
            hook = await self._store.get_webhook(delivery["webhook_id"] or "")
            if hook is None or (hook["status"] != "active" and delivery["event"] != PING):
                reason = "webhook deleted" if hook is None else "webhook disabled"
                await self._store.record_attempt(delivery["_id"], {
                    "at": _iso(time.time()), "status_code": None, "latency_ms": 0.0,
                    "error": reason}, {"status": "cancelled"})
                self._observer.webhook_delivery(kind, "cancelled")
                return
            url, headers = hook["url"], self._webhook_headers(hook, delivery, body)
        elif kind == "whatsapp":
            url = f"{config.graph_api_base_url}/{config.whatsapp_phone_number_id}/messages"
            headers = {"Content-Type": "application/json",
                       "Authorization": f"Bearer {config.whatsapp_access_token or ''}"}
        else:
            url = f"{config.graph_api_base_url}/me/messages"
            headers = {"Content-Type": "application/json",
                       "Authorization": f"Bearer {config.instagram_access_token or ''}"}
        result = await self._sender.post(url, body, headers)
        code = result.status_code
        attempt = {"at": _iso(time.time()), "status_code": code,
                   "latency_ms": result.latency_ms, "error": result.error}
        ok = code is not None and 200 <= code < 300
        retryable = code is None or code >= 500 or code in (408, 429)
        outcome = await self._settle(delivery, attempt, ok=ok, retryable=retryable,
                                     gone=code == 410)
        if kind in CHANNEL_KINDS:
            await self._after_channel_send(delivery, result.body, outcome, attempt)
        if hook is not None and delivery["event"] != PING:
            after = await self._store.webhook_outcome(hook["_id"], success=ok)
            why: str | None = None
            if code == 410:
                why = "410 Gone"
            elif after is not None and after.get("consecutive_failures", 0) >= (
                config.disable_after_failures
            ):
                why = f"{after['consecutive_failures']} consecutive failures"
            if why is not None and await self._store.disable_active_webhook(hook["_id"], why):
                await self.report_error(
                    "webhook.disabled", f"webhook {hook['_id']} was disabled: {why}",
                    {"webhook_id": hook["_id"], "url": hook["url"], "reason": why,
                     "delivery_id": delivery["_id"], "status_code": code})

    async def _after_channel_send(
        self, delivery: Doc, response_body: str, outcome: str, attempt: Doc
    ) -> None:
        """Tie the Graph API's message id to our reply (statuses refer to it), or report a
        reply that finally failed."""
        ref = _dict(delivery.get("ref"))
        channel = delivery["kind"]
        if outcome == "delivered":
            provider_id = _provider_message_id(response_body)
            if provider_id is None:
                log.warning("%s accepted a reply but returned no message id", channel)
                return
            now = time.time()
            await self._store.link_channel_message(f"{channel}:{provider_id}", {
                "channel": channel, "provider_message_id": provider_id,
                "message_id": ref.get("message_id"), "conversation_id": ref.get(
                    "conversation_id"), "recipient": ref.get("recipient"),
                "sent_at": _iso(now), "sent_at_ms": now * 1000, "delivery_id": delivery["_id"],
            })
        elif outcome == "failed":
            await self.report_error(
                "channel.reply_failed",
                f"the {channel} reply could not be sent after "
                f"{int(delivery.get('failures', 0)) + 1} attempt(s)",
                {"channel": channel, "delivery_id": delivery["_id"], **ref,
                 "status_code": attempt["status_code"], "error": attempt["error"]})

    async def _attempt_email(self, delivery: Doc) -> None:
        payload = json.loads(delivery["body"])
        started = time.perf_counter()
        error: str | None = None
        try:
            assert self._mailer is not None
            await self._mailer.send(list(self._config.notification_emails),
                                    payload["subject"], payload["text"])
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        attempt = {"at": _iso(time.time()), "status_code": None, "error": error,
                   "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
        outcome = await self._settle(delivery, attempt, ok=error is None, retryable=True,
                                     gone=False)
        if outcome == "failed":
            await self.report_error(
                "email.alert_failed", f"an alert email could not be sent: {error}",
                {"delivery_id": delivery["_id"], "subject": payload.get("subject"),
                 "attempts": int(delivery.get("failures", 0)) + 1})

    async def _settle(
        self, delivery: Doc, attempt: Doc, *, ok: bool, retryable: bool, gone: bool
    ) -> str:
        """Record one attempt; returns the row's status afterwards (pending when retried)."""
        failures = int(delivery.get("failures", 0)) + (0 if ok else 1)
        changes: Doc = {"failures": failures, "last_status_code": attempt["status_code"]}
        if ok:
            changes["status"] = "delivered"
        elif gone or not retryable or failures >= self._config.max_attempts:
            changes["status"] = "failed"
        else:
            delay = min(self._config.retry_max_seconds,
                        self._config.retry_base_seconds * 2 ** (failures - 1))
            changes["next_attempt_at"] = time.time() + delay * (0.5 + random.random() / 2)  # noqa: S311 (jitter)
        await self._store.record_attempt(delivery["_id"], attempt, changes)
        self._observer.webhook_delivery(
            str(delivery.get("kind", "webhook")), str(changes.get("status", "retry")))
        return str(changes.get("status", "pending"))


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _provider_message_id(body: str) -> str | None:
    """WhatsApp answers ``{"messages": [{"id": "wamid…"}]}``, Instagram ``{"message_id"}``."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    parsed = _dict(parsed)
    found = parsed.get("message_id")
    if not isinstance(found, str):
        messages = _list(parsed.get("messages"))
        found = _dict(messages[0]).get("id") if messages else None
    return found if isinstance(found, str) and found else None


def _provider_time(value: object, seconds_per_unit: float) -> str | None:
    """A provider timestamp (WhatsApp: epoch seconds as a string; Instagram: epoch ms)."""
    try:
        epoch = float(value) * seconds_per_unit  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return _iso(epoch)


def _errors(value: object) -> list[str]:
    """WhatsApp's ``errors: [{code, title, message, error_data: {details}}]`` as text."""
    texts = []
    for error in _list(value):
        error = _dict(error)
        detail = _dict(error.get("error_data")).get("details") or error.get("message")
        parts = [str(part) for part in (error.get("code"), error.get("title"), detail) if part]
        if parts:
            texts.append(" ".join(parts)[:300])
    return texts
