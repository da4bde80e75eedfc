"""Voice AI calls: the call, its turns, and the rules of a sales conversation. Pure: no I/O.

A call is ``created``, then ``in_progress`` once started (the AI's opening turn), then
``ended`` (or ``failed``). Every customer turn is analysed (sentiment and intent come from
the assistant's NLU; objections and interest signals from the rules below), and the
conversation state advances on what was said:

``greeting -> discovery -> qualification -> closing``, with ``objection_handling`` whenever
the customer objects, back to qualification (or closing) once they move on.
``should_continue`` turns false when the customer ends the call, or answers the closing.

A turn's ``seq`` is monotonic per call: transcript subscribers resume with ``afterSeq``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, Field

from leadgraph.domain.contacts import normalize_phone
from leadgraph.domain.errors import FieldProblem, ValidationFailed
from leadgraph.domain.pagination import Page, PageRequest
from leadgraph.domain.voice import DEFAULT_LANGUAGE, MAX_SPEED, MIN_SPEED

AGENT_NAME = "Sarah"
AGENT_COMPANY = "AI Solutions"
MAX_PURPOSE = 500
MAX_TURN_TEXT = 4000
# An end reason that means the call did not happen as it should have.
FAILURE_REASONS = frozenset({"failed", "error", "no_answer", "busy", "dropped", "voicemail"})


class CallType(StrEnum):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


class CallStatus(StrEnum):
    CREATED = "created"
    IN_PROGRESS = "in_progress"
    ENDED = "ended"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (CallStatus.ENDED, CallStatus.FAILED)


class CallState(StrEnum):
    """Where the sales conversation stands."""

    GREETING = "greeting"
    DISCOVERY = "discovery"
    QUALIFICATION = "qualification"
    OBJECTION_HANDLING = "objection_handling"
    CLOSING = "closing"


class Speaker(StrEnum):
    AI = "ai"
    CUSTOMER = "customer"


class VoiceSettings(BaseModel):
    provider: str | None = None
    voice_id: str | None = None
    language: str = DEFAULT_LANGUAGE
    speed: float = 1.0
    stability: float | None = None


class AudioRef(BaseModel):
    """Where a turn's audio is kept (``id`` in the call audio store) and what it is."""

    id: str
    mime_type: str
    duration_seconds: float | None = None
    provider: str | None = None
    voice_id: str | None = None
    size_bytes: int = 0


class TurnAnalysis(BaseModel):
    sentiment: float = 0.0
    intent: str = "other"
    objections: list[str] = Field(default_factory=list)
    interest_signals: list[str] = Field(default_factory=list)
    ends_call: bool = False


class CallTurnFields(BaseModel):
    call_id: str
    seq: int
    speaker: Speaker
    text: str
    audio: AudioRef | None = None
    analysis: TurnAnalysis | None = None
    state: CallState = Field(description="The conversation state after this turn.")
    should_continue: bool = True
    transcription_confidence: float | None = None
    started_at: datetime


class CallTurn(CallTurnFields):
    id: str


class CallSummary(BaseModel):
    duration_minutes: float
    total_exchanges: int
    conversation_state: CallState
    objections_raised: list[str]
    interest_signals: list[str]
    overall_sentiment: float
    recommendation: str


class CallAnalytics(BaseModel):
    conversion_probability: float
    engagement_score: float
    total_turns: int
    avg_sentiment: float


class CallFields(BaseModel):
    lead_id: str
    phone_number: str | None = None
    call_type: CallType = CallType.OUTBOUND
    purpose: str | None = None
    voice_settings: VoiceSettings = Field(default_factory=VoiceSettings)
    status: CallStatus = CallStatus.CREATED
    conversation_state: CallState = CallState.GREETING
    should_continue: bool = True
    last_seq: int = 0
    customer_turns: int = 0
    objections: list[str] = Field(default_factory=list)
    interest_signals: list[str] = Field(default_factory=list)
    sentiments: list[float] = Field(default_factory=list)
    customer_words: int = 0
    created_by: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None
    summary: CallSummary | None = None
    analytics: CallAnalytics | None = None


class Call(CallFields):
    id: str


class CallFilter(BaseModel):
    lead_id: str | None = None
    status: CallStatus | None = None
    call_type: CallType | None = None


class LeadCallStats(BaseModel):
    """What a lead's finished calls say, for its score."""

    calls: int = 0
    avg_sentiment: float | None = None
    interest_signals: list[str] = Field(default_factory=list)
    objections: list[str] = Field(default_factory=list)
    last_call_at: datetime | None = None


