"""Bulk lead import as background jobs, and streaming export.

An upload is first copied to a spool file (so the request ends at once and the job does not
depend on the transport's temporary file), its header is checked, and a job is stored as
``queued``. A background task owned by ``ImportUseCases`` then reads the file with the
``csv`` module ``batch_size`` rows at a time; for each batch it validates every row (in a
worker thread, off the event loop), looks up duplicates with one query, inserts the new leads
with one ``insert_many``, updates the matched ones with one ``bulk_write``, records one
``lead_imported`` activity per lead, stores the job's progress and publishes one
``leads.imported`` event on the ``imports`` channel. Memory depends on the batch size, not on
the file. ``aclose`` cancels running jobs (they end ``failed``, saying why) when the service
stops; a job interrupted by a crash stays ``running``.

Export streams CSV or JSON from a database cursor, in chunks of about 64 KB.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import csv
import io
import json
import logging
import os
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from leadgraph.domain.activities import LEAD_IMPORTED, ActivityFields
from leadgraph.domain.errors import NotFound, ValidationFailed
from leadgraph.domain.events import DomainEvent
from leadgraph.domain.imports import (
    EXPORT_COLUMNS,
    IMPORTS_CHANNEL,
    LEADS_IMPORTED,
    HeaderMap,
    ImportJob,
    ImportStatus,
    RowError,
    ValidRow,
    check_export_format,
    csv_cells,
    export_record,
    plan_batch,
    unknown_assignee,
    validate_row,
)
from leadgraph.domain.leads import LeadFilter
from leadgraph.domain.ports import (
    ActivityRepository,
    Clock,
    EventBroker,
    ImportJobRepository,
    LeadBulkStore,
    UserRepository,
)
from leadgraph.domain.users import Principal

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 500
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
EXPORT_CHUNK = 64 * 1024
EXPORT_BATCH = 500
_CSV_TYPES = frozenset({
    "", "text/csv", "application/csv", "text/x-csv", "text/plain", "application/vnd.ms-excel",
    "application/octet-stream",
})
_CSV_SUFFIXES = frozenset({"", ".csv", ".txt"})
EXPORT_MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


class FileProblem(Exception):
    """The file cannot be read as UTF-8 CSV past some row: the job fails, saying where."""


@dataclass(frozen=True)
class _Batch:
    results: list[ValidRow | list[RowError]]
    now: datetime


class _CsvFile:
    """A spooled CSV, read in a worker thread one batch at a time."""

    def __init__(self, path: Path) -> None:
        self._file: IO[str] = path.open(newline="", encoding="utf-8-sig")
        self._reader = csv.reader(self._file)
        self._record = 0

    def header(self) -> list[str]:
        return self._next() or []

    def _next(self) -> list[str] | None:
        try:
            return next(self._reader, None)
        except UnicodeDecodeError:
            raise FileProblem(f"Row {self._record + 1}: the file is not UTF-8 text") from None
        except csv.Error as exc:
            raise FileProblem(f"Row {self._record + 1}: {exc}") from None

    def read_batch(self, header: HeaderMap, size: int, now: datetime) -> _Batch:
        results: list[ValidRow | list[RowError]] = []
        while len(results) < size:
            cells = self._next()
            if cells is None:
                break
            self._record += 1
            if any(cell.strip() for cell in cells):  # blank lines keep their number, no more
                results.append(validate_row(header, self._record, cells, now))
        return _Batch(results, now)

    def count_rows(self) -> int:
        count = 0
        while (cells := self._next()) is not None:
            self._record += 1
            if any(cell.strip() for cell in cells):
                count += 1
        return count

    def close(self) -> None:
        self._file.close()


def _read_header(path: Path) -> list[str]:
    source = _CsvFile(path)
    try:
        return source.header()
    finally:
        source.close()


def _count_rows(path: Path) -> int:
    source = _CsvFile(path)
    try:
        source.header()
        return source.count_rows()
    finally:
        source.close()


def _check_file_kind(filename: str, content_type: str | None) -> None:
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type not in _CSV_TYPES or Path(filename).suffix.lower() not in _CSV_SUFFIXES:
        raise ValidationFailed.single("file", "must be a CSV file (text/csv, .csv)")


class ImportUseCases:
    def __init__(
        self,
        jobs: ImportJobRepository,
        leads: LeadBulkStore,
        users: UserRepository,
        activities: ActivityRepository,
        broker: EventBroker,
        clock: Clock,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_concurrent_jobs: int = 2,
        max_bytes: int = DEFAULT_MAX_BYTES,
        spool_dir: Path | None = None,
        rescore: Callable[[str, str], None] | None = None,
    ) -> None:
        """``rescore(lead_id, trigger)`` asks for a full rescoring (with conversation and
        activity signals) of existing leads an import changed; new leads get
        ``score_lead(fields, now)`` at once."""
        self._jobs = jobs
        self._leads = leads
        self._users = users
        self._activities = activities
        self._broker = broker
        self._clock = clock
        self._batch_size = batch_size
        self._max_bytes = max_bytes
        self._spool_dir = spool_dir
        self._rescore = rescore
        self._slots = asyncio.Semaphore(max_concurrent_jobs)
        self._tasks: dict[str, asyncio.Task[None]] = {}

    # -- import ----------------------------------------------------------------------------

    async def start(
        self, actor: Principal, filename: str, chunks: AsyncIterator[bytes],
        content_type: str | None = None,
    ) -> ImportJob:
        """Spool the upload, check its header and queue the job; returns it ``queued``."""
        _check_file_kind(filename, content_type)
        path = await self._spool(chunks)
        try:
            try:
                header = HeaderMap.from_header(await asyncio.to_thread(_read_header, path))
            except FileProblem:
                raise ValidationFailed.single("file", "must be UTF-8 CSV text") from None
        except BaseException:
            await asyncio.to_thread(path.unlink, missing_ok=True)
            raise
        job = await self._jobs.create(
            filename=filename or "upload.csv", created_by=actor.id, now=self._clock.now()
        )
        job.ignored_columns = list(header.ignored)
        # The task works on its own copy: the caller may still be rendering the queued job.
        task = asyncio.create_task(
            self._run(job.model_copy(deep=True), path, header), name=f"lead-import-{job.id}"
        )
        self._tasks[job.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job.id, None))
        return job

    async def get(self, actor: Principal, job_id: str) -> ImportJob:
        job = await self._jobs.get(job_id)
        if job is None:
            raise NotFound("Import job", job_id)
        return job

    async def find(self, actor: Principal, job_id: str) -> ImportJob | None:
        return await self._jobs.get(job_id)

    async def wait(self, actor: Principal, job_id: str) -> ImportJob:
        """The job once this process has finished running it (or at once if it is not ours)."""
        task = self._tasks.get(job_id)
        if task is not None:
            await asyncio.wait({task})
        return await self.get(actor, job_id)

    async def watch(self, actor: Principal, job_id: str) -> AsyncGenerator[ImportJob, None]:
        """The job now, then after every batch, until it completes or fails."""
        subscription = self._broker.subscribe(IMPORTS_CHANNEL)
        try:
            job = await self.get(actor, job_id)
            yield job
            if job.finished:
                return
            async for event in subscription:
                if event.data.get("job", {}).get("id") != job_id:
                    continue
                job = await self.get(actor, job_id)
                yield job
                if job.finished:
                    return
        finally:
            await subscription.aclose()

    async def aclose(self) -> None:
        """Cancel the jobs still running (each records that it was interrupted)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _spool(self, chunks: AsyncIterator[bytes]) -> Path:
        descriptor, name = tempfile.mkstemp(
            prefix="leadgraph-import-", suffix=".csv", dir=self._spool_dir
        )
        path = Path(name)
        size = 0
        # Checked whole before the job exists, so a bad byte deep in the file cannot stop an
        # import half-way.
        utf8 = codecs.getincrementaldecoder("utf-8")()
        try:
            with os.fdopen(descriptor, "wb") as spool:
                async for chunk in chunks:
                    if size == 0 and b"\x00" in chunk[:8192]:
                        raise ValidationFailed.single("file", "must be a CSV text file")
                    try:
                        utf8.decode(chunk)
                    except UnicodeDecodeError:
                        raise ValidationFailed.single(
                            "file", f"must be UTF-8 text (invalid byte near offset {size})"
                        ) from None
                    size += len(chunk)
                    if size > self._max_bytes:
                        raise ValidationFailed.single(
                            "file", f"must be at most {self._max_bytes // (1024 * 1024)} MB"
                        )
                    await asyncio.to_thread(spool.write, chunk)
            try:
                utf8.decode(b"", final=True)
            except UnicodeDecodeError:
                raise ValidationFailed.single("file", "must be UTF-8 text (truncated)") from None
            if size == 0:
                raise ValidationFailed.single("file", "is empty")
        except BaseException:
            await asyncio.to_thread(path.unlink, missing_ok=True)
            raise
        return path

    async def _run(self, job: ImportJob, path: Path, header: HeaderMap) -> None:
        try:
            await self._save(job)  # announces "queued"
            async with self._slots:
                await self._process(job, path, header)
        except asyncio.CancelledError:
            await self._fail(job, "Interrupted: the service stopped before the import finished")
            raise
        except FileProblem as exc:
            await self._fail(job, str(exc))
        except Exception:
            log.exception("lead import %s failed", job.id)
            await self._fail(job, "Internal error; rows before the failing batch were imported")
        finally:
            await asyncio.to_thread(path.unlink, missing_ok=True)

    async def _process(self, job: ImportJob, path: Path, header: HeaderMap) -> None:
        job.status = ImportStatus.RUNNING
        job.started_at = self._clock.now()
        job.total_rows = await asyncio.to_thread(_count_rows, path)
        await self._save(job)
        source = await asyncio.to_thread(_CsvFile, path)
        await asyncio.to_thread(source.header)

        def read_next() -> asyncio.Future[_Batch]:
            # Reading and validating the next batch (a worker thread) overlaps with writing
            # the current one (the database), so both cores work; at most two batches live.
            now = self._clock.now()
            return asyncio.ensure_future(
                asyncio.to_thread(source.read_batch, header, self._batch_size, now)
            )

        pending = read_next()
        try:
            while (batch := await pending).results:
                pending = read_next()
                await self._write_batch(job, header, batch.results, batch.now)
                await self._save(job)
        finally:
            # The worker thread cannot be interrupted: let it finish before closing its file.
            await asyncio.wait({pending})
            if not pending.cancelled():
                pending.exception()  # retrieved: a failure here is reported by the loop above
            source.close()
        job.status = ImportStatus.COMPLETED
        job.finished_at = self._clock.now()
        await self._save(job)

    async def _write_batch(
        self, job: ImportJob, header: HeaderMap, results: Sequence[ValidRow | list[RowError]],
        now: datetime,
    ) -> None:
        valid = [result for result in results if isinstance(result, ValidRow)]
        errors = [error for result in results if isinstance(result, list) for error in result]
        failed = len(results) - len(valid)
        assignees = {row.data.assigned_to for row in valid if row.data.assigned_to}
        if assignees:
            known = {user.id for user in await self._users.get_many(sorted(assignees))}
            unknown = [row for row in valid if row.data.assigned_to
                       and row.data.assigned_to not in known]
            if unknown:
                errors += [unknown_assignee(row, header) for row in unknown]
                failed += len(unknown)
                refused = {row.row for row in unknown}
                valid = [row for row in valid if row.row not in refused]
        existing = await self._leads.find_by_contacts(
            sorted({row.data.email for row in valid if row.data.email}),
            sorted({row.data.phone for row in valid if row.data.phone}),
        )
        plan = await asyncio.to_thread(plan_batch, valid, existing, now)
        ids = await self._leads.insert_many([planned.fields for planned in plan.inserts])
        for planned, lead_id in zip(plan.inserts, ids, strict=True):
            planned.lead_id = lead_id
        await self._leads.update_many(
            [(planned.lead_id, plan.update_values(planned)) for planned in plan.updates
             if planned.lead_id]
        )
        activities = [
            ActivityFields(
                lead_id=planned.lead_id, activity_type=LEAD_IMPORTED,
                description=(f"Imported from {job.filename}" if created
                             else f"Updated by the import of {job.filename}"),
                metadata={"job_id": job.id, "rows": planned.rows, "created": created},
                actor=job.created_by, created_at=now,
            )
            for group, created in ((plan.inserts, True), (plan.updates, False),
                                   (plan.unchanged, False))
            for planned in group if planned.lead_id
        ]
        await self._activities.insert_many(activities)
        if self._rescore is not None:
            for planned in plan.updates:
                if planned.lead_id:
                    self._rescore(planned.lead_id, "lead_imported")
        job.created += plan.created_rows
        job.updated += plan.merged_rows
        job.failed_rows += failed
        job.processed_rows += len(results)
        job.add_errors(sorted(errors, key=lambda error: error.row))

    async def _fail(self, job: ImportJob, message: str) -> None:
        job.status = ImportStatus.FAILED
        job.message = message
        job.finished_at = self._clock.now()
        try:
            await self._save(job)
        except Exception:
            log.exception("could not record the failure of lead import %s", job.id)

    async def _save(self, job: ImportJob) -> None:
        await self._jobs.save(job)
        try:
            await self._broker.publish(DomainEvent(
                type=LEADS_IMPORTED, channel=IMPORTS_CHANNEL, data={"job": job.progress()}
            ))
        except Exception:
            log.warning("could not publish the progress of lead import %s", job.id,
                        exc_info=True)

    # -- export ----------------------------------------------------------------------------

    def export(
        self, actor: Principal, lead_filter: LeadFilter, fmt: str | None
    ) -> AsyncIterator[bytes]:
        """The matching leads (newest first) as CSV or a JSON array, in ~64 KB chunks.

        The format is checked here, before anything is streamed, so a bad one is a normal
        validation error.
        """
        if check_export_format(fmt) == "json":
            return self._export_json(lead_filter)
        return self._export_csv(lead_filter)

    async def _export_csv(self, lead_filter: LeadFilter) -> AsyncGenerator[bytes, None]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_COLUMNS)
        async with contextlib.aclosing(self._leads.stream(lead_filter, EXPORT_BATCH)) as leads:
            async for lead in leads:
                writer.writerow(csv_cells(export_record(lead)))
                if buffer.tell() >= EXPORT_CHUNK:
                    yield buffer.getvalue().encode()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue().encode()

    async def _export_json(self, lead_filter: LeadFilter) -> AsyncGenerator[bytes, None]:
        parts: list[str] = ["["]
        size = 1
        separator = "\n"
        async with contextlib.aclosing(self._leads.stream(lead_filter, EXPORT_BATCH)) as leads:
            async for lead in leads:
                item = separator + json.dumps(export_record(lead), ensure_ascii=False)
                separator = ",\n"
                parts.append(item)
                size += len(item)
                if size >= EXPORT_CHUNK:
                    yield "".join(parts).encode()
                    parts, size = [], 0
        parts.append("\n]\n")
        yield "".join(parts).encode()
