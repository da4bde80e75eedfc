"""Typed domain errors.

They are raised once, where a rule is broken, and mapped once per transport: GraphQL turns
``code`` into ``extensions.code``; each REST dialect turns the class into a status code and
its own error envelope. Nothing here knows about HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldProblem:
    """One invalid input field, named the way the caller spelled it."""

    field: str
    message: str


class DomainError(Exception):
    """Base of every error a caller may see. ``code`` is stable and machine-readable."""

    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    code = "NOT_FOUND"

    def __init__(self, entity: str, entity_id: str) -> None:
        super().__init__(f"{entity} {entity_id!r} not found")
        self.entity = entity
        self.entity_id = entity_id


@dataclass
class _Problems:
    items: list[FieldProblem] = field(default_factory=list)


class ValidationFailed(DomainError):
    """Input broke a rule. ``problems`` names every offending field."""

    code = "BAD_USER_INPUT"

    def __init__(self, problems: list[FieldProblem] | FieldProblem) -> None:
        items = [problems] if isinstance(problems, FieldProblem) else list(problems)
        summary = "; ".join(f"{p.field}: {p.message}" for p in items) or "invalid input"
        super().__init__(f"Validation error: {summary}")
        self.problems = items

    @classmethod
    def single(cls, field_name: str, message: str) -> ValidationFailed:
        return cls(FieldProblem(field_name, message))


class Conflict(DomainError):
    """The request is valid but clashes with the current state (e.g. a taken username)."""

    code = "CONFLICT"


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"

    def __init__(self, message: str = "Missing or invalid credentials") -> None:
        super().__init__(message)


class Forbidden(DomainError):
    code = "FORBIDDEN"

    def __init__(self, message: str = "You are not allowed to do this") -> None:
        super().__init__(message)


class ServiceUnavailable(DomainError):
    """A dependency (database, broker) cannot be reached; the caller may retry."""

    code = "SERVICE_UNAVAILABLE"
