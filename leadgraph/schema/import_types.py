"""GraphQL types of bulk lead import (``importLeads``, ``importJob``, ``importJobProgress``).

Uploads follow the GraphQL multipart request spec; see ``LeadGraphView`` for the CSRF header
such a request needs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import strawberry
from starlette.datastructures import UploadFile

from leadgraph.domain import imports as domain_imports
from leadgraph.domain.errors import ValidationFailed

ImportJobStatus = strawberry.enum(domain_imports.ImportStatus, name="ImportJobStatus")
UPLOAD_CHUNK = 64 * 1024


@strawberry.type(description="One problem with one data row (row 1 is the first after the "
                             "header); `field` is the column as the file names it.")
class ImportRowError:
    row: int
    field: str
    message: str


@strawberry.type(description="A lead import running in the background.")
class ImportJob:
    id: strawberry.ID
    status: ImportJobStatus  # type: ignore[valid-type]
    filename: str
    total_rows: int | None
    processed_rows: int
    created: int = strawberry.field(description="New leads.")
    updated: int = strawberry.field(
        description="Rows merged into an existing lead (same email or phone), including "
                    "an earlier row of the same file."
    )
    failed_rows: int
    error_count: int = strawberry.field(description="All row errors, listed or not.")
    errors: list[ImportRowError] = strawberry.field(
        description=f"The first {domain_imports.MAX_STORED_ERRORS} row errors, by row."
    )
    errors_truncated: bool
    ignored_columns: list[str]
    message: str | None = strawberry.field(description="Why a failed job failed.")
    created_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def from_domain(cls, job: domain_imports.ImportJob) -> ImportJob:
        return cls(
            id=strawberry.ID(job.id), status=job.status, filename=job.filename,
            total_rows=job.total_rows, processed_rows=job.processed_rows, created=job.created,
            updated=job.updated, failed_rows=job.failed_rows, error_count=job.error_count,
            errors=[ImportRowError(row=e.row, field=e.field, message=e.message)
                    for e in job.errors],
            errors_truncated=job.errors_truncated, ignored_columns=list(job.ignored_columns),
            message=job.message, created_by=job.created_by, created_at=job.created_at,
            started_at=job.started_at, finished_at=job.finished_at,
        )


def uploaded_file(value: object) -> UploadFile:
    if not isinstance(value, UploadFile):
        raise ValidationFailed.single("file", "must be a file sent as a multipart upload")
    return value


async def upload_chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(UPLOAD_CHUNK):
        yield chunk
