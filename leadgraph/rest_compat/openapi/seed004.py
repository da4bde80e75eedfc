"""Seed 004, the chatbots-platform document (``rest_compat.chatbots_platform``, ``…_voice``,
``…_bots`` and ``/api/webhooks`` in ``rest_compat.integrations``).

Declared at ``/api/…``; the builder documents the ``/api/v1`` and deprecated ``/api/v0``
aliases (``rest_compat.chatbots_platform_versions``) from these same declarations.
"""

from __future__ import annotations

from leadgraph.domain.chatbots import TEMPLATE_KINDS, ChatbotType, JobStatus
from leadgraph.domain.conversations import (
    Channel,
    ConversationStatus,
    DialogStep,
    MessageRole,
)
from leadgraph.domain.leads import LeadIntent
from leadgraph.domain.pagination import MAX_PAGE_SIZE
from leadgraph.domain.users import Role
from leadgraph.rest_compat.openapi._spec import (
    ANY_OBJECT,
    BEARER,
    BOOLEAN,
    INTEGER,
    NUMBER,
    PLATFORM_API_KEY,
    STRING,
    TIMESTAMP,
    Body,
    DialectDoc,
    Op,
    Operations,
    Schema,
    array,
    enum,
    methods,
    nullable,
    obj,
    query_int,
    query_str,
    ref,
    request,
    string,
)

ERROR = obj({
    "status": enum(["error"]),
    "error": obj({
        "code": {"type": "integer", "description": "The HTTP status."},
        "message": STRING,
        "details": array(obj({"field": STRING, "message": STRING})),
    }),
})


def ok(data: Schema) -> Schema:
    """The document's success envelope."""
    return obj({"status": enum(["success"]), "data": data})


def page_of(item: str) -> Schema:
    return ok(obj({"items": array(ref(item)), "pagination": ref("Seed004Pagination")}))


_USER = obj({
    "id": STRING, "username": nullable(STRING), "email": STRING, "name": STRING,
    "role": enum(Role), "createdAt": TIMESTAMP,
})
_ANALYSIS = obj({
    "intent": STRING, "confidence": NUMBER, "sentiment": NUMBER,
    "purchaseIntent": enum(LeadIntent),
    "entities": array(obj({"type": STRING, "value": STRING})),
})
_DATASET = {
    "id": STRING, "name": STRING, "description": nullable(STRING),
    "exampleCount": INTEGER, "intents": array(STRING),
    "createdAt": TIMESTAMP, "updatedAt": TIMESTAMP,
}
_EXAMPLE = obj({"text": STRING, "intent": STRING})

