"""One page of 50 leads with their assignees: GraphQL and REST against hand-written baselines.

Run from the repository root: ``python -m bench.leads_page``. It starts an embedded nx-27017
in a temporary directory, serves four endpoints from separate uvicorn processes (so the load
generator and each server do not share a GIL), seeds 50 leads assigned to 5 users through the
real API, checks that the baseline returns exactly what GraphQL returns, then drives each
endpoint with a fixed number of requests at a fixed concurrency and prints throughput,
latency percentiles and the ratios between them. See bench/README.md.

    (a) bare       a Starlette endpoint returning a small constant JSON
    (b) mongo      a hand-written Starlette endpoint: two PyMongo queries, the GraphQL JSON
    (c) graphql    leads(first: 50) { ... assignee { id email } } over POST /graphql
    (d) rest       seed 002 GET /api/v1/leads?per_page=50

The same module is also the server process: ``python -m bench.leads_page --serve MODE ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import os
import platform
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench._common import Figure, Section

API_KEY = "bench-bootstrap-key-0123456789abcdef"
DB_NAME = "leadgraph_bench"
LEADS = 50
USERS = 5
CONCURRENCY = 8
WARMUP = 16  # per scenario, not measured
# Fixed request counts, sized so the whole run stays well under a minute on 2 busy cores.
REQUESTS = {"bare": 400, "mongo": 160, "graphql": 80, "rest": 80}
READY_SECONDS = 60.0
REPO_ROOT = Path(__file__).resolve().parent.parent

GRAPHQL_QUERY = (
    "query LeadsPage { leads(first: 50) { edges { node { "
    "id name email score { overallScore } assignee { id email } "
    "lastMessage { seq role content } } } } }"
)
START_CONVERSATION = "mutation($lead: ID!) { startConversation(input: {leadId: $lead}) { id } }"
SEND_MESSAGE = (
    "mutation($id: ID!, $text: String!) { sendMessage(conversationId: $id, text: $text) { "
    "reply { seq } } }"
)
CREATE_USER = (
    "mutation($email: String!, $password: String!, $name: String) { "
    "createUser(email: $email, password: $password, name: $name) { id email } }"
)


# -- the servers ------------------------------------------------------------------------------


def bare_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def constant(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "items": [1, 2, 3]})

    return Starlette(routes=[Route("/", constant)])


def mongo_app(mongodb_url: str) -> Any:
    """What a person would write by hand for this page: two queries, one JSON response."""
    from bson import ObjectId
    from pymongo import AsyncMongoClient
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_url)
    database = client[DB_NAME]

    async def leads_page(request: Request) -> JSONResponse:
        # {"score": 1}, not "score.overall_score": nx-27017 0.8 returns a dotted projection
        # as a flat "score.overall_score" key instead of a nested document.
        leads = await database.leads.find(
            {}, {"name": 1, "email": 1, "score": 1, "assigned_to": 1}
        ).sort([("created_at", -1), ("_id", -1)]).limit(LEADS).to_list()
        lead_ids = [str(lead["_id"]) for lead in leads]
        assignee_ids = {lead["assigned_to"] for lead in leads if lead.get("assigned_to")}
        users = await database.users.find(
            {"_id": {"$in": [ObjectId(user_id) for user_id in assignee_ids]}}, {"email": 1}
        ).to_list()
        by_id = {str(user["_id"]): {"id": str(user["_id"]), "email": user["email"]}
                 for user in users}
        # The last message: the lead's conversations, then the newest message of each.
        conversations = await database.conversations.find(
            {"lead_id": {"$in": lead_ids}}, {"lead_id": 1}
        ).to_list()
        newest = await (await database.messages.aggregate([
            {"$match": {"conversation_id": {"$in": [str(c["_id"]) for c in conversations]}}},
            {"$sort": {"seq": -1}},
            {"$group": {"_id": "$conversation_id", "doc": {"$first": "$$ROOT"}}},
        ])).to_list()
        lead_of = {str(c["_id"]): c["lead_id"] for c in conversations}
        last: dict[str, dict[str, Any]] = {}
        for row in newest:
            message, lead_id = row["doc"], lead_of[row["_id"]]
            if lead_id not in last or (message["timestamp"], message["seq"]) > (
                    last[lead_id]["timestamp"], last[lead_id]["seq"]):
                last[lead_id] = message
        edges = [{"node": {
            "id": str(lead["_id"]),
            "name": lead["name"],
            "email": lead.get("email"),
            "score": {"overallScore": float(lead["score"]["overall_score"])},
            "assignee": by_id.get(lead.get("assigned_to") or ""),
            "lastMessage": {"seq": last[str(lead["_id"])]["seq"],
                            "role": last[str(lead["_id"])]["role"].upper(),
                            "content": last[str(lead["_id"])]["content"]}
            if str(lead["_id"]) in last else None,
        }} for lead in leads]
        return JSONResponse({"data": {"leads": {"edges": edges}}})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await client.close()

    return Starlette(routes=[Route("/", leads_page)], lifespan=lifespan)


def leadgraph_app(mongodb_url: str, data_dir: Path) -> Any:
    from bench._common import app_settings
    from leadgraph.app import create_app

    return create_app(app_settings(mongodb_url, data_dir, DB_NAME, API_KEY,
                                   secrets.token_urlsafe(48)))


def serve(mode: str, port: int, mongodb_url: str, data_dir: Path) -> None:
    import uvicorn

    if mode == "bare":
        app = bare_app()
    elif mode == "mongo":
        app = mongo_app(mongodb_url)
    else:
        app = leadgraph_app(mongodb_url, data_dir)
    # The same uvicorn settings for every server: one process, uvloop/httptools if present.
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                lifespan="on")


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    base_url: str


@contextlib.contextmanager
def server_process(
    mode: str, mongodb_url: str, data_dir: Path, ready_path: str
) -> Iterator[Server]:
    from leadgraph.adapters.mongo.embedded import free_loopback_port

    port = free_loopback_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.leads_page", "--serve", mode, "--port", str(port),
         "--mongodb-url", mongodb_url, "--data-dir", str(data_dir)],
        cwd=REPO_ROOT, stdin=subprocess.DEVNULL,
    )
    server = Server(mode, process, f"http://127.0.0.1:{port}")
    try:
        wait_ready(server, ready_path)
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
                status = http.get(path).status_code
            except httpx.TransportError:
                status = None
            if status == 200:
                return
            if status is not None and status >= 500:
                raise SystemExit(f"{server.name} server answered {path} with {status}")
            if time.monotonic() > deadline:
                raise SystemExit(f"{server.name} server not ready after {READY_SECONDS} s")
            time.sleep(0.1)


# -- the load ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    label: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    latencies: tuple[float, ...] = ()
    cpu_seconds: float = 0.0  # CPU time of the server process over the measured requests

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms(self) -> float:
        """Server CPU per request: unlike req/s, barely moved by other load on the machine."""
        return self.cpu_seconds * 1000 / self.requests

    def merge(self, other: Result) -> Result:
        latencies = self.latencies + other.latencies
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        return Result(self.label, self.requests + other.requests, self.seconds + other.seconds,
                      cuts[49] * 1000, cuts[98] * 1000, latencies,
                      self.cpu_seconds + other.cpu_seconds)


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of a process so far (Linux ``/proc/<pid>/stat``)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


Send = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


async def measure(label: str, requests: int, base_url: str, send: Send,
                  pid: int | None = None) -> Result:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30,
                                 headers={"X-API-Key": API_KEY}) as http:
        latencies: list[float] = []

        async def worker(jobs: Iterator[int], record: bool) -> None:
            for _ in jobs:  # one iterator shared by all workers: exactly N requests in total
                started = time.perf_counter()
                response = await send(http)
                elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    raise SystemExit(f"{label}: HTTP {response.status_code}: {response.text}")
                if record:
                    latencies.append(elapsed)

        warmup = iter(range(WARMUP))
        await asyncio.gather(*(worker(warmup, False) for _ in range(CONCURRENCY)))
        jobs = iter(range(requests))
        cpu = cpu_seconds(pid)
        started = time.perf_counter()
        await asyncio.gather(*(worker(jobs, True) for _ in range(CONCURRENCY)))
        seconds = time.perf_counter() - started
        cpu = cpu_seconds(pid) - cpu
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return Result(label, len(latencies), seconds, cuts[49] * 1000, cuts[98] * 1000,
                  tuple(latencies), cpu)


async def seed(app_url: str) -> None:
    """50 leads, each assigned to one of 5 users, created through the real API."""
    async with httpx.AsyncClient(base_url=app_url, timeout=30,
                                 headers={"X-API-Key": API_KEY}) as http:
        user_ids = []
        for index in range(USERS):
            response = await http.post("/graphql", json={"query": CREATE_USER, "variables": {
                "email": f"agent{index}@bench.example.com",
                "password": f"bench-password-{index}-0123456789", "name": f"Agent {index}",
            }})
            body = response.json()
            if response.status_code != 200 or body.get("errors"):
                raise SystemExit(f"seeding users failed: {body}")
            user_ids.append(body["data"]["createUser"]["id"])
        for index in range(LEADS):
            response = await http.post("/api/v1/leads", json={
                "first_name": f"Lead{index}", "last_name": "Bench",
                "email": f"lead{index}@customer{index % 7}.example.com",
                "company": f"Customer {index % 7}", "title": "Head of Operations",
                "assigned_to": user_ids[index % USERS],
            })
            if response.status_code != 201:
                raise SystemExit(f"seeding leads failed: {response.text}")
            if index % 5 == 4:
                continue  # a few leads without any conversation
            lead_id = response.json()["id"]
            for text in (f"Hello, this is lead {index}", "We need a mobile app")[:1 + index % 2]:
                started = await http.post("/graphql", json={
                    "query": START_CONVERSATION, "variables": {"lead": lead_id}})
                conversation = started.json()["data"]["startConversation"]["id"]
                sent = (await http.post("/graphql", json={"query": SEND_MESSAGE, "variables": {
                    "id": conversation, "text": text}})).json()
                if sent.get("errors"):
                    raise SystemExit(f"seeding messages failed: {sent}")


async def check_same_answers(app_url: str, mongo_url: str) -> None:
    """The comparison is only fair if (b) and (c) return the same document, and (d) 50 leads.

    Tried a few times: score refreshes after the seeding messages run in the background."""
    for _ in range(10):
        try:
            return await _check_same_answers(app_url, mongo_url)
        except SystemExit:
            await asyncio.sleep(1)
    await _check_same_answers(app_url, mongo_url)


async def _check_same_answers(app_url: str, mongo_url: str) -> None:
    async with httpx.AsyncClient(timeout=30, headers={"X-API-Key": API_KEY}) as http:
        graphql = (await http.post(f"{app_url}/graphql", json={"query": GRAPHQL_QUERY})).json()
        baseline = (await http.get(f"{mongo_url}/")).json()
        rest = (await http.get(f"{app_url}/api/v1/leads", params={"per_page": LEADS})).json()
    edges = graphql.get("data", {}).get("leads", {}).get("edges", [])
    if len(edges) != LEADS or any(edge["node"]["assignee"] is None for edge in edges):
        raise SystemExit(f"GraphQL did not return {LEADS} assigned leads: {graphql}")
    # ``extensions`` (the operation's cost, rate-limit state) has no counterpart in (b).
    if graphql.get("data") != baseline.get("data"):
        raise SystemExit("baseline (b) and GraphQL (c) disagree; the comparison would be unfair")
    if len(rest.get("leads", [])) != LEADS:
        raise SystemExit(f"REST did not return {LEADS} leads")


async def run_scenarios(
    bare_url: str, mongo_url: str, app_url: str, scale: float = 1.0,
    pids: dict[str, int] | None = None,
) -> list[Result]:
    query = {"query": GRAPHQL_QUERY}
    pids = pids or {}
    bare_pid, mongo_pid, app_pid = pids.get("bare"), pids.get("mongo"), pids.get("app")

    def count(name: str) -> int:
        return max(CONCURRENCY * 2, round(REQUESTS[name] * scale))

    # (b) and (c) alternate in two halves each, so a burst of load from elsewhere on a shared
    # machine is less likely to hit only one side of the ratio that matters.
    mongo_first = await measure("(b) hand-written Starlette + PyMongo", count("mongo") // 2,
                                mongo_url, lambda http: http.get("/"), mongo_pid)
    graphql_first = await measure("(c) GraphQL leads(first: 50)", count("graphql") // 2,
                                  app_url, lambda http: http.post("/graphql", json=query),
                                  app_pid)
    mongo_second = await measure("(b) hand-written Starlette + PyMongo", count("mongo") // 2,
                                 mongo_url, lambda http: http.get("/"), mongo_pid)
    graphql_second = await measure("(c) GraphQL leads(first: 50)", count("graphql") // 2,
                                   app_url, lambda http: http.post("/graphql", json=query),
                                   app_pid)
    return [
        await measure("(a) bare Starlette, constant JSON", count("bare"), bare_url,
                      lambda http: http.get("/"), bare_pid),
        mongo_first.merge(mongo_second),
        graphql_first.merge(graphql_second),
        await measure("(d) REST seed 002 GET /api/v1/leads", count("rest"), app_url,
                      lambda http: http.get("/api/v1/leads", params={"per_page": LEADS}),
                      app_pid),
    ]


# -- the report -------------------------------------------------------------------------------


def machine() -> list[str]:
    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}"
        for name in ("uvicorn", "starlette", "strawberry-graphql", "pymongo", "beanie",
                     "nx-27017", "httpx")
    )
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return [
        f"machine: nproc={len(os.sched_getaffinity(0))}, {platform.machine()}, "
        f"{platform.system()} {platform.release()}",
        f"python: {platform.python_implementation()} {platform.python_version()}",
        f"versions: {versions}",
        f"load average at start: {load}",
    ]


def report(results: list[Result], header: list[str]) -> str:
    lines = [*header,
             f"workload: fixed request count per scenario after {WARMUP} warm-up requests, "
             f"concurrency {CONCURRENCY}, {LEADS} leads / {USERS} assignees, "
             "one uvicorn process per server, httpx.AsyncClient load generator",
             "",
             f"{'scenario':<40}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
             f"{'server CPU ms/req':>19}"]
    for result in results:
        lines.append(f"{result.label:<40}{result.requests:>9}{result.rps:>9.1f}"
                     f"{result.p50_ms:>9.1f}{result.p99_ms:>9.1f}{result.cpu_ms:>19.1f}")
    bare, mongo, graphql, rest = results
    lines += [
        "",
        "ratios of throughput (req/s), higher is closer to the baseline:",
        f"  (c)/(b) GraphQL vs hand-written      {graphql.rps / mongo.rps:6.2f}",
        f"  (d)/(b) REST 002 vs hand-written     {rest.rps / mongo.rps:6.2f}",
        f"  (b)/(a) hand-written vs bare         {mongo.rps / bare.rps:6.2f}",
        "ratios of p50 latency, lower is closer to the baseline:",
        f"  (c)/(b) GraphQL vs hand-written      {graphql.p50_ms / mongo.p50_ms:6.2f}",
        f"  (d)/(b) REST 002 vs hand-written     {rest.p50_ms / mongo.p50_ms:6.2f}",
        f"  (b)/(a) hand-written vs bare         {mongo.p50_ms / bare.p50_ms:6.2f}",
        "server CPU per request (the database, nx-27017, is a separate process, not counted):",
        f"  (c)/(b) GraphQL vs hand-written      {graphql.cpu_ms / max(mongo.cpu_ms, 1e-9):6.2f}",
    ]
    return "\n".join(lines)


def run(scale: float = 1.0) -> list[Result]:
    from leadgraph.adapters.mongo.embedded import EmbeddedMongo

    with tempfile.TemporaryDirectory(prefix="leadgraph-bench-") as tmp:
        data_dir = Path(tmp)
        with contextlib.ExitStack() as stack:
            database = stack.enter_context(EmbeddedMongo(data_dir / "nx"))
            app = stack.enter_context(
                server_process("app", database.url, data_dir, "/health"))
            asyncio.run(seed(app.base_url))
            mongo = stack.enter_context(server_process("mongo", database.url, data_dir, "/"))
            bare = stack.enter_context(server_process("bare", database.url, data_dir, "/"))
            asyncio.run(check_same_answers(app.base_url, mongo.base_url))
            pids = {"bare": bare.process.pid, "mongo": mongo.process.pid,
                    "app": app.process.pid}
            return asyncio.run(
                run_scenarios(bare.base_url, mongo.base_url, app.base_url, scale, pids))


def collect(quick: bool = False) -> Section:
    """For ``python -m bench``: the table and the GraphQL/hand-written figure."""
    started = time.monotonic()
    results = run(0.5 if quick else 2.0)
    _bare, mongo, graphql, rest = results
    ratio = graphql.rps / mongo.rps
    section = Section("leads page: 50 leads with score, assignee and last message",
                      report(results, []).splitlines())
    section.figures += [
        Figure("GraphQL leads page, req/s", graphql.rps, "req/s",
               "(b) hand-written Starlette + PyMongo, same JSON", mongo.rps, True,
               ">= 0.5x", ratio >= 0.5),
        Figure("REST seed 002 leads page, req/s", rest.rps, "req/s",
               "(b) hand-written Starlette + PyMongo", mongo.rps, True),
        Figure("GraphQL leads page, p50 latency", graphql.p50_ms, "ms",
               "(b) hand-written p50", mongo.p50_ms, False),
        Figure("GraphQL leads page, server CPU/request", graphql.cpu_ms, "ms",
               "(b) hand-written server CPU/request (database excluded)", mongo.cpu_ms, False),
    ]
    section.seconds = time.monotonic() - started
    return section


def bench() -> None:
    header = machine()
    started = time.monotonic()
    results = run()
    print(report(results, header))
    print(f"\ntotal run time: {time.monotonic() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--serve", choices=("bare", "mongo", "app"))
    parser.add_argument("--port", type=int)
    parser.add_argument("--mongodb-url")
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.mongodb_url, args.data_dir)
    else:
        bench()


if __name__ == "__main__":
    main()
