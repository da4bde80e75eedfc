"""Lead import throughput (rows/s) and memory, against raw ``insert_many`` in the same run.

Run from the repository root: ``python -m bench.import_rows`` (``--sizes 10000`` for a quick
run). It starts an embedded nx-27017 in a temporary directory and, for each size:

    (a) baseline   the same lead documents (validated and scored beforehand, untimed), written
                   with PyMongo ``insert_many`` in batches of 500 into a collection with the
                   same indexes as ``leads``; only the ``insert_many`` calls are timed
    (b) import     ``ImportUseCases`` on the CSV file, in process, from ``start`` to the job's
                   completion: spooling, counting, parsing, validation, scoring, duplicate
                   lookups, ``insert_many``, one ``lead_imported`` activity per lead, job
                   progress per batch

Reported: rows/s for each, the ratio (b)/(a), and this process's RSS before, after and at
its peak during each step (the peak is the kernel's VmHWM, reset before the step). See
bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import gc
import importlib.metadata
import os
import platform
import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient

from leadgraph.adapters.mongo.embedded import EmbeddedMongo
from leadgraph.cli import CLI_PRINCIPAL
from leadgraph.domain.imports import HeaderMap, ImportStatus, ValidRow, plan_batch, validate_row
from leadgraph.runtime import open_runtime
from leadgraph.settings import Settings

DB_NAME = "leadgraph_bench_import"
BATCH = 500
DEFAULT_SIZES = (10_000, 100_000)
HEADER = ["first_name", "last_name", "email", "phone", "company", "title", "industry",
          "status", "tags", "notes"]


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="") as target:
        writer = csv.writer(target)
        writer.writerow(HEADER)
        for i in range(rows):
            writer.writerow([
                f"First{i}", f"Last{i}", f"person{i}@example.com",
                f"+1 555 {i // 10000:03d} {i % 10000:04d}", f"Company {i % 97}",
                "Head of Sales", "software", ("new", "contacted", "qualified")[i % 3],
                f"t{i % 5};bulk", "Imported by the benchmark",
            ])


def rss_kib(key: str = "VmRSS") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return 0


def reset_peak() -> None:
    gc.collect()
    with contextlib.suppress(OSError):  # then VmHWM is the peak since the process started
        Path("/proc/self/clear_refs").write_text("5")


@dataclass
class Step:
    name: str
    rows: int
    seconds: float
    rss_before: int
    rss_after: int
    rss_peak: int

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def batches_of_documents(path: Path) -> Iterator[list[dict[str, Any]]]:
    """The documents the import would write, batch by batch (never the whole file)."""
    with path.open(newline="") as source:
        reader = csv.reader(source)
        header = HeaderMap.from_header(next(reader))
        now = datetime.now(UTC)
        batch: list[ValidRow] = []
        for number, cells in enumerate(reader, start=1):
            row = validate_row(header, number, cells, now)
            assert isinstance(row, ValidRow), row
            batch.append(row)
            if len(batch) == BATCH:
                yield [p.fields.model_dump() for p in plan_batch(batch, [], now).inserts]
                batch = []
        if batch:
            yield [p.fields.model_dump() for p in plan_batch(batch, [], now).inserts]


async def baseline(client: AsyncMongoClient[dict[str, Any]], path: Path, rows: int) -> Step:
    collection = client[DB_NAME]["baseline_leads"]
    await collection.drop()
    for keys in (("email", ASCENDING), ("phone", ASCENDING), ("created_at", DESCENDING),
                 ("status", ASCENDING), ("assigned_to", ASCENDING)):
        await collection.create_index([keys])
    reset_peak()
    before = rss_kib()
    seconds = 0.0
    for documents in batches_of_documents(path):
        started = time.perf_counter()
        await collection.insert_many(documents, ordered=True)
        seconds += time.perf_counter() - started
    assert await collection.count_documents({}) == rows
    await collection.drop()
    return Step("(a) raw insert_many", rows, seconds, before, rss_kib(), rss_kib("VmHWM"))


async def file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as source:
        while chunk := await asyncio.to_thread(source.read, 64 * 1024):
            yield chunk


async def run_import(settings: Settings, path: Path, rows: int) -> Step:
    async with open_runtime(settings) as runtime:
        database = runtime.database.client[DB_NAME]
        for name in ("leads", "activities", "import_jobs"):
            await database[name].delete_many({})
        imports = runtime.use_cases.imports
        reset_peak()
        before = rss_kib()
        started = time.perf_counter()
        job = await imports.start(CLI_PRINCIPAL, path.name, file_chunks(path), "text/csv")
        job = await imports.wait(CLI_PRINCIPAL, job.id)
        seconds = time.perf_counter() - started
        after, peak = rss_kib(), rss_kib("VmHWM")
        assert job.status is ImportStatus.COMPLETED, job.message
        assert (job.created, job.failed_rows) == (rows, 0), job
        assert await database["leads"].count_documents({}) == rows
        assert await database["activities"].count_documents({}) == rows
    return Step("(b) ImportUseCases", rows, seconds, before, after, peak)


def versions() -> str:
    names = ("pymongo", "beanie", "nx-27017", "pydantic")
    return ", ".join(f"{name} {importlib.metadata.version(name)}" for name in names)


async def run(sizes: list[int]) -> None:
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, CPython {platform.python_version()}, "
          f"{versions()}")
    print("load average at start: " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))
    with tempfile.TemporaryDirectory(prefix="lg-bench-import-") as temp, \
            EmbeddedMongo(Path(temp) / "nx") as mongo:
        settings = Settings.model_validate({
            "mongodb_url": mongo.url, "mongodb_db_name": DB_NAME, "redis_url": None,
            "secret_key": secrets.token_urlsafe(48), "leadgraph_data_dir": Path(temp),
        })
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.url, tz_aware=True)
        try:
            print(f"\n{'step':28} {'rows':>8} {'seconds':>8} {'rows/s':>8} "
                  f"{'RSS MiB before':>15} {'after':>7} {'peak':>7}")
            for rows in sizes:
                path = Path(temp) / f"leads-{rows}.csv"
                await asyncio.to_thread(write_csv, path, rows)
                steps = [await baseline(client, path, rows), await run_import(settings, path, rows)]
                for step in steps:
                    print(f"{step.name:28} {step.rows:>8} {step.seconds:>8.1f} {step.rate:>8.0f} "
                          f"{step.rss_before / 1024:>15.0f} {step.rss_after / 1024:>7.0f} "
                          f"{step.rss_peak / 1024:>7.0f}")
                print(f"{'ratio (b)/(a) rows/s':28} {steps[1].rate / steps[0].rate:>35.2f}")
                path.unlink()
        finally:
            await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(size) for size in DEFAULT_SIZES),
                        help="comma-separated row counts (default: 10000,100000)")
    args = parser.parse_args()
    asyncio.run(run([int(size) for size in args.sizes.split(",")]))


if __name__ == "__main__":
    main()
