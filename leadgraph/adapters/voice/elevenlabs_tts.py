"""Text-to-speech with ElevenLabs, through its official async SDK; returns ``audio/mpeg``.

``POST /v1/text-to-speech/{voice_id}`` (JSON ``{text, model_id, voice_settings}``, header
``xi-api-key``) for speech and ``GET /v1/voices`` for the voice list. The SDK's own retries are
turned off: the caller (:mod:`leadgraph.adapters.voice.fallback`) decides what happens on a
failure. Every failure, whatever the SDK raised (HTTP status, timeout, refused connection, a
body that is not MP3), becomes :class:`~leadgraph.domain.voice.VoiceProviderError`.
"""

from __future__ import annotations

import logging
from typing import Any

from elevenlabs import VoiceSettings
from elevenlabs.client import AsyncElevenLabs
from elevenlabs.core.request_options import RequestOptions

from leadgraph.adapters.voice import provider_error
from leadgraph.adapters.voice.audio import mp3_duration_seconds
from leadgraph.domain.voice import (
    DEFAULT_LANGUAGE,
    SynthesizedAudio,
    Voice,
    VoiceProviderError,
    check_synthesis_input,
    primary_language,
)

log = logging.getLogger(__name__)

PROVIDER = "elevenlabs"
DEFAULT_VOICE_ID = "21m00Tcm4TlvDq8ikWAM"  # "Rachel", one of the premade voices
DEFAULT_MODEL_ID = "eleven_multilingual_v2"
OUTPUT_FORMAT = "mp3_44100_128"
OUTPUT_SAMPLE_RATE = 44_100
# ElevenLabs accepts voice_settings.speed in [0.7, 1.2].
MIN_PROVIDER_SPEED, MAX_PROVIDER_SPEED = 0.7, 1.2
_NO_RETRIES: RequestOptions = {"max_retries": 0}


class ElevenLabsTextToSpeech:
    """:class:`~leadgraph.domain.voice.TextToSpeech` with ElevenLabs (MP3, 44.1 kHz)."""

    name = PROVIDER

    def __init__(self, client: AsyncElevenLabs, *, default_voice_id: str = DEFAULT_VOICE_ID,
                 model_id: str = DEFAULT_MODEL_ID, stability: float = 0.5,
                 similarity_boost: float = 0.75) -> None:
        self._client = client
        self._default_voice_id = default_voice_id
        self._model_id = model_id
        self._stability = stability
        self._similarity_boost = similarity_boost

    async def synthesize(self, text: str, voice_id: str | None = None,
                         language: str = DEFAULT_LANGUAGE, speed: float = 1.0
                         ) -> SynthesizedAudio:
        spoken = check_synthesis_input(text, speed)
        voice = voice_id or self._default_voice_id
        settings = VoiceSettings(
            stability=self._stability, similarity_boost=self._similarity_boost,
            speed=max(MIN_PROVIDER_SPEED, min(MAX_PROVIDER_SPEED, speed)),
        )
        extra: dict[str, Any] = {}
        if "multilingual_v2" not in self._model_id:  # that model rejects language_code
            extra["language_code"] = primary_language(language)
        try:
            chunks = [chunk async for chunk in self._client.text_to_speech.convert(
                voice, text=spoken, model_id=self._model_id, output_format=OUTPUT_FORMAT,
                voice_settings=settings, request_options=_NO_RETRIES, **extra,
            )]
        except Exception as exc:  # everything the SDK or httpx may raise
            raise provider_error(exc, PROVIDER) from exc
        audio = b"".join(chunks)
        duration = mp3_duration_seconds(audio)
        if duration is None:
            raise VoiceProviderError(PROVIDER, f"the answer is not MP3 audio ({len(audio)} "
                                               "bytes without MPEG frames)")
        return SynthesizedAudio(audio=audio, mime_type="audio/mpeg",
                                sample_rate=OUTPUT_SAMPLE_RATE, duration_seconds=duration,
                                provider=PROVIDER, voice_id=voice)

    async def voices(self) -> list[Voice]:
        try:
            response = await self._client.voices.get_all(request_options=_NO_RETRIES)
        except Exception as exc:
            raise provider_error(exc, PROVIDER) from exc
        voices: list[Voice] = []
        for voice in response.voices:
            labels = voice.labels or {}
            language = labels.get("language")
            if not language and voice.verified_languages:
                verified = voice.verified_languages[0]
                language = getattr(verified, "locale", None) or verified.language
            gender = labels.get("gender")
            voices.append(Voice(
                id=voice.voice_id, name=voice.name or voice.voice_id,
                language=language or "en", gender=gender.lower() if gender else None,
                provider=PROVIDER,
            ))
        return voices
