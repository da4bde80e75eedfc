"""Answers no REST handler gives: 404 (no route), 405 (wrong method) and a 413 that escaped
every handler, in the envelope of the dialect that owns the path.

A legacy client must not notice it talks to a new system, so an unknown path under its
prefix gets its own error envelope, never Starlette's ``text/plain`` "Not Found".

Who owns a path is read from the route table, not from hand-written prefixes: every
``endpoint()`` records its dialect on the function (``run.dialect``). For a request path,

1. the dialects of the routes whose pattern matches the path (a 405: the path exists), if
   that is exactly one dialect;
2. otherwise the dialect whose routes share the longest run of leading static segments (the
   segments before the first ``{param}``) with the path, if exactly one dialect has it;
3. otherwise nobody: FastAPI's ``{"detail": "Not Found"}``, what the FastAPI-built seeds
   (001, 002) would have answered for a path they never had.

So ``/api/v1/leads/x/y`` is seed 002's, ``/api/v1/chatbots/x/y`` and every ``/api/v0/…`` seed
004's (its version aliases), ``/api/sessions/…`` seed 000's, ``/v1/…`` seed 003's, and
``/api/nope`` (seeds 000 and 004 both live directly under ``/api``) nobody's.

Prefixes served by another transport (``/graphql``) are passed in as ``foreign`` renderers,
so this package stays independent of the GraphQL schema package.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Scope

from leadgraph.domain.errors import PayloadTooLarge
from leadgraph.rest_compat._http import Dialect, Problem, problem_for

Foreign = Callable[[int, str], Response]
"""How another transport answers a status with a message (GraphQL: a GraphQL error)."""

_MESSAGES = {404: "Not Found", 405: "Method Not Allowed"}  # Starlette's/FastAPI's wording
_CODES = {404: "not_found", 405: "method_not_allowed"}


class Unowned(Dialect):
    """A path no dialect owns: FastAPI's default ``{"detail": "…"}``."""

    name = "unowned"

    def error_body(self, problem: Problem) -> Any:
        return {"detail": problem.message}


UNOWNED = Unowned()


def dialect_of(endpoint: object) -> Dialect | None:
    dialect = getattr(endpoint, "dialect", None)
    return dialect if isinstance(dialect, Dialect) else None


def _static_segments(path: str) -> tuple[str, ...]:
    segments: list[str] = []
    for segment in path.split("/"):
        if "{" in segment:
            break
        if segment:
            segments.append(segment)
    return tuple(segments)


def _shared(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    count = 0
    for left, right in zip(a, b, strict=False):
        if left != right:
            break
        count += 1
    return count


@dataclass(frozen=True)
class _Claim:
    route: Route
    segments: tuple[str, ...]
    dialect: Dialect | None  # None: a route of ours that is no dialect's (docs)


class Fallbacks:
    """Built once from the app's route table; renders 404/405/413 by path owner."""

    def __init__(
        self, routes: Iterable[BaseRoute], *, foreign: Mapping[str, Foreign] | None = None
    ) -> None:
        self.claims = [
            _Claim(route, _static_segments(route.path), dialect_of(route.endpoint))
            for route in routes if isinstance(route, Route)
        ]
        self.foreign = dict(foreign or {})

    def owner(self, path: str) -> Dialect | Foreign:
        for prefix, render in self.foreign.items():
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return render
        matched = {c.dialect for c in self.claims if c.route.path_regex.match(path)}
        if len(matched) == 1 and (only := matched.pop()) is not None:
            return only
        segments = _static_segments(path)
        best, owners = 0, set[Dialect]()
        for claim in self.claims:
            if claim.dialect is None:
                continue
            shared = _shared(claim.segments, segments)
            if shared > best:
                best, owners = shared, {claim.dialect}
            elif shared == best and shared > 0:
                owners.add(claim.dialect)
        return owners.pop() if len(owners) == 1 else UNOWNED

    def allowed(self, path: str) -> str:
        """Every method some route of this path answers (Starlette names only the first)."""
        methods = {m for c in self.claims if c.route.path_regex.match(path)
                   for m in c.route.methods or ()}
        return ", ".join(sorted(methods))

    def render(self, path: str, status: int, code: str, message: str) -> Response:
        owner = self.owner(path)
        if isinstance(owner, Dialect):
            return owner.error_response(Problem(status, code, message))
        return owner(status, message)

    async def http_error(self, request: Request, exc: Exception) -> Response:
        """Starlette's 404 (no route) and 405 (route, other method) exception handler."""
        assert isinstance(exc, HTTPException)
        status = exc.status_code
        response = self.render(request.url.path, status, _CODES.get(status, "error"),
                               _MESSAGES.get(status, exc.detail))
        if status == 405:
            allow = self.allowed(request.url.path) or (exc.headers or {}).get("Allow", "")
            response.headers["Allow"] = allow
        return response

    def exception_handlers(self) -> dict[Any, Callable[[Request, Exception], Any]]:
        return {404: self.http_error, 405: self.http_error}

    def too_large(self, scope: Scope, exc: PayloadTooLarge) -> Response:
        """For ``leadgraph.limits``: a 413 no handler mapped, in the path owner's format."""
        problem = problem_for(exc, 422)
        return self.render(scope.get("path", "/"), 413, problem.code, problem.message)
