"""Real-time factors of the local speech engines: espeak-ng TTS and pocketsphinx STT.

Run from the repository root: ``python -m bench.voice_rtf``. For a few sentences it times
``EspeakTextToSpeech.synthesize`` and ``PocketsphinxSpeechToText.transcribe`` (on the
synthesized WAV, which includes decoding and resampling 22.05 kHz -> 16 kHz in pure Python) and
reports the real-time factor, processing seconds per second of audio (< 1 is faster than real
time), with the transcript and its word overlap with the sentence. The run is bounded: it stops
adding rounds after ~40 s of work. No services needed, no network.
"""

from __future__ import annotations

import asyncio
import platform
import re
import time

from leadgraph.adapters.voice.espeak_tts import EspeakTextToSpeech
from leadgraph.adapters.voice.pocketsphinx_stt import PocketsphinxSpeechToText

SENTENCES = (
    "hello world this is a test",
    "please call me tomorrow morning",
    "we need a mobile app for our business",
    "I would like to buy a new car",
    "what is the price of the premium plan",
)
ROUNDS = 3
BUDGET_SECONDS = 40.0


def overlap(reference: str, hypothesis: str) -> float:
    heard = set(re.findall(r"[a-z']+", hypothesis.lower()))
    expected = re.findall(r"[a-z']+", reference.lower())
    return sum(word in heard for word in expected) / len(expected)


async def main() -> None:
    started = time.perf_counter()
    tts, stt = EspeakTextToSpeech(), PocketsphinxSpeechToText()
    warm = await tts.synthesize("warm up")  # loads libespeak-ng and the decoder model
    await stt.transcribe(warm.audio)
    print(f"CPython {platform.python_version()} on {platform.machine()}, "
          f"warm-up {time.perf_counter() - started:.2f} s")
    print(f"{'sentence':40} {'audio s':>7} {'TTS RTF':>8} {'STT RTF':>8} {'overlap':>7}  "
          "transcript")
    totals = {"audio": 0.0, "tts": 0.0, "stt": 0.0}
    overlaps: list[float] = []
    for round_number in range(ROUNDS):
        if time.perf_counter() - started > BUDGET_SECONDS:
            print(f"(budget reached after {round_number} rounds)")
            break
        for sentence in SENTENCES:
            t0 = time.perf_counter()
            spoken = await tts.synthesize(sentence)
            t1 = time.perf_counter()
            heard = await stt.transcribe(spoken.audio, spoken.mime_type)
            t2 = time.perf_counter()
            seconds = spoken.duration_seconds
            totals["audio"] += seconds
            totals["tts"] += t1 - t0
            totals["stt"] += t2 - t1
            ratio = overlap(sentence, heard.text)
            overlaps.append(ratio)
            if round_number == 0:
                print(f"{sentence:40} {seconds:7.2f} {(t1 - t0) / seconds:8.4f} "
                      f"{(t2 - t1) / seconds:8.3f} {ratio:7.2f}  {heard.text!r}")
    audio = totals["audio"]
    print(f"\ntotal: {audio:.1f} s of audio over {len(overlaps)} sentences; "
          f"TTS RTF {totals['tts'] / audio:.4f}, STT RTF {totals['stt'] / audio:.3f}, "
          f"mean word overlap {sum(overlaps) / len(overlaps):.2f}; "
          f"wall {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    asyncio.run(main())