class CallRepository(Protocol):
    async def insert(self, fields: CallFields) -> Call: ...
    async def get(self, call_id: str) -> Call | None: ...
    async def get_many(self, call_ids: Sequence[str]) -> list[Call]: ...
    async def for_leads(self, lead_ids: Sequence[str]) -> list[Call]: ...
    async def search(self, call_filter: CallFilter, page: PageRequest) -> Page[Call]: ...
    async def reserve_seq(self, call_id: str) -> int:
        """Atomically take the next turn number of a call."""
        ...
    async def save_state(self, call: Call) -> None:
        """Store the call as it is; the caller holds its lock, so ``last_seq`` is current."""
        ...
    async def insert_turn(self, fields: CallTurnFields) -> CallTurn: ...
    async def turns_after(self, call_id: str, after_seq: int, limit: int) -> list[CallTurn]: ...
    async def store_audio(self, call_id: str, mime_type: str, data: bytes) -> str: ...
    async def stats_for_lead(self, lead_id: str) -> LeadCallStats: ...


# -- input ----------------------------------------------------------------------------------

def _number(value: object, name: str, low: float, high: float,
            problems: list[FieldProblem]) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        problems.append(FieldProblem(name, "must be a number"))
        return None
    if not low <= value <= high:
        problems.append(FieldProblem(name, f"must be between {low} and {high}"))
        return None
    return float(value)


def _text(value: object, name: str, limit: int, problems: list[FieldProblem]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(FieldProblem(name, "must be a string"))
        return None
    stripped = value.strip()
    if len(stripped) > limit:
        problems.append(FieldProblem(name, f"must be at most {limit} characters"))
        return None
    return stripped or None


def voice_settings(
    data: object, base: VoiceSettings | None = None, prefix: str = "voice_settings"
) -> VoiceSettings:
    """``{provider, voice_id, language, speed, stability}`` over ``base``; checked per field."""
    base = base or VoiceSettings()
    if data is None:
        return base
    if not isinstance(data, Mapping):
        raise ValidationFailed.single(prefix, "must be an object")
    problems: list[FieldProblem] = []
    values: dict[str, Any] = {}
    for key in ("provider", "voice_id", "language"):
        text = _text(data.get(key), f"{prefix}.{key}", 100, problems)
        if text is not None:
            values[key] = text.lower() if key == "provider" else text
    speed = _number(data.get("speed"), f"{prefix}.speed", MIN_SPEED, MAX_SPEED, problems)
    if speed is not None:
        values["speed"] = speed
    stability = _number(data.get("stability"), f"{prefix}.stability", 0.0, 1.0, problems)
    if stability is not None:
        values["stability"] = stability
    if problems:
        raise ValidationFailed(problems)
    return base.model_copy(update=values)


def new_call_fields(data: Mapping[str, object], lead_phone: str | None, created_by: str | None,
                    now: datetime) -> CallFields:
    """Seed 002's create body (``lead_id`` already checked), field by field."""
    problems: list[FieldProblem] = []
    lead_id = data.get("lead_id")
    if not isinstance(lead_id, str) or not lead_id:
        problems.append(FieldProblem("lead_id", "is required"))
    phone: str | None = lead_phone
    raw_phone = data.get("phone_number")
    if raw_phone is not None and raw_phone != "":
        if not isinstance(raw_phone, str):
            problems.append(FieldProblem("phone_number", "must be a string"))
        else:
            try:
                phone = normalize_phone(raw_phone, "phone_number")
            except ValidationFailed as exc:
                problems.extend(exc.problems)
    call_type = CallType.OUTBOUND
    raw_type = data.get("call_type")
    if raw_type is not None:
        try:
            call_type = CallType(str(raw_type).lower())
        except ValueError:
            problems.append(FieldProblem("call_type", "must be one of outbound, inbound"))
    purpose = _text(data.get("purpose"), "purpose", MAX_PURPOSE, problems)
    settings = VoiceSettings()
    try:
        settings = voice_settings(data.get("voice_settings"))
    except ValidationFailed as exc:
        problems.extend(exc.problems)
    if problems:
        raise ValidationFailed(problems)
    assert isinstance(lead_id, str)
    return CallFields(lead_id=lead_id, phone_number=phone, call_type=call_type, purpose=purpose,
                      voice_settings=settings, created_by=created_by, created_at=now)


def clean_turn_text(text: object, field_name: str = "text") -> str:
    if not isinstance(text, str):
        raise ValidationFailed.single(field_name, "must be a string")
    stripped = " ".join(text.split())
    if not stripped:
        raise ValidationFailed.single(field_name, "must not be empty")
    if len(stripped) > MAX_TURN_TEXT:
        raise ValidationFailed.single(field_name, f"must be at most {MAX_TURN_TEXT} characters")
    return stripped


# -- analysis -------------------------------------------------------------------------------

def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(patterns) + r")\b", re.IGNORECASE)


