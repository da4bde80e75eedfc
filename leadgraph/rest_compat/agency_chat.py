"""Seed 000, the agency chat document.

Paths: ``POST /api/chat``, ``GET|DELETE /api/sessions/{session_id}``, ``GET /api/leads``
(limit/offset/sort_by/sort_order), ``GET /api/leads/{lead_id}``.
Errors: ``{"error": {"code", "message", "details"}}``; bad input is a 400.
Auth: ``X-API-Key``.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from leadgraph.domain.conversations import Channel, Message, clean_message_text
from leadgraph.domain.errors import ValidationFailed
from leadgraph.domain.leads import Lead, LeadFilter, LeadOrder, LeadSortField
from leadgraph.domain.pagination import MAX_PAGE_SIZE, PageRequest
from leadgraph.rest_compat._http import Call, endpoint, iso_z, json_response
from leadgraph.rest_compat._shapes import NestedErrorDialect

SORT_FIELDS: dict[str, LeadSortField] = {
    "created_at": LeadSortField.CREATED_AT,
    "updated_at": LeadSortField.UPDATED_AT,
    "client_name": LeadSortField.NAME,
    "name": LeadSortField.NAME,
    "score": LeadSortField.SCORE,
    "company": LeadSortField.COMPANY,
    "status": LeadSortField.STATUS,
}


class AgencyChatDialect(NestedErrorDialect):
    name = "agency_chat"


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
    history = await call.use_cases.conversations.history_for_lead(call.actor(), lead.id)
    return json_response({**lead_shape(lead), "conversation_history": history_shape(history)})


def history_shape(messages: list[Message]) -> list[dict[str, Any]]:
    return [{"role": m.role.value, "content": m.content, "timestamp": iso_z(m.timestamp)}
            for m in messages]


async def chat(call: Call) -> Response:
    body = await call.json_object()
    session_id = body.get("session_id")
    if session_id is not None and (not isinstance(session_id, str) or not session_id.strip()
                                   or len(session_id) > 200):
        raise ValidationFailed.single("session_id", "must be a non-empty string")
    user_info = body.get("user_info")
    if user_info is not None and not isinstance(user_info, dict):
        raise ValidationFailed.single("user_info", "must be an object")
    clean_message_text(body.get("message"))  # reject before a session is created
    conversations = call.use_cases.conversations
    session = await conversations.open_session(
        call.actor(), session_id.strip() if session_id else uuid.uuid4().hex, Channel.WEBSITE
    )
    turn = await conversations.send_message(
        call.actor(), session.id, body.get("message"), sender=call.actor().id, visitor=user_info
    )
    return json_response({
        "response": turn.reply.content,
        "session_id": session.external_id,
        "conversation_state": {
            "current_step": turn.conversation.current_step.value,
            "collected_info": turn.conversation.collected_info.as_public_dict(),
        },
    })


async def get_session(call: Call) -> Response:
    conversations = call.use_cases.conversations
    session = await conversations.find_session(call.actor(), call.path_params["session_id"])
    history = await conversations.messages(call.actor(), session.id, 0, 10_000)
    return json_response({
        "session_id": session.external_id or session.id,
        "created_at": iso_z(session.created_at),
        "last_active": iso_z(session.last_active),
        "conversation_history": history_shape(history),
        "collected_info": session.collected_info.as_public_dict(),
    })


async def delete_session(call: Call) -> Response:
    conversations = call.use_cases.conversations
    session = await conversations.find_session(call.actor(), call.path_params["session_id"])
    await conversations.delete(call.actor(), session.id)
    return json_response({"status": "success", "message": "Session deleted successfully"})


def routes() -> list[BaseRoute]:
    return [
        Route("/api/chat", endpoint(DIALECT, chat), methods=["POST"]),
        Route("/api/sessions/{session_id}", endpoint(DIALECT, get_session), methods=["GET"]),
        Route("/api/sessions/{session_id}", endpoint(DIALECT, delete_session),
              methods=["DELETE"]),
        Route("/api/leads", endpoint(DIALECT, list_leads), methods=["GET"]),
        Route("/api/leads/{lead_id}", endpoint(DIALECT, get_lead), methods=["GET"]),
    ]
