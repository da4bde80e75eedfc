"""HOT-lead email alerts through a real local SMTP server (aiosmtpd on loopback)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from leadgraph.adapters.mongo.embedded import free_loopback_port
from tests.support import gql
from tests.test_webhooks import create_lead, fast_server

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