OBJECTION_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("price", _rx(r"too (?:expensive|pricey|costly|much)", r"expensive", r"can'?t afford",
                  r"cannot afford", r"over (?:our|the) budget", r"out of (?:our|the) budget",
                  r"(?:price|cost|pricing) is (?:too )?(?:high|steep)", r"no budget",
                  r"budget is tight", r"cheaper")),
    ("timing", _rx(r"not a good time", r"bad time", r"not right now", r"call (?:me )?back",
                   r"next (?:year|quarter)", r"too busy", r"maybe later", r"not now",
                   r"no time", r"not the right time")),
    ("authority", _rx(r"my (?:boss|manager|ceo|cto|director)", r"check with", r"run it by",
                      r"not my (?:call|decision)", r"(?:need|have) to ask",
                      r"decision maker", r"someone else decides", r"need approval")),
    ("need", _rx(r"(?:don'?t|do not) (?:really )?need", r"no need", r"not a priority",
                 r"works fine", r"happy with (?:how|what) we", r"not a problem for us")),
    ("competitor", _rx(r"already (?:use|using|have|work with)", r"another (?:vendor|provider)",
                       r"competitor", r"salesforce", r"hubspot", r"current (?:vendor|provider)",
                       r"signed with")),
    ("trust", _rx(r"not sure (?:it|this) (?:works|would work)", r"skeptical", r"sceptical",
                  r"sounds too good", r"scam", r"never heard of")),
)
INTEREST_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("verbal_interest", _rx(r"interested", r"sounds (?:good|great|interesting)",
                            r"tell me more", r"i(?:'d| would) (?:love|like)", r"that'?s great",
                            r"makes sense", r"definitely", r"absolutely", r"yes",
                            r"i have (?:a few )?(?:minutes|time)", r"sure")),
    ("demo_interest", _rx(r"demo", r"show me", r"see (?:it|how it works|the product)",
                          r"trial", r"walk ?through")),
    ("timeline_interest", _rx(r"next (?:week|month)", r"this (?:week|month|quarter)",
                              r"soon", r"asap", r"right away", r"timeline", r"by (?:the end of|"
                              r"january|february|march|april|may|june|july|august|september|"
                              r"october|november|december)", r"in \d+ (?:days|weeks|months)",
                              r"when can")),
    ("budget_confirmed", _rx(r"(?:we|i) have (?:a|the)? ?budget", r"budget (?:is|was) approved",
                             r"budget of", r"\$\s?\d", r"\d+\s?(?:k|thousand) (?:dollars|budget)",
                             r"can afford", r"within (?:our|the) budget")),
    ("pricing_interest", _rx(r"how much", r"what does it cost", r"pricing", r"price list",
                             r"what'?s the price")),
    ("decision_maker", _rx(r"i(?:'m| am) the decision maker", r"i (?:make|sign off) ",
                           r"i decide", r"my decision")),
)
END_RULE = _rx(r"bye", r"goodbye", r"hang(?:ing)? up", r"stop calling", r"don'?t call",
               r"do not call", r"remove me", r"have to go", r"gotta go", r"not interested",
               r"end (?:the|this) call")
_NEGATED_PRICE = _rx(r"not too expensive", r"isn'?t (?:too )?expensive", r"not expensive")


def detect_objections(text: str) -> list[str]:
    found = [name for name, rule in OBJECTION_RULES if rule.search(text)]
    if "price" in found and _NEGATED_PRICE.search(text):
        found.remove("price")
    return found


def detect_interest(text: str, entity_types: Sequence[str] = ()) -> list[str]:
    found = [name for name, rule in INTEREST_RULES if rule.search(text)]
    if "timeline" in entity_types and "timeline_interest" not in found:
        found.append("timeline_interest")
    if "budget" in entity_types and "budget_confirmed" not in found:
        found.append("budget_confirmed")
    return found


