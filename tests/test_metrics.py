"""Prometheus metrics at /api/health/metrics: per route and transport, open sockets, active
subscriptions, assistant fallbacks and webhook deliveries by outcome; each moved by causing it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.conftest import make_settings, serve
from tests.receivers import run_receiver
from tests.support import (
    API_KEY,
    GraphQLSocket,
    LiveServer,
    gql,
    run_uvicorn,
    wait_for_subscribers,
)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def _samples(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/api/health/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _requests(samples: Samples, route: str, method: str, status: str, transport: str
              ) -> float:
    key = ("leadgraph_http_requests_total", frozenset({
        "route": route, "method": method, "status": status, "transport": transport}.items()))
    return samples.get(key, 0.0)


async def test_metrics_count_requests_by_route_and_transport(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    before = await _samples(client)
    for _ in range(3):
        assert (await client.get("/api/chatbots")).status_code == 200
    missing = await client.get("/api/chatbots/nope")
    assert missing.status_code == 404
    assert (await gql(client, "{ chatbots { id } }"))["data"] == {"chatbots": []}
    socket = await GraphQLSocket.open(f"{server.ws_url}/graphql", {"apiKey": API_KEY})
    during = await _samples(client)
    await socket.close()

    assert _requests(during, "/api/chatbots", "GET", "200", "rest") - _requests(
        before, "/api/chatbots", "GET", "200", "rest") == 3
    assert _requests(during, "/api/chatbots/{id}", "GET", "404", "rest") - _requests(
        before, "/api/chatbots/{id}", "GET", "404", "rest") == 1
    assert _requests(during, "/graphql", "POST", "200", "graphql") - _requests(
        before, "/graphql", "POST", "200", "graphql") == 1
    latency = ("leadgraph_http_request_seconds_count",
               frozenset({"route": "/api/chatbots", "method": "GET", "transport": "rest"}.items()))
    assert during[latency] - before.get(latency, 0.0) == 3
    sockets = ("leadgraph_active_websockets", frozenset({"transport": "graphql"}.items()))
    assert during[sockets] - before.get(sockets, 0.0) == 1


async def _value(client: httpx.AsyncClient, name: str, labels: dict[str, str],
                 expected: float | None = None) -> float:
    """The sample now; with ``expected``, first wait (bounded) until it gets there: the
    events counted here (a subscription ending, a retry) settle in the background."""
    key = (name, frozenset(labels.items()))
    for _ in range(200):
        value = (await _samples(client)).get(key, 0.0)
        if expected is None or value == expected:
            return value
        await asyncio.sleep(0.05)
    return value


async def test_active_subscriptions_are_counted_not_only_sockets(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    def lead_events(expected: float | None = None) -> Awaitable[float]:
        return _value(client, "leadgraph_graphql_active_subscriptions",
                      {"field": "leadEvents"}, expected)

    before = await lead_events()
    socket = await GraphQLSocket.open(f"{server.ws_url}/graphql", {"apiKey": API_KEY})
    for operation_id in ("1", "2"):
        await socket.subscribe(operation_id, "subscription { leadEvents { type } }")
    await wait_for_subscribers(server, "leads", 2)
    assert await lead_events(before + 2) == before + 2
    sockets = ("leadgraph_active_websockets", frozenset({"transport": "graphql"}.items()))
    assert (await _samples(client))[sockets] >= 1

    await socket.send({"id": "1", "type": "complete"})
    assert await lead_events(before + 1) == before + 1
    await socket.close()  # ends the other one
    assert await lead_events(before) == before


class FailingOpenAI:
    """An OpenAI-compatible endpoint that always fails with HTTP 500."""

    def __init__(self) -> None:
        self.calls = 0

    async def chat_completions(self, request: Request) -> Response:
        self.calls += 1
        return JSONResponse({"error": {"message": "The server had an error",
                                       "type": "server_error", "code": None}}, 500)


async def test_assistant_fallbacks_are_counted(
    mongo_url: str, redis_url: str, tmp_path: Path
) -> None:
    fake = FailingOpenAI()
    fake_app = Starlette(routes=[
        Route("/v1/chat/completions", fake.chat_completions, methods=["POST"])])
    async with run_uvicorn(fake_app) as fake_url:
        settings = make_settings(
            mongo_url, redis_url, tmp_path, ai_provider="openai", openai_api_key="sk-test",
            openai_base_url=f"{fake_url}/v1", openai_timeout_seconds=5.0)
        async with serve(settings) as ai_server, httpx.AsyncClient(
            base_url=ai_server.base_url, headers={"X-API-Key": API_KEY}, timeout=30
        ) as http:
            labels = {"engine": "openai", "reason": "InternalServerError"}
            before = await _value(http, "leadgraph_assistant_fallbacks_total", labels)
            started = await gql(http, "mutation { startConversation(input: {}) { id } }")
            conversation_id = started["data"]["startConversation"]["id"]
            for text in ("I need a mobile app", "for my bakery"):
                sent = await gql(http, """mutation($id: ID!, $t: String!) {
                    sendMessage(conversationId: $id, text: $t) { reply { content } } }""",
                    {"id": conversation_id, "t": text})
                assert sent["data"]["sendMessage"]["reply"]["content"], sent
            assert fake.calls == 2
            after = await _value(http, "leadgraph_assistant_fallbacks_total", labels)
            assert after - before == 2


async def test_webhook_deliveries_are_counted_by_outcome(
    mongo_url: str, redis_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        mongo_url, redis_url, tmp_path, webhook_retry_base_seconds=0.05,
        webhook_retry_max_seconds=0.2, webhook_poll_seconds=0.05, webhook_timeout_seconds=2.0)
    async with run_receiver() as receiver, serve(settings) as hook_server, httpx.AsyncClient(
        base_url=hook_server.base_url, headers={"X-API-Key": API_KEY}, timeout=30
    ) as http:
        database = hook_server.runtime.database.client[hook_server.db_name]
        for name in ("webhooks", "webhook_deliveries", "channel_inbound"):
            await database[name].delete_many({})  # nx-27017 shares collections across tests

        def outcome(name: str, expected: float | None = None) -> Awaitable[float]:
            return _value(http, "leadgraph_webhook_deliveries_total",
                          {"kind": "webhook", "outcome": name}, expected)

        before = {name: await outcome(name) for name in ("delivered", "retry", "failed")}
        receiver.script = [503, 200, 400]
        registered = await http.post("/api/webhook", json={
            "url": f"{receiver.base_url}/hook", "events": ["new_lead"],
            "secret": "whsec-test-0123456789"})
        assert registered.status_code == 200, registered.text
        for address, answered in (("first@example.com", 2), ("second@example.com", 3)):
            created = await http.post("/api/v1/lead/", json={"name": "Ada", "email": address})
            assert created.status_code in (200, 201), created.text
            await receiver.wait_for(
                lambda count=answered: len(receiver.at("/hook")) == count)  # type: ignore[misc]
        assert await outcome("delivered", before["delivered"] + 1) == before["delivered"] + 1
        assert await outcome("retry", before["retry"] + 1) == before["retry"] + 1
        assert await outcome("failed", before["failed"] + 1) == before["failed"] + 1
        assert [r.answered for r in receiver.at("/hook")] == [503, 200, 400]
