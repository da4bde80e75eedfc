"""HOT-lead email alerts through a real local SMTP server (aiosmtpd on loopback)."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from leadgraph.adapters.mongo.embedded import free_loopback_port
from tests.receivers import run_receiver, verify_delivery
from tests.support import gql
from tests.test_webhooks import SECRET, create_lead, fast_server, register

RECIPIENTS = ["sales@example.com", "owner@example.com"]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_loopback_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def wait_for_mail(inbox: Inbox, count: int) -> None:
    for _ in range(200):
        if len(inbox.messages) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} emails, got {len(inbox.messages)}")


async def test_one_email_per_lead_turning_hot(
    mongo_url: str, redis_url: str, tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    async with fast_server(mongo_url, redis_url, tmp_path, smtp_server="127.0.0.1",
                           smtp_port=port, notification_emails=",".join(RECIPIENTS)) as (
        _server, http
    ):
        hot_id = await create_lead(http, "hot@example.com", intent="HOT")
        await wait_for_mail(inbox, 1)
        recipients, message = inbox.messages[0]
        assert recipients == RECIPIENTS
        assert message["Subject"] == "HOT lead: Ada Lovelace"
        body = message.get_payload()
        assert isinstance(body, str)
        assert f"id: {hot_id}" in body
        assert "email: hot@example.com" in body

        warm_id = await create_lead(http, "warm@example.com", intent="WARM")
        mutation = """mutation($id: ID!, $input: LeadUpdateInput!) {
            updateLead(id: $id, input: $input) { id intent } }"""
        # Another change to the HOT lead is not a transition: no second email.
        changed = await gql(http, mutation, {"id": hot_id, "input": {"company": "Acme"}})
        assert changed["data"]["updateLead"]["id"] == hot_id
        # WARM -> HOT is one.
        turned = await gql(http, mutation, {"id": warm_id, "input": {"intent": "HOT"}})
        assert turned["data"]["updateLead"]["intent"] == "HOT"
        await wait_for_mail(inbox, 2)
        await asyncio.sleep(0.5)  # a (wrong) third email would arrive within this time
        assert len(inbox.messages) == 2
        assert f"id: {warm_id}" in str(inbox.messages[1][1].get_payload())


# -- STARTTLS, AUTH and failures ----------------------------------------------------------

SMTP_USER, SMTP_PASSWORD = "alerts@example.com", "smtp-password-123"


def self_signed(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it (files: ca, cert, key)."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "LeadGraph test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(
              digital_signature=True, key_cert_sign=True, crl_sign=True,
              content_commitment=False, key_encipherment=False, data_encipherment=False,
              key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return paths


class SecureInbox(Inbox):
    """Records whether each mail came over TLS and who had logged in."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions: list[tuple[bool, object]] = []
        self.logins: list[tuple[str, str]] = []
        self.refuse_next = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse_next:
            self.refuse_next -= 1
            return "451 4.3.0 Try again later"
        self.sessions.append((session.ssl is not None, session.auth_data))
        return await super().handle_DATA(server, session, envelope)

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                     auth_data: Any) -> AuthResult:
        user, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append((user, password))
        ok = (user, password) == (SMTP_USER, SMTP_PASSWORD)
        return AuthResult(success=ok, auth_data=user if ok else None)


@pytest.fixture
def tls_smtp(tmp_path: Path) -> Iterator[tuple[SecureInbox, int, Path]]:
    """STARTTLS required before anything else, AUTH required, certificate from our own CA."""
    ca, cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = SecureInbox()
    port = free_loopback_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True, auth_required=True,
                            authenticator=inbox.authenticate)
    controller.start()
    try:
        yield inbox, port, ca
    finally:
        controller.stop()


def smtp_settings(port: int, **extra: object) -> dict[str, object]:
    return {"smtp_server": "127.0.0.1", "smtp_port": port, "smtp_username": SMTP_USER,
            "smtp_password": SMTP_PASSWORD, "notification_emails": ",".join(RECIPIENTS),
            **extra}


async def email_rows(server: Any) -> list[dict[str, Any]]:
    collection = server.runtime.database.client[server.db_name]["webhook_deliveries"]
    return [doc async for doc in collection.find({"db": server.db_name, "kind": "email"})]


async def settled_email_rows(server: Any) -> list[dict[str, Any]]:
    for _ in range(200):
        rows = await email_rows(server)
        if rows and all(row["status"] != "pending" for row in rows):
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"email alerts still pending: {await email_rows(server)}")


