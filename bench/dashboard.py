"""The seed 002 dashboard against 1k, 10k and 100k leads: GraphQL and REST vs baselines.

Run from the repository root: ``python -m bench.dashboard``. It starts an embedded nx-27017
in a temporary directory and two uvicorn processes (the LeadGraph app and a bare Starlette
endpoint, reusing ``bench.leads_page``'s servers), then for each size tops the ``leads``
collection up with ``insert_many`` and times, sequentially (one request at a time):

    (a) bare       a Starlette endpoint returning a small constant JSON (HTTP floor)
    (b) count      one plain aggregate from this process: ``$group {_id: null, n: $sum 1}``
                   over all leads, i.e. a single pass over the collection (database floor)
    (c) graphql    ``dashboard(days: 30)`` over POST /graphql
    (d) rest       seed 002 ``GET /api/v1/analytics/dashboard?days=30``

The dashboard sends four aggregates (three on leads, one on calls) whatever the size, so growth
should follow (b). The run stays under ~3 minutes: before 100k it extrapolates from the 10k
figures and skips the size, saying why, if it would not fit.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pymongo import MongoClient

from bench.leads_page import API_KEY, DB_NAME, machine, server_process

SIZES = (1_000, 10_000, 100_000)
REQUESTS = {1_000: 10, 10_000: 5, 100_000: 3}  # measured requests per scenario and size
BATCH = 5_000
BUDGET_SECONDS = 170.0
DASHBOARD_QUERY = (
    "query Dashboard { dashboard(days: 30) { totalLeads newLeadsToday totalCalls callsToday "
    "conversionRate avgLeadScore revenue voiceAICallsActive } }"
)
STATUSES = ("new", "contacted", "qualified", "proposal", "closed_won", "closed_lost")
SOURCES = ("website", "referral", "social_media", "whatsapp")


def lead(n: int, now: datetime) -> dict[str, Any]:
    created = now - timedelta(minutes=n * 3)  # spread over ~200 days at 100k
    status = STATUSES[n % len(STATUSES)]
    return {
        "name": f"Bench Lead {n}", "first_name": "Bench", "last_name": f"Lead {n}",
        "email": f"bench{n}@example.com", "phone": None, "company": f"Company {n % 97}",
        "title": None, "industry": ("technology", "finance", None)[n % 3],
        "source": SOURCES[n % len(SOURCES)], "status": status,
        "intent": ("HOT", "WARM", "COLD", "NEUTRAL")[n % 4],
        "score": {"overall_score": (n % 100) / 100}, "tags": [],
        "follow_up_status": "pending", "created_at": created, "updated_at": created,
        **({"deal_value": 1000.0} if status == "closed_won" else {}),
    }


def top_up(client: MongoClient[dict[str, Any]], size: int, now: datetime) -> float:
    leads = client[DB_NAME]["leads"]
    have = leads.count_documents({})
    started = time.perf_counter()
    for first in range(have, size, BATCH):
        leads.insert_many([lead(n, now) for n in range(first, min(first + BATCH, size))])
    return time.perf_counter() - started


async def timed(send: Any, requests: int) -> list[float]:
    await send()  # warm-up
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        await send()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def measure(
    size: int, bare_url: str, app_url: str, mongodb_url: str
) -> dict[str, float]:
    requests = REQUESTS[size]
    headers = {"X-API-Key": API_KEY}
    results: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=600, headers=headers) as http:

        async def bare() -> None:
            response = await http.get(f"{bare_url}/")
            response.raise_for_status()

        async def graphql() -> None:
            response = await http.post(f"{app_url}/graphql", json={"query": DASHBOARD_QUERY})
            body = response.json()
            assert response.status_code == 200 and "errors" not in body, body
            assert body["data"]["dashboard"]["totalLeads"] == size, body

        async def rest() -> None:
            response = await http.get(f"{app_url}/api/v1/analytics/dashboard",
                                      params={"days": 30})
            assert response.status_code == 200, response.text
            assert response.json()["totalLeads"] == size, response.text

        from pymongo import AsyncMongoClient

        database: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_url)
        try:
            async def count() -> None:
                cursor = await database[DB_NAME]["leads"].aggregate(
                    [{"$group": {"_id": None, "n": {"$sum": 1}}}]
                )
                rows = await cursor.to_list()
                assert rows[0]["n"] == size, rows

            for label, send in (("bare", bare), ("count", count), ("graphql", graphql),
                                ("rest", rest)):
                results[label] = statistics.median(await timed(send, requests))
        finally:
            await database.close()
    return results


def bench() -> None:
    from leadgraph.adapters.mongo.embedded import EmbeddedMongo

    header = machine()
    started = time.monotonic()
    rows: list[tuple[int, float, dict[str, float]]] = []
    notes: list[str] = []
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="leadgraph-bench-") as tmp:
        data_dir = Path(tmp)
        with contextlib.ExitStack() as stack:
            database = stack.enter_context(EmbeddedMongo(data_dir / "nx"))
            app = stack.enter_context(server_process("app", database.url, data_dir, "/health"))
            bare = stack.enter_context(server_process("bare", database.url, data_dir, "/"))
            client: MongoClient[dict[str, Any]] = stack.enter_context(
                MongoClient(database.url, tz_aware=True)
            )
            for size in SIZES:
                if rows:
                    estimate = _estimate(rows[-1], size)
                    elapsed = time.monotonic() - started
                    if elapsed + estimate > BUDGET_SECONDS:
                        notes.append(
                            f"{size:,} leads skipped: at {elapsed:.0f} s, extrapolating the "
                            f"{rows[-1][0]:,} run linearly gives ~{estimate:.0f} s more "
                            f"(insert + {4 * (REQUESTS[size] + 1)} requests), over the "
                            f"{BUDGET_SECONDS:.0f} s budget on this machine."
                        )
                        break
                inserted = top_up(client, size, now)
                rows.append((size, inserted, asyncio.run(
                    measure(size, bare.base_url, app.base_url, database.url)
                )))
    print(report(rows, header, notes))
    print(f"\ntotal run time: {time.monotonic() - started:.1f} s")


def _estimate(previous: tuple[int, float, dict[str, float]], size: int) -> float:
    """Seconds the next size would take if everything grew linearly with the lead count."""
    prev_size, inserted, medians = previous
    factor = size / prev_size
    per_round_ms = sum(medians.values()) * (REQUESTS[size] + 1)
    return inserted * (size - prev_size) / prev_size + factor * per_round_ms / 1000


def report(
    rows: list[tuple[int, float, dict[str, float]]], header: list[str], notes: list[str]
) -> str:
    lines = [*header,
             "workload: leads inserted directly with insert_many; median of a fixed number "
             "of sequential requests after one warm-up (1k: 10, 10k: 5, 100k: 3)",
             "",
             f"{'leads':>8}{'insert s':>10}{'(a) bare':>11}{'(b) count':>11}"
             f"{'(c) graphql':>13}{'(d) rest':>10}{'(c)/(b)':>9}{'(d)/(b)':>9}   (median ms)"]
    for size, inserted, medians in rows:
        lines.append(
            f"{size:>8,}{inserted:>10.1f}{medians['bare']:>11.1f}{medians['count']:>11.1f}"
            f"{medians['graphql']:>13.1f}{medians['rest']:>10.1f}"
            f"{medians['graphql'] / medians['count']:>9.2f}"
            f"{medians['rest'] / medians['count']:>9.2f}"
        )
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        growth = last[0] / first[0]
        lines += ["", f"growth from {first[0]:,} to {last[0]:,} leads (x{growth:.0f} data):"]
        for label in ("count", "graphql", "rest"):
            lines.append(f"  {label:<8} x{last[2][label] / first[2][label]:.1f}")
    lines += ["", *notes] if notes else []
    return "\n".join(lines)


if __name__ == "__main__":
    bench()
