"""Slot-filling dialog policy for requirement gathering (seed 000's steps).

It asks only for what is still missing, in a fixed order, never asks again for a slot that
is filled, and summarises once everything is known.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from leadgraph.domain.conversations import CollectedInfo, DialogStep, Entity

PROJECT_LABELS = {
    "mobile_app": "mobile app", "web_app": "web app", "website": "website",
    "ecommerce": "online store", "chatbot": "chatbot", "ai_solution": "AI solution",
    "other": "project",
}
# (slot, the step it belongs to); the first missing slot decides the next question.
SLOTS: tuple[tuple[str, DialogStep], ...] = (
    ("project_type", DialogStep.REQUIREMENT_GATHERING),
    ("features", DialogStep.REQUIREMENT_GATHERING),
    ("timeline", DialogStep.TIMELINE_BUDGET),
    ("budget_range", DialogStep.TIMELINE_BUDGET),
    ("name", DialogStep.CONTACT_INFO),
    ("contact", DialogStep.CONTACT_INFO),
)
QUESTIONS = {
    "project_type": "What kind of project do you have in mind: a mobile app, a web app, a "
                    "website, an online store, a chatbot or an AI solution?",
    "features": "That sounds interesting! Could you describe the key features or "
                "functionalities you have in mind for your {project}?",
    "timeline": "What timeline are you working with? When would you like to launch?",
    "budget_range": "And what budget range do you have in mind for this project?",
    "name": "May I have your name?",
    "contact": "What's the best email address or phone number to reach you?",
}
PREFIXES = {
    "greet": "Hello! I'm here to help you plan your project. ",
    "pricing": "Pricing depends on scope: most projects we build land between $5,000 and "
               "$50,000, and I can be more precise once I know a bit more. ",
    "demo_request": "I'd be happy to set up a demo with our team. ",
    "purchase": "Wonderful, let's get you started. ",
    "complaint": "I'm sorry to hear that; I'll make sure the team looks into it. ",
    "question": "Good question: we design and build mobile apps, web apps, websites, online "
                "stores, chatbots and AI solutions, from idea to launch. ",
    "feedback": "Thank you for the feedback! ",
    "smalltalk": "I'm the assistant here, happy to chat. ",
}
MAX_ASKS = 2
NON_ANSWERS = frozenset({"ok", "okay", "yes", "no", "sure", "not sure", "idk", "i don't know",
                         "dunno", "maybe", "hmm", "nothing", "none", "n/a", "not sure yet"})
_NAME_WORD = r"[A-Z\u00c0-\u00de][^\W\d_]+"
_BARE_NAME = re.compile(rf"{_NAME_WORD}(?:[ '\u2019-]{_NAME_WORD}){{0,2}}")


@dataclass
class Decision:
    reply: str
    step: DialogStep
    collected: CollectedInfo
    asked: list[str] = field(default_factory=list)


def fill_slots(collected: CollectedInfo, entities: list[Entity]) -> tuple[CollectedInfo, list[str]]:
    """Merge extracted entities into the slots; returns what was newly learnt."""
    info = collected.model_copy(deep=True)
    learnt: list[str] = []
    simple = {"project_type": "project_type", "timeline": "timeline", "budget": "budget_range",
              "person": "name", "email": "email", "phone": "phone", "company": "company"}
    for entity in entities:
        if entity.type == "feature":
            if entity.value not in info.features:
                info.features.append(entity.value)
                learnt.append("features")
        elif entity.type in simple:
            slot = simple[entity.type]
            if getattr(info, slot) != entity.value:
                setattr(info, slot, entity.value)
                learnt.append(slot)
    return info, list(dict.fromkeys(learnt))


def missing_slots(info: CollectedInfo, skipped: set[str]) -> list[str]:
    missing = []
    for slot, _ in SLOTS:
        if slot in skipped:
            continue
        if slot == "contact":
            if not (info.email or info.phone):
                missing.append(slot)
        elif slot == "features":
            if not info.features:
                missing.append(slot)
        elif not getattr(info, slot):
            missing.append(slot)
    return missing


def requirements_summary(info: CollectedInfo) -> str | None:
    """Seed 000's phrasing: "A mobile app with payment integration and user authentication"."""
    if not info.project_type and not info.features:
        return None
    label = PROJECT_LABELS.get(info.project_type or "other", "project")
    article = "An" if label[0] in "aeiouAEIOU" else "A"
    text = f"{article} {label}"
    if info.features:
        features = info.features
        joined = features[0] if len(features) == 1 else \
            ", ".join(features[:-1]) + f" and {features[-1]}"
        text += f" with {joined}"
    return text


