"""Scale-out: several ``leadgraph serve`` replicas on one MongoDB and one Redis.

Each test runs real server processes (``tests/test_e2e.py``'s helpers) against a dedicated
nx-27017 (it ignores database names, so a shared one would mix collections with other
tests) and, where a test kills Redis, a dedicated ``redis-server`` on a free port: the shared
Redis on 6379 is never touched. Replicas share ``REDIS_CHANNEL_PREFIX``, unique per test.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from leadgraph.adapters.mongo.embedded import EmbeddedMongo, free_loopback_port
from tests.support import GraphQLSocket, gql
from tests.test_e2e import E2E_API_KEY, ServeProcess, api, leadgraph_serve

pytestmark = pytest.mark.e2e

SECRET = "scale-out-secret-key-0123456789abcdef-xyz"
LEAD_EVENTS = "subscription { leadEvents { seq type lead { id email } } }"
LEAD_EVENTS_AFTER = """subscription($after: Int) {
  leadEvents(afterSeq: $after) { seq type lead { id email } }
}"""
MESSAGES = """subscription($id: ID!, $after: Int) {
  messageAdded(conversationId: $id, afterSeq: $after) { seq role content }
}"""
CREATE_LEAD = "mutation($in: LeadInput!) { createLead(input: $in) { id email } }"
START = """mutation($session: String!) {
  startConversation(input: {channel: WEBSITE, sessionId: $session}) { id }
}"""
SEND = """mutation($id: ID!, $text: String!) {
  sendMessage(conversationId: $id, text: $text) { reply { seq } }
}"""
LEADS = "query { leads(first: 100) { totalCount edges { node { id email } } } }"
# Lead events a write causes directly (score changes follow asynchronously, from either side).
WRITE_EVENTS = {"CREATED", "UPDATED", "DELETED"}


# -- dedicated dependencies ---------------------------------------------------------------


class RedisServer:
    """A ``redis-server`` of this test's own on a fixed free port, to kill and restart."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_loopback_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / "redis.log").open("ab")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        try:
            for _ in range(200):
                try:
                    client.ping()
                    return
                except redis.RedisError:
                    if self.process.poll() is not None:
                        raise RuntimeError("redis-server exited") from None
                    time.sleep(0.05)
            raise RuntimeError("redis-server did not answer")
        finally:
            client.close()

    def kill(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)  # a crash, not a shutdown
            process.wait(timeout=10)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True)


@pytest.fixture
def nx(tmp_path: Path) -> Iterator[EmbeddedMongo]:
    with EmbeddedMongo(tmp_path / "nx") as server:
        yield server


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.kill()


def replica_env(mongo_url: str, prefix: str) -> dict[str, str]:
    return {"MONGODB_URL": mongo_url, "REDIS_CHANNEL_PREFIX": prefix, "SECRET_KEY": SECRET}


@contextlib.asynccontextmanager
async def replicas(
    tmp_path: Path, mongo_url: str, redis_url: str, prefix: str
) -> AsyncIterator[tuple[ServeProcess, ServeProcess]]:
    """Two ``leadgraph serve`` processes sharing MongoDB, Redis and the channel prefix."""
    env = replica_env(mongo_url, prefix)
    dirs = []
    for name in ("a", "b"):
        path = tmp_path / f"replica-{name}"
        path.mkdir()
        dirs.append(path)
    async with leadgraph_serve(dirs[0], redis_url, log_name="replica-a", env=env) as a, \
            leadgraph_serve(dirs[1], redis_url, log_name="replica-b", env=env) as b:
        yield a, b


# -- receiving ------------------------------------------------------------------------------


