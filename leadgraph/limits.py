"""Request body size limits, enforced while the body streams in.

uvicorn has no body limit of its own, and Starlette's ``request.body()`` reads whatever
arrives. This ASGI middleware wraps ``receive``: a ``Content-Length`` over the limit is refused
before a single body byte is read, and a chunked body is cut off as soon as it passes the
limit. It raises :class:`~leadgraph.domain.errors.PayloadTooLarge` from inside the handler's
own ``await request.body()`` / ``request.form()``, so the transport that asked for the body
answers 413 in its caller's format (the GraphQL view with a GraphQL error, each REST dialect
with its envelope through ``rest_compat._http.problem_for``). Only if nobody maps it does the
middleware answer the 413 itself, through ``refuse`` (the app passes
``rest_compat.fallbacks.Fallbacks.too_large``: the path owner's envelope); plain text only
when mounted without one.

Multipart bodies (CSV imports, audio uploads) get their own, larger limit.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadgraph.domain.errors import PayloadTooLarge

BODY_LIMIT_SCOPE_KEY = "leadgraph.body_limit"
"""Where the limit that applies to this request is left for handlers (``scope[...]``)."""


Refuse = Callable[[Scope, PayloadTooLarge], Response]


def _plain(scope: Scope, exc: PayloadTooLarge) -> Response:
    return PlainTextResponse(exc.message, status_code=413)


class BodySizeLimit:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_upload_bytes: int,
                 refuse: Refuse = _plain) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes
        self.refuse = refuse

    def limit_for(self, headers: Headers) -> int:
        content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if content_type == "multipart/form-data":
            return self.max_upload_bytes
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = self.limit_for(headers)
        scope[BODY_LIMIT_SCOPE_KEY] = limit
        declared = _content_length(headers)
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            if declared is not None and declared > limit:
                raise PayloadTooLarge(limit)  # refused before reading the body
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except PayloadTooLarge as exc:
            if response_started:
                raise
            # No transport mapped it (a route that reads the body on its own).
            await self.refuse(scope, exc)(scope, receive, send)


def declared_too_large(scope: Scope) -> PayloadTooLarge | None:
    """For handlers to call first: a ``Content-Length`` over this request's limit, even if the
    handler would never read the body (it is refused in the caller's format all the same)."""
    limit = scope.get(BODY_LIMIT_SCOPE_KEY)
    declared = _content_length(Headers(scope=scope))
    if limit is None or declared is None or declared <= limit:
        return None
    return PayloadTooLarge(limit)


def _content_length(headers: Headers) -> int | None:
    raw = headers.get("content-length")
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None
