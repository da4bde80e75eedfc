"""Seed 002, the lead-management and voice document (``rest_compat.lead_management`` and
``rest_compat.lead_management_voice``); base ``/api/v1``."""

from __future__ import annotations

from leadgraph.domain.analytics import DEFAULT_DAYS, MAX_DAYS
from leadgraph.domain.calls import CallState, CallStatus, CallType, Speaker
from leadgraph.domain.imports import ImportStatus
from leadgraph.domain.leads import (
    FollowUpStatus,
    LeadIntent,
    LeadSource,
    LeadStatus,
    ProjectType,
)
from leadgraph.domain.pagination import MAX_PAGE_SIZE
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
    query_int,
    query_str,
    ref,
    request,
    string,
)

ERROR = obj({
    "error": string("A title: Bad request, Unauthorized, Validation error, …"),
    "status_code": INTEGER,
    "details": obj({
        "field": STRING,
        "message": STRING,
        "errors": array(obj({"field": STRING, "message": STRING})),
    }, optional=["field", "errors"]),
    "timestamp": TIMESTAMP,
})

_SCORE = {
    "overall_score": NUMBER, "demographic_score": NUMBER, "behavioral_score": NUMBER,
    "engagement_score": NUMBER, "intent_score": NUMBER, "conversion_probability": NUMBER,
}
_ANALYSIS = obj({
    "sentiment": NUMBER, "intent": STRING,
    "objections": array(STRING), "interest_signals": array(STRING),
})
_CALL = {
    "id": STRING,
    "call_id": STRING,
    "lead_id": STRING,
    "phone_number": nullable(STRING),
    "call_type": enum(CallType),
    "purpose": nullable(STRING),
    "voice_settings": obj({
        "provider": nullable(STRING), "voice_id": nullable(STRING), "language": STRING,
        "speed": NUMBER, "stability": nullable(NUMBER),
    }),
    "status": enum(CallStatus),
    "conversation_state": enum(CallState),
    "should_continue": BOOLEAN,
    "total_turns": INTEGER,
    "created_at": TIMESTAMP,
    "started_at": nullable(TIMESTAMP),
    "ended_at": nullable(TIMESTAMP),
    "end_reason": nullable(STRING),
}
_TURN = obj({
    "id": STRING, "seq": INTEGER, "speaker": enum(Speaker), "text": STRING,
    "audio": nullable(obj({
        "id": STRING, "mime_type": STRING, "duration_seconds": nullable(NUMBER),
    })),
    "analysis": nullable(_ANALYSIS),
    "conversation_state": enum(CallState),
    "started_at": TIMESTAMP,
})

DIALECT = DialectDoc(
    tag="002 lead management",
    description="Seed 002: lead management, scoring, import/export, analytics and voice AI "
                'calls. Errors are `{"error", "status_code", "details", "timestamp"}`; '
                "validation is a 422.",
    error_schema_name="Seed002Error",
    error_schema=ERROR,
    validation_status=422,
    security=STANDARD_SECURITY,
    schemas={
        "Seed002Lead": obj({
            "id": STRING,
            "first_name": STRING, "last_name": STRING,
            "email": nullable(STRING), "phone": nullable(string("E.164.")),
            "company": nullable(STRING), "title": nullable(STRING),
            "industry": nullable(STRING),
            "source": enum(LeadSource), "status": enum(LeadStatus), "intent": enum(LeadIntent),
            "notes": nullable(STRING), "assigned_to": nullable(STRING), "tags": array(STRING),
            "score": obj(_SCORE),
            "created_at": TIMESTAMP, "updated_at": TIMESTAMP,
        }),
        "Seed002Activity": obj({
            "id": STRING, "lead_id": STRING, "activity_type": STRING, "description": STRING,
            "metadata": ANY_OBJECT, "created_at": TIMESTAMP,
        }),
        "Seed002ImportJob": obj({
            "id": STRING, "status": enum(ImportStatus), "filename": STRING,
            "total_rows": nullable(INTEGER), "processed_rows": INTEGER,
            "created": INTEGER, "updated": INTEGER, "failed_rows": INTEGER,
            "error_count": INTEGER,
            "errors": array(obj({"row": INTEGER, "field": STRING,
                                 "message": STRING})),
            "errors_truncated": BOOLEAN, "ignored_columns": array(STRING),
            "message": nullable(STRING), "created_by": nullable(STRING),
            "created_at": TIMESTAMP, "started_at": nullable(TIMESTAMP),
            "finished_at": nullable(TIMESTAMP),
        }),
        "Seed002Call": obj(_CALL),
        "Seed002CallDetail": obj({**_CALL, "turns": array(_TURN)}),
    },
)

