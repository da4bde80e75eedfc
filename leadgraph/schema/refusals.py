"""Transport refusals on ``/graphql`` in GraphQL's error format.

Strawberry refuses a request it cannot run as a GraphQL operation (wrong method or content
type, malformed JSON, no query, a mutation over GET, a batch over the limit, …) by raising
``cross_web.HTTPException``, which its ASGI view answers as ``text/plain``. A GraphQL client
reads ``errors[].extensions.code``, so :func:`refusal_response` answers the same status with
``{"errors": [{"message", "extensions": {"code"}}]}`` and no ``data`` (a request error, as the
GraphQL-over-HTTP spec puts it: nothing was executed).

The code is stable per refusal kind; Strawberry only gives a status and a reason, so the kind
is read from its (fixed, client-facing) reason, falling back to one code per HTTP status. A
Strawberry upgrade that rewords a reason therefore degrades to ``BAD_REQUEST``, never to a
500; the tests pin every kind.
"""

from __future__ import annotations

from http import HTTPStatus

from cross_web import HTTPException
from graphql import GraphQLError
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from strawberry.types import ExecutionResult

ALLOWED_METHODS = "GET, POST"


class Refusal(HTTPException):
    """An ``HTTPException`` raised by our own view hooks, with its code given up front."""

    def __init__(self, status_code: int, reason: str, code: str) -> None:
        super().__init__(status_code, reason)
        self.code = code


# Substrings of Strawberry's reasons (strawberry/http/*.py, strawberry/schema/exceptions.py).
_REASON_CODES: tuple[tuple[str, str], ...] = (
    ("Unsupported content type", "UNSUPPORTED_MEDIA_TYPE"),
    ("Too many operations", "BATCH_TOO_LARGE"),
    ("Batching is not enabled", "BATCHING_NOT_SUPPORTED"),
    ("does not support batching", "BATCHING_NOT_SUPPORTED"),
    ("are not allowed when using", "OPERATION_NOT_ALLOWED"),
    ("Unable to parse request body as JSON", "INVALID_JSON"),
    ("No GraphQL query found", "MISSING_QUERY"),
    ("Can't get GraphQL operation type", "UNKNOWN_OPERATION"),
    ("Unknown operation named", "UNKNOWN_OPERATION"),
    ("Unable to parse the multipart body", "INVALID_MULTIPART"),
    ("File(s) missing in form data", "INVALID_MULTIPART"),
)
_STATUS_CODES = {413: "PAYLOAD_TOO_LARGE"}  # the domain's name (leadgraph.limits), not HTTP's


def refusal_code(exc: HTTPException) -> str:
    """The stable ``extensions.code`` for a refusal."""
    if isinstance(exc, Refusal):
        return exc.code
    for fragment, code in _REASON_CODES:
        if fragment in exc.reason:
            return code
    if exc.status_code in _STATUS_CODES:
        return _STATUS_CODES[exc.status_code]
    try:
        return HTTPStatus(exc.status_code).name
    except ValueError:
        return "BAD_REQUEST"


def refusal_response(exc: HTTPException) -> Response:
    """The refusal as a GraphQL error, same status.

    No ``X-RateLimit-*`` headers: every refusal comes before an operation is charged (the
    view answers a batch's refused operation in its own slot, so a batch is never refused
    after one of its operations ran).
    """
    body = {"errors": [{"message": exc.reason, "extensions": {"code": refusal_code(exc)}}]}
    response = JSONResponse(body, status_code=exc.status_code)
    if exc.status_code == 405:
        response.headers["Allow"] = ALLOWED_METHODS
    return response


def refused_result(exc: HTTPException) -> ExecutionResult:
    """One operation of a batch that Strawberry refused, answered in its own slot."""
    return ExecutionResult(data=None, errors=[
        GraphQLError(exc.reason, extensions={"code": refusal_code(exc)})])


class GraphQLRoute(Route):
    """``/graphql``: the declared methods (GET, POST) document the route, but any other method
    still reaches the view, which refuses it with a GraphQL 405 instead of Starlette's text."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
