"""Inbound WhatsApp and Instagram webhooks (seed 001) end to end, with a local Graph API."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tests.receivers import hmac_hex, run_receiver, verify_delivery
from tests.support import LiveServer, gql
from tests.test_webhooks import SECRET, create_lead, fast_server, register

APP_SECRET = "meta-app-secret-123"
PHONE_ID = "1098765432"
WA_FROM = "15551234567"
TEXT = ("Hi! I need an e-commerce website for my shop. Budget around $10k and we want "
        "to launch ASAP.")


def channel_settings(graph_url: str) -> dict[str, object]:
    return {
        "graph_api_base_url": graph_url, "whatsapp_phone_number_id": PHONE_ID,
        "whatsapp_access_token": "wa-token", "whatsapp_app_secret": APP_SECRET,
        "whatsapp_webhook_verify_token": "verify-me",
        "instagram_access_token": "ig-token", "instagram_app_secret": APP_SECRET,
        "instagram_webhook_verify_token": "verify-ig",
    }


def whatsapp_payload(message_id: str, text: str = TEXT) -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550000000", "phone_number_id": PHONE_ID},
            "contacts": [{"profile": {"name": "Grace"}, "wa_id": WA_FROM}],
            "messages": [{"from": WA_FROM, "id": message_id, "timestamp": "1700000000",
                          "type": "text", "text": {"body": text}}],
            "statuses": [{"id": "wamid.out1", "status": "delivered",
                          "recipient_id": WA_FROM}],
        }}]}]}


async def post_signed(http: httpx.AsyncClient, path: str, payload: dict[str, Any],
                      secret: str = APP_SECRET) -> httpx.Response:
    body = json.dumps(payload).encode()
    return await http.post(path, content=body, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": hmac_hex(secret, body)})


async def test_whatsapp_message_becomes_conversation_reply_lead_and_signed_events(
    server: LiveServer, mongo_url: str, redis_url: str, tmp_path: Path
) -> None:
    # ``server`` empties the store first: nx-27017 shares collections across database names,
    # so an earlier test's lead with this phone would turn our lead.created into an update.
    async with run_receiver() as receiver, fast_server(
        mongo_url, redis_url, tmp_path, **channel_settings(f"{receiver.base_url}/graph")
    ) as (_server, http):
        await register(http, f"{receiver.base_url}/hook", ["new_lead", "message.received"])

        response = await post_signed(http, "/api/v1/webhook/whatsapp",
                                     whatsapp_payload("wamid.IN1"))
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "ok", "accepted": 1, "duplicates": 0,
                                   "statuses": 1, "ignored": 0}

        graph_path = f"/graph/{PHONE_ID}/messages"
        await receiver.wait_for(lambda: len(receiver.at(graph_path)) == 1)
        sent = receiver.at(graph_path)[0]
        assert sent.headers["authorization"] == "Bearer wa-token"
        reply = sent.json
        assert {k: reply[k] for k in ("messaging_product", "to", "type")} == {
            "messaging_product": "whatsapp", "to": WA_FROM, "type": "text"}
        assert isinstance(reply["text"]["body"], str) and reply["text"]["body"].strip()

        def events() -> list[str]:
            return [r.json["event"] for r in receiver.at("/hook")]

        await receiver.wait_for(lambda: {"lead.created", "message.received"} <= set(events()))
        payloads = [verify_delivery(item, SECRET) for item in receiver.at("/hook")]
        created = next(p for p in payloads if p["event"] == "lead.created")
        lead = created["data"]["lead"]
        assert lead["phone"].endswith("5551234567")
        assert lead["source"] == "whatsapp"
        message = next(p for p in payloads if p["event"] == "message.received")
        assert message["data"]["conversation"]["channel"] == "whatsapp"
        assert message["data"]["conversation"]["external_id"] == WA_FROM

        stored = await http.get(f"/api/v1/lead/{lead['id']}")
        assert stored.status_code == 200
        contents = [m["content"] for m in stored.json()["messages"]]
        assert contents[0] == TEXT
        assert reply["text"]["body"] in contents

        # The provider retries the same message id: accepted once, nothing new is stored.
        again = await post_signed(http, "/api/v1/webhook/whatsapp",
                                  whatsapp_payload("wamid.IN1"))
        assert again.json()["duplicates"] == 1
        await asyncio.sleep(0.5)  # a (wrong) second reply would arrive within this time
        assert len(receiver.at(graph_path)) == 1
        again_stored = await http.get(f"/api/v1/lead/{lead['id']}")
        assert len(again_stored.json()["messages"]) == len(stored.json()["messages"])


async def test_whatsapp_verification_and_signatures(
    mongo_url: str, redis_url: str, tmp_path: Path
) -> None:
    async with fast_server(mongo_url, redis_url, tmp_path,
                           **channel_settings("http://127.0.0.1:9")) as (_server, http):
        ok = await http.get("/api/v1/webhook/whatsapp", params={
            "hub.mode": "subscribe", "hub.verify_token": "verify-me",
            "hub.challenge": "1158201444"})
        assert ok.status_code == 200
        assert ok.text == "1158201444"
        assert ok.headers["content-type"].startswith("text/plain")
        wrong = await http.get("/api/v1/webhook/whatsapp", params={
            "hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"})
        assert wrong.status_code == 403
        instagram = await http.get("/api/v1/webhook/instagram", params={
            "hub.mode": "subscribe", "hub.verify_token": "verify-ig", "hub.challenge": "42"})
        assert (instagram.status_code, instagram.text) == (200, "42")

        body = json.dumps(whatsapp_payload("wamid.SIG")).encode()
        unsigned = await http.post("/api/v1/webhook/whatsapp", content=body,
                                   headers={"Content-Type": "application/json"})
        assert unsigned.status_code == 401
        forged = await post_signed(http, "/api/v1/webhook/whatsapp",
                                   whatsapp_payload("wamid.SIG"), secret="not-the-secret")
        assert forged.status_code == 403
        assert forged.json() == {"detail": "Invalid signature"}
        malformed = b"{not json"
        bad = await http.post("/api/v1/webhook/whatsapp", content=malformed, headers={
            "X-Hub-Signature-256": hmac_hex(APP_SECRET, malformed)})
        assert bad.status_code == 400


async def test_instagram_message_gets_a_reply_through_graph_api(
    mongo_url: str, redis_url: str, tmp_path: Path
) -> None:
    async with run_receiver() as receiver, fast_server(
        mongo_url, redis_url, tmp_path, **channel_settings(f"{receiver.base_url}/graph")
    ) as (_server, http):
        payload = {"object": "instagram", "entry": [{"id": "IGID", "time": 1, "messaging": [{
            "sender": {"id": "IGSID-77"}, "recipient": {"id": "IGID"}, "timestamp": 1,
            "message": {"mid": "m_1", "text": "Hello, do you build mobile apps?"}}]}]}
        receiver.script = [503]  # the Graph API fails once: the reply is retried
        response = await post_signed(http, "/api/v1/webhook/instagram", payload)
        assert response.status_code == 200
        assert response.json()["accepted"] == 1
        await receiver.wait_for(lambda: len(receiver.at("/graph/me/messages")) == 2)
        failed, sent = receiver.at("/graph/me/messages")
        assert (failed.answered, sent.answered) == (503, 200)
        assert failed.body == sent.body
        assert sent.headers["authorization"] == "Bearer ig-token"
        assert sent.json["recipient"] == {"id": "IGSID-77"}
        assert sent.json["message"]["text"].strip()


def statuses_payload(*statuses: dict[str, Any]) -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550000000", "phone_number_id": PHONE_ID},
            "statuses": list(statuses)}}]}]}


def wa_status(message_id: str, status: str, timestamp: int, **extra: Any) -> dict[str, Any]:
    return {"id": message_id, "status": status, "timestamp": str(timestamp),
            "recipient_id": WA_FROM, **extra}


STATUS_QUERY = """query($channel: String!, $id: String!) {
    channelMessageStatus(channel: $channel, providerMessageId: $id) {
        channel providerMessageId messageId conversationId recipient status
        events { status at errors } } }"""
CONVERSATION_QUERY = """query($id: ID!) { conversation(id: $id) { channel messages {
    edges { node { id role content delivery { status providerMessageId
        events { status at } } } } } } }"""


async def linked_status(http: httpx.AsyncClient, channel: str, provider_id: str
                        ) -> dict[str, Any]:
    """The status row once the reply's provider id is tied to our message."""
    for _ in range(200):
        found = (await gql(http, STATUS_QUERY, {"channel": channel, "id": provider_id}))[
            "data"]["channelMessageStatus"]
        if found is not None and found["messageId"]:
            return dict(found)
        await asyncio.sleep(0.05)
    raise AssertionError(f"{provider_id} never linked to a message")


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


