"""Authentication through the live server: sign-up, login, tokens, sessions and API keys.

Every legacy dialect that has auth endpoints (seeds 002, 003, 004) is exercised in its own
envelope, and every token is then checked on both GraphQL and REST.
"""

from __future__ import annotations

import hashlib
import uuid
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from jwt.warnings import InsecureKeyLengthWarning

from tests.conftest import SECRET
from tests.support import API_KEY, LiveServer, gql

PASSWORD = "correct horse battery"
ME = "{ me { id email name role } }"
ISO_Z = "%Y-%m-%dT%H:%M:%SZ"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def email() -> str:
    return f"user-{uuid.uuid4().hex[:8]}@example.com"


async def register_003(
    http: httpx.AsyncClient, address: str, password: str = PASSWORD, name: str = "Ann Lee"
) -> dict[str, Any]:
    response = await http.post(
        "/auth/register", json={"email": address, "password": password, "name": name}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def login_002(
    http: httpx.AsyncClient, address: str, password: str = PASSWORD
) -> dict[str, Any]:
    response = await http.post(
        "/api/v1/auth/login", json={"email": address, "password": password}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def login_004(http: httpx.AsyncClient, **credentials: str) -> dict[str, Any]:
    response = await http.post("/api/auth/login", json=credentials)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    data: dict[str, Any] = body["data"]
    return data


async def user_token(http: httpx.AsyncClient, address: str | None = None) -> str:
    """Register a user (seed 003) and log in (seed 002); returns the access token."""
    address = address or email()
    await register_003(http, address)
    token: str = (await login_002(http, address))["access_token"]
    return token


async def assert_token_refused(http: httpx.AsyncClient, token: str) -> None:
    """A token that must not work: 401 on REST (seed 002 envelope) and on GraphQL."""
    rest = await http.get("/api/v1/leads", headers=bearer(token))
    assert rest.status_code == 401, rest.text
    assert rest.headers["www-authenticate"] == "Bearer"
    body = rest.json()
    assert body["error"] == "Unauthorized"
    assert body["status_code"] == 401
    assert set(body) == {"error", "status_code", "details", "timestamp"}

    result = await gql(http, ME, headers=bearer(token))
    assert result["_status"] == 401
    assert result["data"] == {"me": None}
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert result["errors"][0]["path"] == ["me"]


async def assert_token_works(http: httpx.AsyncClient, token: str, address: str) -> None:
    rest = await http.get("/api/v1/leads", headers=bearer(token))
    assert rest.status_code == 200, rest.text
    result = await gql(http, ME, headers=bearer(token))
    assert result["_status"] == 200, result
    assert result["data"]["me"]["email"] == address


# -- registration --------------------------------------------------------------------------


async def test_register_seed_003_returns_the_documented_user(
    anonymous: httpx.AsyncClient,
) -> None:
    address = email()
    body = await register_003(anonymous, address.upper(), name="John Doe")
    assert set(body) == {"id", "email", "name", "created_at"}
    assert body["email"] == address  # normalised to lower case
    assert body["name"] == "John Doe"
    assert body["id"]
    created = datetime.strptime(body["created_at"], ISO_Z).replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=5)


async def test_register_seed_004_answers_in_its_envelope(anonymous: httpx.AsyncClient) -> None:
    address = email()
    response = await anonymous.post("/api/auth/register", json={
        "username": "agent_smith", "email": address, "password": PASSWORD,
    })
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"status", "data"}
    assert body["status"] == "success"
    data = body["data"]
    assert data["email"] == address
    assert data["username"] == "agent_smith"
    assert data["name"] == "agent_smith"
    assert data["id"]
    assert data["role"] == "admin"  # the very first user
    assert data["createdAt"].endswith("Z")


