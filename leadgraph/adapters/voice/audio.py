"""Audio containers and PCM conversion in pure Python (no numpy, no ``audioop``).

* :func:`decode_audio` reads a RIFF/WAVE file (PCM 8/16/24/32-bit, IEEE float 32/64-bit,
  WAVE_FORMAT_EXTENSIBLE, any channel count) or headerless 16-bit little-endian PCM declared by
  its MIME type (``audio/L16;rate=16000``, ``audio/pcm``), and returns :class:`PcmAudio`:
  signed 16-bit samples, interleaved.
* :func:`to_speech_pcm` turns that into what speech recognisers want: 16 kHz, mono, 16-bit.
  Channels are averaged; the rate is changed by linear interpolation, after a moving-average
  low-pass when downsampling by 1.5x or more (a crude anti-alias filter that keeps speech
  intelligible for the recogniser at a fraction of a sinc filter's cost).
* :func:`encode_wav` wraps PCM in a WAV with the stdlib :mod:`wave` module.
* :func:`mp3_duration_seconds` walks MPEG audio frame headers to measure an MP3.

Everything that cannot be decoded raises :class:`ValidationFailed` on the field ``audio`` with
a message saying what is wrong, so transports can answer 400/422 naming the problem.
"""

from __future__ import annotations

import io
import struct
import sys
import wave
from array import array
from dataclasses import dataclass

from leadgraph.domain.errors import ValidationFailed
from leadgraph.domain.voice import MAX_AUDIO_SECONDS

SPEECH_RATE = 16_000
_BIG_ENDIAN = sys.byteorder == "big"

_FORMAT_PCM = 0x0001
_FORMAT_FLOAT = 0x0003
_FORMAT_EXTENSIBLE = 0xFFFE

# Headerless PCM is only accepted when declared: garbage bytes are not silently "audio".
RAW_PCM_TYPES = frozenset({"audio/l16", "audio/pcm", "audio/x-pcm", "audio/raw", "audio/x-raw"})
WAV_TYPES = frozenset({"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"})
MP3_TYPES = frozenset({"audio/mpeg", "audio/mp3", "audio/mpeg3", "audio/x-mpeg-3"})


def _bad(message: str) -> ValidationFailed:
    return ValidationFailed.single("audio", message)


@dataclass(frozen=True)
class PcmAudio:
    """Signed 16-bit samples in native byte order, interleaved by channel."""

    samples: array[int]
    sample_rate: int
    channels: int

    @property
    def frames(self) -> int:
        return len(self.samples) // self.channels

    @property
    def duration_seconds(self) -> float:
        return self.frames / self.sample_rate

    def to_bytes_le(self) -> bytes:
        """The samples as little-endian bytes (what WAV files and recognisers take)."""
        if _BIG_ENDIAN:  # pragma: no cover - little-endian CI machines
            swapped = array("h", self.samples)
            swapped.byteswap()
            return swapped.tobytes()
        return self.samples.tobytes()


def parse_mime(mime_type: str | None) -> tuple[str, dict[str, str]]:
    """``"audio/L16; rate=8000"`` -> ``("audio/l16", {"rate": "8000"})``."""
    if not mime_type:
        return "", {}
    base, *params = (part.strip() for part in mime_type.split(";"))
    parsed: dict[str, str] = {}
    for param in params:
        key, _, value = param.partition("=")
        if key:
            parsed[key.strip().lower()] = value.strip().strip('"')
    return base.lower(), parsed


def looks_like_wav(data: bytes) -> bool:
    return len(data) >= 12 and data[:4] in (b"RIFF", b"RIFX") and data[8:12] == b"WAVE"


def looks_like_mp3(data: bytes) -> bool:
    if data[:3] == b"ID3":
        return True
    return len(data) >= 2 and data[0] == 0xFF and (data[1] & 0xE0) == 0xE0


def decode_audio(data: bytes, mime_type: str | None = None) -> PcmAudio:
    """WAV (any layout), or raw 16-bit LE PCM when the MIME type says so."""
    if not data:
        raise _bad("is empty")
    base, params = parse_mime(mime_type)
    if looks_like_wav(data):
        return _decode_wav(data)
    if base in RAW_PCM_TYPES:
        return _decode_raw(data, params)
    if base in WAV_TYPES:
        raise _bad("is not a WAV file (no RIFF/WAVE header)")
    if base in MP3_TYPES or looks_like_mp3(data):
        raise _bad("MP3 is not supported here; send WAV or raw 16-bit PCM (audio/L16;rate=16000)")
    if base:
        raise _bad(f"unsupported audio type {base!r}; send WAV or raw 16-bit PCM "
                   "(audio/L16;rate=16000)")
    raise _bad("is not a WAV file; send WAV or raw 16-bit PCM with mime type "
               "audio/L16;rate=16000")


