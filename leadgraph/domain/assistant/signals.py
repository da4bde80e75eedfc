"""Sentiment in [-1, 1] and purchase intent (HOT/WARM/COLD/NEUTRAL) with its reasons."""

from __future__ import annotations

import re

from leadgraph.domain.leads import LeadIntent

_WORD = re.compile(r"[a-z']+")
_POSITIVE = {
    "good": 0.5, "great": 0.8, "excellent": 0.9, "amazing": 0.9, "awesome": 0.8, "love": 0.8,
    "like": 0.3, "happy": 0.6, "thanks": 0.4, "thank": 0.4, "perfect": 0.9, "nice": 0.5,
    "interested": 0.5, "excited": 0.7, "helpful": 0.6, "wonderful": 0.8, "glad": 0.5,
    "ready": 0.4, "sure": 0.2, "yes": 0.2, "fantastic": 0.9, "useful": 0.5, "cool": 0.4,
}
_NEGATIVE = {
    "bad": -0.6, "terrible": -0.9, "awful": -0.9, "hate": -0.8, "broken": -0.7,
    "disappointed": -0.7, "worst": -1.0, "angry": -0.8, "frustrated": -0.7, "expensive": -0.4,
    "slow": -0.4, "problem": -0.4, "issue": -0.3, "refund": -0.5, "unacceptable": -0.9,
    "crashing": -0.7, "crash": -0.6, "poor": -0.6, "no": -0.2, "never": -0.3, "annoying": -0.6,
    "unhappy": -0.7, "useless": -0.8, "late": -0.3, "complaint": -0.5,
}
_NEGATORS = {"not", "no", "never", "don't", "dont", "isn't", "wasn't", "can't", "won't",
             "doesn't", "didn't"}
_INTENSIFIERS = {"very": 1.5, "really": 1.4, "so": 1.3, "extremely": 1.8, "super": 1.5}


def sentiment(text: str) -> float:
    words = _WORD.findall(text.lower())
    total, hits = 0.0, 0
    for index, word in enumerate(words):
        value = _POSITIVE.get(word, _NEGATIVE.get(word))
        if value is None:
            continue
        previous = words[max(0, index - 3):index]
        if any(p in _NEGATORS for p in previous):
            value = -value * 0.7
        if index and words[index - 1] in _INTENSIFIERS:
            value *= _INTENSIFIERS[words[index - 1]]
        total += value
        hits += 1
    if not hits:
        return 0.0
    score: float = total / (hits**0.5) / 1.5
    return round(max(-1.0, min(1.0, score)), 3)


_HOT = (
    ("buy", "Wants to buy"), ("purchase", "Wants to purchase"), ("sign me up", "Asked to sign up"),
    ("ready to start", "Ready to start"), ("ready to move forward", "Ready to move forward"),
    ("let's get started", "Ready to start"), ("send me the contract", "Asked for a contract"),
    ("where do i sign", "Asked where to sign"), ("hire you", "Wants to hire us"),
    ("asap", "Needs it as soon as possible"), ("urgent", "Urgent need"),
    ("proceed", "Wants to proceed"),
)
_WARM = (
    ("demo", "Requested a demo"), ("price", "Asked about pricing"),
    ("pricing", "Asked about pricing"), ("cost", "Asked about cost"),
    ("quote", "Asked for a quote"), ("interested", "Expressed interest"),
    ("call", "Open to a call"), ("meeting", "Open to a meeting"), ("budget", "Shared a budget"),
    ("need", "Stated a need"), ("looking for", "Is looking for a solution"),
)
_COLD = (
    ("just browsing", "Just browsing"), ("not interested", "Not interested"),
    ("maybe later", "Not now"), ("too expensive", "Finds it too expensive"),
    ("no budget", "Has no budget"), ("just curious", "Just curious"),
    ("not now", "Not now"), ("next year maybe", "Far-off timeline"),
)


def purchase_intent(text: str, intent: str, entity_types: set[str]) -> tuple[LeadIntent, list[str]]:
    """Classify one message. Reasons are the phrases and facts that decided it."""
    lowered = f" {text.lower()} "
    cold = [reason for phrase, reason in _COLD if phrase in lowered]
    if cold:
        return LeadIntent.COLD, cold
    hot = [reason for phrase, reason in _HOT if phrase in lowered]
    if intent == "purchase":
        hot.append("Purchase intent detected")
    if "budget" in entity_types and "timeline" in entity_types:
        hot.append("Gave both budget and timeline")
    if hot:
        return LeadIntent.HOT, _unique(hot)
    warm = [reason for phrase, reason in _WARM if phrase in lowered]
    if intent in ("demo_request", "pricing"):
        warm.append(f"Intent: {intent}")
    if "budget" in entity_types:
        warm.append("Shared a budget")
    if "project_type" in entity_types:
        warm.append("Described a project")
    if warm:
        return LeadIntent.WARM, _unique(warm)
    return LeadIntent.NEUTRAL, []


_RANK = {LeadIntent.NEUTRAL: 0, LeadIntent.COLD: 1, LeadIntent.WARM: 2, LeadIntent.HOT: 3}


def strongest(current: LeadIntent, new: LeadIntent) -> LeadIntent:
    """A conversation's intent: the strongest signal so far, but a later COLD cools WARM."""
    if new is LeadIntent.COLD and current is not LeadIntent.HOT:
        return LeadIntent.COLD
    return new if _RANK[new] > _RANK[current] else current


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
