"""Seed 004 chatbots: CRUD, datasets (JSON/CSV import), background training with a real
held-out accuracy, deployment, and a deployed bot answering its own conversations."""

from __future__ import annotations

import asyncio
import json
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

    analytics = await client.get(f"/api/chatbots/{bot['id']}/analytics")
    assert analytics.json()["data"] == {
        "trainingJobs": 1, "modelVersions": 1, "conversations": 1,
        "deployedModelVersion": job["modelVersionId"],
    }


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
