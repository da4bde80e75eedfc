"""TOTP MFA (seed 004): setup, verify with a real pyotp code, then login needs the code."""

from __future__ import annotations

import httpx
import pyotp

from tests.support import LiveServer, gql

PASSWORD = "correct horse battery staple"


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
    wrong = str((int(totp.now()) + 500_000) % 1_000_000).zfill(6)
    rejected = await anonymous.post("/api/auth/mfa/verify", json={"code": wrong},
                                    headers=bearer)
    assert rejected.status_code == 400
    assert rejected.json()["error"]["details"][0]["field"] == "code"
    missing = await anonymous.post("/api/auth/mfa/verify", json={}, headers=bearer)
    assert missing.status_code == 400

    verified = await anonymous.post("/api/auth/mfa/verify", json={"code": totp.now()},
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
        "username": "mfa-user", "password": "nope", "code": totp.now()})
    assert wrong_password.status_code == 401
    assert wrong_password.json()["error"]["details"] == []

    ok = await _login(anonymous, code=totp.now())
    assert ok.status_code == 200, ok.text
    assert ok.json()["data"]["user"]["username"] == "mfa-user"

    # Every transport's login is guarded, not only seed 004's.
    graphql = await gql(anonymous, """mutation { login(identifier: "mfa-user",
        password: "correct horse battery staple") { accessToken } }""")
    assert graphql["errors"][0]["extensions"]["code"] == "MFA_REQUIRED"
    graphql_ok = await gql(anonymous, """mutation($code: String) { login(
        identifier: "mfa-user", password: "correct horse battery staple", code: $code) {
        user { email } } }""", {"code": totp.now()})
    assert graphql_ok["data"]["login"]["user"]["email"] == "mfa@example.com"
