"""``POST /api/v1/auth/login``: claimed by seed 002 (its own path) and by seed 004 (through its
``/api/v1`` version alias). One route answers both documents' clients.

Request: seed 002's ``{email, password}`` or seed 004's ``{username, password}`` (``email``
wins when both are sent), plus the TOTP code once MFA is on (``code``, ``mfa_code`` or
``otp``).

Success, a superset of both documents (no key clashes)::

    {"access_token", "token_type", "expires_in", "refresh_token", "user": {id, email, name},
     "status": "success", "data": {accessToken, refreshToken, expiresIn, tokenType, user}}

Errors cannot be a superset: seed 002's ``"error"`` is a title string, seed 004's an object.
The request says who is asking: a body that names ``username`` and not ``email`` is seed
004's client and gets seed 004's envelope (validation 400); anything else gets seed 002's
(validation 422), the path's first owner.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from leadgraph.domain.errors import DomainError
from leadgraph.rest_compat import chatbots_platform, lead_management
from leadgraph.rest_compat._http import Call, Dialect, endpoint, json_response, problem_for
from leadgraph.rest_compat._shapes import login_with_email, snake_token_grant

PATH = "/api/v1/auth/login"


def dialect_of(body: dict[str, Any]) -> Dialect:
    if "username" in body and "email" not in body:
        return chatbots_platform.DIALECT
    return lead_management.DIALECT


async def login(call: Call) -> Response:
    body = await call.json_object()  # malformed: seed 002's envelope, the path's owner
    dialect = dialect_of(body)
    try:
        if dialect is chatbots_platform.DIALECT:
            grant = await chatbots_platform.login_from(call, body)
        else:
            grant = await login_with_email(call, body)
    except DomainError as exc:
        return dialect.error_response(problem_for(exc, dialect.validation_status))
    return json_response({
        **snake_token_grant(grant),
        "status": "success",
        "data": chatbots_platform.token_shape(grant),
    })


def routes() -> list[BaseRoute]:
    return [Route(PATH, endpoint(lead_management.DIALECT, login, public=True),
                  methods=["POST"])]