async def test_duplicate_email_is_a_conflict_in_each_dialect(
    anonymous: httpx.AsyncClient,
) -> None:
    address = email()
    await register_003(anonymous, address)

    again_003 = await anonymous.post(
        "/auth/register", json={"email": address.upper(), "password": PASSWORD}
    )
    assert again_003.status_code == 409
    error = again_003.json()["error"]
    assert error["code"] == "conflict"
    assert "already exists" in error["message"]
    assert error["details"] == {}

    again_004 = await anonymous.post(
        "/api/auth/register", json={"email": address, "password": PASSWORD}
    )
    assert again_004.status_code == 409
    body = again_004.json()
    assert body["status"] == "error"
    assert body["error"]["code"] == 409
    assert "already exists" in body["error"]["message"]
    assert body["error"]["details"] == []


async def test_duplicate_username_is_a_conflict(anonymous: httpx.AsyncClient) -> None:
    first = await anonymous.post("/api/auth/register", json={
        "username": "taken", "email": email(), "password": PASSWORD,
    })
    assert first.status_code == 201
    second = await anonymous.post("/api/auth/register", json={
        "username": "taken", "email": email(), "password": PASSWORD,
    })
    assert second.status_code == 409
    assert second.json()["error"]["code"] == 409


@pytest.mark.parametrize(("payload", "bad_fields"), [
    ({"email": "ok@example.com", "password": "short"}, {"password"}),
    ({"email": "not-an-email", "password": PASSWORD}, {"email"}),
    ({"email": "nope", "password": "x"}, {"email", "password"}),
    ({"password": PASSWORD}, {"email"}),
    ({"email": "ok@example.com", "password": PASSWORD, "name": 5}, {"name"}),
])
async def test_register_seed_003_bad_input_is_400_naming_fields(
    anonymous: httpx.AsyncClient, payload: dict[str, Any], bad_fields: set[str],
) -> None:
    response = await anonymous.post("/auth/register", json=payload)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["details"]) == bad_fields
    users = await anonymous.post("/api/v1/auth/login", json={
        "email": "ok@example.com", "password": PASSWORD,
    })
    assert users.status_code == 401  # nothing was stored


@pytest.mark.parametrize(("payload", "bad_fields"), [
    ({"email": "ok@example.com", "password": "short"}, {"password"}),
    ({"email": "bad@", "password": PASSWORD}, {"email"}),
    ({"username": "x", "email": "ok@example.com", "password": PASSWORD}, {"username"}),
    ({"username": "someone"}, {"email", "password"}),
])
async def test_register_seed_004_bad_input_is_400_naming_fields(
    anonymous: httpx.AsyncClient, payload: dict[str, Any], bad_fields: set[str],
) -> None:
    response = await anonymous.post("/api/auth/register", json=payload)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"] == "error"
    assert body["error"]["code"] == 400
    assert {item["field"] for item in body["error"]["details"]} == bad_fields
    assert all(item["message"] for item in body["error"]["details"])


