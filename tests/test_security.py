"""The security suite (issue 8, "Protection"): one test per item of the issue's list.

Read the test names to check the list off: alias overloading, batching abuse, circular
fragments, circular introspection, directive overloading, field duplication, field
suggestions off when introspection is off, mutation over GET, form-encoded POST (CSRF),
unhandled error detail; JWT ``alg:none``, HS/RS confusion, missing or expired ``exp``, wrong
``aud``/``iss``, foreign ``typ``; WebSocket protocol violations (4401, 4408, 4409, 4429, 4400);
API key in a query string; and the transport limits: request body size (413 in every
caller's format, enforced while streaming, larger for uploads), WebSocket frame size,
``max_subscriptions_per_connection`` and the connection-init timeout.

Everything runs against the real server over loopback. Some items are also covered, in more
depth, by ``test_graphql_hardening.py``, ``test_auth.py`` and ``test_subscriptions.py``; here
each is asserted once more so that this file alone answers "is the list covered?".
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
import pytest
import websockets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.exceptions import ConnectionClosed

from tests.conftest import SECRET, make_settings, serve
from tests.support import API_KEY, GRAPHQL_WS, GraphQLSocket, LiveServer, gql
from tests.test_auth import assert_token_refused, assert_token_works, email, user_token

COUNT = "{ leads { totalCount } }"
LEAD_EVENTS = "subscription { leadEvents { type lead { id name } } }"
CREATE = 'mutation { createLead(input: {name: "Should Not Exist"}) { id } }'
MIB = 1024 * 1024


def messages(result: dict[str, Any]) -> list[str]:
    return [error["message"] for error in result.get("errors") or []]


def codes(result: dict[str, Any]) -> set[str]:
    return {error["extensions"]["code"] for error in result.get("errors") or []}


async def lead_count(client: httpx.AsyncClient) -> int:
    result = await gql(client, COUNT)
    count: int = result["data"]["leads"]["totalCount"]
    return count


async def refused(client: httpx.AsyncClient, query: str, expected: str) -> dict[str, Any]:
    """The document is refused before execution with a validation error naming ``expected``."""
    result = await gql(client, query)
    assert result["_status"] == 200, result
    assert result.get("data") is None, result
    assert any(expected in message for message in messages(result)), messages(result)[:3]
    assert codes(result) == {"GRAPHQL_VALIDATION_FAILED"}, result
    assert "Traceback" not in json.dumps(result)
    return result


@pytest.fixture
async def strict(
    live: LiveServer, mongo_url: str, redis_url: str, tmp_path: Path
) -> AsyncIterator[LiveServer]:
    """A server of its own with introspection off, a short connection-init timeout and at
    most two operations per WebSocket (Beanie binds process-wide: re-bind ``live`` after)."""
    await live.settle()
    await live.clear_database()
    try:
        async with serve(make_settings(
            mongo_url, redis_url, tmp_path, graphql_introspection=False,
            graphql_ws_init_timeout_seconds=0.5, graphql_ws_max_subscriptions=2,
        )) as server:
            yield server
    finally:
        await live.runtime.database.connect()


@pytest.fixture
async def strict_client(strict: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=strict.base_url, headers={"X-API-Key": API_KEY}, timeout=30
    ) as http:
        yield http


# -- GraphQL documents -------------------------------------------------------------------------

async def test_alias_overloading_is_refused(client: httpx.AsyncClient) -> None:
    allowed = "{ " + " ".join(f"a{i}: __typename" for i in range(30)) + " }"
    assert len((await gql(client, allowed))["data"]) == 30
    overloaded = "{ " + " ".join(f"a{i}: leads {{ totalCount }}" for i in range(31)) + " }"
    await refused(client, overloaded, "31 aliases found")


async def test_batching_abuse_is_limited_to_ten_operations(client: httpx.AsyncClient) -> None:
    """A JSON array of operations runs (each operation under every per-operation limit), but
    at most ``GRAPHQL_MAX_BATCH_OPERATIONS`` (10) of them: more is refused whole, unrun."""
    batch = [{"query": COUNT}, {"query": "{ __typename }"}]
    response = await client.post("/graphql", json=batch)
    assert response.status_code == 200
    assert [result["data"] for result in response.json()] == [
        {"leads": {"totalCount": 0}}, {"__typename": "Query"}]

    response = await client.post("/graphql", json=[{"query": CREATE}] * 11)
    assert response.status_code == 400
    assert response.json() == {"errors": [{
        "message": "Too many operations", "extensions": {"code": "BATCH_TOO_LARGE"}}]}
    assert await lead_count(client) == 0

    # Each operation of a batch is checked on its own.
    overloaded = "{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }"
    response = await client.post("/graphql", json=[{"query": overloaded}, {"query": COUNT}])
    first, second = response.json()
    assert first["data"] is None
    assert "31 aliases found" in first["errors"][0]["message"]
    assert second["data"] == {"leads": {"totalCount": 0}}


@pytest.mark.parametrize("query", [
    "{ ...A } fragment A on Query { ...A }",
    "{ ...A } fragment A on Query { __typename ...B } fragment B on Query { ...A }",
    "{ leads { ...E } } fragment E on LeadConnection { totalCount edges { cursor } ...E }",
], ids=["self", "two-step", "nested"])
async def test_circular_fragments_are_rejected(client: httpx.AsyncClient, query: str) -> None:
    await refused(client, query, "within itself")


@pytest.mark.parametrize("query", [
    "{ __schema { types { fields { type { fields { type { fields { type { name } } } } } } } } }",
    '{ __type(name: "Lead") { fields { type { ofType { fields { type { ofType '
    "{ fields { name } } } } } } } } }",
    "{ __schema { types { ...T } } } fragment T on __Type { fields { type { fields "
    "{ type { fields { name } } } } } }",
], ids=["schema", "type", "via-fragment"])
async def test_circular_introspection_is_refused(client: httpx.AsyncClient, query: str) -> None:
    await refused(client, query, "Maximum introspection depth exceeded")


INLINE_INCLUDE = "... @include(if: true) { __typename }"


@pytest.mark.parametrize("query", [
    "{ __typename " + "@include(if: true) " * 300 + "}",
    "{ " + f"{INLINE_INCLUDE} " * 51 + "}",
    "{ __typename " + " ".join(f"@unknown{i}" for i in range(200)) + " }",
    "{ ...F ...F } fragment F on Query { " + f"{INLINE_INCLUDE} " * 30 + "}",
], ids=["one-field-300-times", "51-inline-fragments", "unknown-directives", "via-fragments"])
async def test_directive_overloading_is_refused(client: httpx.AsyncClient, query: str) -> None:
    result = await refused(client, query, "directives; the maximum is 50")
    assert len(result["errors"]) == 1  # refused before validation can pile up errors


async def test_fifty_directives_are_allowed(client: httpx.AsyncClient) -> None:
    result = await gql(client, "{ " + f"{INLINE_INCLUDE} " * 50 + "}")
    assert result["data"] == {"__typename": "Query"}, result


@pytest.mark.parametrize(("copies", "expected"), [
    (501, "fields; the maximum is 500"),
    (4000, "fields; the maximum is 500"),
    (6000, "more than 5000 tokens"),
])
async def test_field_duplication_is_refused(
    client: httpx.AsyncClient, copies: int, expected: str
) -> None:
    """The same field thousands of times: stopped by the field limit (or, first, by the
    token limit), with an error that says so, not graphql-core's bare "Validation aborted."."""
    result = await refused(client, "{ " + "__typename " * copies + "}", expected)
    assert "Validation aborted" not in json.dumps(result)


