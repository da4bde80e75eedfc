"""Voice AI call use cases: create, start, respond (text or audio), end, read, stream.

Every transport (GraphQL, seed 002 REST and its realtime WebSocket) goes through here: one
lock per call, one turn sequence, and store-then-publish, so a restart in the middle of a call
loses no turn and a transcript subscriber never sees a turn that is not stored.

Transcript events (channel ``call:<id>``) carry the turn's ``seq``. While an audio turn is
being recognised, partial events (``is_final`` false) carry the seq the turn will get; the
final event follows once the turn is stored. Replay (``after_seq``) reads stored turns, so it
gives final events only.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadgraph.domain.activities import CALL_COMPLETED
from leadgraph.domain.assistant.engine import LocalAssistant
from leadgraph.domain.calls import (
    AudioRef,
    Call,
    CallAnalytics,
    CallFilter,
    CallRepository,
    CallState,
    CallStatus,
    CallSummary,
    CallTurn,
    CallTurnFields,
    Speaker,
    TurnAnalysis,
    ai_reply,
    analyze_turn,
    apply_customer_turn,
    call_summary,
    clean_end_reason,
    clean_turn_text,
    ended_status,
    new_call_fields,
    next_state,
    opening_message,
    voice_settings,
)
from leadgraph.domain.errors import Conflict, NotFound, ValidationFailed
from leadgraph.domain.events import STREAM_RESYNC, DomainEvent
from leadgraph.domain.leads import Lead
from leadgraph.domain.pagination import Page, PageRequest
from leadgraph.domain.ports import Clock, ConversationLock, EventBroker, EventSubscription
from leadgraph.domain.users import Principal
from leadgraph.domain.voice import SynthesizedAudio, VoiceProviderError
from leadgraph.resolvers.activities import ActivityUseCases
from leadgraph.resolvers.leads import LeadUseCases
from leadgraph.resolvers.voice import VoiceUseCases, sniff_mime_type

log = logging.getLogger(__name__)

CALLS_CHANNEL = "calls"
CALL_STARTED = "call.started"
CALL_TURN = "call.turn"
CALL_COMPLETED_EVENT = "call.completed"
CALL_FAILED = "call.failed"
TRANSCRIPT = "call.transcript"
TRANSCRIPT_ENDED = "call.transcript_ended"
CALL_FAILED_ACTIVITY = "call_failed"
REPLAY_BATCH = 500


def transcript_channel(call_id: str) -> str:
    return f"call:{call_id}"


@dataclass(frozen=True)
class TranscriptEvent:
    seq: int
    turn_id: str | None
    speaker: Speaker
    text: str
    is_final: bool
    at: datetime

    @classmethod
    def of(cls, turn: CallTurn) -> TranscriptEvent:
        return cls(turn.seq, turn.id, turn.speaker, turn.text, True, turn.started_at)

    def to_data(self) -> dict[str, Any]:
        return {"seq": self.seq, "turn_id": self.turn_id, "speaker": self.speaker.value,
                "text": self.text, "is_final": self.is_final, "at": self.at.isoformat()}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> TranscriptEvent:
        return cls(int(data["seq"]), data.get("turn_id"), Speaker(data["speaker"]),
                   str(data["text"]), bool(data["is_final"]),
                   datetime.fromisoformat(str(data["at"])))


@dataclass(frozen=True)
class SpokenTurn:
    """An AI turn with the audio just synthesized for it (None if speech failed)."""

    turn: CallTurn
    audio: SynthesizedAudio | None
    call: Call
    context: dict[str, str | None]


@dataclass(frozen=True)
class CallExchange:
    """One customer turn, the AI's answer, and where the call stands."""

    customer: CallTurn
    reply: SpokenTurn
    analysis: TurnAnalysis

    @property
    def call(self) -> Call:
        return self.reply.call


@dataclass(frozen=True)
class EndedCall:
    call: Call
    summary: CallSummary
    analytics: CallAnalytics


def lead_context(lead: Lead) -> dict[str, str | None]:
    return {"lead_name": lead.first_name or lead.name or None, "company": lead.company,
            "industry": lead.industry}


