"""Bulk import and export of leads: CSV header mapping, the import job, batch planning.

Pure rules only; reading files, storage and background work live in
``leadgraph.resolvers.imports``. A CSV may use the lead field names of any legacy document
(``client_name`` and ``contact_info`` from seed 000, ``name`` from 001, ``first_name`` /
``last_name`` from 002, or a spreadsheet's "Full Name", "E-mail" …): headers are matched
case-, space- and dash-insensitively. Rows are numbered from 1 for the first data row (the
header is row 0), which is what a person sees in a spreadsheet minus the header line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from leadgraph.domain.errors import FieldProblem, ValidationFailed
from leadgraph.domain.leads import (
    WRITABLE_FIELDS,
    Lead,
    LeadFields,
    LeadInput,
    merge_duplicate,
    new_lead_fields,
)
from leadgraph.domain.scoring import score_lead

# Only this many row errors are kept on a job; ``error_count`` still counts all of them.
MAX_STORED_ERRORS = 1000
IMPORTS_CHANNEL = "imports"
LEADS_IMPORTED = "leads.imported"  # one event per batch and per status change, not per lead
CONTACT_INFO = "contact_info"  # seed 000: an email or a phone number in one column


class ImportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class RowError(BaseModel):
    """One problem with one data row; ``field`` is the column as the file spells it."""

    row: int
    field: str
    message: str


class ImportJob(BaseModel):
    id: str
    status: ImportStatus = ImportStatus.QUEUED
    filename: str
    total_rows: int | None = None
    processed_rows: int = 0
    created: int = 0  # new leads
    updated: int = 0  # rows merged into an existing lead (or an earlier row of the file)
    failed_rows: int = 0
    error_count: int = 0
    errors: list[RowError] = Field(default_factory=list)
    ignored_columns: list[str] = Field(default_factory=list)
    message: str | None = None  # why a failed job failed
    created_by: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in (ImportStatus.COMPLETED, ImportStatus.FAILED)

    @property
    def errors_truncated(self) -> bool:
        return self.error_count > len(self.errors)

    def add_errors(self, errors: Sequence[RowError]) -> None:
        self.error_count += len(errors)
        room = MAX_STORED_ERRORS - len(self.errors)
        if room > 0:
            self.errors.extend(errors[:room])

    def progress(self) -> dict[str, Any]:
        """What an event carries: counters and status, not the (possibly long) error list."""
        return self.model_dump(mode="json", exclude={"errors"})


# -- header mapping ----------------------------------------------------------------------------

_ALIASES: dict[str, str] = {
    # names
    "name": "name", "client_name": "name", "full_name": "name", "fullname": "name",
    "contact_name": "name", "lead_name": "name",
    "first_name": "first_name", "firstname": "first_name", "given_name": "first_name",
    "last_name": "last_name", "lastname": "last_name", "surname": "last_name",
    "family_name": "last_name",
    # contact
    "email": "email", "e_mail": "email", "email_address": "email", "mail": "email",
    "phone": "phone", "phone_number": "phone", "telephone": "phone", "mobile": "phone",
    "contact_info": CONTACT_INFO, "contact": CONTACT_INFO,
    # the rest of the lead
    "company": "company", "company_name": "company", "organization": "company",
    "organisation": "company",
    "title": "title", "job_title": "title",
    "industry": "industry",
    "source": "source", "lead_source": "source",
    "status": "status", "lead_status": "status",
    "intent": "intent",
    "project_type": "project_type",
    "requirements_summary": "requirements_summary", "requirements": "requirements_summary",
    "timeline": "timeline",
    "budget_range": "budget_range", "budget": "budget_range",
    "follow_up_status": "follow_up_status", "followup_status": "follow_up_status",
    "notes": "notes", "note": "notes",
    "assigned_to": "assigned_to", "assignee": "assigned_to", "assignee_id": "assigned_to",
    "tags": "tags", "tag": "tags",
}
_IDENTITY = frozenset({"name", "first_name", "last_name", "email", "phone", CONTACT_INFO})
_SEPARATORS = re.compile(r"[\s\-.]+")
_TAG_SPLIT = re.compile(r"[,;]")


def normalize_header(text: str) -> str:
    """``" Full-Name "`` -> ``full_name``; ``"E-mail"`` -> ``e_mail``."""
    return _SEPARATORS.sub("_", text.strip().lstrip("\ufeff").lower()).strip("_")


@dataclass(frozen=True)
class HeaderMap:
    """Which cell of a row feeds which lead field, and the columns nobody reads."""

    columns: tuple[tuple[int, str, str], ...]  # (index, field, header as written)
    ignored: tuple[str, ...]

    @classmethod
    def from_header(cls, header: Sequence[str]) -> HeaderMap:
        columns: list[tuple[int, str, str]] = []
        ignored: list[str] = []
        seen: dict[str, str] = {}
        for index, raw in enumerate(header):
            target = _ALIASES.get(normalize_header(raw))
            if target is None:
                if raw.strip():
                    ignored.append(raw.strip())
                continue
            if target in seen:
                raise ValidationFailed.single(
                    "file", f"Columns {seen[target]!r} and {raw.strip()!r} both mean {target!r}"
                )
            seen[target] = raw.strip()
            columns.append((index, target, raw.strip()))
        if not any(target in _IDENTITY for _, target, _ in columns):
            raise ValidationFailed.single(
                "file",
                "The first line must be a CSV header naming at least one of: name, client_name, "
                "first_name, last_name, email, phone, contact_info",
            )
        return cls(tuple(columns), tuple(ignored))

    def column_of(self, field_name: str) -> str:
        """The header the file uses for a lead field (contact_info feeds email and phone)."""
        for _, target, written in self.columns:
            if target == field_name:
                return written
        if field_name in ("email", "phone"):
            for _, target, written in self.columns:
                if target == CONTACT_INFO:
                    return written
        return field_name

    def row_values(self, cells: Sequence[str]) -> tuple[dict[str, Any], dict[str, str]]:
        """Lead input from one row (empty cells are absent) and, per field, its column."""
        values: dict[str, Any] = {}
        origin: dict[str, str] = {}
        contact: tuple[str, str] | None = None
        for index, target, written in self.columns:
            cell = cells[index].strip() if index < len(cells) else ""
            if not cell:
                continue
            if target == CONTACT_INFO:
                contact = (cell, written)
            elif target == "tags":
                values["tags"] = [tag for tag in _TAG_SPLIT.split(cell) if tag.strip()]
                origin["tags"] = written
            else:
                values[target] = cell
                origin[target] = written
        if contact is not None:
            cell, written = contact
            key = "email" if "@" in cell else "phone"
            if key not in values:
                values[key] = cell
                origin[key] = written
        return values, origin


# -- rows and batches ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ValidRow:
    row: int
    data: LeadInput


def validate_row(
    header: HeaderMap, row_number: int, cells: Sequence[str], now: datetime
) -> ValidRow | list[RowError]:
    """Check one row completely; a row is imported whole or not at all."""
    values, origin = header.row_values(cells)
    try:
        data = LeadInput.parse(values)
        new_lead_fields(data, now)  # a new lead needs a name, an email or a phone
    except ValidationFailed as exc:
        return [
            RowError(row=row_number, field=origin.get(p.field) or header.column_of(p.field),
                     message=p.message)
            for p in exc.problems
        ]
    return ValidRow(row=row_number, data=data)


def unknown_assignee(row: ValidRow, header: HeaderMap) -> RowError:
    return RowError(row=row.row, field=header.column_of("assigned_to"),
                    message="No user with this id")


def contact_keys(email: str | None, phone: str | None) -> list[str]:
    return [key for key in (f"e:{email}" if email else "", f"p:{phone}" if phone else "") if key]


@dataclass
class PlannedLead:
    """A lead the batch writes: new (``lead_id`` None) or an existing one to update."""

    fields: LeadFields
    rows: list[int]
    lead_id: str | None = None
    original: LeadFields | None = None
    rank: int = 0  # the oldest wins when a row matches several leads

    def changed(self) -> list[str]:
        if self.original is None:
            return list(WRITABLE_FIELDS)
        return [key for key in WRITABLE_FIELDS
                if getattr(self.fields, key) != getattr(self.original, key)]


@dataclass
class BatchPlan:
    inserts: list[PlannedLead] = field(default_factory=list)
    updates: list[PlannedLead] = field(default_factory=list)
    unchanged: list[PlannedLead] = field(default_factory=list)  # matched, nothing new
    created_rows: int = 0
    merged_rows: int = 0

    def update_values(self, planned: PlannedLead) -> dict[str, Any]:
        """The ``$set`` of an update: changed fields, the new score and ``updated_at``."""
        keys = set(planned.changed()) | {"score", "updated_at"}
        return planned.fields.model_dump(include=keys)


def plan_batch(rows: Iterable[ValidRow], existing: Sequence[Lead], now: datetime) -> BatchPlan:
    """Decide, for valid rows in file order, which leads to create and which to enrich.

    A row whose email or phone matches a stored lead (or a row earlier in the batch) is
    merged into it with the same rules as a single create (``merge_duplicate``); when it
    matches several, the oldest lead wins. Earlier batches are already stored, so matching
    against ``existing`` also de-duplicates across the whole file.
    """
    plan = BatchPlan()
    by_key: dict[str, PlannedLead] = {}
    stored: dict[str, PlannedLead] = {}
    ordered = sorted(existing, key=lambda item: (_aware(item.created_at), item.id))
    for rank, lead in enumerate(ordered):
        fields = LeadFields.model_validate(lead.model_dump(exclude={"id"}))
        planned = PlannedLead(fields=fields, rows=[], lead_id=lead.id,
                              original=fields.model_copy(deep=True), rank=rank)
        stored[lead.id] = planned
        for key in contact_keys(lead.email, lead.phone):
            by_key.setdefault(key, planned)
    for row in rows:
        matches = [by_key[key] for key in contact_keys(row.data.email, row.data.phone)
                   if key in by_key]
        if matches:
            target = min(matches, key=lambda planned: planned.rank)
            target.fields = merge_duplicate(target.fields, row.data, now).fields
            target.rows.append(row.row)
            plan.merged_rows += 1
        else:
            target = PlannedLead(fields=new_lead_fields(row.data, now), rows=[row.row],
                                 rank=len(ordered) + row.row)
            plan.inserts.append(target)
            plan.created_rows += 1
        for key in contact_keys(target.fields.email, target.fields.phone):
            by_key.setdefault(key, target)
    for planned in plan.inserts:
        planned.fields.score = score_lead(planned.fields, now)
    for planned in stored.values():
        if planned.rows and planned.changed():
            planned.fields.updated_at = now
            planned.fields.score = score_lead(planned.fields, now)
            plan.updates.append(planned)
        elif planned.rows:
            plan.unchanged.append(planned)
    return plan


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- export ----------------------------------------------------------------------------------

# Seed 002's lead field names, plus the fields of seeds 000/001 it lacks; a CSV written with
# these headers imports again unchanged (``id``, scores and timestamps are ignored on import).
EXPORT_COLUMNS: tuple[str, ...] = (
    "id", "first_name", "last_name", "name", "email", "phone", "company", "title", "industry",
    "source", "status", "intent", "notes", "assigned_to", "tags", "project_type",
    "requirements_summary", "timeline", "budget_range", "follow_up_status", "overall_score",
    "conversion_probability", "created_at", "updated_at",
)
EXPORT_FORMATS = ("csv", "json")


def iso_z(moment: datetime) -> str:
    return _aware(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def export_record(lead: Lead) -> dict[str, Any]:
    """One lead as an export row (JSON types: tags a list, scores numbers)."""
    return {
        "id": lead.id,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "name": lead.name,
        "email": lead.email,
        "phone": lead.phone,
        "company": lead.company,
        "title": lead.title,
        "industry": lead.industry,
        "source": lead.source.value,
        "status": lead.status.value,
        "intent": lead.intent.value,
        "notes": lead.notes,
        "assigned_to": lead.assigned_to,
        "tags": list(lead.tags),
        "project_type": lead.project_type.value if lead.project_type else None,
        "requirements_summary": lead.requirements_summary,
        "timeline": lead.timeline,
        "budget_range": lead.budget_range,
        "follow_up_status": lead.follow_up_status.value,
        "overall_score": lead.score.overall_score,
        "conversion_probability": lead.score.conversion_probability,
        "created_at": iso_z(lead.created_at),
        "updated_at": iso_z(lead.updated_at),
    }


def csv_cells(record: Mapping[str, Any]) -> list[str]:
    """A record as CSV cells: ``None`` is empty, tags are ``;``-separated."""
    cells = []
    for column in EXPORT_COLUMNS:
        value = record[column]
        if value is None:
            cells.append("")
        elif isinstance(value, list):
            cells.append(";".join(str(item) for item in value))
        else:
            cells.append(str(value))
    return cells


def check_export_format(value: str | None) -> str:
    fmt = (value or "csv").strip().lower()
    if fmt not in EXPORT_FORMATS:
        raise ValidationFailed([FieldProblem("format", "must be one of csv, json")])
    return fmt
