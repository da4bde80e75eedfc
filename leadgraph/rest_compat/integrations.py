"""Integrations on the REST dialects.

- Seed 000 ``POST /api/webhook`` (agency chat envelope) and seed 004 ``POST /api/webhooks``
  (``{"status": "success", "data": …}``) register outbound webhooks; every document's event
  names map onto one catalogue (see ``leadgraph.resolvers.integrations``).
- Seed 001 ``GET|POST /api/v1/webhook/whatsapp`` and ``/api/v1/webhook/instagram``: Meta's
  verification handshake, ``X-Hub-Signature-256`` checking when the app secret is set, and
  queueing of inbound messages (answered at once; the assistant's turn and the reply through
  the Graph API happen in the integrations worker).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from leadgraph.domain.errors import ServiceUnavailable
from leadgraph.resolvers.integrations import IntegrationUseCases
from leadgraph.rest_compat import agency_chat, chatbots_platform, lead_capture
from leadgraph.rest_compat._http import Call, endpoint, json_response


def _integrations(call: Call) -> IntegrationUseCases:
    integrations = call.use_cases.integrations
    if integrations is None:
        raise ServiceUnavailable("integrations are not running")
    return integrations


async def register_agency_webhook(call: Call) -> Response:
    body = await call.json_object()
    hook = await _integrations(call).register(
        call.actor(), body.get("url"), body.get("events"), body.get("secret"))
    return json_response({"webhook_id": hook["id"], "status": hook["status"],
                          "message": "Webhook registered successfully"})


def platform_webhook_shape(hook: dict[str, Any]) -> dict[str, Any]:
    return {"id": hook["id"], "url": hook["url"], "events": hook["events"],
            "status": hook["status"], "createdAt": hook["created_at"]}


async def register_platform_webhook(call: Call) -> Response:
    body = await call.json_object()
    hook = await _integrations(call).register(
        call.actor(), body.get("url"), body.get("events"), body.get("secret"))
    return chatbots_platform.success(platform_webhook_shape(hook), 201)


async def list_platform_webhooks(call: Call) -> Response:
    hooks = await _integrations(call).list_webhooks(call.actor())
    return chatbots_platform.success([platform_webhook_shape(hook) for hook in hooks])


def _verify(channel: str) -> Any:
    async def verify(call: Call) -> Response:
        params = call.request.query_params
        challenge = _integrations(call).verify_subscription(
            channel, params.get("hub.mode"), params.get("hub.verify_token"),
            params.get("hub.challenge"))
        if challenge is None:
            return JSONResponse({"detail": "Verification failed"}, status_code=403)
        return PlainTextResponse(challenge)

    verify.__name__ = f"verify_{channel}"
    return verify


def _receive(channel: str) -> Any:
    async def receive(call: Call) -> Response:
        integrations = _integrations(call)
        raw = await call.request.body()
        status = integrations.signature_problem(
            channel, raw, call.request.headers.get("x-hub-signature-256"))
        if status == 401:
            return JSONResponse({"detail": "Missing X-Hub-Signature-256"}, status_code=401)
        if status is not None:
            return JSONResponse({"detail": "Invalid signature"}, status_code=403)
        try:
            payload = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return JSONResponse({"detail": "Malformed JSON"}, status_code=400)
        if not isinstance(payload, dict):
            return JSONResponse({"detail": "Request body must be a JSON object"},
                                status_code=400)
        if channel == "whatsapp":
            counts = await integrations.accept_whatsapp(payload)
        else:
            counts = await integrations.accept_instagram(payload)
        return json_response({"status": "ok", **counts})

    receive.__name__ = f"receive_{channel}"
    return receive


def routes() -> list[BaseRoute]:
    capture = lead_capture.DIALECT
    return [
        Route("/api/webhook", endpoint(agency_chat.DIALECT, register_agency_webhook),
              methods=["POST"]),
        Route("/api/webhooks", endpoint(chatbots_platform.DIALECT, register_platform_webhook),
              methods=["POST"]),
        Route("/api/webhooks", endpoint(chatbots_platform.DIALECT, list_platform_webhooks),
              methods=["GET"]),
        *(
            route
            for channel in ("whatsapp", "instagram")
            for route in (
                Route(f"/api/v1/webhook/{channel}",
                      endpoint(capture, _verify(channel), public=True), methods=["GET"]),
                Route(f"/api/v1/webhook/{channel}",
                      endpoint(capture, _receive(channel), public=True), methods=["POST"]),
            )
        ),
    ]
