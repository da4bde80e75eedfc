"""Test helpers that talk to the real service over real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
import websockets
from pymongo import monitoring
from starlette.applications import Starlette
from starlette.types import ASGIApp
from websockets.asyncio.client import ClientConnection

from leadgraph.adapters.mongo.embedded import free_loopback_port
from leadgraph.runtime import Runtime

API_KEY = "test-bootstrap-key-0123456789"
GRAPHQL_WS = "graphql-transport-ws"


_NOT_DATA = frozenset({"hello", "ismaster", "isMaster", "ping", "endSessions", "buildinfo",
                       "buildInfo"})
# Polled by background workers (webhook deliveries, inbound channel messages).
_BACKGROUND_COLLECTIONS = frozenset({"webhooks", "webhook_deliveries", "channel_inbound",
                                     "channel_messages"})


class CommandCounter(monitoring.CommandListener):
    """Counts MongoDB commands by name (Saleor-style query-count assertions)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.commands: Counter[str] = Counter()
        self.log: list[tuple[str, str]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        with self._lock:
            self.commands[event.command_name] += 1
            collection = event.command.get(event.command_name)
            self.log.append((event.command_name, str(collection)))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def reset(self) -> None:
        with self._lock:
            self.commands.clear()
            self.log.clear()

    def data_commands(self) -> int:
        """Reads and writes on collections that requests use: not handshakes or pings, and not
        the outbox the webhook worker polls on its own schedule."""
        return len(self.request_log())

    def request_log(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(name, collection) for name, collection in self.log
                    if name not in _NOT_DATA and collection not in _BACKGROUND_COLLECTIONS]


@dataclass
class LiveServer:
    """A uvicorn server on a loopback port, running our real app."""

    base_url: str
    app: Starlette
    commands: CommandCounter
    db_name: str
    baseline_subscribers: dict[str, int] = field(default_factory=dict)

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://")

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    def internal_subscribers(self, channel: str) -> int:
        """Subscriptions the service holds itself (the webhook dispatcher, alerts)."""
        return self.baseline_subscribers.get(channel, 0)

    async def settle(self) -> None:
        """Wait for background work (score refreshes) so it doesn't blur a measurement."""
        await self.runtime.use_cases.scores.settled()

    async def clear_database(self) -> None:
        database = self.runtime.database.client[self.db_name]
        for name in await database.list_collection_names():
            await database[name].delete_many({})


def without_cost(body: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL answer without ``extensions.cost``, which every HTTP answer carries
    (tests/test_rate_limits.py checks it), for tests that compare whole answers."""
    extensions = {k: v for k, v in body.get("extensions", {}).items() if k != "cost"}
    rest = {k: v for k, v in body.items() if k != "extensions"}
    return rest | ({"extensions": extensions} if extensions else {})


async def gql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    body: dict[str, Any] = response.json()
    body["_status"] = response.status_code
    return body


@dataclass
class GraphQLSocket:
    """A graphql-transport-ws client over a real WebSocket."""

    connection: ClientConnection
    received: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    async def open(
        cls, url: str, init_payload: dict[str, Any] | None = None, *, ack: bool = True
    ) -> GraphQLSocket:
        connection = await websockets.connect(url, subprotocols=[GRAPHQL_WS])  # type: ignore[list-item]
        socket = cls(connection)
        await socket.send({"type": "connection_init", "payload": init_payload or {}})
        if ack:
            message = await socket.receive()
            assert message["type"] == "connection_ack", message
        return socket

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def receive(self, timeout: float = 10.0) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.connection.recv(), timeout)
        message: dict[str, Any] = json.loads(raw)
        self.received.append(message)
        return message

    async def subscribe(
        self, operation_id: str, query: str, variables: dict[str, Any] | None = None
    ) -> None:
        await self.send({
            "id": operation_id, "type": "subscribe",
            "payload": {"query": query, "variables": variables or {}},
        })

    async def next_data(self, operation_id: str, timeout: float = 10.0) -> dict[str, Any]:
        while True:
            message = await self.receive(timeout)
            if message.get("id") != operation_id:
                continue
            if message["type"] == "next":
                payload: dict[str, Any] = message["payload"]
                return payload
            raise AssertionError(f"expected data, got {message}")

    async def close(self) -> None:
        await self.connection.close()


async def wait_for_subscribers(server: LiveServer, channel: str, count: int = 1) -> None:
    """Until the server has registered ``count`` client subscribers (subscribe has no ack)."""
    broker = server.runtime.broker
    for _ in range(200):
        if broker.subscriber_count(channel) - server.internal_subscribers(channel) >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"no subscriber registered on {channel!r}")


@contextlib.asynccontextmanager
async def run_uvicorn(
    app: ASGIApp, *, lifespan: str = "off", ws: str = "auto",
    ws_max_size: int = 16 * 1024 * 1024,
) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in this event loop; yields its URL.

    Used for our own app and for the fake providers (OpenAI, ElevenLabs, webhook receivers)
    the tests talk to over real HTTP.
    """
    port = free_loopback_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan=lifespan, ws=ws, ws_max_size=ws_max_size)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    else:
        server.should_exit = True
        await task
        raise RuntimeError("uvicorn did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
