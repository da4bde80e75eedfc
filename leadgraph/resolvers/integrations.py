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
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from leadgraph.domain.conversations import Channel
from leadgraph.domain.errors import DomainError, NotFound, ValidationFailed
from leadgraph.domain.events import DomainEvent
from leadgraph.domain.ports import EventBroker
from leadgraph.domain.users import Principal
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
    async def set_webhook_status(
        self, webhook_id: str, status: str, reason: str | None) -> None: ...
    async def enqueue(self, doc: Doc) -> bool: ...
    async def claim_due(self, now: float, lease_until: float) -> Doc | None: ...
    async def record_attempt(self, delivery_id: str, attempt: Doc, changes: Doc) -> None: ...
    async def get_delivery(self, delivery_id: str) -> Doc | None: ...
    async def deliveries_for(self, webhook_id: str, limit: int) -> list[Doc]: ...
    async def reset_delivery(self, delivery_id: str, now: float) -> bool: ...
    async def accept_inbound(self, doc: Doc) -> bool: ...
    async def claim_inbound(self, now: float, lease_until: float) -> Doc | None: ...
    async def finish_inbound(self, inbound_id: str, changes: Doc) -> None: ...


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


class IntegrationUseCases:
    def __init__(
        self, store: IntegrationStore, sender: Sender, broker: EventBroker,
        conversations: ConversationUseCases, config: IntegrationConfig,
        mailer: Mailer | None = None,
    ) -> None:
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
        return [webhook_view(doc) for doc in await self._store.list_webhooks()]

    async def _webhook(self, webhook_id: str) -> Doc:
        doc = await self._store.get_webhook(webhook_id)
        if doc is None:
            raise NotFound("Webhook", webhook_id)
        return doc

    async def get(self, actor: Principal, webhook_id: str) -> Doc:
        return webhook_view(await self._webhook(webhook_id))

    async def update(
        self, actor: Principal, webhook_id: str, *, url: object = None, events: object = None,
        secret: object = None, active: bool | None = None,
    ) -> Doc:
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
        doc = await self._webhook(webhook_id)
        await self._store.delete_webhook(webhook_id)
        return webhook_view(doc)

    async def test(self, actor: Principal, webhook_id: str) -> Doc:
        """Queue a ``webhook.ping`` delivery (sent even to a disabled endpoint)."""
        doc = await self._webhook(webhook_id)
        payload = {"event": PING, "timestamp": _iso(time.time()),
                   "data": {"webhook_id": doc["_id"], "message": "ping"}}
        delivery = self._delivery("webhook", PING, payload, f"ping:{uuid.uuid4().hex}",
                                  webhook_id=doc["_id"])
        await self._store.enqueue(delivery)
        self._wake.set()
        return delivery_view(delivery)

    async def deliveries(self, actor: Principal, webhook_id: str, limit: int = 100) -> list[Doc]:
        await self._webhook(webhook_id)
        return [delivery_view(d) for d in await self._store.deliveries_for(webhook_id, limit)]

    async def redeliver(self, actor: Principal, delivery_id: str) -> Doc:
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
        """Queue each new text message of a WhatsApp Cloud API webhook; count the rest."""
        counts = {"accepted": 0, "duplicates": 0, "statuses": 0, "ignored": 0}
        for entry in _list(payload.get("entry")):
            for change in _list(_dict(entry).get("changes")):
                value = _dict(_dict(change).get("value"))
                counts["statuses"] += len(_list(value.get("statuses")))
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
        counts = {"accepted": 0, "duplicates": 0, "statuses": 0, "ignored": 0}
        for entry in _list(payload.get("entry")):
            for event in _list(_dict(entry).get("messaging")):
                event = _dict(event)
                sender = _dict(event.get("sender")).get("id")
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

    async def _queue_inbound(
        self, channel: str, mid: str, sender: str, text: str, visitor: Doc
    ) -> bool:
        fresh = await self._store.accept_inbound({
            "_id": f"{channel}:{mid}", "channel": channel, "sender": sender, "text": text,
            "visitor": visitor, "status": "pending", "lease_until": 0.0,
            "received_seq": time.time_ns(), "received_at": _iso(time.time()),
        })
        if fresh:
            self._wake.set()
        return fresh

    async def _process_inbound(self, doc: Doc) -> None:
        channel = Channel.WHATSAPP if doc["channel"] == "whatsapp" else Channel.INSTAGRAM
        try:
            conversation = await self._conversations.open_session(None, doc["sender"], channel)
            turn = await self._conversations.send_message(
                None, conversation.id, doc["text"], sender=doc["sender"],
                visitor=doc["visitor"],
            )
        except DomainError as exc:
            await self._store.finish_inbound(doc["_id"], {"status": "rejected",
                                                          "error": str(exc)})
            return
        reply = turn.reply.content
        payload: Doc
        if doc["channel"] == "whatsapp":
            payload = {"messaging_product": "whatsapp", "to": doc["sender"], "type": "text",
                       "text": {"body": reply}}
        else:
            payload = {"recipient": {"id": doc["sender"]}, "message": {"text": reply}}
        await self._store.enqueue(self._delivery(
            doc["channel"], "channel.reply", payload, f"reply:{doc['_id']}"))
        await self._store.finish_inbound(doc["_id"], {
            "status": "done", "conversation_id": conversation.id,
            "lead_id": turn.conversation.lead_id,
        })

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
        inbound = await self._store.claim_inbound(now, lease)
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
        await self._settle(delivery, attempt, ok=ok, retryable=retryable, gone=code == 410)
        if hook is not None and delivery["event"] != PING:
            after = await self._store.webhook_outcome(hook["_id"], success=ok)
            if code == 410:
                await self._store.set_webhook_status(hook["_id"], "disabled", "410 Gone")
            elif after is not None and after.get("consecutive_failures", 0) >= (
                config.disable_after_failures
            ):
                await self._store.set_webhook_status(
                    hook["_id"], "disabled",
                    f"{after['consecutive_failures']} consecutive failures")

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
        await self._settle(delivery, attempt, ok=error is None, retryable=True, gone=False)

    async def _settle(
        self, delivery: Doc, attempt: Doc, *, ok: bool, retryable: bool, gone: bool
    ) -> None:
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


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