async def test_register_with_malformed_json_is_400(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.post(
        "/auth/register", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
    response = await anonymous.post("/api/auth/register", json=["a", "list"])
    assert response.status_code == 400
    assert response.json()["status"] == "error"


# -- login ---------------------------------------------------------------------------------


async def test_login_seed_002_returns_the_documented_grant(
    anonymous: httpx.AsyncClient,
) -> None:
    address = email()
    user = await register_003(anonymous, address, name="John Doe")
    grant = await login_002(anonymous, address.upper())
    assert {"access_token", "token_type", "expires_in", "user"} <= set(grant)
    assert grant["token_type"] == "bearer"
    assert grant["expires_in"] == 3600
    assert grant["user"] == {"id": user["id"], "email": address, "name": "John Doe"}
    claims = jwt.decode(grant["access_token"], SECRET, algorithms=["HS256"],
                        audience="leadgraph-api", issuer="leadgraph")
    assert claims["typ"] == "access"
    assert claims["sub"] == user["id"]
    assert claims["exp"] - claims["iat"] == 3600
    await assert_token_works(anonymous, grant["access_token"], address)


async def test_login_seed_003_has_the_same_shape(anonymous: httpx.AsyncClient) -> None:
    address = email()
    user = await register_003(anonymous, address, name="Jane")
    response = await anonymous.post(
        "/auth/login", json={"email": address, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    grant = response.json()
    assert grant["token_type"] == "bearer"
    assert grant["expires_in"] == 3600
    assert grant["user"] == {"id": user["id"], "email": address, "name": "Jane"}
    await assert_token_works(anonymous, grant["access_token"], address)


async def test_login_seed_004_by_username_and_by_email(anonymous: httpx.AsyncClient) -> None:
    address = email()
    registered = await anonymous.post("/api/auth/register", json={
        "username": "jdoe", "email": address, "password": PASSWORD, "name": "J Doe",
    })
    assert registered.status_code == 201
    user_id = registered.json()["data"]["id"]

    for credentials in ({"username": "jdoe"}, {"email": address}):
        data = await login_004(anonymous, **credentials, password=PASSWORD)
        assert {"accessToken", "refreshToken", "expiresIn"} <= set(data)
        assert data["expiresIn"] == 3600
        assert data["accessToken"] != data["refreshToken"]
        assert data["user"]["id"] == user_id
        await assert_token_works(anonymous, data["accessToken"], address)


async def test_each_login_is_its_own_session(anonymous: httpx.AsyncClient) -> None:
    address = email()
    await register_003(anonymous, address)
    first = await login_002(anonymous, address)
    second = await login_002(anonymous, address)
    first_sid = jwt.decode(first["access_token"], options={"verify_signature": False})["sid"]
    second_sid = jwt.decode(second["access_token"], options={"verify_signature": False})["sid"]
    assert first_sid != second_sid


async def test_wrong_password_and_unknown_user_are_401_in_each_dialect(
    anonymous: httpx.AsyncClient,
) -> None:
    address = email()
    await register_003(anonymous, address)
    for identifier in (address, "nobody@example.com"):
        seed_002 = await anonymous.post(
            "/api/v1/auth/login", json={"email": identifier, "password": "wrong password"}
        )
        assert seed_002.status_code == 401
        body = seed_002.json()
        assert body["error"] == "Unauthorized"
        assert body["status_code"] == 401
        assert body["details"] == {"message": "Invalid credentials"}

        seed_003 = await anonymous.post(
            "/auth/login", json={"email": identifier, "password": "wrong password"}
        )
        assert seed_003.status_code == 401
        assert seed_003.json() == {"error": {
            "code": "unauthorized", "message": "Invalid credentials", "details": {},
        }}

        seed_004 = await anonymous.post(
            "/api/auth/login", json={"email": identifier, "password": "wrong password"}
        )
        assert seed_004.status_code == 401
        assert seed_004.json() == {"status": "error", "error": {
            "code": 401, "message": "Invalid credentials", "details": [],
        }}
    # Same answer whether or not the account exists: no user enumeration.
    unknown = await anonymous.post(
        "/auth/login", json={"email": "nobody@example.com", "password": PASSWORD}
    )
    assert unknown.status_code == 401
    assert unknown.json()["error"]["message"] == "Invalid credentials"


async def test_login_without_fields_is_a_validation_error(anonymous: httpx.AsyncClient) -> None:
    seed_002 = await anonymous.post("/api/v1/auth/login", json={"email": "a@b.co"})
    assert seed_002.status_code == 422
    assert seed_002.json()["details"]["field"] == "password"
    seed_004 = await anonymous.post("/api/auth/login", json={})
    assert seed_004.status_code == 400
    assert {d["field"] for d in seed_004.json()["error"]["details"]} == {"username", "password"}


# -- roles ---------------------------------------------------------------------------------


async def test_first_user_is_admin_and_later_ones_are_agents(
    anonymous: httpx.AsyncClient,
) -> None:
    admin_email, agent_email = email(), email()
    admin_token = await user_token(anonymous, admin_email)
    agent_token = await user_token(anonymous, agent_email)

    admin = await gql(anonymous, ME, headers=bearer(admin_token))
    assert admin["data"]["me"]["role"] == "ADMIN"
    assert admin["data"]["me"]["email"] == admin_email
    agent = await gql(anonymous, ME, headers=bearer(agent_token))
    assert agent["data"]["me"]["role"] == "AGENT"
    assert agent["data"]["me"]["id"] != admin["data"]["me"]["id"]


async def test_agents_may_not_create_api_keys_or_users(
    server: LiveServer, anonymous: httpx.AsyncClient,
) -> None:
    admin_token = await user_token(anonymous)
    agent_token = await user_token(anonymous)

    key = await gql(anonymous, 'mutation { createApiKey(name: "x") { key } }',
                    headers=bearer(agent_token))
    assert key["data"] is None
    assert key["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert key["errors"][0]["path"] == ["createApiKey"]

    new_user = await gql(
        anonymous,
        'mutation { createUser(email: "x@example.com", password: "longpassword") { id } }',
        headers=bearer(agent_token),
    )
    assert new_user["data"] is None
    assert new_user["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    database = server.runtime.database.client[server.db_name]
    assert await database["api_keys"].count_documents({}) == 0
    assert await database["users"].count_documents({"email": "x@example.com"}) == 0

    # The admin user may do both.
    created = await gql(
        anonymous,
        'mutation { createUser(email: "x@example.com", password: "longpassword", name: "X")'
        " { email role } }",
        headers=bearer(admin_token),
    )
    assert created["data"]["createUser"] == {"email": "x@example.com", "role": "AGENT"}
    key = await gql(anonymous, 'mutation { createApiKey(name: "x") { key } }',
                    headers=bearer(admin_token))
    assert key["data"]["createApiKey"]["key"].startswith("lg_")


# -- refresh and logout --------------------------------------------------------------------


async def test_refresh_rotates_and_reuse_revokes_the_whole_session(
    anonymous: httpx.AsyncClient,
) -> None:
    address = email()
    await register_003(anonymous, address)
    first = await login_004(anonymous, email=address, password=PASSWORD)
    other_session = await login_004(anonymous, email=address, password=PASSWORD)

    rotated = await anonymous.post(
        "/api/auth/refresh", json={"refreshToken": first["refreshToken"]}
    )
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["status"] == "success"
    second = rotated.json()["data"]
    assert {"accessToken", "refreshToken", "expiresIn"} <= set(second)
    assert second["refreshToken"] != first["refreshToken"]
    assert second["accessToken"] != first["accessToken"]
    await assert_token_works(anonymous, second["accessToken"], address)

    # The old refresh token was used once already: replaying it is theft or a bug.
    replay = await anonymous.post(
        "/api/auth/refresh", json={"refreshToken": first["refreshToken"]}
    )
    assert replay.status_code == 401
    assert replay.json()["status"] == "error"
    assert replay.json()["error"]["code"] == 401

    # ... and it ends the whole session: the new pair is dead as well.
    after = await anonymous.post(
        "/api/auth/refresh", json={"refreshToken": second["refreshToken"]}
    )
    assert after.status_code == 401
    await assert_token_refused(anonymous, second["accessToken"])
    await assert_token_refused(anonymous, first["accessToken"])

    # Another login of the same user is a separate session and keeps working.
    await assert_token_works(anonymous, other_session["accessToken"], address)


async def test_refresh_refuses_access_tokens_and_garbage(anonymous: httpx.AsyncClient) -> None:
    address = email()
    await register_003(anonymous, address)
    grant = await login_004(anonymous, email=address, password=PASSWORD)
    for token in (grant["accessToken"], "not-a-token", "a.b.c"):
        response = await anonymous.post("/api/auth/refresh", json={"refreshToken": token})
        assert response.status_code == 401, response.text
        assert response.json()["status"] == "error"
    missing = await anonymous.post("/api/auth/refresh", json={})
    assert missing.status_code == 400
    assert missing.json()["error"]["details"][0]["field"] == "refreshToken"
    # None of that harmed the session.
    await assert_token_works(anonymous, grant["accessToken"], address)


async def test_logout_ends_the_session_everywhere(anonymous: httpx.AsyncClient) -> None:
    address = email()
    await register_003(anonymous, address)
    grant = await login_004(anonymous, username=address, password=PASSWORD)
    await assert_token_works(anonymous, grant["accessToken"], address)

    response = await anonymous.post("/api/auth/logout", headers=bearer(grant["accessToken"]))
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "success", "data": {"message": "Logged out"}}

    await assert_token_refused(anonymous, grant["accessToken"])
    seed_004 = await anonymous.post("/api/auth/logout", headers=bearer(grant["accessToken"]))
    assert seed_004.status_code == 401
    assert seed_004.json()["error"]["code"] == 401
    refresh = await anonymous.post(
        "/api/auth/refresh", json={"refreshToken": grant["refreshToken"]}
    )
    assert refresh.status_code == 401


async def test_graphql_logout_ends_the_session(anonymous: httpx.AsyncClient) -> None:
    address = email()
    token = await user_token(anonymous, address)
    result = await gql(anonymous, "mutation { logout }", headers=bearer(token))
    assert result["data"] == {"logout": True}
    await assert_token_refused(anonymous, token)


# -- forged and unsuitable tokens ----------------------------------------------------------

Claims = dict[str, Any]
OTHER_SECRET = "another-secret-that-is-long-enough-0123456789"


def _now() -> datetime:
    return datetime.now(UTC)


def _without(*names: str) -> Callable[[Claims], str]:
    def forge(claims: Claims) -> str:
        return jwt.encode({k: v for k, v in claims.items() if k not in names}, SECRET,
                          algorithm="HS256")
    return forge


def _with(**changes: Any) -> Callable[[Claims], str]:
    def forge(claims: Claims) -> str:
        return jwt.encode({**claims, **changes}, SECRET, algorithm="HS256")
    return forge


def _alg_none(claims: Claims) -> str:
    return jwt.encode(claims, "", algorithm="none")


def _other_secret(claims: Claims) -> str:
    return jwt.encode(claims, OTHER_SECRET, algorithm="HS256")


def _other_algorithm(claims: Claims) -> str:
    with warnings.catch_warnings():
        # pyjwt rightly finds the secret short for SHA-512; the server must refuse it anyway.
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(claims, SECRET, algorithm="HS512")


def _tampered_payload(claims: Claims) -> str:
    """A genuine signature over different claims (role escalated)."""
    genuine = jwt.encode(claims, SECRET, algorithm="HS256").split(".")
    forged = jwt.encode({**claims, "role": "admin", "sub": "000000000000000000000000"},
                        OTHER_SECRET, algorithm="HS256").split(".")
    return ".".join([genuine[0], forged[1], genuine[2]])


FORGERIES: dict[str, Callable[[Claims], str]] = {
    "alg none": _alg_none,
    "signed with another secret": _other_secret,
    "HS512 instead of the pinned HS256": _other_algorithm,
    "payload swapped under a genuine signature": _tampered_payload,
    "wrong audience": _with(aud="some-other-api"),
    "wrong issuer": _with(iss="evil"),
    "no exp": _without("exp"),
    "expired": _with(iat=_now() - timedelta(hours=2), exp=_now() - timedelta(minutes=5)),
    "refresh type": _with(typ="refresh"),
    "no typ": _without("typ"),
    "no sub": _without("sub"),
    "no sid": _without("sid"),
    "no jti": _without("jti"),
    "no iat": _without("iat"),
    "unknown session": _with(sid="000000000000000000000000"),
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=list(FORGERIES))
async def test_forged_or_unsuitable_token_is_refused(
    anonymous: httpx.AsyncClient, forge: Callable[[Claims], str],
) -> None:
    address = email()
    genuine = await user_token(anonymous, address)
    claims = jwt.decode(genuine, options={"verify_signature": False})
    # The same claims, re-signed correctly, do work: the forgery alone makes the difference.
    await assert_token_works(anonymous, _with(jti=uuid.uuid4().hex)(claims), address)
    await assert_token_refused(anonymous, forge(claims))


async def test_a_real_refresh_token_is_not_an_access_token(anonymous: httpx.AsyncClient) -> None:
    address = email()
    await register_003(anonymous, address)
    grant = await login_004(anonymous, email=address, password=PASSWORD)
    await assert_token_refused(anonymous, grant["refreshToken"])


@pytest.mark.parametrize("header", [
    "Bearer", "Bearer not.a.jwt", "Basic dXNlcjpwYXNz", f"Token {API_KEY}",
])
async def test_malformed_authorization_headers_are_401(
    anonymous: httpx.AsyncClient, header: str,
) -> None:
    response = await anonymous.get("/api/v1/leads", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["status_code"] == 401


# -- API keys ------------------------------------------------------------------------------

CREATE_KEY = (
    "mutation($name: String!) { createApiKey(name: $name) "
    "{ key apiKey { id name prefix tier createdAt } } }"
)


async def create_api_key(client: httpx.AsyncClient, name: str = "ci") -> dict[str, Any]:
    result = await gql(client, CREATE_KEY, {"name": name})
    assert "errors" not in result, result
    created: dict[str, Any] = result["data"]["createApiKey"]
    return created


async def test_api_key_works_in_every_documented_header(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient,
) -> None:
    created = await create_api_key(client, "ci runner")
    key = created["key"]
    assert key.startswith("lg_")
    assert len(key) > 40
    assert created["apiKey"]["name"] == "ci runner"
    assert created["apiKey"]["prefix"] == key[:10]
    assert created["apiKey"]["tier"] == "STANDARD"

    for headers in ({"X-API-Key": key}, {"X-API-KEY": key}, {"x-api-key": key}, bearer(key)):
        response = await anonymous.get("/api/v1/leads", headers=headers)
        assert response.status_code == 200, (headers, response.text)
        result = await gql(anonymous, "{ leads(first: 1) { totalCount } }", headers=headers)
        assert result["_status"] == 200
        assert result["data"]["leads"]["totalCount"] == 0
        me = await gql(anonymous, ME, headers=headers)
        assert me["data"] == {"me": None}  # a key is a service, not a user


async def test_unknown_api_key_is_401(anonymous: httpx.AsyncClient) -> None:
    for headers in ({"X-API-Key": "lg_not-a-real-key"}, bearer("lg_not-a-real-key")):
        response = await anonymous.get("/api/v1/leads", headers=headers)
        assert response.status_code == 401
        result = await gql(anonymous, "{ leads(first: 1) { totalCount } }", headers=headers)
        assert result["_status"] == 401
        assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_api_key_in_the_query_string_is_refused(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient,
) -> None:
    key = (await create_api_key(client))["key"]
    for secret in (key, API_KEY):
        for parameter in ("api_key", "apiKey", "x-api-key"):
            response = await anonymous.get("/api/v1/leads", params={parameter: secret})
            assert response.status_code == 401, (parameter, response.text)
            result = await anonymous.post(
                "/graphql", params={parameter: secret},
                json={"query": "{ leads(first: 1) { totalCount } }"},
            )
            assert result.status_code == 401
            assert result.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# -- what is stored ------------------------------------------------------------------------


async def test_passwords_are_stored_only_as_argon2id_hashes(
    server: LiveServer, anonymous: httpx.AsyncClient,
) -> None:
    address = email()
    await register_003(anonymous, address)
    await anonymous.post("/api/auth/register", json={
        "username": "second", "email": email(), "password": "another secret pw",
    })
    users = await server.runtime.database.client[server.db_name]["users"].find({}).to_list()
    assert len(users) == 2
    for document in users:
        password_hash = str(document["password_hash"])
        assert password_hash.startswith("$argon2id$")
        dump = repr(document)
        assert PASSWORD not in dump
        assert "another secret pw" not in dump
    # Two equal passwords would still hash differently (salted).
    await register_003(anonymous, email())
    hashes = [d["password_hash"] for d in
              await server.runtime.database.client[server.db_name]["users"].find({}).to_list()]
    assert len(set(hashes)) == 3


async def test_api_keys_are_stored_only_as_sha256_hashes(
    server: LiveServer, client: httpx.AsyncClient,
) -> None:
    key = (await create_api_key(client, "stored"))["key"]
    documents = await server.runtime.database.client[server.db_name]["api_keys"].find(
        {}
    ).to_list()
    assert len(documents) == 1
    document = documents[0]
    assert document["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert key not in repr(document)
    assert document["prefix"] == key[:10]
