"""Outbound webhooks: registration on seeds 000/004, signed delivery, retries, durability."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from leadgraph.domain.users import Principal, PrincipalKind, Role
from tests.conftest import make_settings, serve
from tests.receivers import run_receiver, verify_delivery
from tests.support import API_KEY, LiveServer, gql

FAST = {
    "webhook_retry_base_seconds": 0.05, "webhook_retry_max_seconds": 0.2,
    "webhook_poll_seconds": 0.05, "webhook_timeout_seconds": 0.5,
}
SECRET = "whsec-test-0123456789"


@contextlib.asynccontextmanager
async def fast_server(
    mongo_url: str, redis_url: str, tmp_path: Path, *, fresh: bool = True,
    **overrides: object,
) -> AsyncIterator[tuple[LiveServer, httpx.AsyncClient]]:
    settings = make_settings(mongo_url, redis_url, tmp_path, **{**FAST, **overrides})
    async with serve(settings) as server, httpx.AsyncClient(
        base_url=server.base_url, headers={"X-API-Key": API_KEY}, timeout=30
    ) as http:
        if fresh:
            # nx-27017 0.8.1 does not separate databases: collections of another test's
            # database name are visible here, so start from empty integration collections.
            database = server.runtime.database.client[server.db_name]
            for name in ("webhooks", "webhook_deliveries", "channel_inbound",
                         "channel_messages"):
                await database[name].delete_many({})
        yield server, http


async def register(http: httpx.AsyncClient, url: str, events: list[str]) -> str:
    response = await http.post("/api/webhook", json={"url": url, "events": events,
                                                     "secret": SECRET})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "active"
    assert body["message"] == "Webhook registered successfully"
    assert body["webhook_id"].startswith("wh_")
    return str(body["webhook_id"])


async def create_lead(http: httpx.AsyncClient, email: str, intent: str = "WARM") -> str:
    response = await http.post("/api/v1/lead/", json={"name": "Ada Lovelace", "email": email,
                                                      "intent": intent})
    assert response.status_code in (200, 201), response.text
    return str(response.json()["id"])


async def deliveries(server: LiveServer) -> list[dict[str, Any]]:
    collection = server.runtime.database.client[server.db_name]["webhook_deliveries"]
    return [doc async for doc in collection.find({"kind": "webhook"})]


async def test_lead_created_is_delivered_signed_with_both_signatures(
    mongo_url: str, redis_url: str, tmp_path: Path
) -> None:
    async with run_receiver() as receiver, fast_server(mongo_url, redis_url, tmp_path) as (
        _server, http
    ):
        await register(http, f"{receiver.base_url}/hook", ["new_lead", "lead_updated"])
        lead_id = await create_lead(http, "ada@example.com")
        await receiver.wait_for(lambda: len(receiver.at("/hook")) >= 1)
        item = receiver.at("/hook")[0]
        payload = verify_delivery(item, SECRET)
        assert set(payload) == {"event", "timestamp", "data"}
        assert payload["event"] == "lead.created"
        assert payload["data"]["lead"]["id"] == lead_id
        assert payload["data"]["lead"]["email"] == "ada@example.com"
        assert item.headers["x-leadgraph-event"] == "lead.created"
        assert item.headers["x-leadgraph-delivery"].startswith("dl_")
        assert "sha256=" + "0" * 64 not in item.headers["x-signature"]
        # A signature made with another secret does not verify.
        try:
            verify_delivery(item, "another-secret")
        except AssertionError:
            pass
        else:
            raise AssertionError("signature verified with the wrong secret")


async def test_registration_dialects_and_validation(
    mongo_url: str, redis_url: str, tmp_path: Path
) -> None:
    async with fast_server(mongo_url, redis_url, tmp_path) as (_server, http):
        response = await http.post("/api/webhooks", json={
            "url": "https://example.com/hook", "events": ["conversation.created",
                                                          "message.received"],
            "secret": "s3cret"})
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["status"] == "success"
        assert body["data"]["events"] == ["conversation.created", "message.received"]
        assert body["data"]["url"] == "https://example.com/hook"
        assert "secret" not in body["data"]

        listed = (await http.get("/api/webhooks")).json()
        assert [hook["id"] for hook in listed["data"]] == [body["data"]["id"]], listed

        bad_scheme = await http.post("/api/webhook", json={
            "url": "ftp://example.com/x", "events": ["new_lead"]})
        assert bad_scheme.status_code == 400
        assert bad_scheme.json()["error"]["message"]
        unknown = await http.post("/api/webhooks", json={
            "url": "https://example.com/x", "events": ["lead.exploded"]})
        assert 400 <= unknown.status_code < 500
        assert unknown.json()["status"] == "error"
        empty = await http.post("/api/webhook", json={"url": "https://example.com/x",
                                                      "events": []})
        assert empty.status_code == 400
        async with httpx.AsyncClient(base_url=http.base_url) as bare:
            anonymous = await bare.post("/api/webhook", json={
                "url": "https://example.com/x", "events": ["new_lead"]})
        assert anonymous.status_code == 401


async def test_5xx_and_timeout_are_retried_then_delivered(
    mongo_url: str, redis_url: str, tmp_path: Path
) -> None:
    async with run_receiver() as receiver, fast_server(mongo_url, redis_url, tmp_path) as (
        server, http
    ):
        receiver.script = [500, "timeout", 503, 200]
        receiver.sleep_seconds = 1.5
        await register(http, f"{receiver.base_url}/hook", ["new_lead"])
        await create_lead(http, "retry@example.com")
        await receiver.wait_for(lambda: any(r.answered == 200 for r in receiver.received))
        ids = {r.headers["x-leadgraph-delivery"] for r in receiver.at("/hook")}
        assert len(ids) == 1  # the same delivery, retried
        for _ in range(100):
            rows = await deliveries(server)
            if rows and rows[0]["status"] == "delivered":
                break
            await asyncio.sleep(0.05)
        [row] = rows
        assert row["status"] == "delivered"
        assert [a["status_code"] for a in row["attempts"]] == [500, None, 503, 200], row
        assert row["attempts"][1]["error"].startswith("timeout")
        assert all(a["latency_ms"] >= 0 for a in row["attempts"])


async def test_4xx_is_not_retried_and_410_disables_the_endpoint(
    mongo_url: str, redis_url: str, tmp_path: Path
) -> None:
    async with run_receiver() as receiver, fast_server(mongo_url, redis_url, tmp_path) as (
        server, http
    ):
        receiver.script = [400, 410]
        webhook_id = await register(http, f"{receiver.base_url}/hook", ["new_lead"])
        await create_lead(http, "four@example.com")
        await receiver.wait_for(lambda: len(receiver.received) == 1)
        await create_lead(http, "gone@example.com")
        await receiver.wait_for(lambda: len(receiver.received) == 2)
        for _ in range(100):
            hook = await server.runtime.database.client[server.db_name]["webhooks"].find_one(
                {"_id": webhook_id})
            if hook and hook["status"] == "disabled":
                break
            await asyncio.sleep(0.05)
        assert hook is not None
        assert (hook["status"], hook["disabled_reason"]) == ("disabled", "410 Gone")
        await create_lead(http, "after@example.com")
        await asyncio.sleep(0.5)  # give a (wrong) third delivery the chance to arrive
        assert len(receiver.received) == 2
        rows = sorted(await deliveries(server), key=lambda r: r["seq"])
        assert [r["status"] for r in rows] == ["failed", "failed"]
        assert [len(r["attempts"]) for r in rows] == [1, 1]


async def test_secret_rotation_sends_both_signatures(
    mongo_url: str, redis_url: str, tmp_path: Path
) -> None:
    async with run_receiver() as receiver, fast_server(mongo_url, redis_url, tmp_path) as (
        server, http
    ):
        webhook_id = await register(http, f"{receiver.base_url}/hook", ["new_lead"])
        integrations = server.runtime.use_cases.integrations
        assert integrations is not None
        admin = Principal(kind=PrincipalKind.API_KEY, id="t", display_name="t", role=Role.ADMIN)
        view = await integrations.update(admin, webhook_id, secret="rotated-secret-abc")
        assert view["secret_rotating"] is True
        await create_lead(http, "rotate@example.com")
        await receiver.wait_for(lambda: len(receiver.received) == 1)
        item = receiver.received[0]
        verify_delivery(item, "rotated-secret-abc")
        verify_delivery(item, SECRET)
        assert item.headers["x-signature"].split(",")[0].endswith(
            verify_signature_hex("rotated-secret-abc", item.body))


def verify_signature_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def test_restart_during_failing_deliveries_loses_none(
    mongo_url: str, redis_url: str, tmp_path: Path
) -> None:
    db_name = f"lgtest_restart_{uuid.uuid4().hex[:8]}"
    async with run_receiver() as receiver:
        receiver.default = 500
        async with fast_server(mongo_url, redis_url, tmp_path, mongodb_db_name=db_name,
                               webhook_retry_base_seconds=0.2,
                               webhook_retry_max_seconds=0.4) as (_server, http):
            await register(http, f"{receiver.base_url}/hook", ["new_lead"])
            emails = [f"restart{i}@example.com" for i in range(3)]
            for email in emails:
                await create_lead(http, email)
            await receiver.wait_for(lambda: len(
                {r.json["data"]["lead"]["email"] for r in receiver.received}) == 3)
        # Stopped with all three pending; the endpoint recovers; a new process takes over.
        failed_before = len(receiver.received)
        receiver.default = 200
        async with fast_server(mongo_url, redis_url, tmp_path / "second", fresh=False,
                               mongodb_db_name=db_name) as (server, _http):
            await receiver.wait_for(lambda: {
                r.json["data"]["lead"]["email"] for r in receiver.received if r.answered == 200
            } == set(emails))
            rows = await deliveries(server)
            assert len(rows) == 3
            for _ in range(100):
                rows = await deliveries(server)
                if all(r["status"] == "delivered" for r in rows):
                    break
                await asyncio.sleep(0.05)
            assert sorted(r["status"] for r in rows) == ["delivered"] * 3
        assert failed_before >= 3
        for item in receiver.received:
            verify_delivery(item, SECRET)


WEBHOOK_FIELDS = "id url events status consecutiveFailures secretRotating"
DELIVERY_FIELDS = "id webhookId event status nextRetryAt attempts { statusCode latencyMs error }"


async def test_graphql_register_test_ledger_redeliver_update_delete(
    mongo_url: str, redis_url: str, tmp_path: Path
) -> None:
    async with run_receiver() as receiver, fast_server(mongo_url, redis_url, tmp_path) as (
        _server, http
    ):
        registered = await gql(http, f"""mutation($url: String!) {{
            registerWebhook(url: $url, events: ["new_lead", "message.received"]) {{
                secret webhook {{ {WEBHOOK_FIELDS} }} }} }}""",
                               {"url": f"{receiver.base_url}/gql"})
        payload = registered["data"]["registerWebhook"]
        hook, secret = payload["webhook"], payload["secret"]
        assert len(secret) >= 32
        assert hook["events"] == ["lead.created", "message.received"]
        assert (hook["status"], hook["consecutiveFailures"], hook["secretRotating"]) == (
            "active", 0, False)
        listed = await gql(http, f"{{ webhooks {{ {WEBHOOK_FIELDS} }} }}")
        assert listed["data"]["webhooks"] == [hook]

        receiver.script = [422]  # a 4xx is final: the ping fails once and is not retried
        ping = await gql(http, f"""mutation($id: ID!) {{
            testWebhook(id: $id) {{ {DELIVERY_FIELDS} }} }}""", {"id": hook["id"]})
        delivery = ping["data"]["testWebhook"]
        assert (delivery["event"], delivery["status"], delivery["attempts"]) == (
            "webhook.ping", "pending", [])
        await receiver.wait_for(lambda: len(receiver.received) == 1)
        query = f"""query($id: ID!) {{ webhookDeliveries(webhookId: $id) {{
            {DELIVERY_FIELDS} }} }}"""

        async def ledger() -> list[dict[str, Any]]:
            for _ in range(100):
                rows: list[dict[str, Any]] = (await gql(http, query, {"id": hook["id"]}))[
                    "data"]["webhookDeliveries"]
                if rows and rows[0]["status"] != "pending":
                    return rows
                await asyncio.sleep(0.05)
            raise AssertionError("delivery still pending")

        [row] = await ledger()
        assert row["status"] == "failed"
        assert [a["statusCode"] for a in row["attempts"]] == [422]
        assert row["nextRetryAt"] is None
        ping_body = verify_delivery(receiver.received[0], secret)
        assert ping_body["event"] == "webhook.ping"

        redelivered = await gql(http, """mutation($id: ID!) {
            redeliverWebhook(deliveryId: $id) { id status } }""", {"id": row["id"]})
        assert redelivered["data"]["redeliverWebhook"] == {"id": row["id"], "status": "pending"}
        await receiver.wait_for(lambda: len(receiver.received) == 2)
        [row] = await ledger()
        assert row["status"] == "delivered"
        assert [a["statusCode"] for a in row["attempts"]] == [422, 200]

        bad = await gql(http, """mutation($id: ID!) {
            updateWebhook(id: $id, url: "javascript:alert(1)") { id } }""", {"id": hook["id"]})
        assert bad["data"] is None
        assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        unknown = await gql(http, """mutation {
            registerWebhook(url: "https://example.com", events: ["lead.exploded"]) { secret } }""")
        assert unknown["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        deleted = await gql(http, """mutation($id: ID!) { deleteWebhook(id: $id) { id } }""",
                            {"id": hook["id"]})
        assert deleted["data"]["deleteWebhook"]["id"] == hook["id"]
        missing = await gql(http, """mutation($id: ID!) { deleteWebhook(id: $id) { id } }""",
                            {"id": hook["id"]})
        assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert (await gql(http, "{ webhooks { id } }"))["data"]["webhooks"] == []


async def test_endpoint_is_disabled_after_consecutive_failures(
    mongo_url: str, redis_url: str, tmp_path: Path
) -> None:
    async with run_receiver() as receiver, fast_server(
        mongo_url, redis_url, tmp_path, webhook_disable_after_failures=3
    ) as (server, http):
        receiver.default = 502
        webhook_id = await register(http, f"{receiver.base_url}/hook", ["new_lead"])
        await create_lead(http, "flaky@example.com")
        await receiver.wait_for(lambda: len(receiver.received) >= 3)
        for _ in range(100):
            rows = await deliveries(server)
            if rows and rows[0]["status"] != "pending":
                break
            await asyncio.sleep(0.05)
        hook = await server.runtime.database.client[server.db_name]["webhooks"].find_one(
            {"_id": webhook_id})
        assert hook is not None
        assert (hook["status"], hook["disabled_reason"]) == (
            "disabled", "3 consecutive failures")
        [row] = rows
        assert row["status"] == "cancelled"
        assert len(receiver.received) == 3


async def agent_headers(http: httpx.AsyncClient) -> dict[str, str]:
    """A user with the (non-admin) agent role, created by the admin API key, logged in."""
    address = f"agent-{uuid.uuid4().hex[:8]}@example.com"
    created = await gql(http, """mutation($email: String!) {
        createUser(email: $email, password: "agent-password-1", name: "Agent") { role } }""",
                        {"email": address})
    assert created["data"]["createUser"]["role"] == "AGENT", created
    login = await gql(http, """mutation($id: String!) {
        login(identifier: $id, password: "agent-password-1") { accessToken } }""",
                      {"id": address})
    return {"Authorization": f"Bearer {login['data']['login']['accessToken']}"}


ADMIN_ONLY = {
    "webhooks": "{ webhooks { id } }",
    "webhookDeliveries": "query($id: ID!) { webhookDeliveries(webhookId: $id) { id } }",
    "registerWebhook": """mutation { registerWebhook(url: "https://example.com/x",
        events: ["new_lead"]) { secret } }""",
    "updateWebhook": "mutation($id: ID!) { updateWebhook(id: $id, active: false) { id } }",
    "testWebhook": "mutation($id: ID!) { testWebhook(id: $id) { id } }",
    "redeliverWebhook": "mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id } }",
    "deleteWebhook": "mutation($id: ID!) { deleteWebhook(id: $id) { id } }",
}


async def test_webhook_management_is_for_admins_only(
    mongo_url: str, redis_url: str, tmp_path: Path
) -> None:
    async with fast_server(mongo_url, redis_url, tmp_path) as (server, http):
        hook_id = await register(http, "https://example.com/admin-hook", ["new_lead"])
        agent = await agent_headers(http)
        # Without the admin key the client sends: the agent's token is all there is.
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as bare:
            for name, document in ADMIN_ONLY.items():
                variables = {"id": hook_id} if "$id" in document else None
                refused = await gql(bare, document, variables, headers=agent)
                assert refused["data"] is None, (name, refused)
                assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN", (name, refused)
                assert refused["errors"][0]["path"] == [name]

            # Seed 000's envelope and seed 004's envelope, both 403.
            agency = await bare.post("/api/webhook", headers=agent, json={
                "url": "https://example.com/x", "events": ["new_lead"]})
            assert agency.status_code == 403, agency.text
            assert agency.json()["error"]["code"]
            platform = await bare.post("/api/webhooks", headers=agent, json={
                "url": "https://example.com/x", "events": ["lead.created"]})
            assert platform.status_code == 403, platform.text
            assert (platform.json()["status"], platform.json()["error"]["code"]) == ("error", 403)
            listed = await bare.get("/api/webhooks", headers=agent)
            assert listed.status_code == 403
            # The same token is a valid one: the refusal is about the role.
            me = await gql(bare, "{ me { role } }", headers=agent)
            assert me["data"]["me"]["role"] == "AGENT"

        # Nothing changed; the admin API key still manages everything.
        stored = await server.runtime.database.client[server.db_name]["webhooks"].find(
            {"db": server.db_name}).to_list()
        assert [(doc["_id"], doc["status"]) for doc in stored] == [(hook_id, "active")]
        assert (await gql(http, "{ webhooks { id } }"))["data"]["webhooks"] == [{"id": hook_id}]
        admin_listed = await http.get("/api/webhooks")
        assert admin_listed.status_code == 200
