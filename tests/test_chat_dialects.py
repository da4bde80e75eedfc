"""Every chat transport, shape by shape: seeds 000/001/003/004, GraphQL and seed 003's socket.

The same conversation is reachable through all of them; each answers in its own document's
shapes and error envelopes, and a bad request changes nothing that is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.support import (
    API_KEY,
    GraphQLSocket,
    LiveServer,
    gql,
    wait_for_subscribers,
    without_cost,
)

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
ISO_MILLIS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
MISSING_ID = "0123456789abcdef01234567"  # a well-formed ObjectId nobody has
TOO_LONG = "x" * 4001
# (label, body overrides); ``None`` as a value means "leave the field out".
BAD_TEXTS: list[tuple[str, object]] = [
    ("empty", ""), ("whitespace", "   \n\t "), ("missing", None), ("number", 123),
    ("too_long", TOO_LONG),
]

SEND = """mutation($id: ID!, $text: String!) {
  sendMessage(conversationId: $id, text: $text) {
    userMessage { id conversationId seq role content sender }
    reply { id seq role content sender analysis { intent } }
    analysis { intent confidence sentiment purchaseIntent purchaseReasons
               entities { type value text } }
    conversation { id channel status messageCount currentStep sessionId }
    lead { id }
  }
}"""
START = """mutation($input: StartConversationInput!) {
  startConversation(input: $input) { id channel status sessionId messageCount createdAt }
}"""
MESSAGE_ADDED = """subscription($id: ID!) {
  messageAdded(conversationId: $id) { seq role content conversationId }
}"""


def body_with(field: str, value: object, **extra: object) -> dict[str, object]:
    body: dict[str, object] = dict(extra)
    if value is not None:
        body[field] = value
    return body


async def start_graphql(client: httpx.AsyncClient, **fields: object) -> str:
    result = await gql(client, START, {"input": fields})
    assert "errors" not in result, result
    conversation_id: str = result["data"]["startConversation"]["id"]
    return conversation_id


async def message_count(client: httpx.AsyncClient, conversation_id: str) -> int:
    """Messages actually stored, read through a transport other than the one under test."""
    result = await gql(client, """query($id: ID!) { conversation(id: $id) {
        messageCount messages(first: 100) { edges { node { seq } } } } }""",
                       {"id": conversation_id})
    conversation = result["data"]["conversation"]
    stored = [edge["node"]["seq"] for edge in conversation["messages"]["edges"]]
    assert stored == list(range(1, len(stored) + 1))
    assert conversation["messageCount"] == len(stored)
    return len(stored)


async def total_conversations(client: httpx.AsyncClient) -> int:
    result = await gql(client, "{ conversations { totalCount } }")
    total: int = result["data"]["conversations"]["totalCount"]
    return total


async def jwt_for(anonymous: httpx.AsyncClient, email: str) -> tuple[str, str]:
    """Seed 003's own way in: register then log in. Returns (access token, user id)."""
    registered = await anonymous.post("/auth/register", json={
        "email": email, "password": "correct-horse-battery-9", "name": "Casey Care",
    })
    assert registered.status_code == 201, registered.text
    assert set(registered.json()) == {"id", "email", "name", "created_at"}
    login = await anonymous.post("/auth/login", json={
        "email": email, "password": "correct-horse-battery-9",
    })
    assert login.status_code == 200, login.text
    grant = login.json()
    assert grant["token_type"] == "bearer"
    assert grant["user"]["id"] == registered.json()["id"]
    return grant["access_token"], grant["user"]["id"]


# -- seed 000: POST /api/chat, GET|DELETE /api/sessions/{id} ----------------------------------


async def test_agency_chat_shapes_and_session_lifecycle(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/chat", json={
        "message": "I need a mobile app for my business", "session_id": "sess-000",
        "user_info": {"name": "Optional User Name", "email": "Optional_Email@Example.com"},
    })
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"response", "session_id", "conversation_state"}
    assert body["session_id"] == "sess-000"
    assert isinstance(body["response"], str) and body["response"]
    assert set(body["conversation_state"]) == {"current_step", "collected_info"}
    assert body["conversation_state"]["current_step"] == "requirement_gathering"
    assert body["conversation_state"]["collected_info"] == {
        "project_type": "mobile_app", "name": "Optional User Name",
        "email": "optional_email@example.com",
    }

    session = await client.get("/api/sessions/sess-000")
    assert session.status_code == 200, session.text
    detail = session.json()
    assert set(detail) == {"session_id", "created_at", "last_active", "conversation_history",
                           "collected_info"}
    assert detail["session_id"] == "sess-000"
    assert ISO_Z.match(detail["created_at"]) and ISO_Z.match(detail["last_active"])
    assert detail["created_at"] <= detail["last_active"]
    history = detail["conversation_history"]
    assert [set(entry) for entry in history] == [{"role", "content", "timestamp"}] * 2
    assert [(m["role"], m["content"]) for m in history] == [
        ("user", "I need a mobile app for my business"), ("assistant", body["response"]),
    ]
    assert all(ISO_Z.match(m["timestamp"]) for m in history)
    assert detail["collected_info"] == body["conversation_state"]["collected_info"]

    deleted = await client.delete("/api/sessions/sess-000")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"status": "success", "message": "Session deleted successfully"}
    for gone in (await client.get("/api/sessions/sess-000"),
                 await client.delete("/api/sessions/sess-000")):
        assert gone.status_code == 404, gone.text
        error = gone.json()
        assert set(error) == {"error"}
        assert set(error["error"]) == {"code", "message", "details"}
        assert error["error"]["code"] == "not_found"
        assert "sess-000" in error["error"]["message"]
        assert error["error"]["details"] == {}
    assert await total_conversations(client) == 0


