"""Channels and webhooks across a real crash: ``leadgraph serve`` as a process, SIGKILLed.

The killed process and the one that takes over share only the database (the nx-27017 of the
test session, one database name). Nothing is handed over in memory, so whatever the second
service does, it found in MongoDB: the inbound message queue and the delivery outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from leadgraph.adapters.mongo.embedded import free_loopback_port
from tests.conftest import SECRET as SECRET_KEY
from tests.receivers import run_receiver, verify_delivery
from tests.support import API_KEY, LiveServer, gql
from tests.test_channels import (
    APP_SECRET,
    PHONE_ID,
    TEXT,
    WA_FROM,
    channel_settings,
    post_signed,
    whatsapp_payload,
)
from tests.test_webhooks import SECRET, fast_server, register

pytestmark = pytest.mark.e2e

STARTUP_SECONDS = 60.0
# Settings the service must not inherit from whoever runs the tests.
_SCRUBBED_PREFIXES = ("MONGODB_", "REDIS_", "API_KEY", "SECRET_KEY", "LEADGRAPH_", "WHATSAPP_",
                      "INSTAGRAM_", "SMTP_", "NOTIFICATION_", "AI_", "OPENAI_", "WEBHOOK_",
                      "GRAPH_API_", "CHANNEL_", "ELEVENLABS_", "STT_")


def service_env(data_dir: Path, mongo_url: str, db_name: str, graph_url: str,
                **extra: str) -> dict[str, str]:
    """Same database as the tests, no Redis (so the killed process leaves no Redis lock)."""
    env = {key: value for key, value in os.environ.items()
           if not key.upper().startswith(_SCRUBBED_PREFIXES)}
    env.update({
        "MONGODB_URL": mongo_url, "MONGODB_DB_NAME": db_name, "API_KEY": API_KEY,
        "SECRET_KEY": SECRET_KEY, "LEADGRAPH_DATA_DIR": str(data_dir),
        "GRAPH_API_BASE_URL": graph_url, "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID,
        "WHATSAPP_ACCESS_TOKEN": "wa-token", "WHATSAPP_APP_SECRET": APP_SECRET,
        "WEBHOOK_POLL_SECONDS": "0.05", "WEBHOOK_TIMEOUT_SECONDS": "0.5",
        "CHANNEL_INBOUND_LEASE_SECONDS": "2", "PYTHONUNBUFFERED": "1", **extra,
    })
    return env


@contextlib.asynccontextmanager
async def killable_service(env: dict[str, str], cwd: Path) -> AsyncIterator[
    tuple[asyncio.subprocess.Process, httpx.AsyncClient]
]:
    """``python -m leadgraph serve`` on a free port, healthy; SIGKILLed at the latest on exit."""
    port = free_loopback_port()
    log = cwd / f"serve-{port}.log"
    with log.open("ab") as handle:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "leadgraph", "serve", "--port", str(port),
            "--log-level", "warning", env=env, cwd=cwd, stdin=asyncio.subprocess.DEVNULL,
            stdout=handle, stderr=asyncio.subprocess.STDOUT, start_new_session=True,
        )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                     headers={"X-API-Key": API_KEY}, timeout=30) as http:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + STARTUP_SECONDS
            while True:
                if process.returncode is not None:
                    pytest.fail(f"serve exited with {process.returncode}:\n{log.read_text()}")
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/health", timeout=2)).status_code == 200:
                        break
                if loop.time() > deadline:
                    pytest.fail(f"serve not healthy in time:\n{log.read_text()}")
                await asyncio.sleep(0.2)
            yield process, http
    finally:
        await kill(process)


async def kill(process: asyncio.subprocess.Process) -> None:
    """The crash: SIGKILL, no shutdown code runs."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


