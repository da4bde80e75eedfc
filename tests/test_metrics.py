"""Prometheus metrics at /api/health/metrics: per route and transport, and open sockets."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support import API_KEY, GraphQLSocket, LiveServer, gql

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
