"""Seed 004, the chatbots-platform document.

Paths (base ``/api``): ``POST /auth/register|login|refresh|logout``,
``GET /health/liveness|readiness``.
Envelope: ``{"status": "success", "data": …}``; errors
``{"status": "error", "error": {"code": <http status>, "message", "details": [...]}}``.
Auth: JWT bearer or ``X-API-KEY``.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from leadgraph.domain.errors import FieldProblem, Unauthenticated, ValidationFailed
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


async def login(call: Call) -> Response:
    body = await call.json_object()
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
    return success(token_shape(await call.use_cases.auth.login(identifier, password)))


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


def routes() -> list[BaseRoute]:
    return [
        Route("/api/auth/register", endpoint(DIALECT, register, public=True), methods=["POST"]),
        Route("/api/auth/login", endpoint(DIALECT, login, public=True), methods=["POST"]),
        Route("/api/auth/refresh", endpoint(DIALECT, refresh, public=True), methods=["POST"]),
        Route("/api/auth/logout", endpoint(DIALECT, logout, public=True), methods=["POST"]),
        Route("/api/health/liveness", endpoint(DIALECT, liveness, public=True), methods=["GET"]),
        Route("/api/health/readiness", endpoint(DIALECT, readiness, public=True),
              methods=["GET"]),
    ]
