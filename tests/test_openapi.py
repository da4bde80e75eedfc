"""The OpenAPI 3.1 document: it validates, it covers every route (and only routes), Swagger UI
loads from local assets, and the live server answers as documented: every seed 004 operation
(with its /api/v1 and /api/v0 aliases) and a sample of each other dialect, called for real
with the documented example bodies and checked against the documented response schemas."""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pyotp
import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from starlette.routing import Route, WebSocketRoute

from leadgraph.rest_compat.openapi import (
    ASSETS_PATH,
    DOCS_JSON_PATH,
    build_document,
    seed004,
    served_operations,
    undocumented,
)
from leadgraph.rest_compat.openapi._build import ALWAYS, DECLARED
from tests.support import LiveServer

SEED_004 = "004 chatbots platform"
PASSWORD = "correct horse battery staple"
METRICS = ("GET", "/api/health/metrics")  # served by the metrics middleware, not a route


async def _document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get(DOCS_JSON_PATH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    document: dict[str, Any] = response.json()
    return document


def _documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in document["paths"].items()
            for method in item}


def check_response(document: dict[str, Any], method: str, template: str,
                   response: httpx.Response) -> None:
    """The status, media type, headers and body are the ones documented for this operation."""
    operation = document["paths"][template][method.lower()]
    spec = operation["responses"].get(str(response.status_code))
    assert spec is not None, (
        f"{method} {template} answered an undocumented {response.status_code}: {response.text}")
    media, content = next(iter(spec["content"].items()))
    received = response.headers.get("content-type", "").split(";")[0]
    assert received == media, f"{method} {template}: {received} is not {media}"
    for name, header in spec.get("headers", {}).items():
        if header["required"]:
            assert name in response.headers, f"{method} {template}: no {name} header"
    if media == "application/json":
        schema = {**content["schema"], "components": document["components"]}
        validator = OAS31Validator(schema, format_checker=OAS31Validator.FORMAT_CHECKER)
        errors = sorted(validator.iter_errors(response.json()), key=str)
        assert not errors, (
            f"{method} {template} {response.status_code}: {errors[0].message} at "
            f"{list(errors[0].absolute_path)}\n{response.text[:2000]}")


def example_of(document: dict[str, Any], method: str, template: str) -> Any:
    body = document["paths"][template][method.lower()].get("requestBody")
    if body is None:
        return None
    return body["content"].get("application/json", {}).get("example")


def success_status(operation: dict[str, Any]) -> int:
    statuses = [int(s) for s in operation["responses"] if s.startswith("2")]
    assert len(statuses) == 1, operation["operationId"]
    return statuses[0]


# -- the document itself ------------------------------------------------------------------

async def test_document_validates_and_is_openapi_3_1(
    server: LiveServer, anonymous: httpx.AsyncClient
) -> None:
    document = await _document(anonymous)
    validate(document)  # openapi-spec-validator picks the 3.1 validator from "openapi"
    assert document["openapi"] == "3.1.0"
    tags = [tag["name"] for tag in document["tags"]]
    for seed in ("000 agency chat", "001 lead capture", "002 lead management",
                 "003 customer care", SEED_004):
        assert seed in tags
    schemes = document["components"]["securitySchemes"]
    assert {s.get("name") for s in schemes.values()} >= {"X-API-Key", "X-API-KEY"}
    assert any(s.get("scheme") == "bearer" for s in schemes.values())
    # Real schemas: every operation has a success schema and an error schema.
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation["tags"], (method, path)
            assert "500" in operation["responses"], (method, path)
            assert any(s.startswith("2") for s in operation["responses"]), (method, path)
    login = document["paths"]["/api/auth/login"]["post"]
    assert login["requestBody"]["content"]["application/json"]["schema"]["required"] == [
        "password"]
    assert login["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Seed004Error"}
    v0 = document["paths"]["/api/v0/chatbots"]["get"]
    assert v0["deprecated"] is True and "Sunset" in v0["responses"]["200"]["headers"]
    assert "deprecated" not in document["paths"]["/api/v1/chatbots"]["get"]