_LEAD_INPUT = request({
    "first_name": STRING, "last_name": STRING, "name": STRING,
    "email": string(format="email"), "phone": STRING, "company": STRING, "title": STRING,
    "industry": STRING, "source": enum(LeadSource), "status": enum(LeadStatus),
    "intent": enum(LeadIntent), "notes": STRING, "assigned_to": STRING,
    "tags": array(STRING), "project_type": enum(ProjectType),
    "requirements_summary": STRING, "timeline": STRING, "budget_range": STRING,
    "follow_up_status": enum(FollowUpStatus),
}, description="Only the fields sent change; an explicit null clears a field.")

_FILTERS = [
    query_str("status", "Comma-separated statuses, e.g. `new,contacted`."),
    query_str("source", "Comma-separated sources."),
    query_str("assigned_to", "Owner's user id."),
    Param("min_score", {"type": "number"}, "Minimum overall score."),
    query_str("search", "Matches name, email or company, ignoring case."),
]
_PAGES = [
    query_int("page", "1-based page.", default=1, minimum=1),
    query_int("per_page", "Page size.", default=50, minimum=1, maximum=MAX_PAGE_SIZE),
]
_DAYS = [query_int("days", "Window in days.", default=DEFAULT_DAYS, minimum=1,
                   maximum=MAX_DAYS)]
_LOGIN_GRANT = obj({
    "access_token": STRING, "token_type": enum(["bearer"]),
    "expires_in": INTEGER, "refresh_token": STRING,
    "user": obj({"id": STRING, "email": STRING, "name": STRING}),
})
_FILE = Body(request({"file": string("The CSV file.", format="binary")},
                     required=["file"]), media="multipart/form-data")

