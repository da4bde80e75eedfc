"""``leadEvents(afterSeq:)``: the lead-event journal replays what a client missed, then the
stream goes on live, in ``seq`` order, each event once (the Redis-restart half of the
guarantee is in tests/test_scale_out.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_settings, serve
from tests.support import API_KEY, GraphQLSocket, LiveServer, gql, wait_for_subscribers

LEAD_EVENTS = """subscription($after: Int) {
  leadEvents(afterSeq: $after) { seq type changedFields lead { id name } }
}"""
CREATE = "mutation($name: String!) { createLead(input: {name: $name}) { id } }"


class Events:
    """One leadEvents subscription on its own socket, collected in order."""

    def __init__(self, socket: GraphQLSocket) -> None:
        self.socket = socket
        self.items: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, server: LiveServer, after: int | None = None) -> Events:
        socket = await GraphQLSocket.open(f"{server.ws_url}/graphql", {"apiKey": API_KEY})
        await socket.subscribe("1", LEAD_EVENTS, {"after": after})
        return cls(socket)

    async def until_created(self, lead_id: str) -> list[dict[str, Any]]:
        """Read until the CREATED event of ``lead_id`` (bounded by the receive timeout)."""
        while not any(item["type"] == "CREATED" and item["lead"]["id"] == lead_id
                      for item in self.items):
            payload = await self.socket.next_data("1", timeout=30)
            assert "errors" not in payload, payload
            self.items.append(payload["data"]["leadEvents"])
        return self.items

    def created(self) -> list[str]:
        return [item["lead"]["id"] for item in self.items if item["type"] == "CREATED"]

    def seqs(self) -> list[int]:
        return [item["seq"] for item in self.items]


@pytest.fixture
async def opened() -> AsyncIterator[list[Events]]:
    streams: list[Events] = []
    try:
        yield streams
    finally:
        for stream in streams:
            await stream.socket.close()


async def create(client: httpx.AsyncClient, name: str) -> str:
    result = await gql(client, CREATE, {"name": name})
    assert "errors" not in result, result
    lead_id: str = result["data"]["createLead"]["id"]
    return lead_id


async def subscribers(server: LiveServer) -> int:
    return server.runtime.broker.subscriber_count("leads") - server.internal_subscribers("leads")


async def test_after_seq_replays_the_missed_events_then_goes_on_live_once_each(
    server: LiveServer, client: httpx.AsyncClient, opened: list[Events]
) -> None:
    base = await subscribers(server)
    watcher = await Events.open(server)  # everything from now on, to learn the seqs
    opened.append(watcher)
    await wait_for_subscribers(server, "leads", base + 1)
    first, second, third = [await create(client, name) for name in ("One", "Two", "Three")]
    await watcher.until_created(third)
    first_seq = next(item["seq"] for item in watcher.items
                     if item["type"] == "CREATED" and item["lead"]["id"] == first)

    replaying = await Events.open(server, after=first_seq)
    opened.append(replaying)
    await wait_for_subscribers(server, "leads", base + 2)
    fourth = await create(client, "Four")  # live, possibly while the replay is read
    await replaying.until_created(fourth)
    await watcher.until_created(fourth)

    # The 2nd and 3rd leads replayed, then the live one: in order, each once, no gap.
    assert replaying.created() == [second, third, fourth]
    assert replaying.seqs() == list(range(first_seq + 1, first_seq + 1 + len(replaying.items)))
    # The very events the live watcher saw (score changes included), with the same seqs.
    by_seq = {item["seq"]: item for item in watcher.items}
    assert all(by_seq[item["seq"]] == item for item in replaying.items), (
        watcher.items, replaying.items)
    assert watcher.seqs() == sorted(set(watcher.seqs()))

    # afterSeq: 0 replays the whole journal.
    everything = await Events.open(server, after=0)
    opened.append(everything)
    await everything.until_created(fourth)
    assert everything.created() == [first, second, third, fourth]
    assert everything.seqs() == list(range(1, len(everything.items) + 1))


async def test_an_after_seq_beyond_the_newest_event_still_gets_live_events(
    server: LiveServer, client: httpx.AsyncClient, opened: list[Events]
) -> None:
    """A client holding a seq of a wiped database is not silenced until the counter
    catches up: the stream starts from the newest event."""
    base = await subscribers(server)
    stream = await Events.open(server, after=1_000_000)
    opened.append(stream)
    await wait_for_subscribers(server, "leads", base + 1)
    lead_id = await create(client, "Fresh")
    await stream.until_created(lead_id)
    assert stream.created() == [lead_id]
    assert stream.seqs()[0] < 1_000_000


async def test_a_negative_after_seq_is_bad_user_input(
    server: LiveServer, opened: list[Events]
) -> None:
    stream = await Events.open(server, after=-1)
    opened.append(stream)
    message = await stream.socket.receive()
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT", message
    assert "Traceback" not in str(message)


async def test_a_seq_taken_but_never_stored_is_skipped_after_the_grace_period(
    mongo_url: str, redis_url: str, tmp_path: Path, server: LiveServer, opened: list[Events]
) -> None:
    """A replica that died between numbering an event and storing it leaves a hole: the
    events after it still arrive (held back for at most the grace period), in order."""
    settings = make_settings(mongo_url, redis_url, tmp_path,
                             lead_events_hole_grace_seconds=0.3)
    async with serve(settings) as own, httpx.AsyncClient(
        base_url=own.base_url, headers={"X-API-Key": API_KEY}, timeout=30
    ) as client:
        base = await subscribers(own)
        stream = await Events.open(own)
        opened.append(stream)
        await wait_for_subscribers(own, "leads", base + 1)
        before = await create(client, "Before")
        await stream.until_created(before)
        # The dead replica's half-done publish: a seq taken from the counter, nothing stored.
        database = own.runtime.database.client[settings.mongodb_db_name]
        counter = await database["event_counters"].find_one_and_update(
            {"_id": f"lead_events:{settings.mongodb_db_name}"}, {"$inc": {"seq": 1}},
            return_document=True)
        assert counter is not None
        lost = int(counter["seq"])
        after = await create(client, "After")
        await stream.until_created(after)
        assert stream.created() == [before, after]
        assert lost not in stream.seqs()
        assert stream.seqs() == sorted(stream.seqs())
        assert max(stream.seqs()) > lost
        await asyncio.sleep(0)  # let the socket's close run inside this server's lifetime
        await stream.socket.close()
