"""Errors in each legacy dialect's own envelope, and bad requests that leave data untouched.

Seed 000 and 003: ``{"error": {"code", "message", "details"}}``, bad input is a 400.
Seed 001: ``{"detail": "…"}``; validation in FastAPI's ``{"detail": [{"loc", "msg", "type"}]}``.
Seed 002: ``{"error", "status_code", "details", "timestamp"}``; validation is a 422.
Seed 004: ``{"status": "error", "error": {"code", "message", "details": [...]}}``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest

from tests.support import API_KEY, LiveServer, gql, without_cost

TS_SECONDS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
MISSING_HEX = "0123456789abcdef01234567"  # a well-formed ObjectId that is stored nowhere
GARBAGE_ID = "nope"


# -- what each dialect's error looks like -------------------------------------------------------


def error_body(response: httpx.Response, status: int) -> Any:
    """The status is right, the body is JSON, and nothing leaks from inside the server."""
    assert response.status_code == status, (response.status_code, response.text)
    assert "Traceback" not in response.text
    assert 'File "' not in response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    return response.json()


def seed000_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Seed 000 (and 003): ``{"error": {"code", "message", "details"}}``; returns details."""
    body = error_body(response, status)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    details: dict[str, Any] = body["error"]["details"]
    return details


def seed001_detail(response: httpx.Response, status: int) -> str:
    body = error_body(response, status)
    assert set(body) == {"detail"}
    assert isinstance(body["detail"], str) and body["detail"]
    detail: str = body["detail"]
    return detail


def seed001_validation(response: httpx.Response) -> list[str]:
    """FastAPI's 422: returns the offending field names (``loc[1]``)."""
    body = error_body(response, 422)
    assert set(body) == {"detail"}
    assert isinstance(body["detail"], list) and body["detail"]
    fields = []
    for item in body["detail"]:
        assert set(item) == {"loc", "msg", "type"}
        assert item["loc"][0] == "body" and len(item["loc"]) == 2
        assert isinstance(item["msg"], str) and item["msg"]
        assert isinstance(item["type"], str) and item["type"]
        fields.append(item["loc"][1])
    return fields


def seed002_error(response: httpx.Response, status: int) -> dict[str, Any]:
    """Seed 002: ``{"error", "status_code", "details", "timestamp"}``; returns details."""
    body = error_body(response, status)
    assert set(body) == {"error", "status_code", "details", "timestamp"}
    assert isinstance(body["error"], str) and body["error"]
    assert body["status_code"] == status
    assert TS_SECONDS.fullmatch(body["timestamp"]), body["timestamp"]
    assert isinstance(body["details"], dict)
    assert isinstance(body["details"]["message"], str) and body["details"]["message"]
    details: dict[str, Any] = body["details"]
    return details


def seed002_field_error(response: httpx.Response, field: str, status: int = 422) -> None:
    details = seed002_error(response, status)
    named = [details["field"]] + [e["field"] for e in details.get("errors", [])]
    assert field in named, details
    if status == 422:
        assert response.json()["error"] == "Validation error"


def seed004_error(response: httpx.Response, status: int) -> list[dict[str, Any]]:
    body = error_body(response, status)
    assert set(body) == {"status", "error"}
    assert body["status"] == "error"
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == status
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], list)
    details: list[dict[str, Any]] = body["error"]["details"]
    return details


# -- a stored lead that bad requests must not touch -------------------------------------------

ORIGINAL = {
    "first_name": "Grace", "last_name": "Hopper", "email": "grace@navy.mil",
    "phone": "+1-555-867-5309", "company": "US Navy", "title": "Rear Admiral",
    "industry": "technology", "source": "referral", "notes": "Invented the compiler",
    "tags": ["cobol"],
}


