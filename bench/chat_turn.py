"""One chat turn: seed 000 ``POST /api/chat`` against a bare Starlette endpoint, plus the local
assistant's own compute time and the intent classifier's accuracy.

Run from the repository root: ``python -m bench.chat_turn``. It starts an embedded nx-27017 in a
temporary directory and serves two endpoints from separate uvicorn processes (so the load
generator and each server do not share a GIL):

    (a) bare   a Starlette endpoint that parses the same JSON body and returns a constant
               seed-000-shaped answer
    (b) chat   the real app, seed 000 ``POST /api/chat`` with the local assistant (every turn
               reads the conversation, stores two messages, saves the state and, once the
               visitor has given contact details, creates or updates the lead)

Both get the same workload: many sessions, each a scripted six-turn qualification (greeting,
project, features, timeline and budget, name, email), played in order within a session, with a
fixed number of sessions in flight at once. It checks that every session of (b) ends at the
summary step with the visitor's email collected before it reports anything.

In process it also times ``LocalAssistant.turn`` on the same script (the NLU and dialog
policy alone, no I/O) and evaluates the built-in intent classifier on
``tests/data/intent_eval.jsonl``.

The same module is also the server process: ``python -m bench.chat_turn --serve MODE ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import os
import platform
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench._common import Figure, Section

API_KEY = "bench-bootstrap-key-0123456789abcdef"
DB_NAME = "leadgraph_chat_bench"
CONCURRENCY = 4  # sessions in flight at once
WARMUP_SESSIONS = 4
SESSIONS = 80  # measured sessions per endpoint, six turns each
COMPUTE_SESSIONS = 200  # in-process LocalAssistant.turn timing
READY_SECONDS = 60.0
REPO_ROOT = Path(__file__).resolve().parent.parent
EVAL_SET = REPO_ROOT / "tests" / "data" / "intent_eval.jsonl"

SCRIPT = (
    "Hi there",
    "I need a mobile app for my business",
    "It should have payments, user login and push notifications",
    "We'd like to launch in 3 months and the budget is $10k-20k",
    "I'm Jane Cooper from Acme Corp",
    "You can reach me at {email}",
)


def turns_for(session: int) -> list[str]:
    email = f"visitor{session}@bench.example.com"
    return [text.format(email=email) for text in SCRIPT]


# -- the servers ------------------------------------------------------------------------------


def bare_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def chat(request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse({
            "response": "What timeline are you working with? When would you like to launch?",
            "session_id": body.get("session_id"),
            "conversation_state": {"current_step": "timeline_budget",
                                   "collected_info": {"project_type": "mobile_app"}},
        })

    return Starlette(routes=[Route("/api/chat", chat, methods=["POST"])])


def leadgraph_app(mongodb_url: str, data_dir: Path) -> Any:
    from bench._common import app_settings
    from leadgraph.app import create_app

    return create_app(app_settings(mongodb_url, data_dir, DB_NAME, API_KEY,
                                   secrets.token_urlsafe(48), ai_provider="local"))


def serve(mode: str, port: int, mongodb_url: str, data_dir: Path) -> None:
    import uvicorn

    app = bare_app() if mode == "bare" else leadgraph_app(mongodb_url, data_dir)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                lifespan="on")


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    base_url: str


@contextlib.contextmanager
def server_process(mode: str, mongodb_url: str, data_dir: Path) -> Iterator[Server]:
    from leadgraph.adapters.mongo.embedded import free_loopback_port

    port = free_loopback_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.chat_turn", "--serve", mode, "--port", str(port),
         "--mongodb-url", mongodb_url, "--data-dir", str(data_dir)],
        cwd=REPO_ROOT, stdin=subprocess.DEVNULL,
    )
    server = Server(mode, process, f"http://127.0.0.1:{port}")
    try:
        wait_ready(server)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_ready(server: Server) -> None:
    """Until the server answers a chat turn (the app's lifespan has opened the database)."""
    deadline = time.monotonic() + READY_SECONDS
    probe = {"message": "hello", "session_id": f"ready-{server.name}"}
    with httpx.Client(base_url=server.base_url, timeout=5,
                      headers={"X-API-Key": API_KEY}) as http:
        while True:
            if server.process.poll() is not None:
                raise SystemExit(f"{server.name} server exited with {server.process.returncode}")
            try:
                status = http.post("/api/chat", json=probe).status_code
            except httpx.TransportError:
                status = None
            if status == 200:
                return
            if status is not None:
                raise SystemExit(f"{server.name} server answered /api/chat with {status}")
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

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[98]


async def measure(label: str, base_url: str, prefix: str, check: bool,
                  sessions: int = SESSIONS) -> Result:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30,
                                 headers={"X-API-Key": API_KEY}) as http:
        latencies: list[float] = []

        async def play(session: int, record: bool) -> None:
            session_id = f"{prefix}-{session}"
            body: dict[str, Any] = {}
            for text in turns_for(session):
                started = time.perf_counter()
                response = await http.post("/api/chat",
                                           json={"message": text, "session_id": session_id})
                elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    raise SystemExit(f"{label}: HTTP {response.status_code}: {response.text}")
                body = response.json()
                if record:
                    latencies.append(elapsed)
            state = body.get("conversation_state", {})
            email = f"visitor{session}@bench.example.com"
            if check and (state.get("current_step") != "summary"
                          or state.get("collected_info", {}).get("email") != email):
                raise SystemExit(f"{label}: session {session_id} did not reach the summary "
                                 f"with its email: {body}")

        async def worker(sessions: Iterator[int], record: bool) -> None:
            for session in sessions:  # one iterator shared by all workers
                await play(session, record)

        warmup = iter(range(WARMUP_SESSIONS))
        await asyncio.gather(*(worker(warmup, False) for _ in range(CONCURRENCY)))
        jobs = iter(range(WARMUP_SESSIONS, WARMUP_SESSIONS + sessions))
        started = time.perf_counter()
        await asyncio.gather(*(worker(jobs, True) for _ in range(CONCURRENCY)))
        seconds = time.perf_counter() - started
    p50, p99 = percentiles(latencies)
    return Result(label, len(latencies), seconds, p50 * 1000, p99 * 1000)


