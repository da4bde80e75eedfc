"""Prometheus metrics as a pure ASGI middleware, served at ``GET /api/health/metrics``.

One ``CollectorRegistry`` per app (made in ``__init__``, so in ``create_app``): no import-time
global registry. Counts and times every HTTP request by route template, method, status and
transport (``graphql``, ``rest``), and gauges the open WebSocket connections (GraphQL
subscriptions and seed 003's chat socket) by transport.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METRICS_PATH = "/api/health/metrics"


def transport_of(path: str) -> str:
    return "graphql" if path.startswith("/graphql") else "rest"


class PrometheusMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "leadgraph_http_requests", "HTTP requests answered.",
            ["route", "method", "status", "transport"], registry=self.registry,
        )
        self.latency = Histogram(
            "leadgraph_http_request_seconds", "Time to answer an HTTP request.",
            ["route", "method", "transport"], registry=self.registry,
        )
        self.sockets = Gauge(
            "leadgraph_active_websockets",
            "Open WebSocket connections (GraphQL subscriptions, chat sockets).",
            ["transport"], registry=self.registry,
        )

    def _route(self, scope: Scope) -> str:
        routes: list[BaseRoute] = getattr(scope.get("app"), "routes", [])
        for route in routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return str(getattr(route, "path", scope["path"]))
        return "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            gauge = self.sockets.labels(transport_of(scope["path"]))
            gauge.inc()
            try:
                await self.app(scope, receive, send)
            finally:
                gauge.dec()
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == METRICS_PATH and scope["method"] == "GET":
            body = generate_latest(self.registry)
            await send({"type": "http.response.start", "status": 200, "headers": [
                (b"content-type", CONTENT_TYPE_LATEST.encode()),
                (b"content-length", str(len(body)).encode()),
            ]})
            await send({"type": "http.response.body", "body": body})
            return
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = self._route(scope)
            transport = transport_of(scope["path"])
            self.requests.labels(route, scope["method"], str(status["code"]), transport).inc()
            self.latency.labels(route, scope["method"], transport).observe(
                time.perf_counter() - started)
