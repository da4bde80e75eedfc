"""The lead timeline: everything that happened with a lead, in one ordered list.

Messages, calls, status changes, imports and merges are recorded here by the use cases that
cause them; people add their own (``email_sent``, ``meeting`` …) through seed 002 or GraphQL.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from leadgraph.domain.errors import FieldProblem, ValidationFailed

# Types the system itself records; callers may use these or their own snake_case names.
MESSAGE_RECEIVED = "message_received"
STATUS_CHANGED = "status_changed"
CALL_COMPLETED = "call_completed"
LEAD_IMPORTED = "lead_imported"
LEADS_MERGED = "leads_merged"
LEAD_ASSIGNED = "lead_assigned"
_TYPE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
MAX_DESCRIPTION = 2000
MAX_METADATA_KEYS = 50


class ActivityFields(BaseModel):
    lead_id: str
    activity_type: str
    description: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)
    actor: str | None = None
    created_at: datetime


class Activity(ActivityFields):
    id: str


def validate_activity(
    activity_type: object, description: object, metadata: object
) -> tuple[str, str, dict[str, Any]]:
    """Seed 002's ``{activity_type, description, metadata}``, checked field by field."""
    problems: list[FieldProblem] = []
    if not isinstance(activity_type, str) or not _TYPE.match(activity_type.strip().lower()):
        problems.append(FieldProblem(
            "activity_type", "must be a snake_case name like 'email_sent' (2-64 characters)"
        ))
    if description is None:
        description = ""
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        problems.append(FieldProblem(
            "description", f"must be a string of at most {MAX_DESCRIPTION} characters"
        ))
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict) or len(metadata) > MAX_METADATA_KEYS:
        problems.append(FieldProblem(
            "metadata", f"must be an object with at most {MAX_METADATA_KEYS} keys"
        ))
    if problems:
        raise ValidationFailed(problems)
    assert isinstance(activity_type, str) and isinstance(description, str)
    assert isinstance(metadata, dict)
    return activity_type.strip().lower(), description.strip(), metadata
