"""Seed 004, the chatbots-platform document.

Paths (base ``/api``): ``POST /auth/register|login|refresh|logout``,
``GET /health/liveness|readiness``, ``GET /conversations``, ``GET /conversations/{id}``,
``GET|POST /conversations/{id}/messages``.
Pagination: ``?page=&pageSize=`` -> ``{"items", "pagination": {total, page, pageSize, pages,
next, prev}}``.
Envelope: ``{"status": "success", "data": …}``; errors
``{"status": "error", "error": {"code": <http status>, "message", "details": [...]}}``.
Auth: JWT bearer or ``X-API-KEY``.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from leadgraph.domain.conversations import Conversation, ConversationFilter, Message
from leadgraph.domain.errors import FieldProblem, Unauthenticated, ValidationFailed
from leadgraph.domain.pagination import MAX_PAGE_SIZE, PageRequest
from leadgraph.domain.users import User
from leadgraph.resolvers.auth import TokenGrant
from leadgraph.rest_compat._http import (
    Call,
    Dialect,
    Problem,
    endpoint,
    iso_z,
    json_response,
)
from leadgraph.rest_compat._shapes import mfa_code


class ChatbotsPlatformDialect(Dialect):
    name = "chatbots_platform"
    validation_status = 400

    def error_body(self, problem: Problem) -> Any:
        return {"status": "error", "error": {
            "code": problem.status,
            "message": problem.message,
            "details": [{"field": p.field, "message": p.message} for p in problem.fields],
        }}


DIALECT = ChatbotsPlatformDialect()


def success(data: Any, status: int = 200) -> Response:
    return json_response({"status": "success", "data": data}, status)


def user_shape(user: User) -> dict[str, Any]:
    return {
        "id": user.id, "username": user.username, "email": user.email, "name": user.name,
        "role": user.role.value, "createdAt": iso_z(user.created_at),
    }


def token_shape(grant: TokenGrant) -> dict[str, Any]:
    return {
        "accessToken": grant.access_token,
        "refreshToken": grant.refresh_token,
        "expiresIn": grant.expires_in,
        "tokenType": "Bearer",
        "user": user_shape(grant.user),
    }


def _optional_string(body: dict[str, Any], name: str, problems: list[FieldProblem]) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(FieldProblem(name, "must be a string"))
        return None
    return value


async def register(call: Call) -> Response:
    body = await call.json_object()
    problems: list[FieldProblem] = []
    username = _optional_string(body, "username", problems)
    email = _optional_string(body, "email", problems)
    password = _optional_string(body, "password", problems)
    name = _optional_string(body, "name", problems)
    for field_name, value in (("email", email), ("password", password)):
        if not value:
            problems.append(FieldProblem(field_name, "is required"))
    if problems:
        raise ValidationFailed(problems)
    user = await call.use_cases.auth.register(
        email=email or "", password=password or "", name=name or username, username=username
    )
    return success(user_shape(user), 201)


async def login_from(call: Call, body: dict[str, Any]) -> TokenGrant:
    """``{username | email, password, code?}``; a missing or wrong ``code`` for an account
    with MFA on is ``MfaRequired`` (401, ``details: [{field: code, message: mfa_required}]``,
    mapped once in ``problem_for``)."""
    problems: list[FieldProblem] = []
    identifier = _optional_string(body, "username", problems) or _optional_string(
        body, "email", problems
    )
    password = _optional_string(body, "password", problems)
    if not identifier:
        problems.append(FieldProblem("username", "username or email is required"))
    if not password:
        problems.append(FieldProblem("password", "is required"))
    if problems:
        raise ValidationFailed(problems)
    assert identifier is not None and password is not None
    return await call.use_cases.auth.login(identifier, password, mfa_code(body))


async def login(call: Call) -> Response:
    return success(token_shape(await login_from(call, await call.json_object())))


async def refresh(call: Call) -> Response:
    body = await call.json_object()
    token = body.get("refreshToken")
    if not isinstance(token, str) or not token:
        raise ValidationFailed.single("refreshToken", "is required")
    return success(token_shape(await call.use_cases.auth.refresh(token)))


async def logout(call: Call) -> Response:
    """With an access token, ends that session; a ``refreshToken`` in the body ends its own."""
    raw = await call.request.body()
    body = await call.json_object() if raw.strip() else {}
    token = body.get("refreshToken")
    if token is not None and not isinstance(token, str):
        raise ValidationFailed.single("refreshToken", "must be a string")
    if call.principal is not None:
        await call.use_cases.auth.logout(call.principal, token)
    elif token:
        await call.use_cases.auth.logout_refresh(token)
    else:
        raise Unauthenticated()
    return success({"message": "Logged out"})


async def liveness(call: Call) -> Response:
    return success({"status": "alive", "timestamp": iso_z(call.use_cases.health.now())})


async def readiness(call: Call) -> Response:
    state = await call.use_cases.health.readiness()
    checks = {name: "up" if ok else "down" for name, ok in state.checks.items()}
    if not state.ready:
        return DIALECT.error_response(Problem(
            503, "service_unavailable", "Service is not ready",
            [FieldProblem(name, status) for name, status in checks.items() if status == "down"],
        ))
    return success({"status": "ready", "checks": checks, "timestamp": iso_z(state.at)})


def page_request(call: Call) -> tuple[int, int, PageRequest]:
    page = call.query_int("page", 1, minimum=1, maximum=1_000_000)
    size = call.query_int("pageSize", 10, minimum=1, maximum=MAX_PAGE_SIZE)
    return page, size, PageRequest(offset=(page - 1) * size, limit=size)


def paginated(call: Call, items: list[Any], total: int, page: int, size: int) -> Response:
    """The document's paginated envelope; next/prev are links like its own example."""
    pages = math.ceil(total / size)
    path = call.request.url.path

    def link(number: int) -> str:
        query = {**call.request.query_params, "page": str(number), "pageSize": str(size)}
        return f"{path}?{urlencode(query)}"

    return success({"items": items, "pagination": {
        "total": total, "page": page, "pageSize": size, "pages": pages,
        "next": link(page + 1) if page < pages else None,
        "prev": link(page - 1) if page > 1 else None,
    }})