@dataclass
class Stored:
    """The lead as every reader showed it before the bad request."""

    client: httpx.AsyncClient
    id: str
    views: dict[str, Any]

    @classmethod
    async def snapshot(cls, client: httpx.AsyncClient, lead_id: str) -> dict[str, Any]:
        views: dict[str, Any] = {}
        for name, path in (("seed000", f"/api/leads/{lead_id}"),
                           ("seed001", f"/api/v1/lead/{lead_id}"),
                           ("seed002", f"/api/v1/leads/{lead_id}"),
                           ("seed000-list", "/api/leads?limit=100"),
                           ("seed002-list", "/api/v1/leads?per_page=100")):
            response = await client.get(path)
            assert response.status_code == 200, response.text
            views[name] = response.json()
        result = await gql(client, "query($id: ID!) { lead(id: $id) { id name email phone "
                                   "company status intent tags updatedAt } }", {"id": lead_id})
        views["graphql"] = result["data"]["lead"]
        return views

    async def assert_unchanged(self) -> None:
        """Nothing stored was lost or changed, and no lead appeared or vanished."""
        assert await self.snapshot(self.client, self.id) == self.views
        assert self.views["seed002-list"]["total"] == 1


@pytest.fixture
async def stored(client: httpx.AsyncClient) -> AsyncIterator[Stored]:
    response = await client.post("/api/v1/leads", json=ORIGINAL)
    assert response.status_code == 201, response.text
    lead_id = response.json()["id"]
    lead = Stored(client, lead_id, await Stored.snapshot(client, lead_id))
    yield lead
    await lead.assert_unchanged()


def other_client(server: LiveServer, headers: dict[str, str]) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=30)


# -- 404 for unknown leads ---------------------------------------------------------------------

Check = Callable[[httpx.Response], None]


def not_found_000(response: httpx.Response) -> None:
    details = seed000_error(response, 404, "not_found")
    assert details == {}
    assert "not found" in response.json()["error"]["message"].lower()


def not_found_001(response: httpx.Response) -> None:
    assert "not found" in seed001_detail(response, 404).lower()


def not_found_002(response: httpx.Response) -> None:
    seed002_error(response, 404)
    assert response.json()["error"] == "Not found"
    assert "not found" in response.json()["details"]["message"].lower()


NOT_FOUND: list[tuple[str, str, dict[str, Any] | None, Check]] = [
    ("GET", "/api/leads/{id}", None, not_found_000),
    ("GET", "/api/v1/lead/{id}", None, not_found_001),
    ("GET", "/api/v1/leads/{id}", None, not_found_002),
    ("PUT", "/api/v1/leads/{id}", {"status": "qualified"}, not_found_002),
    ("DELETE", "/api/v1/leads/{id}", None, not_found_002),
]


@pytest.mark.parametrize("lead_id", [MISSING_HEX, GARBAGE_ID, "0" * 25, "%20"],
                         ids=["missing-objectid", "garbage", "too-long-hex", "space"])
@pytest.mark.parametrize(("method", "path", "payload", "check"), NOT_FOUND,
                         ids=[f"{m} {p}" for m, p, _, _ in NOT_FOUND])
async def test_unknown_lead_is_404_in_the_dialect_format(
    stored: Stored, method: str, path: str, payload: dict[str, Any] | None, check: Check,
    lead_id: str,
) -> None:
    response = await stored.client.request(method, path.format(id=lead_id), json=payload)
    check(response)


async def test_unknown_lead_over_graphql_is_null(stored: Stored) -> None:
    for lead_id in (MISSING_HEX, GARBAGE_ID):
        result = await gql(stored.client, "query($id: ID!) { lead(id: $id) { id } }",
                           {"id": lead_id})
        assert without_cost(result) == {"data": {"lead": None}, "_status": 200}
        update = await gql(stored.client,
                           'mutation($id: ID!) { updateLead(id: $id, input: {notes: "x"}) '
                           "{ id } }", {"id": lead_id})
        assert update["data"] is None
        assert update["errors"][0]["extensions"]["code"] == "NOT_FOUND"


# -- 401 without or with wrong credentials ----------------------------------------------------


def forged_jwt() -> str:
    """Well-formed, signed with a secret that is not ours."""
    return jwt.encode(
        {"sub": "someone", "sid": "x", "typ": "access", "iss": "leadgraph", "aud": "leadgraph",
         "exp": 4_102_444_800, "iat": 1_700_000_000, "jti": "j"},
        "a-completely-different-secret-that-is-long-enough-0123456789", algorithm="HS256",
    )


