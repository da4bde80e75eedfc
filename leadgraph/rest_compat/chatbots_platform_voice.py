"""Seed 004's "Voice" endpoints, in that dialect (``leadgraph.rest_compat.chatbots_platform``).

``POST /api/voice/tts`` (``{text, voiceId?, provider?, language?, speed?}`` -> ``data``
``{audio (base64), mimeType, durationSeconds, sampleRate, provider, voiceId}``),
``POST /api/voice/stt`` (multipart field ``file`` or JSON ``{audio: base64, language?}`` ->
``data {text, confidence, durationSeconds, provider, language}``), ``GET /api/voice/voices``.
Errors use the dialect's envelope; bad input is a 400.
"""

from __future__ import annotations

import base64
import math
from typing import Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from leadgraph.domain.errors import FieldProblem, ValidationFailed
from leadgraph.rest_compat._http import Call, endpoint
from leadgraph.rest_compat.chatbots_platform import DIALECT, success

MAX_UPLOAD_BYTES = 25 * 1024 * 1024


def _string(body: dict[str, Any], name: str, problems: list[FieldProblem]) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(FieldProblem(name, "must be a string"))
        return None
    return value


async def text_to_speech(call: Call) -> Response:
    call.actor()
    body = await call.json_object()
    problems: list[FieldProblem] = []
    text = _string(body, "text", problems)
    if text is None and "text" not in body:
        problems.append(FieldProblem("text", "is required"))
    voice_id = _string(body, "voiceId", problems)
    provider = _string(body, "provider", problems)
    language = _string(body, "language", problems)
    speed = body.get("speed")
    if speed is not None and (isinstance(speed, bool) or not isinstance(speed, (int, float))
                              or not math.isfinite(speed)):
        problems.append(FieldProblem("speed", "must be a number"))
        speed = None
    if problems:
        raise ValidationFailed(problems)
    audio = await call.use_cases.voice.synthesize(
        text or "", voice_id, provider, language, float(speed) if speed is not None else None
    )
    return success({
        "audio": base64.b64encode(audio.audio).decode(),
        "mimeType": audio.mime_type,
        "durationSeconds": round(audio.duration_seconds, 3),
        "sampleRate": audio.sample_rate,
        "provider": audio.provider,
        "voiceId": audio.voice_id,
    })


async def _uploaded_audio(call: Call) -> tuple[bytes, str | None, str | None]:
    try:
        form = await call.request.form(max_files=1, max_fields=10)
    except (MultiPartException, HTTPException) as exc:
        detail = exc.message if isinstance(exc, MultiPartException) else exc.detail
        raise ValidationFailed.single("file", f"Unreadable multipart body: {detail}") from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ValidationFailed.single(
                "file", "is required: send the audio as the multipart/form-data field 'file'"
            )
        data = await upload.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise ValidationFailed.single("file", "must be at most 25 MB")
        if not data:
            raise ValidationFailed.single("file", "is empty")
        language = form.get("language")
        return data, upload.content_type, language if isinstance(language, str) else None
    finally:
        await form.close()


async def speech_to_text(call: Call) -> Response:
    call.actor()
    voice = call.use_cases.voice
    field_name = "audio"
    if call.request.headers.get("content-type", "").startswith("multipart/form-data"):
        audio, mime_type, language = await _uploaded_audio(call)
        field_name = "file"
    else:
        body = await call.json_object()
        if body.get("audio") in (None, ""):
            raise ValidationFailed.single("audio", "is required (base64), or upload 'file'")
        audio = voice.decode(body.get("audio"), "audio")
        mime_type = None
        raw_language = body.get("language")
        if raw_language is not None and not isinstance(raw_language, str):
            raise ValidationFailed.single("language", "must be a string")
        language = raw_language
    if mime_type in ("application/octet-stream", ""):
        mime_type = None
    result = await voice.transcribe(audio, mime_type, language, field_name=field_name)
    return success({
        "text": result.text,
        "confidence": result.confidence,
        "durationSeconds": round(result.duration_seconds, 3)
        if result.duration_seconds is not None else None,
        "provider": result.provider,
        "language": result.language,
    })


async def list_voices(call: Call) -> Response:
    call.actor()
    voices = await call.use_cases.voice.voices()
    return success({"items": [
        {"id": v.id, "name": v.name, "language": v.language, "gender": v.gender,
         "provider": v.provider}
        for v in voices
    ], "total": len(voices)})


def routes() -> list[BaseRoute]:
    return [
        Route("/api/voice/tts", endpoint(DIALECT, text_to_speech), methods=["POST"]),
        Route("/api/voice/stt", endpoint(DIALECT, speech_to_text), methods=["POST"]),
        Route("/api/voice/voices", endpoint(DIALECT, list_voices), methods=["GET"]),
    ]
