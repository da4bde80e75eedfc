"""Speech adapters: local (espeak-ng, pocketsphinx) and cloud (ElevenLabs, OpenAI) engines.

The engines implement :class:`leadgraph.domain.voice.TextToSpeech` and
:class:`~leadgraph.domain.voice.SpeechToText`; :func:`open_voice` builds the pair the settings
ask for (cloud with a local fallback, or local only). Submodules are imported lazily here so
that importing one engine does not load every SDK.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from leadgraph.domain.voice import SpeechToText, TextToSpeech, VoiceProviderError

if TYPE_CHECKING:
    from leadgraph.settings import Settings


def provider_error(exc: Exception, provider: str) -> VoiceProviderError:
    """Any SDK/transport exception as a VoiceProviderError, keeping the HTTP status if any."""
    if isinstance(exc, VoiceProviderError):
        return exc
    status = getattr(exc, "status_code", None)
    status_code = status if isinstance(status, int) else None
    if status_code is not None:
        body = getattr(exc, "body", None)
        detail = f"HTTP {status_code}: {str(body if body is not None else exc)[:200]}"
    else:
        detail = f"{type(exc).__name__}: {str(exc)[:200] or 'no detail'}"
    return VoiceProviderError(provider, detail, status_code=status_code)


@dataclass(frozen=True)
class VoiceEngines:
    tts: TextToSpeech
    stt: SpeechToText


@asynccontextmanager
async def open_voice(settings: Settings) -> AsyncIterator[VoiceEngines]:
    """The speech engines for ``settings``; closes the cloud clients on exit."""
    from leadgraph.adapters.voice.espeak_tts import EspeakTextToSpeech
    from leadgraph.adapters.voice.fallback import FallbackSpeechToText, FallbackTextToSpeech
    from leadgraph.adapters.voice.pocketsphinx_stt import PocketsphinxSpeechToText

    tts: TextToSpeech = EspeakTextToSpeech()
    stt: SpeechToText = PocketsphinxSpeechToText()
    async with AsyncExitStack() as stack:
        if settings.elevenlabs_api_key is not None:
            import httpx
            from elevenlabs.client import AsyncElevenLabs

            from leadgraph.adapters.voice.elevenlabs_tts import ElevenLabsTextToSpeech

            http = httpx.AsyncClient(timeout=settings.voice_timeout_seconds)
            stack.push_async_callback(http.aclose)
            eleven = AsyncElevenLabs(
                api_key=settings.elevenlabs_api_key.get_secret_value(),
                base_url=settings.elevenlabs_base_url, httpx_client=http,
                timeout=settings.voice_timeout_seconds,
            )
            tts = FallbackTextToSpeech(ElevenLabsTextToSpeech(
                eleven, default_voice_id=settings.elevenlabs_voice_id,
                model_id=settings.elevenlabs_model_id,
            ), tts)
        if settings.stt_provider.lower() == "openai" and settings.openai_api_key is not None:
            import openai

            from leadgraph.adapters.voice.openai_stt import OpenAISpeechToText

            client = openai.AsyncOpenAI(
                api_key=settings.openai_api_key.get_secret_value(),
                base_url=settings.openai_base_url, max_retries=0,
                timeout=settings.voice_timeout_seconds,
            )
            stack.push_async_callback(client.close)
            stt = FallbackSpeechToText(OpenAISpeechToText(client, settings.openai_stt_model), stt)
        yield VoiceEngines(tts, stt)