async def test_every_route_is_documented_and_every_documented_operation_is_served(
    server: LiveServer, anonymous: httpx.AsyncClient
) -> None:
    document = await _document(anonymous)
    routes = server.app.routes
    served = set(served_operations(routes))
    documented = _documented(document)
    assert served - documented == set(), "routes without documentation"
    assert documented - served == {METRICS}, "documented operations that no route serves"
    assert undocumented(routes) == []
    # No stale declaration: everything declared is in the document.
    assert set(DECLARED) <= documented
    sockets = {route.path for route in routes if isinstance(route, WebSocketRoute)}
    described = {entry["path"]: entry for entry in document["x-websockets"]}
    assert set(described) == sockets
    assert all(entry["description"] and entry["tag"] for entry in described.values())


def test_the_guard_notices_an_undocumented_route() -> None:
    async def handler(request: Any) -> Any:
        raise NotImplementedError

    extra = Route("/api/not-declared-anywhere", handler, methods=["GET", "POST"])
    assert undocumented([extra]) == [("GET", "/api/not-declared-anywhere"),
                                     ("POST", "/api/not-declared-anywhere")]
    document = build_document([extra])
    assert "/api/not-declared-anywhere" not in document["paths"]
    assert {path for _, path in ALWAYS} <= set(document["paths"])


# -- Swagger UI -----------------------------------------------------------------------------

@pytest.mark.parametrize("page", ["/api/docs", "/docs"])
async def test_swagger_ui_loads_from_local_assets(
    server: LiveServer, anonymous: httpx.AsyncClient, page: str
) -> None:
    response = await anonymous.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert f'url: "{DOCS_JSON_PATH}"' in response.text
    assets = re.findall(r'(?:href|src)="([^"]+)"', response.text)
    assert len(assets) == 3
    for asset in assets:
        assert asset.startswith(f"{ASSETS_PATH}/"), f"{asset} is not served by us"
        loaded = await anonymous.get(asset)
        assert loaded.status_code == 200, asset
        kind = "text/css" if asset.endswith(".css") else "javascript"
        assert kind in loaded.headers["content-type"]
        assert len(loaded.content) > 10_000
    assert (await anonymous.get(f"{ASSETS_PATH}/no-such-file.js")).status_code == 404


# -- seed 004: every operation, live --------------------------------------------------------

