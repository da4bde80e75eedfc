"""graphql-transport-ws ``next`` frames encoded once per shared subscription result.

``leadgraph.schema.sharing`` executes an event once for every identical subscription of a
principal, so a thousand subscribers receive the very same ``data`` object. Strawberry would
still build and JSON-encode a ``next`` message per subscriber (~20-40 µs for a small event),
serially on the event loop before the last subscriber's frame goes out. Here the payload
(``{"data": …, "extensions": …}``) is encoded once per shared result and each subscriber's
frame is that text with its own operation id spliced in front; the bytes are exactly those
Strawberry's ``encode_json`` would produce (checked when the cache is made: if the view
encodes differently, every frame is encoded as usual).

A result is recognised as the same by the identity of its ``data`` object (held here, so the
identity cannot be reused while it is cached) and equal ``extensions``; a result with errors
is never cached. Memory: the last few results' texts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, cast

from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message

from leadgraph.schema.context import GraphQLContext

Encode = Callable[[object], str | bytes]


class NextFrames:
    """Encoded payloads of the latest few subscription results, by their ``data`` object."""

    def __init__(self, encode: Encode, size: int = 8) -> None:
        self._encode = encode
        self._size = size
        # (data object, extensions or None, encoded payload), newest last.
        self._entries: list[tuple[object, object, str]] = []
        self.enabled = self._splices_like(encode)

    def frame(self, operation_id: str, payload: Mapping[str, Any]) -> str | None:
        """The ``next`` frame for ``payload``, or None when it must be encoded as usual."""
        data = payload.get("data")
        if not self.enabled or type(data) is not dict or "errors" in payload:
            return None
        extensions = payload.get("extensions")
        if len(payload) != (1 if extensions is None else 2):
            return None  # a key we do not know about: leave it to Strawberry
        for known, known_extensions, text in reversed(self._entries):
            if known is data and known_extensions == extensions:
                return _splice(operation_id, text)
        text = _text(self._encode(payload))
        self._entries.append((data, extensions, text))
        if len(self._entries) > self._size:
            del self._entries[0]
        return _splice(operation_id, text)

    @staticmethod
    def _splices_like(encode: Encode) -> bool:
        payload = {"data": {"a": [1, "é"], "b": None}, "extensions": {"c": True}}
        message = {"id": "op-1", "type": "next", "payload": payload}
        try:
            return _text(encode(message)) == _splice("op-1", _text(encode(payload)))
        except (TypeError, ValueError):
            return False


def _splice(operation_id: str, payload_text: str) -> str:
    # Strawberry's encode_json: json.dumps(message, separators=(",", ":")), keys in the order
    # Operation.send_next writes them.
    return f'{{"id":{json.dumps(operation_id)},"type":"next","payload":{payload_text}}}'


def _text(encoded: str | bytes) -> str:
    return encoded.decode() if isinstance(encoded, bytes) else encoded


class SharedFrameTransportWSHandler(BaseGraphQLTransportWSHandler[GraphQLContext, None]):
    """Strawberry's graphql-transport-ws handler, sending ``next`` frames from ``NextFrames``.

    Everything else (the protocol's states, close codes, ``error``/``complete`` messages and
    ``next`` messages with errors) is Strawberry's own.
    """

    async def send_message(self, message: Message) -> None:
        frames: NextFrames | None = getattr(self.view, "next_frames", None)
        socket = getattr(self.websocket, "ws", None)
        if frames is not None and message["type"] == "next" and isinstance(socket, WebSocket):
            text = frames.frame(message["id"], cast("Mapping[str, Any]", message["payload"]))
            if text is not None:
                try:
                    await socket.send_text(text)
                except WebSocketDisconnect as exc:  # as Strawberry's send_json
                    raise WebSocketDisconnected from exc
                return
        await super().send_message(message)
