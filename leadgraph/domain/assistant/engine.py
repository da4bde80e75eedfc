"""The local assistant engine: NLU plus the dialog policy, one deterministic turn at a time."""

from __future__ import annotations

from dataclasses import dataclass

from leadgraph.domain.assistant.classifier import IntentClassifier
from leadgraph.domain.assistant.entities import extract_entities
from leadgraph.domain.assistant.policy import decide
from leadgraph.domain.assistant.signals import purchase_intent, sentiment, strongest
from leadgraph.domain.assistant.training_data import BUILTIN_EXAMPLES
from leadgraph.domain.conversations import (
    CollectedInfo,
    Conversation,
    DialogStep,
    MessageAnalysis,
)
from leadgraph.domain.leads import LeadIntent

LOW_CONFIDENCE = 0.3


@dataclass(frozen=True)
class AssistantTurn:
    """What the assistant concluded from one visitor message, and what it says back."""

    analysis: MessageAnalysis
    reply: str
    collected_info: CollectedInfo
    step: DialogStep
    asked: list[str]
    purchase_intent: LeadIntent
    engine: str = "local"


class LocalAssistant:
    name = "local"

    def __init__(self, classifier: IntentClassifier | None = None) -> None:
        self.classifier = classifier or IntentClassifier.train(BUILTIN_EXAMPLES)

    def analyze(self, text: str) -> MessageAnalysis:
        entities = extract_entities(text)
        prediction = self.classifier.predict(text)
        intent, confidence = prediction.intent, prediction.confidence
        entity_types = {entity.type for entity in entities}
        informative = entity_types & {"email", "phone", "budget", "timeline", "project_type",
                                      "feature", "person", "company"}
        if informative and (confidence < LOW_CONFIDENCE or intent in ("other", "smalltalk")):
            intent, confidence = "provide_info", max(confidence, 0.6)
        level, reasons = purchase_intent(text, intent, entity_types)
        return MessageAnalysis(
            intent=intent, confidence=confidence, entities=entities, sentiment=sentiment(text),
            purchase_intent=level, purchase_reasons=reasons,
        )

    def turn(self, conversation: Conversation, text: str,
             analysis: MessageAnalysis | None = None) -> AssistantTurn:
        analysis = analysis or self.analyze(text)
        decision = decide(
            conversation.collected_info, conversation.current_step, conversation.asked,
            analysis.intent, text, analysis.entities,
        )
        return AssistantTurn(
            analysis=analysis, reply=decision.reply, collected_info=decision.collected,
            step=decision.step, asked=decision.asked,
            purchase_intent=strongest(conversation.purchase_intent, analysis.purchase_intent),
        )

    async def respond(self, conversation: Conversation, text: str) -> AssistantTurn:
        return self.turn(conversation, text)
