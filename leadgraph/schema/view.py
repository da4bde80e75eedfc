"""GraphQL over HTTP and graphql-transport-ws at exactly ``/graphql``.

Authentication uses the same headers as REST; a WebSocket authenticates in
``connection_init`` (``{"Authorization": "Bearer …"}`` or ``{"apiKey": "…"}``) and is closed
with 4403 without valid credentials.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import strawberry
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult, SubscriptionExecutionResult
from strawberry.types.unset import UnsetType

from leadgraph.domain.errors import DomainError, PayloadTooLarge, unavailable_for
from leadgraph.resolvers.auth import Credentials
from leadgraph.resolvers.registry import UseCases
from leadgraph.schema.context import GraphQLContext, Loaders
from leadgraph.schema.frames import NextFrames, SharedFrameTransportWSHandler
from leadgraph.schema.persisted import resolve_persisted, run_keyed
from leadgraph.schema.refusals import Refusal, refusal_response, refused_result
from leadgraph.schema.ws_persisted import PersistedQueryWSHandler


def _use_cases(request: Request | WebSocket) -> UseCases:
    use_cases: UseCases = request.app.state.use_cases
    return use_cases


class TransportWSHandler(PersistedQueryWSHandler, SharedFrameTransportWSHandler):
    """graphql-transport-ws with automatic persisted queries on ``subscribe``
    (leadgraph.schema.ws_persisted) and shared ``next`` frames (leadgraph.schema.frames)."""


class LeadGraphView(GraphQL[GraphQLContext, None]):
    # ``next`` frames of a shared subscription result encoded once (leadgraph.schema.frames);
    # APQ over WebSocket (leadgraph.schema.ws_persisted).
    graphql_transport_ws_handler_class = TransportWSHandler

    def __init__(
        self, schema: strawberry.Schema, *, init_timeout_seconds: float = 10.0,
        max_subscriptions: int = 50, safelist: bool = False,
    ) -> None:
        super().__init__(
            schema,
            # Safelist mode runs registered operations only, so an IDE would be useless.
            graphql_ide=None if safelist else "graphiql",
            allow_queries_via_get=True,  # queries only: strawberry refuses mutations over GET
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            # No connection_init in time: close 4408. More operations: an error message.
            connection_init_wait_timeout=timedelta(seconds=init_timeout_seconds),
            max_subscriptions_per_connection=max_subscriptions,
            multipart_uploads_enabled=True,  # importLeads; see parse_multipart for CSRF
        )
        self.next_frames = NextFrames(self.encode_json)

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
                except Exception as exc:
                    if (outage := unavailable_for(exc)) is None:
                        raise
                    context.unavailable = outage.message
                    context.mark_unavailable()
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
        except Exception as exc:
            if unavailable_for(exc) is None:
                raise
            # Credentials could not be checked (MongoDB down): say so, the client retries.
            raise ConnectionRejectionError({"code": "SERVICE_UNAVAILABLE"}) from None
        return {"principal": context.principal.display_name}

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        """Not for an APQ GET: it carries ``extensions`` and no ``query``."""
        return "extensions" not in request.query_params and super().should_render_graphql_ide(
            request)

    async def execute_operation(
        self, request: Request, request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData], context: GraphQLContext,
        root_value: None, sub_response: Response,
    ) -> ExecutionResult | list[ExecutionResult] | SubscriptionExecutionResult:
        """As Strawberry's, but in a batch an operation it refuses (a subscription, a mutation
        over GET, no query, an unknown ``operationName``) is answered in its own slot.

        Strawberry runs a batch's operations concurrently and lets the first refusal escape:
        the batch was answered 400 while a mutation beside the refused operation still ran
        (and went on running after the answer). Now every operation is awaited and answered.
        """
        if not isinstance(request_data, list):
            return await super().execute_operation(
                request, request_adapter, request_data, context, root_value, sub_response)

        async def one(data: GraphQLRequestData) -> ExecutionResult:
            try:
                return await self.execute_single(
                    request, request_adapter, sub_response, context, root_value, data)
            except HTTPException as exc:
                return refused_result(exc)

        return list(await asyncio.gather(*(one(data) for data in request_data)))

    async def execute_single(
        self, request: Request, request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response, context: GraphQLContext, root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Apollo's automatic persisted queries, per operation (a batch too), over GET/POST."""
        failed = await resolve_persisted(context.use_cases, request_data, sub_response)
        if failed is not None:
            return failed
        return await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data)

    def decode_json(self, data: str | bytes) -> object:
        """As Strawberry's, but a JSON nesting bomb (``[[[[…``) is malformed JSON (HTTP 400,
        WebSocket close 4400) rather than a ``RecursionError`` and a 500."""
        try:
            return json.loads(data)
        except RecursionError:
            raise json.JSONDecodeError("JSON nested too deeply", "", 0) from None

    async def parse_multipart(self, request: AsyncHTTPRequestAdapter) -> dict[str, str]:
        """CSRF protection for uploads (as Apollo Server does it).

        A browser may send a cross-site multipart/form-data POST without a preflight, so an
        upload must carry a header no simple request can: ``Apollo-Require-Preflight`` or
        ``X-Apollo-Operation-Name`` (``GraphQL-Preflight`` is accepted too).
        """
        headers = request.headers
        if not any(headers.get(name) for name in _PREFLIGHT_HEADERS):
            raise Refusal(
                400, "Multipart requests need a non-empty 'Apollo-Require-Preflight' or "
                "'X-Apollo-Operation-Name' header (CSRF protection)", "CSRF_PREFLIGHT_REQUIRED",
            )
        return await super().parse_multipart(request)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """As Strawberry's, but closing the request afterwards: uploaded files are spooled
        to temporary files that Strawberry itself never closes."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            response = await run_keyed(request, lambda: self.run(request))  # Idempotency-Key
        except HTTPException as exc:  # Strawberry's refusals are text/plain; ours are GraphQL
            response = refusal_response(exc)
        except PayloadTooLarge as exc:  # raised while the body streams in (leadgraph.limits)
            response = JSONResponse({"errors": [{
                "message": exc.message, "extensions": {"code": exc.code},
            }]}, status_code=413)
        finally:
            await request.close()
        await response(scope, receive, send)


_PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name", "graphql-preflight")
