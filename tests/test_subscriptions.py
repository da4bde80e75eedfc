"""Live lead events over graphql-transport-ws, on a real WebSocket to the real server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.support import API_KEY, GRAPHQL_WS, GraphQLSocket, LiveServer, gql, wait_for_subscribers

LEAD_EVENTS = """
subscription { leadEvents { type at changedFields lead { id name email status company } } }
"""
PASSWORD = "correct-horse-battery"


async def no_subscribers(server: LiveServer) -> None:
    """Until sockets of earlier tests have let go (their cleanup is asynchronous)."""
    broker = server.runtime.broker
    for _ in range(250):
        if broker.subscriber_count("leads") == server.internal_subscribers("leads"):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("earlier subscribers never went away")


@pytest.fixture
async def quiet(server: LiveServer) -> LiveServer:
    """The server with an empty database and nobody subscribed to lead events."""
    await no_subscribers(server)
    return server


class Sockets:
    """Opens sockets for a test and closes every one of them afterwards, pass or fail."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.opened: list[GraphQLSocket] = []

    async def open(self, init_payload: dict[str, Any], *, ack: bool = True) -> GraphQLSocket:
        socket = await GraphQLSocket.open(f"{self.server.ws_url}/graphql", init_payload, ack=ack)
        self.opened.append(socket)
        return socket

    async def subscribed(
        self, init_payload: dict[str, Any], operation_id: str = "1", count: int = 1
    ) -> GraphQLSocket:
        socket = await self.open(init_payload)
        await socket.subscribe(operation_id, LEAD_EVENTS)
        await wait_for_subscribers(self.server, "leads", count)
        return socket

    async def close(self) -> None:
        for socket in self.opened:
            await socket.close()


@pytest.fixture
async def sockets(quiet: LiveServer) -> AsyncIterator[Sockets]:
    opened = Sockets(quiet)
    try:
        yield opened
    finally:
        await opened.close()


async def next_event(socket: GraphQLSocket, operation_id: str = "1") -> dict[str, Any]:
    payload = await socket.next_data(operation_id)
    assert "errors" not in payload, payload
    event: dict[str, Any] = payload["data"]["leadEvents"]
    return event


@pytest.fixture
async def socket(sockets: Sockets) -> GraphQLSocket:
    """Subscribed to lead events with the bootstrap key."""
    return await sockets.subscribed({"apiKey": API_KEY})


async def access_token(client: httpx.AsyncClient, email: str) -> str:
    created = await gql(client, """
      mutation($email: String!, $password: String!) {
        createUser(email: $email, password: $password, name: "Socket User") { id }
      }""", {"email": email, "password": PASSWORD})
    assert "errors" not in created, created
    login = await gql(client, """
      mutation($identifier: String!, $password: String!) {
        login(identifier: $identifier, password: $password) { accessToken tokenType }
      }""", {"identifier": email, "password": PASSWORD})
    assert "errors" not in login, login
    assert login["data"]["login"]["tokenType"] == "bearer"
    token: str = login["data"]["login"]["accessToken"]
    assert token.count(".") == 2
    return token


async def rejected_with(url: str, init_payload: dict[str, Any]) -> int:
    """The close code the server answers ``connection_init`` with."""
    with pytest.raises(ConnectionClosed) as closed:
        await GraphQLSocket.open(url, init_payload)
    assert closed.value.rcvd is not None
    code: int = closed.value.rcvd.code
    return code


# -- events ------------------------------------------------------------------------------------

async def test_graphql_mutations_publish_created_updated_deleted_in_order(
    socket: GraphQLSocket, client: httpx.AsyncClient
) -> None:
    created = await gql(client, """mutation { createLead(input: {
        name: "Live Lead", email: "live@events.io"}) { id } }""")
    lead_id = created["data"]["createLead"]["id"]
    updated = await gql(client, """mutation($id: ID!) { updateLead(id: $id, input: {
        status: QUALIFIED, company: "Evented"}) { id } }""", {"id": lead_id})
    assert "errors" not in updated, updated
    assert (await gql(client, "mutation($id: ID!) { deleteLead(id: $id) }",
                      {"id": lead_id}))["data"] == {"deleteLead": True}

    first, second, third = [await next_event(socket) for _ in range(3)]
    assert first["type"] == "CREATED"
    assert first["changedFields"] == []
    assert first["lead"] == {"id": lead_id, "name": "Live Lead", "email": "live@events.io",
                             "status": "NEW", "company": None}
    assert second["type"] == "UPDATED"
    assert sorted(second["changedFields"]) == ["company", "status"]
    assert second["lead"]["status"] == "QUALIFIED"
    assert second["lead"]["company"] == "Evented"
    assert third["type"] == "DELETED"
    assert third["changedFields"] == []
    assert third["lead"]["id"] == lead_id
    assert first["at"] <= second["at"] <= third["at"]


