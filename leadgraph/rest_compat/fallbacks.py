"""404 and 405 in the envelope of the dialect that owns the path.

Starlette answers an unknown path or a wrong method with plain text before any dialect
handler runs, and a legacy client parses its own error envelope. The owner is found from the
route table itself, not from a list of prefixes: the route whose static prefix (its path up
to the first ``{param}``) is the longest match for the request path, on a segment boundary.
A path no dialect owns gets FastAPI's default ``{"detail": "Not Found"}`` (seed 001 documents
a FastAPI service); ``/graphql/...`` gets a GraphQL error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from leadgraph.rest_compat._http import Dialect, Problem

_CODES = {404: "not_found", 405: "method_not_allowed"}


def _static_prefix(path: str) -> str:
    return path.split("{", 1)[0].rstrip("/") or "/"


def owning_dialect(path: str, routes: Iterable[BaseRoute]) -> Dialect | None:
    """The dialect of the route whose static prefix is the longest match for ``path``."""
    best: tuple[int, Dialect] | None = None
    for route in routes:
        dialect = getattr(getattr(route, "endpoint", None), "dialect", None)
        if not isinstance(route, Route) or not isinstance(dialect, Dialect):
            continue
        prefix = _static_prefix(route.path)
        if prefix == "/":
            continue  # "/" would own everything
        if (path == prefix or path.startswith(prefix + "/")) and (
                best is None or len(prefix) > best[0]):
            best = (len(prefix), dialect)
    return best[1] if best else None


async def route_error(request: Request, exc: Exception) -> Response:
    """Starlette's 404/405, rendered by the owning dialect (``Allow`` kept on a 405)."""
    assert isinstance(exc, HTTPException)
    headers: Mapping[str, str] = exc.headers or {}
    message = "Not Found" if exc.status_code == 404 else "Method Not Allowed"
    path = request.url.path
    if path == "/graphql" or path.startswith("/graphql/"):
        code = _CODES.get(exc.status_code, "bad_request").upper()
        return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]},
                            status_code=exc.status_code, headers=dict(headers))
    dialect = owning_dialect(path, request.app.router.routes)
    if dialect is None:
        return JSONResponse({"detail": message}, status_code=exc.status_code,
                            headers=dict(headers))
    problem = Problem(exc.status_code, _CODES.get(exc.status_code, "bad_request"), message)
    response = dialect.error_response(problem)
    for name, value in headers.items():
        response.headers[name] = value
    return response