async def test_alert_goes_over_starttls_with_login(
    mongo_url: str, redis_url: str, tmp_path: Path,
    tls_smtp: tuple[SecureInbox, int, Path],
) -> None:
    inbox, port, ca = tls_smtp
    async with fast_server(mongo_url, redis_url, tmp_path,
                           **smtp_settings(port, smtp_ca_file=str(ca))) as (_server, http):
        lead_id = await create_lead(http, "tls-hot@example.com", intent="HOT")
        await wait_for_mail(inbox, 1)
    recipients, message = inbox.messages[0]
    assert recipients == RECIPIENTS
    assert f"id: {lead_id}" in str(message.get_payload())
    # Encrypted before the login, and logged in with the configured account.
    assert inbox.sessions == [(True, SMTP_USER)]
    assert inbox.logins == [(SMTP_USER, SMTP_PASSWORD)]


async def test_untrusted_certificate_is_refused_retried_and_reported(
    mongo_url: str, redis_url: str, tmp_path: Path,
    tls_smtp: tuple[SecureInbox, int, Path],
) -> None:
    inbox, port, _ca = tls_smtp
    # Verification is on by default and the system CAs do not know our test CA.
    async with run_receiver() as receiver, fast_server(
        mongo_url, redis_url, tmp_path, webhook_max_attempts=2, **smtp_settings(port)
    ) as (server, http):
        await register(http, f"{receiver.base_url}/errors", ["error.occurred"])
        await create_lead(http, "untrusted-hot@example.com", intent="HOT")
        await receiver.wait_for(lambda: len(receiver.at("/errors")) == 1)
        [row] = await settled_email_rows(server)
        assert row["status"] == "failed"
        assert len(row["attempts"]) == 2
        assert all("CERTIFICATE_VERIFY_FAILED" in attempt["error"]
                   for attempt in row["attempts"]), row["attempts"]
        error = verify_delivery(receiver.at("/errors")[0], SECRET)["data"]["error"]
        assert error["code"] == "email.alert_failed"
        assert "CERTIFICATE_VERIFY_FAILED" in error["message"]
    assert inbox.messages == []
    assert inbox.logins == []  # the password never went to a server we could not verify

    # An operator who must accept that server says so explicitly.
    async with fast_server(mongo_url, redis_url, tmp_path / "unverified",
                           **smtp_settings(port, smtp_tls_verify=False)) as (_server, http):
        await create_lead(http, "unverified-hot@example.com", intent="HOT")
        await wait_for_mail(inbox, 1)
    assert inbox.sessions == [(True, SMTP_USER)]


async def test_a_failing_smtp_server_is_retried_not_lost(
    mongo_url: str, redis_url: str, tmp_path: Path,
    tls_smtp: tuple[SecureInbox, int, Path],
) -> None:
    inbox, port, ca = tls_smtp
    inbox.refuse_next = 2  # 451 twice, then accepted
    async with fast_server(mongo_url, redis_url, tmp_path,
                           **smtp_settings(port, smtp_ca_file=str(ca))) as (server, http):
        await create_lead(http, "retry-hot@example.com", intent="HOT")
        await wait_for_mail(inbox, 1)
        [row] = await settled_email_rows(server)
    assert row["status"] == "delivered"
    assert [bool(attempt["error"]) for attempt in row["attempts"]] == [True, True, False]
    assert "451" in row["attempts"][0]["error"]
    assert len(inbox.messages) == 1


@pytest.fixture
def plaintext_smtp() -> Iterator[tuple[SecureInbox, int]]:
    """A relay that offers AUTH but no STARTTLS: the password would cross the wire in clear."""
    inbox = SecureInbox()
    port = free_loopback_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, auth_required=True,
                            auth_require_tls=False, authenticator=inbox.authenticate)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


# aiosmtpd rightly warns, for every session, that this relay is unsafe: that is the point.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_login_is_not_sent_in_clear_unless_allowed(
    mongo_url: str, redis_url: str, tmp_path: Path, plaintext_smtp: tuple[SecureInbox, int],
) -> None:
    inbox, port = plaintext_smtp
    async with fast_server(mongo_url, redis_url, tmp_path, webhook_max_attempts=1,
                           **smtp_settings(port)) as (server, http):
        await create_lead(http, "clear-hot@example.com", intent="HOT")
        for _ in range(600):  # the first attempt waits for the lead's score to settle
            rows = await email_rows(server)
            if rows and rows[0]["status"] != "pending":
                break
            await asyncio.sleep(0.05)
        [row] = rows
        assert row["status"] == "failed"
        assert "offers no STARTTLS" in row["attempts"][0]["error"]
    assert inbox.logins == [] and inbox.messages == []

    async with fast_server(mongo_url, redis_url, tmp_path / "allowed",
                           **smtp_settings(port, smtp_allow_plaintext_login=True)
                           ) as (_server, http):
        await create_lead(http, "clear-allowed-hot@example.com", intent="HOT")
        await wait_for_mail(inbox, 1)
    assert inbox.sessions == [(False, SMTP_USER)]
    assert inbox.logins == [(SMTP_USER, SMTP_PASSWORD)]