class Receiver:
    """One subscription on its own socket, read by a task into ``items``."""

    def __init__(self, socket: GraphQLSocket, field: str) -> None:
        self.socket = socket
        self.field = field
        self.items: list[dict[str, Any]] = []
        self.errors: list[Any] = []
        self.arrived = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    @classmethod
    async def open(cls, serve: ServeProcess, query: str, field: str,
                   variables: dict[str, Any] | None = None) -> Receiver:
        socket = await GraphQLSocket.open(serve.ws_url, {"apiKey": E2E_API_KEY})
        await socket.subscribe("1", query, variables)
        return cls(socket, field)

    async def _run(self) -> None:
        while True:
            message = await self.socket.receive(timeout=3600)
            if message.get("type") == "next":
                payload = message["payload"]
                if "errors" in payload:
                    self.errors.append(payload["errors"])
                else:
                    self.items.append(payload["data"][self.field])
            else:
                self.errors.append(message)
            self.arrived.set()

    async def wait_for(self, predicate: Any, what: str, seconds: float = 30.0) -> None:
        """Until ``predicate(items)`` holds (bounded, so a lost event fails the test)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not predicate(self.items):
            assert not self.errors, self.errors
            assert not self.task.done(), self.task
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"{what}: received {self.items}")
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), min(remaining, 1.0))
        assert not self.errors, self.errors

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task
        await self.socket.close()

    def lead_writes(self) -> list[tuple[str, str]]:
        return [(item["type"], item["lead"]["id"]) for item in self.items
                if item["type"] in WRITE_EVENTS]


async def create_lead(http: httpx.AsyncClient, label: str) -> str:
    email = f"{label}.{uuid.uuid4().hex[:8]}@example.com"
    result = await gql(http, CREATE_LEAD, {"in": {"email": email, "name": label}})
    assert "errors" not in result, result
    lead_id: str = result["data"]["createLead"]["id"]
    return lead_id


async def until_live(receivers: list[Receiver], http: httpx.AsyncClient) -> set[str]:
    """Subscribe has no ack: create probe leads until every receiver got one of them.

    Returns the probe ids, which the caller leaves out of what it compares.
    """
    probes: set[str] = set()
    for _ in range(100):
        probes.add(await create_lead(http, "probe"))
        await asyncio.sleep(0.1)
        if all(any(item["lead"]["id"] in probes for item in receiver.items)
               for receiver in receivers):
            return probes
    raise AssertionError("the subscriptions never went live")


def without(pairs: list[tuple[str, str]], ids: set[str]) -> list[tuple[str, str]]:
    return [pair for pair in pairs if pair[1] not in ids]


async def start_conversation(http: httpx.AsyncClient) -> str:
    result = await gql(http, START, {"session": f"visitor-{uuid.uuid4().hex[:8]}"})
    assert "errors" not in result, result
    conversation_id: str = result["data"]["startConversation"]["id"]
    return conversation_id


async def chat_turn(http: httpx.AsyncClient, conversation_id: str, index: int) -> None:
    """A visitor message and the assistant's reply: two messages, by GraphQL or REST."""
    text = f"Message {index}: we need a mobile app for bookings"
    if index % 2:
        response = await http.post(f"/api/conversations/{conversation_id}/messages",
                                   json={"text": text})
        assert response.status_code == 201, response.text
    else:
        result = await gql(http, SEND, {"id": conversation_id, "text": text})
        assert "errors" not in result, result


def seqs(receiver: Receiver) -> list[int]:
    return [item["seq"] for item in receiver.items]


def contiguous(numbers: list[int]) -> bool:
    """Each once, in order, none missing: what a gap-free ``seq`` stream delivers."""
    return bool(numbers) and numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def prefixed_clients(client: redis.Redis, prefix: str) -> list[dict[str, Any]]:
    return [entry for entry in client.client_list()
            if str(entry.get("name", "")).startswith(f"{prefix}:")]


def subscriber_connections(client: redis.Redis, prefix: str) -> list[dict[str, Any]]:
    return [entry for entry in prefixed_clients(client, prefix)
            if str(entry["name"]).startswith(f"{prefix}:sub:")]


# -- tests ----------------------------------------------------------------------------------


