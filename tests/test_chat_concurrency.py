"""Many visitors' messages at once on one conversation: one lock, one sequence, no gaps.

Each turn (the visitor's message and the assistant's reply to it) is stored as a pair of
consecutive seqs, whichever transport or replica it came through, and a messageAdded
subscriber sees every message once, in seq order.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import make_settings, serve
from tests.support import API_KEY, GraphQLSocket, LiveServer, gql, wait_for_subscribers

TURNS = 20
SEND = """mutation($id: ID!, $text: String!) {
  sendMessage(conversationId: $id, text: $text) {
    userMessage { id seq content } reply { id seq }
  }
}"""
MESSAGE_ADDED = """subscription($id: ID!) {
  messageAdded(conversationId: $id) { id seq role content }
}"""


def visitor_text(index: int) -> str:
    return f"Visitor message number {index}: I need a website with booking"


async def send_via_rest(client: httpx.AsyncClient, conversation_id: str, index: int) -> dict[
        str, Any]:
    """Seed 004's POST; returns what the caller was told: its message and the reply."""
    response = await client.post(f"/api/conversations/{conversation_id}/messages",
                                 json={"text": visitor_text(index)})
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    return {"index": index, "user_id": data["message"]["id"], "user_seq": data["message"]["seq"],
            "content": data["message"]["text"], "reply_id": data["reply"]["id"],
            "reply_seq": data["reply"]["seq"]}


async def send_via_graphql(client: httpx.AsyncClient, conversation_id: str, index: int) -> dict[
        str, Any]:
    result = await gql(client, SEND, {"id": conversation_id, "text": visitor_text(index)})
    assert "errors" not in result, result
    turn = result["data"]["sendMessage"]
    return {"index": index, "user_id": turn["userMessage"]["id"],
            "user_seq": turn["userMessage"]["seq"], "content": turn["userMessage"]["content"],
            "reply_id": turn["reply"]["id"], "reply_seq": turn["reply"]["seq"]}


async def stored_messages(client: httpx.AsyncClient, conversation_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/conversations/{conversation_id}/messages",
                                params={"pageSize": 100})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["pagination"]["total"] == 2 * TURNS
    items: list[dict[str, Any]] = data["items"]
    return items


def assert_turns_are_paired(
    turns: list[dict[str, Any]], stored: list[dict[str, Any]]
) -> None:
    """seqs 1..2N, no duplicates or gaps; seq 2k-1 is a visitor's message, 2k its own reply."""
    assert [m["seq"] for m in stored] == list(range(1, 2 * TURNS + 1))
    assert len({m["id"] for m in stored}) == 2 * TURNS
    assert [m["role"] for m in stored] == ["user", "assistant"] * TURNS
    by_seq = {m["seq"]: m for m in stored}
    assert sorted(t["user_seq"] for t in turns) == list(range(1, 2 * TURNS, 2))
    for turn in turns:
        assert turn["reply_seq"] == turn["user_seq"] + 1, turn
        user, reply = by_seq[turn["user_seq"]], by_seq[turn["reply_seq"]]
        assert (user["id"], user["text"]) == (turn["user_id"], visitor_text(turn["index"]))
        assert turn["content"] == visitor_text(turn["index"])
        assert reply["id"] == turn["reply_id"]
        assert reply["sender"] == "assistant"
        # The reply's analysis is of its own visitor message.
        assert reply["analysis"] == user["analysis"]


async def collect(socket: GraphQLSocket, operation_id: str, count: int) -> list[dict[str, Any]]:
    return [(await socket.next_data(operation_id, timeout=30))["data"]["messageAdded"]
            for _ in range(count)]


async def new_conversation(client: httpx.AsyncClient) -> str:
    result = await gql(client, "mutation { startConversation(input: {}) { id } }")
    conversation_id: str = result["data"]["startConversation"]["id"]
    return conversation_id


async def test_concurrent_messages_to_one_conversation_keep_turns_whole(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    conversation_id = await new_conversation(client)
    socket = await GraphQLSocket.open(f"{server.ws_url}/graphql", {"apiKey": API_KEY})
    try:
        await socket.subscribe("all", MESSAGE_ADDED, {"id": conversation_id})
        await wait_for_subscribers(server, f"conversation:{conversation_id}")

        turns = await asyncio.gather(*(
            (send_via_rest if index % 2 else send_via_graphql)(client, conversation_id, index)
            for index in range(TURNS)
        ))

        stored = await stored_messages(client, conversation_id)
        assert_turns_are_paired(list(turns), stored)
        live = await collect(socket, "all", 2 * TURNS)
        assert [m["seq"] for m in live] == list(range(1, 2 * TURNS + 1))
        assert [m["id"] for m in live] == [m["id"] for m in stored]
        assert [m["content"] for m in live] == [m["text"] for m in stored]
    finally:
        await socket.close()

    conversation = (await client.get(f"/api/conversations/{conversation_id}")).json()["data"]
    assert conversation["messageCount"] == 2 * TURNS


async def test_two_replicas_share_the_lock_and_the_stream(
    server: LiveServer, client: httpx.AsyncClient, mongo_url: str, redis_url: str,
    tmp_path: Path,
) -> None:
    settings = make_settings(
        mongo_url, redis_url, tmp_path, mongodb_db_name=server.db_name,
        redis_channel_prefix=server.runtime.settings.redis_channel_prefix,
    )
    async with serve(settings) as replica, httpx.AsyncClient(
        base_url=replica.base_url, headers={"X-API-Key": API_KEY}, timeout=60
    ) as replica_client:
        conversation_id = await new_conversation(client)
        # Replica B sees A's conversation (same database).
        seen = await replica_client.get(f"/api/conversations/{conversation_id}")
        assert seen.status_code == 200, seen.text

        on_a = await GraphQLSocket.open(f"{server.ws_url}/graphql", {"apiKey": API_KEY})
        on_b = await GraphQLSocket.open(f"{replica.ws_url}/graphql", {"apiKey": API_KEY})
        try:
            await on_a.subscribe("a", MESSAGE_ADDED, {"id": conversation_id})
            await on_b.subscribe("b", MESSAGE_ADDED, {"id": conversation_id})
            await wait_for_subscribers(server, f"conversation:{conversation_id}")
            await wait_for_subscribers(replica, f"conversation:{conversation_id}")

            turns = await asyncio.gather(*(
                send_via_rest(replica_client if index % 2 else client, conversation_id, index)
                for index in range(TURNS)
            ))

            stored = await stored_messages(replica_client, conversation_id)
            assert_turns_are_paired(list(turns), stored)
            # A's subscriber gets B's messages too, and B's gets A's: all of them, in order.
            for socket, operation_id in ((on_a, "a"), (on_b, "b")):
                live = await collect(socket, operation_id, 2 * TURNS)
                assert [m["seq"] for m in live] == list(range(1, 2 * TURNS + 1))
                assert [m["id"] for m in live] == [m["id"] for m in stored]
        finally:
            await on_a.close()
            await on_b.close()
