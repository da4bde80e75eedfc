"""Fixtures: a real nx-27017 (or MONGODB_URL), real Redis, and the app on a real port.

Set MONGODB_URL to run the same suite against real MongoDB. Redis comes from REDIS_URL
(default redis://127.0.0.1:6379); without it the Redis tests skip locally but fail in CI.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from leadgraph.adapters.mongo.embedded import EmbeddedMongo
from leadgraph.app import create_app
from leadgraph.settings import Settings
from tests.support import API_KEY, CommandCounter, LiveServer, run_uvicorn

SECRET = "test-secret-key-that-is-long-enough-0123456789"

# Beanie binds document classes to one database per process (init_beanie), so the newest
# in-process server owns the binding. Servers are nested (a test's extra server runs inside
# the session's); when one stops, the one it interrupted is bound again.
_running: list[LiveServer] = []


@pytest.fixture(scope="session")
def mongo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if url := os.environ.get("MONGODB_URL"):
        yield url
        return
    with EmbeddedMongo(tmp_path_factory.mktemp("nx")) as server:
        yield server.url


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI and is not reachable at {url}: {exc}")
        pytest.skip(f"Redis not reachable at {url}")
    return url


def make_settings(
    mongo_url: str, redis_url: str | None, data_dir: Path, **overrides: object
) -> Settings:
    run = uuid.uuid4().hex[:8]
    values: dict[str, object] = {
        "mongodb_url": mongo_url,
        "mongodb_db_name": f"lgtest_{run}",
        "redis_url": redis_url,
        "redis_channel_prefix": f"lgtest-{run}",
        "api_key": API_KEY,
        "secret_key": SECRET,
        "leadgraph_data_dir": data_dir,
        # The suite makes thousands of requests with one key from one IP: seed limits x1000.
        # tests/test_rate_limits.py starts its own servers with small limits.
        "rate_limit_multiplier": 1000,
        **overrides,
    }
    return Settings.model_validate(values)


@contextlib.asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[LiveServer]:
    """Run the real app under uvicorn on a free loopback port, in this event loop."""
    commands = CommandCounter()
    app = create_app(settings, command_listeners=[commands])
    async with run_uvicorn(app, ws="websockets-sansio", lifespan="on",
                           ws_max_size=settings.ws_max_message_bytes) as base_url:
        live = LiveServer(base_url, app, commands, settings.mongodb_db_name)
        live.baseline_subscribers = {
            channel: live.runtime.broker.subscriber_count(channel)
            for channel in ("leads", "conversations", "calls")
        }
        _running.append(live)
        try:
            yield live
        finally:
            _running.remove(live)
    if _running:
        await _running[-1].runtime.database.connect()


@pytest.fixture(scope="session")
async def live(
    mongo_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveServer]:
    settings = make_settings(mongo_url, redis_url, tmp_path_factory.mktemp("data"))
    async with serve(settings) as server:
        yield server


@pytest.fixture
async def server(live: LiveServer) -> LiveServer:
    """The shared live server, with an empty database for this test."""
    await live.settle()
    await live.clear_database()
    live.commands.reset()
    return live


@pytest.fixture
async def client(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP client authenticated with the bootstrap API key."""
    async with httpx.AsyncClient(
        base_url=server.base_url, headers={"X-API-Key": API_KEY}, timeout=30
    ) as http:
        yield http


@pytest.fixture
async def anonymous(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        yield http
