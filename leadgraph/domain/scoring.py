"""Explainable lead scoring: declarative, versioned rules in one place.

Four components, each in [0, 1] and each with the sentences that explain it:
demographic (who the lead is), behavioral (what they did, decayed by recency), engagement
(how they interact) and intent (what they said they want). The overall score is their
weighted sum; conversion probability is a logistic curve over it. Changing a rule or a
weight means a new ``MODEL_VERSION``, so stored history says which model produced a score.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel

from leadgraph.domain.leads import LeadFields, LeadIntent, LeadScore, ScoreFactors

MODEL_VERSION = "2026.11-2"
# A score change smaller than this is not worth an event (lead.score_changed).
CHANGE_THRESHOLD = 0.05
RECENCY_HALF_LIFE_DAYS = 14.0

WEIGHTS: dict[str, float] = {
    "demographic": 0.30, "behavioral": 0.25, "engagement": 0.15, "intent": 0.30,
}

_SENIOR_TITLES = ("chief", "ceo", "cto", "cfo", "coo", "cmo", "vp", "vice president", "head",
                  "director", "founder", "owner", "president", "partner")
_TARGET_INDUSTRIES = frozenset({"technology", "software", "finance", "healthcare", "ecommerce",
                                "retail", "saas", "real estate", "education"})


@dataclass(frozen=True)
class LeadSignals:
    """Facts gathered from conversations, calls and the timeline for one lead."""

    user_messages: int = 0
    assistant_messages: int = 0
    conversations: int = 0
    activities: dict[str, int] = field(default_factory=dict)
    calls: int = 0
    call_sentiment: float | None = None
    interest_signals: tuple[str, ...] = ()
    objections: tuple[str, ...] = ()
    chat_intent: LeadIntent | None = None
    last_interaction_at: datetime | None = None


@dataclass(frozen=True)
class Rule:
    """A yes/no fact about a lead, its weight within its component, and how to say it."""

    name: str
    weight: float
    applies: Callable[[LeadFields, LeadSignals], bool]
    positive: str | None = None
    negative: str | None = None


DEMOGRAPHIC_RULES: tuple[Rule, ...] = (
    Rule("company", 0.3, lambda lead, _: bool(lead.company),
         "Has company information", "No company information"),
    Rule("senior_title", 0.3,
         lambda lead, _: any(word in (lead.title or "").lower() for word in _SENIOR_TITLES),
         "Senior title/decision maker", None),
    Rule("industry_fit", 0.2, lambda lead, _: (lead.industry or "") in _TARGET_INDUSTRIES,
         "Industry is a good fit", None),
    Rule("reachable", 0.2, lambda lead, _: bool(lead.email or lead.phone),
         "Reachable by email or phone", "No way to contact"),
)

INTENT_LEVELS: dict[LeadIntent, float] = {
    LeadIntent.HOT: 0.9, LeadIntent.WARM: 0.6, LeadIntent.NEUTRAL: 0.3, LeadIntent.COLD: 0.1,
}
INTENT_FACTORS: dict[LeadIntent, tuple[str | None, str | None]] = {
    LeadIntent.HOT: ("High purchase intent", None),
    LeadIntent.WARM: ("Moderate purchase intent", None),
    LeadIntent.NEUTRAL: (None, None),
    LeadIntent.COLD: (None, "Low purchase intent"),
}
INTEREST_BONUS = 0.05
OBJECTION_PENALTY = 0.05
DEMO_SIGNALS = frozenset({"demo_interest", "demo_requested", "demo_scheduled"})


@dataclass
class _Explained:
    value: float = 0.0
    positive: list[str] = field(default_factory=list)
    negative: list[str] = field(default_factory=list)


def _demographic(lead: LeadFields, signals: LeadSignals) -> _Explained:
    result = _Explained()
    for rule in DEMOGRAPHIC_RULES:
        if rule.applies(lead, signals):
            result.value += rule.weight
            if rule.positive:
                result.positive.append(rule.positive)
        elif rule.negative:
            result.negative.append(rule.negative)
    return result


def _recency(signals: LeadSignals, now: datetime) -> float:
    if signals.last_interaction_at is None:
        return 0.0
    days = max(0.0, (now - signals.last_interaction_at).total_seconds() / 86400)
    return float(0.5 ** (days / RECENCY_HALF_LIFE_DAYS))


def _behavioral(signals: LeadSignals, now: datetime) -> _Explained:
    result = _Explained()
    activity_total = sum(signals.activities.values())
    raw = (0.4 * min(signals.user_messages / 8, 1.0) + 0.3 * min(signals.calls / 2, 1.0)
           + 0.3 * min(activity_total / 5, 1.0))
    decay = _recency(signals, now)
    result.value = raw * decay
    if signals.user_messages:
        result.positive.append(f"Engaged in conversation ({signals.user_messages} messages)")
    if signals.calls:
        result.positive.append(f"Took {signals.calls} call(s)")
    if signals.last_interaction_at is not None:
        days = (now - signals.last_interaction_at).total_seconds() / 86400
        if days <= 2:
            result.positive.append("Recent interaction")
        elif days >= 30:
            result.negative.append(f"No interaction for {int(days)} days")
    return result


def _engagement(signals: LeadSignals) -> _Explained:
    result = _Explained()
    if signals.assistant_messages:
        response_rate = min(signals.user_messages / signals.assistant_messages, 1.0)
        result.value += 0.5 * response_rate
        if response_rate >= 0.8:
            result.positive.append("Responds to every message")
    if signals.conversations:
        depth = min(signals.user_messages / signals.conversations / 6, 1.0)
        result.value += 0.3 * depth
        if depth >= 0.8:
            result.positive.append("Long, detailed conversations")
    if signals.call_sentiment is not None:
        result.value += 0.2 * (signals.call_sentiment + 1) / 2
        if signals.call_sentiment >= 0.4:
            result.positive.append("Positive sentiment on calls")
        elif signals.call_sentiment <= -0.2:
            result.negative.append("Negative sentiment on calls")
    return result


def _intent(lead: LeadFields, signals: LeadSignals) -> _Explained:
    levels = [lead.intent] + ([signals.chat_intent] if signals.chat_intent else [])
    strongest = max(levels, key=lambda level: INTENT_LEVELS[level])
    result = _Explained(value=INTENT_LEVELS[strongest])
    good, bad = INTENT_FACTORS[strongest]
    result.positive += [good] if good else []
    result.negative += [bad] if bad else []
    interests = set(signals.interest_signals)
    if interests & DEMO_SIGNALS or signals.activities.get("demo_requested"):
        result.positive.append("Requested product demo")
    result.value += INTEREST_BONUS * min(len(interests), 4)
    result.value -= OBJECTION_PENALTY * min(len(signals.objections), 4)
    if signals.objections:
        result.negative.append("Raised objections: " + ", ".join(sorted(set(signals.objections))))
    result.value = min(1.0, max(0.0, result.value))
    return result


def score_lead(lead: LeadFields, now: datetime, signals: LeadSignals | None = None) -> LeadScore:
    signals = signals or LeadSignals()
    parts = {
        "demographic": _demographic(lead, signals),
        "behavioral": _behavioral(signals, now),
        "engagement": _engagement(signals),
        "intent": _intent(lead, signals),
    }
    overall = sum(WEIGHTS[name] * part.value for name, part in parts.items())
    probability = 1.0 / (1.0 + math.exp(-8.0 * (overall - 0.5)))
    return LeadScore(
        overall_score=round(overall, 4),
        demographic_score=round(parts["demographic"].value, 4),
        behavioral_score=round(parts["behavioral"].value, 4),
        engagement_score=round(parts["engagement"].value, 4),
        intent_score=round(parts["intent"].value, 4),
        conversion_probability=round(probability, 4),
        factors=ScoreFactors(
            positive_factors=[f for part in parts.values() for f in part.positive],
            negative_factors=[f for part in parts.values() for f in part.negative],
        ),
        recommendations=recommendations(overall, parts["intent"].value, signals),
        model_version=MODEL_VERSION,
        computed_at=now,
    )


def recommendations(overall: float, intent: float, signals: LeadSignals) -> list[str]:
    advice = []
    if overall >= 0.7 or intent >= 0.85:
        advice.append("High priority - Schedule immediate call")
    elif overall >= 0.45:
        advice.append("Medium priority - Follow up within 48 hours")
    else:
        advice.append("Low priority - Add to nurture campaign")
    if "price" in signals.objections:
        advice.append("Follow up with pricing information")
    if signals.user_messages and not signals.calls:
        advice.append("Offer a call to move the conversation forward")
    return advice


def score_moved(previous: LeadScore, current: LeadScore) -> bool:
    return abs(current.overall_score - previous.overall_score) > CHANGE_THRESHOLD


class ScoreHistoryEntry(BaseModel):
    """One recorded score of a lead: what it was, which model, and what triggered it."""

    lead_id: str
    at: datetime
    overall_score: float
    conversion_probability: float
    demographic_score: float
    behavioral_score: float
    engagement_score: float
    intent_score: float
    model_version: str
    trigger: str

    @classmethod
    def of(cls, lead_id: str, score: LeadScore, trigger: str, at: datetime) -> ScoreHistoryEntry:
        return cls(
            lead_id=lead_id, at=at, overall_score=score.overall_score,
            conversion_probability=score.conversion_probability,
            demographic_score=score.demographic_score, behavioral_score=score.behavioral_score,
            engagement_score=score.engagement_score, intent_score=score.intent_score,
            model_version=score.model_version, trigger=trigger,
        )