@dataclass
class Seed004World:
    """The resources the seed 004 operations need, made through the API itself."""

    http: httpx.AsyncClient
    document: dict[str, Any]
    bearer: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    audio: str = ""
    counter: int = 0

    async def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None,
                   expect: int = 201) -> Any:
        response = await self.http.post(path, json=body, headers=headers or self.bearer)
        assert response.status_code == expect, f"{path}: {response.text}"
        return response.json()["data"]

    async def user(self) -> tuple[str, dict[str, Any]]:
        """A new user and a fresh token pair of it."""
        self.counter += 1
        name = f"docs-user-{self.counter}-{uuid.uuid4().hex[:6]}"
        await self.post("/api/auth/register", {
            "username": name, "email": f"{name}@example.com", "password": PASSWORD}, {})
        tokens = await self.post("/api/auth/login", {"username": name, "password": PASSWORD},
                                 {}, expect=200)
        return name, tokens

    @staticmethod
    def auth(tokens: dict[str, Any]) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens['accessToken']}"}

    async def setup(self) -> None:
        name, tokens = await self.user()  # the first user: an admin
        self.ids["owner"] = name
        self.bearer = self.auth(tokens)
        dataset = await self.post("/api/training/datasets", example_of(
            self.document, "POST", "/api/training/datasets"))
        self.ids["dataset"] = dataset["id"]
        bot = await self.post("/api/chatbots", {"name": "Docs bot", "type": "ai",
                                                "datasetId": dataset["id"]})
        self.ids["chatbot"] = bot["id"]
        job = await self.post(f"/api/chatbots/{bot['id']}/train", {}, expect=202)
        self.ids["job"] = job["id"]
        for _ in range(400):
            state = (await self.http.get(f"/api/training/jobs/{job['id']}",
                                         headers=self.bearer)).json()["data"]
            if state["status"] in ("completed", "failed"):
                break
            await asyncio.sleep(0.05)
        assert state["status"] == "completed", state
        self.ids["template"] = (await self.post("/api/templates", example_of(
            self.document, "POST", "/api/templates")))["id"]
        conversation = await self.post("/api/conversations", {})
        self.ids["conversation"] = conversation["id"]
        await self.post(f"/api/conversations/{conversation['id']}/messages",
                        {"text": "hello there"})
        spoken = await self.post("/api/voice/tts", {"text": "hello world"}, expect=200)
        self.audio = spoken["audio"]

    async def fresh(self, kind: str) -> str:
        """A throwaway resource for a DELETE."""
        if kind == "chatbots":
            return str((await self.post("/api/chatbots", {"name": "Doomed bot"}))["id"])
        if kind == "datasets":
            return str((await self.post("/api/training/datasets", {
                "name": "Doomed", "examples": [{"text": "hi", "intent": "greeting"}]}))["id"])
        return str((await self.post("/api/templates", {"name": "Doomed",
                                                       "content": "Bye"}))["id"])

    async def request_for(self, method: str, template: str
                          ) -> tuple[str, Any, dict[str, str]]:
        """URL, JSON body and headers for one documented operation."""
        base = re.sub(r"^/api/v[01]/", "/api/", template)
        body = example_of(self.document, method, template)
        headers = self.bearer
        kind = base.split("/")[2] if base.count("/") >= 2 else ""
        if "{id}" in base:
            if method == "DELETE":
                resource = "datasets" if "datasets" in base else kind
                identifier = await self.fresh(resource)
            elif base.startswith("/api/training/datasets"):
                identifier = self.ids["dataset"]
            elif base.startswith("/api/training/jobs"):
                identifier = self.ids["job"]
            else:
                identifier = self.ids[{"chatbots": "chatbot", "templates": "template",
                                       "conversations": "conversation"}[kind]]
            template = template.replace("{id}", identifier)
        if base == "/api/auth/register":
            self.counter += 1
            name = f"docs-new-{self.counter}-{uuid.uuid4().hex[:6]}"
            body = {**body, "username": name, "email": f"{name}@example.com"}
        elif base == "/api/auth/login":
            body = {"username": self.ids["owner"], "password": PASSWORD}
        elif base == "/api/auth/refresh":
            _, tokens = await self.user()
            body = {"refreshToken": tokens["refreshToken"]}
        elif base == "/api/auth/logout":
            _, tokens = await self.user()  # never end the owner's session
            headers = self.auth(tokens)
        elif base == "/api/auth/mfa/setup":
            _, tokens = await self.user()
            headers = self.auth(tokens)
        elif base == "/api/auth/mfa/verify":
            _, tokens = await self.user()
            headers = self.auth(tokens)
            setup = await self.post("/api/auth/mfa/setup", None, headers, expect=200)
            body = {"code": pyotp.TOTP(setup["secret"]).now()}
        elif base == "/api/training/jobs" and method == "POST":
            body = {"chatbotId": self.ids["chatbot"]}
        elif base == "/api/voice/stt":
            body = {"audio": self.audio}
        elif base == "/api/webhooks" and method == "POST":
            # Loopback, port 9 (discard): deliveries never leave the machine.
            body = {**body, "url": "http://127.0.0.1:9/webhook"}
        return template, body, headers