async def wait_until(check: Any, what: str, attempts: int = 400) -> Any:
    for _ in range(attempts):
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_inbound_message_is_finished_after_the_service_dies_mid_turn(
    server: LiveServer, mongo_url: str, redis_url: str, tmp_path: Path
) -> None:
    """Acknowledged with 200, killed while the model is thinking: the message is answered
    once after the restart: one visitor message, one reply, one send to the Graph API."""
    db_name = f"lgtest_crash_{uuid.uuid4().hex[:8]}"
    database = server.runtime.database.client[server.db_name]
    async with run_receiver() as receiver:
        # The model never answers in time: the turn is in flight when the process dies.
        receiver.by_path = {"/openai/chat/completions": "timeout"}
        receiver.sleep_seconds = 8
        env = service_env(tmp_path, mongo_url, db_name, f"{receiver.base_url}/graph",
                          AI_PROVIDER="openai", OPENAI_API_KEY="sk-test",
                          OPENAI_BASE_URL=f"{receiver.base_url}/openai",
                          OPENAI_TIMEOUT_SECONDS="60")
        async with killable_service(env, tmp_path) as (process, http):
            acknowledged = await post_signed(http, "/api/v1/webhook/whatsapp",
                                             whatsapp_payload("wamid.CRASH"))
            assert acknowledged.status_code == 200
            assert acknowledged.json()["accepted"] == 1
            await receiver.wait_for(lambda: len(receiver.at("/openai/chat/completions")) == 1)
            await kill(process)

        # Died mid-turn: the visitor's message is stored, no reply, the inbound row pending.
        stored = await database["messages"].find({"external_id": "wamid.CRASH"}).to_list()
        assert [m["role"] for m in stored] == ["user"]
        conversation_id = stored[0]["conversation_id"]
        assert await database["messages"].count_documents(
            {"conversation_id": conversation_id}) == 1
        inbound = await database["channel_inbound"].find_one({"_id": "whatsapp:wamid.CRASH"})
        assert inbound is not None
        assert (inbound["status"], inbound["attempts"]) == ("pending", 1)
        assert receiver.at(f"/graph/{PHONE_ID}/messages") == []

        async with fast_server(mongo_url, redis_url, tmp_path / "after", fresh=False,
                               mongodb_db_name=db_name,
                               **channel_settings(f"{receiver.base_url}/graph")) as (_s, http):
            await receiver.wait_for(lambda: len(receiver.at(f"/graph/{PHONE_ID}/messages")) == 1)

            async def finished() -> dict[str, Any] | None:
                row = await database["channel_inbound"].find_one(
                    {"_id": "whatsapp:wamid.CRASH"})
                return row if row is not None and row["status"] == "done" else None

            inbound = await wait_until(finished, "the inbound message to finish")
            assert inbound["attempts"] == 2
            assert inbound["conversation_id"] == conversation_id
            messages = await database["messages"].find(
                {"conversation_id": conversation_id}).sort("seq", 1).to_list()
            assert [(m["role"], m.get("external_id")) for m in messages] == [
                ("user", "wamid.CRASH"), ("assistant", None)]
            assert messages[0]["content"] == TEXT
            assert messages[1]["reply_to"] == str(messages[0]["_id"])
            sent = receiver.at(f"/graph/{PHONE_ID}/messages")[0].json
            assert sent["text"]["body"] == messages[1]["content"]
            lead = (await http.get(f"/api/v1/lead/{inbound['lead_id']}")).json()
            assert lead["phone"] == f"+{WA_FROM}"

            # The provider redelivers the same message: nothing new happens.
            again = await post_signed(http, "/api/v1/webhook/whatsapp",
                                      whatsapp_payload("wamid.CRASH"))
            assert again.json()["duplicates"] == 1
            await asyncio.sleep(0.5)  # a (wrong) second reply would be sent within this time
            assert len(receiver.at(f"/graph/{PHONE_ID}/messages")) == 1
            assert await database["messages"].count_documents(
                {"conversation_id": conversation_id}) == 2


DELIVERIES = """query($id: ID!) { webhookDeliveries(webhookId: $id) {
    event status attempts { statusCode } } }"""


