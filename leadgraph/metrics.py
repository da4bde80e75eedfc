"""Prometheus metrics as a pure ASGI middleware, served at ``GET /api/health/metrics``.

One ``ServiceMetrics`` (with its own ``CollectorRegistry``) per app, made in ``create_app``:
no import-time global registry. The middleware counts and times every HTTP request by route
template, method, status and transport (``graphql``, ``rest``), and gauges the open WebSocket
connections by transport. ``ServiceMetrics`` is also the ``ServiceObserver`` port
(``domain/ports.py``) the composition root hands to the parts that report events: assistant
fallbacks (OpenAI -> local engine), settled webhook/channel/email deliveries by outcome, and
active GraphQL subscriptions by root field.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METRICS_PATH = "/api/health/metrics"


def _running_tasks() -> float:
    try:
        return float(len(asyncio.all_tasks()))
    except RuntimeError:  # scraped outside the event loop's thread
        return 0.0


def transport_of(path: str) -> str:
    return "graphql" if path.startswith("/graphql") else "rest"


class ServiceMetrics:
    """Every metric of one app, in one registry; implements ``ServiceObserver``."""

    def __init__(self) -> None:
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
        self.assistant_fallbacks = Counter(
            "leadgraph_assistant_fallbacks",
            "Assistant turns the local engine answered because the configured engine failed.",
            ["engine", "reason"], registry=self.registry,
        )
        self.deliveries = Counter(
            "leadgraph_webhook_deliveries",
            "Outbound delivery attempts (webhooks, channel replies, e-mail) by outcome.",
            ["kind", "outcome"], registry=self.registry,
        )
        self.subscriptions = Gauge(
            "leadgraph_graphql_active_subscriptions",
            "GraphQL subscriptions streaming now, by root field.",
            ["field"], registry=self.registry,
        )
        # Read when scraped (in the event loop's thread): a count that keeps growing under a
        # steady load is a leak of tasks (bench/subscriptions.py checks it over 10k cycles).
        self.tasks = Gauge(
            "leadgraph_asyncio_tasks", "Unfinished asyncio tasks in this process's event loop.",
            registry=self.registry,
        )
        self.tasks.set_function(_running_tasks)

    # -- ServiceObserver ----------------------------------------------------------------

    def assistant_fallback(self, engine: str, reason: str) -> None:
        self.assistant_fallbacks.labels(engine, reason).inc()

    def webhook_delivery(self, kind: str, outcome: str) -> None:
        self.deliveries.labels(kind, outcome).inc()

    def subscription_started(self, field: str) -> None:
        self.subscriptions.labels(field).inc()

    def subscription_ended(self, field: str) -> None:
        self.subscriptions.labels(field).dec()


class PrometheusMetrics:
    def __init__(self, app: ASGIApp, metrics: ServiceMetrics | None = None) -> None:
        self.app = app
        self.metrics = metrics or ServiceMetrics()
        self.registry = self.metrics.registry
        self.requests = self.metrics.requests
        self.latency = self.metrics.latency
        self.sockets = self.metrics.sockets

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
