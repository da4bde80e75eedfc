"""Speech-to-text with OpenAI (or any server speaking its API), via the ``openai`` SDK.

``POST /v1/audio/transcriptions`` (multipart: ``file``, ``model``, ``language``,
``response_format=json``) answers ``{"text": ...}``. WAV and raw PCM are checked locally first
(undecodable audio is the caller's fault, not the provider's, and raw PCM is sent as WAV since
the API does not take headerless audio); other containers (mp3, ogg, webm, m4a, flac) go as
they are. Failures become :class:`~leadgraph.domain.voice.VoiceProviderError`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai

from leadgraph.adapters.voice import provider_error
from leadgraph.adapters.voice.audio import (
    RAW_PCM_TYPES,
    decode_audio,
    encode_wav,
    looks_like_wav,
    measure_duration,
    parse_mime,
)
from leadgraph.domain.errors import ValidationFailed
from leadgraph.domain.voice import (
    DEFAULT_LANGUAGE,
    Transcription,
    TranscriptUpdate,
    primary_language,
)

PROVIDER = "openai"
DEFAULT_MODEL = "whisper-1"
_EXTENSIONS = {
    "audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/vnd.wave": "wav",
    "audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/mpeg3": "mp3", "audio/x-mpeg-3": "mp3",
    "audio/ogg": "ogg", "audio/webm": "webm", "video/webm": "webm", "audio/mp4": "m4a",
    "audio/m4a": "m4a", "audio/x-m4a": "m4a", "audio/flac": "flac", "audio/x-flac": "flac",
}


class OpenAISpeechToText:
    """:class:`~leadgraph.domain.voice.SpeechToText` with OpenAI's transcription endpoint."""

    name = PROVIDER

    def __init__(self, client: openai.AsyncOpenAI, model: str = DEFAULT_MODEL) -> None:
        self._client = client
        self._model = model

    @staticmethod
    def _upload(audio: bytes, mime_type: str | None) -> tuple[str, bytes, str, float | None]:
        """(file name, bytes, MIME type, duration) to send; ValidationFailed if undecodable."""
        if not audio:
            raise ValidationFailed.single("audio", "is empty")
        base, _ = parse_mime(mime_type)
        if looks_like_wav(audio) or base in RAW_PCM_TYPES or base in ("audio/wav", "audio/x-wav",
                                                                        "audio/wave"):
            pcm = decode_audio(audio, mime_type)
            wav = audio if looks_like_wav(audio) else encode_wav(pcm)
            return "audio.wav", wav, "audio/wav", pcm.duration_seconds
        extension = _EXTENSIONS.get(base)
        if extension is None:
            if base:
                raise ValidationFailed.single("audio", f"unsupported audio type {base!r}")
            raise ValidationFailed.single(
                "audio", "has no recognisable format; send WAV or give its MIME type")
        return f"audio.{extension}", audio, base, measure_duration(audio, base)

    async def transcribe(self, audio: bytes, mime_type: str | None = None,
                         language: str = DEFAULT_LANGUAGE) -> Transcription:
        name, payload, content_type, duration = self._upload(audio, mime_type)
        try:
            result = await self._client.audio.transcriptions.create(
                model=self._model, file=(name, payload, content_type),
                language=primary_language(language), response_format="json",
            )
        except Exception as exc:  # everything the SDK or httpx may raise
            raise provider_error(exc, PROVIDER) from exc
        text = getattr(result, "text", None)
        if not isinstance(text, str):
            raise provider_error(ValueError("the answer has no text"), PROVIDER)
        return Transcription(text=text.strip(), confidence=None, duration_seconds=duration,
                             provider=PROVIDER, language=language)

    async def transcribe_stream(self, audio: bytes, mime_type: str | None = None,
                                language: str = DEFAULT_LANGUAGE
                                ) -> AsyncIterator[TranscriptUpdate]:
        """One final update: this endpoint answers once, for the whole file."""
        result = await self.transcribe(audio, mime_type, language)
        yield TranscriptUpdate(result.text, True, result.duration_seconds or 0.0, result)
