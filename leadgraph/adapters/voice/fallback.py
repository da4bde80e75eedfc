"""A cloud provider first, the local engine whenever the cloud fails.

Any :class:`~leadgraph.domain.voice.VoiceProviderError` from the cloud side (HTTP 4xx/5xx,
auth error, timeout, refused connection, an answer that is not audio) is logged, counted in
``fallbacks`` and answered by the local engine instead; the caller sees the local result (its
``provider`` field says which engine answered). Input errors
(:class:`~leadgraph.domain.errors.ValidationFailed`) are the caller's and pass through.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from leadgraph.domain.voice import (
    DEFAULT_LANGUAGE,
    SpeechToText,
    SynthesizedAudio,
    TextToSpeech,
    Transcription,
    TranscriptUpdate,
    Voice,
    VoiceProviderError,
)

log = logging.getLogger(__name__)


class FallbackTextToSpeech:
    def __init__(self, primary: TextToSpeech, fallback: TextToSpeech) -> None:
        self.primary = primary
        self.fallback = fallback
        self.name = f"{primary.name}+{fallback.name}"
        self.fallbacks = 0
        self.last_error: VoiceProviderError | None = None

    def _failed(self, operation: str, exc: VoiceProviderError) -> None:
        self.fallbacks += 1
        self.last_error = exc
        log.warning("%s %s failed, using %s: %s", self.primary.name, operation,
                    self.fallback.name, exc.message)

    async def synthesize(self, text: str, voice_id: str | None = None,
                         language: str = DEFAULT_LANGUAGE, speed: float = 1.0
                         ) -> SynthesizedAudio:
        try:
            return await self.primary.synthesize(text, voice_id, language, speed)
        except VoiceProviderError as exc:
            self._failed("synthesis", exc)
        # The cloud voice id means nothing to the local engine: let it pick by language.
        return await self.fallback.synthesize(text, None, language, speed)

    async def voices(self) -> list[Voice]:
        try:
            return await self.primary.voices()
        except VoiceProviderError as exc:
            self._failed("voice list", exc)
        return await self.fallback.voices()


class FallbackSpeechToText:
    def __init__(self, primary: SpeechToText, fallback: SpeechToText) -> None:
        self.primary = primary
        self.fallback = fallback
        self.name = f"{primary.name}+{fallback.name}"
        self.fallbacks = 0
        self.last_error: VoiceProviderError | None = None

    def _failed(self, exc: VoiceProviderError) -> None:
        self.fallbacks += 1
        self.last_error = exc
        log.warning("%s transcription failed, using %s: %s", self.primary.name,
                    self.fallback.name, exc.message)

    async def transcribe(self, audio: bytes, mime_type: str | None = None,
                         language: str = DEFAULT_LANGUAGE) -> Transcription:
        try:
            return await self.primary.transcribe(audio, mime_type, language)
        except VoiceProviderError as exc:
            self._failed(exc)
        return await self.fallback.transcribe(audio, mime_type, language)

    async def transcribe_stream(self, audio: bytes, mime_type: str | None = None,
                                language: str = DEFAULT_LANGUAGE
                                ) -> AsyncIterator[TranscriptUpdate]:
        """The primary's updates; if it fails, the fallback's, from the start of the audio.

        Partial texts are provisional by nature, so a consumer that saw some partials from
        the primary simply sees them replaced by the fallback's.
        """
        try:
            async for update in self.primary.transcribe_stream(audio, mime_type, language):
                yield update
            return
        except VoiceProviderError as exc:
            self._failed(exc)
        async for update in self.fallback.transcribe_stream(audio, mime_type, language):
            yield update
