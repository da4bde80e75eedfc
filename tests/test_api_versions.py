"""Seed 004 under /api/v1 (aliases) and /api/v0 (deprecated), with seed 002 keeping its paths."""

from __future__ import annotations

import httpx

from leadgraph.rest_compat.chatbots_platform_versions import SUNSET
from tests.support import LiveServer


async def test_v1_and_deprecated_v0_aliases(
    server: LiveServer, client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    created = await client.post("/api/v1/chatbots", json={"name": "versioned"})
    assert created.status_code == 201, created.text
    assert "Deprecation" not in created.headers
    bot_id = created.json()["data"]["id"]

    old = await client.get(f"/api/v0/chatbots/{bot_id}")
    assert old.status_code == 200
    assert old.json() == {"status": "success", "data": created.json()["data"]}
    assert old.headers["Deprecation"] == "true" and old.headers["Sunset"] == SUNSET
    missing = await client.get("/api/v0/chatbots/nope")
    assert missing.status_code == 404 and missing.headers["Deprecation"] == "true"
    assert missing.json()["status"] == "error"

    current = await client.get("/api/chatbots")
    assert "Deprecation" not in current.headers
    assert (await client.get("/api/v1/templates")).json()["data"]["pagination"]["total"] == 0

    registered = await anonymous.post("/api/v1/auth/register", json={
        "username": "ver", "email": "ver@example.com", "password": "a long password 123"})
    assert registered.status_code == 201
    assert registered.json()["data"]["username"] == "ver"
    # /api/v1/auth/login answers seed 002's shape and seed 004's (tests/test_shared_login.py).
    login = await anonymous.post("/api/v1/auth/login", json={
        "email": "ver@example.com", "password": "a long password 123"})
    assert login.status_code == 200, login.text
    assert login.json()["token_type"].lower() == "bearer" and "access_token" in login.json()
    old_login = await anonymous.post("/api/v0/auth/login", json={
        "username": "ver", "password": "a long password 123"})
    assert old_login.json()["status"] == "success"
    assert old_login.json()["data"]["tokenType"] == "Bearer"
    assert old_login.headers["Deprecation"] == "true"