def decide(
    info: CollectedInfo, step: DialogStep, asked: list[str], intent: str, text: str,
    entities: list[Entity],
) -> Decision:
    filled, learnt = fill_slots(info, entities)
    last_asked = asked[-1] if asked else None
    answer = text.strip().rstrip(".!")
    # An answer to "which features?" that names none of ours is still the answer, unless it
    # is a bare acknowledgement ("ok", "not sure").
    if (last_asked == "features" and not filled.features
            and intent in ("provide_info", "other", "feedback")
            and answer.lower() not in NON_ANSWERS and len(answer.split()) >= 2):
        filled.features.append(answer[:200])
        learnt.append("features")
    # "May I have your name?" -> "Samantha Reyes".
    if last_asked == "name" and not filled.name and _BARE_NAME.fullmatch(answer):
        filled.name = answer
        learnt.append("name")

    if intent == "goodbye":
        done = DialogStep.COMPLETED if step is DialogStep.SUMMARY else step
        return Decision(_farewell(filled), done, filled, list(asked))
    if step is DialogStep.COMPLETED:
        return Decision("Thanks again! Our team has everything it needs and will be in touch "
                        "shortly. Is there anything else I can help you with?",
                        step, filled, list(asked))
    if step is DialogStep.SUMMARY and not learnt:
        return Decision("Thank you! Our team will review your requirements and follow up within "
                        "one business day.", DialogStep.COMPLETED, filled, list(asked))

    skipped = {slot for slot in {s for s, _ in SLOTS} if asked.count(slot) >= MAX_ASKS}
    missing = missing_slots(filled, skipped)
    prefix = PREFIXES.get(intent, "") if intent != "provide_info" or not learnt else ""
    if step is DialogStep.GREETING and intent != "greet" and not prefix and not learnt:
        prefix = "Hello! "
    acknowledgement = _acknowledge(filled, learnt)
    if not missing:
        summary = _summary(filled)
        return Decision(f"{prefix}{acknowledgement}{summary}".strip(), DialogStep.SUMMARY,
                        filled, list(asked))
    # Ask for a missing slot not yet asked; when all were asked once, ask the first again.
    unasked = [slot for slot in missing if slot not in asked]
    slot = unasked[0] if unasked else missing[0]
    question = QUESTIONS[slot].format(
        project=PROJECT_LABELS.get(filled.project_type or "other", "project")
    )
    next_step = dict(SLOTS)[slot]
    return Decision(f"{prefix}{acknowledgement}{question}".strip(), next_step, filled,
                    [*asked, slot])


def _acknowledge(info: CollectedInfo, learnt: list[str]) -> str:
    parts = []
    if "name" in learnt and info.name:
        parts.append(f"Nice to meet you, {info.name.split()[0]}.")
    if "timeline" in learnt and "budget_range" in learnt:
        parts.append(f"Noted: {info.timeline} and a budget of {info.budget_range}.")
    elif "timeline" in learnt:
        parts.append(f"Noted, a timeline of {info.timeline}.")
    elif "budget_range" in learnt:
        parts.append(f"Noted, a budget of {info.budget_range}.")
    if "features" in learnt and len(info.features) > 0 and "project_type" not in learnt:
        parts.append("Great, I've noted those features.")
    if ("email" in learnt or "phone" in learnt) and (info.email or info.phone):
        parts.append("Thanks, I've got your contact details.")
    return " ".join(parts) + (" " if parts else "")


def _summary(info: CollectedInfo) -> str:
    project = requirements_summary(info) or "your project"
    lines = [f"Here's a summary of what we discussed: {project[0].lower()}{project[1:]}"]
    if info.timeline:
        lines.append(f"timeline: {info.timeline}")
    if info.budget_range:
        lines.append(f"budget: {info.budget_range}")
    contact = info.email or info.phone
    text = "; ".join(lines) + "."
    if contact:
        text += f" We'll reach you at {contact}."
    return text + " Is there anything else you'd like to add?"


def _farewell(info: CollectedInfo) -> str:
    if info.email or info.phone:
        return "Thanks for chatting! Our team will follow up with you soon. Goodbye!"
    return ("Thanks for stopping by! If you'd like us to follow up, just leave your email "
            "any time. Goodbye!")
