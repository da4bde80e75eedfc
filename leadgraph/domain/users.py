"""Users, API keys and the principal a request acts as."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from leadgraph.domain.contacts import normalize_email
from leadgraph.domain.errors import FieldProblem, ValidationFailed

MIN_PASSWORD_LENGTH = 8
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")


class Role(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"


class ApiKeyTier(StrEnum):
    """Seed 004's rate-limit tiers."""

    STANDARD = "standard"
    ENTERPRISE = "enterprise"


class User(BaseModel):
    id: str
    email: str
    username: str | None = None
    name: str = ""
    role: Role = Role.AGENT
    is_active: bool = True
    created_at: datetime


class ApiKey(BaseModel):
    """A stored key: only its hash and a short prefix to recognise it by are kept."""

    id: str
    name: str
    prefix: str
    tier: ApiKeyTier = ApiKeyTier.STANDARD
    created_by: str | None = None
    created_at: datetime
    revoked: bool = False


class PrincipalKind(StrEnum):
    USER = "user"
    API_KEY = "api_key"


@dataclass(frozen=True)
class Principal:
    """Who a request acts as. API keys act as services with admin rights."""

    kind: PrincipalKind
    id: str
    display_name: str
    role: Role
    session_id: str | None = None
    tier: ApiKeyTier = ApiKeyTier.STANDARD

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


@dataclass(frozen=True)
class Registration:
    """A validated sign-up request."""

    email: str
    password: str
    name: str
    username: str | None

    @classmethod
    def validate(
        cls, *, email: str, password: str, name: str | None, username: str | None
    ) -> Registration:
        problems: list[FieldProblem] = []
        normalized_email = ""
        try:
            normalized_email = normalize_email(email)
        except ValidationFailed as exc:
            problems.extend(exc.problems)
        if len(password) < MIN_PASSWORD_LENGTH:
            problems.append(
                FieldProblem("password", f"must be at least {MIN_PASSWORD_LENGTH} characters")
            )
        if username is not None and not _USERNAME.match(username):
            problems.append(
                FieldProblem("username", "3-64 letters, digits, '.', '_' or '-'")
            )
        if problems:
            raise ValidationFailed(problems)
        return cls(normalized_email, password, (name or "").strip(), username)
