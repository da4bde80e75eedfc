"""Local speech-to-text with pocketsphinx and the US English model its wheel ships.

Input is WAV (any common rate, mono or stereo, 8-32-bit PCM or float) or raw 16-bit PCM
declared as ``audio/L16;rate=...``; it is converted to 16 kHz mono 16-bit in pure Python
(:mod:`leadgraph.adapters.voice.audio`). A ``Decoder`` is not thread-safe and takes a moment to
load, so one is kept per instance and used under a lock, in a worker thread.

:meth:`PocketsphinxSpeechToText.transcribe_stream` feeds the audio in chunks and yields the
decoder's partial hypothesis after each chunk, then the final transcription: the shape a live
call transcript needs.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from pocketsphinx import Decoder

from leadgraph.adapters.voice.audio import SPEECH_RATE, PcmAudio, decode_audio, to_speech_pcm
from leadgraph.domain.errors import ValidationFailed
from leadgraph.domain.voice import (
    DEFAULT_LANGUAGE,
    Transcription,
    TranscriptSegment,
    TranscriptUpdate,
    VoiceProviderError,
    primary_language,
)

PROVIDER = "pocketsphinx"
PRIME_SECONDS = 0.5  # audio used to initialise live cepstral mean normalisation
FRAMES_PER_SECOND = 100  # pocketsphinx's default frame rate (-frate)
_FILLERS = frozenset({"<s>", "</s>", "<sil>", "[NOISE]", "[SPEECH]", "[BREATH]", "[COUGH]",
                      "[UM]", "[UH]", "[SMACK]", "[MUSIC]"})


class PocketsphinxSpeechToText:
    """:class:`~leadgraph.domain.voice.SpeechToText` with pocketsphinx (English only)."""

    name = PROVIDER

    def __init__(self, chunk_seconds: float = 0.5, **decoder_options: Any) -> None:
        self._chunk_bytes = max(2, int(SPEECH_RATE * chunk_seconds) * 2)
        self._prime_bytes = int(SPEECH_RATE * PRIME_SECONDS) * 2
        self._options: dict[str, Any] = {"samprate": SPEECH_RATE, "loglevel": "FATAL",
                                         **decoder_options}
        # Whole files use batch cepstral mean normalisation (computed over the utterance, so
        # a result does not depend on what was decoded before); streams use live CMN, which
        # carries the estimate over from the previous utterance as a real-time decoder must.
        self._decoders: dict[bool, Decoder] = {}
        self._locks = {True: threading.Lock(), False: threading.Lock()}

    @staticmethod
    def _check_language(language: str) -> None:
        if primary_language(language) != "en":
            raise ValidationFailed.single(
                "language", f"the local recogniser only understands English, not {language!r}")

    @staticmethod
    def prepare(audio: bytes, mime_type: str | None) -> PcmAudio:
        """Decode and convert to 16 kHz mono (ValidationFailed on ``audio`` if undecodable)."""
        return to_speech_pcm(decode_audio(audio, mime_type))

    def _decode(self, pcm: PcmAudio, language: str,
                on_partial: Callable[[str, float], None] | None) -> Transcription:
        raw = pcm.to_bytes_le()
        batch = on_partial is None
        with self._locks[batch]:
            try:
                decoder = self._decoders.get(batch)
                if decoder is None:
                    options = {"cmn": "batch" if batch else "live", **self._options}
                    decoder = self._decoders[batch] = Decoder(**options)
                if on_partial is not None:
                    # Live CMN starts from the previous utterance's estimate (or a poor
                    # default on a fresh decoder, which garbles the start of the first
                    # utterance): prime it on the first half-second, features only.
                    decoder.start_utt()
                    decoder.process_raw(raw[:self._prime_bytes], True, True)
                    decoder.end_utt()
                decoder.start_utt()
                if on_partial is None:
                    decoder.process_raw(raw, False, True)  # full_utt: the whole utterance
                else:
                    last = ""
                    for start in range(0, len(raw), self._chunk_bytes):
                        decoder.process_raw(raw[start:start + self._chunk_bytes], False, False)
                        hypothesis = decoder.hyp()
                        text = hypothesis.hypstr if hypothesis is not None else ""
                        if text and text != last:
                            last = text
                            seconds = min(len(raw), start + self._chunk_bytes) / 2 / SPEECH_RATE
                            on_partial(text, seconds)
                decoder.end_utt()
                hypothesis = decoder.hyp()
                segments = tuple(
                    TranscriptSegment(
                        text=segment.word,
                        start_seconds=segment.start_frame / FRAMES_PER_SECOND,
                        end_seconds=(segment.end_frame + 1) / FRAMES_PER_SECOND,
                        confidence=_probability(segment.prob),
                    )
                    for segment in decoder.seg()
                    if segment.word not in _FILLERS
                )
            except RuntimeError as exc:  # the decoder reports failures as RuntimeError
                self._decoders.pop(batch, None)  # start afresh next time
                raise VoiceProviderError(PROVIDER, f"decoding failed: {exc}") from exc
        text = hypothesis.hypstr if hypothesis is not None else ""
        return Transcription(
            text=text,
            confidence=_probability(hypothesis.prob) if hypothesis is not None and text else None,
            duration_seconds=pcm.duration_seconds,
            provider=PROVIDER,
            language=language,
            segments=tuple(_strip_alternates(segment) for segment in segments),
        )

    def transcribe_blocking(self, audio: bytes, mime_type: str | None = None,
                            language: str = DEFAULT_LANGUAGE) -> Transcription:
        self._check_language(language)
        return self._decode(self.prepare(audio, mime_type), language, None)

    async def transcribe(self, audio: bytes, mime_type: str | None = None,
                         language: str = DEFAULT_LANGUAGE) -> Transcription:
        self._check_language(language)
        return await asyncio.to_thread(self.transcribe_blocking, audio, mime_type, language)

    async def transcribe_stream(self, audio: bytes, mime_type: str | None = None,
                                language: str = DEFAULT_LANGUAGE
                                ) -> AsyncIterator[TranscriptUpdate]:
        self._check_language(language)
        pcm = await asyncio.to_thread(self.prepare, audio, mime_type)
        loop = asyncio.get_running_loop()
        updates: asyncio.Queue[TranscriptUpdate | BaseException] = asyncio.Queue()

        def partial(text: str, seconds: float) -> None:
            loop.call_soon_threadsafe(updates.put_nowait, TranscriptUpdate(text, False, seconds))

        def work() -> None:
            result: TranscriptUpdate | BaseException
            try:
                final = self._decode(pcm, language, partial)
                result = TranscriptUpdate(final.text, True, pcm.duration_seconds, final)
            except BaseException as exc:  # handed to the consumer, re-raised there
                result = exc
            loop.call_soon_threadsafe(updates.put_nowait, result)

        worker = loop.run_in_executor(None, work)
        try:
            while True:
                update = await updates.get()
                if isinstance(update, BaseException):
                    raise update
                yield update
                if update.is_final:
                    break
        finally:
            await worker


def _probability(value: float) -> float | None:
    if value != value:  # NaN
        return None
    return max(0.0, min(1.0, float(value)))


def _strip_alternates(segment: TranscriptSegment) -> TranscriptSegment:
    """``"read(2)"`` (an alternate pronunciation) -> ``"read"``."""
    word = segment.text
    if word.endswith(")") and "(" in word:
        word = word[:word.rindex("(")]
    if word == segment.text:
        return segment
    return TranscriptSegment(word, segment.start_seconds, segment.end_seconds, segment.confidence)
