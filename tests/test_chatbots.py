"""Seed 004 chatbots: CRUD, datasets (JSON/CSV import), background training with a real
held-out accuracy, deployment, and a deployed bot answering its own conversations."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from bson import ObjectId
from pymongo import AsyncMongoClient

from leadgraph.domain.assistant.training_data import BUILTIN_EXAMPLES
from tests.conftest import make_settings, serve
from tests.support import API_KEY, GraphQLSocket, LiveServer, gql

# Intents the built-in classifier has never heard of.
PIZZA_EXAMPLES = [
    *({"text": t, "intent": "order_pizza"} for t in [
        "i want to order a pizza", "one large pepperoni pizza please", "can i get a margherita",
        "order two pizzas with extra cheese", "i would like a veggie pizza",
        "pizza with mushrooms and olives", "get me a hawaiian pizza",
        "a medium pizza to order", "order pizza for dinner", "large cheese pizza order",
    ]),
    *({"text": t, "intent": "track_delivery"} for t in [
        "where is my delivery", "track my order status", "how long until the driver arrives",
        "is my food on the way", "delivery tracking please", "when will the courier arrive",
        "my delivery is late where is it", "track the delivery driver",
        "status of my delivery", "how far is the driver",
    ]),
    *({"text": t, "intent": "cancel_order"} for t in [
        "cancel my order", "i want to cancel", "please cancel the pizza order",
        "stop my order", "cancel it now", "i changed my mind cancel",
        "do not deliver cancel order", "cancel the order please",
        "revoke my order", "cancel everything i ordered",
    ]),
]
BOT_INTENTS = {"order_pizza", "track_delivery", "cancel_order"}


async def _wait_job(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    for _ in range(200):
        response = await client.get(f"/api/training/jobs/{job_id}")
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()["data"]
        if job["status"] in ("completed", "failed"):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"training job {job_id} did not finish")


async def test_bot_trained_and_deployed_answers_with_its_own_intents(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    builtin = {example.intent for example in BUILTIN_EXAMPLES}
    assert not BOT_INTENTS & builtin

    dataset = await client.post("/api/training/datasets", json={
        "name": "pizza", "examples": PIZZA_EXAMPLES,
    })
    assert dataset.status_code == 201, dataset.text
    assert dataset.json()["data"]["exampleCount"] == 30
    assert dataset.json()["data"]["intents"] == sorted(BOT_INTENTS)
    dataset_id = dataset.json()["data"]["id"]

    created = await client.post("/api/chatbots", json={
        "name": "Pizza bot", "type": "ai", "description": "orders", "datasetId": dataset_id,
        "settings": {"language": "en"},
    })
    assert created.status_code == 201, created.text
    bot = created.json()["data"]
    assert bot["type"] == "ai" and bot["datasetId"] == dataset_id
    assert bot["deployedModelVersion"] is None

    no_model = await client.post(f"/api/chatbots/{bot['id']}/deploy")
    assert no_model.status_code == 409, no_model.text
    assert no_model.json()["status"] == "error"

    train = await client.post(f"/api/chatbots/{bot['id']}/train")
    assert train.status_code == 202, train.text
    assert train.json()["data"]["status"] in ("queued", "running", "completed")
    job = await _wait_job(client, train.json()["data"]["id"])
    assert job["status"] == "completed", job
    assert job["progress"] == 1.0
    assert job["metrics"]["testExamples"] == 6 and job["metrics"]["trainExamples"] == 24
    assert job["metrics"]["intents"] == sorted(BOT_INTENTS)
    assert 0.5 <= job["metrics"]["accuracy"] <= 1.0
    assert job["modelVersionId"]

    deployed = await client.post(f"/api/chatbots/{bot['id']}/deploy")
    assert deployed.status_code == 200, deployed.text
    assert deployed.json()["data"]["deployedModelVersion"] == job["modelVersionId"]

    started = await client.post("/api/conversations", json={"chatbotId": bot["id"]})
    assert started.status_code == 201, started.text
    conversation = started.json()["data"]
    assert conversation["chatbotId"] == bot["id"]

    expected = {
        "i would like to order a large pepperoni pizza": "order_pizza",
        "where is the driver with my delivery": "track_delivery",
        "please cancel my order": "cancel_order",
    }
    for text, intent in expected.items():
        sent = await client.post(f"/api/conversations/{conversation['id']}/messages",
                                 json={"text": text})
        assert sent.status_code == 201, sent.text
        assert sent.json()["data"]["reply"]["analysis"]["intent"] == intent

    # A conversation without a bot still uses the built-in assistant.
    plain = await client.post("/api/conversations", json={})
    assert plain.status_code == 201 and plain.json()["data"]["chatbotId"] is None
    sent = await client.post(f"/api/conversations/{plain.json()['data']['id']}/messages",
                             json={"text": "please cancel my pizza order"})
    assert sent.json()["data"]["reply"]["analysis"]["intent"] not in BOT_INTENTS

    analytics = (await client.get(f"/api/chatbots/{bot['id']}/analytics")).json()["data"]
    assert {key: analytics[key] for key in (
        "trainingJobs", "modelVersions", "conversations", "deployedModelVersion", "messages",
    )} == {"trainingJobs": 1, "modelVersions": 1, "conversations": 1,
           "deployedModelVersion": job["modelVersionId"],
           "messages": {"total": 6, "user": 3, "assistant": 3}}
    assert analytics["topIntents"] == [{"intent": intent, "count": 1}
                                       for intent in sorted(expected.values())]


async def test_chatbot_crud_and_validation(
    server: LiveServer, client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    bad = await client.post("/api/chatbots", json={"type": "magic", "settings": []})
    assert bad.status_code == 400
    assert {d["field"] for d in bad.json()["error"]["details"]} == {"name", "type", "settings"}
    assert (await anonymous.get("/api/chatbots")).status_code == 401
    missing = await client.post("/api/chatbots", json={"name": "x", "datasetId": "nope"})
    assert missing.status_code == 400
    assert missing.json()["error"]["details"] == [
        {"field": "datasetId", "message": "no such dataset"}]

    ids = []
    for name in ("one", "two", "three"):
        response = await client.post("/api/chatbots", json={"name": name})
        assert response.status_code == 201
        assert response.json()["data"]["type"] == "rule"
        ids.append(response.json()["data"]["id"])
    listed = await client.get("/api/chatbots", params={"page": 1, "pageSize": 2})
    body = listed.json()["data"]
    assert [b["name"] for b in body["items"]] == ["three", "two"]
    assert body["pagination"]["total"] == 3 and body["pagination"]["pages"] == 2

    updated = await client.put(f"/api/chatbots/{ids[0]}",
                               json={"name": "uno", "type": "hybrid"})
    assert updated.status_code == 200
    assert updated.json()["data"]["name"] == "uno"
    assert updated.json()["data"]["type"] == "hybrid"
    assert (await client.get(f"/api/chatbots/{ids[0]}")).json()["data"]["name"] == "uno"

    deleted = await client.delete(f"/api/chatbots/{ids[0]}")
    assert deleted.json()["data"] == {"id": ids[0], "deleted": True}
    gone = await client.get(f"/api/chatbots/{ids[0]}")
    assert gone.status_code == 404 and gone.json()["status"] == "error"
    assert (await client.get("/api/chatbots/not-an-id")).status_code == 404
    no_bot = await client.post("/api/conversations", json={"chatbotId": ids[0]})
    assert no_bot.status_code == 404


async def test_dataset_import_json_csv_and_job_errors(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    csv_content = "text,intent\n" + "\n".join(
        f'"{e["text"]}",{e["intent"]}' for e in PIZZA_EXAMPLES
    )
    from_csv = await client.post("/api/training/datasets", json={
        "name": "csv", "format": "csv", "content": csv_content,
    })
    assert from_csv.status_code == 201, from_csv.text
    assert from_csv.json()["data"]["examples"] == PIZZA_EXAMPLES

    from_json = await client.post("/api/training/datasets", json={
        "name": "json", "format": "json", "content": json.dumps({"examples": PIZZA_EXAMPLES[:3]}),
    })
    assert from_json.status_code == 201
    assert from_json.json()["data"]["intents"] == ["order_pizza"]

    bad_csv = await client.post("/api/training/datasets", json={
        "name": "bad", "format": "csv", "content": "a,b\n1,2",
    })
    assert bad_csv.status_code == 400
    assert bad_csv.json()["error"]["details"][0]["field"] == "content"
    bad_examples = await client.post("/api/training/datasets", json={
        "name": "bad", "examples": [{"text": "hi"}],
    })
    assert bad_examples.json()["error"]["details"] == [
        {"field": "examples[0].intent", "message": "is required"}]

    one_intent = from_json.json()["data"]["id"]
    renamed = await client.put(f"/api/training/datasets/{one_intent}", json={"name": "renamed"})
    assert renamed.json()["data"]["name"] == "renamed"
    bot = (await client.post("/api/chatbots", json={"name": "b"})).json()["data"]
    no_dataset = await client.post("/api/training/jobs", json={"chatbotId": bot["id"]})
    assert no_dataset.status_code == 400
    single = await client.post("/api/training/jobs",
                               json={"chatbotId": bot["id"], "datasetId": one_intent})
    assert single.status_code == 400
    assert "two intents" in single.json()["error"]["details"][0]["message"]

    job = await client.post("/api/training/jobs", json={
        "chatbotId": bot["id"], "datasetId": from_csv.json()["data"]["id"]})
    assert job.status_code == 202
    finished = await _wait_job(client, job.json()["data"]["id"])
    assert finished["status"] == "completed"
    listed = await client.get("/api/training/jobs", params={"chatbotId": bot["id"]})
    assert [j["id"] for j in listed.json()["data"]["items"]] == [finished["id"]]

    datasets = await client.get("/api/training/datasets")
    assert datasets.json()["data"]["pagination"]["total"] == 2
    assert (await client.delete(f"/api/training/datasets/{one_intent}")).status_code == 200
    assert (await client.get(f"/api/training/datasets/{one_intent}")).status_code == 404


async def test_job_left_running_is_resumed_after_restart(
    mongo_url: str, redis_url: str, tmp_path: Path
) -> None:
    settings = make_settings(mongo_url, redis_url, tmp_path)
    database = AsyncMongoClient[dict[str, Any]](mongo_url, tz_aware=True)[
        settings.mongodb_db_name]
    try:
        now = datetime.now(UTC)
        dataset_id, bot_id, job_id = ObjectId(), ObjectId(), ObjectId()
        await database["training_datasets"].insert_one({
            "_id": dataset_id, "name": "d", "description": None, "examples": PIZZA_EXAMPLES,
            "created_at": now, "updated_at": now})
        await database["chatbots"].insert_one({
            "_id": bot_id, "name": "b", "description": None, "type": "ai", "settings": {},
            "template_id": None, "dataset_id": str(dataset_id),
            "deployed_model_version": None, "deployed_at": None,
            "created_at": now, "updated_at": now})
        # What a process killed mid-training leaves behind.
        await database["training_jobs"].insert_one({
            "_id": job_id, "chatbot_id": str(bot_id), "dataset_id": str(dataset_id),
            "status": "running", "progress": 0.6, "metrics": None, "model_version_id": None,
            "error": None, "created_at": now, "started_at": now, "finished_at": None})
        async with serve(settings) as restarted, httpx.AsyncClient(
            base_url=restarted.base_url, headers={"X-API-Key": API_KEY}, timeout=30
        ) as http:
            job = await _wait_job(http, str(job_id))
            assert job["status"] == "completed"
            assert job["metrics"]["intents"] == sorted(BOT_INTENTS)
            version = await database["model_versions"].find_one(
                {"_id": ObjectId(job["modelVersionId"])})
            assert version is not None and version["chatbot_id"] == str(bot_id)
            assert set(version["model"]["log_priors"]) == BOT_INTENTS
    finally:
        await database.client.drop_database(settings.mongodb_db_name)
        await database.client.close()


CHATBOT_FIELDS = "id name type settings datasetId deployedModelVersion"


async def test_graphql_chatbot_lifecycle_with_training_subscription(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    dataset = await client.post("/api/training/datasets",
                                json={"name": "pizza", "examples": PIZZA_EXAMPLES})
    dataset_id = dataset.json()["data"]["id"]
    created = await gql(client, f"""mutation($input: ChatbotInput!) {{
        createChatbot(input: $input) {{ {CHATBOT_FIELDS} }} }}""",
        {"input": {"name": "g", "type": "HYBRID", "settings": {"tone": "warm"},
                   "datasetId": dataset_id}})
    bot = created["data"]["createChatbot"]
    assert bot == {"id": bot["id"], "name": "g", "type": "HYBRID",
                   "settings": {"tone": "warm"}, "datasetId": dataset_id,
                   "deployedModelVersion": None}

    invalid = await gql(client, """mutation { createChatbot(input: {name: "  "}) { id } }""")
    assert invalid["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert invalid["data"] is None

    trained = await gql(client, """mutation($id: ID!) { trainChatbot(id: $id) {
        id status } }""", {"id": bot["id"]})
    job_id = trained["data"]["trainChatbot"]["id"]
    socket = await GraphQLSocket.open(f"{server.ws_url}/graphql", {"apiKey": API_KEY})
    await socket.subscribe("1", """subscription($id: ID!) { trainingJobEvents(jobId: $id) {
        id status progress accuracy modelVersionId } }""", {"id": job_id})
    events = []
    for _ in range(10):
        event = (await socket.next_data("1"))["data"]["trainingJobEvents"]
        events.append(event)
        if event["status"] in ("COMPLETED", "FAILED"):
            break
    await socket.close()
    final = events[-1]
    assert final["status"] == "COMPLETED" and final["progress"] == 1.0
    assert 0.5 <= final["accuracy"] <= 1.0 and final["modelVersionId"]

    polled = await gql(client, "query($id: ID!) { trainingJob(id: $id) { status } }",
                       {"id": job_id})
    assert polled["data"]["trainingJob"] == {"status": "COMPLETED"}
    deployed = await gql(client, """mutation($id: ID!) { deployChatbot(id: $id) {
        deployedModelVersion } }""", {"id": bot["id"]})
    assert deployed["data"]["deployChatbot"]["deployedModelVersion"] == final["modelVersionId"]

    listed = await gql(client, "{ chatbots { name } datasets { name intents exampleCount } }")
    assert listed["data"] == {"chatbots": [{"name": "g"}], "datasets": [
        {"name": "pizza", "intents": sorted(BOT_INTENTS), "exampleCount": 30}]}
    updated = await gql(client, """mutation($id: ID!) { updateChatbot(id: $id,
        input: {name: "h"}) { name type } }""", {"id": bot["id"]})
    assert updated["data"]["updateChatbot"] == {"name": "h", "type": "HYBRID"}
    deleted = await gql(client, "mutation($id: ID!) { deleteChatbot(id: $id) }",
                        {"id": bot["id"]})
    assert deleted["data"]["deleteChatbot"] == bot["id"]
    gone = await gql(client, "query($id: ID!) { chatbot(id: $id) { id } }", {"id": bot["id"]})
    assert gone["data"]["chatbot"] is None


async def _bot_conversation(client: httpx.AsyncClient, bot_id: str | None,
                            texts: list[str]) -> str:
    started = await client.post("/api/conversations",
                                json={"chatbotId": bot_id} if bot_id else {})
    assert started.status_code == 201, started.text
    conversation_id: str = started.json()["data"]["id"]
    for text in texts:
        sent = await client.post(f"/api/conversations/{conversation_id}/messages",
                                 json={"text": text})
        assert sent.status_code == 201, sent.text
    return conversation_id


async def test_analytics_are_computed_from_the_bots_own_conversations(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    bot = (await client.post("/api/chatbots", json={"name": "counted"})).json()["data"]
    other = (await client.post("/api/chatbots", json={"name": "other"})).json()["data"]
    empty = await client.get(f"/api/chatbots/{bot['id']}/analytics")
    assert empty.status_code == 200, empty.text
    assert empty.json()["data"] == {
        "chatbotId": bot["id"], "deployedModelVersion": None, "trainingJobs": 0,
        "modelVersions": 0, "conversations": 0, "conversationsByStatus": {},
        "purchaseIntent": {}, "leadsCaptured": 0, "conversionRate": 0.0,
        "messages": {"total": 0, "user": 0, "assistant": 0},
        "averageMessagesPerConversation": 0.0, "topIntents": [], "averageSentiment": None,
        "averageConfidence": None, "lastActiveAt": None,
    }

    mine = [
        await _bot_conversation(client, bot["id"], [
            "Hi, I need a mobile app for my shop",
            "My email is jane.roe@example.com, we want it in 3 months, budget $10k-20k",
        ]),
        await _bot_conversation(client, bot["id"], ["hello there"]),
        await _bot_conversation(client, bot["id"], []),
    ]
    # Neither another bot's conversations nor bot-less ones count.
    await _bot_conversation(client, other["id"], ["I want a website", "thanks a lot"])
    await _bot_conversation(client, None, ["I need a chatbot"])

    # What the figures must be, worked out from what the API says happened.
    visitor: list[dict[str, Any]] = []
    conversations = []
    for conversation_id in mine:
        conversations.append(
            (await client.get(f"/api/conversations/{conversation_id}")).json()["data"])
        listed = await client.get(f"/api/conversations/{conversation_id}/messages",
                                  params={"pageSize": 100})
        visitor += [m for m in listed.json()["data"]["items"] if m["role"] == "user"]
    intents: dict[str, int] = {}
    for message in visitor:
        intents[message["analysis"]["intent"]] = intents.get(
            message["analysis"]["intent"], 0) + 1
    leads = sum(1 for c in conversations if c["leadId"])
    assert leads == 1  # the first conversation gave an email and a project
    purchase: dict[str, int] = {}
    for conversation in conversations:
        purchase[conversation["purchaseIntent"]] = purchase.get(
            conversation["purchaseIntent"], 0) + 1

    for prefix in ("/api", "/api/v1", "/api/v0"):
        response = await client.get(f"{prefix}/chatbots/{bot['id']}/analytics")
        assert response.status_code == 200, response.text
        figures = response.json()["data"]
        assert figures["conversations"] == 3
        assert figures["conversationsByStatus"] == {"open": 3}
        assert figures["leadsCaptured"] == 1 and figures["conversionRate"] == round(1 / 3, 4)
        assert figures["purchaseIntent"] == dict(sorted(purchase.items()))
        assert figures["messages"] == {"total": 6, "user": 3, "assistant": 3}
        assert figures["averageMessagesPerConversation"] == 2.0
        assert figures["topIntents"] == [
            {"intent": intent, "count": count}
            for intent, count in sorted(intents.items(), key=lambda item: (-item[1], item[0]))]
        assert figures["averageSentiment"] == round(
            sum(m["analysis"]["sentiment"] for m in visitor) / 3, 4)
        assert figures["averageConfidence"] == round(
            sum(m["analysis"]["confidence"] for m in visitor) / 3, 4)
        assert figures["lastActiveAt"] == max(c["lastActive"] for c in conversations)

    missing = await client.get("/api/chatbots/nope/analytics")
    assert missing.status_code == 404 and missing.json()["status"] == "error"


async def _job_row(database: Any, job_id: ObjectId) -> dict[str, Any]:
    row: dict[str, Any] | None = await database["training_jobs"].find_one({"_id": job_id})
    assert row is not None
    return row


async def _wait_row(database: Any, job_id: ObjectId, status: str) -> dict[str, Any]:
    for _ in range(400):
        row = await _job_row(database, job_id)
        if row["status"] == status:
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} never became {status}: {row}")


async def test_job_leases_with_two_replicas(
    mongo_url: str, redis_url: str, tmp_path: Path
) -> None:
    """Of two replicas exactly one resumes an orphaned job; a job whose lease is live is left
    to its owner; once that owner's lease lapses one replica takes it over; a job that keeps
    losing its replica is marked failed, not retried forever."""
    settings = make_settings(mongo_url, redis_url, tmp_path, training_lease_seconds=0.6,
                             training_max_attempts=3)
    scope = settings.mongodb_db_name  # the store scopes job rows by database name
    database = AsyncMongoClient[dict[str, Any]](mongo_url, tz_aware=True)[scope]
    try:
        now = datetime.now(UTC)
        dataset_id, bot_id = ObjectId(), ObjectId()
        await database["training_datasets"].insert_one({
            "_id": dataset_id, "name": "d", "description": None, "examples": PIZZA_EXAMPLES,
            "created_at": now, "updated_at": now})
        await database["chatbots"].insert_one({
            "_id": bot_id, "name": "b", "description": None, "type": "ai", "settings": {},
            "template_id": None, "dataset_id": str(dataset_id),
            "deployed_model_version": None, "deployed_at": None,
            "created_at": now, "updated_at": now})

        async def job(**fields: Any) -> ObjectId:
            job_id = ObjectId()
            await database["training_jobs"].insert_one({
                "_id": job_id, "db": scope, "chatbot_id": str(bot_id),
                "dataset_id": str(dataset_id), "status": "running", "progress": 0.6,
                "metrics": None, "model_version_id": None, "error": None, "created_at": now,
                "started_at": now, "finished_at": None, **fields})
            return job_id

        orphan = await job()  # killed before it ever held a lease
        alive = await job(lease_owner="replica-alive", attempts=1,
                          lease_expires_at=time.time() + 3600)
        dying = await job(lease_owner="replica-dead", attempts=1,
                          lease_expires_at=time.time() + 1.5)
        hopeless = await job(attempts=3)  # its replica already died three times

        async with serve(settings) as first, serve(settings) as second:
            owners = {server.runtime.use_cases.chatbots.owner  # type: ignore[union-attr]
                      for server in (first, second)}
            assert len(owners) == 2

            async def versions_of(job_id: ObjectId) -> int:
                return await database["model_versions"].count_documents(
                    {"job_id": str(job_id)})

            done = await _wait_row(database, orphan, "completed")
            assert done["lease_owner"] in owners and done["attempts"] == 1
            assert await versions_of(orphan) == 1

            failed = await _wait_row(database, hopeless, "failed")
            assert failed["error"].startswith("abandoned")
            assert await versions_of(hopeless) == 0

            taken_over = await _wait_row(database, dying, "completed")
            assert taken_over["lease_owner"] in owners and taken_over["attempts"] == 2
            assert await versions_of(dying) == 1

            # Many lease rounds later, the job whose owner keeps its lease is still its own.
            untouched = await _job_row(database, alive)
            assert (untouched["status"], untouched["lease_owner"], untouched["attempts"]) == (
                "running", "replica-alive", 1)
            assert await versions_of(alive) == 0
            # Its owner dies (the lease is no longer renewed and lapses): taken over once.
            await database["training_jobs"].update_one(
                {"_id": alive}, {"$set": {"lease_expires_at": time.time() - 1}})
            resumed = await _wait_row(database, alive, "completed")
            assert resumed["lease_owner"] in owners and resumed["attempts"] == 2
            assert await versions_of(alive) == 1
    finally:
        for name in ("training_jobs", "model_versions", "training_datasets", "chatbots"):
            await database[name].delete_many({"$or": [{"db": scope}, {"chatbot_id": str(bot_id)},
                                                      {"_id": {"$in": [bot_id, dataset_id]}}]})
        await database.client.close()


ANALYTICS_FIELDS = """chatbotId deployedModelVersion trainingJobs modelVersions conversations
    conversationsByStatus { key count } purchaseIntent { key count } leadsCaptured
    conversionRate messages { total user assistant } averageMessagesPerConversation
    topIntents { intent count } averageSentiment averageConfidence lastActiveAt"""


def _as_rest(figures: dict[str, Any]) -> dict[str, Any]:
    """``Chatbot.analytics`` in the REST answer's shape (typed lists back to maps; REST gives
    whole seconds, GraphQL's DateTime keeps the milliseconds)."""
    return {
        **figures,
        "conversationsByStatus": {i["key"]: i["count"] for i in figures["conversationsByStatus"]},
        "purchaseIntent": {i["key"]: i["count"] for i in figures["purchaseIntent"]},
        "lastActiveAt": None if figures["lastActiveAt"] is None
        else datetime.fromisoformat(figures["lastActiveAt"]).replace(microsecond=0),
    }