async def test_fragment_bomb_counts_as_field_duplication(client: httpx.AsyncClient) -> None:
    """Twenty fragments each spreading the next twice: 2^20 fields from 200 tokens."""
    chain = " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(20)
    )
    await refused(client, f"{{ ...F0 }} {chain} fragment F20 on Query {{ __typename }}",
                  "more than 5000 fields; the maximum is 500")


async def test_field_suggestions_are_off_when_introspection_is_off(
    strict_client: httpx.AsyncClient,
) -> None:
    schema = await gql(strict_client, "{ __schema { queryType { name } } }")
    assert schema.get("data") is None
    assert "introspection has been disabled" in messages(schema)[0]
    for query in ("{ leads { totalCont } }", "{ leads(frist: 1) { totalCount } }",
                  "{ leads(orderBy: {field: NAM}) { totalCount } }"):
        result = await gql(strict_client, query)
        assert result.get("data") is None
        text = json.dumps(result)
        assert "Did you mean" not in text, result
        assert "totalCount'" not in text and "first" not in text and "NAME" not in text


async def test_mutation_over_get_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": CREATE})
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert "mutations are not allowed when using GET" in error["message"]
    assert error["extensions"]["code"] == "OPERATION_NOT_ALLOWED"
    assert await lead_count(client) == 0


