"""The cloud speech adapters against real local HTTP servers speaking the providers' formats.

A fake ElevenLabs (``POST /v1/text-to-speech/{voice_id}``, ``GET /v1/voices``) and a fake
OpenAI (``POST /v1/audio/transcriptions``, multipart) run under uvicorn on loopback ports; the
official SDKs talk to them through their ``base_url``. The success paths check what reached the
server; the failure modes (HTTP 500, 401, a slow answer past the timeout, a refused connection,
a 200 that is not audio) must end in the local engine's result, counted as a fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai
import pytest
from elevenlabs.client import AsyncElevenLabs
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from leadgraph.adapters.mongo.embedded import free_loopback_port
from leadgraph.adapters.voice import open_voice
from leadgraph.adapters.voice.audio import decode_audio, resample
from leadgraph.adapters.voice.elevenlabs_tts import ElevenLabsTextToSpeech
from leadgraph.adapters.voice.espeak_tts import EspeakTextToSpeech
from leadgraph.adapters.voice.fallback import FallbackSpeechToText, FallbackTextToSpeech
from leadgraph.adapters.voice.openai_stt import OpenAISpeechToText
from leadgraph.adapters.voice.pocketsphinx_stt import PocketsphinxSpeechToText
from leadgraph.domain.errors import ValidationFailed
from leadgraph.domain.voice import Voice, VoiceProviderError
from leadgraph.settings import Settings
from tests.support import run_uvicorn

ELEVEN_KEY = "xi-test-key"
OPENAI_KEY = "sk-test"
TIMEOUT_SECONDS = 1.0
SLOW_SECONDS = 5.0
SENTENCE = "please call me tomorrow morning"
MP3_FRAME = b"\xff\xfb\x90\x00" + b"\x00" * 413  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz
MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + MP3_FRAME * 50
MP3_SECONDS = 50 * 1152 / 44100
VOICES = {"voices": [
    {"voice_id": "21m00Tcm4TlvDq8ikWAM", "name": "Rachel", "category": "premade",
     "labels": {"accent": "american", "gender": "female", "age": "young"},
     "description": None, "preview_url": "https://example.test/rachel.mp3"},
    {"voice_id": "JBFqnCBsd6RMkjVDRZzb", "name": "George", "category": "premade",
     "labels": {"accent": "british", "gender": "male", "language": "en-GB"},
     "verified_languages": [{"language": "en", "model_id": "eleven_multilingual_v2",
                             "accent": "british", "locale": "en-GB"}]},
    {"voice_id": "nPczCjzI2devNBz1zQrb", "name": "Brian", "category": "premade",
     "labels": {}, "verified_languages": [
         {"language": "es", "model_id": "eleven_multilingual_v2", "locale": "es-ES"}]},
]}


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeProviders:
    """ElevenLabs and OpenAI on one server, one scripted behaviour at a time."""

    behaviour: str = "normal"
    transcript: str = "Please call me tomorrow morning."
    requests: list[Recorded] = field(default_factory=list)
    base_url: str = ""

    def reset(self) -> None:
        self.behaviour = "normal"
        self.requests.clear()

    async def failure(self, request: Request, key_ok: bool) -> Response | None:
        if not key_ok or self.behaviour == "http_401":
            return JSONResponse({"detail": {"status": "invalid_api_key",
                                            "message": "Invalid API key"}}, 401)
        if self.behaviour == "http_500":
            return JSONResponse({"detail": {"status": "internal_error",
                                            "message": "Something went wrong"}}, 500)
        if self.behaviour == "slow":
            for _ in range(int(SLOW_SECONDS / 0.05)):  # stop early once the client gave up
                if await request.is_disconnected():
                    break
                await asyncio.sleep(0.05)
        return None

    async def text_to_speech(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(Recorded("POST", request.url.path, dict(request.query_params),
                                      dict(request.headers), body))
        failed = await self.failure(request, request.headers.get("xi-api-key") == ELEVEN_KEY)
        if failed is not None:
            return failed
        if self.behaviour == "not_audio":
            return Response(b"<html>maintenance</html>", media_type="audio/mpeg")
        return Response(MP3, media_type="audio/mpeg")

    async def voices(self, request: Request) -> Response:
        self.requests.append(Recorded("GET", request.url.path, dict(request.query_params),
                                      dict(request.headers), None))
        failed = await self.failure(request, request.headers.get("xi-api-key") == ELEVEN_KEY)
        return failed or JSONResponse(VOICES)

    async def transcriptions(self, request: Request) -> Response:
        fields: dict[str, Any] = {}
        async with request.form() as form:
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):
                    fields[name] = {"filename": value.filename,
                                    "content_type": value.content_type,
                                    "data": await value.read()}
                else:
                    fields[name] = value
        self.requests.append(Recorded("POST", request.url.path, dict(request.query_params),
                                      dict(request.headers), fields))
        key_ok = request.headers.get("authorization") == f"Bearer {OPENAI_KEY}"
        failed = await self.failure(request, key_ok)
        if failed is not None:
            return failed
        if self.behaviour == "no_text":
            return JSONResponse({"transcript": "wrong field"})
        return JSONResponse({"text": self.transcript})

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/v1/text-to-speech/{voice_id}", self.text_to_speech, methods=["POST"]),
            Route("/v1/voices", self.voices, methods=["GET"]),
            Route("/v1/audio/transcriptions", self.transcriptions, methods=["POST"]),
        ])


@contextlib.asynccontextmanager
async def run_fake(fake: FakeProviders) -> AsyncIterator[FakeProviders]:
    async with run_uvicorn(fake.app()) as base_url:
        fake.base_url = base_url
        yield fake


@pytest.fixture(scope="module")
async def fake_server() -> AsyncIterator[FakeProviders]:
    async with run_fake(FakeProviders()) as fake:
        yield fake


@pytest.fixture
async def fake(fake_server: FakeProviders) -> FakeProviders:
    fake_server.reset()
    return fake_server


_open_clients: list[httpx.AsyncClient | openai.AsyncOpenAI] = []


def eleven_client(base_url: str, api_key: str = ELEVEN_KEY) -> AsyncElevenLabs:
    http = httpx.AsyncClient(timeout=TIMEOUT_SECONDS)
    _open_clients.append(http)
    return AsyncElevenLabs(api_key=api_key, base_url=base_url, timeout=TIMEOUT_SECONDS,
                           httpx_client=http)


def openai_client(base_url: str, api_key: str = OPENAI_KEY) -> openai.AsyncOpenAI:
    client = openai.AsyncOpenAI(api_key=api_key, base_url=f"{base_url}/v1", max_retries=0,
                                timeout=TIMEOUT_SECONDS)
    _open_clients.append(client)
    return client


@pytest.fixture(autouse=True)
async def close_clients() -> AsyncIterator[None]:
    yield
    while _open_clients:
        client = _open_clients.pop()
        if isinstance(client, httpx.AsyncClient):
            await client.aclose()
        else:
            await client.close()


@pytest.fixture(scope="module")
def espeak() -> EspeakTextToSpeech:
    return EspeakTextToSpeech()


@pytest.fixture(scope="module")
def sphinx() -> PocketsphinxSpeechToText:
    return PocketsphinxSpeechToText()


@pytest.fixture(scope="module")
async def spoken(espeak: EspeakTextToSpeech) -> bytes:
    return (await espeak.synthesize(SENTENCE)).audio


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


async def test_elevenlabs_synthesis_sends_the_documented_request(fake: FakeProviders) -> None:
    tts = ElevenLabsTextToSpeech(eleven_client(fake.base_url), model_id="eleven_turbo_v2_5")
    result = await tts.synthesize("  Hello there, how can I help?  ",
                                  voice_id="JBFqnCBsd6RMkjVDRZzb", language="en-GB", speed=1.1)
    assert result.audio == MP3
    assert result.mime_type == "audio/mpeg"
    assert result.provider == "elevenlabs"
    assert result.voice_id == "JBFqnCBsd6RMkjVDRZzb"
    assert result.sample_rate == 44100
    assert result.duration_seconds == pytest.approx(MP3_SECONDS)
    assert len(fake.requests) == 1
    request = fake.requests[0]
    assert request.path == "/v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb"
    assert request.query == {"output_format": "mp3_44100_128"}
    assert request.headers["xi-api-key"] == ELEVEN_KEY
    assert request.headers["content-type"] == "application/json"
    assert request.body == {
        "text": "Hello there, how can I help?", "model_id": "eleven_turbo_v2_5",
        "language_code": "en",
        "voice_settings": {"stability": 0.5, "similarity_boost": 0.75, "speed": 1.1},
    }


async def test_elevenlabs_default_voice_and_speed_clamped(fake: FakeProviders) -> None:
    tts = ElevenLabsTextToSpeech(eleven_client(fake.base_url))
    result = await tts.synthesize("Hi", speed=0.5)
    assert result.voice_id == "21m00Tcm4TlvDq8ikWAM"
    request = fake.requests[0]
    assert request.path == "/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM"
    # eleven_multilingual_v2 takes no language_code; ElevenLabs' speed range is 0.7-1.2.
    assert request.body == {"text": "Hi", "model_id": "eleven_multilingual_v2",
                            "voice_settings": {"stability": 0.5, "similarity_boost": 0.75,
                                               "speed": 0.7}}


async def test_elevenlabs_voices(fake: FakeProviders) -> None:
    tts = ElevenLabsTextToSpeech(eleven_client(fake.base_url))
    assert await tts.voices() == [
        Voice("21m00Tcm4TlvDq8ikWAM", "Rachel", "en", "female", "elevenlabs"),
        Voice("JBFqnCBsd6RMkjVDRZzb", "George", "en-GB", "male", "elevenlabs"),
        Voice("nPczCjzI2devNBz1zQrb", "Brian", "es-ES", None, "elevenlabs"),
    ]
    assert [(r.method, r.path, r.headers["xi-api-key"]) for r in fake.requests] == [
        ("GET", "/v1/voices", ELEVEN_KEY)]


@pytest.mark.parametrize(("behaviour", "status", "detail"), [
    ("http_500", 500, "HTTP 500"),
    ("http_401", 401, "HTTP 401"),
    ("slow", None, "Timeout"),
    ("not_audio", None, "not MP3 audio"),
])
async def test_elevenlabs_failures_are_provider_errors(
    fake: FakeProviders, behaviour: str, status: int | None, detail: str
) -> None:
    fake.behaviour = behaviour
    tts = ElevenLabsTextToSpeech(eleven_client(fake.base_url))
    with pytest.raises(VoiceProviderError) as caught:
        await tts.synthesize("Hello")
    assert caught.value.provider == "elevenlabs"
    assert caught.value.status_code == status
    assert caught.value.code == "VOICE_PROVIDER_ERROR"
    assert detail in caught.value.message
    assert len(fake.requests) == 1  # the SDK's retries are off: the fallback decides


@pytest.mark.parametrize("behaviour", ["http_500", "http_401", "slow", "not_audio", "refused",
                                       "wrong_key"])
async def test_tts_falls_back_to_espeak(
    fake: FakeProviders, espeak: EspeakTextToSpeech, behaviour: str
) -> None:
    base_url = fake.base_url
    key = ELEVEN_KEY
    if behaviour == "refused":
        base_url = f"http://127.0.0.1:{free_loopback_port()}"  # nothing listens there
    elif behaviour == "wrong_key":
        key = "xi-wrong"
    else:
        fake.behaviour = behaviour
    tts = FallbackTextToSpeech(ElevenLabsTextToSpeech(eleven_client(base_url, key)), espeak)
    result = await tts.synthesize(SENTENCE, voice_id="21m00Tcm4TlvDq8ikWAM")
    assert result.provider == "espeak-ng"
    assert result.mime_type == "audio/wav" and result.audio[:4] == b"RIFF"
    assert result.voice_id == "gmw/en-US+klatt4"  # the cloud voice id is not passed on
    assert result.duration_seconds > 1.0
    assert tts.fallbacks == 1
    assert tts.last_error is not None and tts.last_error.provider == "elevenlabs"
    assert len(fake.requests) == (0 if behaviour == "refused" else 1)
    voices = await tts.voices()
    assert tts.fallbacks == (1 if behaviour == "not_audio" else 2)
    assert voices[0].provider == ("elevenlabs" if behaviour == "not_audio" else "espeak-ng")


async def test_tts_input_errors_are_not_provider_failures(
    fake: FakeProviders, espeak: EspeakTextToSpeech
) -> None:
    tts = FallbackTextToSpeech(ElevenLabsTextToSpeech(eleven_client(fake.base_url)), espeak)
    with pytest.raises(ValidationFailed) as caught:
        await tts.synthesize("", speed=9)
    assert [p.field for p in caught.value.problems] == ["text", "speed"]
    assert tts.fallbacks == 0 and fake.requests == []


async def test_openai_transcription_sends_the_documented_request(
    fake: FakeProviders, spoken: bytes
) -> None:
    stt = OpenAISpeechToText(openai_client(fake.base_url), model="whisper-1")
    result = await stt.transcribe(spoken, "audio/wav", language="en-US")
    assert result.text == "Please call me tomorrow morning."
    assert result.provider == "openai"
    assert result.confidence is None
    assert result.duration_seconds == pytest.approx(decode_audio(spoken).duration_seconds)
    assert len(fake.requests) == 1
    request = fake.requests[0]
    assert request.path == "/v1/audio/transcriptions"
    assert request.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert request.body == {
        "model": "whisper-1", "language": "en", "response_format": "json",
        "file": {"filename": "audio.wav", "content_type": "audio/wav", "data": spoken},
    }


async def test_openai_gets_raw_pcm_as_wav_and_other_containers_as_they_are(
    fake: FakeProviders, spoken: bytes
) -> None:
    stt = OpenAISpeechToText(openai_client(fake.base_url), model="gpt-4o-mini-transcribe")
    pcm = resample(decode_audio(spoken), 16000)
    result = await stt.transcribe(pcm.to_bytes_le(), "audio/L16; rate=16000")
    assert result.duration_seconds == pytest.approx(pcm.duration_seconds)
    sent = fake.requests[0].body["file"]
    assert sent["filename"] == "audio.wav" and sent["data"][:4] == b"RIFF"
    assert decode_audio(sent["data"]).samples == pcm.samples
    await stt.transcribe(MP3, "audio/mpeg")
    await stt.transcribe(b"\x1aE\xdf\xa3 webm bytes", "audio/webm;codecs=opus")
    assert [(r.body["model"], r.body["file"]["filename"], r.body["file"]["content_type"])
            for r in fake.requests[1:]] == [
        ("gpt-4o-mini-transcribe", "audio.mp3", "audio/mpeg"),
        ("gpt-4o-mini-transcribe", "audio.webm", "audio/webm"),
    ]
    streamed = [u async for u in stt.transcribe_stream(MP3, "audio/mpeg")]
    assert [(u.text, u.is_final) for u in streamed] == [("Please call me tomorrow morning.", True)]
    assert streamed[0].audio_seconds == pytest.approx(MP3_SECONDS)


async def test_openai_refuses_undecodable_audio_before_sending(fake: FakeProviders) -> None:
    stt = OpenAISpeechToText(openai_client(fake.base_url))
    for audio, mime_type in [(b"RIFF\x04\x00\x00\x00WAVE", None), (b"garbage" * 10, None),
                             (b"", "audio/wav"), (b"\x00" * 10, "text/plain")]:
        with pytest.raises(ValidationFailed) as caught:
            await stt.transcribe(audio, mime_type)
        assert [p.field for p in caught.value.problems] == ["audio"], (audio, mime_type)
    assert fake.requests == []


@pytest.mark.parametrize("behaviour", ["http_500", "http_401", "slow", "no_text", "refused"])
async def test_stt_falls_back_to_pocketsphinx(
    fake: FakeProviders, sphinx: PocketsphinxSpeechToText, spoken: bytes, behaviour: str
) -> None:
    base_url = fake.base_url
    if behaviour == "refused":
        base_url = f"http://127.0.0.1:{free_loopback_port()}"
    else:
        fake.behaviour = behaviour
    stt = FallbackSpeechToText(OpenAISpeechToText(openai_client(base_url)), sphinx)
    result = await stt.transcribe(spoken, "audio/wav")
    print(f"\n[{behaviour}] fell back: {result.text!r}")
    assert result.provider == "pocketsphinx"
    # The Klatt voice's noise depends on what was synthesized before, so recognition varies
    # with test order (measured 3-5 of 5 words); this test is about the fallback path.
    assert len(words(result.text) & words(SENTENCE)) >= 3
    assert stt.fallbacks == 1
    assert stt.last_error is not None and stt.last_error.provider == "openai"
    expected_status = {"http_500": 500, "http_401": 401}.get(behaviour)
    assert stt.last_error.status_code == expected_status
    updates = [u async for u in stt.transcribe_stream(spoken, "audio/wav")]
    assert stt.fallbacks == 2
    assert updates[-1].is_final and updates[-1].transcription is not None
    assert updates[-1].transcription.provider == "pocketsphinx"


async def test_stt_cloud_success_does_not_fall_back(
    fake: FakeProviders, sphinx: PocketsphinxSpeechToText, spoken: bytes
) -> None:
    stt = FallbackSpeechToText(OpenAISpeechToText(openai_client(fake.base_url)), sphinx)
    result = await stt.transcribe(spoken, "audio/wav")
    assert (result.provider, result.text, stt.fallbacks) == (
        "openai", "Please call me tomorrow morning.", 0)
    with pytest.raises(ValidationFailed):
        await stt.transcribe(b"garbage" * 10)
    assert stt.fallbacks == 0 and len(fake.requests) == 1


async def test_open_voice_builds_cloud_engines_with_local_fallback(
    fake: FakeProviders, spoken: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = Settings(
        leadgraph_data_dir=tmp_path_factory.mktemp("voice"),
        elevenlabs_api_key=ELEVEN_KEY, elevenlabs_base_url=fake.base_url,
        elevenlabs_voice_id="JBFqnCBsd6RMkjVDRZzb", stt_provider="openai",
        openai_api_key=OPENAI_KEY, openai_base_url=f"{fake.base_url}/v1",
        openai_stt_model="whisper-1", voice_timeout_seconds=TIMEOUT_SECONDS,
    )
    async with open_voice(settings) as voice:
        spoken_cloud = await voice.tts.synthesize("Hello")
        heard = await voice.stt.transcribe(spoken, "audio/wav")
        fake.behaviour = "http_500"
        spoken_local = await voice.tts.synthesize(SENTENCE)
    assert (spoken_cloud.provider, spoken_cloud.voice_id) == ("elevenlabs", "JBFqnCBsd6RMkjVDRZzb")
    assert heard.provider == "openai"
    assert spoken_local.provider == "espeak-ng"
    assert [r.path for r in fake.requests] == [
        "/v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb", "/v1/audio/transcriptions",
        "/v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb"]

    local_only = Settings(leadgraph_data_dir=tmp_path_factory.mktemp("voice_local"),
                          elevenlabs_api_key=None, openai_api_key=OPENAI_KEY)
    async with open_voice(local_only) as voice:
        assert (voice.tts.name, voice.stt.name) == ("espeak-ng", "pocketsphinx")