CREDENTIALS: dict[str, dict[str, str]] = {
    "none": {},
    "wrong-x-api-key": {"X-API-Key": "wrong-key"},
    "wrong-bearer-api-key": {"Authorization": "Bearer wrong-key"},
    "garbage-jwt": {"Authorization": "Bearer a.b.c"},
    "forged-jwt": {"Authorization": f"Bearer {forged_jwt()}"},
    "basic-scheme": {"Authorization": f"Basic {API_KEY}"},
    "bearer-without-token": {"Authorization": "Bearer"},
    "empty-x-api-key": {"X-API-Key": ""},
    "key-in-query-string": {},  # see the path: ?api_key=… must not count
}


def unauthorized_000(response: httpx.Response) -> None:
    seed000_error(response, 401, "unauthorized")


def unauthorized_001(response: httpx.Response) -> None:
    seed001_detail(response, 401)


def unauthorized_002(response: httpx.Response) -> None:
    seed002_error(response, 401)
    assert response.json()["error"] == "Unauthorized"


PROTECTED: list[tuple[str, str, dict[str, Any] | None, Check]] = [
    ("GET", "/api/leads", None, unauthorized_000),
    ("GET", "/api/leads/{id}", None, unauthorized_000),
    ("POST", "/api/v1/lead/", {"name": "Intruder", "email": "grace@navy.mil"}, unauthorized_001),
    ("GET", "/api/v1/lead/{id}", None, unauthorized_001),
    ("POST", "/api/v1/leads", {"first_name": "Intruder", "email": "x@y.io"}, unauthorized_002),
    ("GET", "/api/v1/leads", None, unauthorized_002),
    ("GET", "/api/v1/leads/{id}", None, unauthorized_002),
    ("PUT", "/api/v1/leads/{id}", {"status": "closed_lost"}, unauthorized_002),
    ("DELETE", "/api/v1/leads/{id}", None, unauthorized_002),
]


@pytest.mark.parametrize("credentials", list(CREDENTIALS), ids=list(CREDENTIALS))
@pytest.mark.parametrize(("method", "path", "payload", "check"), PROTECTED,
                         ids=[f"{m} {p}" for m, p, _, _ in PROTECTED])
async def test_missing_or_wrong_credentials_are_401_in_the_dialect_format(
    server: LiveServer, stored: Stored, method: str, path: str,
    payload: dict[str, Any] | None, check: Check, credentials: str,
) -> None:
    url = path.format(id=stored.id)
    if credentials == "key-in-query-string":
        url += f"?api_key={API_KEY}&apiKey={API_KEY}&token={API_KEY}"
    async with other_client(server, CREDENTIALS[credentials]) as caller:
        response = await caller.request(method, url, json=payload)
    check(response)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_credentials_are_checked_before_the_body(
    server: LiveServer, stored: Stored
) -> None:
    """An anonymous caller learns nothing about the body's validity, and stores nothing."""
    async with other_client(server, {}) as caller:
        unauthorized_001(await caller.post("/api/v1/lead/", content=b"{not json"))
        unauthorized_002(await caller.post("/api/v1/leads", json={"status": "bogus"}))
        unauthorized_002(await caller.put(f"/api/v1/leads/{stored.id}", json={"tags": "x"}))


async def test_wrong_password_is_401_in_seed003_and_seed004_formats(
    anonymous: httpx.AsyncClient,
) -> None:
    response = await anonymous.post("/auth/register", json={
        "email": "owner@example.com", "password": "correct-horse-battery", "name": "Owner",
    })
    assert response.status_code == 201, response.text
    for path in ("/auth/login", "/v1/auth/login"):
        seed000_error(await anonymous.post(path, json={
            "email": "owner@example.com", "password": "wrong-password"}), 401, "unauthorized")
        seed000_error(await anonymous.post(path, json={
            "email": "nobody@example.com", "password": "wrong-password"}), 401, "unauthorized")
    seed002_error(await anonymous.post("/api/v1/auth/login", json={
        "email": "owner@example.com", "password": "wrong-password"}), 401)
    seed004_error(await anonymous.post("/api/auth/login", json={
        "username": "owner@example.com", "password": "wrong-password"}), 401)
    seed004_error(await anonymous.post("/api/auth/logout"), 401)
    seed004_error(await anonymous.post("/api/auth/refresh", json={
        "refreshToken": "not-a-token"}), 401)


# -- bad bodies --------------------------------------------------------------------------------

