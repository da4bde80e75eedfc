"""Idempotency-Key on the live server: REST dialects and GraphQL, one side effect per key."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from leadgraph.adapters.mongo.idempotency import MongoIdempotencyStore
from leadgraph.domain.idempotency import (
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    StoredResponse,
    fingerprint,
)
from leadgraph.resolvers.auth import Credentials
from leadgraph.resolvers.idempotency import Claim, IdempotencyUseCases, Replay
from tests.conftest import make_settings, serve
from tests.support import API_KEY, LiveServer, gql

CREATE = "mutation($in: LeadInput!) { createLead(input: $in) { id name email } }"


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def count(server: LiveServer, collection: str, query: dict[str, Any] | None = None) -> int:
    database = server.runtime.database.client[server.db_name]
    return int(await database[collection].count_documents(query or {}))


async def assert_replayed(
    http: httpx.AsyncClient, path: str, body: dict[str, Any] | None, headers: dict[str, str],
    first: httpx.Response,
) -> httpx.Response:
    again = await http.post(path, json=body, headers=headers)
    assert again.status_code == first.status_code, again.text
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["content-type"] == first.headers["content-type"]
    assert "Idempotent-Replayed" not in first.headers
    return again


# -- REST: one create route per document ------------------------------------------------------


@pytest.mark.parametrize(("path", "status"), [("/api/v1/leads", 201), ("/api/v1/lead/", 200)])
async def test_lead_create_runs_once_per_key(
    server: LiveServer, client: httpx.AsyncClient, path: str, status: int,
) -> None:
    headers = key()
    body = {"name": "Ada Lovelace", "email": "ada@example.com"}
    if path == "/api/v1/leads":  # seed 002 wants first/last names
        body = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}
    first = await client.post(path, json=body, headers=headers)
    assert first.status_code == status, first.text
    await assert_replayed(client, path, body, headers, first)
    # Key order does not change the fingerprint: the body is compared as JSON.
    reordered = dict(reversed(list(body.items())))
    await assert_replayed(client, path, reordered, headers, first)
    assert await count(server, "leads") == 1


async def test_a_different_payload_under_the_same_key_is_422_in_each_dialect(
    server: LiveServer, client: httpx.AsyncClient,
) -> None:
    headers = key()
    created = await client.post("/api/v1/leads", headers=headers, json={
        "first_name": "Ada", "last_name": "L", "email": "ada@example.com"})
    assert created.status_code == 201, created.text
    reused = await client.post("/api/v1/leads", headers=headers, json={
        "first_name": "Bob", "last_name": "L", "email": "bob@example.com"})
    assert reused.status_code == 422, reused.text
    body = reused.json()
    assert set(body) == {"error", "status_code", "details", "timestamp"}  # seed 002
    assert body["status_code"] == 422
    assert "Idempotency-Key" in body["details"]["message"]
    # Another path under the same key is another request too.
    elsewhere = await client.post("/api/v1/lead/", headers=headers, json={
        "name": "Ada L", "email": "ada@example.com"})
    assert elsewhere.status_code == 422
    assert "Idempotency-Key" in elsewhere.json()["detail"]  # seed 001: {"detail": "…"}
    assert await count(server, "leads") == 1


async def test_seed003_and_seed004_conversations_start_once_per_key(
    server: LiveServer, client: httpx.AsyncClient,
) -> None:
    headers = key()
    first = await client.post("/conversations", headers=headers)  # seed 003, no body
    assert first.status_code == 201, first.text
    again = await client.post("/conversations", headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert await count(server, "conversations") == 1

    headers = key()
    first = await client.post("/api/conversations", json={}, headers=headers)  # seed 004
    assert first.status_code == 201, first.text
    await assert_replayed(client, "/api/conversations", {}, headers, first)
    assert await count(server, "conversations") == 2

    reused = await client.post("/api/conversations", json={"chatbotId": "x"}, headers=headers)
    assert reused.status_code == 422
    assert reused.json()["status"] == "error"  # seed 004's envelope
    assert reused.json()["error"]["code"] == 422


async def test_seed000_webhook_registration_runs_once_per_key(
    server: LiveServer, client: httpx.AsyncClient,
) -> None:
    headers = key()
    body = {"url": "https://example.com/hook", "events": ["new_lead"], "secret": "s" * 32}
    first = await client.post("/api/webhook", json=body, headers=headers)
    assert first.status_code == 200, first.text
    await assert_replayed(client, "/api/webhook", body, headers, first)
    assert await count(server, "webhooks") == 1

    reused = await client.post("/api/webhook", headers=headers,
                               json={**body, "url": "https://example.com/other"})
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"  # seed 000's envelope


async def test_errors_are_answers_too_and_keys_are_per_caller(
    server: LiveServer, client: httpx.AsyncClient,
) -> None:
    headers = key()
    bad = {"first_name": "", "last_name": "", "email": "not-an-email"}
    first = await client.post("/api/v1/leads", json=bad, headers=headers)
    assert first.status_code == 422, first.text
    await assert_replayed(client, "/api/v1/leads", bad, headers, first)

    # Another API key using the same Idempotency-Key value has its own record.
    made = await gql(client, 'mutation { createApiKey(name: "other") { key } }')
    other_key = made["data"]["createApiKey"]["key"]
    body = {"first_name": "Cy", "last_name": "D", "email": "cy@example.com"}
    mine = await client.post("/api/v1/leads", json=body, headers=key())
    theirs = await client.post("/api/v1/leads", json=body,
                               headers={**headers, "X-API-Key": other_key})
    assert mine.status_code == 201, mine.text
    assert theirs.status_code == 200, theirs.text  # deduplicated: ran, not replayed
    assert "Idempotent-Replayed" not in theirs.headers

    too_long = await client.post("/api/v1/leads", json=body,
                                 headers={"Idempotency-Key": "k" * 300})
    assert too_long.status_code == 422  # seed 002's validation status
    assert too_long.json()["details"]["field"] == "Idempotency-Key"


async def test_no_key_no_record_and_reads_are_never_keyed(
    server: LiveServer, client: httpx.AsyncClient,
) -> None:
    body = {"first_name": "Ann", "last_name": "E", "email": "ann@example.com"}
    assert (await client.post("/api/v1/leads", json=body)).status_code == 201
    listed = await client.get("/api/v1/leads", headers=key())
    assert listed.status_code == 200
    assert "Idempotent-Replayed" not in listed.headers
    assert await count(server, "idempotency_keys") == 0


async def test_a_duplicate_while_the_first_is_in_flight_is_409(
    server: LiveServer, client: httpx.AsyncClient,
) -> None:
    """The first request's claim is taken through the real use case, as a replica would."""
    idempotency = server.runtime.use_cases.idempotency
    assert idempotency is not None
    principal = await server.runtime.use_cases.auth.authenticate(
        Credentials.from_headers({"x-api-key": API_KEY}))
    headers = key()
    body = {"first_name": "Fay", "last_name": "G", "email": "fay@example.com"}
    raw = httpx.Request("POST", "http://x/api/v1/leads", json=body).content
    claim = await idempotency.begin(
        principal, headers["Idempotency-Key"], fingerprint("POST", "/api/v1/leads", "", raw))
    assert isinstance(claim, Claim)

    busy = await client.post("/api/v1/leads", json=body, headers=headers)
    assert busy.status_code == 409, busy.text
    assert "still being processed" in busy.json()["details"]["message"]
    assert await count(server, "leads") == 0

    await idempotency.abandon(claim)  # the first request failed: the key is free again
    retried = await client.post("/api/v1/leads", json=body, headers=headers)
    assert retried.status_code == 201, retried.text
    assert await count(server, "leads") == 1


