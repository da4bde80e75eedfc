"""Seed 000, the agency chat document.

Paths: ``GET /api/leads`` (limit/offset/sort_by/sort_order), ``GET /api/leads/{lead_id}``.
Errors: ``{"error": {"code", "message", "details"}}``; bad input is a 400.
Auth: ``X-API-Key``.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from leadgraph.domain.errors import ValidationFailed
from leadgraph.domain.leads import Lead, LeadFilter, LeadOrder, LeadSortField
from leadgraph.domain.pagination import MAX_PAGE_SIZE, PageRequest
from leadgraph.rest_compat._http import Call, Dialect, Problem, endpoint, iso_z, json_response

SORT_FIELDS: dict[str, LeadSortField] = {
    "created_at": LeadSortField.CREATED_AT,
    "updated_at": LeadSortField.UPDATED_AT,
    "client_name": LeadSortField.NAME,
    "name": LeadSortField.NAME,
    "score": LeadSortField.SCORE,
    "company": LeadSortField.COMPANY,
    "status": LeadSortField.STATUS,
}


class AgencyChatDialect(Dialect):
    name = "agency_chat"
    validation_status = 400

    def error_body(self, problem: Problem) -> Any:
        return {"error": {
            "code": problem.code,
            "message": problem.message,
            "details": {p.field: p.message for p in problem.fields},
        }}


DIALECT = AgencyChatDialect()


def lead_shape(lead: Lead) -> dict[str, Any]:
    return {
        "id": lead.id,
        "client_name": lead.name,
        "contact_info": lead.contact_info,
        "project_type": lead.project_type.value if lead.project_type else None,
        "requirements_summary": lead.requirements_summary,
        "timeline": lead.timeline,
        "budget_range": lead.budget_range,
        "follow_up_status": lead.follow_up_status.value,
        "created_at": iso_z(lead.created_at),
    }


async def list_leads(call: Call) -> Response:
    limit = call.query_int("limit", 10, minimum=1, maximum=MAX_PAGE_SIZE)
    offset = call.query_int("offset", 0, minimum=0, maximum=10_000_000)
    sort_by = call.query_str("sort_by") or "created_at"
    sort_order = (call.query_str("sort_order") or "desc").lower()
    if sort_by not in SORT_FIELDS:
        raise ValidationFailed.single("sort_by", f"must be one of {', '.join(SORT_FIELDS)}")
    if sort_order not in ("asc", "desc"):
        raise ValidationFailed.single("sort_order", "must be 'asc' or 'desc'")
    page = await call.use_cases.leads.search(
        call.actor(), LeadFilter(),
        LeadOrder(field=SORT_FIELDS[sort_by], descending=sort_order == "desc"),
        PageRequest(offset=offset, limit=limit),
    )
    return json_response({
        "total": page.total, "limit": limit, "offset": offset,
        "leads": [lead_shape(lead) for lead in page.items],
    })


async def get_lead(call: Call) -> Response:
    lead = await call.use_cases.leads.get(call.actor(), call.path_params["lead_id"])
    return json_response({**lead_shape(lead), "conversation_history": []})


def routes() -> list[BaseRoute]:
    return [
        Route("/api/leads", endpoint(DIALECT, list_leads), methods=["GET"]),
        Route("/api/leads/{lead_id}", endpoint(DIALECT, get_lead), methods=["GET"]),
    ]