async def test_agency_chat_without_session_id_generates_a_new_one(
    client: httpx.AsyncClient,
) -> None:
    first = await client.post("/api/chat", json={"message": "Hello"})
    second = await client.post("/api/chat", json={"message": "Hello"})
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    ids = [first.json()["session_id"], second.json()["session_id"]]
    assert all(isinstance(i, str) and len(i) >= 16 for i in ids)
    assert ids[0] != ids[1]
    for session_id in ids:
        detail = (await client.get(f"/api/sessions/{session_id}")).json()
        assert detail["session_id"] == session_id
        assert [m["role"] for m in detail["conversation_history"]] == ["user", "assistant"]
        assert detail["conversation_history"][0]["content"] == "Hello"
    # Continuing with the returned id continues that session.
    again = await client.post("/api/chat", json={"message": "I need a website",
                                                 "session_id": ids[0]})
    assert again.json()["session_id"] == ids[0]
    detail = (await client.get(f"/api/sessions/{ids[0]}")).json()
    assert len(detail["conversation_history"]) == 4
    assert await total_conversations(client) == 2


async def test_agency_chat_needs_the_api_key(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.post("/api/chat", json={"message": "Hello", "session_id": "s"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


# -- seed 001: POST /api/v1/chat/respond (public), GET /api/v1/lead/{id} ----------------------


async def test_lead_capture_chat_is_public_and_continues_by_user_id(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    first = await anonymous.post("/api/v1/chat/respond", json={
        "message": "I need a mobile app for my business", "user_id": "web_user_12345",
        "source": "website",
    })
    assert first.status_code == 200, first.text
    assert set(first.json()) == {"response", "intent", "follow_up"}
    assert first.json()["intent"] in {"HOT", "WARM", "COLD", "NEUTRAL"}
    assert isinstance(first.json()["follow_up"], bool)

    second = await anonymous.post("/api/v1/chat/respond", json={
        "message": "It should have payments and user login", "user_id": "web_user_12345",
    })
    assert second.status_code == 200, second.text
    # A follow-up: the features are acknowledged and the next question is about the timeline,
    # which a fresh conversation (still missing the project type) would not ask.
    reply = second.json()["response"]
    assert "noted those features" in reply
    assert "timeline" in reply.lower()

    result = await gql(client, """{ conversations(filter: {channel: WEBSITE}) { totalCount
        edges { node { sessionId messageCount collectedInfo { projectType features } } } } }""")
    page = result["data"]["conversations"]
    assert page["totalCount"] == 1
    node = page["edges"][0]["node"]
    assert node["sessionId"] == "web_user_12345"
    assert node["messageCount"] == 4
    assert node["collectedInfo"]["projectType"] == "mobile_app"
    assert set(node["collectedInfo"]["features"]) >= {"payment integration",
                                                      "user authentication"}

    other = await anonymous.post("/api/v1/chat/respond",
                                 json={"message": "Hello", "user_id": "web_user_999"})
    assert other.status_code == 200
    assert await total_conversations(client) == 2


async def test_lead_capture_hot_visitor_becomes_a_lead_with_messages(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    text = "I want to buy, ready to start ASAP, my email is x@y.com"
    response = await anonymous.post("/api/v1/chat/respond",
                                    json={"message": text, "user_id": "hot-visitor"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["intent"] == "HOT"
    assert body["follow_up"] is True

    found = await gql(client, """{ conversations { edges { node { sessionId leadId
        lead { email intent source } } } } }""")
    node = found["data"]["conversations"]["edges"][0]["node"]
    assert node["sessionId"] == "hot-visitor"
    assert node["lead"] == {"email": "x@y.com", "intent": "HOT", "source": "WEBSITE"}

    lead = await client.get(f"/api/v1/lead/{node['leadId']}")
    assert lead.status_code == 200, lead.text
    detail = lead.json()
    assert detail["id"] == node["leadId"]
    assert detail["email"] == "x@y.com"
    assert detail["intent"] == "HOT"
    assert detail["source"] == "website"
    assert [set(m) for m in detail["messages"]] == [{"role", "content", "timestamp"}] * 2
    assert [(m["role"], m["content"]) for m in detail["messages"]] == [
        ("user", text), ("assistant", body["response"]),
    ]
    assert all(ISO_MILLIS_Z.match(m["timestamp"]) for m in detail["messages"])

    # The lead is not public, even though the chat is.
    refused = await anonymous.get(f"/api/v1/lead/{node['leadId']}")
    assert refused.status_code == 401
    assert isinstance(refused.json()["detail"], str)


async def test_lead_capture_validation_is_fastapi_style(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    missing_user = await anonymous.post("/api/v1/chat/respond", json={"message": "Hello"})
    assert missing_user.status_code == 422, missing_user.text
    assert missing_user.json() == {"detail": [{
        "loc": ["body", "user_id"], "msg": "field required (a non-empty string)",
        "type": "value_error",
    }]}
    both = await anonymous.post("/api/v1/chat/respond", json={"user_id": 7, "message": ""})
    assert both.status_code == 422
    assert [entry["loc"] for entry in both.json()["detail"]] == [
        ["body", "user_id"], ["body", "message"],
    ]
    assert await total_conversations(client) == 0


# -- seed 003: /conversations, /conversations/{id}/messages, and the same under /v1 -----------


@pytest.mark.parametrize("base", ["", "/v1"])
async def test_customer_care_conversation_with_jwt(
    base: str, client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    token, user_id = await jwt_for(anonymous, f"care-{uuid.uuid4().hex[:6]}@example.com")
    headers = {"Authorization": f"Bearer {token}"}
    started = await anonymous.post(f"{base}/conversations", headers=headers)
    assert started.status_code == 201, started.text
    assert set(started.json()) == {"conversation_id", "created_at"}
    assert ISO_Z.match(started.json()["created_at"])
    conversation_id = started.json()["conversation_id"]

    sent = await anonymous.post(
        f"{base}/conversations/{conversation_id}/messages", headers=headers,
        json={"message": "Hello", "metadata": {"device": "web", "language": "en"}},
    )
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert set(body) == {"message_id", "conversation_id", "sender", "message", "timestamp",
                         "response"}
    assert body["conversation_id"] == conversation_id
    assert body["sender"] == user_id
    assert body["message"] == "Hello"
    assert ISO_Z.match(body["timestamp"])
    assert set(body["response"]) == {"text", "intent", "confidence", "entities"}
    assert body["response"]["intent"] == "greet"
    assert 0.5 < body["response"]["confidence"] <= 1.0
    assert body["response"]["entities"] == []
    assert isinstance(body["response"]["text"], str) and body["response"]["text"]

    entities = await anonymous.post(
        f"{base}/conversations/{conversation_id}/messages", headers=headers,
        json={"message": "You can reach me at ann@example.org"},
    )
    assert {"entity": "email", "value": "ann@example.org"} in entities.json()["response"][
        "entities"]

    # The same conversation, seen through GraphQL (the bootstrap key sees everything).
    stored = await gql(client, """query($id: ID!) { conversation(id: $id) { userId
        messages { edges { node { seq role content sender } } } } }""", {"id": conversation_id})
    conversation = stored["data"]["conversation"]
    assert conversation["userId"] == user_id
    assert [e["node"] for e in conversation["messages"]["edges"]][:2] == [
        {"seq": 1, "role": "USER", "content": "Hello", "sender": user_id},
        {"seq": 2, "role": "ASSISTANT", "content": body["response"]["text"],
         "sender": "assistant"},
    ]


@pytest.mark.parametrize("base", ["", "/v1"])
async def test_customer_care_pagination_headers(base: str, client: httpx.AsyncClient) -> None:
    for _ in range(5):
        assert (await client.post(f"{base}/conversations")).status_code == 201
    everything = await client.get(f"{base}/conversations", params={"limit": 5})
    all_ids = [c["conversation_id"] for c in everything.json()]
    assert len(set(all_ids)) == 5

    page = await client.get(f"{base}/conversations", params={"limit": 2, "offset": 2})
    assert page.status_code == 200, page.text
    assert page.headers["X-Total-Count"] == "5"
    assert page.headers["X-Page-Size"] == "2"
    assert page.headers["X-Page"] == "2"
    assert page.headers["X-Total-Pages"] == "3"
    items = page.json()
    assert [c["conversation_id"] for c in items] == all_ids[2:4]
    assert set(items[0]) == {"conversation_id", "created_at", "last_active", "status",
                             "message_count", "lead_id"}
    assert items[0]["status"] == "open" and items[0]["message_count"] == 0

    last = await client.get(f"{base}/conversations", params={"limit": 2, "offset": 4})
    assert [c["conversation_id"] for c in last.json()] == all_ids[4:]
    assert last.headers["X-Page"] == "3"

    bad = await client.get(f"{base}/conversations", params={"limit": "many"})
    assert bad.status_code == 400
    assert bad.json()["error"]["details"] == {"limit": "must be an integer"}


async def test_customer_care_accepts_the_api_key_too(client: httpx.AsyncClient) -> None:
    started = await client.post("/conversations")
    assert started.status_code == 201
    sent = await client.post(f"/conversations/{started.json()['conversation_id']}/messages",
                             json={"message": "Hello"})
    assert sent.status_code == 200, sent.text
    assert sent.json()["response"]["intent"] == "greet"


# -- seed 004: /api/conversations ...  --------------------------------------------------------


async def test_chatbots_platform_conversations_and_messages(client: httpx.AsyncClient) -> None:
    ids = [await start_graphql(client, channel="WEBSITE") for _ in range(5)]

    first = await client.get("/api/conversations", params={"page": 1, "pageSize": 2})
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "success"
    assert first.json()["data"]["pagination"] == {
        "total": 5, "page": 1, "pageSize": 2, "pages": 3,
        "next": "/api/conversations?page=2&pageSize=2", "prev": None,
    }
    middle = (await client.get("/api/conversations?page=2&pageSize=2")).json()["data"]
    assert middle["pagination"] == {
        "total": 5, "page": 2, "pageSize": 2, "pages": 3,
        "next": "/api/conversations?page=3&pageSize=2",
        "prev": "/api/conversations?page=1&pageSize=2",
    }
    last = (await client.get("/api/conversations?page=3&pageSize=2")).json()["data"]
    assert last["pagination"]["next"] is None
    seen = [c["id"] for page in (first.json()["data"], middle, last) for c in page["items"]]
    assert sorted(seen) == sorted(ids)

    conversation_id = ids[0]
    sent = await client.post(f"/api/conversations/{conversation_id}/messages",
                             json={"text": "Hello there"})
    assert sent.status_code == 201, sent.text
    data = sent.json()["data"]
    assert sent.json()["status"] == "success"
    assert set(data) == {"message", "reply", "conversation"}
    assert data["message"]["text"] == "Hello there"
    assert (data["message"]["seq"], data["message"]["role"]) == (1, "user")
    assert (data["reply"]["seq"], data["reply"]["role"]) == (2, "assistant")
    assert data["message"]["analysis"]["intent"] == "greet"
    assert data["conversation"]["messageCount"] == 2

    got = await client.get(f"/api/conversations/{conversation_id}")
    assert got.status_code == 200
    conversation = got.json()["data"]
    assert set(conversation) == {
        "id", "chatbotId", "channel", "status", "sessionId", "leadId", "currentStep",
        "collectedInfo", "purchaseIntent", "messageCount", "createdAt", "lastActive",
    }
    assert (conversation["id"], conversation["channel"], conversation["messageCount"]) == (
        conversation_id, "website", 2)

    messages = await client.get(f"/api/conversations/{conversation_id}/messages")
    assert messages.status_code == 200
    listed = messages.json()["data"]
    assert [m["id"] for m in listed["items"]] == [data["message"]["id"], data["reply"]["id"]]
    assert set(listed["items"][0]) == {"id", "conversationId", "seq", "role", "text", "sender",
                                       "timestamp", "analysis"}
    assert listed["pagination"] == {"total": 2, "page": 1, "pageSize": 10, "pages": 1,
                                    "next": None, "prev": None}
    second_page = await client.get(f"/api/conversations/{conversation_id}/messages",
                                   params={"page": 2, "pageSize": 1})
    assert [m["seq"] for m in second_page.json()["data"]["items"]] == [2]


# -- GraphQL ----------------------------------------------------------------------------------


async def test_graphql_start_send_page_filter_delete(client: httpx.AsyncClient) -> None:
    started = await gql(client, START, {"input": {"channel": "WEBSITE", "sessionId": "gql-1"}})
    conversation = started["data"]["startConversation"]
    assert conversation["channel"] == "WEBSITE"
    assert conversation["status"] == "OPEN"
    assert conversation["sessionId"] == "gql-1"
    assert conversation["messageCount"] == 0
    conversation_id = conversation["id"]
    api_id = await start_graphql(client)

    turn = (await gql(client, SEND, {"id": conversation_id, "text": "Hello"}))["data"][
        "sendMessage"]
    assert turn["userMessage"] == {
        "id": turn["userMessage"]["id"], "conversationId": conversation_id, "seq": 1,
        "role": "USER", "content": "Hello", "sender": None,
    }
    assert (turn["reply"]["seq"], turn["reply"]["role"], turn["reply"]["sender"]) == (
        2, "ASSISTANT", "assistant")
    assert turn["reply"]["analysis"]["intent"] == "greet"
    assert turn["analysis"]["intent"] == "greet"
    assert 0.5 < turn["analysis"]["confidence"] <= 1
    assert turn["analysis"]["purchaseIntent"] == "NEUTRAL"
    assert turn["analysis"]["entities"] == []
    assert turn["conversation"]["messageCount"] == 2
    assert turn["lead"] is None

    hot = (await gql(client, SEND, {
        "id": conversation_id,
        "text": "I want to buy a mobile app, budget $20k, in 2 months. Email me: kim@corp.io",
    }))["data"]["sendMessage"]
    assert hot["analysis"]["purchaseIntent"] == "HOT"
    types = {e["type"]: e["value"] for e in hot["analysis"]["entities"]}
    assert types["email"] == "kim@corp.io"
    assert types["project_type"] == "mobile_app"
    assert hot["lead"] is not None and hot["lead"]["id"]
    assert hot["conversation"]["messageCount"] == 4

    paging = """query($id: ID!, $after: String) { conversation(id: $id) {
      messages(first: 3, after: $after) {
        edges { cursor node { seq role } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }"""
    page = (await gql(client, paging, {"id": conversation_id}))["data"]["conversation"][
        "messages"]
    assert [e["node"]["seq"] for e in page["edges"]] == [1, 2, 3]
    assert [e["node"]["role"] for e in page["edges"]] == ["USER", "ASSISTANT", "USER"]
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["pageInfo"]["hasPreviousPage"] is False
    rest = (await gql(client, paging, {"id": conversation_id,
                                       "after": page["pageInfo"]["endCursor"]}))
    rest_page = rest["data"]["conversation"]["messages"]
    assert [e["node"]["seq"] for e in rest_page["edges"]] == [4]
    assert rest_page["pageInfo"]["hasNextPage"] is False
    assert rest_page["pageInfo"]["hasPreviousPage"] is True
    bad_cursor = await gql(client, paging, {"id": conversation_id, "after": "not-a-cursor"})
    assert bad_cursor["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert bad_cursor["errors"][0]["extensions"]["fields"][0]["field"] == "after"

    filtered = await gql(client, """{ conversations(filter: {channel: WEBSITE}) { totalCount
        edges { node { id channel } } } }""")
    assert filtered["data"]["conversations"]["totalCount"] == 1
    assert filtered["data"]["conversations"]["edges"] == [
        {"node": {"id": conversation_id, "channel": "WEBSITE"}}]
    api_only = await gql(
        client, "{ conversations(filter: {channel: API}) { edges { node { id } } } }"
    )
    assert api_only["data"]["conversations"]["edges"] == [{"node": {"id": api_id}}]

    deleted = await gql(client, "mutation($id: ID!) { deleteConversation(id: $id) }",
                        {"id": conversation_id})
    assert deleted["data"] == {"deleteConversation": True}
    gone = await gql(client, "query($id: ID!) { conversation(id: $id) { id } }",
                     {"id": conversation_id})
    assert gone["data"] == {"conversation": None}
    again = await gql(client, "mutation($id: ID!) { deleteConversation(id: $id) }",
                      {"id": conversation_id})
    assert again["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert await total_conversations(client) == 1
    # Its messages went with it: the seed 000 view of the lead no longer lists them.
    lead = (await client.get(f"/api/leads/{hot['lead']['id']}")).json()
    assert lead["conversation_history"] == []


async def test_graphql_conversation_events_subscription(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    socket = await GraphQLSocket.open(f"{server.ws_url}/graphql", {"apiKey": API_KEY})
    try:
        await socket.subscribe("ev", """subscription { conversationEvents {
            type at conversation { id channel messageCount } } }""")
        await wait_for_subscribers(server, "conversations")
        conversation_id = await start_graphql(client, channel="WHATSAPP")
        started = (await socket.next_data("ev"))["data"]["conversationEvents"]
        assert started["type"] == "STARTED"
        assert started["conversation"] == {"id": conversation_id, "channel": "WHATSAPP",
                                           "messageCount": 0}
        assert ISO_Z.match(started["at"][:19] + "Z")

        sent = await client.post(f"/api/conversations/{conversation_id}/messages",
                                 json={"text": "Hello"})
        assert sent.status_code == 201
        message = (await socket.next_data("ev"))["data"]["conversationEvents"]
        assert message["type"] == "MESSAGE"
        assert message["conversation"] == {"id": conversation_id, "channel": "WHATSAPP",
                                           "messageCount": 2}
    finally:
        await socket.close()


async def test_message_added_sees_messages_sent_over_rest(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    conversation_id = (await client.post("/conversations")).json()["conversation_id"]
    socket = await GraphQLSocket.open(f"{server.ws_url}/graphql", {"apiKey": API_KEY})
    try:
        await socket.subscribe("m", MESSAGE_ADDED, {"id": conversation_id})
        await wait_for_subscribers(server, f"conversation:{conversation_id}")
        sent = await client.post(f"/v1/conversations/{conversation_id}/messages",
                                 json={"message": "Hello"})
        assert sent.status_code == 200, sent.text
        received = [(await socket.next_data("m"))["data"]["messageAdded"] for _ in range(2)]
        assert received == [
            {"seq": 1, "role": "USER", "content": "Hello", "conversationId": conversation_id},
            {"seq": 2, "role": "ASSISTANT", "content": sent.json()["response"]["text"],
             "conversationId": conversation_id},
        ]
    finally:
        await socket.close()


# -- errors, per dialect ----------------------------------------------------------------------


@pytest.mark.parametrize(("label", "value"), BAD_TEXTS, ids=[label for label, _ in BAD_TEXTS])
async def test_bad_message_is_refused_in_every_dialect_and_stores_nothing(
    label: str, value: object, client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    seeded = await client.post("/api/chat", json={"message": "Hello", "session_id": "keep"})
    assert seeded.status_code == 200
    session_conversation = (await gql(client, "{ conversations { edges { node { id } } } }"))[
        "data"]["conversations"]["edges"][0]["node"]["id"]
    await anonymous.post("/api/v1/chat/respond", json={"message": "Hello", "user_id": "u-keep"})
    care_id = (await client.post("/conversations")).json()["conversation_id"]
    platform_id = await start_graphql(client)
    assert await total_conversations(client) == 4

    # seed 000: 400, its envelope, details keyed by field
    for session_id in ("keep", "brand-new"):
        response = await client.post("/api/chat",
                                     json=body_with("message", value, session_id=session_id))
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "validation_error"
        assert list(error["details"]) == ["message"]
        assert "message" in error["message"]
    assert (await client.get("/api/sessions/brand-new")).status_code == 404

    # seed 001: 422, FastAPI's list
    response = await anonymous.post("/api/v1/chat/respond",
                                    json=body_with("message", value, user_id="u-keep"))
    assert response.status_code == 422, response.text
    assert [(d["loc"], d["type"]) for d in response.json()["detail"]] == [
        (["body", "message"], "value_error")]

    # seed 003: 400, its envelope
    response = await client.post(f"/conversations/{care_id}/messages",
                                 json=body_with("message", value, metadata={"device": "web"}))
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert list(response.json()["error"]["details"]) == ["message"]

    # seed 004: 400, its envelope, field "text"
    response = await client.post(f"/api/conversations/{platform_id}/messages",
                                 json=body_with("text", value))
    assert response.status_code == 400, response.text
    assert response.json()["status"] == "error"
    error = response.json()["error"]
    assert error["code"] == 400
    assert [d["field"] for d in error["details"]] == ["text"]

    # GraphQL: BAD_USER_INPUT naming "text" (non-strings never pass the String! type)
    if isinstance(value, str):
        result = await gql(client, SEND, {"id": platform_id, "text": value})
        assert result["data"] is None
        assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert [f["field"] for f in result["errors"][0]["extensions"]["fields"]] == ["text"]
    else:
        variables = {"id": platform_id} if value is None else {"id": platform_id, "text": value}
        result = await gql(client, SEND, variables)
        assert result["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "text" in result["errors"][0]["message"]

    # Nothing stored changed.
    assert await total_conversations(client) == 4
    assert await message_count(client, session_conversation) == 2
    assert await message_count(client, care_id) == 0
    assert await message_count(client, platform_id) == 0
    session = (await client.get("/api/sessions/keep")).json()
    assert len(session["conversation_history"]) == 2


async def test_unknown_conversation_is_a_404_in_each_dialect(client: httpx.AsyncClient) -> None:
    for missing in (MISSING_ID, "no-such-conversation"):
        for response in (await client.get(f"/api/sessions/{missing}"),
                         await client.delete(f"/api/sessions/{missing}")):
            assert response.status_code == 404, response.text
            assert response.json()["error"]["code"] == "not_found"
            assert missing in response.json()["error"]["message"]

        for base in ("", "/v1"):
            response = await client.post(f"{base}/conversations/{missing}/messages",
                                         json={"message": "Hello"})
            assert response.status_code == 404, response.text
            assert response.json() == {"error": {
                "code": "not_found", "message": f"Conversation {missing!r} not found",
                "details": {},
            }}

        for response in (
            await client.get(f"/api/conversations/{missing}"),
            await client.get(f"/api/conversations/{missing}/messages"),
            await client.post(f"/api/conversations/{missing}/messages", json={"text": "Hi"}),
        ):
            assert response.status_code == 404, response.text
            assert response.json() == {"status": "error", "error": {
                "code": 404, "message": f"Conversation {missing!r} not found", "details": [],
            }}

        result = await gql(client, SEND, {"id": missing, "text": "Hello"})
        assert result["data"] is None
        assert result["errors"][0]["extensions"] == {"code": "NOT_FOUND"}
        assert result["errors"][0]["path"] == ["sendMessage"]
        looked_up = await gql(client, "query($id: ID!) { conversation(id: $id) { id } }",
                              {"id": missing})
        assert without_cost(looked_up) == {"data": {"conversation": None}, "_status": 200}
    assert await total_conversations(client) == 0


async def test_malformed_json_is_a_400_in_each_dialect(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    care_id = (await client.post("/conversations")).json()["conversation_id"]
    platform_id = await start_graphql(client)
    raw = b'{"message": "Hello",'
    json_headers = {"Content-Type": "application/json"}

    response = await client.post("/api/chat", content=raw, headers=json_headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
    assert response.json()["error"]["message"].startswith("Malformed JSON")

    response = await anonymous.post("/api/v1/chat/respond", content=raw, headers=json_headers)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Malformed JSON")

    response = await client.post(f"/conversations/{care_id}/messages", content=raw,
                                 headers=json_headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"

    response = await client.post(f"/api/conversations/{platform_id}/messages", content=raw,
                                 headers=json_headers)
    assert response.status_code == 400
    assert response.json()["status"] == "error"
    assert response.json()["error"]["code"] == 400

    for not_an_object in (b"[]", b'"Hello"', b""):
        response = await client.post(f"/conversations/{care_id}/messages",
                                     content=not_an_object, headers=json_headers)
        assert response.status_code == 400, not_an_object
        assert response.json()["error"]["message"] == "Request body must be a JSON object"

    assert await total_conversations(client) == 2
    assert await message_count(client, care_id) == 0
    assert await message_count(client, platform_id) == 0


# -- seed 003's WebSocket ---------------------------------------------------------------------


async def ws_connect(server: LiveServer, path: str) -> ClientConnection:
    return await websockets.connect(f"{server.ws_url}{path}", open_timeout=10)


async def next_frame(connection: ClientConnection) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await asyncio.wait_for(connection.recv(), 10))
    return frame


async def close_code(server: LiveServer, path: str) -> int | None:
    """The code the server closed this socket with (before or right after the handshake)."""
    try:
        connection = await ws_connect(server, path)
    except InvalidStatus as exc:  # a refused handshake carries no close code
        raise AssertionError(
            f"handshake refused with HTTP {exc.response.status_code}, not a close code"
        ) from exc
    try:
        await asyncio.wait_for(connection.recv(), 10)
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd is not None else None
    finally:
        await connection.close()
    raise AssertionError("the socket stayed open")


async def reopen_after_release(server: LiveServer, path: str) -> ClientConnection:
    """Connect once the server has let go of a closed socket (it does so just after the close
    handshake), retrying a bounded number of times while it still answers 4429."""
    for _ in range(100):
        connection = await ws_connect(server, path)
        try:
            await asyncio.wait_for(connection.recv(), 0.05)
        except TimeoutError:
            return connection  # accepted and quiet: the slot was free
        except ConnectionClosed as exc:
            assert exc.rcvd is not None and exc.rcvd.code == 4429, exc
            await asyncio.sleep(0.02)
            continue
        raise AssertionError("unexpected frame on a fresh socket")
    raise AssertionError("the closed socket's slot was never released")


@contextlib.asynccontextmanager
async def care_socket(
    server: LiveServer, conversation_id: str, token: str = API_KEY
) -> AsyncIterator[ClientConnection]:
    connection = await ws_connect(server, f"/ws/conversations/{conversation_id}?token={token}")
    try:
        yield connection
    finally:
        await connection.close()


async def test_socket_chat_and_replies_to_rest_messages(
    server: LiveServer, client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    token, user_id = await jwt_for(anonymous, "socket-user@example.com")
    conversation_id = (await anonymous.post(
        "/conversations", headers={"Authorization": f"Bearer {token}"}
    )).json()["conversation_id"]
    async with care_socket(server, conversation_id, token) as socket:
        await socket.send(json.dumps({"type": "message", "content": "Hello"}))
        frame = await next_frame(socket)
        assert set(frame) == {"type", "content", "timestamp", "metadata"}
        assert frame["type"] == "message"
        assert ISO_Z.match(frame["timestamp"])
        assert frame["metadata"]["intent"] == "greet"
        assert 0.5 < frame["metadata"]["confidence"] <= 1
        assert frame["metadata"]["seq"] == 2

        # A message to the same conversation over REST is answered on the socket as well.
        await wait_for_subscribers(server, f"conversation:{conversation_id}")
        sent = await client.post(f"/conversations/{conversation_id}/messages",
                                 json={"message": "How much does it cost?"})
        assert sent.status_code == 200
        frame = await next_frame(socket)
        assert frame["type"] == "message"
        assert frame["content"] == sent.json()["response"]["text"]
        assert frame["metadata"]["intent"] == "pricing"
        assert frame["metadata"]["seq"] == 4

    stored = await gql(client, """query($id: ID!) { conversation(id: $id) {
        messages { edges { node { seq role content sender } } } } }""", {"id": conversation_id})
    nodes = [e["node"] for e in stored["data"]["conversation"]["messages"]["edges"]]
    assert [(n["seq"], n["role"]) for n in nodes] == [
        (1, "USER"), (2, "ASSISTANT"), (3, "USER"), (4, "ASSISTANT")]
    assert nodes[0] == {"seq": 1, "role": "USER", "content": "Hello", "sender": user_id}


@pytest.mark.parametrize(("frame", "code"), [
    pytest.param("not json at all", "bad_request", id="not-json"),
    pytest.param(json.dumps({"type": "typing", "content": "Hello"}), "bad_request",
                 id="wrong-type"),
    pytest.param(json.dumps(["message", "Hello"]), "bad_request", id="not-an-object"),
    pytest.param(json.dumps({"type": "message", "content": ""}), "bad_user_input", id="empty"),
    pytest.param(json.dumps({"type": "message", "content": "   "}), "bad_user_input",
                 id="whitespace"),
    pytest.param(json.dumps({"type": "message"}), "bad_user_input", id="missing"),
    pytest.param(json.dumps({"type": "message", "content": 123}), "bad_user_input",
                 id="number"),
    pytest.param(json.dumps({"type": "message", "content": TOO_LONG}), "bad_user_input",
                 id="too-long"),
])
async def test_socket_bad_frame_gets_an_error_frame_and_stays_usable(
    frame: str, code: str, server: LiveServer, client: httpx.AsyncClient
) -> None:
    conversation_id = (await client.post("/conversations")).json()["conversation_id"]
    async with care_socket(server, conversation_id) as socket:
        await socket.send(frame)
        error = await next_frame(socket)
        assert error["type"] == "error"
        assert set(error["error"]) == {"code", "message"}
        assert error["error"]["code"] == code
        if code == "bad_user_input":
            assert error["error"]["message"].startswith("Validation error: content: ")
        assert await message_count(client, conversation_id) == 0

        await socket.send(json.dumps({"type": "message", "content": "Hello"}))
        reply = await next_frame(socket)
        assert reply["type"] == "message"
        assert reply["metadata"]["intent"] == "greet"
    assert await message_count(client, conversation_id) == 2


async def test_socket_refuses_bad_tokens_and_unknown_conversations(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    conversation_id = (await client.post("/conversations")).json()["conversation_id"]
    path = f"/ws/conversations/{conversation_id}"
    assert await close_code(server, path) == 4401
    assert await close_code(server, f"{path}?token=") == 4401
    assert await close_code(server, f"{path}?token=not-a-valid-token") == 4401
    assert await close_code(server, f"{path}?token=eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl") == 4401
    assert await close_code(server, f"/ws/conversations/{MISSING_ID}?token={API_KEY}") == 4404
    assert await close_code(server, f"/v1/ws/conversations/nope?token={API_KEY}") == 4404


async def test_socket_quota_is_ten_per_principal(
    server: LiveServer, client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    conversation_id = (await client.post("/conversations")).json()["conversation_id"]
    path = f"/ws/conversations/{conversation_id}?token={API_KEY}"
    sockets = [await ws_connect(server, path) for _ in range(10)]
    try:
        assert await close_code(server, path) == 4429
        # Someone else is not affected by the key's quota.
        token, _ = await jwt_for(anonymous, "quota-user@example.com")
        async with care_socket(server, conversation_id, token) as other:
            await other.send(json.dumps({"type": "message", "content": "Hello"}))
            assert (await next_frame(other))["type"] == "message"
        # The first ten are still open and all received that reply.
        for socket in sockets:
            frame = await next_frame(socket)
            assert (frame["type"], frame["metadata"]["seq"]) == ("message", 2)
        # Closing one frees a slot.
        await sockets.pop().close()
        replacement = await reopen_after_release(server, path)
        try:
            await replacement.send(json.dumps({"type": "message", "content": "Hello again"}))
            assert (await next_frame(replacement))["type"] == "message"
        finally:
            await replacement.close()
    finally:
        for socket in sockets:
            await socket.close()
