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
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
    Unauthenticated,
    ValidationFailed,
    unavailable_for,
)
from leadgraph.domain.idempotency import IdempotencyKeyReused
from leadgraph.domain.mfa import MfaRequired
from leadgraph.domain.ratelimits import Quota
from leadgraph.domain.users import Principal
from leadgraph.http_idempotency import run_idempotently, wants_idempotency
from leadgraph.limits import BODY_LIMIT_SCOPE_KEY, declared_too_large
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
    if isinstance(exc, IdempotencyKeyReused):  # same Idempotency-Key, different request
        return Problem(422, "idempotency_key_reused", exc.message)
    if isinstance(exc, MfaRequired):  # before Unauthenticated, its base
        return Problem(401, "mfa_required", exc.message, [FieldProblem("code", "mfa_required")])
    if isinstance(exc, Unauthenticated):
        return Problem(401, "unauthorized", exc.message)
    if isinstance(exc, Forbidden):
        return Problem(403, "forbidden", exc.message)
    if isinstance(exc, Conflict):
        return Problem(409, "conflict", exc.message)
    if isinstance(exc, ServiceUnavailable):
        return Problem(503, "service_unavailable", exc.message)
    if isinstance(exc, PayloadTooLarge):
        return Problem(413, "payload_too_large", exc.message)
    if isinstance(exc, RateLimited):
        return Problem(429, "rate_limited", exc.message)
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
        """The body as a JSON object; anything else is a 400 naming the problem.

        The size limit is enforced while the body streams in (``leadgraph.limits``); this
        check only covers an app mounted without that middleware.
        """
        raw = await self.request.body()
        limit: int = self.request.scope.get(BODY_LIMIT_SCOPE_KEY, MAX_JSON_BODY)
        if len(raw) > limit:
            raise PayloadTooLarge(limit)
        if not raw.strip():
            raise BadRequest("Request body must be a JSON object")
        if not _is_json(self.request.headers.get("content-type")):
            # As FastAPI does: a form or text/plain POST (which a page may send cross-site
            # without a CORS preflight) is not read as JSON, whatever it contains.
            raise BadRequest("Request body must be JSON sent as Content-Type: application/json")
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BadRequest(f"Malformed JSON: {exc}") from None
        except RecursionError:
            raise BadRequest("Malformed JSON: nested too deeply") from None
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


def _is_json(content_type: str | None) -> bool:
    """No Content-Type (curl, old clients), ``application/json`` or ``application/*+json``."""
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json"))


Handler = Callable[[Call], Awaitable[Response]]


def endpoint(
    dialect: Dialect, handler: Handler, *, public: bool = False, idempotent: bool | None = None
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler: authenticate, run, and render any failure in the dialect's envelope.

    Mutating requests with an ``Idempotency-Key`` header run once per key (see
    ``leadgraph.http_idempotency``); ``idempotent`` defaults to off for public routes (login,
    Meta's webhooks), where there is no caller to scope a key to.
    """
    keyed = not public if idempotent is None else idempotent

    async def respond(call: Call) -> Response:
        try:
            return await handler(call)
        except DomainError as exc:  # a 4xx is an answer too: stored and replayed
            return dialect.error_response(problem_for(exc, dialect.validation_status))

    async def run(request: Request) -> Response:
        meter = RateMeter(request, dialect.name, public=public)
        response = await serve(request, meter)
        meter.stamp(response)
        return response

    async def serve(request: Request, meter: RateMeter) -> Response:
        use_cases: UseCases = request.app.state.use_cases
        try:
            if (too_large := declared_too_large(request.scope)) is not None:
                raise too_large
            principal = None
            credentials = Credentials.from_headers(request.headers)
            if not public:
                try:
                    principal = await use_cases.auth.authenticate(credentials)
                except Unauthenticated:
                    await meter.charge(use_cases, None)  # bad credentials count per IP
                    raise
            elif credentials.present:
                # Public routes ignore stale credentials rather than refuse a login.
                with suppress(Unauthenticated):
                    principal = await use_cases.auth.authenticate(credentials)
            await meter.charge(use_cases, principal)
            call = Call(request, use_cases, principal)
            if keyed and principal is not None and use_cases.idempotency is not None \
                    and wants_idempotency(request, principal):
                return await run_idempotently(use_cases.idempotency, principal, request,
                                              lambda: respond(call))
            return await handler(call)
        except DomainError as exc:
            return dialect.error_response(problem_for(exc, dialect.validation_status))
        except Exception as exc:
            if (outage := unavailable_for(exc)) is not None:  # e.g. MongoDB unreachable
                log.warning("%s %s: dependency unavailable: %s", request.method,
                            request.url.path, exc)
                return dialect.error_response(problem_for(outage, dialect.validation_status))
            log.exception("unhandled error in %s %s", request.method, request.url.path)
            return dialect.error_response(problem_for(Exception(), dialect.validation_status))

    run.__name__ = handler.__name__
    run.dialect = dialect  # type: ignore[attr-defined]  # read by rest_compat.fallbacks
    run.__doc__ = handler.__doc__
    return run


class RateMeter:
    """Charges one request to its dialect's rate limits and stamps the answer with the
    ``X-RateLimit-*`` headers (and ``Retry-After`` on a 429), whatever the outcome."""

    def __init__(self, request: Request, policy: str, *, public: bool) -> None:
        self.client_ip = request.client.host if request.client else None
        self.policy = policy
        self.public = public
        self.headers: dict[str, str] = {}

    async def charge(self, use_cases: UseCases, principal: Principal | None) -> None:
        if use_cases.rate_limits is None or self.headers:
            return
        try:
            quota: Quota | None = await use_cases.rate_limits.charge(
                self.policy, principal, self.client_ip, public=self.public
            )
        except RateLimited as exc:
            self.headers = exc.headers
            raise
        if quota is not None:
            self.headers = quota.headers()

    def stamp(self, response: Response) -> None:
        for name, value in self.headers.items():
            response.headers[name] = value


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
