"""The local speech engines for real: espeak-ng speaks, pocketsphinx listens.

Speech synthesized by espeak-ng (through ctypes, from the ``espeakng-loader`` wheel) is
transcribed back by pocketsphinx (the wheel's US English model), as is and after resampling to
8 kHz, 44.1 kHz and 48 kHz stereo with our pure-Python converter. Recognising synthetic speech
is not perfect, so the assertions are word-overlap ratios measured on this setup (see the
thresholds below), and every transcript is printed (``-s``). Undecodable audio must fail with
``ValidationFailed`` naming ``audio``.
"""

from __future__ import annotations

import asyncio
import base64
import io
import re
import struct
import wave
from array import array

import pytest

from leadgraph.adapters.voice.audio import (
    PcmAudio,
    decode_audio,
    encode_wav,
    mp3_duration_seconds,
    resample,
    to_speech_pcm,
    with_channels,
)
from leadgraph.adapters.voice.espeak_tts import EspeakTextToSpeech
from leadgraph.adapters.voice.pocketsphinx_stt import PocketsphinxSpeechToText
from leadgraph.domain.errors import ValidationFailed
from leadgraph.domain.voice import Voice, decode_base64_audio

SENTENCES = ("please call me tomorrow morning", "we need a mobile app for our business")

# Word overlap measured on these sentences (espeak-ng 1.52 "gmw/en-US+klatt4" -> pocketsphinx
# 5.1.1 en-us): 1.0 for both at 16/22.05/44.1/48 kHz and stereo; at 8 kHz, 0.8 and 0.5 (the
# model is a 16 kHz one: upsampled 8 kHz audio has nothing above 4 kHz). The Klatt voice adds
# random aspiration noise, so the audio differs slightly between runs: margins below measured.
# One unlucky variant may lose two words ("please i'll be tomorrow morning": 0.6), so each
# variant has a floor and the full-band variants together must average well above it.
FULL_BAND_MIN_OVERLAP = 0.75
FULL_BAND_FLOOR = 0.6
NARROW_BAND_MIN_OVERLAP = 0.4


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def overlap(reference: str, hypothesis: str) -> float:
    heard = set(words(hypothesis))
    expected = words(reference)
    return sum(word in heard for word in expected) / len(expected)


@pytest.fixture(scope="module")
def tts() -> EspeakTextToSpeech:
    return EspeakTextToSpeech()


@pytest.fixture(scope="module")
def stt() -> PocketsphinxSpeechToText:
    return PocketsphinxSpeechToText()


@pytest.fixture(scope="module")
async def spoken(tts: EspeakTextToSpeech) -> dict[str, bytes]:
    return {sentence: (await tts.synthesize(sentence)).audio for sentence in SENTENCES}


def problem_fields(error: ValidationFailed) -> list[str]:
    return [problem.field for problem in error.problems]


async def test_espeak_synthesizes_a_valid_wav(tts: EspeakTextToSpeech) -> None:
    result = await tts.synthesize("hello world this is a test")
    assert result.mime_type == "audio/wav"
    assert result.provider == "espeak-ng"
    assert result.voice_id == "gmw/en-US+klatt4"  # chosen from the language, default variant
    assert result.sample_rate == 22050
    with wave.open(io.BytesIO(result.audio)) as reader:
        assert reader.getnchannels() == 1
        assert reader.getsampwidth() == 2
        assert reader.getframerate() == 22050
        frames = reader.getnframes()
        pcm = reader.readframes(frames)
    assert frames > 0
    assert result.duration_seconds == pytest.approx(frames / 22050)
    assert 0.8 < result.duration_seconds < 4.0  # six words of speech
    samples = array("h", pcm)
    assert max(abs(sample) for sample in samples) > 1000  # not silence


async def test_speed_and_voice_change_the_audio(tts: EspeakTextToSpeech) -> None:
    normal = await tts.synthesize("please call me tomorrow morning")
    fast = await tts.synthesize("please call me tomorrow morning", speed=1.5)
    slow = await tts.synthesize("please call me tomorrow morning", speed=0.7)
    british = await tts.synthesize("please call me tomorrow morning", language="en-GB")
    explicit = await tts.synthesize("please call me tomorrow morning", voice_id="gmw/en-US+m3")
    assert fast.duration_seconds < normal.duration_seconds < slow.duration_seconds
    assert british.voice_id == "gmw/en+klatt4"
    assert british.audio != normal.audio
    assert explicit.voice_id == "gmw/en-US+m3"
    assert explicit.audio != normal.audio


