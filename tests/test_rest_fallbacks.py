"""Answers outside the ``endpoint()`` wrapper are still in the path owner's format.

404 (no route), 405 (wrong method, with ``Allow``) and 413 (body over the limit) for every
dialect, GraphQL under ``/graphql/…``, and FastAPI's ``{"detail": …}`` where no dialect owns
the path (``leadgraph/rest_compat/fallbacks.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from leadgraph.limits import BodySizeLimit
from leadgraph.rest_compat import routes as rest_routes
from leadgraph.rest_compat.fallbacks import Fallbacks
from tests.conftest import make_settings, serve
from tests.support import API_KEY, LiveServer, run_uvicorn

UPLOAD_LIMIT = 64 * 1024


def json_error(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.text
    return response.json()


def seed000(status: int, code: str) -> Callable[[Any], bool]:
    """Seeds 000 and 003: ``{"error": {"code", "message", "details"}}``."""
    return lambda body: set(body) == {"error"} and body["error"]["code"] == code \
        and set(body["error"]) == {"code", "message", "details"}


def seed001(message: str) -> Callable[[Any], bool]:
    return lambda body: body == {"detail": message}


def seed002(status: int) -> Callable[[Any], bool]:
    return lambda body: set(body) == {"error", "status_code", "details", "timestamp"} \
        and body["status_code"] == status and isinstance(body["error"], str)


def seed004(status: int) -> Callable[[Any], bool]:
    return lambda body: body["status"] == "error" and body["error"]["code"] == status \
        and isinstance(body["error"]["details"], list)


def graphql(code: str) -> Callable[[Any], bool]:
    return lambda body: set(body) == {"errors"} \
        and body["errors"][0]["extensions"]["code"] == code


NOT_FOUND: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "seed-000": ("/api/sessions/abc/nope", seed000(404, "not_found")),
    "seed-001": ("/api/v1/lead/abc/nope", seed001("Not Found")),
    "seed-002": ("/api/v1/leads/abc/nope/deeper", seed002(404)),
    "seed-002-calls": ("/api/v1/voice/calls/abc/nope/deeper", seed002(404)),
    "seed-003": ("/conversations/abc/nope", seed000(404, "not_found")),
    "seed-003-v1": ("/v1/nope", seed000(404, "not_found")),
    "seed-004": ("/api/chatbots/abc/nope", seed004(404)),
    "seed-004-v1": ("/api/v1/chatbots/abc/nope", seed004(404)),
    "seed-004-v0": ("/api/v0/nope", seed004(404)),
    "graphql": ("/graphql/unknown", graphql("NOT_FOUND")),
    "nobody": ("/nothing-here", seed001("Not Found")),
    "nobody-api": ("/api/nope", seed001("Not Found")),  # seeds 000 and 004 both own /api
}


@pytest.mark.parametrize("case", NOT_FOUND.values(), ids=list(NOT_FOUND))
async def test_unknown_path_is_404_in_the_owners_envelope(
    client: httpx.AsyncClient, case: tuple[str, Callable[[Any], bool]]
) -> None:
    path, expected = case
    body = json_error(await client.get(path), 404)
    assert expected(body), body


WRONG_METHOD: dict[str, tuple[str, str, str, Callable[[Any], bool]]] = {
    "seed-000": ("DELETE", "/api/chat", "POST", seed000(405, "method_not_allowed")),
    "seed-001": ("PUT", "/api/v1/lead/abc", "GET, HEAD", seed001("Method Not Allowed")),
    "seed-001-root": ("POST", "/", "GET, HEAD", seed001("Method Not Allowed")),
    # Every method of the path, not only the first route's (GET, PUT and DELETE are three).
    "seed-002": ("PATCH", "/api/v1/leads/abc", "DELETE, GET, HEAD, PUT", seed002(405)),
    "seed-003": ("DELETE", "/conversations", "GET, HEAD, POST",
                 seed000(405, "method_not_allowed")),
    "seed-004": ("DELETE", "/api/conversations", "GET, HEAD, POST", seed004(405)),
    "seed-004-v0": ("PUT", "/api/v0/conversations", "GET, HEAD, POST", seed004(405)),
    "graphql": ("POST", "/graphql/schema.graphql", "GET, HEAD", graphql("METHOD_NOT_ALLOWED")),
}


@pytest.mark.parametrize("case", WRONG_METHOD.values(), ids=list(WRONG_METHOD))
async def test_wrong_method_is_405_in_the_owners_envelope_with_allow(
    client: httpx.AsyncClient, case: tuple[str, str, str, Callable[[Any], bool]]
) -> None:
    method, path, allow, expected = case
    response = await client.request(method, path)
    body = json_error(response, 405)
    assert expected(body), body
    assert response.headers["allow"] == allow


@pytest.fixture
async def small_uploads(
    mongo_url: str, redis_url: str, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(mongo_url, redis_url, tmp_path, max_upload_bytes=UPLOAD_LIMIT)
    async with serve(settings) as server, httpx.AsyncClient(
            base_url=server.base_url, headers={"X-API-Key": API_KEY}, timeout=30) as http:
        yield http


async def _chunked_upload() -> AsyncIterator[bytes]:
    """No Content-Length: the limit is only passed while the body streams in."""
    yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
    for _ in range(4):
        yield b"x" * UPLOAD_LIMIT


UPLOADS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "seed-002-import": ("/api/v1/leads/import", seed002(413)),
    "seed-004-stt": ("/api/voice/stt", seed004(413)),
    "seed-004-stt-v0": ("/api/v0/voice/stt", seed004(413)),
}


@pytest.mark.parametrize("case", UPLOADS.values(), ids=list(UPLOADS))
async def test_oversized_upload_is_413_in_the_dialects_envelope(
    small_uploads: httpx.AsyncClient, case: tuple[str, Callable[[Any], bool]]
) -> None:
    path, expected = case
    declared = await small_uploads.post(
        path, files={"file": ("a.csv", b"x" * (UPLOAD_LIMIT + 1), "text/csv")})
    streamed = await small_uploads.post(
        path, content=_chunked_upload(),
        headers={"Content-Type": "multipart/form-data; boundary=b"})
    for response in (declared, streamed):
        body = json_error(response, 413)
        assert expected(body), body
        assert str(UPLOAD_LIMIT) in response.text


async def _reads_its_own_body(request: Request) -> Response:
    """Like a handler outside ``endpoint()``: nothing maps the 413 it runs into."""
    form = await request.form()
    await form.close()
    return JSONResponse({"read": True})


@pytest.mark.parametrize(("path", "expected"), [
    ("/api/v1/leads/import", seed002(413)),
    ("/api/voice/stt", seed004(413)),
    ("/graphql/upload", graphql("PAYLOAD_TOO_LARGE")),
    ("/elsewhere", seed001(f"Request body too large: the limit is {UPLOAD_LIMIT} bytes")),
], ids=["seed-002", "seed-004", "graphql", "nobody"])
async def test_413_no_handler_mapped_is_rendered_by_the_path_owner(
    path: str, expected: Callable[[Any], bool]
) -> None:
    """The middleware's own 413 (leadgraph.limits) goes through the same path owners."""
    from leadgraph.app import graphql_refusal

    owners = Fallbacks(rest_routes(), foreign={"/graphql": graphql_refusal})
    app = Starlette(routes=[Route(path, _reads_its_own_body, methods=["POST"])])
    app.add_middleware(BodySizeLimit, max_body_bytes=UPLOAD_LIMIT,
                       max_upload_bytes=UPLOAD_LIMIT, refuse=owners.too_large)
    async with run_uvicorn(app) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        small = await http.post(path, files={"file": ("a.csv", b"x", "text/csv")})
        assert small.json() == {"read": True}
        response = await http.post(
            path, content=_chunked_upload(),
            headers={"Content-Type": "multipart/form-data; boundary=b"})
    body = json_error(response, 413)
    assert expected(body), body


async def test_pages_that_answer_are_unaffected(
    server: LiveServer, anonymous: httpx.AsyncClient
) -> None:
    root = await anonymous.get("/")
    assert root.status_code == 200 and "message" in root.json()
    health = await anonymous.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "healthy"
    graphiql = await anonymous.get("/graphql", headers={"Accept": "text/html"})
    assert graphiql.status_code == 200 and "graphiql" in graphiql.text.lower()
    for docs in ("/api/docs", "/docs"):
        page = await anonymous.get(docs)
        assert page.status_code == 200, docs
        assert page.headers["content-type"].startswith("text/html"), docs
    spec = await anonymous.get("/api/docs.json")
    assert spec.status_code == 200 and spec.json()["openapi"].startswith("3.1")