def conversation_shape(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "chatbotId": conversation.chatbot_id,
        "channel": conversation.channel.value,
        "status": conversation.status.value,
        "sessionId": conversation.external_id,
        "leadId": conversation.lead_id,
        "currentStep": conversation.current_step.value,
        "collectedInfo": conversation.collected_info.as_public_dict(),
        "purchaseIntent": conversation.purchase_intent.value,
        "messageCount": conversation.last_seq,
        "createdAt": iso_z(conversation.created_at),
        "lastActive": iso_z(conversation.last_active),
    }


def message_shape(message: Message) -> dict[str, Any]:
    analysis = message.analysis
    return {
        "id": message.id,
        "conversationId": message.conversation_id,
        "seq": message.seq,
        "role": message.role.value,
        "text": message.content,
        "sender": message.sender,
        "timestamp": iso_z(message.timestamp),
        "analysis": None if analysis is None else {
            "intent": analysis.intent, "confidence": analysis.confidence,
            "sentiment": analysis.sentiment, "purchaseIntent": analysis.purchase_intent.value,
            "entities": [{"type": e.type, "value": e.value} for e in analysis.entities],
        },
    }


async def list_conversations(call: Call) -> Response:
    page, size, request = page_request(call)
    result = await call.use_cases.conversations.search(
        call.actor(), ConversationFilter(chatbot_id=call.query_str("chatbotId")), request
    )
    return paginated(call, [conversation_shape(c) for c in result.items], result.total,
                     page, size)


async def get_conversation(call: Call) -> Response:
    conversation = await call.use_cases.conversations.get(call.actor(), call.path_params["id"])
    return success(conversation_shape(conversation))


async def list_messages(call: Call) -> Response:
    page, size, request = page_request(call)
    conversation = await call.use_cases.conversations.get(call.actor(), call.path_params["id"])
    messages = await call.use_cases.conversations.messages(
        call.actor(), conversation.id, request.offset, size
    )
    return paginated(call, [message_shape(m) for m in messages], conversation.last_seq,
                     page, size)


async def send_message(call: Call) -> Response:
    body = await call.json_object()
    field_name = next((key for key in ("text", "message", "content") if key in body), "text")
    actor = call.actor()
    turn = await call.use_cases.conversations.send_message(
        actor, call.path_params["id"], body.get(field_name), sender=actor.id,
        field_name=field_name,
    )
    return success({
        "message": message_shape(turn.user_message),
        "reply": message_shape(turn.reply),
        "conversation": conversation_shape(turn.conversation),
    }, 201)


def routes() -> list[BaseRoute]:
    return [
        Route("/api/conversations", endpoint(DIALECT, list_conversations), methods=["GET"]),
        Route("/api/conversations/{id}", endpoint(DIALECT, get_conversation), methods=["GET"]),
        Route("/api/conversations/{id}/messages", endpoint(DIALECT, list_messages),
              methods=["GET"]),
        Route("/api/conversations/{id}/messages", endpoint(DIALECT, send_message),
              methods=["POST"]),
        Route("/api/auth/register", endpoint(DIALECT, register, public=True), methods=["POST"]),
        Route("/api/auth/login", endpoint(DIALECT, login, public=True), methods=["POST"]),
        Route("/api/auth/refresh", endpoint(DIALECT, refresh, public=True), methods=["POST"]),
        Route("/api/auth/logout", endpoint(DIALECT, logout, public=True), methods=["POST"]),
        Route("/api/health/liveness", endpoint(DIALECT, liveness, public=True), methods=["GET"]),
        Route("/api/health/readiness", endpoint(DIALECT, readiness, public=True),
              methods=["GET"]),
    ]
