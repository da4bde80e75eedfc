"""What every dialect shares: auth, body/query parsing, and mapping errors to statuses.

Domain errors map to a status here, once; each dialect only decides how the envelope looks.
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Collection, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from leadgraph.domain.errors import (
    Conflict,
    DomainError,
    FieldProblem,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    Unauthenticated,
    ValidationFailed,
)
from leadgraph.domain.users import Principal
from leadgraph.resolvers.auth import Credentials
from leadgraph.resolvers.registry import UseCases

log = logging.getLogger("leadgraph.rest")

MAX_JSON_BODY = 1_000_000


class BadRequest(DomainError):
    """The request itself is malformed (not JSON, wrong shape): a transport-level problem."""

    code = "BAD_REQUEST"

    def __init__(self, message: str, field_name: str = "body") -> None:
        super().__init__(message)
        self.problems = [FieldProblem(field_name, message)]


@dataclass(frozen=True)
class Problem:
    """A failure, independent of how a dialect spells it."""

    status: int
    code: str
    message: str
    fields: list[FieldProblem] = field(default_factory=list)


def problem_for(exc: Exception, validation_status: int) -> Problem:
    if isinstance(exc, BadRequest):
        return Problem(400, "bad_request", exc.message, exc.problems)
    if isinstance(exc, ValidationFailed):
        return Problem(validation_status, "validation_error", exc.message, exc.problems)
    if isinstance(exc, NotFound):
        return Problem(404, "not_found", exc.message)
    if isinstance(exc, Unauthenticated):
        return Problem(401, "unauthorized", exc.message)
    if isinstance(exc, Forbidden):
        return Problem(403, "forbidden", exc.message)
    if isinstance(exc, Conflict):
        return Problem(409, "conflict", exc.message)
    if isinstance(exc, ServiceUnavailable):
        return Problem(503, "service_unavailable", exc.message)
    return Problem(500, "internal_error", "Internal server error")


class Dialect(ABC):
    """One legacy document's conventions for errors."""

    name: str
    validation_status: int = 422

    @abstractmethod
    def error_body(self, problem: Problem) -> Any: ...

    def error_response(self, problem: Problem) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else None
        return JSONResponse(self.error_body(problem), status_code=problem.status, headers=headers)


@dataclass
class Call:
    """One REST request as the handlers see it."""

    request: Request
    use_cases: UseCases
    principal: Principal | None

    def actor(self) -> Principal:
        if self.principal is None:
            raise Unauthenticated()
        return self.principal

    @property
    def path_params(self) -> Mapping[str, str]:
        return self.request.path_params

    async def json_object(self) -> dict[str, Any]:
        """The body as a JSON object; anything else is a 400 naming the problem."""
        raw = await self.request.body()
        if len(raw) > MAX_JSON_BODY:
            raise BadRequest("Request body too large")
        if not raw.strip():
            raise BadRequest("Request body must be a JSON object")
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BadRequest(f"Malformed JSON: {exc}") from None
        if not isinstance(body, dict):
            raise BadRequest("Request body must be a JSON object")
        return body

    def query_int(self, name: str, default: int, *, minimum: int, maximum: int) -> int:
        raw = self.request.query_params.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ValidationFailed.single(name, "must be an integer") from None
        if not minimum <= value <= maximum:
            raise ValidationFailed.single(name, f"must be between {minimum} and {maximum}")
        return value

    def query_float(self, name: str) -> float | None:
        raw = self.request.query_params.get(name)
        if raw is None or raw == "":
            return None
        try:
            return float(raw)
        except ValueError:
            raise ValidationFailed.single(name, "must be a number") from None

    def query_str(self, name: str) -> str | None:
        value = self.request.query_params.get(name)
        return value if value else None


Handler = Callable[[Call], Awaitable[Response]]


def endpoint(
    dialect: Dialect, handler: Handler, *, public: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler: authenticate, run, and render any failure in the dialect's envelope."""

    async def run(request: Request) -> Response:
        use_cases: UseCases = request.app.state.use_cases
        try:
            principal = None
            credentials = Credentials.from_headers(request.headers)
            if not public:
                principal = await use_cases.auth.authenticate(credentials)
            elif credentials.present:
                # Public routes ignore stale credentials rather than refuse a login.
                with suppress(Unauthenticated):
                    principal = await use_cases.auth.authenticate(credentials)
            return await handler(Call(request, use_cases, principal))
        except DomainError as exc:
            return dialect.error_response(problem_for(exc, dialect.validation_status))
        except Exception:
            log.exception("unhandled error in %s %s", request.method, request.url.path)
            return dialect.error_response(problem_for(Exception(), dialect.validation_status))

    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


def iso_z(moment: datetime | None, *, millis: bool = False) -> str | None:
    """``2023-07-01T12:30:00Z`` (seeds 000/002/003) or ``…00.000Z`` (seed 001)."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if millis:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


def now_z() -> str:
    result = iso_z(datetime.now(UTC))
    assert result is not None
    return result


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return JSONResponse(data, status_code=status, headers=dict(headers or {}))


DEDUPLICATED_HEADER = "X-LeadGraph-Deduplicated"


def accepted(data: Mapping[str, Any], wire_fields: Collection[str]) -> dict[str, Any]:
    """Keep the fields a dialect documents; like the legacy servers, ignore the rest."""
    return {key: value for key, value in data.items() if key in wire_fields}
