"""Speech use cases: text to speech, speech to text and the voice list, for every transport.

The engines come from :func:`leadgraph.adapters.voice.open_voice` (local by default, a cloud
provider with a local fallback when configured). A caller may ask for a provider by name;
one that is not configured is a validation error naming the ones that are.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from leadgraph.domain.errors import ValidationFailed
from leadgraph.domain.voice import (
    DEFAULT_LANGUAGE,
    SpeechToText,
    SynthesizedAudio,
    TextToSpeech,
    Transcription,
    TranscriptUpdate,
    Voice,
    decode_base64_audio,
)

log = logging.getLogger(__name__)

# What callers may call the local engine (seed 002 examples say "elevenlabs" or nothing).
LOCAL_ALIASES = ("local", "espeak", "espeak-ng")


def sniff_mime_type(audio: bytes) -> str:
    """The container a client sent, from its first bytes (the engines decode by content)."""
    if audio[:4] == b"RIFF" and audio[8:12] == b"WAVE":
        return "audio/wav"
    if audio[:3] == b"ID3" or (len(audio) > 1 and audio[0] == 0xFF and audio[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if audio[:4] == b"OggS":
        return "audio/ogg"
    if audio[:4] == b"\x1a\x45\xdf\xa3":
        return "audio/webm"
    return "application/octet-stream"


def _engines(tts: TextToSpeech) -> dict[str, TextToSpeech]:
    """Each engine by name: a fallback chain answers for its primary, its fallback alone."""
    engines: dict[str, TextToSpeech] = {}
    primary = getattr(tts, "primary", None)
    fallback = getattr(tts, "fallback", None)
    if primary is not None and fallback is not None:
        engines[str(primary.name)] = tts
        engines.update(_engines(fallback))
    else:
        engines[tts.name] = tts
    if "espeak-ng" in engines:
        for alias in LOCAL_ALIASES:
            engines.setdefault(alias, engines["espeak-ng"])
    return engines


class VoiceUseCases:
    def __init__(self, tts: TextToSpeech, stt: SpeechToText) -> None:
        self.tts = tts
        self.stt = stt
        self._engines = _engines(tts)
        self._voices: list[Voice] | None = None

    @property
    def providers(self) -> list[str]:
        return sorted(self._engines)

    def engine(self, provider: str | None, field_name: str = "provider") -> TextToSpeech:
        if provider is None or not provider.strip():
            return self.tts
        found = self._engines.get(provider.strip().lower())
        if found is None:
            raise ValidationFailed.single(
                field_name, f"unknown or unconfigured provider {provider!r}; available: "
                + ", ".join(self.providers),
            )
        return found

    async def synthesize(
        self, text: str, voice_id: str | None = None, provider: str | None = None,
        language: str | None = None, speed: float | None = None,
    ) -> SynthesizedAudio:
        engine = self.engine(provider)
        return await engine.synthesize(
            text, voice_id or None, language or DEFAULT_LANGUAGE, 1.0 if speed is None else speed
        )

    async def speak(
        self, text: str, voice_id: str | None, provider: str | None, language: str, speed: float
    ) -> SynthesizedAudio:
        """For calls: a provider or voice the engines do not know falls back to the default."""
        engine = self._engines.get((provider or "").lower(), self.tts)
        try:
            return await engine.synthesize(text, voice_id, language, speed)
        except ValidationFailed:
            if voice_id is None and engine is self.tts:
                raise
            log.info("voice %r not available on %s; using the default voice", voice_id,
                     engine.name)
        return await self.tts.synthesize(text, None, language, speed)

    def decode(self, audio_base64: object, field_name: str) -> bytes:
        if not isinstance(audio_base64, str):
            raise ValidationFailed.single(field_name, "must be a base64 string")
        return decode_base64_audio(audio_base64, field_name)

    async def transcribe(
        self, audio: bytes, mime_type: str | None = None, language: str | None = None,
        field_name: str = "audio",
    ) -> Transcription:
        with _field(field_name):
            return await self.stt.transcribe(audio, mime_type, language or DEFAULT_LANGUAGE)

    async def transcribe_stream(
        self, audio: bytes, language: str, field_name: str
    ) -> AsyncIterator[TranscriptUpdate]:
        with _field(field_name):
            async for update in self.stt.transcribe_stream(audio, None, language):
                yield update

    async def voices(self) -> list[Voice]:
        if self._voices is None:
            self._voices = await self.tts.voices()
        return list(self._voices)


class _field:
    """Report the engines' ``audio`` problems under the name the caller used."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, ValidationFailed) and self.name != "audio":
            renamed = [p if p.field != "audio" else type(p)(self.name, p.message)
                       for p in exc.problems]
            raise ValidationFailed(renamed) from None
