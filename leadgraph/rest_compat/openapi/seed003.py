"""Seed 003, the customer-care document (``rest_compat.customer_care``): every path at the
root and again under its production base ``/v1``, plus ``GET /v1/health``."""

from __future__ import annotations

from leadgraph.domain.analytics import Timeframe
from leadgraph.domain.conversations import ConversationStatus
from leadgraph.domain.pagination import MAX_PAGE_SIZE
from leadgraph.rest_compat.openapi._spec import (
    ANY_OBJECT,
    INTEGER,
    NUMBER,
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
from leadgraph.rest_compat.openapi.seed000 import NESTED_ERROR

DIALECT = DialectDoc(
    tag="003 customer care",
    description="Seed 003: the customer-care chat API (also under `/v1`). Errors are "
                '`{"error": {"code", "message", "details": {field: message}}}`; bad input '
                "is a 400.",
    error_schema_name="Seed003Error",
    error_schema=NESTED_ERROR,
    validation_status=400,
    security=STANDARD_SECURITY,
    schemas={
        "Seed003Conversation": obj({
            "conversation_id": STRING, "created_at": TIMESTAMP, "last_active": TIMESTAMP,
            "status": enum(ConversationStatus), "message_count": INTEGER,
            "lead_id": nullable(STRING),
        }),
    },
)

_LOGIN_GRANT = obj({
    "access_token": STRING, "token_type": enum(["bearer"]), "expires_in": INTEGER,
    "refresh_token": STRING,
    "user": obj({"id": STRING, "email": STRING, "name": STRING}),
})
_PAGE_HEADERS = {
    "X-Total-Count": "All conversations.", "X-Page-Size": "`limit`.",
    "X-Page": "1-based page of `offset`.", "X-Total-Pages": "Pages of `limit`.",
}

_BY_BASE: Operations = {
    ("POST", "/auth/register"): Op(
        "Register a user", public=True,
        body=Body(request({"email": string(format="email"), "password": STRING,
                           "name": STRING}, required=["email", "password"]),
                  example={"email": "agent@example.com", "password": "correct horse battery",
                           "name": "Agent Smith"}),
        responses={201: Body(obj({"id": STRING, "email": STRING, "name": STRING,
                                  "created_at": TIMESTAMP}))},
        errors=[409],
    ),
    ("POST", "/auth/login"): Op(
        "Log in for a JWT", public=True,
        body=Body(request({"email": STRING, "password": STRING,
                           "code": string("TOTP code once MFA is on (or `mfa_code`, `otp`).")},
                          required=["email", "password"]),
                  example={"email": "agent@example.com", "password": "correct horse battery"}),
        responses={200: Body(_LOGIN_GRANT)},
    ),
    ("POST", "/conversations"): Op(
        "Start a conversation",
        responses={201: Body(obj({"conversation_id": STRING, "created_at": TIMESTAMP}))},
    ),
    ("GET", "/conversations"): Op(
        "List conversations (page headers carry the totals)",
        query=[query_int("limit", "Page size.", default=20, minimum=1, maximum=MAX_PAGE_SIZE),
               query_int("offset", "Conversations to skip.", default=0, minimum=0)],
        responses={200: Body(array(ref("Seed003Conversation")), headers=_PAGE_HEADERS)},
    ),
    ("POST", "/conversations/{conversation_id}/messages"): Op(
        "Send a message and get the assistant's reply",
        body=Body(request({"message": STRING, "metadata": ANY_OBJECT},
                          required=["message"]),
                  example={"message": "My order hasn't arrived yet",
                           "metadata": {"channel": "web"}}),
        responses={200: Body(obj({
            "message_id": STRING, "conversation_id": STRING, "sender": STRING,
            "message": STRING, "timestamp": TIMESTAMP,
            "response": obj({
                "text": STRING, "intent": STRING, "confidence": NUMBER,
                "entities": array(obj({"entity": STRING, "value": STRING})),
            }),
        }))},
    ),
    ("GET", "/analytics/conversations"): Op(
        "Conversation analytics for a window",
        query=[query_str("start_date", "ISO date or date-time (default: 30 days ago)."),
               query_str("end_date", "ISO date or date-time (default: now)."),
               query_str("timeframe", "Bucket size.", enum=[t.value for t in Timeframe],
                         default="daily")],
        responses={200: Body(obj({
            "total_conversations": INTEGER, "active_users": INTEGER,
            "messages_per_conversation": NUMBER,
            "intent_distribution": array(obj({"intent": STRING, "count": INTEGER})),
            "time_series": array(obj({"timestamp": TIMESTAMP, "count": INTEGER})),
        }))},
    ),
}

OPERATIONS: Operations = {
    ("GET", "/v1/health"): Op(
        "Health check (the document's exact shape; 503 while the database is down)",
        public=True, errors=[503],
        responses={200: Body(obj({"status": enum(["ok"]), "version": STRING,
                                  "timestamp": TIMESTAMP}))},
    ),
    **{(verb, f"{base}{path}"): op
       for base in ("", "/v1") for (verb, path), op in _BY_BASE.items()},
}

WEBSOCKETS = {
    f"{base}/ws/conversations/{{conversation_id}}":
        'Chat socket: `?token=<jwt>`; send `{"type": "message", "content": …}`, receive '
        '`{"type": "message", "content", "timestamp", "metadata"}` replies. At most 10 '
        "sockets per user."
    for base in ("", "/v1")
}