def analyze_turn(text: str, sentiment: float, intent: str,
                 entity_types: Sequence[str] = ()) -> TurnAnalysis:
    """Objections, interest and whether the customer is ending the call, from what was said.

    ``sentiment`` and ``intent`` come from the assistant's NLU (``LocalAssistant.analyze``).
    """
    objections = detect_objections(text)
    interest = detect_interest(text, entity_types)
    ends = bool(END_RULE.search(text))
    if ends and "not interested" in text.lower():
        interest = [signal for signal in interest if signal != "verbal_interest"]
        if "need" not in objections:
            objections.append("need")
    if objections:
        # "yes, but it's too expensive" is not verbal interest.
        interest = [signal for signal in interest if signal != "verbal_interest"]
    return TurnAnalysis(sentiment=round(max(-1.0, min(1.0, sentiment)), 3), intent=intent,
                        objections=objections, interest_signals=interest, ends_call=ends)


# -- the state machine ----------------------------------------------------------------------

STRONG_INTEREST = frozenset({"demo_interest", "timeline_interest", "budget_confirmed",
                             "decision_maker"})


def next_state(call: CallFields, analysis: TurnAnalysis) -> tuple[CallState, bool]:
    """The state after a customer turn, and whether the call should go on."""
    state = call.conversation_state
    if analysis.ends_call:
        return CallState.CLOSING, False
    if analysis.objections:
        return CallState.OBJECTION_HANDLING, True
    strong = bool(STRONG_INTEREST & set(analysis.interest_signals))
    if state is CallState.GREETING:
        return CallState.DISCOVERY, True
    if state is CallState.DISCOVERY:
        return (CallState.CLOSING if strong else CallState.QUALIFICATION), True
    if state is CallState.QUALIFICATION:
        asked = call.customer_turns >= 4
        return (CallState.CLOSING if strong or asked else CallState.QUALIFICATION), True
    if state is CallState.OBJECTION_HANDLING:
        return (CallState.CLOSING if strong else CallState.QUALIFICATION), True
    # In closing, the customer's answer to the proposed next step completes the call.
    return CallState.CLOSING, False


def _first_name(context: Mapping[str, str | None]) -> str:
    return (context.get("lead_name") or "").strip() or "there"


def opening_message(call: CallFields, context: Mapping[str, str | None]) -> str:
    name = _first_name(context)
    if call.call_type is CallType.INBOUND:
        return (f"Hi {name}, thanks for calling {AGENT_COMPANY}, this is {AGENT_NAME}. "
                "How can I help you today?")
    return (f"Hi {name}, this is {AGENT_NAME} calling from {AGENT_COMPANY}. "
            "I hope I'm catching you at a good time!")


OBJECTION_REPLIES: dict[str, str] = {
    "price": ("I understand budget matters. Most teams recover the cost within a few months "
              "through faster follow-ups. Would it help if I sent you our pricing options?"),
    "timing": ("Completely understandable. When would be a better time to continue this "
               "conversation?"),
    "authority": ("That makes sense. Who else should be part of this decision? I'd be happy "
                  "to set up a short call with them."),
    "need": ("Fair enough. Many teams felt the same until they saw how many leads slipped "
             "through. How do you follow up with new leads today?"),
    "competitor": ("Good to know. What would you change about your current solution if you "
                   "could?"),
    "trust": ("I hear you. I can share case studies from customers in your industry so you "
              "can judge the results yourself. Would that help?"),
}


def ai_reply(call: CallFields, analysis: TurnAnalysis, state: CallState, should_continue: bool,
             context: Mapping[str, str | None]) -> str:
    """What the AI says after a customer turn, given the state it leads to."""
    company = (context.get("company") or "").strip() or "your company"
    industry = (context.get("industry") or "").strip()
    if not should_continue:
        if analysis.ends_call and ("need" in analysis.objections
                                   or not analysis.interest_signals):
            return "I understand. Thank you for your time today, and have a great day!"
        if "demo_interest" in call.interest_signals or "demo_interest" in analysis.interest_signals:
            return ("Wonderful! I'll send you a calendar invite for the demo and a short "
                    "summary of today's call. Thank you, and talk soon!")
        return ("Great! I'll follow up by email with the next steps. Thank you for your "
                "time, and have a great day!")
    if state is CallState.OBJECTION_HANDLING:
        return OBJECTION_REPLIES[analysis.objections[0]]
    if state is CallState.DISCOVERY:
        where = f"{company}" + (f" and other {industry} teams" if industry else "")
        return (f"Great! I wanted to reach out because I noticed {where} have been exploring "
                "lead management solutions. What challenges are you currently facing with "
                "your sales process?")
    if state is CallState.QUALIFICATION:
        if "pricing_interest" in analysis.interest_signals:
            return ("Plans start at a flat monthly fee per team, and most customers see a "
                    "return within a quarter. How many people are on your sales team?")
        if call.customer_turns <= 2:
            return ("That's really helpful, thank you. How many leads does your team handle "
                    "each month, and who is involved in choosing a solution like this?")
        return "Understood. What timeline and budget do you have in mind for solving this?"
    # Closing.
    if "demo_interest" in analysis.interest_signals or "demo_interest" in call.interest_signals:
        return ("Excellent! Would Tuesday or Thursday next week work for a 30-minute demo "
                "with our team?")
    return ("It sounds like we could really help. Shall I schedule a short demo so you can "
            "see it in action?")


