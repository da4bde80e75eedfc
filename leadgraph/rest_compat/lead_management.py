"""Seed 002, the lead-management and voice document.

Paths (base ``/api/v1``): ``POST /auth/login``, ``POST|GET /leads``,
``GET|PUT|DELETE /leads/{lead_id}``.
Errors: ``{"error", "status_code", "details", "timestamp"}``; validation is a 422.
Auth: JWT bearer (API keys are accepted too).
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any, TypeVar

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from leadgraph.domain.errors import ValidationFailed
from leadgraph.domain.leads import (
    Lead,
    LeadFilter,
    LeadOrder,
    LeadSource,
    LeadStatus,
)
from leadgraph.domain.pagination import MAX_PAGE_SIZE, PageRequest
from leadgraph.rest_compat._http import (
    DEDUPLICATED_HEADER,
    Call,
    Dialect,
    Problem,
    accepted,
    endpoint,
    iso_z,
    json_response,
    now_z,
)
from leadgraph.rest_compat._shapes import login_with_email, snake_token_grant

LEAD_FIELDS = (
    "first_name", "last_name", "name", "email", "phone", "company", "title", "industry",
    "source", "status", "intent", "notes", "assigned_to", "tags", "project_type",
    "requirements_summary", "timeline", "budget_range", "follow_up_status",
)
_TITLES = {
    400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
    409: "Conflict", 422: "Validation error", 500: "Internal server error",
    503: "Service unavailable",
}


class LeadManagementDialect(Dialect):
    name = "lead_management"
    validation_status = 422

    def error_body(self, problem: Problem) -> Any:
        details: dict[str, Any] = {"message": problem.message}
        if problem.fields:
            first = problem.fields[0]
            details = {"field": first.field, "message": first.message}
            if len(problem.fields) > 1:
                details["errors"] = [
                    {"field": p.field, "message": p.message} for p in problem.fields
                ]
        return {
            "error": _TITLES.get(problem.status, "Error"),
            "status_code": problem.status,
            "details": details,
            "timestamp": now_z(),
        }


DIALECT = LeadManagementDialect()


def lead_shape(lead: Lead) -> dict[str, Any]:
    score = lead.score
    return {
        "id": lead.id,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
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
        "tags": lead.tags,
        "score": {
            "overall_score": score.overall_score,
            "demographic_score": score.demographic_score,
            "behavioral_score": score.behavioral_score,
            "engagement_score": score.engagement_score,
            "intent_score": score.intent_score,
            "conversion_probability": score.conversion_probability,
        },
        "created_at": iso_z(lead.created_at),
        "updated_at": iso_z(lead.updated_at),
    }


E = TypeVar("E", bound=StrEnum)


def _enum_filter(call: Call, name: str, kind: type[E]) -> tuple[E, ...]:
    """``?status=new,contacted`` -> members; an unknown value names the parameter."""
    raw = call.query_str(name)
    if raw is None:
        return ()
    try:
        return tuple(kind(part.strip().lower()) for part in raw.split(",") if part.strip())
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise ValidationFailed.single(name, f"must be one of {allowed}") from None


async def login(call: Call) -> Response:
    return json_response(snake_token_grant(await login_with_email(call)))


async def create_lead(call: Call) -> Response:
    body = accepted(await call.json_object(), LEAD_FIELDS)
    write = await call.use_cases.leads.create(call.actor(), body)
    if write.deduplicated:
        return json_response(lead_shape(write.lead), 200, {DEDUPLICATED_HEADER: "true"})
    return json_response(lead_shape(write.lead), 201)


async def list_leads(call: Call) -> Response:
    page_number = call.query_int("page", 1, minimum=1, maximum=1_000_000)
    per_page = call.query_int("per_page", 50, minimum=1, maximum=MAX_PAGE_SIZE)
    lead_filter = LeadFilter(
        statuses=_enum_filter(call, "status", LeadStatus),
        sources=_enum_filter(call, "source", LeadSource),
        assigned_to=call.query_str("assigned_to"),
        min_score=call.query_float("min_score"),
        search=call.query_str("search"),
    )
    page = await call.use_cases.leads.search(
        call.actor(), lead_filter, LeadOrder(),
        PageRequest(offset=(page_number - 1) * per_page, limit=per_page),
    )
    return json_response({
        "leads": [lead_shape(lead) for lead in page.items],
        "total": page.total,
        "page": page_number,
        "per_page": per_page,
        "total_pages": math.ceil(page.total / per_page),
    })


async def get_lead(call: Call) -> Response:
    lead = await call.use_cases.leads.get(call.actor(), call.path_params["lead_id"])
    return json_response(lead_shape(lead))


async def update_lead(call: Call) -> Response:
    body = accepted(await call.json_object(), LEAD_FIELDS)
    lead = await call.use_cases.leads.update(call.actor(), call.path_params["lead_id"], body)
    return json_response(lead_shape(lead))


async def delete_lead(call: Call) -> Response:
    lead = await call.use_cases.leads.delete(call.actor(), call.path_params["lead_id"])
    return json_response({"success": True, "id": lead.id, "message": "Lead deleted"})


def routes() -> list[BaseRoute]:
    return [
        Route("/api/v1/auth/login", endpoint(DIALECT, login, public=True), methods=["POST"]),
        Route("/api/v1/leads", endpoint(DIALECT, create_lead), methods=["POST"]),
        Route("/api/v1/leads", endpoint(DIALECT, list_leads), methods=["GET"]),
        Route("/api/v1/leads/{lead_id}", endpoint(DIALECT, get_lead), methods=["GET"]),
        Route("/api/v1/leads/{lead_id}", endpoint(DIALECT, update_lead), methods=["PUT"]),
        Route("/api/v1/leads/{lead_id}", endpoint(DIALECT, delete_lead), methods=["DELETE"]),
    ]