async def test_rest_calls_publish_the_same_events(
    socket: GraphQLSocket, client: httpx.AsyncClient
) -> None:
    created = await client.post("/api/v1/leads", json={
        "first_name": "Rest", "last_name": "Caller", "email": "rest@events.io",
    })
    assert created.status_code == 201, created.text
    lead_id = created.json()["id"]
    updated = await client.put(f"/api/v1/leads/{lead_id}", json={"status": "contacted"})
    assert updated.status_code == 200, updated.text
    deleted = await client.delete(f"/api/v1/leads/{lead_id}")
    assert deleted.status_code == 200, deleted.text

    events = [await next_event(socket) for _ in range(3)]
    assert [event["type"] for event in events] == ["CREATED", "UPDATED", "DELETED"]
    assert {event["lead"]["id"] for event in events} == {lead_id}
    assert events[0]["lead"]["name"] == "Rest Caller"
    assert events[1]["changedFields"] == ["status"]
    assert events[1]["lead"]["status"] == "CONTACTED"


async def test_graphql_and_rest_events_interleave_in_call_order(
    socket: GraphQLSocket, client: httpx.AsyncClient
) -> None:
    rest = await client.post("/api/v1/leads", json={"first_name": "A", "email": "a@order.io"})
    graph = await gql(client, 'mutation { createLead(input: {name: "B", email: "b@order.io"}) '
                              "{ id } }")
    rest_update = await client.put(f"/api/v1/leads/{rest.json()['id']}", json={"notes": "n"})
    assert rest_update.status_code == 200

    events = [await next_event(socket) for _ in range(3)]
    assert [(event["type"], event["lead"]["email"]) for event in events] == [
        ("CREATED", "a@order.io"), ("CREATED", "b@order.io"), ("UPDATED", "a@order.io")]
    assert events[1]["lead"]["id"] == graph["data"]["createLead"]["id"]
    assert events[2]["changedFields"] == ["notes"]


async def test_deduplicated_create_is_an_update_event(
    socket: GraphQLSocket, client: httpx.AsyncClient
) -> None:
    await gql(client, 'mutation { createLead(input: {name: "Dee", email: "dee@dup.io"}) { id } }')
    again = await gql(client, 'mutation { createLead(input: {email: "DEE@dup.io", '
                              'company: "Dup Co"}) { id } }')
    assert again["extensions"]["leadgraph"]["deduplicated"] == [
        again["data"]["createLead"]["id"]]

    created, merged = await next_event(socket), await next_event(socket)
    assert created["type"] == "CREATED"
    assert merged["type"] == "UPDATED"
    assert merged["changedFields"] == ["company"]
    assert merged["lead"]["id"] == created["lead"]["id"]


async def test_an_update_that_changes_nothing_publishes_nothing(
    socket: GraphQLSocket, client: httpx.AsyncClient
) -> None:
    created = await gql(client, 'mutation { createLead(input: {name: "Same", company: "S"}) '
                                "{ id } }")
    lead_id = created["data"]["createLead"]["id"]
    await gql(client, 'mutation($id: ID!) { updateLead(id: $id, input: {company: "S"}) { id } }',
              {"id": lead_id})
    await gql(client, "mutation($id: ID!) { deleteLead(id: $id) }", {"id": lead_id})
    assert [(await next_event(socket))["type"] for _ in range(2)] == ["CREATED", "DELETED"]