async def test_every_seed_004_operation_answers_as_documented(
    server: LiveServer, anonymous: httpx.AsyncClient
) -> None:
    document = await _document(anonymous)
    operations = [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items() if SEED_004 in operation["tags"]
    ]
    # Each declared /api operation and its /api/v1 and /api/v0 aliases (POST
    # /api/v1/auth/login is the login shared with seed 002); the webhooks have no aliases.
    listed = {(method, path) for method, path, _ in operations}
    assert METRICS in listed
    for method, path in seed004.OPERATIONS:
        assert (method, path) in listed
        if not path.startswith("/api/webhooks"):
            assert (method, path.replace("/api/", "/api/v0/", 1)) in listed
            assert (method, path.replace("/api/", "/api/v1/", 1)) in listed
    world = Seed004World(anonymous, document)
    await world.setup()
    for method, template, operation in operations:
        url, body, headers = await world.request_for(method, template)
        response = await anonymous.request(method, url, json=body, headers=headers)
        assert response.status_code == success_status(operation), (
            f"{method} {url}: {response.status_code} {response.text[:1000]}")
        check_response(document, method, template, response)


async def test_seed_004_errors_are_documented_envelopes(
    server: LiveServer, client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    document = await _document(anonymous)
    calls = [
        (anonymous, "GET", "/api/chatbots", "/api/chatbots", None, 401),
        (client, "GET", "/api/v0/chatbots/nope", "/api/v0/chatbots/{id}", None, 404),
        (client, "POST", "/api/chatbots", "/api/chatbots", {"name": ""}, 400),
        (client, "GET", "/api/conversations?pageSize=0", "/api/conversations", None, 400),
        (anonymous, "POST", "/api/auth/login", "/api/auth/login", {"password": "x"}, 400),
    ]
    for http, method, url, template, body, status in calls:
        response = await http.request(method, url, json=body)
        assert response.status_code == status, f"{method} {url}: {response.text}"
        check_response(document, method, template, response)


# -- the other dialects: a sample each, live ------------------------------------------------

async def _call(document: dict[str, Any], http: httpx.AsyncClient, method: str,
                template: str, status: int, *, params: dict[str, str] | None = None,
                body: Any = "example", query: str = "",
                headers: dict[str, str] | None = None) -> httpx.Response:
    url = template
    for name, value in (params or {}).items():
        url = url.replace(f"{{{name}}}", value)
    if body == "example":
        body = example_of(document, method, template)
    response = await http.request(method, url + query, json=body, headers=headers)
    assert response.status_code == status, f"{method} {url}: {response.text[:1000]}"
    check_response(document, method, template, response)
    return response


async def test_seed_000_sample_answers_as_documented(
    server: LiveServer, client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    doc = await _document(anonymous)
    chat = await _call(doc, client, "POST", "/api/chat", 200)
    session = {"session_id": chat.json()["session_id"]}
    await _call(doc, client, "GET", "/api/sessions/{session_id}", 200, params=session)
    lead = await _call(doc, client, "POST", "/api/v1/leads", 201)
    await _call(doc, client, "GET", "/api/leads", 200, query="?sort_by=name&limit=5")
    await _call(doc, client, "GET", "/api/leads/{lead_id}", 200,
                params={"lead_id": lead.json()["id"]})
    await _call(doc, client, "GET", "/api/leads", 400, query="?sort_by=nope")
    await _call(doc, client, "GET", "/api/leads/{lead_id}", 404, params={"lead_id": "nope"})
    await _call(doc, anonymous, "GET", "/api/leads", 401)
    await _call(doc, client, "DELETE", "/api/sessions/{session_id}", 200, params=session)
    await _call(doc, client, "POST", "/api/webhook", 200,
                body={"url": "http://127.0.0.1:9/hook", "events": ["new_lead"]})


async def test_seed_001_sample_answers_as_documented(
    server: LiveServer, client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    doc = await _document(anonymous)
    await _call(doc, anonymous, "GET", "/", 200)
    await _call(doc, anonymous, "GET", "/health", 200)
    created = await _call(doc, client, "POST", "/api/v1/lead/", 200)
    again = await _call(doc, client, "POST", "/api/v1/lead", 200)
    assert again.headers["X-LeadGraph-Deduplicated"] == "true"
    await _call(doc, anonymous, "POST", "/api/v1/chat/respond", 200)
    await _call(doc, client, "GET", "/api/v1/lead/{lead_id}", 200,
                params={"lead_id": created.json()["id"]})
    await _call(doc, client, "GET", "/api/v1/analytics/summary", 200)
    await _call(doc, client, "POST", "/api/v1/lead/", 422, body={"email": "not-an-email"})
    await _call(doc, client, "GET", "/api/v1/lead/{lead_id}", 404, params={"lead_id": "nope"})
    await _call(doc, anonymous, "POST", "/api/v1/webhook/whatsapp", 200)


async def test_seed_002_sample_answers_as_documented(
    server: LiveServer, client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    doc = await _document(anonymous)
    created = await _call(doc, client, "POST", "/api/v1/leads", 201)
    merged = await _call(doc, client, "POST", "/api/v1/leads", 200)
    assert merged.headers["X-LeadGraph-Deduplicated"] == "true"
    lead = {"lead_id": created.json()["id"]}
    await _call(doc, client, "GET", "/api/v1/leads", 200, query="?status=new&per_page=5")
    await _call(doc, client, "GET", "/api/v1/leads/{lead_id}", 200, params=lead)
    await _call(doc, client, "PUT", "/api/v1/leads/{lead_id}", 200, params=lead)
    await _call(doc, client, "POST", "/api/v1/leads/{lead_id}/activities", 201, params=lead)
    await _call(doc, client, "GET", "/api/v1/leads/{lead_id}/activities", 200, params=lead)
    await _call(doc, client, "POST", "/api/v1/leads/{lead_id}/score", 200, params=lead)
    await _call(doc, client, "GET", "/api/v1/analytics/dashboard", 200)
    await _call(doc, client, "GET", "/api/v1/leads", 422, query="?per_page=0")
    await _call(doc, client, "GET", "/api/v1/leads/{lead_id}", 404, params={"lead_id": "x"})
    await _call(doc, client, "PUT", "/api/v1/leads/{lead_id}", 422, params=lead,
                body={"status": "bogus"})
    call = await _call(doc, client, "POST", "/api/v1/voice/calls", 201,
                       body={"lead_id": lead["lead_id"], "phone_number": "+15551234567"})
    await _call(doc, client, "GET", "/api/v1/voice/calls/{call_id}", 200,
                params={"call_id": call.json()["id"]})
    await _call(doc, client, "DELETE", "/api/v1/leads/{lead_id}", 200, params=lead)


async def test_seed_003_sample_answers_as_documented(
    server: LiveServer, anonymous: httpx.AsyncClient
) -> None:
    doc = await _document(anonymous)
    await _call(doc, anonymous, "POST", "/auth/register", 201)
    login = await _call(doc, anonymous, "POST", "/v1/auth/login", 200)
    bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
    started = await _call(doc, anonymous, "POST", "/conversations", 201, body=None,
                          headers=bearer)
    conversation = {"conversation_id": started.json()["conversation_id"]}
    await _call(doc, anonymous, "POST", "/v1/conversations/{conversation_id}/messages", 200,
                params=conversation, headers=bearer)
    await _call(doc, anonymous, "GET", "/conversations", 200, headers=bearer)
    await _call(doc, anonymous, "GET", "/v1/analytics/conversations", 200, headers=bearer)
    await _call(doc, anonymous, "GET", "/v1/health", 200)
    await _call(doc, anonymous, "POST", "/conversations/{conversation_id}/messages", 400,
                params=conversation, headers=bearer, body={"message": ""})
    await _call(doc, anonymous, "GET", "/v1/conversations", 400, query="?limit=0",
                headers=bearer)
    await _call(doc, anonymous, "POST", "/auth/register", 409)
    await _call(doc, anonymous, "GET", "/graphql/schema.graphql", 200)