OPERATIONS: Operations = {
    ("POST", "/api/v1/auth/login"): Op(
        "Log in for a JWT (shared with seed 004's /api/v1 alias)", public=True,
        description="Seed 002's `{email, password}` or seed 004's `{username, password}`. "
                    "The answer is a superset of both documents. Errors: seed 004's envelope "
                    "(validation 400) when the body names `username` and not `email`, else "
                    "seed 002's (validation 422).",
        body=Body(request({
            "email": STRING, "username": STRING, "password": STRING,
            "code": string("TOTP code once MFA is on (`mfa_code` and `otp` work too)."),
        }, required=["password"]),
                  example={"email": "you@example.com", "password": "correct horse"}),
        responses={200: Body(obj({
            **_LOGIN_GRANT["properties"],
            "status": enum(["success"]),
            "data": ref("Seed004Tokens"),
        }))},
        errors=[400, 401],
        extra_tags=["004 chatbots platform"],
        error_schema={"oneOf": [ref("Seed002Error"), ref("Seed004Error")]},
    ),
    ("POST", "/api/v1/leads"): Op(
        "Create a lead (201), or merge into the one with the same email or phone (200)",
        body=Body(_LEAD_INPUT, example={
            "first_name": "Jane", "last_name": "Roe", "email": "jane.roe@example.com",
            "phone": "+1-555-123-4567", "company": "Acme", "source": "referral",
            "tags": ["enterprise"]}),
        responses={
            201: Body(ref("Seed002Lead")),
            200: Body(ref("Seed002Lead"), headers={
                "X-LeadGraph-Deduplicated": "`true`: an existing lead was updated."}),
        },
        errors=[409],
    ),
    ("GET", "/api/v1/leads"): Op(
        "List leads with filters",
        query=[*_PAGES, *_FILTERS],
        responses={200: Body(obj({
            "leads": array(ref("Seed002Lead")), "total": INTEGER, "page": INTEGER,
            "per_page": INTEGER, "total_pages": INTEGER,
        }))},
    ),
    ("POST", "/api/v1/leads/import"): Op(
        "Import leads from a CSV upload (queued; poll the job)",
        body=_FILE,
        responses={202: Body(ref("Seed002ImportJob"), headers={
            "Location": "The job's URL."})},
    ),
    ("GET", "/api/v1/leads/import/{job_id}"): Op(
        "An import job's progress and row errors",
        responses={200: Body(ref("Seed002ImportJob"))},
    ),
    ("GET", "/api/v1/leads/export"): Op(
        "Export leads (streamed) with the list's filters",
        query=[query_str("format", "File format.", enum=["csv", "json"], default="csv"),
               *_FILTERS],
        responses={200: Body(string("The file.", format="binary"), media="text/csv",
                             headers={"Content-Disposition": "attachment; filename=…"},
                             description="CSV, or a JSON array with `format=json`.")},
    ),
    ("POST", "/api/v1/leads/{lead_id}/score"): Op(
        "Recompute a lead's score now, with its reasons",
        responses={200: Body(obj({
            **_SCORE,
            "factors": obj({"positive_factors": array(STRING),
                            "negative_factors": array(STRING),
                            "recommendations": array(STRING)}),
            "model_version": STRING,
        }))},
    ),
    ("POST", "/api/v1/leads/{lead_id}/activities"): Op(
        "Add an activity to a lead's timeline",
        body=Body(request({
            "activity_type": string("snake_case, e.g. `email_sent`."),
            "description": STRING, "metadata": ANY_OBJECT,
        }, required=["activity_type"]), example={
            "activity_type": "email_sent", "description": "Sent the proposal",
            "metadata": {"template": "proposal-v2"}}),
        responses={201: Body(ref("Seed002Activity"))},
    ),
    ("GET", "/api/v1/leads/{lead_id}/activities"): Op(
        "A lead's timeline, newest first",
        query=_PAGES,
        responses={200: Body(obj({
            "activities": array(ref("Seed002Activity")), "total": INTEGER, "page": INTEGER,
            "per_page": INTEGER, "total_pages": INTEGER,
        }))},
    ),
    ("GET", "/api/v1/leads/{lead_id}"): Op(
        "One lead", responses={200: Body(ref("Seed002Lead"))},
    ),
    ("PUT", "/api/v1/leads/{lead_id}"): Op(
        "Update a lead",
        body=Body(_LEAD_INPUT, example={"status": "contacted", "notes": "Called on Monday"}),
        responses={200: Body(ref("Seed002Lead"))},
        errors=[409],
    ),
    ("DELETE", "/api/v1/leads/{lead_id}"): Op(
        "Delete a lead",
        responses={200: Body(obj({"success": BOOLEAN, "id": STRING, "message": STRING}))},
    ),
    ("GET", "/api/v1/analytics/dashboard"): Op(
        "Dashboard figures",
        query=_DAYS,
        responses={200: Body(obj({
            "totalLeads": INTEGER, "newLeadsToday": INTEGER, "totalCalls": INTEGER,
            "callsToday": INTEGER, "conversionRate": NUMBER, "avgLeadScore": NUMBER,
            "revenue": NUMBER, "voiceAICallsActive": INTEGER,
        }))},
    ),
    ("GET", "/api/v1/leads/analytics/overview"): Op(
        "Lead overview for a window",
        query=_DAYS,
        responses={200: Body(obj({
            "total_leads": INTEGER, "new_leads": INTEGER, "qualified_leads": INTEGER,
            "converted_leads": INTEGER, "average_score": NUMBER, "conversion_rate": NUMBER,
            "by_source": {"type": "object", "additionalProperties": INTEGER},
            "by_status": {"type": "object", "additionalProperties": INTEGER},
            "by_industry": {"type": "object", "additionalProperties": INTEGER},
        }))},
    ),
    ("POST", "/api/v1/voice/calls"): Op(
        "Create an AI voice call with a lead",
        body=Body(request({
            "lead_id": STRING,
            "phone_number": string("Defaults to the lead's phone."),
            "call_type": enum(CallType),
            "purpose": STRING,
            "voice_settings": request({
                "provider": STRING, "voice_id": STRING, "language": STRING,
                "speed": NUMBER, "stability": {"type": "number", "minimum": 0, "maximum": 1},
            }),
        }, required=["lead_id"]), example={
            "lead_id": "6650c0ffee0000000000abcd", "phone_number": "+15551234567",
            "call_type": "outbound", "purpose": "Follow up on the proposal"}),
        responses={201: Body(ref("Seed002Call"))},
    ),
    ("GET", "/api/v1/voice/calls/{call_id}"): Op(
        "A call with its turns", responses={200: Body(ref("Seed002CallDetail"))},
    ),
    ("POST", "/api/v1/voice/calls/{call_id}/start"): Op(
        "Start the call: the AI's opening turn",
        body=Body(request({"voice_config": ANY_OBJECT}), example={}),
        body_required=False,
        responses={200: Body(obj({
            "success": BOOLEAN, "call_id": STRING, "opening_message": STRING,
            "session_info": obj({"state": enum(CallState), "context": obj({
                "lead_name": nullable(STRING), "company": nullable(STRING),
                "industry": nullable(STRING)})}),
        }))},
        errors=[409],
    ),
    ("POST", "/api/v1/voice/calls/{call_id}/respond"): Op(
        "A customer turn (text, or base64 audio) and the AI's reply",
        body=Body(request({
            "text": STRING,
            "audio_data": string("Base64 audio (WAV/PCM, any common rate)."),
        }), example={"text": "Sounds good, how much is it?"}),
        responses={200: Body(obj({
            "success": BOOLEAN, "ai_response": STRING,
            "audio_data": nullable(string("Base64 audio of the reply.")),
            "analysis": _ANALYSIS, "conversation_state": enum(CallState),
            "should_continue": BOOLEAN, "transcript": STRING, "turn_seq": INTEGER,
        }))},
        errors=[409],
    ),
    ("POST", "/api/v1/voice/calls/{call_id}/end"): Op(
        "End the call: summary and analytics",
        body=Body(request({"reason": STRING}), example={"reason": "completed"}),
        body_required=False,
        responses={200: Body(obj({
            "success": BOOLEAN, "call_id": STRING,
            "summary": obj({
                "duration_minutes": NUMBER, "total_exchanges": INTEGER,
                "conversation_state": enum(CallState),
                "objections_raised": array(STRING), "interest_signals": array(STRING),
                "overall_sentiment": NUMBER, "recommendation": STRING,
            }),
            "analytics": obj({
                "conversion_probability": NUMBER, "engagement_score": NUMBER,
                "total_turns": INTEGER, "avg_sentiment": NUMBER,
            }),
        }))},
        errors=[409],
    ),
}

WEBSOCKETS = {
    "/api/v1/voice/calls/{call_id}/realtime":
        'Realtime call: send `{"type": "audio_chunk", "data": base64}` or '
        '`{"type": "text_input", "text": …}`, receive `{"type": "ai_response", …}`. Auth by '
        "`Authorization` header or `?token=`.",
}
