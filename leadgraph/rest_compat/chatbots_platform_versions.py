"""Versioned aliases of every seed 004 route: ``/api/v1/...`` and the deprecated
``/api/v0/...`` (answers carry ``Deprecation: true`` and ``Sunset: <HTTP date>``).

Conflict rule: where a ``/api/v1`` path and method already belong to another document
(seed 002 owns ``/api/v1/auth/login``, ``/api/v1/leads…`` and ``/api/v1/voice/calls…``), that
route is kept and no seed 004 alias is made for it; ``/api/v0`` has no such owner.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

SUNSET = "Wed, 30 Jun 2027 00:00:00 GMT"

Endpoint = Callable[[Request], Awaitable[Response]]


def _deprecated(endpoint: Endpoint) -> Endpoint:
    async def run(request: Request) -> Response:
        response = await endpoint(request)
        response.headers["Deprecation"] = "true"
        response.headers["Sunset"] = SUNSET
        return response

    run.__name__ = getattr(endpoint, "__name__", "deprecated")
    run.dialect = getattr(endpoint, "dialect", None)  # type: ignore[attr-defined]
    return run


def aliases(own: Iterable[BaseRoute], taken: Iterable[BaseRoute]) -> list[BaseRoute]:
    """``own`` are seed 004's ``/api/...`` routes; ``taken`` everything registered before."""
    occupied = {
        (route.path, method) for route in taken if isinstance(route, Route)
        for method in (route.methods or ())
    }
    result: list[BaseRoute] = []
    for route in own:
        if not isinstance(route, Route) or not route.path.startswith("/api/"):
            continue
        methods = sorted((route.methods or set()) - {"HEAD"})
        rest = route.path.removeprefix("/api")
        v1 = [m for m in methods if (f"/api/v1{rest}", m) not in occupied]
        if v1:
            result.append(Route(f"/api/v1{rest}", route.endpoint, methods=v1))
        result.append(Route(f"/api/v0{rest}", _deprecated(route.endpoint), methods=methods))
    return result