async def test_done_when_whatsapp_to_conversation_reply_lead_and_signed_events_survive_a_kill(
    server: LiveServer, mongo_url: str, redis_url: str, tmp_path: Path
) -> None:
    """Issue 6's "done when": a WhatsApp payload produces a conversation, an assistant reply
    sent to the (local) Graph API, a lead with the phone number and signed lead.created and
    message.received deliveries to a receiver that verifies them; the service is killed
    while those deliveries fail, and after the restart none of them is lost."""
    db_name = f"lgtest_done_{uuid.uuid4().hex[:8]}"
    async with run_receiver() as graph, run_receiver() as hooks:
        graph.bodies[f"/graph/{PHONE_ID}/messages"] = lambda _body: {
            "messaging_product": "whatsapp", "messages": [{"id": "wamid.REPLY-1"}]}
        hooks.default = 500  # the integrator's endpoint is down
        env = service_env(tmp_path, mongo_url, db_name, f"{graph.base_url}/graph",
                          WEBHOOK_RETRY_BASE_SECONDS="0.3", WEBHOOK_RETRY_MAX_SECONDS="0.6",
                          WEBHOOK_MAX_ATTEMPTS="50", WEBHOOK_DISABLE_AFTER_FAILURES="100")
        async with killable_service(env, tmp_path) as (process, http):
            webhook_id = await register(http, f"{hooks.base_url}/hook",
                                        ["new_lead", "message.received"])
            acknowledged = await post_signed(http, "/api/v1/webhook/whatsapp",
                                             whatsapp_payload("wamid.DONE"))
            assert acknowledged.status_code == 200
            await graph.wait_for(lambda: len(graph.at(f"/graph/{PHONE_ID}/messages")) == 1)

            async def failing() -> bool:
                rows = (await gql(http, DELIVERIES, {"id": webhook_id}))["data"][
                    "webhookDeliveries"]
                events = sorted(r["event"] for r in rows)
                return events == ["lead.created", "message.received"] and all(
                    r["status"] == "pending" and r["attempts"] for r in rows)

            await wait_until(failing, "both deliveries to have failed at least once")
            await kill(process)  # both deliveries pending, mid-retry
        failed_before = len(hooks.received)
        assert all(r.answered == 500 for r in hooks.received)

        hooks.default = 200
        async with fast_server(mongo_url, redis_url, tmp_path / "after", fresh=False,
                               mongodb_db_name=db_name,
                               **channel_settings(f"{graph.base_url}/graph")) as (_s, http):
            await hooks.wait_for(lambda: {
                r.json["event"] for r in hooks.received if r.answered == 200
            } == {"lead.created", "message.received"})

            async def settled() -> list[dict[str, Any]] | None:
                rows: list[dict[str, Any]] = (await gql(http, DELIVERIES, {"id": webhook_id}))[
                    "data"]["webhookDeliveries"]
                return rows if rows and all(r["status"] != "pending" for r in rows) else None

            ledger = await wait_until(settled, "the ledger to settle")
            assert sorted((r["event"], r["status"]) for r in ledger) == [
                ("lead.created", "delivered"), ("message.received", "delivered")]
            for row in ledger:  # failed before the kill, delivered after it
                codes = [a["statusCode"] for a in row["attempts"]]
                assert codes[0] == 500 and codes[-1] == 200, codes

            # Every request the receiver got verifies, before and after the kill.
            payloads = [verify_delivery(item, SECRET) for item in hooks.received]
            assert len(payloads) > failed_before
            created = next(p for p in payloads if p["event"] == "lead.created")["data"]["lead"]
            assert created["phone"] == f"+{WA_FROM}"
            assert created["source"] == "whatsapp"
            received = next(p for p in payloads if p["event"] == "message.received")
            conversation = received["data"]["conversation"]
            assert (conversation["channel"], conversation["external_id"]) == (
                "whatsapp", WA_FROM)
            assert conversation["lead_id"] == created["id"]

            # The conversation holds the visitor's text and the reply the Graph API got.
            reply = graph.at(f"/graph/{PHONE_ID}/messages")[0]
            assert reply.headers["authorization"] == "Bearer wa-token"
            assert (reply.json["to"], reply.json["type"]) == (WA_FROM, "text")
            stored = (await gql(http, """query($id: ID!) { conversation(id: $id) {
                channel lead { phone } messages { edges { node { role content
                delivery { providerMessageId status } } } } } }""",
                                {"id": conversation["id"]}))["data"]["conversation"]
            assert stored["channel"] == "WHATSAPP"
            assert stored["lead"] == {"phone": f"+{WA_FROM}"}
            nodes = [edge["node"] for edge in stored["messages"]["edges"]]
            assert [(n["role"], n["content"]) for n in nodes] == [
                ("USER", TEXT), ("ASSISTANT", reply.json["text"]["body"])]
            assert nodes[1]["delivery"] == {"providerMessageId": "wamid.REPLY-1",
                                            "status": "accepted"}
            assert len(graph.at(f"/graph/{PHONE_ID}/messages")) == 1