async def test_two_subscribers_each_get_every_event_exactly_once(
    sockets: Sockets, client: httpx.AsyncClient
) -> None:
    first = await sockets.subscribed({"apiKey": API_KEY})
    second = await sockets.subscribed({"apiKey": API_KEY}, operation_id="other", count=2)
    created = await gql(client, 'mutation { createLead(input: {name: "Shared"}) { id } }')
    lead_id = created["data"]["createLead"]["id"]
    await gql(client, "mutation($id: ID!) { deleteLead(id: $id) }", {"id": lead_id})

    for socket, operation_id in ((first, "1"), (second, "other")):
        events = [await next_event(socket, operation_id) for _ in range(2)]
        assert [(e["type"], e["lead"]["id"]) for e in events] == [
            ("CREATED", lead_id), ("DELETED", lead_id)]
        # Nothing else arrived: after the ack, these two are all this socket received.
        assert [(m["type"], m.get("id")) for m in socket.received] == [
            ("connection_ack", None), ("next", operation_id), ("next", operation_id)]
    # A third event reaches each socket as its very next message: no stray duplicate queued.
    await gql(client, 'mutation { createLead(input: {name: "Third"}) { id } }')
    for socket, operation_id in ((first, "1"), (second, "other")):
        message = await socket.receive()
        assert message["id"] == operation_id
        assert message["payload"]["data"]["leadEvents"]["lead"]["name"] == "Third"


async def test_two_subscriptions_on_one_socket(
    quiet: LiveServer, sockets: Sockets, client: httpx.AsyncClient
) -> None:
    socket = await sockets.open({"apiKey": API_KEY})
    await socket.subscribe("a", LEAD_EVENTS)
    await socket.subscribe("b", "subscription { leadEvents { type lead { name } } }")
    await wait_for_subscribers(quiet, "leads", 2)
    await gql(client, 'mutation { createLead(input: {name: "Twice"}) { id } }')
    messages = [await socket.receive() for _ in range(2)]
    assert sorted(m["id"] for m in messages) == ["a", "b"]
    by_id = {m["id"]: m["payload"]["data"]["leadEvents"] for m in messages}
    assert by_id["b"] == {"type": "CREATED", "lead": {"name": "Twice"}}
    assert by_id["a"]["lead"]["name"] == "Twice"


async def test_complete_stops_the_subscription(
    socket: GraphQLSocket, quiet: LiveServer, client: httpx.AsyncClient
) -> None:
    await socket.send({"id": "1", "type": "complete"})
    await no_subscribers(quiet)
    await gql(client, 'mutation { createLead(input: {name: "Unseen"}) { id } }')
    # The socket is still open and answers pings, and no event was queued before the pong.
    await socket.send({"type": "ping"})
    assert await socket.receive() == {"type": "pong"}


async def test_invalid_subscription_gets_an_error_message(sockets: Sockets) -> None:
    socket = await sockets.open({"apiKey": API_KEY})
    await socket.subscribe("bad", "subscription { leadEvents { nope } }")
    message = await socket.receive()
    assert message["type"] == "error"
    assert message["id"] == "bad"
    assert "Cannot query field 'nope'" in message["payload"][0]["message"]
    assert "Traceback" not in json.dumps(message)


# -- authentication ----------------------------------------------------------------------------

async def test_api_key_in_connection_init(
    quiet: LiveServer, sockets: Sockets, client: httpx.AsyncClient
) -> None:
    socket = await sockets.open({"apiKey": API_KEY}, ack=False)
    ack = await socket.receive()
    assert ack == {"type": "connection_ack", "payload": {"principal": "bootstrap key"}}
    await socket.subscribe("1", LEAD_EVENTS)
    await wait_for_subscribers(quiet, "leads")
    await gql(client, 'mutation { createLead(input: {name: "Keyed"}) { id } }')
    assert (await next_event(socket))["lead"]["name"] == "Keyed"


async def test_bearer_api_key_in_connection_init(
    sockets: Sockets, client: httpx.AsyncClient
) -> None:
    socket = await sockets.subscribed({"Authorization": f"Bearer {API_KEY}"})
    await gql(client, 'mutation { createLead(input: {name: "Bearer"}) { id } }')
    assert (await next_event(socket))["lead"]["name"] == "Bearer"