def _decode_raw(data: bytes, params: dict[str, str]) -> PcmAudio:
    try:
        rate = int(params.get("rate", SPEECH_RATE))
        channels = int(params.get("channels", "1"))
    except ValueError:
        raise _bad("raw PCM rate/channels parameters must be integers") from None
    if not 4000 <= rate <= 192_000:
        raise _bad(f"raw PCM sample rate {rate} Hz is out of range (4000-192000)")
    if not 1 <= channels <= 8:
        raise _bad(f"raw PCM channel count {channels} is out of range (1-8)")
    if len(data) % (2 * channels):
        raise _bad("raw 16-bit PCM must have a whole number of frames (an even byte count)")
    _check_length(len(data) // (2 * channels), rate)
    samples = array("h")
    samples.frombytes(data)
    if _BIG_ENDIAN:  # pragma: no cover
        samples.byteswap()
    return PcmAudio(samples, rate, channels)


def _check_length(frames: int, rate: int) -> None:
    if frames == 0:
        raise _bad("contains no samples")
    if frames / rate > MAX_AUDIO_SECONDS:
        raise _bad(f"is longer than {MAX_AUDIO_SECONDS} seconds")


def _decode_wav(data: bytes) -> PcmAudio:
    if data[:4] == b"RIFX":
        raise _bad("big-endian WAV (RIFX) is not supported")
    position = 12
    fmt: bytes | None = None
    payload: bytes | None = None
    while position + 8 <= len(data):
        chunk_id = data[position:position + 4]
        (size,) = struct.unpack_from("<I", data, position + 4)
        body = data[position + 8:position + 8 + size]
        if chunk_id == b"fmt ":
            fmt = body
        elif chunk_id == b"data":
            payload = body  # a truncated final chunk keeps what is there (streamed files)
            if fmt is not None:
                break
        position += 8 + size + (size & 1)
    if fmt is None or len(fmt) < 16:
        raise _bad("WAV file has no valid 'fmt ' chunk")
    if payload is None:
        raise _bad("WAV file has no 'data' chunk")
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == _FORMAT_EXTENSIBLE:
        if len(fmt) < 40:
            raise _bad("WAV extensible 'fmt ' chunk is truncated")
        (tag,) = struct.unpack_from("<H", fmt, 24)  # first two bytes of the sub-format GUID
    if tag not in (_FORMAT_PCM, _FORMAT_FLOAT):
        raise _bad(f"WAV encoding 0x{tag:04x} is not supported (PCM or IEEE float only)")
    if channels < 1 or channels > 8:
        raise _bad(f"WAV channel count {channels} is not supported (1-8)")
    if not 4000 <= rate <= 192_000:
        raise _bad(f"WAV sample rate {rate} Hz is out of range (4000-192000)")
    width = bits // 8
    valid = {_FORMAT_PCM: (1, 2, 3, 4), _FORMAT_FLOAT: (4, 8)}[tag]
    if bits % 8 or width not in valid:
        raise _bad(f"WAV with {bits}-bit {'float' if tag == _FORMAT_FLOAT else 'PCM'} samples "
                   "is not supported")
    if block_align != width * channels:
        raise _bad("WAV block alignment does not match its channels and sample width")
    frames = len(payload) // block_align
    _check_length(frames, rate)
    payload = payload[:frames * block_align]
    return PcmAudio(_to_int16(payload, width, tag == _FORMAT_FLOAT), rate, channels)


def _to_int16(payload: bytes, width: int, is_float: bool) -> array[int]:
    if is_float:
        floats = array("f" if width == 4 else "d")
        floats.frombytes(payload)
        if _BIG_ENDIAN:  # pragma: no cover
            floats.byteswap()
        return array("h", (max(-32768, min(32767, int(value * 32767.0))) if value == value
                           else 0 for value in floats))
    if width == 2:
        samples = array("h")
        samples.frombytes(payload)
        if _BIG_ENDIAN:  # pragma: no cover
            samples.byteswap()
        return samples
    if width == 1:  # unsigned 8-bit
        return array("h", ((byte - 128) << 8 for byte in payload))
    if width == 3:
        view = memoryview(payload)
        return array("h", (int.from_bytes(view[i + 1:i + 3], "little", signed=True)
                           for i in range(0, len(payload), 3)))
    wide = array("i")  # 32-bit PCM
    if wide.itemsize != 4:  # pragma: no cover - every mainstream platform has 4-byte int
        wide = array("l")
    wide.frombytes(payload)
    if _BIG_ENDIAN:  # pragma: no cover
        wide.byteswap()
    return array("h", (value >> 16 for value in wide))


def to_mono(audio: PcmAudio) -> PcmAudio:
    if audio.channels == 1:
        return audio
    channels = audio.channels
    lanes = [audio.samples[lane::channels] for lane in range(channels)]
    if channels == 2:
        mixed = array("h", ((left + right) >> 1 for left, right in zip(*lanes, strict=True)))
    else:
        mixed = array("h", (sum(frame) // channels for frame in zip(*lanes, strict=True)))
    return PcmAudio(mixed, audio.sample_rate, 1)


def _smooth(samples: array[int], width: int) -> list[float]:
    """Centred moving average over ``width`` samples (a cheap low-pass before decimation)."""
    count = len(samples)
    half = width // 2
    prefix = [0] * (count + 1)
    running = 0
    for index, value in enumerate(samples):
        running += value
        prefix[index + 1] = running
    smoothed: list[float] = []
    for index in range(count):
        low = max(0, index - half)
        high = min(count, index - half + width)
        smoothed.append((prefix[high] - prefix[low]) / (high - low))
    return smoothed


def resample(audio: PcmAudio, rate: int) -> PcmAudio:
    """Change the sample rate of mono audio by linear interpolation."""
    if audio.channels != 1:
        audio = to_mono(audio)
    if audio.sample_rate == rate:
        return audio
    ratio = audio.sample_rate / rate
    source: list[float] | array[int]
    width = round(ratio)
    source = _smooth(audio.samples, width) if ratio >= 1.5 else audio.samples
    count = len(source)
    out_count = max(1, int(count / ratio))
    last = count - 1
    out = array("h", bytes(2 * out_count))
    for index in range(out_count):
        position = index * ratio
        base = int(position)
        if base >= last:
            value = float(source[last])
        else:
            fraction = position - base
            left = source[base]
            value = left + (source[base + 1] - left) * fraction
        out[index] = max(-32768, min(32767, round(value)))
    return PcmAudio(out, rate, 1)


def to_speech_pcm(audio: PcmAudio, rate: int = SPEECH_RATE) -> PcmAudio:
    """Mono, 16-bit, ``rate`` Hz (16 kHz unless told otherwise)."""
    return resample(to_mono(audio), rate)


def encode_wav(audio: PcmAudio) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(audio.channels)
        writer.setsampwidth(2)
        writer.setframerate(audio.sample_rate)
        writer.writeframes(audio.to_bytes_le())
    return buffer.getvalue()


def with_channels(audio: PcmAudio, channels: int) -> PcmAudio:
    """Mono audio duplicated onto ``channels`` channels (for tests and tools)."""
    if audio.channels != 1:
        audio = to_mono(audio)
    if channels == 1:
        return audio
    out = array("h", bytes(2 * len(audio.samples) * channels))
    for lane in range(channels):
        out[lane::channels] = audio.samples
    return PcmAudio(out, audio.sample_rate, channels)


# MPEG audio frame headers: bitrates (kbit/s) by [version is 1][layer index], sample rates.
_BITRATES = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mp3_frame(data: bytes, position: int) -> tuple[int, int, int] | None:
    """(frame length, samples in frame, sample rate) of the frame header at ``position``."""
    if position + 4 > len(data) or data[position] != 0xFF or (data[position + 1] & 0xE0) != 0xE0:
        return None
    version = (data[position + 1] >> 3) & 0x03  # 3: MPEG1, 2: MPEG2, 0: MPEG2.5
    layer = 4 - ((data[position + 1] >> 1) & 0x03)  # 1, 2, 3 (4 means reserved)
    bitrate_index = data[position + 2] >> 4
    rate_index = (data[position + 2] >> 2) & 0x03
    padding = (data[position + 2] >> 1) & 0x01
    if version == 1 or layer == 4 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    mpeg1 = version == 3
    bitrate = _BITRATES[(mpeg1, layer)][bitrate_index] * 1000
    rate = _RATES[version][rate_index]
    if layer == 1:
        return (12 * bitrate // rate + padding) * 4, 384, rate
    samples = 1152 if (layer == 2 or mpeg1) else 576
    return samples // 8 * bitrate // rate + padding, samples, rate


def mp3_duration_seconds(data: bytes) -> float | None:
    """Duration from the MPEG frame headers, or ``None`` if no run of valid frames is found."""
    position = 0
    if data[:3] == b"ID3" and len(data) >= 10:
        size = 0
        for byte in data[6:10]:
            size = (size << 7) | (byte & 0x7F)
        position = 10 + size
    # Find the first frame that is followed by another valid frame (sync words occur by chance).
    while position < len(data) - 4:
        frame = _mp3_frame(data, position)
        if frame is not None and (position + frame[0] >= len(data)
                                  or _mp3_frame(data, position + frame[0]) is not None):
            break
        position += 1
    else:
        return None
    seconds = 0.0
    frames = 0
    while (frame := _mp3_frame(data, position)) is not None:
        length, samples, rate = frame
        seconds += samples / rate
        frames += 1
        position += length
    return seconds if frames else None


def measure_duration(data: bytes, mime_type: str | None = None) -> float | None:
    """Seconds of audio in a WAV, raw PCM or MP3 payload; ``None`` for other containers."""
    base, _ = parse_mime(mime_type)
    if looks_like_wav(data) or base in RAW_PCM_TYPES:
        return decode_audio(data, mime_type).duration_seconds
    if base in MP3_TYPES or looks_like_mp3(data):
        return mp3_duration_seconds(data)
    return None