DIALECT = DialectDoc(
    tag="004 chatbots platform",
    description="Seed 004: chatbots, training, templates, conversations, voice, MFA and "
                'webhooks. Success is `{"status": "success", "data": …}`, errors '
                '`{"status": "error", "error": {"code", "message", "details": [...]}}`; bad '
                "input is a 400. Every route is also served under `/api/v1` and, deprecated "
                "(`Deprecation`/`Sunset` headers), under `/api/v0`.",
    error_schema_name="Seed004Error",
    error_schema=ERROR,
    validation_status=400,
    security=[{PLATFORM_API_KEY: []}, {BEARER: []}],
    schemas={
        "Seed004Pagination": obj({
            "total": INTEGER, "page": INTEGER, "pageSize": INTEGER, "pages": INTEGER,
            "next": nullable(string("Link to the next page.")),
            "prev": nullable(string("Link to the previous page.")),
        }),
        "Seed004User": _USER,
        "Seed004Tokens": obj({
            "accessToken": STRING, "refreshToken": STRING, "expiresIn": INTEGER,
            "tokenType": enum(["Bearer"]), "user": ref("Seed004User"),
        }),
        "Seed004Conversation": obj({
            "id": STRING, "chatbotId": nullable(STRING), "channel": enum(Channel),
            "status": enum(ConversationStatus), "sessionId": nullable(STRING),
            "leadId": nullable(STRING), "currentStep": enum(DialogStep),
            "collectedInfo": ANY_OBJECT, "purchaseIntent": enum(LeadIntent),
            "messageCount": INTEGER, "createdAt": TIMESTAMP, "lastActive": TIMESTAMP,
        }),
        "Seed004Message": obj({
            "id": STRING, "conversationId": STRING, "seq": INTEGER, "role": enum(MessageRole),
            "text": STRING, "sender": nullable(STRING), "timestamp": TIMESTAMP,
            "analysis": nullable(_ANALYSIS),
        }),
        "Seed004Chatbot": obj({
            "id": STRING, "name": STRING, "description": nullable(STRING),
            "type": enum(ChatbotType), "settings": ANY_OBJECT,
            "templateId": nullable(STRING), "datasetId": nullable(STRING),
            "deployedModelVersion": nullable(STRING), "deployedAt": nullable(TIMESTAMP),
            "createdAt": TIMESTAMP, "updatedAt": TIMESTAMP,
        }),
        "Seed004DatasetSummary": obj(_DATASET),
        "Seed004Dataset": obj({**_DATASET, "examples": array(_EXAMPLE)}),
        "Seed004TrainingJob": obj({
            "id": STRING, "chatbotId": STRING, "datasetId": STRING, "status": enum(JobStatus),
            "progress": NUMBER,
            "metrics": nullable(obj({
                "accuracy": NUMBER, "trainExamples": INTEGER, "testExamples": INTEGER,
                "intents": array(STRING),
            })),
            "modelVersionId": nullable(STRING), "error": nullable(STRING),
            "createdAt": TIMESTAMP, "startedAt": nullable(TIMESTAMP),
            "finishedAt": nullable(TIMESTAMP),
        }),
        "Seed004Template": obj({
            "id": STRING, "name": STRING, "type": enum(TEMPLATE_KINDS),
            "description": nullable(STRING), "content": STRING, "variables": array(STRING),
            "createdAt": TIMESTAMP, "updatedAt": TIMESTAMP,
        }),
        "Seed004Webhook": obj({
            "id": STRING, "url": STRING, "events": array(STRING), "status": STRING,
            "createdAt": TIMESTAMP,
        }),
        "Seed004Deleted": obj({"id": STRING, "deleted": {"const": True}}),
    },
)


_PAGING = [
    query_int("page", "1-based page.", default=1, minimum=1),
    query_int("pageSize", "Page size.", default=10, minimum=1, maximum=MAX_PAGE_SIZE),
]
_DELETED = Body(ok(ref("Seed004Deleted")))
_CHATBOT_INPUT = request({
    "name": STRING, "description": STRING,
    "type": enum(ChatbotType, "Default `rule`."),
    "settings": ANY_OBJECT, "templateId": STRING, "datasetId": STRING,
})
_DATASET_INPUT = request({
    "name": STRING, "description": STRING,
    "examples": array(_EXAMPLE),
    "format": enum(["json", "csv"], "With `content`: import a file instead of `examples`."),
    "content": string("The JSON (a list, or {examples}) or CSV (text,intent header) file."),
})
_DATASET_EXAMPLE = {
    "name": "Support intents", "description": "Greetings and goodbyes",
    "examples": [
        *({"text": t, "intent": "greeting"} for t in
          ("hello there", "hi", "good morning", "hey, anyone here?", "hello again")),
        *({"text": t, "intent": "goodbye"} for t in
          ("bye", "see you later", "goodbye for now", "thanks, bye", "talk to you soon")),
    ],
}
_TEMPLATE_INPUT = request({
    "name": STRING, "description": STRING, "content": string("Placeholders are {{name}}."),
    "type": enum(TEMPLATE_KINDS, "Default `response`."),
    "variables": array(string("Must match the placeholders (derived when omitted).")),
})
_TEMPLATE_EXAMPLE = {"name": "Welcome", "type": "response",
                     "content": "Hello {{customerName}}, how can we help?",
                     "variables": ["customerName"]}
_MESSAGE_BODY = Body(request({
    "text": STRING,
    "message": string("Accepted instead of `text`."),
    "content": string("Accepted instead of `text`."),
}), example={"text": "Hi, I need a chatbot for my online store"})
_LOGIN_BODY = request({
    "username": string("Username or email."), "email": STRING, "password": STRING,
    "code": string("TOTP code, once MFA is enabled."),
}, required=["password"])

