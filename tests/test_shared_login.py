"""POST /api/v1/auth/login is seed 002's login and seed 004's (through its /api/v1 alias):
each document's client sends its own request and reads its own fields from one answer."""

from __future__ import annotations

import httpx

from tests.support import LiveServer

PASSWORD = "a long password 123"


async def _register(anonymous: httpx.AsyncClient) -> str:
    registered = await anonymous.post("/api/auth/register", json={
        "username": "both", "email": "both@example.com", "password": PASSWORD, "name": "Bo Th"})
    assert registered.status_code == 201, registered.text
    user_id: str = registered.json()["data"]["id"]
    return user_id


async def test_seed_002_client_reads_its_fields_and_its_token_works(
    server: LiveServer, anonymous: httpx.AsyncClient
) -> None:
    user_id = await _register(anonymous)
    response = await anonymous.post("/api/v1/auth/login", json={
        "email": "both@example.com", "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    # Seed 002's documented response, field by field.
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["user"] == {"id": user_id, "email": "both@example.com", "name": "Bo Th"}
    leads = await anonymous.get("/api/v1/leads", headers={
        "Authorization": f"Bearer {body['access_token']}"})
    assert leads.status_code == 200, leads.text
    assert leads.json()["total"] == 0
    # The same answer carries seed 004's envelope, with the same tokens.
    assert body["status"] == "success"
    assert body["data"]["accessToken"] == body["access_token"]
    assert body["data"]["refreshToken"] == body["refresh_token"]
    assert body["data"]["expiresIn"] == 3600


async def test_seed_004_client_reads_its_envelope_and_refreshes(
    server: LiveServer, anonymous: httpx.AsyncClient
) -> None:
    user_id = await _register(anonymous)
    response = await anonymous.post("/api/v1/auth/login", json={
        "username": "both", "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    data = body["data"]
    assert set(data) >= {"accessToken", "refreshToken", "expiresIn"}
    assert data["expiresIn"] == 3600 and data["user"]["id"] == user_id
    assert data["user"]["username"] == "both"
    bots = await anonymous.get("/api/v1/chatbots", headers={
        "Authorization": f"Bearer {data['accessToken']}"})
    assert bots.status_code == 200, bots.text
    assert bots.json()["data"]["pagination"]["total"] == 0
    refreshed = await anonymous.post("/api/v1/auth/refresh",
                                     json={"refreshToken": data["refreshToken"]})
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["data"]["accessToken"] != data["accessToken"]
    # Seed 002's fields are there too, for the same session.
    assert body["access_token"] == data["accessToken"]


async def test_each_client_gets_its_own_error_envelope(
    server: LiveServer, anonymous: httpx.AsyncClient
) -> None:
    await _register(anonymous)
    seed_004 = await anonymous.post("/api/v1/auth/login", json={
        "username": "both", "password": "wrong password"})
    assert seed_004.status_code == 401
    assert seed_004.json() == {"status": "error", "error": {
        "code": 401, "message": "Invalid credentials", "details": []}}
    seed_004_invalid = await anonymous.post("/api/v1/auth/login", json={"username": "both"})
    assert seed_004_invalid.status_code == 400
    assert seed_004_invalid.json()["error"]["details"] == [
        {"field": "password", "message": "is required"}]

    seed_002 = await anonymous.post("/api/v1/auth/login", json={
        "email": "both@example.com", "password": "wrong password"})
    assert seed_002.status_code == 401
    body = seed_002.json()
    assert body["error"] == "Unauthorized" and body["status_code"] == 401
    assert body["details"] == {"message": "Invalid credentials"}
    seed_002_invalid = await anonymous.post("/api/v1/auth/login",
                                            json={"email": "both@example.com"})
    assert seed_002_invalid.status_code == 422
    assert seed_002_invalid.json()["details"]["field"] == "password"
    malformed = await anonymous.post("/api/v1/auth/login", content=b"{not json",
                                     headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400
    assert malformed.json()["status_code"] == 400
