"""Issue 3's scenario: a visitor qualified over seed 000's /api/chat becomes a lead, and a
messageAdded subscriber sees every message in order, and misses nothing after reconnecting."""

from __future__ import annotations

from datetime import datetime

import httpx

from tests.support import API_KEY, GraphQLSocket, LiveServer, gql, wait_for_subscribers

VISITOR_TURNS = [
    "Hi there",
    "I need a mobile app for my business",
    "It should have payments, user login and push notifications",
    "We'd like to launch in 3 months and the budget is $10k-20k",
    "I'm Jane Cooper from Acme Corp",
    "You can reach me at jane.cooper@acme.io",
]
MESSAGE_ADDED = """subscription($id: ID!, $after: Int) {
  messageAdded(conversationId: $id, afterSeq: $after) { seq role content }
}"""


async def test_agency_chat_qualifies_a_visitor_into_a_lead(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    first = await client.post("/api/chat", json={"message": VISITOR_TURNS[0],
                                                 "session_id": "visitor-42"})
    assert first.status_code == 200, first.text
    assert first.json()["session_id"] == "visitor-42"
    session = (await client.get("/api/sessions/visitor-42")).json()
    conversation = await gql(client, "{ conversations { edges { node { id sessionId } } } }")
    conversation_id = conversation["data"]["conversations"]["edges"][0]["node"]["id"]

    socket = await GraphQLSocket.open(f"{server.ws_url}/graphql", {"apiKey": API_KEY})
    await socket.subscribe("live", MESSAGE_ADDED, {"id": conversation_id, "after": 0})

    replies = []
    for text in VISITOR_TURNS[1:]:
        response = await client.post("/api/chat", json={"message": text,
                                                        "session_id": "visitor-42"})
        assert response.status_code == 200, response.text
        replies.append(response.json())

    assert replies[0]["response"].startswith("That sounds interesting! Could you describe the")
    assert replies[0]["conversation_state"] == {
        "current_step": "requirement_gathering",
        "collected_info": {"project_type": "mobile_app"},
    }
    final = replies[-1]["conversation_state"]
    assert final["current_step"] == "summary"
    assert final["collected_info"]["email"] == "jane.cooper@acme.io"
    assert final["collected_info"]["budget_range"] == "$10,000-$20,000"
    assert final["collected_info"]["timeline"] == "3 months"

    # Every message, in order, both sides, replayed from seq 0 then live.
    seen = [(await socket.next_data("live"))["data"]["messageAdded"] for _ in range(12)]
    assert [m["seq"] for m in seen] == list(range(1, 13))
    assert [m["role"] for m in seen] == ["USER", "ASSISTANT"] * 6
    assert [m["content"] for m in seen[::2]] == VISITOR_TURNS
    await socket.close()

    leads = (await client.get("/api/leads")).json()
    assert leads["total"] == 1
    lead = leads["leads"][0]
    assert lead["client_name"] == "Jane Cooper"
    assert lead["contact_info"] == "jane.cooper@acme.io"
    assert lead["project_type"] == "mobile_app"
    assert lead["budget_range"] == "$10,000-$20,000"
    assert lead["follow_up_status"] == "pending"
    assert "payment integration" in lead["requirements_summary"]
    detail = (await client.get(f"/api/leads/{lead['id']}")).json()
    assert len(detail["conversation_history"]) == 12
    assert session["session_id"] == "visitor-42"

    graph = await gql(client, """query($id: ID!) { lead(id: $id) {
        intent conversations { id messageCount } } }""", {"id": lead["id"]})
    assert graph["data"]["lead"]["conversations"] == [{"id": conversation_id, "messageCount": 12}]
    assert graph["data"]["lead"]["intent"] == "HOT"


async def test_reconnecting_with_after_seq_misses_nothing(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    started = await gql(client, "mutation { startConversation(input: {}) { id } }")
    conversation_id = started["data"]["startConversation"]["id"]
    send = "mutation($id: ID!, $t: String!) { sendMessage(conversationId: $id, text: $t) { reply { seq } } }"  # noqa: E501

    socket = await GraphQLSocket.open(f"{server.ws_url}/graphql", {"apiKey": API_KEY})
    await socket.subscribe("a", MESSAGE_ADDED, {"id": conversation_id})
    await wait_for_subscribers(server, f"conversation:{conversation_id}")
    await gql(client, send, {"id": conversation_id, "t": "hello"})
    got = [(await socket.next_data("a"))["data"]["messageAdded"]["seq"] for _ in range(2)]
    assert got == [1, 2]
    await socket.close()

    # While disconnected, two more turns happen over another transport (seed 004).
    for text in ("I need a website", "with booking"):
        response = await client.post(f"/api/conversations/{conversation_id}/messages",
                                     json={"text": text})
        assert response.status_code == 201, response.text

    socket = await GraphQLSocket.open(f"{server.ws_url}/graphql", {"apiKey": API_KEY})
    await socket.subscribe("b", MESSAGE_ADDED, {"id": conversation_id, "after": got[-1]})
    replayed = [(await socket.next_data("b"))["data"]["messageAdded"]["seq"] for _ in range(4)]
    assert replayed == [3, 4, 5, 6]
    await wait_for_subscribers(server, f"conversation:{conversation_id}")
    await gql(client, send, {"id": conversation_id, "t": "ASAP"})
    live = [(await socket.next_data("b"))["data"]["messageAdded"]["seq"] for _ in range(2)]
    assert live == [7, 8]
    await socket.close()


async def test_conversation_timestamps_stay_dates_in_the_store(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    """nx-27017 turns a datetime written with ``$set`` into a string; ours must stay dates,
    or sorting conversations by last activity breaks."""
    for session in ("first", "second"):
        response = await client.post("/api/chat", json={"message": "hello", "session_id": session})
        assert response.status_code == 200
    raw = server.runtime.database.client[server.db_name]["conversations"]
    documents = [d async for d in raw.find({})]
    assert len(documents) == 2
    assert all(isinstance(d["last_active"], datetime) for d in documents)
    listed = await gql(client, "{ conversations { edges { node { sessionId } } } }")
    assert [e["node"]["sessionId"] for e in listed["data"]["conversations"]["edges"]] == [
        "second", "first"]
