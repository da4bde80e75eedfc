"""Wire shapes that more than one legacy document spells the same way."""

from __future__ import annotations

from typing import Any

from leadgraph.domain.errors import FieldProblem, ValidationFailed
from leadgraph.domain.users import User
from leadgraph.resolvers.auth import TokenGrant
from leadgraph.rest_compat._http import Call, Dialect, Problem

LoginShape = dict[str, Any]


def snake_token_grant(grant: TokenGrant) -> LoginShape:
    """Seeds 002 and 003: ``{access_token, token_type, expires_in, user{id, email, name}}``."""
    return {
        "access_token": grant.access_token,
        "token_type": grant.token_type,
        "expires_in": grant.expires_in,
        "refresh_token": grant.refresh_token,
        "user": user_summary(grant.user),
    }


def user_summary(user: User) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "name": user.name}


# Where a login body may carry the TOTP code: seed 004 documents ``code``; clients of the
# other documents (which predate MFA) may send ``mfa_code`` or ``otp``.
MFA_CODE_FIELDS = ("code", "mfa_code", "otp")


def mfa_code(body: dict[str, Any]) -> str | None:
    """The TOTP code of a login body, if any. A string: a JSON number would lose leading
    zeros. Whether it is needed and valid is decided once, in ``AuthUseCases.login``."""
    for name in MFA_CODE_FIELDS:
        value = body.get(name)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise ValidationFailed.single(name, "must be a string of digits")
        return value.strip()
    return None


async def login_with_email(call: Call, body: dict[str, Any] | None = None) -> TokenGrant:
    """Seeds 002/003 log in with ``{"email", "password"}`` (plus a TOTP code once MFA is on)."""
    if body is None:
        body = await call.json_object()
    email, password = body.get("email"), body.get("password")
    problems = [
        FieldProblem(name, "is required and must be a string")
        for name, value in (("email", email), ("password", password))
        if not isinstance(value, str) or not value
    ]
    if problems:
        raise ValidationFailed(problems)
    assert isinstance(email, str) and isinstance(password, str)
    return await call.use_cases.auth.login(email, password, mfa_code(body))



class NestedErrorDialect(Dialect):
    """Seeds 000 and 003 both write ``{"error": {"code", "message", "details": {field: msg}}}``
    and answer bad input with a 400."""

    validation_status = 400

    def error_body(self, problem: Problem) -> Any:
        return {"error": {
            "code": problem.code,
            "message": problem.message,
            "details": {p.field: p.message for p in problem.fields},
        }}