# -- GraphQL ----------------------------------------------------------------------------------


async def test_graphql_mutation_with_the_header_runs_once(
    server: LiveServer, client: httpx.AsyncClient,
) -> None:
    headers = key()
    payload = {"query": CREATE, "variables": {"in": {"email": "gq@example.com", "name": "G Q"}}}
    first = await client.post("/graphql", json=payload, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["data"]["createLead"]["email"] == "gq@example.com"
    await assert_replayed(client, "/graphql", payload, headers, first)
    assert await count(server, "leads") == 1

    changed = {**payload, "variables": {"in": {"email": "other@example.com"}}}
    reused = await client.post("/graphql", json=changed, headers=headers)
    assert reused.status_code == 422
    assert reused.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await count(server, "leads") == 1

    # A query is not a mutation: the header changes nothing.
    query = {"query": "{ leads { totalCount } }"}
    for _ in range(2):
        read = await client.post("/graphql", json=query, headers=headers)
        assert read.status_code == 200
        assert "Idempotent-Replayed" not in read.headers


async def test_a_repeat_after_a_restart_still_replays(
    mongo_url: str, redis_url: str, tmp_path: Path,
) -> None:
    settings = make_settings(mongo_url, redis_url, tmp_path)
    headers = {**key(), "X-API-Key": API_KEY}
    body = {"first_name": "Rex", "last_name": "Start", "email": "rex@example.com"}
    payload = {"query": CREATE, "variables": {"in": {"email": "gql-rex@example.com"}}}
    graphql_headers = {**key(), "X-API-Key": API_KEY}
    async with serve(settings) as first_server, httpx.AsyncClient(
        base_url=first_server.base_url, timeout=30
    ) as http:
        await first_server.clear_database()
        created = await http.post("/api/v1/leads", json=body, headers=headers)
        assert created.status_code == 201, created.text
        mutated = await http.post("/graphql", json=payload, headers=graphql_headers)
        assert mutated.json()["data"]["createLead"]["id"]

    async with serve(settings) as second_server, httpx.AsyncClient(
        base_url=second_server.base_url, timeout=30
    ) as http:
        await assert_replayed(http, "/api/v1/leads", body, headers, created)
        await assert_replayed(http, "/graphql", payload, graphql_headers, mutated)
        assert await count(second_server, "leads") == 2


class ManualClock:
    def __init__(self) -> None:
        self.at = datetime(2030, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


async def test_abandoned_claims_and_expired_keys_can_be_claimed_again(server: LiveServer) -> None:
    """A replica that died mid-request frees its key after the lease; old keys expire."""
    store = MongoIdempotencyStore(server.runtime.database.client[server.db_name])
    clock = ManualClock()
    idempotency = IdempotencyUseCases(store, clock, ttl_seconds=3600, lease_seconds=60)
    principal = await server.runtime.use_cases.auth.authenticate(
        Credentials.from_headers({"x-api-key": API_KEY}))

    first = await idempotency.begin(principal, "k1", "fp")
    assert isinstance(first, Claim)
    with pytest.raises(IdempotencyKeyInFlight):
        await idempotency.begin(principal, "k1", "fp")
    clock.at += timedelta(seconds=61)  # the first holder never finished
    second = await idempotency.begin(principal, "k1", "fp")
    assert isinstance(second, Claim)
    await idempotency.finish(second, StoredResponse(201, [("x-a", "1")], b"{}"))
    await idempotency.finish(first, StoredResponse(500, [], b"late"))  # lost its claim: no-op
    replay = await idempotency.begin(principal, "k1", "fp")
    assert replay == Replay(StoredResponse(201, [("x-a", "1")], b"{}"))
    with pytest.raises(IdempotencyKeyReused):
        await idempotency.begin(principal, "k1", "other")

    clock.at += timedelta(hours=2)  # expired: a new request may use the key
    assert isinstance(await idempotency.begin(principal, "k1", "other"), Claim)
