"""Duplicate detection and reversible merges of leads.

A merge keeps an audit record with both leads as they were and what moved, so it can be
undone exactly (``unmergeLeads``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from leadgraph.domain.errors import ValidationFailed
from leadgraph.domain.leads import LeadFields, LeadIntent

DUPLICATE_THRESHOLD = 0.5
_INTENT_RANK = {LeadIntent.NEUTRAL: 0, LeadIntent.COLD: 1, LeadIntent.WARM: 2, LeadIntent.HOT: 3}
# Fields a merge fills on the primary from the duplicate when the primary lacks them.
FILLABLE = ("first_name", "last_name", "name", "email", "phone", "company", "title",
            "industry", "project_type", "requirements_summary", "timeline", "budget_range",
            "assigned_to")


class DuplicateMatch(BaseModel):
    lead_id: str
    likelihood: float
    reasons: list[str]


class MergeRecord(BaseModel):
    id: str | None = None
    primary_id: str
    duplicate_id: str
    primary_before: dict[str, Any]
    duplicate_before: dict[str, Any]
    moved_conversations: list[str] = Field(default_factory=list)
    moved_activities: list[str] = Field(default_factory=list)
    actor: str | None = None
    merged_at: datetime
    undone_at: datetime | None = None

    @field_validator("merged_at", "undone_at", mode="after")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        """Stores that drop the zone (nx-27017 after ``$set``) keep UTC."""
        return value.replace(tzinfo=UTC) if value and value.tzinfo is None else value


def _digits(phone: str | None) -> str:
    return re.sub(r"\D", "", phone or "")


def duplicate_likelihood(a: LeadFields, b: LeadFields) -> tuple[float, list[str]]:
    """How likely two leads are the same person, with the evidence."""
    score, reasons = 0.0, []
    if a.email and a.email == b.email:
        score += 0.9
        reasons.append("Same email")
    if a.phone and b.phone and _digits(a.phone)[-7:] == _digits(b.phone)[-7:]:
        score += 0.7
        reasons.append("Same phone number")
    if a.name and a.name.casefold() == b.name.casefold():
        score += 0.4
        reasons.append("Same name")
        if a.company and b.company and a.company.casefold() == b.company.casefold():
            score += 0.3
            reasons.append("Same company")
    same_last_name = bool(a.last_name) and a.last_name.casefold() == b.last_name.casefold()
    if (a.email and b.email and same_last_name
            and a.email.split("@")[-1] == b.email.split("@")[-1]):
        score += 0.3
        reasons.append("Same last name and email domain")
    return min(score, 1.0), reasons


def merged_fields(primary: LeadFields, duplicate: LeadFields, now: datetime) -> LeadFields:
    """The primary wins; it gains what only the duplicate knew. Tags and notes are combined."""
    values = primary.model_dump()
    for key in FILLABLE:
        if not values.get(key) and getattr(duplicate, key):
            values[key] = getattr(duplicate, key)
    values["tags"] = sorted(set(primary.tags) | set(duplicate.tags))
    notes = [n for n in (primary.notes, duplicate.notes) if n]
    values["notes"] = "\n\n".join(dict.fromkeys(notes)) or None
    if _INTENT_RANK[duplicate.intent] > _INTENT_RANK[primary.intent]:
        values["intent"] = duplicate.intent
    values["created_at"] = min(primary.created_at, duplicate.created_at)
    values["updated_at"] = now
    return LeadFields.model_validate(values)


def check_mergeable(primary_id: str, duplicate_id: str) -> None:
    if primary_id == duplicate_id:
        raise ValidationFailed.single("duplicateId", "A lead cannot be merged into itself")
