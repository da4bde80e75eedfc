"""Seed 002, the lead-management and voice document.

Paths (base ``/api/v1``): ``POST|GET /leads``,
``GET|PUT|DELETE /leads/{lead_id}``. Its ``POST /auth/login`` is shared with seed 004's
``/api/v1`` alias and lives in ``leadgraph.rest_compat.shared_login``.
Errors: ``{"error", "status_code", "details", "timestamp"}``; validation is a 422.
Auth: JWT bearer (API keys are accepted too).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Any, TypeVar

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from leadgraph.domain.activities import Activity
from leadgraph.domain.analytics import DEFAULT_DAYS, MAX_DAYS
from leadgraph.domain.errors import ValidationFailed
from leadgraph.domain.imports import ImportJob, check_export_format
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

LEAD_FIELDS = (
    "first_name", "last_name", "name", "email", "phone", "company", "title", "industry",
    "source", "status", "intent", "notes", "assigned_to", "tags", "project_type",
    "requirements_summary", "timeline", "budget_range", "follow_up_status",
)
_TITLES = {
    400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
    409: "Conflict", 413: "Payload too large", 422: "Validation error",
    429: "Too many requests",
    500: "Internal server error",
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


def score_shape(lead: Lead) -> dict[str, Any]:
    score = lead.score
    return {
        "overall_score": score.overall_score,
        "demographic_score": score.demographic_score,
        "behavioral_score": score.behavioral_score,
        "engagement_score": score.engagement_score,
        "intent_score": score.intent_score,
        "conversion_probability": score.conversion_probability,
        "factors": {
            "positive_factors": score.factors.positive_factors,
            "negative_factors": score.factors.negative_factors,
            "recommendations": score.recommendations,
        },
        "model_version": score.model_version,
    }


async def score_lead(call: Call) -> Response:
    """``POST /leads/{id}/score`` recomputes now and answers with the explained score."""
    lead_id = call.path_params["lead_id"]
    await call.use_cases.leads.get(call.actor(), lead_id)
    lead = await call.use_cases.scores.refresh(lead_id, "requested")
    return json_response(score_shape(lead))


def activity_shape(activity: Activity) -> dict[str, Any]:
    return {
        "id": activity.id,
        "lead_id": activity.lead_id,
        "activity_type": activity.activity_type,
        "description": activity.description,
        "metadata": activity.metadata,
        "created_at": iso_z(activity.created_at),
    }


async def add_activity(call: Call) -> Response:
    body = await call.json_object()
    activity = await call.use_cases.activities.add(
        call.actor(), call.path_params["lead_id"], body.get("activity_type"),
        body.get("description"), body.get("metadata"),
    )
    return json_response(activity_shape(activity), 201)


async def list_activities(call: Call) -> Response:
    page_number = call.query_int("page", 1, minimum=1, maximum=1_000_000)
    per_page = call.query_int("per_page", 50, minimum=1, maximum=MAX_PAGE_SIZE)
    items, total = await call.use_cases.activities.timeline(
        call.actor(), call.path_params["lead_id"], (page_number - 1) * per_page, per_page
    )
    return json_response({
        "activities": [activity_shape(activity) for activity in items],
        "total": total, "page": page_number, "per_page": per_page,
        "total_pages": math.ceil(total / per_page),
    })


# -- file upload: import and export (seed 002 "File Upload") ---------------------------------

UPLOAD_CHUNK = 64 * 1024


def import_job_shape(job: ImportJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "status": job.status.value,
        "filename": job.filename,
        "total_rows": job.total_rows,
        "processed_rows": job.processed_rows,
        "created": job.created,
        "updated": job.updated,
        "failed_rows": job.failed_rows,
        "error_count": job.error_count,
        "errors": [{"row": e.row, "field": e.field, "message": e.message} for e in job.errors],
        "errors_truncated": job.errors_truncated,
        "ignored_columns": job.ignored_columns,
        "message": job.message,
        "created_by": job.created_by,
        "created_at": iso_z(job.created_at),
        "started_at": iso_z(job.started_at),
        "finished_at": iso_z(job.finished_at),
    }


async def _upload_chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(UPLOAD_CHUNK):
        yield chunk


async def import_leads(call: Call) -> Response:
    """``POST /leads/import`` (multipart, field ``file``): 202 with the queued job."""
    try:
        form = await call.request.form(max_files=1, max_fields=20)
    except (MultiPartException, HTTPException) as exc:
        detail = exc.message if isinstance(exc, MultiPartException) else exc.detail
        raise ValidationFailed.single("file", f"Unreadable multipart body: {detail}") from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ValidationFailed.single(
                "file", "is required: send the CSV as the multipart/form-data field 'file'"
            )
        job = await call.use_cases.imports.start(
            call.actor(), upload.filename or "upload.csv", _upload_chunks(upload),
            upload.content_type,
        )
    finally:
        await form.close()
    return json_response(import_job_shape(job), 202,
                         {"Location": f"/api/v1/leads/import/{job.id}"})


async def get_import_job(call: Call) -> Response:
    job = await call.use_cases.imports.get(call.actor(), call.path_params["job_id"])
    return json_response(import_job_shape(job))


async def export_leads(call: Call) -> Response:
    """``GET /leads/export?format=csv|json`` with the list's filters, streamed."""
    fmt = check_export_format(call.query_str("format"))
    lead_filter = LeadFilter(
        statuses=_enum_filter(call, "status", LeadStatus),
        sources=_enum_filter(call, "source", LeadSource),
        assigned_to=call.query_str("assigned_to"),
        min_score=call.query_float("min_score"),
        search=call.query_str("search"),
    )
    chunks = call.use_cases.imports.export(call.actor(), lead_filter, fmt)
    return StreamingResponse(
        chunks, media_type="text/csv; charset=utf-8" if fmt == "csv" else "application/json",
        headers={"Content-Disposition": f'attachment; filename="leads.{fmt}"'},
    )



