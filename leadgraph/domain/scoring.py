"""Explainable lead scoring: declarative rules, one versioned place.

Every rule says what it looks at, how much it weighs and the sentence shown to a person.
Foundation scores what a lead record says about itself (demographic and declared intent);
behavioural and engagement signals from conversations and calls feed the same model.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from leadgraph.domain.leads import LeadFields, LeadIntent, LeadScore, ScoreFactors

MODEL_VERSION = "2026.11-foundation"

_SENIOR_TITLES = ("chief", "ceo", "cto", "cfo", "coo", "vp", "vice president", "head", "director",
                  "founder", "owner", "president", "partner")
_TARGET_INDUSTRIES = frozenset({"technology", "software", "finance", "healthcare", "ecommerce",
                                "retail", "saas", "real estate", "education"})


@dataclass(frozen=True)
class Rule:
    name: str
    weight: float
    applies: Callable[[LeadFields], bool]
    positive: str | None = None
    negative: str | None = None


DEMOGRAPHIC_RULES: tuple[Rule, ...] = (
    Rule("company", 0.3, lambda lead: bool(lead.company),
         "Has company information", "No company information"),
    Rule("senior_title", 0.3,
         lambda lead: any(word in (lead.title or "").lower() for word in _SENIOR_TITLES),
         "Senior title/decision maker", None),
    Rule("industry_fit", 0.2, lambda lead: (lead.industry or "") in _TARGET_INDUSTRIES,
         "Industry is a good fit", None),
    Rule("reachable", 0.2, lambda lead: bool(lead.email or lead.phone),
         "Reachable by email or phone", "No way to contact"),
)

INTENT_SCORES: dict[LeadIntent, float] = {
    LeadIntent.HOT: 0.9, LeadIntent.WARM: 0.6, LeadIntent.NEUTRAL: 0.3, LeadIntent.COLD: 0.1,
}
INTENT_FACTORS: dict[LeadIntent, tuple[str | None, str | None]] = {
    LeadIntent.HOT: ("High purchase intent", None),
    LeadIntent.WARM: ("Moderate purchase intent", None),
    LeadIntent.NEUTRAL: (None, None),
    LeadIntent.COLD: (None, "Low purchase intent"),
}
# How the components make up the overall score.
WEIGHTS = {"demographic": 0.45, "behavioral": 0.15, "engagement": 0.1, "intent": 0.3}


def score_lead(lead: LeadFields, now: datetime) -> LeadScore:
    positive: list[str] = []
    negative: list[str] = []
    demographic = 0.0
    for rule in DEMOGRAPHIC_RULES:
        if rule.applies(lead):
            demographic += rule.weight
            if rule.positive:
                positive.append(rule.positive)
        elif rule.negative:
            negative.append(rule.negative)
    intent = INTENT_SCORES[lead.intent]
    good, bad = INTENT_FACTORS[lead.intent]
    positive += [good] if good else []
    negative += [bad] if bad else []
    behavioral = engagement = 0.0
    overall = (WEIGHTS["demographic"] * demographic + WEIGHTS["behavioral"] * behavioral
               + WEIGHTS["engagement"] * engagement + WEIGHTS["intent"] * intent)
    probability = 1.0 / (1.0 + math.exp(-8.0 * (overall - 0.5)))
    return LeadScore(
        overall_score=round(overall, 4),
        demographic_score=round(demographic, 4),
        behavioral_score=behavioral,
        engagement_score=engagement,
        intent_score=intent,
        conversion_probability=round(probability, 4),
        factors=ScoreFactors(positive_factors=positive, negative_factors=negative),
        recommendations=[_recommendation(overall)],
        model_version=MODEL_VERSION,
        computed_at=now,
    )


def _recommendation(overall: float) -> str:
    if overall >= 0.7:
        return "High priority - Schedule immediate call"
    if overall >= 0.45:
        return "Medium priority - Follow up within 48 hours"
    return "Low priority - Add to nurture campaign"