SEED001_INVALID: list[tuple[str, dict[str, Any], list[str]]] = [
    ("bad-email", {"name": "X", "email": "not-an-email"}, ["email"]),
    ("email-wrong-type", {"name": "X", "email": 42}, ["email"]),
    ("unknown-intent", {"name": "X", "intent": "LUKEWARM"}, ["intent"]),
    ("unknown-source", {"name": "X", "source": "carrier-pigeon"}, ["source"]),
    ("phone-number-type", {"name": "X", "phone": 123}, ["phone"]),
    ("phone-garbage", {"name": "X", "phone": "call me maybe"}, ["phone"]),
    ("name-wrong-type", {"name": ["X"], "email": "x@example.com"}, ["name"]),
    ("nothing-to-identify", {"source": "website"}, ["email"]),
    ("two-problems", {"email": "nope", "intent": "LUKEWARM"}, ["email", "intent"]),
]


@pytest.mark.parametrize(("payload", "fields"), [(p, f) for _, p, f in SEED001_INVALID],
                         ids=[name for name, _, _ in SEED001_INVALID])
async def test_seed001_invalid_lead_is_a_fastapi_422(
    stored: Stored, payload: dict[str, Any], fields: list[str]
) -> None:
    response = await stored.client.post("/api/v1/lead/", json=payload)
    assert seed001_validation(response) == fields


SEED002_INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("bad-email", {"email": "not-an-email"}, "email"),
    ("unknown-status", {"status": "bogus"}, "status"),
    ("unknown-intent", {"intent": "LUKEWARM"}, "intent"),
    ("unknown-source", {"source": "carrier-pigeon"}, "source"),
    ("phone-number-type", {"phone": 123}, "phone"),
    ("phone-garbage", {"phone": "call me maybe"}, "phone"),
    ("tags-string", {"tags": "x"}, "tags"),
    ("tags-of-numbers", {"tags": [1, 2]}, "tags.0"),
    ("company-object", {"company": {"name": "Acme"}}, "company"),
    ("unknown-assignee", {"assigned_to": "0123456789abcdef01234567"}, "assigned_to"),
    ("follow-up-status", {"follow_up_status": "someday"}, "follow_up_status"),
    ("project-type", {"project_type": "spaceship"}, "project_type"),
    ("overlong-name", {"first_name": "x" * 101}, "first_name"),
]


@pytest.mark.parametrize(("payload", "field"), [(p, f) for _, p, f in SEED002_INVALID],
                         ids=[name for name, _, _ in SEED002_INVALID])
async def test_seed002_invalid_create_is_422_naming_the_field(
    stored: Stored, payload: dict[str, Any], field: str
) -> None:
    create = {"first_name": "New", "email": "new.person@example.com", **payload}
    seed002_field_error(await stored.client.post("/api/v1/leads", json=create), field)
    # The same data would have merged into the stored lead: still refused, nothing merged.
    dup = {**payload, "phone": payload.get("phone", ORIGINAL["phone"])}
    seed002_field_error(await stored.client.post("/api/v1/leads", json=dup), field)


@pytest.mark.parametrize(("payload", "field"), [(p, f) for _, p, f in SEED002_INVALID],
                         ids=[name for name, _, _ in SEED002_INVALID])
async def test_seed002_invalid_update_is_422_and_changes_nothing(
    stored: Stored, payload: dict[str, Any], field: str
) -> None:
    # A valid field next to the invalid one is not applied either: all or nothing.
    body = {"notes": "should not be saved", **payload}
    response = await stored.client.put(f"/api/v1/leads/{stored.id}", json=body)
    seed002_field_error(response, field)


async def test_seed002_several_problems_are_all_listed(stored: Stored) -> None:
    response = await stored.client.post("/api/v1/leads", json={
        "email": "nope", "status": "bogus", "phone": 123, "tags": "x",
    })
    details = seed002_error(response, 422)
    assert {e["field"] for e in details["errors"]} == {"email", "status", "phone", "tags"}
    assert details["field"] in {"email", "status", "phone", "tags"}


async def test_update_to_another_leads_email_is_a_conflict(stored: Stored) -> None:
    response = await stored.client.post("/api/v1/leads", json={
        "first_name": "Other", "email": "other@example.com"})
    assert response.status_code == 201, response.text
    other_id = response.json()["id"]
    conflict = await stored.client.put(f"/api/v1/leads/{other_id}",
                                       json={"email": "GRACE@navy.mil"})
    details = seed002_error(conflict, 409)
    assert stored.id in details["message"]
    delete = await stored.client.delete(f"/api/v1/leads/{other_id}")
    assert delete.status_code == 200  # so that the fixture finds the store as it was


