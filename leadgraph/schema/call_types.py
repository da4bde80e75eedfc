"""GraphQL types and root fields for voice AI calls and speech (public contract: names fixed).

The root classes here (``CallQuery``, ``CallMutation``, ``CallSubscription``) are mixed into
the schema's roots.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry import Info

from leadgraph.domain import calls as domain
from leadgraph.domain import voice as domain_voice
from leadgraph.domain.events import DomainEvent
from leadgraph.domain.pagination import Page
from leadgraph.resolvers import calls as use_cases
from leadgraph.schema.context import GraphQLContext
from leadgraph.schema.pagination import encode_cursor, page_request
from leadgraph.schema.permissions import IsAuthenticated
from leadgraph.schema.types import Lead, PageInfo

Ctx = Info[GraphQLContext, Any]

CallType = strawberry.enum(domain.CallType, name="CallType")
CallStatus = strawberry.enum(domain.CallStatus, name="CallStatus")
CallState = strawberry.enum(
    domain.CallState, name="CallState", description="Where the sales conversation stands."
)
CallSpeaker = strawberry.enum(domain.Speaker, name="CallSpeaker")


@strawberry.enum
class CallEventType(Enum):
    STARTED = use_cases.CALL_STARTED
    TURN = use_cases.CALL_TURN
    COMPLETED = use_cases.CALL_COMPLETED_EVENT
    FAILED = use_cases.CALL_FAILED


@strawberry.type
class VoiceSettings:
    provider: str | None
    voice_id: str | None
    language: str
    speed: float
    stability: float | None


@strawberry.type
class AudioRef:
    id: strawberry.ID
    mime_type: str
    duration_seconds: float | None
    provider: str | None
    voice_id: str | None
    size_bytes: int


@strawberry.type
class TurnAnalysis:
    sentiment: float
    intent: str
    objections: list[str]
    interest_signals: list[str]

    @classmethod
    def from_domain(cls, analysis: domain.TurnAnalysis) -> TurnAnalysis:
        return cls(sentiment=analysis.sentiment, intent=analysis.intent,
                   objections=list(analysis.objections),
                   interest_signals=list(analysis.interest_signals))


@strawberry.type
class CallTurn:
    id: strawberry.ID
    call_id: strawberry.ID
    seq: int = strawberry.field(description="Monotonic per call; resume with afterSeq.")
    speaker: CallSpeaker  # type: ignore[valid-type]
    text: str
    audio: AudioRef | None = strawberry.field(description="Where the turn's audio is kept.")
    audio_base64: str | None = strawberry.field(
        description="The synthesized audio itself, on the turn a mutation just produced."
    )
    started_at: datetime
    analysis: TurnAnalysis | None = strawberry.field(description="Customer turns only.")
    conversation_state: CallState  # type: ignore[valid-type]
    should_continue: bool
    in_reply_to: CallTurn | None = strawberry.field(
        description="On the AI's answer from respondToCall: the customer turn it answers."
    )

    @classmethod
    def from_domain(cls, turn: domain.CallTurn, audio: bytes | None = None,
                    in_reply_to: CallTurn | None = None) -> CallTurn:
        ref = turn.audio
        return cls(
            id=strawberry.ID(turn.id), call_id=strawberry.ID(turn.call_id), seq=turn.seq,
            speaker=turn.speaker, text=turn.text,
            audio=AudioRef(id=strawberry.ID(ref.id), mime_type=ref.mime_type,
                           duration_seconds=ref.duration_seconds, provider=ref.provider,
                           voice_id=ref.voice_id, size_bytes=ref.size_bytes) if ref else None,
            audio_base64=base64.b64encode(audio).decode() if audio is not None else None,
            started_at=turn.started_at,
            analysis=TurnAnalysis.from_domain(turn.analysis) if turn.analysis else None,
            conversation_state=turn.state, should_continue=turn.should_continue,
            in_reply_to=in_reply_to,
        )

    @classmethod
    def spoken(cls, spoken: use_cases.SpokenTurn,
               in_reply_to: CallTurn | None = None) -> CallTurn:
        return cls.from_domain(spoken.turn, spoken.audio.audio if spoken.audio else None,
                               in_reply_to)


@strawberry.type
class CallAnalytics:
    conversion_probability: float
    engagement_score: float
    total_turns: int
    avg_sentiment: float


@strawberry.type
class CallSummary:
    call_id: strawberry.ID
    duration_minutes: float
    total_exchanges: int
    conversation_state: CallState  # type: ignore[valid-type]
    objections_raised: list[str]
    interest_signals: list[str]
    overall_sentiment: float
    recommendation: str
    analytics: CallAnalytics

    @classmethod
    def from_domain(cls, call_id: str, summary: domain.CallSummary,
                    analytics: domain.CallAnalytics) -> CallSummary:
        return cls(
            call_id=strawberry.ID(call_id), duration_minutes=summary.duration_minutes,
            total_exchanges=summary.total_exchanges,
            conversation_state=summary.conversation_state,
            objections_raised=list(summary.objections_raised),
            interest_signals=list(summary.interest_signals),
            overall_sentiment=summary.overall_sentiment, recommendation=summary.recommendation,
            analytics=CallAnalytics(**analytics.model_dump()),
        )


@strawberry.type
class Call:
    id: strawberry.ID
    lead_id: strawberry.ID
    phone_number: str | None
    call_type: CallType  # type: ignore[valid-type]
    purpose: str | None
    voice_settings: VoiceSettings
    status: CallStatus  # type: ignore[valid-type]
    conversation_state: CallState  # type: ignore[valid-type]
    should_continue: bool
    turn_count: int
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    summary: CallSummary | None
    analytics: CallAnalytics | None

    @strawberry.field
    async def lead(self, info: Ctx) -> Lead | None:
        found = await info.context.loaders.lead_by_id.load(str(self.lead_id))
        return Lead.from_domain(found) if found is not None else None

    @strawberry.field(description="The turns in order (seq after `afterSeq`, at most 500).")
    async def turns(self, info: Ctx, after_seq: int = 0) -> list[CallTurn]:
        found = await info.context.use_cases.calls.turns(
            info.context.principal, str(self.id), max(0, after_seq)
        )
        return [CallTurn.from_domain(turn) for turn in found]

    @classmethod
    def from_domain(cls, call: domain.Call) -> Call:
        settings = call.voice_settings
        summary = (CallSummary.from_domain(call.id, call.summary, call.analytics)
                   if call.summary is not None and call.analytics is not None else None)
        return cls(
            id=strawberry.ID(call.id), lead_id=strawberry.ID(call.lead_id),
            phone_number=call.phone_number, call_type=call.call_type, purpose=call.purpose,
            voice_settings=VoiceSettings(**settings.model_dump()), status=call.status,
            conversation_state=call.conversation_state, should_continue=call.should_continue,
            turn_count=call.last_seq, created_at=call.created_at, started_at=call.started_at,
            ended_at=call.ended_at, end_reason=call.end_reason, summary=summary,
            analytics=summary.analytics if summary else None,
        )


@strawberry.type
class CallEdge:
    cursor: str
    node: Call


@strawberry.type
class CallConnection:
    edges: list[CallEdge]
    page_info: PageInfo
    total_count: int

    @classmethod
    def from_page(cls, page: Page[domain.Call]) -> CallConnection:
        edges = [CallEdge(cursor=encode_cursor(page.offset + i), node=Call.from_domain(c))
                 for i, c in enumerate(page.items)]
        return cls(edges=edges, total_count=page.total, page_info=PageInfo(
            has_next_page=page.has_next, has_previous_page=page.offset > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ))


@strawberry.type
class TranscriptEvent:
    seq: int
    turn_id: strawberry.ID | None = strawberry.field(description="Null on partial events.")
    speaker: CallSpeaker  # type: ignore[valid-type]
    text: str
    is_final: bool
    at: datetime

    @classmethod
    def from_domain(cls, event: use_cases.TranscriptEvent) -> TranscriptEvent:
        return cls(seq=event.seq,
                   turn_id=strawberry.ID(event.turn_id) if event.turn_id else None,
                   speaker=event.speaker, text=event.text, is_final=event.is_final,
                   at=event.at)


@strawberry.type
class CallEvent:
    type: CallEventType
    call: Call
    turn: CallTurn | None
    at: datetime

    @classmethod
    def from_domain(cls, event: DomainEvent) -> CallEvent:
        call = domain.Call.model_validate(event.data["call"])
        turn = event.data.get("turn")
        return cls(
            type=CallEventType(event.type), call=Call.from_domain(call), at=event.at,
            turn=CallTurn.from_domain(domain.CallTurn.model_validate(turn)) if turn else None,
        )


@strawberry.type
class Audio:
    audio_base64: str
    mime_type: str
    duration_seconds: float
    sample_rate: int
    provider: str
    voice_id: str

    @classmethod
    def from_domain(cls, audio: domain_voice.SynthesizedAudio) -> Audio:
        return cls(audio_base64=base64.b64encode(audio.audio).decode(),
                   mime_type=audio.mime_type, duration_seconds=audio.duration_seconds,
                   sample_rate=audio.sample_rate, provider=audio.provider,
                   voice_id=audio.voice_id)


@strawberry.type
class Transcription:
    text: str
    confidence: float | None
    duration_seconds: float | None
    provider: str
    language: str


@strawberry.type
class Voice:
    id: strawberry.ID
    name: str
    language: str
    gender: str | None
    provider: str


@strawberry.input
class VoiceConfigInput:
    provider: str | None = None
    voice_id: str | None = None
    language: str | None = None
    speed: float | None = None
    stability: float | None = None

    def to_data(self) -> dict[str, object]:
        return {key: value for key, value in vars(self).items() if value is not None}


@strawberry.input
class CreateCallInput:
    lead_id: strawberry.ID
    phone_number: str | None = None
    call_type: CallType = domain.CallType.OUTBOUND  # type: ignore[valid-type]
    purpose: str | None = None
    voice_settings: VoiceConfigInput | None = None


@strawberry.input
class CallFilter:
    lead_id: strawberry.ID | None = None
    status: CallStatus | None = None  # type: ignore[valid-type]
    call_type: CallType | None = None  # type: ignore[valid-type]

    def to_domain(self) -> domain.CallFilter:
        return domain.CallFilter(lead_id=str(self.lead_id) if self.lead_id else None,
                                 status=self.status, call_type=self.call_type)


@strawberry.type
class CallQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def call(self, info: Ctx, id: strawberry.ID) -> Call | None:
        found = await info.context.loaders.call_by_id.load(str(id))
        return Call.from_domain(found) if found is not None else None

    @strawberry.field(permission_classes=[IsAuthenticated], description="Calls, newest first.")
    async def calls(
        self, info: Ctx, filter: CallFilter | None = None, first: int | None = None,
        after: str | None = None, offset: int | None = None,
    ) -> CallConnection:
        page = await info.context.use_cases.calls.search(
            info.context.actor(), filter.to_domain() if filter else domain.CallFilter(),
            page_request(first, after, offset),
        )
        return CallConnection.from_page(page)

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="Voices of the configured text-to-speech engine.")
    async def voices(self, info: Ctx) -> list[Voice]:
        return [Voice(id=strawberry.ID(v.id), name=v.name, language=v.language,
                      gender=v.gender, provider=v.provider)
                for v in await info.context.use_cases.voice.voices()]


@strawberry.type
class CallMutation:
    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def create_call(self, info: Ctx, input: CreateCallInput) -> Call:
        data: dict[str, object] = {
            "lead_id": str(input.lead_id), "phone_number": input.phone_number,
            "call_type": str(domain.CallType(input.call_type)), "purpose": input.purpose,
            "voice_settings": input.voice_settings.to_data() if input.voice_settings else None,
        }
        call = await info.context.use_cases.calls.create(info.context.actor(), data)
        return Call.from_domain(call)

    @strawberry.mutation(permission_classes=[IsAuthenticated],
                         description="Start a created call; returns the AI's opening turn.")
    async def start_call(
        self, info: Ctx, id: strawberry.ID, voice_config: VoiceConfigInput | None = None
    ) -> CallTurn:
        spoken = await info.context.use_cases.calls.start(
            info.context.actor(), str(id), voice_config.to_data() if voice_config else None,
            field_name="voiceConfig",
        )
        return CallTurn.spoken(spoken)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="The customer's turn (text, or base64 audio that is transcribed); returns "
        "the AI's answer, with `inReplyTo` carrying the customer turn and its analysis.",
    )
    async def respond_to_call(
        self, info: Ctx, id: strawberry.ID, text: str | None = None,
        audio_base64: str | None = None,
    ) -> CallTurn:
        exchange = await info.context.use_cases.calls.respond(
            info.context.actor(), str(id), text, audio_base64, text_field="text",
            audio_field="audioBase64",
        )
        return CallTurn.spoken(exchange.reply, CallTurn.from_domain(exchange.customer))

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def end_call(self, info: Ctx, id: strawberry.ID, reason: str | None = None
                       ) -> CallSummary:
        ended = await info.context.use_cases.calls.end(info.context.actor(), str(id), reason)
        return CallSummary.from_domain(ended.call.id, ended.summary, ended.analytics)

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def synthesize_speech(
        self, info: Ctx, text: str, voice_id: str | None = None, provider: str | None = None,
        language: str | None = None, speed: float | None = None,
    ) -> Audio:
        audio = await info.context.use_cases.voice.synthesize(
            text, voice_id, provider, language, speed
        )
        return Audio.from_domain(audio)

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def transcribe_audio(
        self, info: Ctx, audio_base64: str, language: str | None = None
    ) -> Transcription:
        voice = info.context.use_cases.voice
        audio = voice.decode(audio_base64, "audioBase64")
        result = await voice.transcribe(audio, None, language, field_name="audioBase64")
        return Transcription(text=result.text, confidence=result.confidence,
                             duration_seconds=result.duration_seconds, provider=result.provider,
                             language=result.language)


@strawberry.type
class CallSubscription:
    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="A call's transcript: every turn in order, with partial (isFinal false) "
        "events while audio is recognised. With afterSeq, missed turns are replayed first. "
        "Completes when the call ends.",
    )
    async def call_transcript(
        self, info: Ctx, call_id: strawberry.ID, after_seq: int | None = None
    ) -> AsyncGenerator[TranscriptEvent, None]:
        stream = await info.context.use_cases.calls.open_transcript_stream(
            info.context.actor(), str(call_id), after_seq
        )
        async for event in stream:
            yield TranscriptEvent.from_domain(event)

    @strawberry.subscription(permission_classes=[IsAuthenticated],
                             description="Calls started, turns taken, calls completed or failed.")
    async def call_events(self, info: Ctx) -> AsyncGenerator[CallEvent, None]:
        async for event in info.context.use_cases.calls.events(info.context.actor()):
            yield CallEvent.from_domain(event)
