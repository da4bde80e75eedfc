"""Per-request GraphQL context: who is calling, the use cases, and fresh DataLoaders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.dataloader import DataLoader

from leadgraph.domain.calls import Call
from leadgraph.domain.conversations import Conversation, Message
from leadgraph.domain.errors import ServiceUnavailable, Unauthenticated
from leadgraph.domain.leads import Lead
from leadgraph.domain.users import Principal, User
from leadgraph.resolvers.registry import UseCases


class Loaders:
    """Saleor-style registry: one ``<entity>_by_<key>`` loader per relation, per request.

    On a WebSocket the context lives as long as the connection, so caching is off there:
    batching still collapses N lookups into one query, but nothing goes stale.
    """

    def __init__(self, use_cases: UseCases, *, cache: bool = True) -> None:
        self.lead_by_id: DataLoader[str, Lead | None] = DataLoader(
            load_fn=use_cases.leads.load_many, cache=cache
        )
        self.user_by_id: DataLoader[str, User | None] = DataLoader(
            load_fn=use_cases.users.load_many, cache=cache
        )
        self.conversation_by_id: DataLoader[str, Conversation | None] = DataLoader(
            load_fn=use_cases.conversations.load_many, cache=cache
        )
        self.conversations_by_lead_id: DataLoader[str, list[Conversation]] = DataLoader(
            load_fn=use_cases.conversations.load_for_leads, cache=cache
        )
        self.last_message_by_lead_id: DataLoader[str, Message | None] = DataLoader(
            load_fn=use_cases.conversations.last_messages_for_leads, cache=cache
        )
        self.call_by_id: DataLoader[str, Call | None] = DataLoader(
            load_fn=use_cases.calls.load_many, cache=cache
        )
        self.calls_by_lead_id: DataLoader[str, list[Call]] = DataLoader(
            load_fn=use_cases.calls.load_for_leads, cache=cache
        )
        # A message's WhatsApp/Instagram delivery status (None: not sent to a channel).
        self.delivery_by_message_id: DataLoader[str, dict[str, Any] | None] = DataLoader(
            load_fn=_delivery_loader(use_cases), cache=cache
        )
        # A chatbot's figures, keyed by the loaded bot document (cached by its id): a page of
        # ``chatbots { analytics }`` costs the same few aggregations as one bot.
        self.chatbot_analytics_by_id: DataLoader[dict[str, Any], dict[str, Any]] = DataLoader(
            load_fn=_chatbot_analytics_loader(use_cases), cache=cache,
            cache_key_fn=lambda bot: str(bot["id"]),
        )


def _delivery_loader(
    use_cases: UseCases,
) -> Callable[[list[str]], Awaitable[list[dict[str, Any] | None]]]:
    async def load(message_ids: list[str]) -> list[dict[str, Any] | None]:
        if use_cases.integrations is None:
            return [None] * len(message_ids)
        return await use_cases.integrations.delivery_statuses(message_ids)

    return load


def _chatbot_analytics_loader(
    use_cases: UseCases,
) -> Callable[[list[dict[str, Any]]], Awaitable[list[dict[str, Any]]]]:
    async def load(bots: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if use_cases.chatbots is None:  # unreachable: Chatbot objects need the use cases
            raise ServiceUnavailable("Chatbots are not available")
        return await use_cases.chatbots.analytics_for(bots)

    return load


@dataclass
class GraphQLContext:
    request: Request | WebSocket
    response: Response | WebSocket | None
    use_cases: UseCases
    loaders: Loaders
    principal: Principal | None = None
    auth_error: str | None = None
    # Set when credentials could not be checked because a dependency is down (MongoDB).
    unavailable: str | None = None
    connection_params: dict[str, Any] | None = None
    notices: list[dict[str, Any]] = field(default_factory=list)

    def actor(self) -> Principal:
        """The principal, for resolvers behind ``IsAuthenticated``."""
        if self.principal is None:
            raise Unauthenticated(self.auth_error or "Authentication required")
        return self.principal

    def mark_unavailable(self) -> None:
        """HTTP 503 when a dependency is down, so load balancers and clients retry."""
        if isinstance(self.response, Response):
            self.response.status_code = 503

    def mark_unauthorized(self) -> None:
        """Give an unauthenticated HTTP request the 401 status every transport uses."""
        if isinstance(self.response, Response):
            self.response.status_code = 401