@dataclass(frozen=True)
class RawBody:
    content: bytes
    content_type: str = "application/json"


BAD_BODIES: dict[str, RawBody] = {
    "malformed-json": RawBody(b'{"name": "X",'),
    "json-array": RawBody(b'[{"name": "X"}]'),
    "json-string": RawBody(b'"name"'),
    "json-null": RawBody(b"null"),
    "empty": RawBody(b""),
    "not-utf8": RawBody(b'{"name": "\xff\xfe"}'),
    "form-encoded": RawBody(b"name=X&email=x%40example.com",
                            "application/x-www-form-urlencoded"),
}


async def send_raw(
    client: httpx.AsyncClient, method: str, path: str, body: RawBody
) -> httpx.Response:
    return await client.request(method, path, content=body.content,
                                headers={"Content-Type": body.content_type})


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=list(BAD_BODIES))
async def test_bad_bodies_are_400_in_every_dialect(stored: Stored, body: RawBody) -> None:
    client = stored.client
    # Seed 001: a 400 with a string detail (its document: "400 - Bad Request (invalid input)").
    detail = seed001_detail(await send_raw(client, "POST", "/api/v1/lead/", body), 400)
    assert "JSON" in detail
    # Seed 002: 400 in its envelope, naming the body.
    for method, path in (("POST", "/api/v1/leads"), ("PUT", f"/api/v1/leads/{stored.id}"),
                         ("POST", "/api/v1/auth/login")):
        details = seed002_error(await send_raw(client, method, path, body), 400)
        assert details["field"] == "body" and "JSON" in details["message"]
        assert (await send_raw(client, method, path, body)).json()["error"] == "Bad request"
    # Seed 003: {"error": {...}} with code bad_request.
    for path in ("/auth/register", "/auth/login", "/v1/auth/register"):
        details000 = seed000_error(await send_raw(client, "POST", path, body), 400, "bad_request")
        assert "body" in details000
    # Seed 004: {"status": "error", ...} naming the body.
    for path in ("/api/auth/register", "/api/auth/login", "/api/auth/refresh"):
        details004 = seed004_error(await send_raw(client, "POST", path, body), 400)
        assert [d["field"] for d in details004] == ["body"]


async def test_oversized_body_is_413(stored: Stored) -> None:
    """413 in the dialect's envelope (every dialect and GraphQL: tests/test_security.py)."""
    huge = b'{"notes": "' + b"x" * 1_100_000 + b'"}'
    response = await send_raw(stored.client, "PUT", f"/api/v1/leads/{stored.id}", RawBody(huge))
    details = seed002_error(response, 413)
    assert "too large" in details["message"]


@pytest.mark.parametrize(("payload", "fields"), [
    ({"email": "not-an-email", "password": "long-enough-password"}, {"email"}),
    ({"email": "a@example.com", "password": "short"}, {"password"}),
    ({"email": "a@example.com", "password": 12345678}, {"password"}),
    ({"email": ["a@example.com"], "password": "long-enough-password"}, {"email"}),
    ({"email": "a@example.com", "password": "long-enough-password", "name": 7}, {"name"}),
    ({}, {"email", "password"}),
], ids=["bad-email", "short-password", "password-number", "email-list", "name-number", "empty"])
async def test_bad_registration_is_400_naming_the_field_in_seed003_and_seed004(
    anonymous: httpx.AsyncClient, payload: dict[str, Any], fields: set[str]
) -> None:
    seed003 = seed000_error(await anonymous.post("/auth/register", json=payload), 400,
                            "validation_error")
    assert set(seed003) == fields
    seed004 = seed004_error(await anonymous.post("/api/auth/register", json=payload), 400)
    assert {d["field"] for d in seed004} == fields
    assert all(isinstance(d["message"], str) and d["message"] for d in seed004)
    # Nothing was registered: a correct registration of the same address works.
    good = await anonymous.post("/auth/register", json={
        "email": "a@example.com", "password": "long-enough-password"})
    assert good.status_code == 201, good.text


