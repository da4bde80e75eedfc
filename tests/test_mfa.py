"""TOTP MFA (seed 004): setup, verify with a real pyotp code, then login needs the code.

A code is accepted once (RFC 6238 §5.2), so every successful login here needs a code from a
later time-step than the last one. To get a dozen such codes without waiting 30 s for each,
these tests run a server that accepts ``WINDOW`` steps either side of now (the service default
is 1) and take codes from successive steps (``Codes``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pyotp
import pytest

from tests.conftest import make_settings, serve
from tests.support import API_KEY, LiveServer, gql

PASSWORD = "correct horse battery staple"
WINDOW = 10


@pytest.fixture(scope="module")
async def wide(
    mongo_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveServer]:
    settings = make_settings(mongo_url, redis_url, tmp_path_factory.mktemp("mfa"),
                             mfa_totp_valid_window=WINDOW)
    async with serve(settings) as server:
        yield server


@pytest.fixture
async def server(wide: LiveServer) -> LiveServer:
    """This module's server, with an empty database for this test."""
    await wide.settle()
    await wide.clear_database()
    return wide


@pytest.fixture
async def client(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url, headers={"X-API-Key": API_KEY},
                                 timeout=30) as http:
        yield http


@pytest.fixture
async def anonymous(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        yield http


class Codes:
    """Codes of successive time-steps, each later than the last one handed out. The first is
    ``WINDOW - 1`` steps back, one step clear of the window's edge, so the clock moving on
    during a test never pushes a code out."""

    def __init__(self, totp: pyotp.TOTP) -> None:
        self.totp = totp
        self.step = self.current() - WINDOW  # the one before the first

    def current(self) -> int:
        return self.totp.timecode(datetime.now(UTC))

    def next(self) -> str:
        self.step = max(self.step + 1, self.current() - WINDOW + 1)
        assert self.step <= self.current() + WINDOW, "the test used up the window"
        return self.totp.generate_otp(self.step)


async def _login(anonymous: httpx.AsyncClient, **extra: str) -> httpx.Response:
    return await anonymous.post("/api/auth/login", json={
        "username": "mfa-user", "password": PASSWORD, **extra})


async def test_mfa_setup_verify_and_login(
    server: LiveServer, client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    registered = await anonymous.post("/api/auth/register", json={
        "username": "mfa-user", "email": "mfa@example.com", "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    login = await _login(anonymous)
    assert login.status_code == 200
    bearer = {"Authorization": f"Bearer {login.json()['data']['accessToken']}"}

    assert (await anonymous.post("/api/auth/mfa/setup")).status_code == 401
    by_key = await client.post("/api/auth/mfa/setup")
    assert by_key.status_code == 400 and by_key.json()["status"] == "error"

    setup = await anonymous.post("/api/auth/mfa/setup", headers=bearer)
    assert setup.status_code == 200, setup.text
    secret = setup.json()["data"]["secret"]
    assert setup.json()["data"]["otpauthUri"] == pyotp.TOTP(secret).provisioning_uri(
        name="mfa@example.com", issuer_name="LeadGraph")
    # Not enabled until verified.
    assert (await _login(anonymous)).status_code == 200

    totp = pyotp.TOTP(secret)
    codes = Codes(totp)
    wrong = str((int(totp.now()) + 500_000) % 1_000_000).zfill(6)
    rejected = await anonymous.post("/api/auth/mfa/verify", json={"code": wrong},
                                    headers=bearer)
    assert rejected.status_code == 400
    assert rejected.json()["error"]["details"][0]["field"] == "code"
    missing = await anonymous.post("/api/auth/mfa/verify", json={}, headers=bearer)
    assert missing.status_code == 400

    verified = await anonymous.post("/api/auth/mfa/verify", json={"code": codes.next()},
                                    headers=bearer)
    assert verified.status_code == 200, verified.text
    assert verified.json()["data"] == {"enabled": True}

    needs_code = await _login(anonymous)
    assert needs_code.status_code == 401
    assert needs_code.json()["status"] == "error"
    assert needs_code.json()["error"]["code"] == 401
    assert needs_code.json()["error"]["details"] == [{"field": "code", "message": "mfa_required"}]
    assert needs_code.json()["error"]["message"].startswith("mfa_required")
    bad_code = await _login(anonymous, code=wrong)
    assert bad_code.status_code == 401
    assert bad_code.json()["error"]["details"][0]["message"] == "mfa_required"
    wrong_password = await anonymous.post("/api/auth/login", json={
        "username": "mfa-user", "password": "nope", "code": codes.next()})
    assert wrong_password.status_code == 401
    assert wrong_password.json()["error"]["details"] == []

    ok = await _login(anonymous, code=codes.next())
    assert ok.status_code == 200, ok.text
    assert ok.json()["data"]["user"]["username"] == "mfa-user"

    # Every transport's login is guarded, not only seed 004's.
    graphql = await gql(anonymous, """mutation { login(identifier: "mfa-user",
        password: "correct horse battery staple") { accessToken } }""")
    assert graphql["errors"][0]["extensions"]["code"] == "MFA_REQUIRED"
    graphql_ok = await gql(anonymous, """mutation($code: String) { login(
        identifier: "mfa-user", password: "correct horse battery staple", code: $code) {
        user { email } } }""", {"code": codes.next()})
    assert graphql_ok["data"]["login"]["user"]["email"] == "mfa@example.com"


async def _enable_mfa(anonymous: httpx.AsyncClient) -> Codes:
    registered = await anonymous.post("/api/auth/register", json={
        "username": "mfa-user", "email": "mfa@example.com", "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    bearer = {"Authorization": f"Bearer {(await _login(anonymous)).json()['data']['accessToken']}"}
    secret = (await anonymous.post("/api/auth/mfa/setup", headers=bearer)).json()["data"]["secret"]
    codes = Codes(pyotp.TOTP(secret))
    verified = await anonymous.post("/api/auth/mfa/verify", json={"code": codes.next()},
                                    headers=bearer)
    assert verified.status_code == 200, verified.text
    return codes


def _wrong(codes: Codes) -> str:
    return str((int(codes.totp.now()) + 500_000) % 1_000_000).zfill(6)


async def test_every_login_path_requires_the_code(
    server: LiveServer, anonymous: httpx.AsyncClient
) -> None:
    codes = await _enable_mfa(anonymous)
    email_body = {"email": "mfa@example.com", "password": PASSWORD}
    username_body = {"username": "mfa-user", "password": PASSWORD}

    # Seed 004 (and its /api/v0, /api/v1 aliases): {"code"}, its own envelope.
    for path in ("/api/auth/login", "/api/v0/auth/login", "/api/v1/auth/login"):
        for extra in ({}, {"code": _wrong(codes)}):
            refused = await anonymous.post(path, json={**username_body, **extra})
            assert refused.status_code == 401, (path, refused.text)
            assert refused.json()["status"] == "error"
            assert refused.json()["error"]["details"] == [
                {"field": "code", "message": "mfa_required"}]
        ok = await anonymous.post(path, json={**username_body, "code": codes.next()})
        assert ok.status_code == 200, (path, ok.text)
        assert ok.json()["data"]["accessToken"]

    # Seed 002 (/api/v1/auth/login with an email): its envelope; mfa_code, otp or code.
    for extra in ({}, {"mfa_code": _wrong(codes)}):
        refused = await anonymous.post("/api/v1/auth/login", json={**email_body, **extra})
        assert refused.status_code == 401, refused.text
        body = refused.json()
        assert body["error"] == "Unauthorized" and body["status_code"] == 401
        assert body["details"] == {"field": "code", "message": "mfa_required"}
    for name in ("mfa_code", "otp", "code"):
        ok = await anonymous.post("/api/v1/auth/login", json={**email_body, name: codes.next()})
        assert ok.status_code == 200, ok.text
        assert ok.json()["token_type"] == "bearer"

    # Seed 003 (/auth/login and /v1/auth/login): {"error": {"code": "mfa_required", …}}.
    for path in ("/auth/login", "/v1/auth/login"):
        for extra in ({}, {"otp": _wrong(codes)}):
            refused = await anonymous.post(path, json={**email_body, **extra})
            assert refused.status_code == 401, (path, refused.text)
            error = refused.json()["error"]
            assert error["code"] == "mfa_required"
            assert error["details"] == {"code": "mfa_required"}
        ok = await anonymous.post(path, json={**email_body, "otp": codes.next()})
        assert ok.status_code == 200, (path, ok.text)
        assert ok.json()["user"]["email"] == "mfa@example.com"

    # GraphQL: the optional `code` argument; MFA_REQUIRED without it or with a wrong one.
    mutation = """mutation($code: String) { login(identifier: "mfa@example.com",
        password: "correct horse battery staple", code: $code) { user { email } } }"""
    for code in (None, _wrong(codes)):
        refused_gql = await gql(anonymous, mutation, {"code": code})
        assert refused_gql["data"] is None
        assert refused_gql["errors"][0]["extensions"]["code"] == "MFA_REQUIRED"
    ok_gql = await gql(anonymous, mutation, {"code": codes.next()})
    assert ok_gql["data"]["login"]["user"]["email"] == "mfa@example.com"

    # The password is checked first: a current code never excuses a wrong password.
    wrong_password = await anonymous.post("/auth/login", json={
        "email": "mfa@example.com", "password": "wrong password", "otp": codes.next()})
    assert wrong_password.status_code == 401
    assert wrong_password.json()["error"]["code"] == "unauthorized"
    # A code that is not a string is bad input, not a login attempt.
    numeric = await anonymous.post("/auth/login", json={**email_body, "otp": 123456})
    assert numeric.status_code == 400
    assert numeric.json()["error"]["details"] == {"otp": "must be a string of digits"}


async def test_a_code_is_accepted_once(
    server: LiveServer, anonymous: httpx.AsyncClient
) -> None:
    """RFC 6238 §5.2: the same code twice, on any login path, works the first time only; a
    code of an earlier step than the last accepted one is refused too; a later one works."""
    codes = await _enable_mfa(anonymous)
    body = {"username": "mfa-user", "password": PASSWORD}

    # The code that enabled MFA is used up already.
    verify_code = codes.totp.generate_otp(codes.step)
    reused = await anonymous.post("/api/auth/login", json={**body, "code": verify_code})
    assert reused.status_code == 401
    assert reused.json()["error"]["message"] == "mfa_required: code already used"

    skipped = codes.next()  # never sent
    code = codes.next()
    first = await anonymous.post("/api/auth/login", json={**body, "code": code})
    assert first.status_code == 200, first.text
    again = await anonymous.post("/api/auth/login", json={**body, "code": code})
    assert again.status_code == 401
    assert again.json()["error"]["details"] == [{"field": "code", "message": "mfa_required"}]
    assert again.json()["error"]["message"] == "mfa_required: code already used"
    # Another transport does not reopen it: the step is recorded per user.
    graphql = await gql(anonymous, """mutation($code: String) { login(identifier: "mfa-user",
        password: "correct horse battery staple", code: $code) { accessToken } }""",
                        {"code": code})
    assert graphql["errors"][0]["extensions"]["code"] == "MFA_REQUIRED"
    assert graphql["errors"][0]["message"] == "mfa_required: code already used"
    # An unused code from before the accepted one is no better.
    older = await anonymous.post("/auth/login", json={
        "email": "mfa@example.com", "password": PASSWORD, "otp": skipped})
    assert older.status_code == 401
    assert older.json()["error"]["code"] == "mfa_required"

    later = await anonymous.post("/api/auth/login", json={**body, "code": codes.next()})
    assert later.status_code == 200, later.text