# -- CSRF: requests a browser sends cross-site without a preflight -----------------------------

@dataclass(frozen=True)
class SimpleRequest:
    path: str
    content_type: str
    content: bytes
    code: str | None = None  # GraphQL's extensions.code (REST answers in its dialect)


CSRF_REQUESTS = {
    "graphql-form-urlencoded": SimpleRequest(
        "/graphql", "application/x-www-form-urlencoded",
        b"query=" + CREATE.replace(" ", "+").encode(), "UNSUPPORTED_MEDIA_TYPE"),
    "graphql-text-plain": SimpleRequest(
        "/graphql", "text/plain", json.dumps({"query": CREATE}).encode(),
        "UNSUPPORTED_MEDIA_TYPE"),
    "graphql-multipart-without-preflight-header": SimpleRequest(
        "/graphql", "multipart/form-data; boundary=xyz",
        b'--xyz\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
        + json.dumps({"query": CREATE}).encode()
        + b'\r\n--xyz\r\nContent-Disposition: form-data; name="map"\r\n\r\n{}\r\n--xyz--\r\n',
        "CSRF_PREFLIGHT_REQUIRED"),
    "rest-form-urlencoded": SimpleRequest(
        "/api/v1/leads", "application/x-www-form-urlencoded", b"name=Should+Not+Exist"),
    "rest-text-plain": SimpleRequest(
        "/api/v1/leads", "text/plain", b'{"name": "Should Not Exist"}'),
}


@pytest.mark.parametrize("request_", CSRF_REQUESTS.values(), ids=list(CSRF_REQUESTS))
async def test_form_encoded_post_is_refused_csrf(
    client: httpx.AsyncClient, request_: SimpleRequest
) -> None:
    """Even with the caller's credentials (a browser would attach cookies or a stored key),
    a POST a page may send without a CORS preflight executes nothing."""
    response = await client.post(request_.path, content=request_.content,
                                 headers={"Content-Type": request_.content_type})
    assert response.status_code == 400, response.text
    assert "Traceback" not in response.text
    if request_.code is not None:
        assert response.json()["errors"][0]["extensions"]["code"] == request_.code
    assert await lead_count(client) == 0


# -- unhandled errors --------------------------------------------------------------------------

