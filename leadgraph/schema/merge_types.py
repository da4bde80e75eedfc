"""GraphQL types for duplicates and merges."""

from __future__ import annotations

from datetime import datetime

import strawberry

from leadgraph.domain.merges import MergeRecord
from leadgraph.schema.types import Lead


@strawberry.type
class DuplicateCandidate:
    lead: Lead
    likelihood: float = strawberry.field(description="0..1: how likely it is the same person.")
    reasons: list[str]


@strawberry.type
class LeadMerge:
    id: strawberry.ID
    primary_id: strawberry.ID
    duplicate_id: strawberry.ID
    merged_at: datetime
    undone_at: datetime | None

    @classmethod
    def from_domain(cls, record: MergeRecord) -> LeadMerge:
        return cls(
            id=strawberry.ID(record.id or ""), primary_id=strawberry.ID(record.primary_id),
            duplicate_id=strawberry.ID(record.duplicate_id), merged_at=record.merged_at,
            undone_at=record.undone_at,
        )


@strawberry.type
class MergeLeadsResult:
    lead: Lead
    merge: LeadMerge = strawberry.field(description="Pass merge.id to unmergeLeads to undo.")


@strawberry.type
class UnmergeLeadsResult:
    primary: Lead
    restored: Lead
    merge: LeadMerge