def _rest_parsed(figures: dict[str, Any]) -> dict[str, Any]:
    last = figures["lastActiveAt"]
    return {**figures, "lastActiveAt": None if last is None else datetime.fromisoformat(last)}


async def test_graphql_chatbot_analytics_match_rest_and_are_batched(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    bot = (await client.post("/api/chatbots", json={"name": "counted"})).json()["data"]
    other = (await client.post("/api/chatbots", json={"name": "other"})).json()["data"]
    quiet = (await client.post("/api/chatbots", json={"name": "quiet"})).json()["data"]
    one = "query($id: ID!) { chatbot(id: $id) { analytics { " + ANALYTICS_FIELDS + " } } }"
    empty = await gql(client, one, {"id": quiet["id"]})
    assert "errors" not in empty, empty
    assert _as_rest(empty["data"]["chatbot"]["analytics"]) == _rest_parsed(
        (await client.get(f"/api/chatbots/{quiet['id']}/analytics")).json()["data"])
    assert empty["data"]["chatbot"]["analytics"]["conversationsByStatus"] == []
    assert empty["data"]["chatbot"]["analytics"]["averageSentiment"] is None

    mine = [
        await _bot_conversation(client, bot["id"], [
            "Hi, I need a mobile app for my shop",
            "My email is jane.roe@example.com, we want it in 3 months, budget $10k-20k",
        ]),
        await _bot_conversation(client, bot["id"], ["hello there"]),
        await _bot_conversation(client, bot["id"], []),
    ]
    await _bot_conversation(client, other["id"], ["I want a website", "thanks a lot"])
    await _bot_conversation(client, None, ["I need a chatbot"])
    visitor: list[dict[str, Any]] = []
    conversations = []
    for conversation_id in mine:
        conversations.append(
            (await client.get(f"/api/conversations/{conversation_id}")).json()["data"])
        listed = await client.get(f"/api/conversations/{conversation_id}/messages",
                                  params={"pageSize": 100})
        visitor += [m for m in listed.json()["data"]["items"] if m["role"] == "user"]
    intents: dict[str, int] = {}
    for message in visitor:
        intent = message["analysis"]["intent"]
        intents[intent] = intents.get(intent, 0) + 1
    purchase: dict[str, int] = {}
    for conversation in conversations:
        purchase[conversation["purchaseIntent"]] = purchase.get(
            conversation["purchaseIntent"], 0) + 1

    answer = await gql(client, one, {"id": bot["id"]})
    assert "errors" not in answer, answer
    figures = answer["data"]["chatbot"]["analytics"]
    # The REST test's expected figures, through GraphQL.
    assert figures["chatbotId"] == bot["id"]
    assert figures["conversations"] == 3
    assert figures["conversationsByStatus"] == [{"key": "open", "count": 3}]
    assert figures["leadsCaptured"] == 1 and figures["conversionRate"] == round(1 / 3, 4)
    assert figures["purchaseIntent"] == [{"key": k, "count": v}
                                         for k, v in sorted(purchase.items())]
    assert figures["messages"] == {"total": 6, "user": 3, "assistant": 3}
    assert figures["averageMessagesPerConversation"] == 2.0
    assert figures["topIntents"] == [
        {"intent": intent, "count": count}
        for intent, count in sorted(intents.items(), key=lambda item: (-item[1], item[0]))]
    assert figures["averageSentiment"] == round(
        sum(m["analysis"]["sentiment"] for m in visitor) / 3, 4)
    assert figures["averageConfidence"] == round(
        sum(m["analysis"]["confidence"] for m in visitor) / 3, 4)
    assert _as_rest(figures)["lastActiveAt"] == max(
        datetime.fromisoformat(c["lastActive"]) for c in conversations)
    # One behaviour, two transports: the same numbers for the same bot.
    rest = (await client.get(f"/api/chatbots/{bot['id']}/analytics")).json()["data"]
    assert _as_rest(figures) == _rest_parsed(rest)

    # The list batches the figures: three bots with traffic cost the commands of two bots
    # (the newest two: ``quiet`` has none, ``other`` has some), not three times one bot's.
    def listing(first: int) -> str:
        return f"{{ chatbots(first: {first}) {{ name analytics {{ {ANALYTICS_FIELDS} }} }} }}"

    server.commands.reset()
    two = await gql(client, listing(2))
    two_commands = server.commands.data_commands()
    server.commands.reset()
    page = await gql(client, listing(10))
    page_commands = server.commands.data_commands()
    assert "errors" not in two and "errors" not in page, page
    assert page_commands == two_commands, server.commands.request_log()
    by_name = {b["name"]: b["analytics"] for b in page["data"]["chatbots"]}
    assert _as_rest(by_name["counted"]) == _rest_parsed(rest)
    assert (by_name["other"]["conversations"], by_name["other"]["messages"]["total"]) == (1, 4)
    assert by_name["quiet"]["conversations"] == 0
    for name, each in (("other", other), ("quiet", quiet)):
        same = (await client.get(f"/api/chatbots/{each['id']}/analytics")).json()["data"]
        assert _as_rest(by_name[name]) == _rest_parsed(same)
    # Each bot's analytics is charged like the other aggregations (10), times the page.
    costed = await gql(client, "{ chatbots(first: 5) { analytics { conversations } } }")
    plain = await gql(client, "{ chatbots(first: 5) { name } }")
    assert (costed["extensions"]["cost"]["requested"]
            - plain["extensions"]["cost"]["requested"]) == 5 * 10

    missing = await gql(client, "query($id: ID!) { chatbot(id: $id) { analytics "
                        "{ conversations } } }", {"id": "nope"})
    assert missing["data"] == {"chatbot": None}