async def test_unhandled_error_detail_is_not_shown(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    """A stored lead that no longer fits the model (say, written by an old version or by hand)
    makes loading it fail inside the server. The caller sees a generic error in its format;
    the exception, its message and the stack stay in the log."""
    await server.runtime.database.client[server.db_name]["leads"].insert_one({
        "name": {"not": "a string"}, "status": "no-such-status", "score": "high",
        "created_at": "not a date", "updated_at": 17,
    })
    result = await gql(client, "{ leads { edges { node { id name status } } } }")
    assert codes(result) == {"INTERNAL_SERVER_ERROR"}, result
    assert messages(result) == ["Unexpected error."]

    rest = await client.get("/api/v1/leads")
    assert rest.status_code == 500
    body = rest.json()
    assert (body["error"], body["status_code"]) == ("Internal server error", 500)
    assert body["details"] == {"message": "Internal server error"}

    for text in (json.dumps(result), rest.text):
        for leak in ("Traceback", "File \"", "pydantic", "ValidationError", "no-such-status",
                     "validation error for", ".py"):
            assert leak not in text, (leak, text)


@pytest.mark.parametrize("path", ["/graphql", "/api/v1/leads"])
async def test_json_nesting_bomb_is_400_not_an_unhandled_error(
    client: httpx.AsyncClient, path: str
) -> None:
    """Half a megabyte of ``[`` would overflow the JSON parser's recursion."""
    bomb = b'{"query": "{ __typename }", "variables": {"x": ' + b"[" * 500_000 + b"]" * 500_000
    response = await client.post(path, content=bomb + b"}}",
                                 headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert "Traceback" not in response.text
    if path == "/graphql":
        assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_JSON"
    assert await lead_count(client) == 0


async def test_json_nesting_bomb_over_websocket_closes_4400(server: LiveServer) -> None:
    async with await initialised(server) as connection:
        await connection.send("[" * 500_000 + "]" * 500_000)
        assert await close_code(connection) == 4400


# -- JWT ---------------------------------------------------------------------------------------

Claims = dict[str, Any]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hand_signed(header: dict[str, Any], claims: Claims, key: bytes) -> str:
    """A JWT built by hand (pyjwt refuses to HMAC with a PEM key, an attacker does not)."""
    payload = json.dumps(_plain(claims)).encode()
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(payload)}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _plain(claims: Claims) -> Claims:
    return {k: int(v.timestamp()) if isinstance(v, datetime) else v for k, v in claims.items()}


_ATTACKER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_ATTACKER_PUBLIC_PEM = _ATTACKER_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _signed(claims: Claims, **changes: Any) -> str:
    return jwt.encode(_plain({**claims, **changes}), SECRET, algorithm="HS256")


def _without(name: str) -> Callable[[Claims], str]:
    return lambda claims: jwt.encode(
        _plain({k: v for k, v in claims.items() if k != name}), SECRET, algorithm="HS256")


def _with(**changes: Any) -> Callable[[Claims], str]:
    return lambda claims: _signed(claims, **changes)


def _alg_none(spelling: str) -> Callable[[Claims], str]:
    def forge(claims: Claims) -> str:
        header = _b64(json.dumps({"alg": spelling, "typ": "JWT"}).encode())
        return f"{header}.{_b64(json.dumps(_plain(claims)).encode())}."
    return forge


def _rs256_attacker_key(claims: Claims) -> str:
    """Signed RS256 with the attacker's own private key."""
    private_pem = _ATTACKER_KEY.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    return jwt.encode(_plain(claims), private_pem, algorithm="RS256")


def _hs256_public_key_as_secret(claims: Claims) -> str:
    """The classic confusion: HS256 with a public key as the HMAC secret."""
    return _hand_signed({"alg": "HS256", "typ": "JWT"}, claims, _ATTACKER_PUBLIC_PEM)


def _rs256_header_over_real_hmac(claims: Claims) -> str:
    """A genuine HMAC under the server's secret, but the header says RS256: the server must
    use its pinned algorithm, never the header's."""
    return _hand_signed({"alg": "RS256", "typ": "JWT"}, claims, SECRET.encode())


def _expired(claims: Claims) -> str:
    now = datetime.now(UTC)
    return _signed(claims, iat=now - timedelta(hours=2), exp=now - timedelta(minutes=5))


JWT_ATTACKS: dict[str, Callable[[Claims], str]] = {
    "alg-none": _alg_none("none"),
    "alg-None": _alg_none("None"),
    "alg-NONE": _alg_none("NONE"),
    "hs-rs-confusion-rs256-with-attacker-key": _rs256_attacker_key,
    "hs-rs-confusion-hs256-with-public-key-as-secret": _hs256_public_key_as_secret,
    "hs-rs-confusion-rs256-header-over-hmac": _rs256_header_over_real_hmac,
    "missing-exp": _without("exp"),
    "expired-exp": _expired,
    "wrong-aud": _with(aud="some-other-api"),
    "wrong-iss": _with(iss="https://evil.example"),
    "foreign-typ-refresh": _with(typ="refresh"),
    "foreign-typ-id": _with(typ="id"),
}


@pytest.mark.parametrize("forge", JWT_ATTACKS.values(), ids=list(JWT_ATTACKS))
async def test_jwt_attack_is_refused(
    anonymous: httpx.AsyncClient, forge: Callable[[Claims], str]
) -> None:
    """Refused on REST (401 in seed 002's envelope) and on GraphQL (UNAUTHENTICATED), while
    the same claims re-signed properly work: the forgery alone makes the difference."""
    address = email()
    genuine = await user_token(anonymous, address)
    claims = jwt.decode(genuine, options={"verify_signature": False})
    await assert_token_works(anonymous, _signed(claims, jti=uuid.uuid4().hex), address)
    await assert_token_refused(anonymous, forge(claims))


# -- WebSocket protocol ------------------------------------------------------------------------

async def close_code(connection: websockets.ClientConnection) -> int:
    """Read until the server closes; the close code it sent."""
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(connection.recv(), 15)
    assert closed.value.rcvd is not None, "the server never sent a close frame"
    code: int = closed.value.rcvd.code
    return code


async def connect(server: LiveServer) -> websockets.ClientConnection:
    return await websockets.connect(
        f"{server.ws_url}/graphql", subprotocols=[GRAPHQL_WS]  # type: ignore[list-item]
    )


async def initialised(server: LiveServer) -> websockets.ClientConnection:
    connection = await connect(server)
    await connection.send(json.dumps({"type": "connection_init", "payload": {"apiKey": API_KEY}}))
    ack = json.loads(await asyncio.wait_for(connection.recv(), 10))
    assert ack["type"] == "connection_ack", ack
    return connection


def subscribe(operation_id: str, query: str = LEAD_EVENTS) -> str:
    return json.dumps({"id": operation_id, "type": "subscribe", "payload": {"query": query}})


async def test_websocket_subscribe_before_ack_closes_4401(server: LiveServer) -> None:
    async with await connect(server) as connection:
        await connection.send(subscribe("1"))
        assert await close_code(connection) == 4401


async def test_websocket_no_init_within_timeout_closes_4408(strict: LiveServer) -> None:
    """GRAPHQL_WS_INIT_TIMEOUT_SECONDS is 0.5 on this server (10 by default)."""
    async with await connect(strict) as connection:
        assert await close_code(connection) == 4408


async def test_websocket_duplicate_subscription_id_closes_4409(server: LiveServer) -> None:
    async with await initialised(server) as connection:
        await connection.send(subscribe("same"))
        await connection.send(subscribe("same"))
        assert await close_code(connection) == 4409


async def test_websocket_second_connection_init_closes_4429(server: LiveServer) -> None:
    async with await initialised(server) as connection:
        await connection.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert await close_code(connection) == 4429


BAD_FRAMES: dict[str, str | bytes] = {
    "not-json": "{not json",
    "binary": b'{"type": "connection_init"}',
    "unknown-type": json.dumps({"type": "start", "id": "1"}),
    "no-type": json.dumps({"id": "1"}),
    "init-payload-not-an-object": json.dumps({"type": "connection_init", "payload": [1]}),
}


@pytest.mark.parametrize("frame", BAD_FRAMES.values(), ids=list(BAD_FRAMES))
async def test_websocket_bad_frame_closes_4400(server: LiveServer, frame: str | bytes) -> None:
    async with await connect(server) as connection:
        await connection.send(frame)
        assert await close_code(connection) == 4400


async def test_websocket_frame_over_the_size_limit_closes_1009(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    """WS_MAX_MESSAGE_BYTES (1 MiB): a bigger frame closes the socket (1009, message too big)
    before the server parses it, and the server carries on."""
    limit = server.runtime.settings.ws_max_message_bytes
    async with await initialised(server) as connection:
        padding = "#" * (limit + 1)
        await connection.send(subscribe("big", f"{LEAD_EVENTS}\n{padding}"))
        assert await close_code(connection) == 1009

    async with await initialised(server) as connection:  # the server is still there
        await connection.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(connection.recv(), 10)) == {"type": "pong"}
    assert await lead_count(client) == 0


async def listening(server: LiveServer, count: int) -> None:
    """Until exactly ``count`` client subscriptions listen (subscribe has no ack)."""
    for _ in range(500):
        held = server.runtime.broker.subscriber_count("leads")
        if held - server.internal_subscribers("leads") == count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never {count} subscribers")


async def test_max_subscriptions_per_connection(
    strict: LiveServer, strict_client: httpx.AsyncClient
) -> None:
    """GRAPHQL_WS_MAX_SUBSCRIPTIONS is 2 on this server (50 by default): a third operation
    gets an error message, the socket stays up, and a finished one frees its slot."""
    socket = await GraphQLSocket.open(f"{strict.ws_url}/graphql", {"apiKey": API_KEY})
    try:
        await socket.subscribe("1", LEAD_EVENTS)
        await socket.subscribe("2", LEAD_EVENTS)
        await socket.subscribe("3", LEAD_EVENTS)
        error = await socket.receive()
        assert error["id"] == "3" and error["type"] == "error", error
        assert error["payload"][0]["message"] == "Subscription limit reached"

        await listening(strict, 2)
        await socket.send({"id": "1", "type": "complete"})
        await listening(strict, 1)
        await socket.subscribe("4", LEAD_EVENTS)
        await listening(strict, 2)
        await gql(strict_client, 'mutation { createLead(input: {name: "Fourth"}) { id } }')
        names: dict[str, str] = {}
        while len(names) < 2:
            message = await socket.receive()
            assert message["type"] == "next", message
            names[message["id"]] = message["payload"]["data"]["leadEvents"]["lead"]["name"]
        assert names == {"2": "Fourth", "4": "Fourth"}
    finally:
        await socket.close()


# -- credentials in the URL --------------------------------------------------------------------

QUERY_STRING_ROUTES = {
    "graphql-get": ("GET", "/graphql"),
    "graphql-post": ("POST", "/graphql"),
    "seed-000": ("GET", "/api/leads"),
    "seed-001": ("GET", "/api/v1/analytics/summary"),
    "seed-002": ("GET", "/api/v1/leads"),
    "seed-003": ("GET", "/conversations"),
    "seed-004": ("GET", "/api/conversations"),
}


@pytest.mark.parametrize(("method", "path"), QUERY_STRING_ROUTES.values(),
                         ids=list(QUERY_STRING_ROUTES))
async def test_api_key_in_query_string_is_refused(
    anonymous: httpx.AsyncClient, method: str, path: str
) -> None:
    """URLs end up in logs, proxies and browser history: a key there is never accepted."""
    for name in ("api_key", "apiKey", "x-api-key", "X-API-Key", "access_token", "token"):
        params = {name: API_KEY}
        if path == "/graphql" and method == "GET":
            params["query"] = COUNT
        response = await anonymous.request(
            method, path, params=params,
            json={"query": COUNT} if method == "POST" else None,
            headers={"Accept": "application/json"},
        )
        assert response.status_code == 401, (name, response.text)
        if path == "/graphql":
            assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_api_key_in_websocket_url_is_refused(server: LiveServer) -> None:
    connection = await websockets.connect(
        f"{server.ws_url}/graphql?apiKey={API_KEY}&api_key={API_KEY}",
        subprotocols=[GRAPHQL_WS],  # type: ignore[list-item]
    )
    async with connection:
        await connection.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert await close_code(connection) == 4403


# -- request body size -------------------------------------------------------------------------

@dataclass(frozen=True)
class TooLarge:
    path: str
    body: Callable[[bytes], Any]
    expected: Callable[[Any], bool]


def _padding(size: int) -> str:
    return "x" * size


BODY_LIMIT_CASES: dict[str, TooLarge] = {
    "graphql": TooLarge(
        "/graphql", lambda pad: {"query": COUNT, "variables": {"pad": pad.decode()}},
        lambda body: body["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"),
    "seed-000": TooLarge(
        "/api/chat", lambda pad: {"message": pad.decode()},
        lambda body: body["error"]["code"] == "payload_too_large"),
    "seed-001": TooLarge(
        "/api/v1/lead", lambda pad: {"name": pad.decode()},
        lambda body: "too large" in body["detail"]),
    "seed-002": TooLarge(
        "/api/v1/leads", lambda pad: {"name": pad.decode()},
        lambda body: (body["error"], body["status_code"]) == ("Payload too large", 413)),
    "seed-003": TooLarge(
        "/conversations", lambda pad: {"channel": pad.decode()},
        lambda body: body["error"]["code"] == "payload_too_large"),
    "seed-004": TooLarge(
        "/api/auth/register", lambda pad: {"username": pad.decode()},
        lambda body: (body["status"], body["error"]["code"]) == ("error", 413)),
}


@pytest.mark.parametrize("case", BODY_LIMIT_CASES.values(), ids=list(BODY_LIMIT_CASES))
async def test_request_body_over_the_limit_is_413_in_the_callers_format(
    server: LiveServer, client: httpx.AsyncClient, case: TooLarge
) -> None:
    limit = server.runtime.settings.max_body_bytes
    response = await client.post(case.path, json=case.body(b"x" * limit))
    assert response.status_code == 413, response.text
    body = response.json()
    assert case.expected(body), body
    assert str(limit) in response.text
    assert await lead_count(client) == 0


async def raw_exchange(
    base_url: str, head: str, body_parts: Iterable[bytes] = ()
) -> tuple[int, bytes]:
    """One HTTP/1.1 exchange over a plain socket, for bodies httpx will not send: a
    ``Content-Length`` that is never followed by the body, or a chunked body that never
    ends. Reads the response by its ``Content-Length``; the connection stays open meanwhile,
    so the server never resets it over unread data."""
    address = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        writer.write(head.encode())
        for part in body_parts:
            writer.write(part)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 30)
        length = 0
        while (line := await asyncio.wait_for(reader.readline(), 30)) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        body = await asyncio.wait_for(reader.readexactly(length), 30)
        return int(status_line.split()[1]), body
    finally:
        writer.close()
        with suppress(ConnectionError):
            await writer.wait_closed()


def request_head(path: str, content_type: str, framing: str) -> str:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {API_KEY}\r\n"
            f"Content-Type: {content_type}\r\nAccept: application/json\r\n{framing}\r\n\r\n")


