"""Seed 002's "Voice AI Calls" section, in that dialect (``leadgraph.rest_compat.lead_management``).

Paths (base ``/api/v1``): ``POST /voice/calls``, ``GET /voice/calls/{call_id}``,
``POST /voice/calls/{call_id}/start|respond|end`` and the WebSocket
``/voice/calls/{call_id}/realtime`` (``{"type": "audio_chunk", "data": base64}`` or
``{"type": "text_input", "text": …}`` in, ``{"type": "ai_response", "text", "audio", …}`` out;
auth by ``Authorization`` header or ``?token=``).
Errors: the dialect's ``{"error", "status_code", "details", "timestamp"}``: 404 unknown call,
409 a call that has ended (or not started), 422 bad input (bad base64, undecodable audio).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from leadgraph.domain.calls import Call, CallTurn
from leadgraph.domain.errors import DomainError, NotFound, ValidationFailed
from leadgraph.resolvers.auth import Credentials
from leadgraph.resolvers.calls import CallExchange
from leadgraph.resolvers.registry import UseCases
from leadgraph.resolvers.sockets import TooManyConnections
from leadgraph.rest_compat._http import Call as RestCall
from leadgraph.rest_compat._http import endpoint, iso_z, json_response, problem_for
from leadgraph.rest_compat.lead_management import DIALECT


def call_shape(call: Call) -> dict[str, Any]:
    settings = call.voice_settings
    return {
        "id": call.id,
        "call_id": call.id,
        "lead_id": call.lead_id,
        "phone_number": call.phone_number,
        "call_type": call.call_type.value,
        "purpose": call.purpose,
        "voice_settings": {
            "provider": settings.provider, "voice_id": settings.voice_id,
            "language": settings.language, "speed": settings.speed,
            "stability": settings.stability,
        },
        "status": call.status.value,
        "conversation_state": call.conversation_state.value,
        "should_continue": call.should_continue,
        "total_turns": call.last_seq,
        "created_at": iso_z(call.created_at),
        "started_at": iso_z(call.started_at),
        "ended_at": iso_z(call.ended_at),
        "end_reason": call.end_reason,
    }


def turn_shape(turn: CallTurn) -> dict[str, Any]:
    analysis = turn.analysis
    return {
        "id": turn.id,
        "seq": turn.seq,
        "speaker": turn.speaker.value,
        "text": turn.text,
        "audio": None if turn.audio is None else {
            "id": turn.audio.id, "mime_type": turn.audio.mime_type,
            "duration_seconds": turn.audio.duration_seconds,
        },
        "analysis": None if analysis is None else analysis_shape(analysis),
        "conversation_state": turn.state.value,
        "started_at": iso_z(turn.started_at),
    }


def analysis_shape(analysis: Any) -> dict[str, Any]:
    return {"sentiment": analysis.sentiment, "intent": analysis.intent,
            "objections": list(analysis.objections),
            "interest_signals": list(analysis.interest_signals)}


def exchange_shape(exchange: CallExchange) -> dict[str, Any]:
    audio = exchange.reply.audio
    return {
        "success": True,
        "ai_response": exchange.reply.turn.text,
        "audio_data": base64.b64encode(audio.audio).decode() if audio else None,
        "analysis": analysis_shape(exchange.analysis),
        "conversation_state": exchange.call.conversation_state.value,
        "should_continue": exchange.call.should_continue,
        "transcript": exchange.customer.text,
        "turn_seq": exchange.reply.turn.seq,
    }


async def create_call(call: RestCall) -> Response:
    body = await call.json_object()
    created = await call.use_cases.calls.create(call.actor(), body)
    return json_response(call_shape(created), 201)


async def get_call(call: RestCall) -> Response:
    found = await call.use_cases.calls.get(call.actor(), call.path_params["call_id"])
    turns = await call.use_cases.calls.turns(call.actor(), found.id)
    return json_response({**call_shape(found), "turns": [turn_shape(t) for t in turns]})


async def _optional_body(call: RestCall) -> dict[str, Any]:
    raw = await call.request.body()
    return await call.json_object() if raw.strip() else {}


async def start_call(call: RestCall) -> Response:
    body = await _optional_body(call)
    spoken = await call.use_cases.calls.start(
        call.actor(), call.path_params["call_id"], body.get("voice_config"),
    )
    context = spoken.context
    return json_response({
        "success": True,
        "call_id": spoken.call.id,
        "opening_message": spoken.turn.text,
        "session_info": {
            "state": spoken.call.conversation_state.value,
            "context": {"lead_name": context.get("lead_name"),
                        "company": context.get("company"),
                        "industry": context.get("industry")},
        },
    })


async def respond_call(call: RestCall) -> Response:
    body = await call.json_object()
    exchange = await call.use_cases.calls.respond(
        call.actor(), call.path_params["call_id"], body.get("text"), body.get("audio_data"),
    )
    return json_response(exchange_shape(exchange))


async def end_call(call: RestCall) -> Response:
    body = await _optional_body(call)
    ended = await call.use_cases.calls.end(call.actor(), call.path_params["call_id"],
                                           body.get("reason"))
    summary, analytics = ended.summary, ended.analytics
    return json_response({
        "success": True,
        "call_id": ended.call.id,
        "summary": {
            "duration_minutes": summary.duration_minutes,
            "total_exchanges": summary.total_exchanges,
            "conversation_state": summary.conversation_state.value,
            "objections_raised": summary.objections_raised,
            "interest_signals": summary.interest_signals,
            "overall_sentiment": summary.overall_sentiment,
            "recommendation": summary.recommendation,
        },
        "analytics": {
            "conversion_probability": analytics.conversion_probability,
            "engagement_score": analytics.engagement_score,
            "total_turns": analytics.total_turns,
            "avg_sentiment": analytics.avg_sentiment,
        },
    })


# -- realtime WebSocket ---------------------------------------------------------------------

def error_frame(exc: DomainError) -> dict[str, Any]:
    problem = problem_for(exc, DIALECT.validation_status)
    return {"type": "error", "status_code": problem.status, "error": problem.message,
            "details": [{"field": p.field, "message": p.message} for p in problem.fields]}


def _bad_frame(message: str) -> dict[str, Any]:
    return {"type": "error", "status_code": 400, "error": message, "details": []}


async def realtime_socket(websocket: WebSocket) -> None:
    """Seed 002's realtime call socket: one AI response frame per customer frame."""
    use_cases: UseCases = websocket.app.state.use_cases
    call_id = websocket.path_params["call_id"]
    credentials = Credentials.from_headers(websocket.headers)
    token = websocket.query_params.get("token")
    try:
        if credentials.present:
            principal = await use_cases.auth.authenticate(credentials)
        else:
            principal = await use_cases.auth.authenticate_token(token or "")
    except DomainError:
        await _refuse(websocket, 4401, "Unauthorized")
        return
    try:
        async with use_cases.sockets.hold(principal.id):
            await use_cases.calls.get(principal, call_id)
            await websocket.accept()
            while True:
                try:
                    raw = await websocket.receive_text()
                except WebSocketDisconnect:
                    return
                try:
                    frame = json.loads(raw)
                except json.JSONDecodeError:
                    await websocket.send_json(_bad_frame("Frames must be JSON"))
                    continue
                kind = frame.get("type") if isinstance(frame, dict) else None
                if kind not in ("audio_chunk", "text_input"):
                    await websocket.send_json(_bad_frame(
                        'Expected {"type": "audio_chunk", "data": …} or '
                        '{"type": "text_input", "text": …}'))
                    continue
                try:
                    if kind == "audio_chunk":
                        if frame.get("data") in (None, ""):
                            raise ValidationFailed.single("data", "is required (base64 audio)")
                        exchange = await use_cases.calls.respond(
                            principal, call_id, None, frame.get("data"), audio_field="data")
                    else:
                        exchange = await use_cases.calls.respond(
                            principal, call_id, frame.get("text"), None)
                except DomainError as exc:
                    await websocket.send_json(error_frame(exc))
                    continue
                shape = exchange_shape(exchange)
                await websocket.send_json({
                    "type": "ai_response", "text": shape["ai_response"],
                    "audio": shape["audio_data"], "analysis": shape["analysis"],
                    "conversation_state": shape["conversation_state"],
                    "should_continue": shape["should_continue"],
                    "transcript": shape["transcript"], "turn_seq": shape["turn_seq"],
                })
    except TooManyConnections as exc:
        await _refuse(websocket, 4429, exc.message)
    except NotFound as exc:
        await _refuse(websocket, 4404, exc.message)


async def _refuse(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.application_state is WebSocketState.CONNECTING:
        await websocket.accept()
    await websocket.close(code=code, reason=reason)


def routes() -> list[BaseRoute]:
    base = "/api/v1/voice/calls"
    return [
        Route(base, endpoint(DIALECT, create_call), methods=["POST"]),
        Route(f"{base}/{{call_id}}", endpoint(DIALECT, get_call), methods=["GET"]),
        Route(f"{base}/{{call_id}}/start", endpoint(DIALECT, start_call), methods=["POST"]),
        Route(f"{base}/{{call_id}}/respond", endpoint(DIALECT, respond_call), methods=["POST"]),
        Route(f"{base}/{{call_id}}/end", endpoint(DIALECT, end_call), methods=["POST"]),
        WebSocketRoute(f"{base}/{{call_id}}/realtime", realtime_socket),
    ]
