"""Seed 001, the lead-capture document (``rest_compat.lead_capture`` and its WhatsApp and
Instagram webhooks in ``rest_compat.integrations``), FastAPI conventions."""

from __future__ import annotations

from leadgraph.domain.conversations import Channel, MessageRole
from leadgraph.domain.leads import LeadIntent, LeadSource
from leadgraph.rest_compat.openapi._spec import (
    ANY_OBJECT,
    BOOLEAN,
    INTEGER,
    NUMBER,
    STANDARD_SECURITY,
    STRING,
    TIMESTAMP,
    Body,
    DialectDoc,
    Op,
    Operations,
    Param,
    array,
    enum,
    nullable,
    obj,
    ref,
    request,
    string,
)

FASTAPI_ERROR = obj({"detail": {"oneOf": [
    string("What went wrong."),
    array(obj({
        "loc": array({"type": ["string", "integer"]}),
        "msg": STRING,
        "type": STRING,
    })),
]}}, description='`{"detail": "…"}`; validation errors (422) list '
                  '`[{"loc": ["body", field], "msg", "type"}]`.')

DIALECT = DialectDoc(
    tag="001 lead capture",
    description="Seed 001: the AI lead-capture service (website widget, WhatsApp, "
                "Instagram). FastAPI error shapes; validation is a 422.",
    error_schema_name="Seed001Error",
    error_schema=FASTAPI_ERROR,
    validation_status=422,
    security=STANDARD_SECURITY,
    schemas={
        "Seed001Lead": obj({
            "id": STRING,
            "name": STRING,
            "email": nullable(STRING),
            "phone": nullable(string("E.164.")),
            "source": enum(LeadSource),
            "intent": enum(LeadIntent),
            "messages": array(obj({
                "role": enum(MessageRole), "content": STRING, "timestamp": TIMESTAMP,
            })),
            "created_at": string("UTC with milliseconds and a Z suffix.", format="date-time"),
            "updated_at": string("UTC with milliseconds and a Z suffix.", format="date-time"),
        }),
        "Seed001Health": obj({
            "status": enum(["healthy"]), "version": STRING, "timestamp": TIMESTAMP,
        }, description="Superset of seeds 001 and 003; seed 001's status value wins."),
        "Seed001WebhookAccepted": obj({
            "status": enum(["ok"]),
            "accepted": INTEGER, "duplicates": INTEGER, "statuses": INTEGER, "ignored": INTEGER,
        }),
    },
)

_LEAD_BODY = Body(request({
    "name": STRING,
    "email": string(format="email"),
    "phone": string("Any common format; stored as E.164."),
    "source": enum(LeadSource),
    "intent": enum(LeadIntent),
}), example={"name": "Jane Roe", "email": "jane.roe@example.com", "phone": "+1 415 555 0134",
             "source": "website", "intent": "WARM"})

_CREATE_LEAD = Op(
    "Create a lead (or merge into the lead with the same email or phone)",
    body=_LEAD_BODY,
    responses={200: Body(ref("Seed001Lead"), headers={
        "X-LeadGraph-Deduplicated": "`true` when an existing lead was updated instead."})},
    errors=[409],
)


def _verify(channel: str) -> Op:
    return Op(
        f"Meta's {channel} webhook verification handshake",
        public=True,
        query=[
            Param("hub.mode", {"type": "string"}, "`subscribe`."),
            Param("hub.verify_token", {"type": "string"},
                  f"Must equal `{channel.upper()}_WEBHOOK_VERIFY_TOKEN`."),
            Param("hub.challenge", {"type": "string"}, "Echoed back on success."),
        ],
        responses={200: Body(string("The challenge."), media="text/plain")},
        errors=[403, 503],
    )


def _receive(channel: str) -> Op:
    return Op(
        f"Inbound {channel} messages (answered at once; the assistant replies in the "
        "background)",
        public=True,
        description="With the app secret set, `X-Hub-Signature-256` is required "
                    "(401 when missing, 403 when wrong).",
        body=Body({**ANY_OBJECT, "description": f"Meta's {channel} webhook payload."},
                  example={"object": "whatsapp_business_account", "entry": []}
                  if channel == "whatsapp" else {"object": "instagram", "entry": []}),
        responses={200: Body(ref("Seed001WebhookAccepted"))},
        errors=[403, 503],
    )


OPERATIONS: Operations = {
    ("GET", "/"): Op(
        "Service banner", public=True,
        responses={200: Body(obj({"message": STRING}))},
    ),
    ("GET", "/health"): Op(
        "Health check (503 while the database is unreachable)", public=True,
        responses={200: Body(ref("Seed001Health"))},
        errors=[503],
    ),
    ("POST", "/api/v1/chat/respond"): Op(
        "The website widget: one visitor message, one reply (public)",
        public=True,
        body=Body(request({
            "user_id": string("The visitor's id; one conversation per (source, user_id)."),
            "message": STRING,
            "source": enum(Channel, "Default `website`."),
        }, required=["user_id", "message"]), example={
            "user_id": "visitor-7", "message": "Hello, how much does a website cost?",
            "source": "website",
        }),
        responses={200: Body(obj({
            "response": STRING, "intent": enum(LeadIntent), "follow_up": BOOLEAN,
        }))},
    ),
    ("POST", "/api/v1/lead/"): _CREATE_LEAD,
    ("POST", "/api/v1/lead"): _CREATE_LEAD,
    ("GET", "/api/v1/lead/{lead_id}"): Op(
        "One lead with its messages",
        responses={200: Body(ref("Seed001Lead"))},
    ),
    ("GET", "/api/v1/analytics/summary"): Op(
        "All-time lead and conversation figures",
        responses={200: Body(obj({
            "total_conversations": INTEGER, "leads_captured": INTEGER,
            "hot_leads": INTEGER, "warm_leads": INTEGER, "cold_leads": INTEGER,
            "avg_response_time": {**NUMBER, "description": "Seconds."},
            "conversion_rate": {**NUMBER, "description": "Percent."},
        }))},
    ),
    **{
        (verb, f"/api/v1/webhook/{channel}"): (_verify if verb == "GET" else _receive)(channel)
        for channel in ("whatsapp", "instagram") for verb in ("GET", "POST")
    },
}