async def test_concurrent_synthesis_is_serialised(
    tts: EspeakTextToSpeech,
) -> None:
    texts = ["please call me tomorrow morning", "hello world this is a test"] * 3
    results = await asyncio.gather(*(tts.synthesize(text) for text in texts))
    # The Klatt voice adds random aspiration noise, so bytes differ between runs, but the
    # timing does not: interleaved synthesis (no lock) would mix or lose chunks.
    first, second = len(results[0].audio), len(results[1].audio)
    assert first != second
    assert [len(r.audio) for r in results] == [first, second] * 3
    for result in results:
        with wave.open(io.BytesIO(result.audio)) as reader:
            assert reader.getnframes() * 2 + 44 == len(result.audio)


async def test_espeak_lists_english_voices(tts: EspeakTextToSpeech) -> None:
    voices = await tts.voices()
    assert Voice(id="gmw/en-US", name="English (America)", language="en-US", gender="male",
                 provider="espeak-ng") in voices
    assert Voice(id="gmw/en", name="English (Great Britain)", language="en-GB",
                 gender="male", provider="espeak-ng") in voices
    english = [voice for voice in voices if voice.language.startswith("en")]
    assert len(english) >= 8
    assert len(voices) > 100  # espeak-ng ships voices for many languages


async def test_synthesis_input_errors(tts: EspeakTextToSpeech) -> None:
    with pytest.raises(ValidationFailed) as empty:
        await tts.synthesize("   ")
    assert problem_fields(empty.value) == ["text"]
    with pytest.raises(ValidationFailed) as speed:
        await tts.synthesize("hello", speed=3.0)
    assert problem_fields(speed.value) == ["speed"]
    with pytest.raises(ValidationFailed) as language:
        await tts.synthesize("hello", language="xx-YY")
    assert problem_fields(language.value) == ["language"]


def variants(wav: bytes) -> dict[str, tuple[bytes, str | None]]:
    pcm = decode_audio(wav)
    return {
        "22.05k mono (as synthesized)": (wav, None),
        "16k mono": (encode_wav(resample(pcm, 16000)), "audio/wav"),
        "raw PCM 16k": (resample(pcm, 16000).to_bytes_le(), "audio/L16; rate=16000"),
        "8k mono": (encode_wav(resample(pcm, 8000)), "audio/wav"),
        "44.1k mono": (encode_wav(resample(pcm, 44100)), None),
        "44.1k stereo": (encode_wav(with_channels(resample(pcm, 44100), 2)), None),
        "48k stereo": (encode_wav(with_channels(resample(pcm, 48000), 2)), None),
        "22.05k stereo": (encode_wav(with_channels(pcm, 2)), None),
    }


@pytest.mark.parametrize("sentence", SENTENCES)
async def test_round_trip_through_pocketsphinx(
    sentence: str, spoken: dict[str, bytes], stt: PocketsphinxSpeechToText
) -> None:
    duration = decode_audio(spoken[sentence]).duration_seconds
    full_band: list[float] = []
    for name, (audio, mime_type) in variants(spoken[sentence]).items():
        result = await stt.transcribe(audio, mime_type)
        ratio = overlap(sentence, result.text)
        print(f"\n[{name}] {sentence!r} -> {result.text!r} overlap={ratio:.2f} "
              f"confidence={result.confidence}")
        if name.startswith("8k"):
            assert ratio >= NARROW_BAND_MIN_OVERLAP, (name, result.text)
        else:
            assert ratio >= FULL_BAND_FLOOR, (name, result.text)
            full_band.append(ratio)
        assert result.provider == "pocketsphinx"
        assert result.language == "en-US"
        assert result.duration_seconds == pytest.approx(duration, abs=0.01)
        assert result.confidence is not None and 0.0 <= result.confidence <= 1.0
        # Word segments are in order, inside the audio, and spell the transcript.
        assert " ".join(segment.text for segment in result.segments) == result.text
        ends = [segment.end_seconds for segment in result.segments]
        assert ends == sorted(ends) and ends[-1] <= duration + 0.05
    assert sum(full_band) / len(full_band) >= FULL_BAND_MIN_OVERLAP, full_band


async def test_streamed_transcription_yields_partials_then_one_final(
    spoken: dict[str, bytes], stt: PocketsphinxSpeechToText
) -> None:
    sentence = SENTENCES[1]
    updates = [update async for update in stt.transcribe_stream(spoken[sentence])]
    print("\n" + "\n".join(f"{u.audio_seconds:5.2f}s final={u.is_final} {u.text!r}"
                             for u in updates))
    assert [update.is_final for update in updates] == [False] * (len(updates) - 1) + [True]
    assert len(updates) >= 3  # a two-second sentence in half-second chunks
    seconds = [update.audio_seconds for update in updates]
    assert seconds == sorted(seconds)
    final = updates[-1]
    assert final.transcription is not None and final.transcription.text == final.text
    assert overlap(sentence, final.text) >= FULL_BAND_MIN_OVERLAP
    assert all(update.transcription is None for update in updates[:-1])


