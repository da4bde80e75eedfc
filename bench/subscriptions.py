"""GraphQL subscriptions: fan-out latency, memory per idle subscription, connection churn.

Run from the repository root: ``python -m bench.subscriptions [--quick]``. It starts an
embedded nx-27017 in a temporary directory and serves, each from its own uvicorn process:

    app        the LeadGraph app, one worker, in-process broker (REDIS_URL unset)
    app A, B   two LeadGraph replicas on one Redis (127.0.0.1:6379, a channel prefix of
               this run's own) and the same database
    bare       a Starlette app with a plain WebSocket route and ``POST /publish`` that sends
               the posted text to every open socket: the floor for "one message to N sockets"

Three measurements:

1. **Fan-out.** N graphql-transport-ws clients (``websockets``, all in this process, no
   compression) subscribe to ``leadEvents``; one ``createLead`` is posted; each client records
   ``time.time_ns()`` when the event reaches it, minus the ``time.time_ns()`` taken just before
   the mutation was sent (carried in the lead's ``notes``), and minus the event's ``at``
   (stamped by the server just before it publishes). Rounds are pooled; p50/p99 over every
   (client, round). Single worker: subscribers and mutation on ``app``. Redis: subscribers
   on A, the mutation on B. Baseline: the same number of clients on ``bare``, one
   ``POST /publish`` per round (stamped by the bare server as it starts sending). Each
   scenario has its own clients, all connected at once, and their rounds alternate.
2. **Idle memory.** RSS of the server process (``/proc/<pid>/status``) before and after N idle
   subscriptions (each confirmed live by one event), per connection, against N idle sockets on
   ``bare``.
3. **Churn.** C cycles of connect / init / subscribe / (complete or abrupt close), C/2 of each,
   16 at a time, on a fresh ``app``; the event loop's task count (the
   ``leadgraph_asyncio_tasks`` gauge at ``/api/health/metrics``) and RSS after a warm-up
   against the same after all cycles.

The same module is also the server process: ``python -m bench.subscriptions --serve ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from bench._common import REPO_ROOT, Figure, Section, app_settings, machine_lines, percentile

API_KEY = "bench-bootstrap-key-0123456789abcdef"
DB_NAME = "leadgraph_subscriptions_bench"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")
GRAPHQL_WS = "graphql-transport-ws"
SUBSCRIPTION = "subscription Fanout { leadEvents { type at lead { notes } } }"
CREATE_LEAD = "mutation($input: LeadInput!) { createLead(input: $input) { id } }"
CONNECT_CONCURRENCY = 32
READY_SECONDS = 60.0
ROUND_TIMEOUT = 30.0


# -- the servers ------------------------------------------------------------------------------


def bare_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    sockets: set[WebSocket] = set()

    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        sockets.add(websocket)
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            sockets.discard(websocket)

    async def publish(request: Request) -> JSONResponse:
        text = json.dumps({**json.loads(await request.body()), "published": time.time_ns()})
        for websocket in list(sockets):
            with contextlib.suppress(Exception):
                await websocket.send_text(text)
        return JSONResponse({"sent": len(sockets)})

    async def ok(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/", ok), Route("/publish", publish, methods=["POST"]),
                             WebSocketRoute("/ws", ws)])


def serve(mode: str, port: int, mongodb_url: str, data_dir: Path, redis_url: str | None,
          prefix: str) -> None:
    import uvicorn

    if mode == "bare":
        app = bare_app()
    else:
        from leadgraph.app import create_app

        extra: dict[str, Any] = {"redis_url": redis_url} if redis_url else {}
        if redis_url:
            extra["redis_channel_prefix"] = prefix
        # One database per deployment: the two Redis replicas share one; a server without
        # Redis is a deployment of its own. (A server without Redis sharing a database with
        # the replicas would see their lead events' seq numbers as holes it must wait out.)
        db_name = f"{DB_NAME}_replicas" if redis_url else f"{DB_NAME}_{port}"
        app = create_app(app_settings(mongodb_url, data_dir, db_name, API_KEY,
                                      secrets.token_urlsafe(48), **extra))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                lifespan="on", ws_max_queue=1024)


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    base_url: str

    @property
    def ws_url(self) -> str:
        path = "/ws" if self.name.startswith("bare") else "/graphql"
        return self.base_url.replace("http://", "ws://") + path

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        if match is None:
            raise SystemExit(f"no VmRSS for {self.name}")
        return int(match.group(1))


@contextlib.contextmanager
def server_process(mode: str, name: str, mongodb_url: str, data_dir: Path,
                   redis_url: str | None = None, prefix: str = "") -> Iterator[Server]:
    from leadgraph.adapters.mongo.embedded import free_loopback_port

    port = free_loopback_port()
    command = [sys.executable, "-m", "bench.subscriptions", "--serve", mode, "--port", str(port),
               "--mongodb-url", mongodb_url, "--data-dir", str(data_dir), "--prefix", prefix]
    if redis_url:
        command += ["--redis-url", redis_url]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdin=subprocess.DEVNULL)
    server = Server(name, process, f"http://127.0.0.1:{port}")
    try:
        wait_ready(server, "/" if mode == "bare" else "/health")
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_ready(server: Server, path: str) -> None:
    deadline = time.monotonic() + READY_SECONDS
    with httpx.Client(base_url=server.base_url, timeout=2) as http:
        while True:
            if server.process.poll() is not None:
                raise SystemExit(f"{server.name} server exited with {server.process.returncode}")
            try:
                if http.get(path).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{server.name} server not ready after {READY_SECONDS} s")
            time.sleep(0.1)


# -- the clients ------------------------------------------------------------------------------


@dataclass
class Subscriber:
    """One socket; records the latency of every stamped message it receives."""

    connection: ClientConnection
    graphql: bool
    # round -> (ms since the server published, ms since the publishing call was sent)
    latencies: dict[int, tuple[float, float]] = field(default_factory=dict)
    reader: asyncio.Task[None] | None = None

    async def read(self, arrived: Callable[[], None]) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.connection:
                now = time.time_ns()
                stamp = _stamp(raw, self.graphql)
                if stamp is None:
                    continue
                round_number, published, sent = stamp
                if round_number not in self.latencies:
                    self.latencies[round_number] = ((now - published) / 1e6, (now - sent) / 1e6)
                    arrived()


def _stamp(raw: str | bytes, graphql: bool) -> tuple[int, int, int] | None:
    """(round, ns when the server published, ns when the client sent the publishing call)."""
    message = json.loads(raw)
    if graphql:
        if message.get("type") != "next":
            return None
        event = message["payload"]["data"]["leadEvents"]
        notes = event["lead"]["notes"] or ""
        if event["type"] != "CREATED" or not notes.startswith("bench "):
            return None
        _, round_number, sent = notes.split()
        # ``at``: when the domain event was made, just before the broker published it.
        published = round(datetime.fromisoformat(event["at"]).timestamp() * 1e9)
        return int(round_number), published, int(sent)
    return int(message["round"]), int(message["published"]), int(message["sent"])


async def open_subscriber(server: Server) -> Subscriber:
    graphql = not server.name.startswith("bare")
    connection = await websockets.connect(
        server.ws_url, subprotocols=[GRAPHQL_WS] if graphql else None,  # type: ignore[list-item]
        compression=None, max_queue=None, open_timeout=60, ping_interval=None,
    )
    if graphql:
        await connection.send(json.dumps({"type": "connection_init",
                                           "payload": {"apiKey": API_KEY}}))
        ack = json.loads(await asyncio.wait_for(connection.recv(), 60))
        if ack.get("type") != "connection_ack":
            raise SystemExit(f"{server.name}: no connection_ack: {ack}")
        await connection.send(json.dumps({"id": "1", "type": "subscribe",
                                           "payload": {"query": SUBSCRIPTION}}))
    return Subscriber(connection, graphql)


async def open_many(server: Server, count: int) -> list[Subscriber]:
    semaphore = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one() -> Subscriber:
        async with semaphore:
            return await open_subscriber(server)

    return list(await asyncio.gather(*(one() for _ in range(count))))


class Fleet:
    """Subscribers that are read continuously; ``round`` publishes and waits for all."""

    def __init__(self, subscribers: list[Subscriber]) -> None:
        self.subscribers = subscribers
        self._arrived = 0
        self._all = asyncio.Event()
        for subscriber in subscribers:
            subscriber.reader = asyncio.create_task(subscriber.read(self._one_arrived))

    def _one_arrived(self) -> None:
        self._arrived += 1
        if self._arrived >= len(self.subscribers):
            self._all.set()

    async def round(self, number: int, publish: Callable[[int, int], Awaitable[None]]) -> float:
        """Publish once; wait until every subscriber has it. Returns the publish call's ms."""
        self._arrived = 0
        self._all.clear()
        sent = time.time_ns()
        await publish(number, sent)
        called = (time.time_ns() - sent) / 1e6
        try:
            await asyncio.wait_for(self._all.wait(), ROUND_TIMEOUT)
        except TimeoutError:
            raise SystemExit(f"round {number}: {self._arrived}/{len(self.subscribers)} "
                             f"subscribers got the message within {ROUND_TIMEOUT} s") from None
        return called

    def latencies(self, rounds: range, since_call: bool = False) -> list[float]:
        return [subscriber.latencies[number][since_call] for subscriber in self.subscribers
                for number in rounds]

    async def close(self) -> None:
        await asyncio.gather(*(s.connection.close() for s in self.subscribers),
                             return_exceptions=True)
        for subscriber in self.subscribers:
            if subscriber.reader is not None:
                subscriber.reader.cancel()
        await asyncio.gather(*(s.reader for s in self.subscribers if s.reader),
                             return_exceptions=True)


