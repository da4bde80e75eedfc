"""The ASGI application: GraphQL at exactly ``/graphql`` plus every REST dialect.

``create_app`` builds routes only; databases, brokers and servers are opened in the lifespan
(see ``leadgraph.runtime``) so that importing this module has no side effects.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from pymongo.monitoring import CommandListener
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute

from leadgraph.metrics import PrometheusMetrics
from leadgraph.rest_compat import routes as rest_routes
from leadgraph.runtime import open_runtime
from leadgraph.schema import SchemaOptions, build_schema
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
    )


def create_app(
    settings: Settings | None = None, *, command_listeners: Sequence[CommandListener] = ()
) -> Starlette:
    """The service. ``command_listeners`` (PyMongo monitoring) let tests count queries."""
    settings = settings or Settings()
    schema = build_schema(schema_options(settings))
    graphql = LeadGraphView(schema)
    sdl = schema.as_str() + "\n"

    async def schema_sdl(request: Request) -> Response:
        return PlainTextResponse(sdl, media_type="application/graphql")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_runtime(settings, command_listeners) as runtime:
            app.state.runtime = runtime
            app.state.use_cases = runtime.use_cases
            yield

    routes = [
        # Route, not Mount: "/graphql" must answer as is, with no redirect to "/graphql/".
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/graphql/schema.graphql", schema_sdl, methods=["GET"]),
        *rest_routes(),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(PrometheusMetrics)  # its own CollectorRegistry, per app
    return app
