"""Identical subscriptions of one principal share one execution per event
(``leadgraph/schema/sharing.py``), and every subscriber still gets exactly its own answer."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.support import API_KEY, GraphQLSocket, LiveServer, gql, wait_for_subscribers

WITH_ASSIGNEE = "subscription { leadEvents { type lead { name assignee { email } } } }"
WITH_EMAIL = "subscription { leadEvents { type lead { email } } }"
CREATE_USER = """
mutation { createUser(email: "owner@share.dev", password: "correct-horse-battery",
                      name: "Owner") { id } }
"""
CREATE_LEAD = """
mutation($name: String!, $email: String!, $user: ID!) {
  createLead(input: {name: $name, email: $email, assignedTo: $user}) { id }
}
"""


async def no_subscribers(server: LiveServer) -> None:
    for _ in range(250):
        if server.runtime.broker.subscriber_count("leads") == server.internal_subscribers(
                "leads"):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("earlier subscribers never went away")


async def event(socket: GraphQLSocket, operation_id: str) -> dict[str, Any]:
    payload = await socket.next_data(operation_id)
    assert "errors" not in payload, payload
    data: dict[str, Any] = payload["data"]["leadEvents"]
    return data


async def user_lookups_for_one_event(
    server: LiveServer, client: httpx.AsyncClient, user_id: str, subscribers: int, name: str
) -> int:
    """``find`` commands on users while ``subscribers`` identical subscriptions (one
    principal) receive one created lead with its assignee."""
    await no_subscribers(server)
    sockets = [await GraphQLSocket.open(f"{server.ws_url}/graphql", {"apiKey": API_KEY})
               for _ in range(subscribers)]
    try:
        for socket in sockets:
            await socket.subscribe("1", WITH_ASSIGNEE)
        await wait_for_subscribers(server, "leads", subscribers)
        await server.settle()
        server.commands.reset()
        created = await gql(client, CREATE_LEAD, {"name": name, "email": f"{name}@share.dev",
                                                  "user": user_id})
        assert "errors" not in created, created
        for socket in sockets:
            received = await event(socket, "1")
            assert received == {"type": "CREATED", "lead": {
                "name": name, "assignee": {"email": "owner@share.dev"}}}
        return server.commands.request_log().count(("find", "users"))
    finally:
        for socket in sockets:
            await socket.close()


async def test_identical_subscriptions_execute_each_event_once(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    user = await gql(client, CREATE_USER)
    user_id = user["data"]["createUser"]["id"]
    alone = await user_lookups_for_one_event(server, client, user_id, 1, "Alone")
    shared = await user_lookups_for_one_event(server, client, user_id, 4, "Shared")
    # Each execution resolves the assignee with one (batched) users find; four subscribers
    # executing separately would make four.
    assert alone >= 1
    assert shared == alone


async def test_different_documents_on_one_socket_each_get_their_own_shape(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    user = await gql(client, CREATE_USER)
    await no_subscribers(server)
    socket = await GraphQLSocket.open(f"{server.ws_url}/graphql", {"apiKey": API_KEY})
    other = await GraphQLSocket.open(f"{server.ws_url}/graphql", {"apiKey": API_KEY})
    try:
        await socket.subscribe("a", WITH_ASSIGNEE)
        await socket.subscribe("b", WITH_EMAIL)
        await other.subscribe("a", WITH_EMAIL)
        await wait_for_subscribers(server, "leads", 3)
        await gql(client, CREATE_LEAD, {"name": "Shape", "email": "shape@share.dev",
                                        "user": user["data"]["createUser"]["id"]})
        by_id = {}
        for _ in range(2):
            message = await socket.receive()
            by_id[message["id"]] = message["payload"]["data"]["leadEvents"]
        assert by_id == {
            "a": {"type": "CREATED", "lead": {"name": "Shape",
                                             "assignee": {"email": "owner@share.dev"}}},
            "b": {"type": "CREATED", "lead": {"email": "shape@share.dev"}},
        }
        assert await event(other, "a") == {"type": "CREATED",
                                           "lead": {"email": "shape@share.dev"}}
    finally:
        await socket.close()
        await other.close()