def _days(call: Call) -> int:
    return call.query_int("days", DEFAULT_DAYS, minimum=1, maximum=MAX_DAYS)


async def analytics_dashboard(call: Call) -> Response:
    """``GET /api/v1/analytics/dashboard?days=30`` (see ``leadgraph.domain.analytics``)."""
    metrics = await call.use_cases.analytics.dashboard(call.actor(), _days(call))
    return json_response({
        "totalLeads": metrics.total_leads,
        "newLeadsToday": metrics.new_leads_today,
        "totalCalls": metrics.total_calls,
        "callsToday": metrics.calls_today,
        "conversionRate": metrics.conversion_rate,
        "avgLeadScore": metrics.avg_lead_score,
        "revenue": metrics.revenue,
        "voiceAICallsActive": metrics.voice_ai_calls_active,
    })


async def analytics_overview(call: Call) -> Response:
    """``GET /api/v1/leads/analytics/overview?days=30``."""
    overview = await call.use_cases.analytics.lead_overview(call.actor(), _days(call))
    return json_response({
        "total_leads": overview.total_leads,
        "new_leads": overview.new_leads,
        "qualified_leads": overview.qualified_leads,
        "converted_leads": overview.converted_leads,
        "average_score": overview.average_score,
        "conversion_rate": overview.conversion_rate,
        "by_source": {item.key: item.count for item in overview.by_source},
        "by_status": {item.key: item.count for item in overview.by_status},
        "by_industry": {item.key: item.count for item in overview.by_industry},
    })


def routes() -> list[BaseRoute]:
    return [
        Route("/api/v1/leads", endpoint(DIALECT, create_lead), methods=["POST"]),
        Route("/api/v1/leads", endpoint(DIALECT, list_leads), methods=["GET"]),
        # Before "/leads/{lead_id}", which would otherwise take "import"/"export" for an id.
        Route("/api/v1/leads/import", endpoint(DIALECT, import_leads), methods=["POST"]),
        Route("/api/v1/leads/import/{job_id}", endpoint(DIALECT, get_import_job),
              methods=["GET"]),
        Route("/api/v1/leads/export", endpoint(DIALECT, export_leads), methods=["GET"]),
        Route("/api/v1/leads/{lead_id}/score", endpoint(DIALECT, score_lead), methods=["POST"]),
        Route("/api/v1/leads/{lead_id}/activities", endpoint(DIALECT, add_activity),
              methods=["POST"]),
        Route("/api/v1/leads/{lead_id}/activities", endpoint(DIALECT, list_activities),
              methods=["GET"]),
        Route("/api/v1/leads/{lead_id}", endpoint(DIALECT, get_lead), methods=["GET"]),
        Route("/api/v1/leads/{lead_id}", endpoint(DIALECT, update_lead), methods=["PUT"]),
        Route("/api/v1/leads/{lead_id}", endpoint(DIALECT, delete_lead), methods=["DELETE"]),
        Route("/api/v1/analytics/dashboard", endpoint(DIALECT, analytics_dashboard),
              methods=["GET"]),
        Route("/api/v1/leads/analytics/overview", endpoint(DIALECT, analytics_overview),
              methods=["GET"]),
    ]