async def test_graphql_bad_input_names_the_field(stored: Stored) -> None:
    result = await gql(stored.client, "mutation($i: LeadInput!) { createLead(input: $i) { id } }",
                       {"i": {"email": "not-an-email", "name": "X"}})
    assert result["data"] is None
    error = result["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert [f["field"] for f in error["extensions"]["fields"]] == ["email"]
    enum = await gql(stored.client, "mutation($i: LeadInput!) { createLead(input: $i) { id } }",
                     {"i": {"name": "X", "intent": "LUKEWARM"}})
    assert enum["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "LUKEWARM" in enum["errors"][0]["message"]


# -- bad query parameters ----------------------------------------------------------------------

SEED000_BAD_QUERY: list[tuple[str, dict[str, str], str]] = [
    ("limit-abc", {"limit": "abc"}, "limit"),
    ("limit-zero", {"limit": "0"}, "limit"),
    ("limit-negative", {"limit": "-5"}, "limit"),
    ("limit-too-big", {"limit": "101"}, "limit"),
    ("limit-float", {"limit": "2.5"}, "limit"),
    ("offset-negative", {"offset": "-1"}, "offset"),
    ("offset-abc", {"offset": "abc"}, "offset"),
    ("sort-by-bogus", {"sort_by": "bogus"}, "sort_by"),
    ("sort-by-injection", {"sort_by": "$where"}, "sort_by"),
    ("sort-order-bogus", {"sort_order": "sideways"}, "sort_order"),
]


@pytest.mark.parametrize(("params", "param"), [(p, n) for _, p, n in SEED000_BAD_QUERY],
                         ids=[name for name, _, _ in SEED000_BAD_QUERY])
async def test_seed000_bad_query_is_400_naming_the_param(
    stored: Stored, params: dict[str, str], param: str
) -> None:
    response = await stored.client.get("/api/leads", params=params)
    details = seed000_error(response, 400, "validation_error")
    assert list(details) == [param]
    assert param in response.json()["error"]["message"]


SEED002_BAD_QUERY: list[tuple[str, dict[str, str], str]] = [
    ("per-page-101", {"per_page": "101"}, "per_page"),
    ("per-page-zero", {"per_page": "0"}, "per_page"),
    ("per-page-abc", {"per_page": "abc"}, "per_page"),
    ("page-zero", {"page": "0"}, "page"),
    ("page-negative", {"page": "-1"}, "page"),
    ("page-abc", {"page": "abc"}, "page"),
    ("min-score-x", {"min_score": "x"}, "min_score"),
    ("min-score-above-1", {"min_score": "2"}, "min_score"),
    ("min-score-negative", {"min_score": "-0.1"}, "min_score"),
    ("status-bogus", {"status": "bogus"}, "status"),
    ("status-one-bogus", {"status": "new,bogus"}, "status"),
    ("source-bogus", {"source": "carrier-pigeon"}, "source"),
    ("search-too-long", {"search": "x" * 201}, "search"),
]


@pytest.mark.parametrize(("params", "param"), [(p, n) for _, p, n in SEED002_BAD_QUERY],
                         ids=[name for name, _, _ in SEED002_BAD_QUERY])
async def test_seed002_bad_query_is_422_naming_the_param(
    stored: Stored, params: dict[str, str], param: str
) -> None:
    response = await stored.client.get("/api/v1/leads", params=params)
    seed002_field_error(response, param)
    assert response.json()["details"]["field"] == param


async def test_query_edge_values_that_are_fine(stored: Stored) -> None:
    """The bounds themselves are valid; blank parameters mean the default."""
    client = stored.client
    for params in ({"limit": "100"}, {"limit": "1"}, {"limit": ""}, {"sort_order": "ASC"}):
        response = await client.get("/api/leads", params=params)
        assert response.status_code == 200, (params, response.text)
        assert response.json()["total"] == 1
    for params in ({"per_page": "100"}, {"per_page": "1"}, {"min_score": "0"},
                   {"min_score": "1"}, {"status": "NEW"}, {"page": ""}):
        response = await client.get("/api/v1/leads", params=params)
        assert response.status_code == 200, (params, response.text)
    assert (await client.get("/api/v1/leads", params={"min_score": "1"})).json()["total"] == 0
    assert (await client.get("/api/v1/leads", params={"status": "NEW"})).json()["total"] == 1
