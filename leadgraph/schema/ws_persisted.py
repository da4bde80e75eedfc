"""Automatic persisted queries over graphql-transport-ws.

Strawberry's handler reads ``payload["query"]`` as soon as a ``subscribe`` message arrives,
so a message carrying only ``payload.extensions.persistedQuery`` was a ``KeyError`` and the
socket closed with 4400 "Failed to parse message". This handler resolves the persisted query
first, with the same ``resolve_persisted`` the HTTP view uses, and hands Strawberry a complete
message:

* a known hash: the stored text runs (text plus hash: checked and remembered, as over HTTP);
* an unknown hash (or a mismatched one, or a store outage): an ``error`` message for that
  operation id with the code (``PERSISTED_QUERY_NOT_FOUND`` …); the socket stays open and the
  client may resend the id with the text;
* safelist mode: the hash is looked up among registered operations only, and any text still
  passes ``SafelistGate`` (a schema extension), as on every transport.

Only ``handle_subscribe`` is overridden; every protocol check (unacknowledged connection,
duplicate id, subscription limit, malformed message) stays Strawberry's.
"""

from __future__ import annotations

from typing import Any

from strawberry.http import GraphQLRequestData
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage

from leadgraph.schema.context import GraphQLContext
from leadgraph.schema.persisted import resolve_persisted


class PersistedQueryWSHandler(BaseGraphQLTransportWSHandler[GraphQLContext, None]):
    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        payload: Any = message.get("payload")
        if (
            self.connection_acknowledged  # else Strawberry closes 4401
            and isinstance(payload, dict)
            and isinstance(payload.get("extensions"), dict)
            and isinstance(payload.get("query"), str | None)
            and isinstance(message.get("id"), str)
            and message["id"] not in self.operations  # else Strawberry closes 4409
        ):
            request = GraphQLRequestData(
                query=payload.get("query"),
                variables=None, operation_name=None, extensions=payload["extensions"],
            )
            failed = await resolve_persisted(self.context.use_cases, request, None)
            if failed is not None:
                await self.send_message({
                    "id": message["id"], "type": "error",
                    "payload": [error.formatted for error in failed.errors or ()],
                })
                return
            if request.query is not None:
                payload["query"] = request.query
        await super().handle_subscribe(message)
