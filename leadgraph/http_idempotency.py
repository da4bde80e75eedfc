"""Idempotency-Key over HTTP: the glue both transports share (REST ``endpoint()`` and the
GraphQL view), so the rules live once, in ``resolvers.idempotency``.

It only reads the header, fingerprints the request, and turns a Starlette response into what
is stored and back. It applies to authenticated POST/PUT/PATCH/DELETE requests; without a
principal there is no one to scope the key to, so the header is ignored (public routes such
as login and Meta's webhooks never use it). Multipart uploads are not fingerprinted (that
would hold a whole upload in memory), so the header is ignored on them too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from leadgraph.domain.idempotency import (
    HEADER,
    MUTATING_METHODS,
    REPLAYED_HEADER,
    StoredResponse,
    fingerprint,
    replayable_headers,
)
from leadgraph.domain.users import Principal
from leadgraph.resolvers.idempotency import IdempotencyUseCases, Replay

MAX_STORED_BODY = 1_000_000


def wants_idempotency(request: Request, principal: Principal | None) -> bool:
    return (
        principal is not None
        and request.method in MUTATING_METHODS
        and HEADER in request.headers
        and not request.headers.get("content-type", "").startswith("multipart/")
    )


async def run_idempotently(
    idempotency: IdempotencyUseCases, principal: Principal, request: Request,
    respond: Callable[[], Awaitable[Response]],
) -> Response:
    """Answer a repeat from the store, or run ``respond`` once and store what it answered.

    ``begin`` raises the domain errors (422 reused, 409 in flight, bad key) for the caller to
    render in its own format. Responses of 5xx, streamed or over 1 MB are not stored: the key
    is released, so a retry runs again.
    """
    body = await request.body()
    digest = fingerprint(request.method, request.url.path, request.url.query, body)
    outcome = await idempotency.begin(principal, request.headers[HEADER], digest)
    if isinstance(outcome, Replay):
        return replayed(outcome.response)
    try:
        response = await respond()
    except BaseException:
        await idempotency.abandon(outcome)
        raise
    stored = storable(response)
    if stored is None:
        await idempotency.abandon(outcome)
    else:
        await idempotency.finish(outcome, stored)
    return response


def storable(response: Response) -> StoredResponse | None:
    body = getattr(response, "body", None)
    if response.status_code >= 500 or not isinstance(body, bytes) or len(body) > MAX_STORED_BODY:
        return None
    return StoredResponse(response.status_code, replayable_headers(response.headers.items()),
                          body)


def replayed(stored: StoredResponse) -> Response:
    response = Response(content=stored.body, status_code=stored.status)
    for name, value in stored.headers:
        response.headers.append(name, value)
    response.headers[REPLAYED_HEADER] = "true"
    return response