async def test_a_subscriber_on_one_replica_sees_every_write_on_the_other_once_in_order(
    tmp_path: Path, nx: EmbeddedMongo, redis_url: str
) -> None:
    prefix = f"lgscale-{uuid.uuid4().hex[:8]}"
    async with replicas(tmp_path, nx.url, redis_url, prefix) as (a, b), api(b) as http_b:
        conversation_id = await start_conversation(http_b)
        leads_on_a = await Receiver.open(a, LEAD_EVENTS, "leadEvents")
        messages_on_a = await Receiver.open(
            a, MESSAGES, "messageAdded", {"id": conversation_id, "after": 0}
        )
        try:
            probes = await until_live([leads_on_a], http_b)

            # N lead writes on B, by GraphQL and by two REST dialects.
            expected: list[tuple[str, str]] = []
            for index in range(12):
                if index % 3 == 0:
                    lead_id = await create_lead(http_b, f"graphql{index}")
                    expected.append(("CREATED", lead_id))
                elif index % 3 == 1:
                    response = await http_b.post("/api/v1/leads", json={
                        "first_name": "Rest", "last_name": f"Lead{index}",
                        "email": f"rest{index}.{uuid.uuid4().hex[:6]}@example.com",
                    })
                    assert response.status_code == 201, response.text
                    expected.append(("CREATED", response.json()["id"]))
                else:
                    lead_id = expected[-1][1]
                    response = await http_b.put(f"/api/v1/leads/{lead_id}",
                                                json={"company": f"Company {index}"})
                    assert response.status_code == 200, response.text
                    expected.append(("UPDATED", lead_id))
            # One more write closes the window: what came before it came exactly once.
            sentinel = await create_lead(http_b, "sentinel")
            await leads_on_a.wait_for(
                lambda items: any(item["lead"]["id"] == sentinel for item in items),
                "the sentinel lead event",
            )
            assert without(leads_on_a.lead_writes(), probes) == [
                *expected, ("CREATED", sentinel)
            ]

            # A conversation's messages, sent to B by GraphQL and REST, reach A in seq order.
            turns = 6
            for index in range(turns):
                await chat_turn(http_b, conversation_id, index)
            await messages_on_a.wait_for(lambda items: len(items) >= 2 * turns,
                                         "the conversation's messages")
            await chat_turn(http_b, conversation_id, turns)
            await messages_on_a.wait_for(lambda items: len(items) >= 2 * turns + 2,
                                         "the last turn")
            assert seqs(messages_on_a) == list(range(1, 2 * turns + 3))
            roles = [item["role"] for item in messages_on_a.items]
            assert roles == ["USER", "ASSISTANT"] * (turns + 1), roles

            # One Redis subscriber connection per replica, however many clients subscribe.
            shared = redis.Redis.from_url(redis_url, decode_responses=True)
            try:
                before = prefixed_clients(shared, prefix)
                subscribers = subscriber_connections(shared, prefix)
                assert len(subscribers) == 2, before
                assert all(entry["psub"] == "1" and entry["sub"] == "0"
                           for entry in subscribers), subscribers
                many = [await Receiver.open(a, LEAD_EVENTS, "leadEvents") for _ in range(20)]
                try:
                    await until_live(many, http_b)
                    after = prefixed_clients(shared, prefix)
                    assert len(subscriber_connections(shared, prefix)) == 2, after
                    assert len(after) == len(before), (before, after)
                finally:
                    for receiver in many:
                        await receiver.close()
            finally:
                shared.close()
        finally:
            await leads_on_a.close()
            await messages_on_a.close()