# -- in process -------------------------------------------------------------------------------


def local_compute() -> tuple[float, float, int]:
    """p50/p99 of ``LocalAssistant.turn`` in microseconds, state carried between turns."""
    from leadgraph.domain.assistant.engine import LocalAssistant
    from leadgraph.domain.conversations import Conversation

    engine = LocalAssistant()
    samples: list[float] = []
    for session in range(COMPUTE_SESSIONS):
        now = datetime.now(UTC)
        conversation = Conversation(id=f"c{session}", created_at=now, last_active=now)
        for text in turns_for(session):
            started = time.perf_counter_ns()
            turn = engine.turn(conversation, text)
            samples.append((time.perf_counter_ns() - started) / 1000)
            conversation = conversation.model_copy(update={
                "collected_info": turn.collected_info, "current_step": turn.step,
                "asked": turn.asked, "purchase_intent": turn.purchase_intent,
            })
        if conversation.current_step.value != "summary":
            raise SystemExit(f"local engine did not reach the summary: {conversation}")
    p50, p99 = percentiles(samples)
    return p50, p99, len(samples)


def classifier_accuracy() -> tuple[float, int, dict[str, tuple[int, int]]]:
    from leadgraph.domain.assistant.classifier import Example, IntentClassifier
    from leadgraph.domain.assistant.training_data import BUILTIN_EXAMPLES

    examples = [Example(row["text"], row["intent"]) for row in
                (json.loads(line) for line in EVAL_SET.read_text().splitlines() if line.strip())]
    classifier = IntentClassifier.train(BUILTIN_EXAMPLES)
    per_intent: dict[str, tuple[int, int]] = {}
    for example in examples:
        hits, total = per_intent.get(example.intent, (0, 0))
        hit = classifier.predict(example.text).intent == example.intent
        per_intent[example.intent] = (hits + hit, total + 1)
    return classifier.accuracy(examples), len(examples), per_intent


# -- the report -------------------------------------------------------------------------------