OPERATIONS: Operations = {
    ("POST", "/api/auth/register"): Op(
        "Register a user", public=True,
        body=Body(request({"username": STRING, "email": string(format="email"),
                           "password": STRING, "name": STRING},
                          required=["email", "password"]),
                  example={"username": "jane", "email": "jane@example.com",
                           "password": "correct horse battery", "name": "Jane Roe"}),
        responses={201: Body(ok(ref("Seed004User")))},
        errors=[409],
    ),
    ("POST", "/api/auth/login"): Op(
        "Log in for a token pair", public=True,
        description='With MFA enabled and no `code`: 401 with details '
                    '`[{"field": "code", "message": "mfa_required"}]`.',
        body=Body(_LOGIN_BODY, example={"username": "jane",
                                        "password": "correct horse battery"}),
        responses={200: Body(ok(ref("Seed004Tokens")))},
        errors=[401],
    ),
    ("POST", "/api/auth/refresh"): Op(
        "Exchange a refresh token (single use) for a new pair", public=True,
        body=Body(request({"refreshToken": STRING}, required=["refreshToken"]),
                  example={"refreshToken": "eyJhbGciOiJIUzI1NiIs…"}),
        responses={200: Body(ok(ref("Seed004Tokens")))},
        errors=[401],
    ),
    ("POST", "/api/auth/logout"): Op(
        "End the caller's session (or the refresh token's)", public=True,
        body=Body(request({"refreshToken": STRING}), example={}), body_required=False,
        responses={200: Body(ok(obj({"message": STRING})))},
        errors=[401],
    ),
    ("POST", "/api/auth/mfa/setup"): Op(
        "Start TOTP MFA: a secret and its otpauth URI (a user, not an API key)",
        responses={200: Body(ok(obj({"secret": STRING, "otpauthUri": STRING,
                                     "enabled": BOOLEAN})))},
        errors=[400, 503],
    ),
    ("POST", "/api/auth/mfa/verify"): Op(
        "Confirm a TOTP code: MFA is then required at login",
        body=Body(request({"code": string("The 6-digit TOTP code.")}, required=["code"]),
                  example={"code": "123456"}),
        responses={200: Body(ok(obj({"enabled": BOOLEAN})))},
        errors=[503],
    ),
    ("GET", "/api/health/liveness"): Op(
        "Liveness", public=True,
        responses={200: Body(ok(obj({"status": enum(["alive"]), "timestamp": TIMESTAMP})))},
    ),
    ("GET", "/api/health/readiness"): Op(
        "Readiness (503 when a dependency is down)", public=True,
        responses={200: Body(ok(obj({
            "status": enum(["ready"]),
            "checks": {"type": "object", "additionalProperties": enum(["up", "down"])},
            "timestamp": TIMESTAMP,
        })))},
        errors=[503],
    ),
    ("GET", "/api/conversations"): Op(
        "List conversations",
        query=[*_PAGING, query_str("chatbotId", "Only this chatbot's conversations.")],
        responses={200: Body(page_of("Seed004Conversation"))},
    ),
    ("POST", "/api/conversations"): Op(
        "Start a conversation (addition: not in the document)",
        description="With `chatbotId`, that bot's deployed model answers.",
        body=Body(request({"chatbotId": STRING}), example={}), body_required=False,
        responses={201: Body(ok(ref("Seed004Conversation")))},
        errors=[503],
    ),
    ("GET", "/api/conversations/{id}"): Op(
        "One conversation", responses={200: Body(ok(ref("Seed004Conversation")))},
    ),
    ("GET", "/api/conversations/{id}/messages"): Op(
        "A conversation's messages, oldest first",
        query=_PAGING,
        responses={200: Body(page_of("Seed004Message"))},
    ),
    ("POST", "/api/conversations/{id}/messages"): Op(
        "Send a message: the stored message, the reply and the conversation",
        body=_MESSAGE_BODY,
        responses={201: Body(ok(obj({
            "message": ref("Seed004Message"), "reply": ref("Seed004Message"),
            "conversation": ref("Seed004Conversation"),
        })))},
    ),
    ("POST", "/api/voice/tts"): Op(
        "Text to speech",
        body=Body(request({
            "text": STRING, "voiceId": STRING, "provider": STRING, "language": STRING,
            "speed": NUMBER,
        }, required=["text"]), example={"text": "Hello from LeadGraph", "speed": 1.0}),
        responses={200: Body(ok(obj({
            "audio": string("Base64 audio."), "mimeType": STRING, "durationSeconds": NUMBER,
            "sampleRate": INTEGER, "provider": STRING, "voiceId": STRING,
        })))},
    ),
    ("POST", "/api/voice/stt"): Op(
        "Speech to text (JSON with base64 `audio`, or a multipart `file` upload)",
        body=Body(request({"audio": string("Base64 audio (WAV, MP3, …)."),
                           "language": STRING}, required=["audio"]),
                  example={"audio": "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQ"
                                    "AAAAA=", "language": "en-US"}),
        other_bodies=[Body(request({"file": string(format="binary"), "language": STRING},
                                   required=["file"]), media="multipart/form-data")],
        responses={200: Body(ok(obj({
            "text": STRING, "confidence": nullable(NUMBER),
            "durationSeconds": nullable(NUMBER), "provider": STRING, "language": STRING,
        })))},
    ),
    ("GET", "/api/voice/voices"): Op(
        "Available voices",
        responses={200: Body(ok(obj({
            "items": array(obj({"id": STRING, "name": STRING, "language": STRING,
                                "gender": nullable(STRING), "provider": STRING})),
            "total": INTEGER,
        })))},
    ),
    ("GET", "/api/chatbots"): Op(
        "List chatbots", query=_PAGING,
        responses={200: Body(page_of("Seed004Chatbot"))}, errors=[503],
    ),
    ("POST", "/api/chatbots"): Op(
        "Create a chatbot",
        body=Body({**_CHATBOT_INPUT, "required": ["name"]}, example={
            "name": "Customer Support Bot",
            "description": "A chatbot for handling customer support inquiries",
            "type": "hybrid", "settings": {"language": "en"}}),
        responses={201: Body(ok(ref("Seed004Chatbot")))}, errors=[503],
    ),
    ("GET", "/api/chatbots/{id}"): Op(
        "One chatbot", responses={200: Body(ok(ref("Seed004Chatbot")))}, errors=[503],
    ),
    ("DELETE", "/api/chatbots/{id}"): Op(
        "Delete a chatbot", responses={200: _DELETED}, errors=[503],
    ),
    ("POST", "/api/chatbots/{id}/train"): Op(
        "Train a chatbot in the background (202 with the job)",
        body=Body(request({"datasetId": string("Default: the bot's dataset.")}),
                  example={}),
        body_required=False,
        responses={202: Body(ok(ref("Seed004TrainingJob")))}, errors=[503],
    ),
    ("POST", "/api/chatbots/{id}/deploy"): Op(
        "Deploy a trained model version (default: the newest)",
        body=Body(request({"modelVersionId": STRING}), example={}), body_required=False,
        responses={200: Body(ok(ref("Seed004Chatbot")))}, errors=[409, 503],
    ),
    ("GET", "/api/chatbots/{id}/analytics"): Op(
        "A chatbot's training and usage figures",
        responses={200: Body(ok(obj({
            "chatbotId": STRING, "deployedModelVersion": nullable(STRING),
            "trainingJobs": INTEGER, "modelVersions": INTEGER, "conversations": INTEGER,
            "conversationsByStatus": {"type": "object", "additionalProperties": INTEGER},
            "purchaseIntent": {"type": "object", "additionalProperties": INTEGER},
            "leadsCaptured": INTEGER,
            "conversionRate": {**NUMBER, "description": "Share of conversations with a lead."},
            "messages": obj({"total": INTEGER, "user": INTEGER, "assistant": INTEGER}),
            "averageMessagesPerConversation": NUMBER,
            "topIntents": array(obj({"intent": STRING, "count": INTEGER})),
            "averageSentiment": nullable(NUMBER),
            "averageConfidence": nullable(NUMBER),
            "lastActiveAt": nullable(TIMESTAMP),
        })))},
        errors=[503],
    ),
    ("GET", "/api/training/datasets"): Op(
        "List training datasets (without their examples)", query=_PAGING,
        responses={200: Body(page_of("Seed004DatasetSummary"))}, errors=[503],
    ),
    ("POST", "/api/training/datasets"): Op(
        "Create a dataset from examples or an imported JSON/CSV file",
        body=Body({**_DATASET_INPUT, "required": ["name"]}, example=_DATASET_EXAMPLE),
        responses={201: Body(ok(ref("Seed004Dataset")))}, errors=[503],
    ),
    ("GET", "/api/training/datasets/{id}"): Op(
        "One dataset with its examples",
        responses={200: Body(ok(ref("Seed004Dataset")))}, errors=[503],
    ),
    ("DELETE", "/api/training/datasets/{id}"): Op(
        "Delete a dataset", responses={200: _DELETED}, errors=[503],
    ),
    ("GET", "/api/training/jobs"): Op(
        "List training jobs",
        query=[*_PAGING, query_str("chatbotId", "Only this chatbot's jobs.")],
        responses={200: Body(page_of("Seed004TrainingJob"))}, errors=[503],
    ),
    ("POST", "/api/training/jobs"): Op(
        "Start a training job (202)",
        body=Body(request({"chatbotId": STRING, "datasetId": STRING},
                          required=["chatbotId"]),
                  example={"chatbotId": "6650c0ffee0000000000abcd"}),
        responses={202: Body(ok(ref("Seed004TrainingJob")))}, errors=[503],
    ),
    ("GET", "/api/training/jobs/{id}"): Op(
        "One training job", responses={200: Body(ok(ref("Seed004TrainingJob")))},
        errors=[503],
    ),
    ("GET", "/api/templates"): Op(
        "List templates", query=_PAGING,
        responses={200: Body(page_of("Seed004Template"))}, errors=[503],
    ),
    ("POST", "/api/templates"): Op(
        "Create a template",
        body=Body({**_TEMPLATE_INPUT, "required": ["name", "content"]},
                  example=_TEMPLATE_EXAMPLE),
        responses={201: Body(ok(ref("Seed004Template")))}, errors=[503],
    ),
    ("GET", "/api/templates/{id}"): Op(
        "One template", responses={200: Body(ok(ref("Seed004Template")))}, errors=[503],
    ),
    ("DELETE", "/api/templates/{id}"): Op(
        "Delete a template", responses={200: _DELETED}, errors=[503],
    ),
    ("POST", "/api/webhooks"): Op(
        "Register a webhook",
        description="Deliveries carry `X-Signature: sha256=HMAC(secret, body)`.",
        body=Body(request({
            "url": string(format="uri"), "events": {**array(STRING), "minItems": 1},
            "secret": STRING,
        }, required=["url", "events"]), example={
            "url": "https://your-service.example.com/webhook",
            "events": ["conversation.created", "message.received"],
            "secret": "your_webhook_secret"}),
        responses={201: Body(ok(ref("Seed004Webhook")))}, errors=[503],
    ),
    ("GET", "/api/webhooks"): Op(
        "List webhooks",
        responses={200: Body(ok(array(ref("Seed004Webhook"))))}, errors=[503],
    ),
}
methods(OPERATIONS, "/api/chatbots/{id}", ("PUT", "PATCH"), Op(
    "Update a chatbot (only the fields sent change)",
    body=Body(_CHATBOT_INPUT, example={"description": "Handles returns too"}),
    responses={200: Body(ok(ref("Seed004Chatbot")))}, errors=[503],
))
methods(OPERATIONS, "/api/training/datasets/{id}", ("PUT", "PATCH"), Op(
    "Update a dataset (examples, or an imported file, replace the old ones)",
    body=Body(_DATASET_INPUT, example={"description": "Greetings, goodbyes and more"}),
    responses={200: Body(ok(ref("Seed004Dataset")))}, errors=[503],
))
methods(OPERATIONS, "/api/templates/{id}", ("PUT", "PATCH"), Op(
    "Update a template",
    body=Body(_TEMPLATE_INPUT, example={"description": "First message of a chat"}),
    responses={200: Body(ok(ref("Seed004Template")))}, errors=[503],
))

# Served by the metrics middleware (``leadgraph.metrics``), not by a route.
MIDDLEWARE_OPERATIONS: Operations = {
    ("GET", "/api/health/metrics"): Op(
        "Prometheus metrics", public=True,
        responses={200: Body(string("Prometheus text exposition format."),
                             media="text/plain")},
    ),
}