async def test_redis_restart_loses_no_message_and_keeps_the_service_answering(
    tmp_path: Path, nx: EmbeddedMongo, own_redis: RedisServer
) -> None:
    prefix = f"lgrestart-{uuid.uuid4().hex[:8]}"
    async with replicas(tmp_path, nx.url, own_redis.url, prefix) as (a, b), \
            api(a) as http_a, api(b) as http_b:
        conversation_id = await start_conversation(http_b)
        messages_on_a = await Receiver.open(
            a, MESSAGES, "messageAdded", {"id": conversation_id, "after": 0}
        )
        leads_on_a = await Receiver.open(a, LEAD_EVENTS, "leadEvents")
        leads_on_b = await Receiver.open(b, LEAD_EVENTS, "leadEvents")
        try:
            probes = await until_live([leads_on_a, leads_on_b], http_b)
            await chat_turn(http_b, conversation_id, 0)
            await messages_on_a.wait_for(lambda items: len(items) >= 2, "the first turn")
            # What a client that drops off now would pass back as afterSeq.
            seq_before_outage = max(seqs(leads_on_a))

            own_redis.kill()

            # Readiness stays green (Redis is optional), and says the broker is down.
            ready = await http_a.get("/api/health/readiness")
            assert ready.status_code == 200, ready.text
            assert ready.json()["data"]["checks"] == {"mongodb": "up", "broker": "down"}

            # Queries and mutations keep working on both replicas, chat turns included.
            outage_leads = [await create_lead(http_b, f"outage{index}") for index in range(3)]
            response = await http_b.post("/api/v1/leads", json={
                "first_name": "Outage", "last_name": "Rest",
                "email": f"outage.rest.{uuid.uuid4().hex[:6]}@example.com",
            })
            assert response.status_code == 201, response.text
            outage_leads.append(response.json()["id"])
            listed = await gql(http_a, LEADS)
            assert "errors" not in listed, listed
            listed_ids = {edge["node"]["id"] for edge in listed["data"]["leads"]["edges"]}
            assert set(outage_leads) <= listed_ids
            await chat_turn(http_b, conversation_id, 1)
            await chat_turn(http_b, conversation_id, 2)
            await chat_turn(http_a, conversation_id, 3)  # the subscriber's own replica

            # B's own subscriber got B's writes at once, without Redis.
            await leads_on_b.wait_for(
                lambda items: {item["lead"]["id"] for item in items} >= set(outage_leads),
                "local delivery while Redis is down",
            )
            # A's subscriber got its own replica's turn, and the gap before it from MongoDB.
            await messages_on_a.wait_for(lambda items: len(items) >= 8, "turns during outage")

            own_redis.start()  # same port, empty: nothing survives in Redis itself

            # The brokers reconnect by themselves; subscriptions resume.
            await chat_turn(http_b, conversation_id, 4)
            await messages_on_a.wait_for(lambda items: len(items) >= 10, "turns after restart")
            assert seqs(messages_on_a) == list(range(1, 11))

            after_restart = await create_lead(http_b, "after-restart")
            await leads_on_a.wait_for(
                lambda items: any(item["lead"]["id"] == after_restart for item in items),
                "a lead event across replicas after the restart",
            )
            closing = await create_lead(http_b, "closing")
            await leads_on_b.wait_for(
                lambda items: any(item["lead"]["id"] == closing for item in items),
                "the closing lead event",
            )
            await leads_on_a.wait_for(
                lambda items: any(item["lead"]["id"] == closing for item in items),
                "the closing lead event on A",
            )
            # Exactly once: queued events flushed to Redis are not delivered to B again.
            b_ids = [lead_id for kind, lead_id in without(leads_on_b.lead_writes(), probes)]
            assert b_ids == [*outage_leads, after_restart, closing], b_ids
            # A missed B's outage writes live (Redis was down): the lead-event journal gave
            # them to it after the resync, before the later ones, each once, in order.
            a_ids = [lead_id for kind, lead_id in without(leads_on_a.lead_writes(), probes)]
            assert a_ids == b_ids, a_ids
            # Every lead event (score changes too), not only the writes: no gap, no repeat.
            assert contiguous(seqs(leads_on_a)), seqs(leads_on_a)
            assert contiguous(seqs(leads_on_b)), seqs(leads_on_b)

            # A client that dropped off before the outage resumes with afterSeq: it gets what
            # it missed from the journal, then live events, on either replica.
            resumed = await Receiver.open(b, LEAD_EVENTS_AFTER, "leadEvents",
                                          {"after": seq_before_outage})
            try:
                late = await create_lead(http_a, "late")
                await resumed.wait_for(
                    lambda items: any(item["lead"]["id"] == late for item in items),
                    "the replay and a live event after it",
                )
                assert contiguous(seqs(resumed)), seqs(resumed)
                assert seqs(resumed)[0] == seq_before_outage + 1, seqs(resumed)
                resumed_ids = [lead_id for kind, lead_id
                               in without(resumed.lead_writes(), probes)]
                assert resumed_ids == [*b_ids, late], resumed_ids
            finally:
                await resumed.close()

            # Still one subscriber connection per replica after the reconnect, and ready.
            own = own_redis.client()
            try:
                assert len(subscriber_connections(own, prefix)) == 2, own.client_list()
            finally:
                own.close()
            ready = await http_a.get("/api/health/readiness")
            assert ready.json()["data"]["checks"] == {"mongodb": "up", "broker": "up"}
        finally:
            for receiver in (messages_on_a, leads_on_a, leads_on_b):
                await receiver.close()