def graphql_publisher(http: httpx.AsyncClient, server: Server) -> Callable[[int, int],
                                                                           Awaitable[None]]:
    async def publish(number: int, sent: int) -> None:
        response = await http.post(f"{server.base_url}/graphql", json={
            "query": CREATE_LEAD, "variables": {"input": {
                "name": f"Fanout Lead {number}", "email": f"fanout-{sent}@bench.example",
                "notes": f"bench {number} {sent}"}}})
        body = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise SystemExit(f"publishing on {server.name} failed: {response.text}")
    return publish


def bare_publisher(http: httpx.AsyncClient, server: Server) -> Callable[[int, int],
                                                                        Awaitable[None]]:
    async def publish(number: int, sent: int) -> None:
        response = await http.post(f"{server.base_url}/publish",
                                   content=json.dumps({"round": number, "sent": sent}))
        response.raise_for_status()
    return publish


@dataclass(frozen=True)
class FanoutResult:
    label: str
    subscribers: int
    rounds: int
    p50_ms: float  # from the server's publish
    p99_ms: float
    max_ms: float
    call_p50_ms: float  # from just before the client sent the publishing call
    call_p99_ms: float
    publish_ms: float  # median time of the publishing call itself (mutation or POST)


async def fanout(scenarios: list[tuple[str, Server, Server]], subscribers: int,
                 rounds: int) -> list[FanoutResult]:
    """Each scenario (label, server subscribed to, server published on) gets its own
    ``subscribers`` clients; their rounds alternate (A1 B1 C1 A2 B2 ...), so a burst of
    outside load on a shared machine falls on all of them alike, not on one."""
    async with httpx.AsyncClient(timeout=60, headers={"X-API-Key": API_KEY}) as http:
        fleets: list[Fleet] = []
        try:
            for _, subscribe_on, _ in scenarios:
                fleets.append(Fleet(await open_many(subscribe_on, subscribers)))
            publishers = [(bare_publisher if subscribe_on.name.startswith("bare")
                           else graphql_publisher)(http, publish_on)
                          for _, subscribe_on, publish_on in scenarios]
            calls: list[list[float]] = [[] for _ in scenarios]
            for number in range(rounds + 1):  # round 0: warm-up, proves every subscription
                for index, (fleet, publish) in enumerate(zip(fleets, publishers, strict=True)):
                    called = await fleet.round(number, publish)
                    if number:
                        calls[index].append(called)
                    await asyncio.sleep(0.3)  # let background score refreshes pass
            results = []
            measured = range(1, rounds + 1)
            for (label, _, _), fleet, times in zip(scenarios, fleets, calls, strict=True):
                samples = fleet.latencies(measured)
                since_call = fleet.latencies(measured, since_call=True)
                times.sort()
                results.append(FanoutResult(
                    label, subscribers, rounds, percentile(samples, 50),
                    percentile(samples, 99), max(samples), percentile(since_call, 50),
                    percentile(since_call, 99), times[len(times) // 2]))
            return results
        finally:
            for fleet in fleets:
                await fleet.close()


async def idle_memory(server: Server, count: int) -> tuple[int, int]:
    """RSS (KiB) of the server before and with ``count`` idle, confirmed-live subscriptions."""
    async with httpx.AsyncClient(timeout=60, headers={"X-API-Key": API_KEY}) as http:
        publish = (bare_publisher if server.name.startswith("bare")
                   else graphql_publisher)(http, server)
        warm = Fleet(await open_many(server, 50))  # code paths and buffers touched once
        await warm.round(0, publish)
        await warm.close()
        await asyncio.sleep(1.0)
        before = server.rss_kib()
        fleet = Fleet(await open_many(server, count))
        try:
            await fleet.round(1, publish)
            await asyncio.sleep(1.0)
            after = server.rss_kib()
        finally:
            await fleet.close()
    return before, after


async def tasks_of(http: httpx.AsyncClient, server: Server) -> int:
    text = (await http.get(f"{server.base_url}/api/health/metrics")).text
    match = re.search(r"^leadgraph_asyncio_tasks (\S+)$", text, re.MULTILINE)
    if match is None:
        raise SystemExit("the app exposes no leadgraph_asyncio_tasks gauge")
    return int(float(match.group(1)))


async def churn(server: Server, cycles: int) -> tuple[tuple[int, int], tuple[int, int], float]:
    """(tasks, RSS KiB) after a warm-up and after ``cycles`` more, and the seconds taken."""

    async def cycle(number: int) -> None:
        subscriber = await open_subscriber(server)
        if number % 2:
            await subscriber.connection.send(json.dumps({"id": "1", "type": "complete"}))
        await subscriber.connection.close()

    async def run(count: int) -> None:
        numbers = iter(range(count))

        async def worker() -> None:
            for number in numbers:
                await cycle(number)

        await asyncio.gather(*(worker() for _ in range(16)))

    async def settled(http: httpx.AsyncClient) -> tuple[int, int]:
        # The fewest tasks over a few scrapes: background work (score refreshes, the
        # outbox poller) comes and goes; a leak stays.
        await asyncio.sleep(2.0)
        tasks = []
        for _ in range(5):
            tasks.append(await tasks_of(http, server))
            await asyncio.sleep(0.2)
        return min(tasks), server.rss_kib()

    async with httpx.AsyncClient(timeout=60) as http:
        await run(max(200, cycles // 20))
        start = await settled(http)
        began = time.monotonic()
        await run(cycles)
        seconds = time.monotonic() - began
        end = await settled(http)
    return start, end, seconds


# -- the run ----------------------------------------------------------------------------------


@dataclass
class Plan:
    fanout_subscribers: int = 1000
    rounds: int = 10
    idle: int = 2000
    cycles: int = 10_000

    @classmethod
    def quick(cls) -> Plan:
        return cls(fanout_subscribers=1000, rounds=2, idle=2000, cycles=2000)


def redis_available() -> bool:
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        client.ping()
        client.close()
        return True
    except redis.RedisError:
        return False


def collect(quick: bool = False, plan: Plan | None = None) -> Section:
    from leadgraph.adapters.mongo.embedded import EmbeddedMongo

    plan = plan or (Plan.quick() if quick else Plan())
    started = time.monotonic()
    section = Section("subscriptions: fan-out, idle memory, churn")
    prefix = f"bench-{secrets.token_hex(4)}"
    with tempfile.TemporaryDirectory(prefix="leadgraph-subs-bench-") as tmp:
        data_dir = Path(tmp)
        with contextlib.ExitStack() as stack:
            database = stack.enter_context(EmbeddedMongo(data_dir / "nx"))

            def start(mode: str, name: str, redis: bool = False) -> Server:
                return stack.enter_context(server_process(
                    mode, name, database.url, data_dir, REDIS_URL if redis else None, prefix))

            bare = start("bare", "bare")
            app = start("app", "app")
            scenarios = [("bare WebSocket broadcast", bare, bare),
                         ("GraphQL, single worker", app, app)]
            if redis_available():
                replica_a = start("app", "app A", redis=True)
                replica_b = start("app", "app B", redis=True)
                scenarios.append(("GraphQL, Redis, A subscribes, B publishes",
                                  replica_a, replica_b))
            else:
                section.lines.append(f"(Redis at {REDIS_URL} not reachable: two-replica "
                                     "fan-out skipped)")
            fan = asyncio.run(fanout(scenarios, plan.fanout_subscribers, plan.rounds))
            # Idle memory on processes that have not served the fan-out.
            bare_idle = asyncio.run(idle_memory(start("bare", "bare (idle)"), plan.idle))
            app_idle = asyncio.run(idle_memory(start("app", "app (idle)"), plan.idle))
            churned = asyncio.run(churn(start("app", "app (churn)"), plan.cycles))
    gc.collect()
    section.lines += fanout_lines(fan, plan)
    section.lines.append("")
    section.lines += memory_lines(bare_idle, app_idle, plan.idle)
    section.lines.append("")
    section.lines += churn_lines(churned, plan.cycles)
    section.figures += figures(fan, bare_idle, app_idle, churned, plan)
    section.seconds = time.monotonic() - started
    return section


def fanout_lines(results: list[FanoutResult], plan: Plan) -> list[str]:
    lines = [f"fan-out: {plan.fanout_subscribers} subscribers, {plan.rounds} measured rounds "
             "(+1 warm-up), one message per round; ms to receipt from the server's publish "
             "(event `at` / the bare server's stamp) and from just before the client sent "
             "the publishing call (mutation or POST)",
             f"  {'scenario':<44}{'from publish: p50':>18}{'p99':>8}{'max':>8}"
             f"{'from call: p50':>16}{'p99':>8}{'call ms':>9}"]
    for result in results:
        lines.append(f"  {result.label:<44}{result.p50_ms:>18.1f}{result.p99_ms:>8.1f}"
                     f"{result.max_ms:>8.1f}{result.call_p50_ms:>16.1f}"
                     f"{result.call_p99_ms:>8.1f}{result.publish_ms:>9.1f}")
    return lines


def memory_lines(bare: tuple[int, int], app: tuple[int, int], count: int) -> list[str]:
    def per(pair: tuple[int, int]) -> float:
        return (pair[1] - pair[0]) / count

    return [f"idle: {count} connections each (GraphQL: one leadEvents subscription each)",
            f"  {'server':<44}{'RSS before':>12}{'with idle':>12}{'KiB/conn':>10}",
            f"  {'bare WebSocket':<44}{bare[0]:>9} KiB{bare[1]:>9} KiB{per(bare):>10.1f}",
            f"  {'GraphQL subscription':<44}{app[0]:>9} KiB{app[1]:>9} KiB{per(app):>10.1f}"]


def churn_lines(churned: tuple[tuple[int, int], tuple[int, int], float], cycles: int,
                ) -> list[str]:
    (tasks0, rss0), (tasks1, rss1), seconds = churned
    return [f"churn: {cycles} connect/init/subscribe/disconnect cycles (half end with "
            f"complete, half close abruptly), 16 at a time, {cycles / seconds:.0f} cycles/s",
            f"  tasks {tasks0} -> {tasks1}, RSS {rss0} KiB -> {rss1} KiB "
            f"({(rss1 - rss0) / rss0:+.1%})"]


def figures(fan: list[FanoutResult], bare_idle: tuple[int, int], app_idle: tuple[int, int],
            churned: tuple[tuple[int, int], tuple[int, int], float], plan: Plan) -> list[Figure]:
    bare, single = fan[0], fan[1]
    n = plan.fanout_subscribers
    out = [
        Figure(f"fan-out to {n}, single worker, p50", single.p50_ms, "ms",
               "bare Starlette WebSocket broadcast p50", bare.p50_ms, False,
               "<= 50 ms", single.p50_ms <= 50),
        Figure(f"fan-out to {n}, single worker, p99", single.p99_ms, "ms",
               "bare Starlette WebSocket broadcast p99", bare.p99_ms, False,
               "<= 250 ms", single.p99_ms <= 250),
        Figure(f"fan-out to {n}, single worker, p50 from call", single.call_p50_ms, "ms",
               "bare broadcast p50 from its POST", bare.call_p50_ms, False,
               note="includes the createLead mutation up to its publish"),
    ]
    if len(fan) > 2:
        redis = fan[2]
        out += [
            Figure(f"fan-out to {n}, Redis, 2 replicas, p50", redis.p50_ms, "ms",
                   "single worker p50 (same run)", single.p50_ms, False,
                   f"<= {single.p50_ms + 5:.1f} (+5 ms)", redis.p50_ms <= single.p50_ms + 5,
                   f"delta {redis.p50_ms - single.p50_ms:+.1f} ms"),
            Figure(f"fan-out to {n}, Redis, 2 replicas, p99", redis.p99_ms, "ms",
                   "single worker p99 (same run)", single.p99_ms, False,
                   f"<= {single.p99_ms + 5:.1f} (+5 ms)", redis.p99_ms <= single.p99_ms + 5,
                   f"delta {redis.p99_ms - single.p99_ms:+.1f} ms"),
        ]
    (tasks0, rss0), (tasks1, rss1), _ = churned
    out += [
        Figure(f"memory per idle subscription ({plan.idle})",
               (app_idle[1] - app_idle[0]) / plan.idle, "KiB",
               "bare Starlette WebSocket, KiB per idle connection",
               (bare_idle[1] - bare_idle[0]) / plan.idle, False),
        Figure(f"tasks after {plan.cycles} churn cycles", tasks1, "tasks",
               "tasks after warm-up (same process)", tasks0, False,
               "within 5%", abs(tasks1 - tasks0) <= 0.05 * tasks0),
        Figure(f"RSS after {plan.cycles} churn cycles", rss1 / 1024, "MiB",
               "RSS after warm-up (same process)", rss0 / 1024, False,
               "within 5%", abs(rss1 - rss0) <= 0.05 * rss0),
    ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--serve", choices=("bare", "app"))
    parser.add_argument("--port", type=int)
    parser.add_argument("--mongodb-url")
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--redis-url")
    parser.add_argument("--prefix", default="")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.mongodb_url, args.data_dir, args.redis_url,
              args.prefix)
        return
    header = machine_lines()
    section = collect(args.quick)
    from bench._common import figures_table

    print("\n".join([*header, "", *section.lines, "", *figures_table(section.figures),
                     f"\ntotal run time: {section.seconds:.1f} s"]))


if __name__ == "__main__":
    main()
