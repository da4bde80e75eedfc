"""Outbound I/O for integrations: HTTP POSTs (httpx) and email (stdlib smtplib in a thread)."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage

import httpx


@dataclass(frozen=True)
class PostResult:
    status_code: int | None
    latency_ms: float
    error: str | None
    body: str


class HttpxSender:
    """One shared ``httpx.AsyncClient``; ``aclose`` in the lifespan."""

    def __init__(self, timeout_seconds: float) -> None:
        self._client = httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=False)

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> PostResult:
        started = time.perf_counter()
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            return PostResult(None, _ms(started), f"timeout: {type(exc).__name__}", "")
        except httpx.HTTPError as exc:
            return PostResult(None, _ms(started), f"connection error: {exc!r}"[:300], "")
        return PostResult(response.status_code, _ms(started), None, response.text[:500])

    async def aclose(self) -> None:
        await self._client.aclose()


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


@dataclass(frozen=True)
class SmtpConfig:
    server: str
    port: int
    username: str | None
    password: str | None
    sender: str
    timeout_seconds: float = 15.0
    tls_verify: bool = True
    ca_file: str | None = None
    allow_plaintext_login: bool = False


class PlaintextLoginRefused(smtplib.SMTPException):
    """The server offers no STARTTLS and a login is configured: the password stays here."""


def tls_context(config: SmtpConfig) -> ssl.SSLContext:
    """Verifying by default (system CAs, or ``ca_file``); unverified only when asked."""
    if not config.tls_verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=config.ca_file)


class SmtpMailer:
    """Sends one plain-text email; STARTTLS when the server offers it, login when configured.

    A login is only sent over TLS unless ``allow_plaintext_login``: a relay that lost its
    STARTTLS (or a man in the middle stripping it) must not receive the password in clear.

    A certificate that does not verify fails the send (before any credentials are sent); the
    integrations worker then retries it and finally reports ``error.occurred``.
    """

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config
        self._tls = tls_context(config)  # built once: loading CAs reads files

    async def send(self, recipients: list[str], subject: str, text: str) -> None:
        await asyncio.to_thread(self._send, recipients, subject, text)

    def _send(self, recipients: list[str], subject: str, text: str) -> None:
        config = self._config
        message = EmailMessage()
        message["From"] = config.sender
        message["To"] = ", ".join(recipients)
        message["Subject"] = subject
        message.set_content(text)
        with smtplib.SMTP(config.server, config.port, timeout=config.timeout_seconds) as smtp:
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=self._tls)
                smtp.ehlo()
            if config.username:
                encrypted = smtp.sock is not None and isinstance(smtp.sock, ssl.SSLSocket)
                if not encrypted and not config.allow_plaintext_login:
                    raise PlaintextLoginRefused(
                        f"{config.server}:{config.port} offers no STARTTLS; refusing to send "
                        "the SMTP password in clear (SMTP_ALLOW_PLAINTEXT_LOGIN=true allows it)"
                    )
                smtp.login(config.username, config.password or "")
            smtp.send_message(message, from_addr=config.sender, to_addrs=recipients)
