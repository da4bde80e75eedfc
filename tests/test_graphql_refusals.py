"""Transport refusals on ``/graphql``: a GraphQL error with a stable code, never plain text."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.support import LiveServer

CREATE = 'mutation { createLead(input: {name: "Refused", email: "refused@x.io"}) { id } }'
COUNT = "{ leads { totalCount } }"
JSON = {"Content-Type": "application/json"}
UPLOAD = "mutation($file: Upload!) { importLeads(file: $file) { id } }"


def multipart(operations: object, files_map: object, *, with_file: bool) -> bytes:
    parts = [
        b'--xyz\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
        + json.dumps(operations).encode(),
        b'--xyz\r\nContent-Disposition: form-data; name="map"\r\n\r\n'
        + json.dumps(files_map).encode(),
    ]
    if with_file:
        parts.append(b'--xyz\r\nContent-Disposition: form-data; name="0"; filename="a.csv"\r\n'
                     b"Content-Type: text/csv\r\n\r\nname\r\nA\r\n")
    return b"\r\n".join(parts) + b"\r\n--xyz--\r\n"


@dataclass(frozen=True)
class Refused:
    method: str
    status: int
    code: str
    message: str  # a fragment of the message
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None


MULTIPART = {"Content-Type": "multipart/form-data; boundary=xyz"}
REFUSALS = {
    "batch-too-large": Refused(
        "POST", 400, "BATCH_TOO_LARGE", "Too many operations", headers=JSON,
        content=json.dumps([{"query": CREATE}] * 11).encode()),
    "form-urlencoded-post": Refused(
        "POST", 400, "UNSUPPORTED_MEDIA_TYPE", "Unsupported content type",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        content=b"query=" + CREATE.replace(" ", "+").encode()),
    "text-plain-post": Refused(
        "POST", 400, "UNSUPPORTED_MEDIA_TYPE", "Unsupported content type",
        headers={"Content-Type": "text/plain"}, content=json.dumps({"query": CREATE}).encode()),
    "mutation-over-get": Refused(
        "GET", 400, "OPERATION_NOT_ALLOWED", "mutations are not allowed when using GET",
        params={"query": CREATE}),
    "subscription-over-http": Refused(
        "POST", 400, "OPERATION_NOT_ALLOWED", "subscriptions are not allowed", headers=JSON,
        content=json.dumps({"query": "subscription { leadEvents { type } }"}).encode()),
    "missing-query-post": Refused(
        "POST", 400, "MISSING_QUERY", "No GraphQL query found", headers=JSON,
        content=b'{"variables": {}}'),
    "missing-query-get": Refused(
        "GET", 400, "MISSING_QUERY", "No GraphQL query found",
        headers={"Accept": "application/json"}),
    "query-not-a-string": Refused(
        "POST", 400, "BAD_REQUEST", "`query` must be a string", headers=JSON,
        content=b'{"query": 17}'),
    "unknown-operation-name": Refused(
        "POST", 400, "UNKNOWN_OPERATION", 'Unknown operation named "Nope"', headers=JSON,
        content=json.dumps({"query": COUNT, "operationName": "Nope"}).encode()),
    "malformed-json": Refused(
        "POST", 400, "INVALID_JSON", "Unable to parse request body as JSON", headers=JSON,
        content=b'{"query": "{ leads { totalCount } }"'),
    "json-nesting-bomb": Refused(
        "POST", 400, "INVALID_JSON", "Unable to parse request body as JSON", headers=JSON,
        content=b'{"query": "{ __typename }", "variables": {"x": '
        + b"[" * 100_000 + b"]" * 100_000 + b"}}"),
    "multipart-without-csrf-header": Refused(
        "POST", 400, "CSRF_PREFLIGHT_REQUIRED", "Apollo-Require-Preflight", headers=MULTIPART,
        content=multipart({"query": CREATE}, {}, with_file=False)),
    "multipart-missing-file": Refused(
        "POST", 400, "INVALID_MULTIPART", "File(s) missing in form data",
        headers={**MULTIPART, "Apollo-Require-Preflight": "true"},
        content=multipart({"query": UPLOAD, "variables": {"file": None}},
                          {"0": ["variables.file"]}, with_file=False)),
    "unsupported-method-put": Refused(
        "PUT", 405, "METHOD_NOT_ALLOWED", "only supports GET and POST", headers=JSON,
        content=json.dumps({"query": CREATE}).encode()),
    "unsupported-method-delete": Refused("DELETE", 405, "METHOD_NOT_ALLOWED", "GET and POST"),
}


def graphql_error(response: httpx.Response) -> dict[str, Any]:
    """The one error of a request error: JSON, no ``data``, no traceback."""
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert set(body) == {"errors"}, body
    (error,) = body["errors"]
    assert set(error) == {"message", "extensions"}, error
    assert "Traceback" not in response.text and ".py" not in response.text, response.text
    return dict(error)


async def lead_count(client: httpx.AsyncClient) -> int:
    response = await client.post("/graphql", json={"query": COUNT})
    count: int = response.json()["data"]["leads"]["totalCount"]
    return count


@pytest.mark.parametrize("case", REFUSALS.values(), ids=list(REFUSALS))
async def test_transport_refusal_is_a_graphql_error_with_a_stable_code(
    client: httpx.AsyncClient, case: Refused
) -> None:
    response = await client.request(case.method, "/graphql", params=case.params,
                                    headers=case.headers, content=case.content)
    assert response.status_code == case.status, response.text
    error = graphql_error(response)
    assert error["extensions"] == {"code": case.code}, error
    assert case.message in error["message"], error
    if case.status == 405:
        assert response.headers["Allow"] == "GET, POST"
    # Refused before any operation ran, so before any rate-limit charge: no quota headers.
    assert not any(name.lower().startswith("x-ratelimit-") for name in response.headers)
    assert await lead_count(client) == 0


async def test_payload_too_large_stays_a_graphql_error(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    limit = server.runtime.settings.max_body_bytes
    response = await client.post("/graphql", json={"query": COUNT, "variables": {
        "pad": "x" * limit}})
    assert response.status_code == 413, response.text
    assert graphql_error(response)["extensions"] == {"code": "PAYLOAD_TOO_LARGE"}


async def test_graphiql_is_still_html(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_a_refused_operation_of_a_batch_is_answered_in_its_own_slot(
    client: httpx.AsyncClient,
) -> None:
    """Strawberry let the first refusal escape: the batch was a 400 while the mutation beside
    it still ran. Now each operation is answered, a refused one with its code."""
    response = await client.post("/graphql", json=[
        {"query": CREATE},
        {"query": "subscription { leadEvents { type } }"},
        {"variables": {}},
        {"query": COUNT, "operationName": "Nope"},
    ])
    assert response.status_code == 200, response.text
    created, subscription, no_query, unknown = response.json()
    assert created["data"]["createLead"]["id"], created
    for result, code in ((subscription, "OPERATION_NOT_ALLOWED"), (no_query, "MISSING_QUERY"),
                         (unknown, "UNKNOWN_OPERATION")):
        assert result["data"] is None, result
        assert [error["extensions"]["code"] for error in result["errors"]] == [code], result
    assert "X-RateLimit-Remaining" in response.headers  # the mutation was charged
    assert await lead_count(client) == 1
