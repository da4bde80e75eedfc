"""Seed 001, the lead-capture document (FastAPI conventions).

Paths: ``GET /``, ``GET /health``, ``POST /api/v1/lead/``, ``GET /api/v1/lead/{lead_id}``.
Errors: ``{"detail": "…"}``; validation errors in FastAPI's list form with ``loc``/``msg``.
Auth: ``X-API-Key`` or ``Authorization: Bearer <key>``.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from leadgraph.domain.leads import Lead
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

ROOT_MESSAGE = "AI Lead Capture & Automation System is running!"
LEAD_FIELDS = ("name", "email", "phone", "source", "intent")


class LeadCaptureDialect(Dialect):
    name = "lead_capture"
    validation_status = 422

    def error_body(self, problem: Problem) -> Any:
        if problem.status == 422 and problem.fields:
            return {"detail": [
                {"loc": ["body", p.field], "msg": p.message, "type": "value_error"}
                for p in problem.fields
            ]}
        return {"detail": problem.message}


DIALECT = LeadCaptureDialect()


def lead_shape(lead: Lead) -> dict[str, Any]:
    return {
        "id": lead.id,
        "name": lead.name,
        "email": lead.email,
        "phone": lead.phone,
        "source": lead.source.value,
        "intent": lead.intent.value,
        "messages": [],
        "created_at": iso_z(lead.created_at, millis=True),
        "updated_at": iso_z(lead.updated_at, millis=True),
    }


async def root(call: Call) -> Response:
    return json_response({"message": ROOT_MESSAGE})


async def health(call: Call) -> Response:
    """Shared path: seed 001 wants ``status: healthy``; seed 003's fields ride along.

    Seed 003's exact ``{"status": "ok", …}`` is served at ``/v1/health``.
    """
    return json_response(
        {"status": "healthy", "version": call.use_cases.health.version, "timestamp": now_z()}
    )


async def create_lead(call: Call) -> Response:
    body = accepted(await call.json_object(), LEAD_FIELDS)
    write = await call.use_cases.leads.create(call.actor(), body)
    headers = {DEDUPLICATED_HEADER: "true"} if write.deduplicated else {}
    return json_response(lead_shape(write.lead), headers=headers)


async def get_lead(call: Call) -> Response:
    lead = await call.use_cases.leads.get(call.actor(), call.path_params["lead_id"])
    return json_response(lead_shape(lead))


def routes() -> list[BaseRoute]:
    return [
        Route("/", endpoint(DIALECT, root, public=True), methods=["GET"]),
        Route("/health", endpoint(DIALECT, health, public=True), methods=["GET"]),
        Route("/api/v1/lead/", endpoint(DIALECT, create_lead), methods=["POST"]),
        Route("/api/v1/lead", endpoint(DIALECT, create_lead), methods=["POST"]),
        Route("/api/v1/lead/{lead_id}", endpoint(DIALECT, get_lead), methods=["GET"]),
    ]