class CallUseCases:
    def __init__(
        self, calls: CallRepository, leads: LeadUseCases, activities: ActivityUseCases,
        analyzer: LocalAssistant, voice: VoiceUseCases, lock: ConversationLock,
        broker: EventBroker, clock: Clock,
    ) -> None:
        self._calls = calls
        self._leads = leads
        self._activities = activities
        self._analyzer = analyzer
        self._voice = voice
        self._lock = lock
        self._broker = broker
        self._clock = clock

    # -- reading --------------------------------------------------------------------------

    async def get(self, actor: Principal | None, call_id: str) -> Call:
        found = await self._calls.get(call_id)
        if found is None:
            raise NotFound("Call", call_id)
        return found

    async def search(
        self, actor: Principal, call_filter: CallFilter, page: PageRequest
    ) -> Page[Call]:
        return await self._calls.search(call_filter, page)

    async def load_many(self, call_ids: Sequence[str]) -> list[Call | None]:
        found = {c.id: c for c in await self._calls.get_many(call_ids)}
        return [found.get(call_id) for call_id in call_ids]

    async def load_for_leads(self, lead_ids: Sequence[str]) -> list[list[Call]]:
        """Calls of each lead, batched (the ``calls_by_lead_id`` loader)."""
        grouped: dict[str, list[Call]] = {lead_id: [] for lead_id in lead_ids}
        for call in await self._calls.for_leads(lead_ids):
            if call.lead_id in grouped:
                grouped[call.lead_id].append(call)
        return [grouped[lead_id] for lead_id in lead_ids]

    async def turns(
        self, actor: Principal | None, call_id: str, after_seq: int = 0, limit: int = 500
    ) -> list[CallTurn]:
        return await self._calls.turns_after(call_id, after_seq, limit)

    # -- lifecycle ------------------------------------------------------------------------

    async def create(self, actor: Principal, data: Mapping[str, object]) -> Call:
        lead_id = data.get("lead_id")
        lead = None
        if isinstance(lead_id, str) and lead_id:
            try:
                lead = await self._leads.get(actor, lead_id)
            except NotFound:
                raise ValidationFailed.single("lead_id", f"no lead with id {lead_id!r}") from None
        fields = new_call_fields(data, lead.phone if lead else None, actor.id, self._clock.now())
        return await self._calls.insert(fields)

    async def start(
        self, actor: Principal | None, call_id: str, voice_config: object = None,
        field_name: str = "voice_config",
    ) -> SpokenTurn:
        """The AI's opening turn; the call is then in progress."""
        await self.get(actor, call_id)
        async with self._lock.hold(f"call:{call_id}"):
            call = await self.get(actor, call_id)
            if call.status is not CallStatus.CREATED:
                raise Conflict(f"Call {call_id!r} is {call.status.value}; it can start once")
            settings = voice_settings(voice_config, call.voice_settings, field_name)
            lead = await self._leads.find(actor, call.lead_id) if actor else None
            context = lead_context(lead) if lead is not None else {}
            call = call.model_copy(update={
                "voice_settings": settings, "status": CallStatus.IN_PROGRESS,
                "started_at": self._clock.now(),
            })
            await self._calls.save_state(call)
            spoken = await self._say(call, opening_message(call, context), CallState.GREETING,
                                     True, context)
        await self._publish(CALL_STARTED, spoken.call)
        return spoken

    async def respond(
        self, actor: Principal | None, call_id: str, text: object = None,
        audio_base64: object = None, *, text_field: str = "text",
        audio_field: str = "audio_data",
    ) -> CallExchange:
        """A customer turn (text, or audio recognised with partial transcript events)."""
        audio: bytes | None = None
        if audio_base64 is not None and audio_base64 != "":
            audio = self._voice.decode(audio_base64, audio_field)
        typed: str | None = None
        if text is not None and text != "":
            typed = clean_turn_text(text, text_field)
        if audio is None and typed is None:
            raise ValidationFailed.single(text_field, f"is required (or send {audio_field})")
        self._check_open(await self.get(actor, call_id))
        async with self._lock.hold(f"call:{call_id}"):
            call = await self.get(actor, call_id)
            self._check_open(call)
            lead = await self._leads.find(actor, call.lead_id) if actor else None
            context = lead_context(lead) if lead is not None else {}
            audio_ref: AudioRef | None = None
            confidence: float | None = None
            if audio is not None:
                spoken_text, confidence = await self._recognise(call, audio, audio_field)
                said = spoken_text or typed
                if not said:
                    raise ValidationFailed.single(audio_field, "no speech was recognised")
                audio_ref = await self._keep_audio(call.id, audio, None)
            else:
                said = typed
            assert said is not None
            nlu = self._analyzer.analyze(said)
            analysis = analyze_turn(said, nlu.sentiment, nlu.intent,
                                    [entity.type for entity in nlu.entities])
            call = apply_customer_turn(call, analysis, len(said.split()))
            state, keep_going = next_state(call, analysis)
            customer = await self._store(CallTurnFields(
                call_id=call.id, seq=0, speaker=Speaker.CUSTOMER, text=said, audio=audio_ref,
                analysis=analysis, state=state, should_continue=keep_going,
                transcription_confidence=confidence, started_at=self._clock.now(),
            ))
            call = call.model_copy(update={"conversation_state": state,
                                           "should_continue": keep_going,
                                           "last_seq": customer.seq})
            await self._calls.save_state(call)
            reply = ai_reply(call, analysis, state, keep_going, context)
            spoken = await self._say(call, reply, state, keep_going, context)
        await self._publish(CALL_TURN, spoken.call, customer)
        return CallExchange(customer, spoken, analysis)

    async def end(self, actor: Principal | None, call_id: str, reason: object = None) -> EndedCall:
        why = clean_end_reason(reason)
        self._check_not_ended(await self.get(actor, call_id))
        async with self._lock.hold(f"call:{call_id}"):
            call = await self.get(actor, call_id)
            self._check_not_ended(call)
            now = self._clock.now()
            summary, analytics = call_summary(call, now)
            call = call.model_copy(update={
                "status": ended_status(why), "ended_at": now, "end_reason": why,
                "should_continue": False, "summary": summary, "analytics": analytics,
            })
            await self._calls.save_state(call)
        failed = call.status is CallStatus.FAILED
        await self._activities.record(
            call.lead_id, CALL_FAILED_ACTIVITY if failed else CALL_COMPLETED,
            f"{call.call_type.value.capitalize()} voice call {why}: {summary.recommendation}",
            {"call_id": call.id, "reason": why, "duration_minutes": summary.duration_minutes,
             "total_exchanges": summary.total_exchanges,
             "conversation_state": summary.conversation_state.value,
             "objections": summary.objections_raised,
             "interest_signals": summary.interest_signals,
             "overall_sentiment": summary.overall_sentiment,
             "conversion_probability": analytics.conversion_probability},
            actor=actor.id if actor else None,
        )
        await self._broker.publish(DomainEvent(
            type=TRANSCRIPT_ENDED, channel=transcript_channel(call.id),
            data={"call_id": call.id, "last_seq": call.last_seq},
        ))
        await self._publish(CALL_FAILED if failed else CALL_COMPLETED_EVENT, call)
        return EndedCall(call, summary, analytics)

    # -- streams --------------------------------------------------------------------------

    async def open_transcript_stream(
        self, actor: Principal | None, call_id: str, after_seq: int | None = None
    ) -> AsyncGenerator[TranscriptEvent, None]:
        """Live transcript events; with ``after_seq``, stored turns after it first.

        Subscribed before history is read, so nothing falls between replay and live; a turn
        seen in both is skipped by its seq. Ends once the call has ended.
        """
        call = await self.get(actor, call_id)
        subscription = self._broker.subscribe(transcript_channel(call_id), resync=True)
        return self._stream(subscription, actor, call_id, after_seq, call.last_seq)

    async def _replay(self, call_id: str, last: int) -> AsyncGenerator[CallTurn, None]:
        while True:
            batch = await self._calls.turns_after(call_id, last, REPLAY_BATCH)
            for turn in batch:
                yield turn
                last = turn.seq
            if len(batch) < REPLAY_BATCH:
                return

    async def _stream(
        self, subscription: EventSubscription, actor: Principal | None, call_id: str,
        after_seq: int | None, seen_at_start: int,
    ) -> AsyncGenerator[TranscriptEvent, None]:
        try:
            last = after_seq
            if after_seq is not None:
                async for turn in self._replay(call_id, after_seq):
                    yield TranscriptEvent.of(turn)
                    last = turn.seq
            if (await self.get(actor, call_id)).status.finished:
                return
            async for event in subscription:
                if event.type == STREAM_RESYNC:
                    # Redis was restarted: stored turns after the last seq first, then live.
                    async for turn in self._replay(
                        call_id, seen_at_start if last is None else last
                    ):
                        yield TranscriptEvent.of(turn)
                        last = turn.seq
                    if (await self.get(actor, call_id)).status.finished:
                        return
                    continue
                if event.type == TRANSCRIPT_ENDED:
                    return
                item = TranscriptEvent.from_data(event.data["event"])
                if last is not None and item.seq <= last:
                    continue
                if item.is_final and last is not None and item.seq > last + 1:
                    # Turns from another replica still on their way: the store has them.
                    async for turn in self._replay(call_id, last):
                        yield TranscriptEvent.of(turn)
                        last = turn.seq
                    if item.seq <= last:
                        continue
                if item.is_final:
                    last = item.seq
                yield item
        finally:
            await subscription.aclose()

    async def events(self, actor: Principal) -> AsyncIterator[DomainEvent]:
        subscription = self._broker.subscribe(CALLS_CHANNEL)
        try:
            async for event in subscription:
                yield event
        finally:
            await subscription.aclose()

    # -- internals ------------------------------------------------------------------------

    @staticmethod
    def _check_open(call: Call) -> None:
        if call.status is CallStatus.CREATED:
            raise Conflict(f"Call {call.id!r} has not started yet")
        if call.status.finished:
            raise Conflict(f"Call {call.id!r} has already ended")

    @staticmethod
    def _check_not_ended(call: Call) -> None:
        if call.status.finished:
            raise Conflict(f"Call {call.id!r} has already ended")

    async def _recognise(
        self, call: Call, audio: bytes, field_name: str
    ) -> tuple[str, float | None]:
        """Partial events while recognising (with the seq the turn will take), then the text."""
        upcoming = call.last_seq + 1
        final_text, confidence = "", None
        async for update in self._voice.transcribe_stream(
            audio, call.voice_settings.language, field_name
        ):
            if update.is_final:
                final_text = update.text.strip()
                if update.transcription is not None:
                    confidence = update.transcription.confidence
                break
            await self._publish_transcript(call.id, TranscriptEvent(
                upcoming, None, Speaker.CUSTOMER, update.text, False, self._clock.now()
            ))
        return final_text, confidence

    async def _keep_audio(
        self, call_id: str, audio: bytes, spoken: SynthesizedAudio | None
    ) -> AudioRef:
        mime = spoken.mime_type if spoken is not None else sniff_mime_type(audio)
        audio_id = await self._calls.store_audio(call_id, mime, audio)
        return AudioRef(
            id=audio_id, mime_type=mime,
            duration_seconds=round(spoken.duration_seconds, 3) if spoken else None,
            provider=spoken.provider if spoken else None,
            voice_id=spoken.voice_id if spoken else None, size_bytes=len(audio),
        )

    async def _say(
        self, call: Call, text: str, state: CallState, keep_going: bool,
        context: dict[str, str | None],
    ) -> SpokenTurn:
        settings = call.voice_settings
        audio: SynthesizedAudio | None = None
        try:
            audio = await self._voice.speak(text, settings.voice_id, settings.provider,
                                            settings.language, settings.speed)
        except (VoiceProviderError, ValidationFailed) as exc:
            # The call goes on without audio; the transcript has the words.
            log.warning("speech synthesis failed on call %s: %s", call.id, exc)
        audio_ref = await self._keep_audio(call.id, audio.audio, audio) if audio else None
        turn = await self._store(CallTurnFields(
            call_id=call.id, seq=0, speaker=Speaker.AI, text=text, audio=audio_ref,
            state=state, should_continue=keep_going, started_at=self._clock.now(),
        ))
        call = call.model_copy(update={"last_seq": turn.seq})
        return SpokenTurn(turn, audio, call, context)

    async def _store(self, fields: CallTurnFields) -> CallTurn:
        """Stored first, then published: a subscriber never sees what a restart could lose."""
        seq = await self._calls.reserve_seq(fields.call_id)
        turn = await self._calls.insert_turn(fields.model_copy(update={"seq": seq}))
        await self._publish_transcript(turn.call_id, TranscriptEvent.of(turn))
        return turn

    async def _publish_transcript(self, call_id: str, event: TranscriptEvent) -> None:
        await self._broker.publish(DomainEvent(
            type=TRANSCRIPT, channel=transcript_channel(call_id), data={"event": event.to_data()},
        ))

    async def _publish(self, event_type: str, call: Call, turn: CallTurn | None = None) -> None:
        data: dict[str, Any] = {"call": call.model_dump(mode="json")}
        if turn is not None:
            data["turn"] = turn.model_dump(mode="json")
        await self._broker.publish(DomainEvent(type=event_type, channel=CALLS_CHANNEL, data=data))