async def test_jwt_access_token_in_connection_init(
    quiet: LiveServer, sockets: Sockets, client: httpx.AsyncClient
) -> None:
    token = await access_token(client, "socket@leadgraph.dev")
    socket = await sockets.open({"Authorization": f"Bearer {token}"}, ack=False)
    ack = await socket.receive()
    assert ack == {"type": "connection_ack", "payload": {"principal": "Socket User"}}
    await socket.subscribe("1", LEAD_EVENTS)
    await wait_for_subscribers(quiet, "leads")
    await gql(client, 'mutation { createLead(input: {name: "For The Agent"}) { id } }')
    assert (await next_event(socket))["lead"]["name"] == "For The Agent"


async def test_api_key_header_on_the_upgrade_request(
    quiet: LiveServer, sockets: Sockets, client: httpx.AsyncClient
) -> None:
    connection = await websockets.connect(
        f"{quiet.ws_url}/graphql", subprotocols=[GRAPHQL_WS],  # type: ignore[list-item]
        additional_headers={"X-API-Key": API_KEY},
    )
    socket = GraphQLSocket(connection)
    sockets.opened.append(socket)
    await socket.send({"type": "connection_init", "payload": {}})
    assert (await socket.receive())["type"] == "connection_ack"
    await socket.subscribe("1", LEAD_EVENTS)
    await wait_for_subscribers(quiet, "leads")
    await gql(client, 'mutation { createLead(input: {name: "Header"}) { id } }')
    assert (await next_event(socket))["lead"]["name"] == "Header"


@pytest.mark.parametrize("init_payload", [
    {},
    {"apiKey": "wrong-key"},
    {"Authorization": "Bearer wrong-key"},
    {"Authorization": "Bearer not.a.jwt"},
    {"Authorization": f"Basic {API_KEY}"},
    {"apiKey": ""},
])
async def test_missing_or_bad_credentials_close_with_4403(
    quiet: LiveServer, init_payload: dict[str, Any]
) -> None:
    assert await rejected_with(f"{quiet.ws_url}/graphql", init_payload) == 4403
    assert quiet.runtime.broker.subscriber_count("leads") == quiet.internal_subscribers("leads")


async def test_logged_out_token_is_refused(quiet: LiveServer, client: httpx.AsyncClient) -> None:
    token = await access_token(client, "leaver@leadgraph.dev")
    logout = await gql(client, "mutation { logout }",
                       headers={"Authorization": f"Bearer {token}", "X-API-Key": ""})
    assert logout["data"] == {"logout": True}, logout
    assert await rejected_with(f"{quiet.ws_url}/graphql",
                               {"Authorization": f"Bearer {token}"}) == 4403


async def test_subscribe_before_connection_init_closes_with_4401(quiet: LiveServer) -> None:
    async with websockets.connect(
        f"{quiet.ws_url}/graphql", subprotocols=[GRAPHQL_WS]  # type: ignore[list-item]
    ) as connection:
        await connection.send(json.dumps({
            "id": "1", "type": "subscribe", "payload": {"query": LEAD_EVENTS},
        }))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(connection.recv(), 10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401
    assert quiet.runtime.broker.subscriber_count("leads") == quiet.internal_subscribers("leads")


async def test_second_connection_init_closes_with_4429(sockets: Sockets) -> None:
    socket = await sockets.open({"apiKey": API_KEY})
    await socket.send({"type": "connection_init", "payload": {"apiKey": API_KEY}})
    with pytest.raises(ConnectionClosed) as closed:
        await socket.receive()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4429


@pytest.mark.parametrize("subprotocols", [["graphql-ws"], None])
async def test_only_graphql_transport_ws_is_spoken(
    quiet: LiveServer, subprotocols: list[str] | None
) -> None:
    async with websockets.connect(
        f"{quiet.ws_url}/graphql", subprotocols=subprotocols  # type: ignore[arg-type]
    ) as connection:
        assert connection.subprotocol is None
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(connection.recv(), 10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4406


async def test_graphql_transport_ws_is_chosen_when_offered_with_others(
    quiet: LiveServer,
) -> None:
    async with websockets.connect(
        f"{quiet.ws_url}/graphql",
        subprotocols=["graphql-ws", GRAPHQL_WS],  # type: ignore[list-item]
    ) as connection:
        assert connection.subprotocol == GRAPHQL_WS
        await connection.send(json.dumps({"type": "connection_init",
                                          "payload": {"apiKey": API_KEY}}))
        ack = json.loads(await asyncio.wait_for(connection.recv(), 10))
        assert ack["type"] == "connection_ack"
