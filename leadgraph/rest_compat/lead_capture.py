"""Seed 001, the lead-capture document (FastAPI conventions).

Paths: ``GET /``, ``GET /health``, ``POST /api/v1/chat/respond`` (public, like the
document's website widget), ``POST /api/v1/lead/``, ``GET /api/v1/lead/{lead_id}``.
Errors: ``{"detail": "…"}``; validation errors in FastAPI's list form with ``loc``/``msg``.
Auth: ``X-API-Key`` or ``Authorization: Bearer <key>``.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from leadgraph.domain.conversations import Channel, Message, clean_message_text
from leadgraph.domain.errors import FieldProblem, ValidationFailed
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


def lead_shape(lead: Lead, messages: list[Message] | None = None) -> dict[str, Any]:
    return {
        "id": lead.id,
        "name": lead.name,
        "email": lead.email,
        "phone": lead.phone,
        "source": lead.source.value,
        "intent": lead.intent.value,
        "messages": [
            {"role": m.role.value, "content": m.content,
             "timestamp": iso_z(m.timestamp, millis=True)}
            for m in messages or []
        ],
        "created_at": iso_z(lead.created_at, millis=True),
        "updated_at": iso_z(lead.updated_at, millis=True),
    }


async def root(call: Call) -> Response:
    return json_response({"message": ROOT_MESSAGE})


async def health(call: Call) -> Response:
    """Shared path: seed 001 wants ``status: healthy``; seed 003's fields ride along.

    Seed 003's exact ``{"status": "ok", …}`` is served at ``/v1/health``. Answers 503 in the
    dialect's envelope while MongoDB is unreachable, so a load balancer can use it too.
    """
    await call.use_cases.health.require_ready()
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
    messages = await call.use_cases.conversations.history_for_lead(call.actor(), lead.id)
    return json_response(lead_shape(lead, messages))


async def chat_respond(call: Call) -> Response:
    """The website widget's endpoint: anonymous, one conversation per (source, user_id)."""
    body = await call.json_object()
    problems = []
    user_id = body.get("user_id")
    if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > 200:
        problems.append(FieldProblem("user_id", "field required (a non-empty string)"))
    raw_source = body.get("source", "website")
    try:
        channel = Channel(str(raw_source).lower())
    except ValueError:
        problems.append(FieldProblem("source", "must be one of website, whatsapp, instagram"))
        channel = Channel.WEBSITE
    try:
        clean_message_text(body.get("message"))
    except ValidationFailed as exc:
        problems.extend(exc.problems)
    if problems:
        raise ValidationFailed(problems)
    assert isinstance(user_id, str)
    conversations = call.use_cases.conversations
    session = await conversations.open_session(call.principal, user_id.strip(), channel)
    turn = await conversations.send_message(
        call.principal, session.id, body.get("message"), sender=user_id.strip()
    )
    return json_response({
        "response": turn.reply.content,
        "intent": turn.conversation.purchase_intent.value,
        "follow_up": turn.needs_follow_up,
    })



async def analytics_summary(call: Call) -> Response:
    """``GET /api/v1/analytics/summary``: all-time lead and conversation figures."""
    summary = await call.use_cases.analytics.lead_capture_summary(call.actor())
    return json_response({
        "total_conversations": summary.total_conversations,
        "leads_captured": summary.leads_captured,
        "hot_leads": summary.hot_leads,
        "warm_leads": summary.warm_leads,
        "cold_leads": summary.cold_leads,
        "avg_response_time": summary.avg_response_time,
        "conversion_rate": summary.conversion_rate,
    })


def routes() -> list[BaseRoute]:
    return [
        Route("/", endpoint(DIALECT, root, public=True), methods=["GET"]),
        Route("/health", endpoint(DIALECT, health, public=True), methods=["GET"]),
        Route("/api/v1/chat/respond", endpoint(DIALECT, chat_respond, public=True),
              methods=["POST"]),
        Route("/api/v1/lead/", endpoint(DIALECT, create_lead), methods=["POST"]),
        Route("/api/v1/lead", endpoint(DIALECT, create_lead), methods=["POST"]),
        Route("/api/v1/lead/{lead_id}", endpoint(DIALECT, get_lead), methods=["GET"]),
        Route("/api/v1/analytics/summary", endpoint(DIALECT, analytics_summary),
              methods=["GET"]),
    ]