def apply_customer_turn(call: Call, analysis: TurnAnalysis, words: int) -> Call:
    """The call's running aggregates after one customer turn (state not yet advanced)."""
    return call.model_copy(update={
        "customer_turns": call.customer_turns + 1,
        "objections": _merge(call.objections, analysis.objections),
        "interest_signals": _merge(call.interest_signals, analysis.interest_signals),
        "sentiments": [*call.sentiments, analysis.sentiment],
        "customer_words": call.customer_words + words,
    })


def _merge(known: Sequence[str], new: Sequence[str]) -> list[str]:
    merged = list(known)
    merged += [item for item in new if item not in merged]
    return merged


# -- the end --------------------------------------------------------------------------------

RECOMMENDED_ACTIONS: dict[str, str] = {
    "price": "Follow up with pricing information",
    "timing": "Follow up at the time they suggested",
    "authority": "Involve the decision maker",
    "need": "Share case studies that show the need",
    "competitor": "Send a comparison with their current solution",
    "trust": "Share customer references",
}


def _average(values: Sequence[float]) -> float:
    return round(sum(values) / len(values), 3) if values else 0.0


def call_analytics(call: CallFields) -> CallAnalytics:
    avg = _average(call.sentiments)
    interest = set(call.interest_signals)
    raw = (0.15 + 0.08 * len(interest) + 0.1 * len(interest & STRONG_INTEREST)
           - 0.07 * len(call.objections) + 0.2 * avg
           + (0.1 if call.conversation_state is CallState.CLOSING else 0.0)
           + 0.03 * min(call.customer_turns, 5))
    engagement = (0.6 * min(call.customer_turns / 5, 1.0)
                  + 0.4 * min(call.customer_words / max(call.customer_turns, 1) / 12, 1.0))
    return CallAnalytics(
        conversion_probability=round(min(0.99, max(0.01, raw)), 2),
        engagement_score=round(engagement if call.customer_turns else 0.0, 2),
        total_turns=call.last_seq,
        avg_sentiment=round(avg, 2),
    )


def recommendation(analytics: CallAnalytics, call: CallFields) -> str:
    probability = analytics.conversion_probability
    if probability >= 0.7:
        priority = "High priority"
    elif probability >= 0.4:
        priority = "Medium priority"
    else:
        priority = "Low priority"
    if call.objections:
        action = RECOMMENDED_ACTIONS.get(call.objections[0], "Follow up on their concerns")
    elif "demo_interest" in call.interest_signals:
        action = "Schedule the product demo"
    elif call.customer_turns == 0:
        action = "Try calling again"
    elif probability >= 0.4:
        action = "Follow up within 48 hours"
    else:
        action = "Add to nurture campaign"
    return f"{priority} - {action}"


def call_summary(call: CallFields, ended_at: datetime) -> tuple[CallSummary, CallAnalytics]:
    analytics = call_analytics(call)
    started = call.started_at or call.created_at
    minutes = max(0.0, (ended_at - started).total_seconds() / 60)
    return CallSummary(
        duration_minutes=round(minutes, 2),
        total_exchanges=call.customer_turns,
        conversation_state=call.conversation_state,
        objections_raised=list(call.objections),
        interest_signals=list(call.interest_signals),
        overall_sentiment=analytics.avg_sentiment,
        recommendation=recommendation(analytics, call),
    ), analytics


def clean_end_reason(reason: object) -> str:
    if reason is None or reason == "":
        return "completed"
    if not isinstance(reason, str) or len(reason.strip()) > 100:
        raise ValidationFailed.single("reason", "must be a string of at most 100 characters")
    return reason.strip().lower().replace(" ", "_")


def ended_status(reason: str) -> CallStatus:
    return CallStatus.FAILED if reason in FAILURE_REASONS else CallStatus.ENDED