async def test_mongodb_outage_fails_fast_with_503_and_recovers_without_restart(
    tmp_path: Path, redis_url: str
) -> None:
    mongo = EmbeddedMongo(tmp_path / "nx")
    mongo.start()
    data_dir = tmp_path / "replica"
    data_dir.mkdir()
    env = replica_env(mongo.url, f"lgmongo-{uuid.uuid4().hex[:8]}")
    try:
        async with leadgraph_serve(data_dir, redis_url, env=env) as serve, \
                api(serve) as http, httpx.AsyncClient(base_url=serve.base_url,
                                                      timeout=30) as anonymous:
            before = await create_lead(http, "before-outage")
            created = await gql(http, """mutation { createUser(email: "ops@example.com",
                password: "correct horse battery staple", name: "Ops") { id } }""")
            assert "errors" not in created, created
            login = await anonymous.post("/api/auth/login", json={
                "email": "ops@example.com", "password": "correct horse battery staple"})
            assert login.status_code == 200, login.text
            token = login.json()["data"]["accessToken"]

            mongo.stop()
            pid = serve.process.pid

            # Readiness and every dialect's health route turn red, in their own envelopes.
            ready = await anonymous.get("/api/health/readiness")
            assert ready.status_code == 503, ready.text
            assert ready.json()["status"] == "error"
            assert {"field": "mongodb", "message": "down"} in ready.json()["error"]["details"]
            health = await anonymous.get("/health")
            assert health.status_code == 503, health.text
            assert "mongodb" in health.json()["detail"]
            v1_health = await anonymous.get("/v1/health")
            assert v1_health.status_code == 503, v1_health.text
            assert v1_health.json()["error"]["code"]
            assert (await anonymous.get("/api/health/liveness")).status_code == 200

            # Requests fail with 503 in the caller's format, never a 500.
            seed002 = await http.get("/api/v1/leads")
            assert seed002.status_code == 503, seed002.text
            assert seed002.json()["status_code"] == 503
            seed004 = await http.get("/api/conversations")
            assert seed004.status_code == 503, seed004.text
            assert seed004.json()["error"]["code"] == 503
            seed000 = await http.get("/api/leads")
            assert seed000.status_code == 503, seed000.text
            assert seed000.json()["error"]["code"]
            query = await gql(http, LEADS)
            assert query["_status"] == 503, query
            assert query["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE", query
            assert "Timeout" not in query["errors"][0]["message"]  # no driver detail leaks
            mutation = await gql(http, CREATE_LEAD, {"in": {"email": "down@example.com"}})
            assert mutation["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            # A JWT needs its session checked in MongoDB: unavailable, not "unauthenticated".
            async with api(serve, Authorization=f"Bearer {token}") as with_jwt:
                with_token = await gql(with_jwt, LEADS)
            assert with_token["_status"] == 503, with_token
            assert with_token["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"

            # MongoDB comes back on the same port and data file; the same process recovers.
            mongo = EmbeddedMongo(tmp_path / "nx", port=mongo.port)
            mongo.start()
            for _ in range(300):
                ready = await anonymous.get("/api/health/readiness")
                if ready.status_code == 200:
                    break
                await asyncio.sleep(0.1)
            assert ready.status_code == 200, ready.text
            assert serve.process.pid == pid and serve.process.returncode is None
            listed = await gql(http, LEADS)
            assert "errors" not in listed, listed
            assert before in {edge["node"]["id"] for edge in listed["data"]["leads"]["edges"]}
            after = await create_lead(http, "after-outage")
            assert (await http.get(f"/api/v1/leads/{after}")).status_code == 200
            async with api(serve, Authorization=f"Bearer {token}") as with_jwt:
                with_token = await gql(with_jwt, "query { me { email } }")
            assert with_token["data"]["me"]["email"] == "ops@example.com", with_token
            assert (await anonymous.get("/health")).status_code == 200
    finally:
        mongo.stop()