async def test_provider_statuses_are_recorded_against_the_reply(
    server: LiveServer, mongo_url: str, redis_url: str, tmp_path: Path
) -> None:
    async with run_receiver() as receiver, fast_server(
        mongo_url, redis_url, tmp_path, **channel_settings(f"{receiver.base_url}/graph")
    ) as (_server, http):
        # The fake Graph API answers with message ids, as the real one does.
        receiver.bodies[f"/graph/{PHONE_ID}/messages"] = lambda _body: {
            "messaging_product": "whatsapp", "contacts": [{"input": WA_FROM, "wa_id": WA_FROM}],
            "messages": [{"id": "wamid.OUT-1"}]}
        receiver.bodies["/graph/me/messages"] = lambda _body: {
            "recipient_id": "IGSID-9", "message_id": "mid.OUT-9"}

        posted = await post_signed(http, "/api/v1/webhook/whatsapp",
                                   whatsapp_payload("wamid.IN-S"))
        assert posted.json()["statuses"] == 1  # wamid.out1: not ours, recorded all the same
        linked = await linked_status(http, "whatsapp", "wamid.OUT-1")
        assert (linked["status"], linked["events"], linked["recipient"]) == (
            "accepted", [], WA_FROM)

        # Out of order and repeated, as Meta may send them; one entry is not a status.
        t0 = 1_700_000_000
        answer = await post_signed(http, "/api/v1/webhook/whatsapp", statuses_payload(
            wa_status("wamid.OUT-1", "read", t0 + 300),
            wa_status("wamid.OUT-1", "sent", t0 + 100),
            wa_status("wamid.OUT-1", "delivered", t0 + 200),
            wa_status("wamid.OUT-1", "delivered", t0 + 200),
            wa_status("wamid.OUT-1", "exploded", t0 + 400),
        ))
        assert answer.status_code == 200
        assert (answer.json()["statuses"], answer.json()["ignored"]) == (4, 1)

        conversation = (await gql(http, CONVERSATION_QUERY, {"id": linked["conversationId"]}))[
            "data"]["conversation"]
        assert conversation["channel"] == "WHATSAPP"
        nodes = [edge["node"] for edge in conversation["messages"]["edges"]]
        assert [n["role"] for n in nodes] == ["USER", "ASSISTANT"]
        assert nodes[0]["delivery"] is None  # the visitor's message was not sent by us
        reply = nodes[1]
        assert reply["id"] == linked["messageId"]
        assert reply["delivery"] == {
            "status": "read", "providerMessageId": "wamid.OUT-1",
            "events": [{"status": "sent", "at": iso(t0 + 100)},
                       {"status": "delivered", "at": iso(t0 + 200)},
                       {"status": "read", "at": iso(t0 + 300)}]}

        unknown = (await gql(http, STATUS_QUERY, {"channel": "whatsapp", "id": "wamid.out1"}))[
            "data"]["channelMessageStatus"]
        assert (unknown["status"], unknown["messageId"]) == ("delivered", None)

        # Instagram: a delivery event with mids, then a read event with only a watermark.
        ig = {"object": "instagram", "entry": [{"id": "IGID", "time": 1, "messaging": [{
            "sender": {"id": "IGSID-9"}, "recipient": {"id": "IGID"}, "timestamp": 1,
            "message": {"mid": "m_in_9", "text": "Do you build online shops?"}}]}]}
        assert (await post_signed(http, "/api/v1/webhook/instagram", ig)).status_code == 200
        await linked_status(http, "instagram", "mid.OUT-9")
        now_ms = int(time.time() * 1000)
        delivered = {"object": "instagram", "entry": [{"id": "IGID", "time": 2, "messaging": [
            {"sender": {"id": "IGSID-9"}, "recipient": {"id": "IGID"}, "timestamp": now_ms,
             "delivery": {"mids": ["mid.OUT-9"], "watermark": now_ms}}]}]}
        answer = await post_signed(http, "/api/v1/webhook/instagram", delivered)
        assert answer.json()["statuses"] == 1
        ig_status = await linked_status(http, "instagram", "mid.OUT-9")
        assert ig_status["status"] == "delivered"
        read = {"object": "instagram", "entry": [{"id": "IGID", "time": 3, "messaging": [
            {"sender": {"id": "IGSID-9"}, "recipient": {"id": "IGID"}, "timestamp": now_ms + 5,
             "read": {"watermark": now_ms + 5000}}]}]}
        answer = await post_signed(http, "/api/v1/webhook/instagram", read)
        assert answer.json()["statuses"] == 1
        ig_status = await linked_status(http, "instagram", "mid.OUT-9")
        assert ig_status["status"] == "read"
        assert [e["status"] for e in ig_status["events"]] == ["delivered", "read"]


