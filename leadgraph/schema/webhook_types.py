"""GraphQL types and root fields for outbound webhooks and their delivery ledger.

``WebhookQuery`` and ``WebhookMutation`` are mixed into the schema's roots. Event names of
every legacy document are accepted (``new_lead`` -> ``lead.created`` …) and stored in the one
catalogue of ``leadgraph.resolvers.integrations``.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry import Info

from leadgraph.domain.errors import ServiceUnavailable
from leadgraph.resolvers.integrations import IntegrationUseCases
from leadgraph.schema.context import GraphQLContext
from leadgraph.schema.permissions import IsAuthenticated

Ctx = Info[GraphQLContext, Any]


def _integrations(info: Ctx) -> IntegrationUseCases:
    integrations = info.context.use_cases.integrations
    if integrations is None:
        raise ServiceUnavailable("integrations are not running")
    return integrations


@strawberry.type
class Webhook:
    id: strawberry.ID
    url: str
    events: list[str]
    status: str
    consecutive_failures: int
    disabled_reason: str | None
    created_at: str
    secret_rotating: bool

    @classmethod
    def from_view(cls, view: dict[str, Any]) -> Webhook:
        return cls(
            id=strawberry.ID(view["id"]), url=view["url"], events=list(view["events"]),
            status=view["status"], consecutive_failures=int(view["consecutive_failures"]),
            disabled_reason=view["disabled_reason"], created_at=view["created_at"],
            secret_rotating=bool(view["secret_rotating"]),
        )


@strawberry.type
class RegisteredWebhook:
    webhook: Webhook
    secret: str = strawberry.field(description="Shown once; generated when none was given.")


@strawberry.type
class WebhookAttempt:
    at: str
    status_code: int | None
    latency_ms: float
    error: str | None


@strawberry.type
class WebhookDelivery:
    id: strawberry.ID
    webhook_id: strawberry.ID | None
    event: str
    status: str = strawberry.field(description="pending, delivered, failed or cancelled.")
    created_at: str
    attempts: list[WebhookAttempt]
    next_retry_at: str | None

    @classmethod
    def from_view(cls, view: dict[str, Any]) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(view["id"]),
            webhook_id=strawberry.ID(view["webhook_id"]) if view["webhook_id"] else None,
            event=view["event"], status=view["status"], created_at=view["created_at"],
            attempts=[WebhookAttempt(at=a["at"], status_code=a.get("status_code"),
                                     latency_ms=float(a.get("latency_ms") or 0.0),
                                     error=a.get("error")) for a in view["attempts"]],
            next_retry_at=view["next_retry_at"],
        )


@strawberry.type
class ChannelStatusEvent:
    status: str = strawberry.field(description="sent, delivered, read or failed.")
    at: str | None = strawberry.field(description="When the provider says it happened.")
    errors: list[str]


@strawberry.type(description="What WhatsApp/Instagram reported about one outbound message.")
class ChannelDelivery:
    channel: str
    provider_message_id: str
    message_id: strawberry.ID | None
    conversation_id: strawberry.ID | None
    recipient: str | None
    sent_at: str | None
    status: str = strawberry.field(
        description="accepted (the Graph API took it), sent, delivered, read or failed; "
        "it only moves forward, whatever order the provider's statuses arrive in.")
    events: list[ChannelStatusEvent]

    @classmethod
    def from_view(cls, view: dict[str, Any]) -> ChannelDelivery:
        return cls(
            channel=str(view["channel"]), provider_message_id=str(view["provider_message_id"]),
            message_id=strawberry.ID(view["message_id"]) if view["message_id"] else None,
            conversation_id=strawberry.ID(view["conversation_id"])
            if view["conversation_id"] else None,
            recipient=view["recipient"], sent_at=view["sent_at"], status=view["status"],
            events=[ChannelStatusEvent(status=e["status"], at=e["at"], errors=list(e["errors"]))
                    for e in view["events"]],
        )


@strawberry.type
class WebhookQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def webhooks(self, info: Ctx) -> list[Webhook]:
        views = await _integrations(info).list_webhooks(info.context.actor())
        return [Webhook.from_view(view) for view in views]

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="The delivery ledger of one webhook, oldest first.")
    async def webhook_deliveries(
        self, info: Ctx, webhook_id: strawberry.ID, limit: int = 100
    ) -> list[WebhookDelivery]:
        views = await _integrations(info).deliveries(
            info.context.actor(), str(webhook_id), max(1, min(limit, 500)))
        return [WebhookDelivery.from_view(view) for view in views]

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="Delivery status of an outbound WhatsApp/Instagram message by "
                      "the provider's message id (a status may arrive before we know the id).")
    async def channel_message_status(
        self, info: Ctx, channel: str, provider_message_id: str
    ) -> ChannelDelivery | None:
        view = await _integrations(info).channel_message_status(
            info.context.actor(), channel, provider_message_id)
        return ChannelDelivery.from_view(view) if view is not None else None


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def register_webhook(
        self, info: Ctx, url: str, events: list[str], secret: str | None = None
    ) -> RegisteredWebhook:
        view = await _integrations(info).register(info.context.actor(), url, events, secret)
        return RegisteredWebhook(webhook=Webhook.from_view(view), secret=view["secret"])

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="A new secret keeps the old one valid (both signatures are sent) for the "
        "configured overlap window.",
    )
    async def update_webhook(
        self, info: Ctx, id: strawberry.ID, url: str | None = None,
        events: list[str] | None = None, secret: str | None = None,
        active: bool | None = None,
    ) -> Webhook:
        view = await _integrations(info).update(
            info.context.actor(), str(id), url=url, events=events, secret=secret, active=active)
        return Webhook.from_view(view)

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def delete_webhook(self, info: Ctx, id: strawberry.ID) -> Webhook:
        return Webhook.from_view(await _integrations(info).delete(info.context.actor(), str(id)))

    @strawberry.mutation(permission_classes=[IsAuthenticated],
                         description="Queue a signed `webhook.ping` delivery.")
    async def test_webhook(self, info: Ctx, id: strawberry.ID) -> WebhookDelivery:
        view = await _integrations(info).test(info.context.actor(), str(id))
        return WebhookDelivery.from_view(view)

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def redeliver_webhook(self, info: Ctx, delivery_id: strawberry.ID) -> WebhookDelivery:
        view = await _integrations(info).redeliver(info.context.actor(), str(delivery_id))
        return WebhookDelivery.from_view(view)
