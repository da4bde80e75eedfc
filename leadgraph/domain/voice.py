"""Voice: the ports for text-to-speech and speech-to-text, their values and errors.

Pure: no I/O here. Adapters (``leadgraph.adapters.voice``) implement :class:`TextToSpeech` and
:class:`SpeechToText` with local engines (espeak-ng, pocketsphinx) and cloud providers
(ElevenLabs, OpenAI), plus fallbacks from cloud to local.

Languages are BCP 47 tags (``"en-US"``, ``"en"``); audio travels as bytes with a MIME type.
Bad input (undecodable audio, bad base64, empty text) raises
:class:`~leadgraph.domain.errors.ValidationFailed` naming the field; a provider that fails
raises :class:`VoiceProviderError`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

from leadgraph.domain.errors import FieldProblem, ServiceUnavailable, ValidationFailed

DEFAULT_LANGUAGE = "en-US"
MAX_TEXT_CHARS = 5000
MAX_AUDIO_SECONDS = 600
MIN_SPEED = 0.5
MAX_SPEED = 2.0


class VoiceProviderError(ServiceUnavailable):
    """A speech provider failed (HTTP 5xx/4xx, timeout, refused connection, bad answer).

    A :class:`~leadgraph.domain.errors.ServiceUnavailable`, so transports that do not know it
    still answer 503; ``code`` tells GraphQL callers what failed.
    """

    code = "VOICE_PROVIDER_ERROR"

    def __init__(self, provider: str, message: str, *, status_code: int | None = None) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.status_code = status_code


@dataclass(frozen=True)
class Voice:
    id: str
    name: str
    language: str
    gender: str | None
    provider: str


@dataclass(frozen=True)
class SynthesizedAudio:
    audio: bytes = field(repr=False)
    mime_type: str
    sample_rate: int
    duration_seconds: float
    provider: str
    voice_id: str


@dataclass(frozen=True)
class TranscriptSegment:
    """One recognised word or phrase, with its time span in the audio."""

    text: str
    start_seconds: float
    end_seconds: float
    confidence: float | None = None


@dataclass(frozen=True)
class Transcription:
    text: str
    confidence: float | None
    # None only when a cloud provider got a container we cannot measure (e.g. webm, ogg).
    duration_seconds: float | None
    provider: str
    language: str = DEFAULT_LANGUAGE
    segments: tuple[TranscriptSegment, ...] = ()


@dataclass(frozen=True)
class TranscriptUpdate:
    """One step of a streamed transcription: partial hypotheses, then exactly one final."""

    text: str
    is_final: bool
    audio_seconds: float
    """How much of the audio has been decoded when this update was produced."""
    transcription: Transcription | None = None
    """Set on the final update only."""


class TextToSpeech(Protocol):
    name: str

    async def synthesize(
        self, text: str, voice_id: str | None = None, language: str = DEFAULT_LANGUAGE,
        speed: float = 1.0,
    ) -> SynthesizedAudio: ...

    async def voices(self) -> list[Voice]: ...


class SpeechToText(Protocol):
    name: str

    async def transcribe(
        self, audio: bytes, mime_type: str | None = None, language: str = DEFAULT_LANGUAGE,
    ) -> Transcription: ...

    def transcribe_stream(
        self, audio: bytes, mime_type: str | None = None, language: str = DEFAULT_LANGUAGE,
    ) -> AsyncIterator[TranscriptUpdate]:
        """Partial hypotheses while decoding, then one final update (``is_final``)."""
        ...


def check_synthesis_input(text: str, speed: float) -> str:
    """The text to speak, stripped; ValidationFailed for empty/oversized text or bad speed."""
    problems: list[tuple[str, str]] = []
    stripped = text.strip()
    if not stripped:
        problems.append(("text", "must not be empty"))
    elif len(stripped) > MAX_TEXT_CHARS:
        problems.append(("text", f"must be at most {MAX_TEXT_CHARS} characters"))
    if not MIN_SPEED <= speed <= MAX_SPEED:
        problems.append(("speed", f"must be between {MIN_SPEED} and {MAX_SPEED}"))
    if problems:
        raise ValidationFailed([FieldProblem(name, message) for name, message in problems])
    return stripped


def primary_language(language: str) -> str:
    """``"en-US"`` -> ``"en"`` (ISO 639-1, what most providers take)."""
    return language.replace("_", "-").split("-", 1)[0].lower()


def decode_base64_audio(data: str, field_name: str = "audio") -> bytes:
    """Standard or URL-safe base64 (a ``data:`` URL prefix is allowed) -> bytes.

    Raises ValidationFailed on ``field_name`` for bad base64 or an empty payload.
    """
    payload = data.strip()
    if payload.startswith("data:"):
        header, _, payload = payload.partition(",")
        if ";base64" not in header:
            raise ValidationFailed.single(field_name, "data URL must be base64-encoded")
    payload = "".join(payload.split())
    if "-" in payload or "_" in payload:
        payload = payload.replace("-", "+").replace("_", "/")
    payload += "=" * (-len(payload) % 4)
    try:
        decoded = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed.single(field_name, "is not valid base64") from None
    if not decoded:
        raise ValidationFailed.single(field_name, "is empty")
    return decoded
