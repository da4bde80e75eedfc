"""Seed 003, the customer-care document.

Paths: ``POST /auth/register``, ``POST /auth/login``, ``POST /conversations``,
``GET /conversations`` (limit/offset, ``X-Total-Count`` … headers),
``POST /conversations/{id}/messages``, WebSocket ``/ws/conversations/{id}?token=<jwt>``; the
same under its production base ``/v1``, where ``GET /v1/health`` answers the document's exact
``{"status": "ok", …}``.
Errors: ``{"error": {"code", "message", "details"}}``; bad input is a 400.
Auth: JWT bearer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import AsyncGenerator
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from leadgraph.domain.analytics import Timeframe
from leadgraph.domain.conversations import Channel, ConversationFilter, Message, MessageRole
from leadgraph.domain.errors import DomainError, FieldProblem, NotFound, ValidationFailed
from leadgraph.domain.pagination import MAX_PAGE_SIZE, PageRequest
from leadgraph.domain.users import Principal
from leadgraph.resolvers.registry import UseCases
from leadgraph.resolvers.sockets import TooManyConnections
from leadgraph.rest_compat._http import (
    Call,
    endpoint,
    iso_z,
    json_response,
    now_z,
)
from leadgraph.rest_compat._shapes import (
    NestedErrorDialect,
    login_with_email,
    snake_token_grant,
)


class CustomerCareDialect(NestedErrorDialect):
    name = "customer_care"


DIALECT = CustomerCareDialect()


def _string(body: dict[str, Any], name: str, problems: list[FieldProblem]) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        problems.append(FieldProblem(name, "is required and must be a string"))
        return ""
    return value


async def register(call: Call) -> Response:
    body = await call.json_object()
    problems: list[FieldProblem] = []
    email = _string(body, "email", problems)
    password = _string(body, "password", problems)
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        problems.append(FieldProblem("name", "must be a string"))
    if problems:
        raise ValidationFailed(problems)
    user = await call.use_cases.auth.register(
        email=email, password=password, name=name if isinstance(name, str) else None
    )
    return json_response(
        {"id": user.id, "email": user.email, "name": user.name,
         "created_at": iso_z(user.created_at)},
        201,
    )


async def login(call: Call) -> Response:
    return json_response(snake_token_grant(await login_with_email(call)))


async def health(call: Call) -> Response:
    await call.use_cases.health.require_ready()  # 503 while MongoDB is unreachable
    return json_response(
        {"status": "ok", "version": call.use_cases.health.version, "timestamp": now_z()}
    )


async def start_conversation(call: Call) -> Response:
    conversation = await call.use_cases.conversations.start(call.actor(), channel=Channel.API)
    return json_response(
        {"conversation_id": conversation.id, "created_at": iso_z(conversation.created_at)}, 201
    )


async def list_conversations(call: Call) -> Response:
    limit = call.query_int("limit", 20, minimum=1, maximum=MAX_PAGE_SIZE)
    offset = call.query_int("offset", 0, minimum=0, maximum=10_000_000)
    page = await call.use_cases.conversations.search(
        call.actor(), ConversationFilter(), PageRequest(offset=offset, limit=limit)
    )
    headers = {
        "X-Total-Count": str(page.total),
        "X-Page-Size": str(limit),
        "X-Page": str(offset // limit + 1),
        "X-Total-Pages": str(math.ceil(page.total / limit)),
    }
    body = [
        {"conversation_id": c.id, "created_at": iso_z(c.created_at),
         "last_active": iso_z(c.last_active), "status": c.status.value,
         "message_count": c.last_seq, "lead_id": c.lead_id}
        for c in page.items
    ]
    return json_response(body, headers=headers)


def entities_shape(message: Message) -> list[dict[str, Any]]:
    analysis = message.analysis
    return [{"entity": e.type, "value": e.value} for e in analysis.entities] if analysis else []


async def send_message(call: Call) -> Response:
    body = await call.json_object()
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise ValidationFailed.single("metadata", "must be an object")
    actor = call.actor()
    turn = await call.use_cases.conversations.send_message(
        actor, call.path_params["conversation_id"], body.get("message"), sender=actor.id
    )
    return json_response({
        "message_id": turn.user_message.id,
        "conversation_id": turn.conversation.id,
        "sender": actor.id,
        "message": turn.user_message.content,
        "timestamp": iso_z(turn.user_message.timestamp),
        "response": {
            "text": turn.reply.content,
            "intent": turn.analysis.intent,
            "confidence": turn.analysis.confidence,
            "entities": entities_shape(turn.user_message),
        },
    })


def reply_frame(message: Message) -> dict[str, Any]:
    analysis = message.analysis
    return {
        "type": "message",
        "content": message.content,
        "timestamp": iso_z(message.timestamp),
        "metadata": {
            "intent": analysis.intent if analysis else None,
            "confidence": analysis.confidence if analysis else None,
            "message_id": message.id,
            "seq": message.seq,
        },
    }


def error_frame(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"code": code, "message": message}}


async def conversation_socket(websocket: WebSocket) -> None:
    """The document's chat socket: ``{"type":"message","content":…}`` in, replies out.

    Replies travel through the same message stream as every other transport's, so a reply
    to a message sent over REST or GraphQL reaches this socket too.
    """
    use_cases: UseCases = websocket.app.state.use_cases
    conversation_id = websocket.path_params["conversation_id"]
    token = websocket.query_params.get("token", "")
    try:
        principal = await use_cases.auth.authenticate_token(token)
    except DomainError:
        await _refuse(websocket, 4401, "Unauthorized")
        return
    try:
        async with use_cases.sockets.hold(principal.id):
            stream = await use_cases.conversations.open_message_stream(
                principal, conversation_id
            )
            await websocket.accept()
            await _serve_socket(websocket, use_cases, principal, conversation_id, stream)
    except TooManyConnections as exc:
        await _refuse(websocket, 4429, exc.message)
    except NotFound as exc:
        await _refuse(websocket, 4404, exc.message)


async def _refuse(websocket: WebSocket, code: int, reason: str) -> None:
    """Close with an application code. Closing before ``accept`` would make the server
    refuse the handshake with a bare HTTP 403, and the client would never see the code."""
    if websocket.application_state is WebSocketState.CONNECTING:
        await websocket.accept()
    await websocket.close(code=code, reason=reason)


async def _serve_socket(
    websocket: WebSocket, use_cases: UseCases, principal: Principal, conversation_id: str,
    stream: AsyncGenerator[Message, None],
) -> None:
    async def forward() -> None:
        async for message in stream:
            if message.role is not MessageRole.USER:
                await websocket.send_json(reply_frame(message))

    forwarder = asyncio.create_task(forward())
    try:
        while True:
            raw = await websocket.receive_text()
            try:
                frame = json.loads(raw)
            except json.JSONDecodeError:
                await websocket.send_json(error_frame("bad_request", "Frames must be JSON"))
                continue
            if not isinstance(frame, dict) or frame.get("type") != "message":
                await websocket.send_json(
                    error_frame("bad_request", 'Expected {"type": "message", "content": …}')
                )
                continue
            try:
                await use_cases.conversations.send_message(
                    principal, conversation_id, frame.get("content"), sender=principal.id,
                    field_name="content",
                )
            except DomainError as exc:
                await websocket.send_json(error_frame(exc.code.lower(), exc.message))
    except WebSocketDisconnect:
        pass
    finally:
        forwarder.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            await forwarder
        await stream.aclose()



async def conversation_analytics(call: Call) -> Response:
    """``GET /analytics/conversations?start_date&end_date&timeframe``."""
    analytics = call.use_cases.analytics
    problems: list[FieldProblem] = []
    window = None
    timeframe = Timeframe.DAILY
    try:
        window = analytics.parse_window(
            call.query_str("start_date"), call.query_str("end_date")
        )
    except ValidationFailed as exc:
        problems.extend(exc.problems)
    try:
        timeframe = Timeframe.parse(call.request.query_params.get("timeframe"))
    except ValidationFailed as exc:
        problems.extend(exc.problems)
    if problems or window is None:
        raise ValidationFailed(problems)
    result = await analytics.conversations(call.actor(), window, timeframe)
    return json_response({
        "total_conversations": result.total_conversations,
        "active_users": result.active_users,
        "messages_per_conversation": result.messages_per_conversation,
        "intent_distribution": [
            {"intent": item.key, "count": item.count} for item in result.intent_distribution
        ],
        "time_series": [
            {"timestamp": iso_z(point.timestamp), "count": point.count}
            for point in result.time_series
        ],
    })


def routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        Route("/v1/health", endpoint(DIALECT, health, public=True), methods=["GET"]),
    ]
    for base in ("", "/v1"):
        routes += [
            Route(f"{base}/conversations", endpoint(DIALECT, start_conversation),
                  methods=["POST"]),
            Route(f"{base}/conversations", endpoint(DIALECT, list_conversations),
                  methods=["GET"]),
            Route(f"{base}/conversations/{{conversation_id}}/messages",
                  endpoint(DIALECT, send_message), methods=["POST"]),
            WebSocketRoute(f"{base}/ws/conversations/{{conversation_id}}", conversation_socket),
            Route(f"{base}/auth/register", endpoint(DIALECT, register, public=True),
                  methods=["POST"]),
            Route(f"{base}/auth/login", endpoint(DIALECT, login, public=True), methods=["POST"]),
            Route(f"{base}/analytics/conversations", endpoint(DIALECT, conversation_analytics),
                  methods=["GET"]),
        ]
    return routes