def machine() -> list[str]:
    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}"
        for name in ("uvicorn", "starlette", "pymongo", "beanie", "nx-27017", "httpx")
    )
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return [
        f"machine: nproc={len(os.sched_getaffinity(0))}, {platform.machine()}, "
        f"{platform.system()} {platform.release()}",
        f"python: {platform.python_implementation()} {platform.python_version()}",
        f"versions: {versions}",
        f"load average at start: {load}",
    ]


def report(bare: Result, chat: Result, compute: tuple[float, float, int],
           accuracy: tuple[float, int, dict[str, tuple[int, int]]]) -> str:
    lines = [
        f"workload: {chat.requests // len(SCRIPT)} sessions x {len(SCRIPT)} turns per "
        "endpoint after "
        f"{WARMUP_SESSIONS} warm-up sessions, {CONCURRENCY} sessions in flight, one uvicorn "
        "process per server, httpx.AsyncClient load generator",
        "",
        f"{'scenario':<46}{'turns':>7}{'turns/s':>10}{'p50 ms':>10}{'p99 ms':>10}",
    ]
    for result in (bare, chat):
        lines.append(f"{result.label:<46}{result.requests:>7}{result.rps:>10.1f}"
                     f"{result.p50_ms:>10.2f}{result.p99_ms:>10.2f}")
    p50_us, p99_us, samples = compute
    value, count, per_intent = accuracy
    lines += [
        "",
        "ratios, (b) against the bare endpoint (a):",
        f"  throughput (b)/(a)   {chat.rps / bare.rps:6.3f}",
        f"  p50 latency (b)/(a)  {chat.p50_ms / bare.p50_ms:6.2f}",
        f"  p99 latency (b)/(a)  {chat.p99_ms / bare.p99_ms:6.2f}",
        "",
        f"LocalAssistant.turn in process ({samples} turns): p50 {p50_us:.0f} us, "
        f"p99 {p99_us:.0f} us; p50 share of a (b) turn: {p50_us / 1000 / chat.p50_ms:.1%}",
        f"intent classifier on {EVAL_SET.relative_to(REPO_ROOT)}: accuracy {value:.3f} "
        f"({round(value * count)}/{count})",
        "  " + ", ".join(f"{intent} {hits}/{total}"
                         for intent, (hits, total) in sorted(per_intent.items())),
    ]
    return "\n".join(lines)


def run(sessions: int = SESSIONS) -> tuple[Result, Result]:
    from leadgraph.adapters.mongo.embedded import EmbeddedMongo

    with tempfile.TemporaryDirectory(prefix="leadgraph-chat-bench-") as tmp:
        data_dir = Path(tmp)
        with contextlib.ExitStack() as stack:
            database = stack.enter_context(EmbeddedMongo(data_dir / "nx"))
            app = stack.enter_context(server_process("app", database.url, data_dir))
            bare = stack.enter_context(server_process("bare", database.url, data_dir))
            bare_result = asyncio.run(measure("(a) bare Starlette POST /api/chat",
                                              bare.base_url, "bare", False, sessions))
            chat_result = asyncio.run(
                measure("(b) seed 000 POST /api/chat, local assistant", app.base_url, "chat",
                        True, sessions))
    return bare_result, chat_result


def collect(quick: bool = False) -> Section:
    """For ``python -m bench``: chat turn latency against the bare endpoint."""
    started = time.monotonic()
    compute = local_compute()
    accuracy = classifier_accuracy()
    bare, chat = run(SESSIONS // 4 if quick else SESSIONS // 2)
    section = Section("chat turn (seed 000 POST /api/chat, local assistant)",
                      report(bare, chat, compute, accuracy).splitlines())
    section.figures += [
        Figure("chat turn p50", chat.p50_ms, "ms", "bare Starlette POST, same bodies, p50",
               bare.p50_ms, False),
        Figure("chat turn p99", chat.p99_ms, "ms", "bare Starlette POST, same bodies, p99",
               bare.p99_ms, False),
    ]
    section.seconds = time.monotonic() - started
    return section


def bench() -> None:
    header = machine()
    started = time.monotonic()
    compute = local_compute()
    accuracy = classifier_accuracy()
    bare_result, chat_result = run()
    print("\n".join(header))
    print(report(bare_result, chat_result, compute, accuracy))
    print(f"\ntotal run time: {time.monotonic() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--serve", choices=("bare", "app"))
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
