"""The ASGI application: GraphQL at exactly ``/graphql`` plus every REST dialect.

``create_app`` builds routes only; databases, brokers and servers are opened in the lifespan
(see ``leadgraph.runtime``) so that importing this module has no side effects.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from cross_web import HTTPException
from pymongo.monitoring import CommandListener
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute

from leadgraph.limits import BodySizeLimit
from leadgraph.metrics import PrometheusMetrics, ServiceMetrics
from leadgraph.rest_compat import routes as rest_routes
from leadgraph.rest_compat.fallbacks import Fallbacks
from leadgraph.rest_compat.openapi import build_document, docs_routes
from leadgraph.runtime import open_runtime
from leadgraph.schema import SchemaOptions, build_schema
from leadgraph.schema.refusals import GraphQLRoute, refusal_response
from leadgraph.schema.view import LeadGraphView
from leadgraph.settings import Settings

log = logging.getLogger(__name__)


def schema_options(settings: Settings) -> SchemaOptions:
    return SchemaOptions(
        introspection=settings.graphql_introspection,
        max_depth=settings.graphql_max_depth,
        max_aliases=settings.graphql_max_aliases,
        max_tokens=settings.graphql_max_tokens,
        cache_size=settings.graphql_cache_size,
        max_directives=settings.graphql_max_directives,
        max_fields=settings.graphql_max_fields,
        max_batch_operations=settings.graphql_max_batch_operations,
        max_cost=settings.graphql_max_cost,
        default_list_size=settings.graphql_default_list_size,
    )


def graphql_refusal(status: int, message: str) -> Response:
    """A 404/405/413 under ``/graphql`` as the GraphQL transport's own refusal."""
    return refusal_response(HTTPException(status, message))


def create_app(
    settings: Settings | None = None, *, command_listeners: Sequence[CommandListener] = ()
) -> Starlette:
    """The service. ``command_listeners`` (PyMongo monitoring) let tests count queries."""
    settings = settings or Settings()
    metrics = ServiceMetrics()  # this app's registry; also the observer handed to the runtime
    schema = build_schema(schema_options(settings), observer=metrics)
    graphql = LeadGraphView(
        schema, init_timeout_seconds=settings.graphql_ws_init_timeout_seconds,
        max_subscriptions=settings.graphql_ws_max_subscriptions,
        safelist=settings.graphql_safelist,
    )
    sdl = schema.as_str() + "\n"

    async def schema_sdl(request: Request) -> Response:
        return PlainTextResponse(sdl, media_type="application/graphql")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_runtime(settings, command_listeners, observer=metrics) as runtime:
            app.state.runtime = runtime
            app.state.use_cases = runtime.use_cases
            yield

    routes = [
        # Route, not Mount: "/graphql" must answer as is, with no redirect to "/graphql/".
        GraphQLRoute("/graphql", graphql, methods=["GET", "POST"]),  # others: a GraphQL 405
        WebSocketRoute("/graphql", graphql),
        Route("/graphql/schema.graphql", schema_sdl, methods=["GET"]),
        *rest_routes(),
    ]
    # OpenAPI 3.1 of every route above, built once; /api/docs.json, /api/docs and /docs.
    routes += docs_routes(build_document(routes))
    # Unknown paths, wrong methods and unmapped 413s: the path owner's envelope, not
    # Starlette's text (leadgraph.rest_compat.fallbacks); /graphql/... as GraphQL errors.
    fallbacks = Fallbacks(routes, foreign={"/graphql": graphql_refusal})
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers=fallbacks.exception_handlers())
    # 413 in the caller's format; see leadgraph.limits (WebSocket frames: uvicorn's ws_max_size).
    app.add_middleware(BodySizeLimit, max_body_bytes=settings.max_body_bytes,
                       max_upload_bytes=settings.max_upload_bytes, refuse=fallbacks.too_large)
    app.add_middleware(PrometheusMetrics, metrics=metrics)
    return app
