"""A shared subscription result is encoded once (``leadgraph/schema/frames.py``), and every
subscriber still receives exactly the bytes Strawberry would have sent, with its own id."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from leadgraph.schema.frames import NextFrames
from tests.support import API_KEY, GraphQLSocket, LiveServer, gql, wait_for_subscribers

SUBSCRIPTION = "subscription { leadEvents { type lead { name notes } } }"
CREATE_LEAD = """
mutation($name: String!, $email: String!, $notes: String!) {
  createLead(input: {name: $name, email: $email, notes: $notes}) { id }
}
"""
# Ids a client may choose, including ones JSON must escape.
IDS = ["1", "sub-2", 'quote"and\\slash', "ünïcode ✓"]


def strawberry_encoding(message: dict[str, Any]) -> str:
    # Strawberry's BaseView.encode_json, which the view does not override.
    return json.dumps(message, separators=(",", ":"))


async def raw_next(socket: GraphQLSocket) -> str:
    while True:
        raw = await asyncio.wait_for(socket.connection.recv(), 10.0)
        assert isinstance(raw, str)
        if json.loads(raw)["type"] == "next":
            return raw


async def test_shared_frames_are_byte_identical_with_each_subscribers_id(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    sockets = [await GraphQLSocket.open(f"{server.ws_url}/graphql", {"apiKey": API_KEY})
               for _ in IDS]
    try:
        for socket, operation_id in zip(sockets, IDS, strict=True):
            await socket.subscribe(operation_id, SUBSCRIPTION)
        await wait_for_subscribers(server, "leads", len(IDS))
        for number, name in enumerate(("Frame One", "Frame Twö")):
            notes = 'says "hi"\n\\ ✓'
            created = await gql(client, CREATE_LEAD, {
                "name": name, "email": f"frame{number}@frames.dev", "notes": notes})
            assert "errors" not in created, created
            expected_payload = {"data": {"leadEvents": {
                "type": "CREATED", "lead": {"name": name, "notes": notes}}}}
            for socket, operation_id in zip(sockets, IDS, strict=True):
                raw = await raw_next(socket)
                assert raw == strawberry_encoding(
                    {"id": operation_id, "type": "next", "payload": expected_payload})
    finally:
        for socket in sockets:
            await socket.close()


def test_one_encoding_per_data_object_and_extensions() -> None:
    encoded: list[object] = []

    def encode(value: object) -> str:
        encoded.append(value)
        return strawberry_encoding(value)  # type: ignore[arg-type]

    frames = NextFrames(encode)
    assert frames.enabled
    encoded.clear()
    data = {"leadEvents": {"type": "CREATED", "lead": {"notes": "é"}}}
    first = frames.frame("a", {"data": data})
    second = frames.frame("b", {"data": data})
    assert first == strawberry_encoding({"id": "a", "type": "next", "payload": {"data": data}})
    assert second == strawberry_encoding({"id": "b", "type": "next", "payload": {"data": data}})
    assert len(encoded) == 1
    # Equal but not the same object (another execution): encoded again.
    frames.frame("c", {"data": json.loads(json.dumps(data))})
    assert len(encoded) == 2
    # Other extensions: another payload.
    with_extensions = {"data": data, "extensions": {"leadgraph": {"x": [1]}}}
    assert frames.frame("d", with_extensions) == strawberry_encoding(
        {"id": "d", "type": "next", "payload": with_extensions})
    assert len(encoded) == 3
    # Errors, or no data: Strawberry encodes the message itself.
    assert frames.frame("e", {"data": data, "errors": [{"message": "x"}]}) is None
    assert frames.frame("f", {"data": None}) is None


def test_a_different_encoding_turns_the_cache_off() -> None:
    frames = NextFrames(lambda value: json.dumps(value, indent=2))
    assert not frames.enabled
    assert frames.frame("a", {"data": {"x": 1}}) is None


async def test_errors_of_a_streamed_result_keep_their_codes(server: LiveServer) -> None:
    # Masking and code mapping run in the per-result hook (leadgraph/schema/runner.py).
    socket = await GraphQLSocket.open(f"{server.ws_url}/graphql", {"apiKey": API_KEY})
    try:
        await socket.subscribe("m", "subscription { messageAdded(conversationId: \"nope\") "
                                    "{ seq } }")
        assert await socket.receive() == {"id": "m", "type": "next", "payload": {
            "data": None, "errors": [{"message": "Conversation 'nope' not found",
                                      "extensions": {"code": "NOT_FOUND"}}]}}
        assert await socket.receive() == {"id": "m", "type": "complete"}
    finally:
        await socket.close()
