"""Seed 003, the customer-care document.

Paths: ``POST /auth/register``, ``POST /auth/login``; the same under its production base
``/v1``, where ``GET /v1/health`` answers the document's exact ``{"status": "ok", …}``.
Errors: ``{"error": {"code", "message", "details"}}``; bad input is a 400.
Auth: JWT bearer.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from leadgraph.domain.errors import FieldProblem, ValidationFailed
from leadgraph.rest_compat._http import (
    Call,
    Dialect,
    Problem,
    endpoint,
    iso_z,
    json_response,
    now_z,
)
from leadgraph.rest_compat._shapes import login_with_email, snake_token_grant


class CustomerCareDialect(Dialect):
    name = "customer_care"
    validation_status = 400

    def error_body(self, problem: Problem) -> Any:
        return {"error": {
            "code": problem.code,
            "message": problem.message,
            "details": {p.field: p.message for p in problem.fields},
        }}


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
    return json_response(
        {"status": "ok", "version": call.use_cases.health.version, "timestamp": now_z()}
    )


def routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        Route("/v1/health", endpoint(DIALECT, health, public=True), methods=["GET"]),
    ]
    for base in ("", "/v1"):
        routes += [
            Route(f"{base}/auth/register", endpoint(DIALECT, register, public=True),
                  methods=["POST"]),
            Route(f"{base}/auth/login", endpoint(DIALECT, login, public=True), methods=["POST"]),
        ]
    return routes
