"""GraphQL over HTTP and graphql-transport-ws at exactly ``/graphql``.

Authentication uses the same headers as REST; a WebSocket authenticates in
``connection_init`` (``{"Authorization": "Bearer …"}`` or ``{"apiKey": "…"}``) and is closed
with 4403 without valid credentials.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from leadgraph.domain.errors import DomainError
from leadgraph.resolvers.auth import Credentials
from leadgraph.resolvers.registry import UseCases
from leadgraph.schema.context import GraphQLContext, Loaders


def _use_cases(request: Request | WebSocket) -> UseCases:
    use_cases: UseCases = request.app.state.use_cases
    return use_cases


class LeadGraphView(GraphQL[GraphQLContext, None]):
    def __init__(self, schema: strawberry.Schema) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql",
            allow_queries_via_get=True,  # queries only: strawberry refuses mutations over GET
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=10),
            max_subscriptions_per_connection=50,
        )

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> GraphQLContext:
        use_cases = _use_cases(request)
        is_websocket = isinstance(request, WebSocket)
        context = GraphQLContext(
            request=request, response=response, use_cases=use_cases,
            loaders=Loaders(use_cases, cache=not is_websocket),
        )
        if not is_websocket:
            credentials = Credentials.from_headers(request.headers)
            if credentials.present:
                try:
                    context.principal = await use_cases.auth.authenticate(credentials)
                except DomainError as exc:
                    context.auth_error = exc.message
        return context

    async def on_ws_connect(self, context: GraphQLContext) -> UnsetType | dict[str, object] | None:
        params: dict[str, Any] = context.connection_params or {}
        headers = {str(key).lower(): str(value) for key, value in params.items()
                   if isinstance(value, str)}
        if "apikey" in headers:
            headers["x-api-key"] = headers["apikey"]
        credentials = Credentials.from_headers(headers)
        if not credentials.present:
            credentials = Credentials.from_headers(context.request.headers)
        try:
            context.principal = await context.use_cases.auth.authenticate(credentials)
        except DomainError:
            raise ConnectionRejectionError() from None
        return {"principal": context.principal.display_name}