async def test_error_occurred_reaches_its_subscribers(
    server: LiveServer, mongo_url: str, redis_url: str, tmp_path: Path
) -> None:
    async with run_receiver() as receiver, fast_server(
        mongo_url, redis_url, tmp_path, **channel_settings(f"{receiver.base_url}/graph"),
        ai_provider="openai", openai_api_key="sk-test",
        openai_base_url=f"{receiver.base_url}/openai",
    ) as (server_, http):
        receiver.by_path = {"/leads": 410, f"/graph/{PHONE_ID}/messages": 400,
                            "/openai/chat/completions": 503}
        await register(http, f"{receiver.base_url}/errors", ["error"])  # seed alias
        leads_hook = await register(http, f"{receiver.base_url}/leads", ["new_lead"])

        # 1. An endpoint answers 410 and is disabled. 2. The model provider is down (the local
        # engine answers) and 3. the Graph API refuses the reply. 4. WhatsApp reports that
        # another message could not be delivered (twice: reported once).
        await create_lead(http, "gone-error@example.com")
        await receiver.wait_for(lambda: len(receiver.at("/errors")) == 1)  # disabled first
        posted = await post_signed(http, "/api/v1/webhook/whatsapp",
                                   whatsapp_payload("wamid.IN-E"))
        assert posted.status_code == 200
        # 5. A message the conversation cannot take (too long) is acknowledged, then rejected.
        too_long = await post_signed(http, "/api/v1/webhook/whatsapp",
                                     whatsapp_payload("wamid.LONG", "x" * 5000))
        assert too_long.json()["accepted"] == 1
        failed = wa_status("wamid.OLD", "failed", 1_700_000_500, errors=[
            {"code": 131026, "title": "Message undeliverable",
             "error_data": {"details": "Receiver is incapable of receiving this message"}}])
        for _ in range(2):
            answer = await post_signed(http, "/api/v1/webhook/whatsapp",
                                       statuses_payload(failed))
            assert answer.json()["statuses"] == 1

        expected = {"webhook.disabled", "assistant.fallback", "channel.reply_failed",
                    "channel.delivery_failed", "channel.message_rejected"}
        await receiver.wait_for(lambda: {
            r.json["data"]["error"]["code"] for r in receiver.at("/errors")} == expected)
        errors = {}
        for item in receiver.at("/errors"):
            payload = verify_delivery(item, SECRET)
            assert payload["event"] == "error.occurred"
            assert item.headers["x-leadgraph-event"] == "error.occurred"
            assert set(payload["data"]["error"]) == {"id", "code", "message", "context"}
            errors[payload["data"]["error"]["code"]] = payload["data"]["error"]
        assert errors["webhook.disabled"]["context"]["webhook_id"] == leads_hook
        assert errors["webhook.disabled"]["context"]["reason"] == "410 Gone"
        assert errors["channel.reply_failed"]["context"]["status_code"] == 400
        assert errors["channel.reply_failed"]["context"]["recipient"] == WA_FROM
        assert errors["assistant.fallback"]["context"]["engine"] == "local"
        delivery_failed = errors["channel.delivery_failed"]
        assert delivery_failed["context"]["provider_message_id"] == "wamid.OLD"
        assert "131026 Message undeliverable" in delivery_failed["message"]
        rejected = errors["channel.message_rejected"]
        assert rejected["context"]["provider_message_id"] == "wamid.LONG"
        assert "4000" in rejected["message"]

        # Only subscribers get it, once per failure: the lead hook had its one (410) request.
        assert [r.answered for r in receiver.at("/leads")] == [410]
        rows = server_.runtime.database.client[server_.db_name]["webhook_deliveries"]
        assert await rows.count_documents(
            {"db": server_.db_name, "event": "error.occurred"}) == len(expected)
