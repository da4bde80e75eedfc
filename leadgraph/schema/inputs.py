"""GraphQL input types. Unset fields stay out of the write; an explicit null clears a field."""

from __future__ import annotations

from typing import Any

import strawberry

from leadgraph.domain.leads import LeadFilter as DomainLeadFilter
from leadgraph.domain.leads import LeadOrder as DomainLeadOrder
from leadgraph.schema.types import (
    FollowUpStatus,
    LeadIntent,
    LeadSortField,
    LeadSource,
    LeadStatus,
    ProjectType,
    SortDirection,
)

UNSET: Any = strawberry.UNSET


def provided_fields(data: object) -> dict[str, Any]:
    """Snake-case field names and values the client actually sent."""
    return {
        name: (value.value if hasattr(value, "value") and not isinstance(value, str) else value)
        for name, value in vars(data).items()
        if value is not strawberry.UNSET
    }


@strawberry.input(description="A new lead. Same email or phone as an existing lead updates it.")
class LeadInput:
    name: str | None = UNSET
    first_name: str | None = UNSET
    last_name: str | None = UNSET
    email: str | None = UNSET
    phone: str | None = UNSET
    company: str | None = UNSET
    title: str | None = UNSET
    industry: str | None = UNSET
    source: LeadSource | None = UNSET  # type: ignore[valid-type]
    status: LeadStatus | None = UNSET  # type: ignore[valid-type]
    intent: LeadIntent | None = UNSET  # type: ignore[valid-type]
    project_type: ProjectType | None = UNSET  # type: ignore[valid-type]
    requirements_summary: str | None = UNSET
    timeline: str | None = UNSET
    budget_range: str | None = UNSET
    follow_up_status: FollowUpStatus | None = UNSET  # type: ignore[valid-type]
    notes: str | None = UNSET
    assigned_to: strawberry.ID | None = UNSET
    tags: list[str] | None = UNSET


@strawberry.input(description="Fields to change; omitted fields are left as they are.")
class LeadUpdateInput(LeadInput):
    pass


@strawberry.input
class LeadFilter:
    status: list[LeadStatus] | None = None  # type: ignore[valid-type]
    source: list[LeadSource] | None = None  # type: ignore[valid-type]
    intent: list[LeadIntent] | None = None  # type: ignore[valid-type]
    assigned_to: strawberry.ID | None = None
    min_score: float | None = None
    search: str | None = strawberry.field(
        default=None, description="Case-insensitive match on name, email or company."
    )

    def to_domain(self) -> DomainLeadFilter:
        return DomainLeadFilter(
            statuses=tuple(self.status or ()),
            sources=tuple(self.source or ()),
            intents=tuple(self.intent or ()),
            assigned_to=str(self.assigned_to) if self.assigned_to else None,
            min_score=self.min_score,
            search=self.search or None,
        )


@strawberry.input
class LeadOrder:
    field: LeadSortField = LeadSortField.CREATED_AT  # type: ignore[valid-type]
    direction: SortDirection = SortDirection.DESC

    def to_domain(self) -> DomainLeadOrder:
        return DomainLeadOrder(field=self.field, descending=self.direction is SortDirection.DESC)