def riff(fmt: bytes, data: bytes) -> bytes:
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize(("audio", "mime_type", "message"), [
    (b"\x13\x37 definitely not audio \x00\xff" * 40, None, "is not a WAV file"),
    (b"", None, "is empty"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00", None, "no valid 'fmt ' chunk"),
    (riff(struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16), b""), None, "contains no samples"),
    (riff(struct.pack("<HHIIHH", 7, 1, 8000, 8000, 1, 8), b"\x00" * 800), None,
     "WAV encoding 0x0007 is not supported"),
    (riff(struct.pack("<HHIIHH", 1, 1, 1000, 2000, 2, 16), b"\x00" * 800), None,
     "sample rate 1000 Hz is out of range"),
    (riff(struct.pack("<HHIIHH", 1, 2, 16000, 64000, 2, 16), b"\x00" * 800), None,
     "block alignment"),
    (b"RIFF\x04\x00\x00\x00WAVE", "audio/wav", "has no valid 'fmt ' chunk"),
    (b"\x00\x01\x02", "audio/L16;rate=16000", "whole number of frames"),
    (b"\x00\x01" * 100, "audio/L16;rate=sixteen", "must be integers"),
    (b"\xff\xfb\x90\x00" + b"\x00" * 413, "audio/mpeg", "MP3 is not supported here"),
    (b"OggS" + b"\x00" * 100, "audio/ogg", "unsupported audio type 'audio/ogg'"),
    (b"\x00" * 100, "audio/wav", "is not a WAV file (no RIFF/WAVE header)"),
])
async def test_undecodable_audio_is_a_validation_error_on_audio(
    stt: PocketsphinxSpeechToText, audio: bytes, mime_type: str | None, message: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await stt.transcribe(audio, mime_type)
    assert problem_fields(caught.value) == ["audio"]
    assert message in caught.value.problems[0].message
    assert caught.value.code == "BAD_USER_INPUT"


async def test_other_languages_are_refused_by_the_local_recogniser(
    spoken: dict[str, bytes], stt: PocketsphinxSpeechToText
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await stt.transcribe(spoken[SENTENCES[0]], language="fr-FR")
    assert problem_fields(caught.value) == ["language"]


def test_base64_audio() -> None:
    assert decode_base64_audio(base64.b64encode(b"RIFF1234").decode()) == b"RIFF1234"
    url_safe = base64.urlsafe_b64encode(b"\xfb\xff\xfe").decode()
    assert decode_base64_audio("data:audio/wav;base64," + url_safe) == b"\xfb\xff\xfe"
    for bad in ("not base64!!", "", "QQ=x", "data:audio/wav,plain"):
        with pytest.raises(ValidationFailed) as caught:
            decode_base64_audio(bad)
        assert problem_fields(caught.value) == ["audio"], bad


def test_conversion_to_speech_pcm() -> None:
    # One second of a 441 Hz stereo tone at 44.1 kHz, the right channel silent.
    left = [round(10000 * ((i % 100) / 50 - 1)) for i in range(44100)]
    stereo = array("h", (sample for value in left for sample in (value, 0)))
    speech = to_speech_pcm(PcmAudio(stereo, 44100, 2))
    assert speech.sample_rate == 16000 and speech.channels == 1
    assert len(speech.samples) == 16000
    assert max(speech.samples) <= 5000 and min(speech.samples) >= -5000  # averaged channels
    up = resample(PcmAudio(array("h", [0, 1000, 2000, 3000]), 8000, 1), 16000)
    assert list(up.samples) == [0, 500, 1000, 1500, 2000, 2500, 3000, 3000]
    # 32-bit float WAV, 8-bit and 24-bit PCM decode to the same 16-bit values.
    floats = array("f", [0.0, 0.5, -0.5, 1.0])
    as_float = decode_audio(riff(struct.pack("<HHIIHH", 3, 1, 16000, 64000, 4, 32),
                                 floats.tobytes()))
    assert list(as_float.samples) == [0, 16383, -16383, 32767]
    eight = decode_audio(riff(struct.pack("<HHIIHH", 1, 1, 8000, 8000, 1, 8), b"\x80\xc0\x40"))
    assert list(eight.samples) == [0, 16384, -16384]
    twenty_four = decode_audio(riff(struct.pack("<HHIIHH", 1, 1, 8000, 24000, 3, 24),
                                    b"\x00\x00\x40\x00\x00\xc0"))
    assert list(twenty_four.samples) == [16384, -16384]


def test_mp3_duration_from_frame_headers() -> None:
    frame = b"\xff\xfb\x90\x00" + b"\x00" * 413  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz
    id3 = b"ID3\x03\x00\x00\x00\x00\x00\x0a" + b"\x00" * 10
    assert mp3_duration_seconds(id3 + frame * 100) == pytest.approx(100 * 1152 / 44100)
    assert mp3_duration_seconds(b"<html>not audio</html>" * 10) is None
