"""Inbound WhatsApp and Instagram webhooks (seed 001) end to end, with a local Graph API."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from tests.receivers import hmac_hex, run_receiver, verify_delivery
from tests.support import LiveServer
from tests.test_webhooks import SECRET, fast_server, register

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
