"""OpenAI (or any OpenAI-compatible server) as the assistant, falling back to the local engine.

The model returns structured output (a JSON schema) with the analysis and the reply; slots
and dialog state are still tracked by the local policy, so switching engines mid-conversation
loses nothing. Any API error or timeout falls back to the local engine silently for the
visitor, and is logged and counted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from typing import Any

import openai
from pydantic import BaseModel, Field, ValidationError

from leadgraph.domain.assistant.engine import AssistantTurn, LocalAssistant
from leadgraph.domain.assistant.policy import missing_slots
from leadgraph.domain.conversations import Conversation, Entity, MessageAnalysis
from leadgraph.domain.leads import LeadIntent
from leadgraph.domain.ports import NullObserver, ServiceObserver

log = logging.getLogger(__name__)

INTENTS = ["greet", "goodbye", "question", "pricing", "demo_request", "purchase", "complaint",
           "feedback", "provide_info", "smalltalk", "other"]
ENTITY_TYPES = ["email", "phone", "person", "company", "budget", "timeline", "project_type",
                "feature"]


class _Entity(BaseModel):
    type: str
    value: str


class _ModelAnswer(BaseModel):
    reply: str = Field(min_length=1)
    intent: str
    confidence: float = Field(ge=0, le=1)
    sentiment: float = Field(ge=-1, le=1)
    purchase_intent: LeadIntent
    purchase_reasons: list[str]
    entities: list[_Entity]


RESPONSE_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {
        "name": "assistant_turn",
        "strict": True,
        "schema": {
            "type": "object",
            "additionalProperties": False,
            "required": ["reply", "intent", "confidence", "sentiment", "purchase_intent",
                         "purchase_reasons", "entities"],
            "properties": {
                "reply": {"type": "string"},
                "intent": {"type": "string", "enum": INTENTS},
                "confidence": {"type": "number"},
                "sentiment": {"type": "number"},
                "purchase_intent": {"type": "string", "enum": [i.value for i in LeadIntent]},
                "purchase_reasons": {"type": "array", "items": {"type": "string"}},
                "entities": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False,
                    "required": ["type", "value"],
                    "properties": {"type": {"type": "string", "enum": ENTITY_TYPES},
                                   "value": {"type": "string"}},
                }},
            },
        },
    },
}

SYSTEM_PROMPT = (
    "You are a friendly sales assistant for a software agency. Qualify the visitor: learn the "
    "project type, key features, timeline, budget, their name and an email or phone. Ask one "
    "question at a time, only for what is still missing, never for what is already known. "
    "Project types: mobile_app, web_app, website, ecommerce, chatbot, ai_solution, other. "
    "Classify the visitor's last message and answer in the JSON schema given."
)


class OpenAIAssistant:
    name = "openai"

    def __init__(self, client: openai.AsyncOpenAI, model: str, fallback: LocalAssistant,
                 timeout_seconds: float = 20.0, observer: ServiceObserver | None = None) -> None:
        self._client = client
        self._model = model
        self._fallback = fallback
        self._timeout = timeout_seconds
        self._observer = observer or NullObserver()
        self.fallbacks = 0

    async def respond(self, conversation: Conversation, text: str) -> AssistantTurn:
        try:
            answer = await asyncio.wait_for(self._ask(conversation, text), self._timeout)
        except (openai.OpenAIError, TimeoutError, ValidationError, ValueError, KeyError,
                IndexError) as exc:
            self.fallbacks += 1
            self._observer.assistant_fallback(self.name, type(exc).__name__)
            log.warning("OpenAI assistant failed (%s: %s); the local engine answers",
                        type(exc).__name__, exc)
            return await self._fallback.respond(conversation, text)
        local = self._fallback.analyze(text)
        # The model's entities, plus anything our extractors are sure of (e.g. E.164 phones).
        entities = [Entity(type=e.type, value=e.value, text=e.value) for e in answer.entities]
        known = {(e.type, e.value) for e in entities}
        entities += [e for e in local.entities if (e.type, e.value) not in known]
        analysis = MessageAnalysis(
            intent=answer.intent if answer.intent in INTENTS else "other",
            confidence=answer.confidence, entities=entities, sentiment=answer.sentiment,
            purchase_intent=answer.purchase_intent, purchase_reasons=answer.purchase_reasons,
        )
        state = self._fallback.turn(conversation, text, analysis=analysis)
        return dataclasses.replace(state, reply=answer.reply, engine=self.name)

    async def _ask(self, conversation: Conversation, text: str) -> _ModelAnswer:
        info = conversation.collected_info
        context = {
            "collected_info": info.as_public_dict(),
            "still_missing": missing_slots(info, set()),
            "current_step": conversation.current_step.value,
        }
        completion = await self._client.chat.completions.create(  # type: ignore[call-overload]
            model=self._model,
            messages=[
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "system", "content": "Conversation state: " + json.dumps(context)},
                {"role": "user", "content": text},
            ],
            response_format=RESPONSE_FORMAT,
            temperature=0.2,
        )
        content = completion.choices[0].message.content
        if not content:
            raise ValueError("empty completion")
        return _ModelAnswer.model_validate_json(content)