@pytest.mark.parametrize(("path", "content_type", "limit_setting"), [
    ("/graphql", "application/json", "max_body_bytes"),
    ("/api/v1/leads", "application/json", "max_body_bytes"),
    ("/graphql", "multipart/form-data; boundary=b", "max_upload_bytes"),
    ("/api/v1/leads/import", "multipart/form-data; boundary=b", "max_upload_bytes"),
], ids=["graphql-json", "rest-json", "graphql-upload", "rest-upload"])
async def test_declared_content_length_over_the_limit_is_refused_before_reading(
    server: LiveServer, path: str, content_type: str, limit_setting: str
) -> None:
    """Only the headers are sent: the 413 comes back without the server waiting for a body."""
    limit: int = getattr(server.runtime.settings, limit_setting)
    headers = {"Apollo-Require-Preflight": "true"}
    head = request_head(path, content_type, f"Content-Length: {limit + 1}").replace(
        "\r\n\r\n", "".join(f"\r\n{k}: {v}" for k, v in headers.items()) + "\r\n\r\n")
    status, body = await raw_exchange(server.base_url, head)
    assert status == 413, body
    assert str(limit).encode() in body


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


@pytest.mark.parametrize("path", ["/graphql", "/api/v1/leads"])
async def test_chunked_body_is_cut_off_once_over_the_limit(
    server: LiveServer, client: httpx.AsyncClient, path: str
) -> None:
    """No Content-Length; chunks past the limit, and the body is never finished: the server
    answers 413 as soon as the limit is passed instead of waiting to read it all."""
    limit = server.runtime.settings.max_body_bytes
    piece = b" " * (64 * 1024)
    parts = [chunk(b'{"query": "{ __typename }", "pad": "')]
    parts += [chunk(piece)] * (limit // len(piece) + 1)  # … and no terminating 0-chunk
    status, body = await raw_exchange(
        server.base_url, request_head(path, "application/json", "Transfer-Encoding: chunked"),
        parts)
    assert status == 413, body
    assert await lead_count(client) == 0


async def test_uploads_get_the_larger_limit(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    """A multipart body over MAX_BODY_BYTES but under MAX_UPLOAD_BYTES is read in full."""
    size = server.runtime.settings.max_body_bytes + MIB
    assert size < server.runtime.settings.max_upload_bytes
    response = await client.post(
        "/graphql",
        data={"operations": json.dumps({"query": "{ __typename }"}), "map": "{}"},
        files={"0": ("big.bin", b"\0" * size, "application/octet-stream")},
        headers={"Apollo-Require-Preflight": "true"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"__typename": "Query"}

    rest = await client.post(
        "/api/voice/stt", files={"file": ("noise.wav", b"\1" * size, "audio/wav")})
    assert rest.status_code != 413, rest.text
    assert rest.status_code < 500, rest.text
