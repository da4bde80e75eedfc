"""Typed domain errors.

They are raised once, where a rule is broken, and mapped once per transport: GraphQL turns
``code`` into ``extensions.code``; each REST dialect turns the class into a status code and
its own error envelope. Nothing here knows about HTTP.
"""

from __future__ import annotations

from abc import ABC
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


class PayloadTooLarge(DomainError):
    """A request body over its size limit: HTTP 413 on every transport, in its own format.

    Raised while the body is being read (see ``leadgraph.limits``), so an oversized body is
    never held in memory whole.
    """

    code = "PAYLOAD_TOO_LARGE"

    def __init__(self, limit: int) -> None:
        super().__init__(f"Request body too large: the limit is {limit} bytes")
        self.limit = limit


class RateLimited(DomainError):
    """The caller used up a rate limit (``leadgraph.domain.ratelimits``); retry later.

    ``headers`` are the ``X-RateLimit-*`` and ``Retry-After`` values the transport sends.
    """

    code = "RATE_LIMITED"

    def __init__(self, retry_after: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"Rate limit exceeded: retry in {retry_after} seconds")
        self.retry_after = retry_after
        self.headers = dict(headers or {})


class Outage(ABC):  # noqa: B024 - a marker: drivers' exception classes are registered into it
    """Marks a driver's "cannot reach the server" exceptions, without importing the driver.

    An adapter registers its driver's connection errors once (``Outage.register(...)``, next to
    the client it opens), and each transport asks :func:`unavailable_for` in its one error
    mapper, so an unreachable database is a ``SERVICE_UNAVAILABLE``/503 in the caller's format
    everywhere instead of a masked 500, and no transport learns which driver is underneath.
    """


OUTAGE_MESSAGE = "The service is temporarily unavailable; try again shortly"


def unavailable_for(exc: BaseException | None) -> ServiceUnavailable | None:
    """The domain error for an outage exception (its detail stays in the server log)."""
    if isinstance(exc, ServiceUnavailable):
        return exc
    if isinstance(exc, Outage):
        return ServiceUnavailable(OUTAGE_MESSAGE)
    return None
