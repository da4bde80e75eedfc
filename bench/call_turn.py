"""One voice call turn: seed 002 ``POST /api/v1/voice/calls/{id}/respond``, text and audio,
against a bare Starlette endpoint in the same run.

Run from the repository root: ``python -m bench.call_turn``. It starts an embedded nx-27017 in
a temporary directory and the two servers of :mod:`bench.chat_turn` in separate uvicorn
processes: (a) the bare Starlette endpoint (parses a JSON body, returns a constant) and (b) the
real app with the local engines (espeak-ng TTS, pocketsphinx STT).

Each measured call is created and started, then gets three text turns and one audio turn (a
sentence synthesized once by the app's own ``POST /api/voice/tts``, sent as ``audio_data``),
played in order, with a fixed number of calls in flight; then it is ended. A text turn runs the
NLU, the call rules, stores the customer turn, synthesizes the reply (TTS) and stores it; an
audio turn also recognises the audio (STT, with partial transcript events published).
Every answer is checked (state, audio present) before anything is reported. The run is bounded
(about a minute of load at most). Real-time factors of the engines alone: ``bench.voice_rtf``.
"""

from __future__ import annotations

import asyncio
import contextlib
import platform
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench._common import Figure, Section
from bench.chat_turn import API_KEY, percentiles, server_process

CONCURRENCY = 2  # calls in flight at once (the machine has two cores)
CALLS = 16
BUDGET_SECONDS = 60.0
TEXT_TURNS = (
    "Hi Sarah, yes I have a few minutes to chat",
    "We struggle to follow up with leads quickly and our team is small",
    "That sounds great, I would love to see a demo next week",
)
AUDIO_SENTENCE = "We need a better way to follow up with our leads"


@dataclass
class Samples:
    text: list[float]
    audio: list[float]
    bare: list[float]
    calls: int = 0


def line(label: str, samples: list[float]) -> str:
    p50, p99 = percentiles(samples)
    return f"  {label:<48} n={len(samples):>4}  p50 {p50 * 1000:8.1f} ms  p99 {p99 * 1000:8.1f} ms"


async def run(app_url: str, bare_url: str, calls: int = CALLS,
              budget: float = BUDGET_SECONDS) -> Samples:
    samples = Samples([], [], [])
    headers = {"X-API-Key": API_KEY}
    limits = httpx.Limits(max_connections=CONCURRENCY * 2)
    async with httpx.AsyncClient(base_url=app_url, headers=headers, timeout=60,
                                 limits=limits) as http, httpx.AsyncClient(
            base_url=bare_url, timeout=60, limits=limits) as bare:
        lead = await http.post("/api/v1/leads", json={
            "first_name": "Bench", "last_name": "Caller", "email": "bench@calls.example",
            "company": "Bench Corp", "industry": "technology"})
        lead_id = lead.json()["id"]
        tts = await http.post("/api/voice/tts", json={"text": AUDIO_SENTENCE})
        audio = tts.json()["data"]["audio"]
        deadline = time.monotonic() + budget

        async def one_call(record: bool) -> None:
            created = await http.post("/api/v1/voice/calls", json={"lead_id": lead_id})
            call_id = created.json()["id"]
            started = await http.post(f"/api/v1/voice/calls/{call_id}/start", json={})
            assert started.status_code == 200, started.text
            bodies = [{"text": text} for text in TEXT_TURNS[:2]]
            bodies += [{"audio_data": audio}, {"text": TEXT_TURNS[2]}]
            for body in bodies:
                began = time.perf_counter()
                answer = await http.post(f"/api/v1/voice/calls/{call_id}/respond", json=body)
                elapsed = time.perf_counter() - began
                assert answer.status_code == 200, answer.text
                assert answer.json()["audio_data"], "every reply is spoken"
                if record:
                    (samples.audio if "audio_data" in body else samples.text).append(elapsed)
                began = time.perf_counter()
                baseline = await bare.post("/api/chat", json={**body, "session_id": call_id})
                assert baseline.status_code == 200
                if record:
                    samples.bare.append(time.perf_counter() - began)
            ended = await http.post(f"/api/v1/voice/calls/{call_id}/end", json={})
            assert ended.json()["summary"]["total_exchanges"] == 4, ended.text
            if record:
                samples.calls += 1

        await asyncio.gather(*(one_call(False) for _ in range(CONCURRENCY)))  # warm-up

        async def worker(queue: list[int]) -> None:
            while queue and time.monotonic() < deadline:
                queue.pop()
                await one_call(True)

        queue = list(range(calls))
        await asyncio.gather(*(worker(queue) for _ in range(CONCURRENCY)))
    return samples


def measure(calls: int = CALLS, budget: float = BUDGET_SECONDS) -> Samples:
    from leadgraph.adapters.mongo.embedded import EmbeddedMongo

    with tempfile.TemporaryDirectory(prefix="leadgraph-call-bench-") as tmp:
        data_dir = Path(tmp)
        with contextlib.ExitStack() as stack:
            database = stack.enter_context(EmbeddedMongo(data_dir / "nx"))
            app = stack.enter_context(server_process("app", database.url, data_dir))
            bare = stack.enter_context(server_process("bare", database.url, data_dir))
            return asyncio.run(run(app.base_url, bare.base_url, calls, budget))


def lines(samples: Samples) -> list[str]:
    return [f"{CONCURRENCY} calls in flight, {samples.calls} measured calls "
            f"(3 text turns + 1 audio turn each), local engines",
            line("(a) bare Starlette POST (same bodies)", samples.bare),
            line("(b) seed 002 respond, text turn (NLU+TTS)", samples.text),
            line("(c) seed 002 respond, audio turn (STT+NLU+TTS)", samples.audio)]


def collect(quick: bool = False) -> Section:
    """For ``python -m bench``: call turn latency (text and audio) against a bare POST."""
    started = time.monotonic()
    samples = measure(4 if quick else 8, 20.0 if quick else 40.0)
    section = Section("call turn (seed 002 POST /api/v1/voice/calls/{id}/respond)",
                      lines(samples))
    bare50, bare99 = percentiles(samples.bare)
    for label, kind in (("text", samples.text), ("audio", samples.audio)):
        p50, p99 = percentiles(kind)
        section.figures += [
            Figure(f"call turn, {label}, p50", p50 * 1000, "ms",
                   "bare Starlette POST, same bodies, p50", bare50 * 1000, False),
            Figure(f"call turn, {label}, p99", p99 * 1000, "ms",
                   "bare Starlette POST, same bodies, p99", bare99 * 1000, False),
        ]
    section.seconds = time.monotonic() - started
    return section


def main() -> None:
    started = time.monotonic()
    samples = measure()
    print(f"python {platform.python_version()} on {platform.machine()}")
    print("\n".join(lines(samples)))
    print(f"total run time: {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
