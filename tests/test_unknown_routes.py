"""Unknown paths and wrong methods answer in the envelope of the dialect that owns the path,
never Starlette's plain text (a legacy client parses its own error shape)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

# (method, path, status, a check of the body in that dialect's shape)
CASES: list[tuple[str, str, int, str]] = [
    ("GET", "/api/v1/leads/x/nope/deeper", 404, "seed002"),
    ("PATCH", "/api/v1/leads", 405, "seed002"),
    ("GET", "/api/chatbots/x/nope", 404, "seed004"),
    ("PUT", "/api/templates", 405, "seed004"),
    ("GET", "/api/v0/chatbots/x/nope", 404, "seed004"),
    ("DELETE", "/api/chat", 405, "seed000"),
    ("GET", "/conversations/x/nope/deeper", 404, "seed003"),
    ("GET", "/nothing-here", 404, "fastapi"),
    ("GET", "/graphql/nope", 404, "graphql"),
]


def check_shape(kind: str, status: int, body: Any) -> None:
    if kind == "seed002":
        assert body["status_code"] == status and isinstance(body["error"], str), body
    elif kind == "seed004":
        assert body["status"] == "error" and body["error"]["code"], body
    elif kind == "graphql":
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND", body
    elif kind == "fastapi":
        assert body == {"detail": "Not Found"}
    else:  # seeds 000 and 003 nest a code and message under "error"
        assert isinstance(body["error"], dict) and body["error"]["message"], body


@pytest.mark.parametrize(("method", "path", "status", "kind"), CASES,
                         ids=[f"{m} {p}" for m, p, _s, _k in CASES])
async def test_unknown_route_answers_in_the_owning_dialect(
    client: httpx.AsyncClient, method: str, path: str, status: int, kind: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    check_shape(kind, status, response.json())
    if status == 405:
        assert response.headers["allow"], response.headers


async def test_known_routes_are_unaffected(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).status_code == 200
    assert (await client.get("/api/v1/leads")).status_code == 200
    docs = await client.get("/api/docs")
    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]
