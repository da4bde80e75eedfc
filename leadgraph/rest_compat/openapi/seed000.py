"""Seed 000, the agency chat document (``rest_compat.agency_chat`` and seed 000's
``POST /api/webhook`` in ``rest_compat.integrations``)."""

from __future__ import annotations

from leadgraph.domain.conversations import DialogStep, MessageRole
from leadgraph.domain.leads import FollowUpStatus, ProjectType
from leadgraph.domain.pagination import MAX_PAGE_SIZE
from leadgraph.rest_compat.agency_chat import SORT_FIELDS
from leadgraph.rest_compat.openapi._spec import (
    ANY_OBJECT,
    STANDARD_SECURITY,
    STRING,
    TIMESTAMP,
    Body,
    DialectDoc,
    Op,
    Operations,
    array,
    enum,
    nullable,
    obj,
    query_int,
    query_str,
    ref,
    request,
    string,
)

NESTED_ERROR = obj({"error": obj({
    "code": string("Machine-readable: bad_request, validation_error, unauthorized, forbidden, "
                   "not_found, conflict, service_unavailable, internal_error."),
    "message": STRING,
    "details": {"type": "object", "additionalProperties": STRING,
                "description": "field -> message"},
})})

_HISTORY = array(ref("Seed000HistoryEntry"))
_LEAD = {
    "id": STRING,
    "client_name": STRING,
    "contact_info": string("The email, else the phone (E.164), else empty."),
    "project_type": nullable(enum(ProjectType)),
    "requirements_summary": nullable(STRING),
    "timeline": nullable(STRING),
    "budget_range": nullable(STRING),
    "follow_up_status": enum(FollowUpStatus),
    "created_at": TIMESTAMP,
}

DIALECT = DialectDoc(
    tag="000 agency chat",
    description="Seed 000: the agency's website chat and its leads. Errors are "
                '`{"error": {"code", "message", "details": {field: message}}}`; bad input '
                "is a 400.",
    error_schema_name="Seed000Error",
    error_schema=NESTED_ERROR,
    validation_status=400,
    security=STANDARD_SECURITY,
    schemas={
        "Seed000Lead": obj(_LEAD),
        "Seed000LeadDetail": obj({**_LEAD, "conversation_history": _HISTORY}),
        "Seed000HistoryEntry": obj({
            "role": enum(MessageRole), "content": STRING, "timestamp": TIMESTAMP,
        }),
        "Seed000CollectedInfo": {
            **ANY_OBJECT,
            "description": "Only the slots known so far: project_type, features, timeline, "
                           "budget_range, name, email, phone, company.",
        },
    },
)

OPERATIONS: Operations = {
    ("POST", "/api/chat"): Op(
        "Send a visitor message and get the assistant's reply",
        body=Body(request({
            "message": string("The visitor's text (1-4000 characters)."),
            "session_id": string("Continue this session; a new one is made when omitted."),
            "user_info": {**ANY_OBJECT, "description": "What is known about the visitor."},
        }, required=["message"]), example={
            "message": "Hi, I need a mobile app for my shop, budget $10k-20k",
            "session_id": "visitor-42",
        }),
        responses={200: Body(obj({
            "response": STRING,
            "session_id": STRING,
            "conversation_state": obj({
                "current_step": enum(DialogStep),
                "collected_info": ref("Seed000CollectedInfo"),
            }),
        }))},
    ),
    ("GET", "/api/sessions/{session_id}"): Op(
        "A chat session with its whole history",
        responses={200: Body(obj({
            "session_id": STRING, "created_at": TIMESTAMP, "last_active": TIMESTAMP,
            "conversation_history": _HISTORY,
            "collected_info": ref("Seed000CollectedInfo"),
        }))},
    ),
    ("DELETE", "/api/sessions/{session_id}"): Op(
        "Delete a chat session",
        responses={200: Body(obj({"status": enum(["success"]), "message": STRING}))},
    ),
    ("GET", "/api/leads"): Op(
        "List leads",
        query=[
            query_int("limit", "Page size.", default=10, minimum=1, maximum=MAX_PAGE_SIZE),
            query_int("offset", "Leads to skip.", default=0, minimum=0),
            query_str("sort_by", "Sort field.", enum=list(SORT_FIELDS), default="created_at"),
            query_str("sort_order", "Sort direction.", enum=["asc", "desc"], default="desc"),
        ],
        responses={200: Body(obj({
            "total": {"type": "integer", "minimum": 0},
            "limit": {"type": "integer"}, "offset": {"type": "integer"},
            "leads": array(ref("Seed000Lead")),
        }))},
    ),
    ("GET", "/api/leads/{lead_id}"): Op(
        "One lead with its conversation history",
        responses={200: Body(ref("Seed000LeadDetail"))},
    ),
    ("POST", "/api/webhook"): Op(
        "Register an outbound webhook",
        description="Event names of every document are accepted (`new_lead`, "
                    "`lead_updated`, `lead.created`, …, `*`).",
        body=Body(request({
            "url": string("http(s) URL that receives the events.", format="uri"),
            "events": {**array(STRING), "minItems": 1},
            "secret": string("Signs deliveries (generated when omitted)."),
        }, required=["url", "events"]), example={
            "url": "https://crm.example.com/hooks/leadgraph",
            "events": ["new_lead", "lead_updated"],
            "secret": "change-me",
        }),
        responses={200: Body(obj({
            "webhook_id": STRING, "status": STRING, "message": STRING,
        }))},
        errors=[503],
    ),
}
