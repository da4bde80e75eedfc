"""Chatbots (seed 004): bots, training datasets, training jobs and trained model versions.

Pure rules: validation of bot/dataset input, dataset import (JSON or CSV) and turning a trained
``IntentClassifier`` into a JSON-able model document and back.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from leadgraph.domain.assistant.classifier import Example, IntentClassifier
from leadgraph.domain.errors import FieldProblem, ValidationFailed

CHATBOTS = "chatbots"
DATASETS = "training_datasets"
JOBS = "training_jobs"
MODELS = "model_versions"
TEMPLATES = "templates"
CONVERSATIONS = "conversations"


@dataclass(frozen=True)
class IntentCount:
    intent: str
    count: int
    average_sentiment: float
    average_confidence: float


@dataclass(frozen=True)
class ChatbotActivity:
    """What one bot's conversations and messages add up to; counted by the store (in the
    database), so the figures cost a fixed number of queries whatever the traffic."""

    conversations_by_status: dict[str, int] = field(default_factory=dict)
    conversations_by_purchase_intent: dict[str, int] = field(default_factory=dict)
    conversations_with_lead: int = 0
    messages_by_role: dict[str, int] = field(default_factory=dict)
    visitor_intents: list[IntentCount] = field(default_factory=list)
    last_active: datetime | None = None

    @property
    def conversations(self) -> int:
        return sum(self.conversations_by_status.values())

    def summary(self) -> dict[str, Any]:
        """The derived figures (rates, averages), rounded for display."""
        conversations = self.conversations
        messages = sum(self.messages_by_role.values())
        analysed = sum(item.count for item in self.visitor_intents)

        def weighted(attribute: str) -> float | None:
            if not analysed:
                return None
            total = sum(float(getattr(item, attribute)) * item.count
                        for item in self.visitor_intents)
            return round(total / analysed, 4)

        return {
            "conversations": conversations,
            "conversationsByStatus": dict(sorted(self.conversations_by_status.items())),
            "purchaseIntent": dict(sorted(self.conversations_by_purchase_intent.items())),
            "leadsCaptured": self.conversations_with_lead,
            "conversionRate": round(self.conversations_with_lead / conversations, 4)
            if conversations else 0.0,
            "messages": {"total": messages,
                         "user": self.messages_by_role.get("user", 0),
                         "assistant": self.messages_by_role.get("assistant", 0)},
            "averageMessagesPerConversation": round(messages / conversations, 2)
            if conversations else 0.0,
            "topIntents": [
                {"intent": item.intent, "count": item.count}
                for item in sorted(self.visitor_intents, key=lambda i: (-i.count, i.intent))
            ],
            "averageSentiment": weighted("average_sentiment"),
            "averageConfidence": weighted("average_confidence"),
        }


class ChatbotStore(Protocol):
    """Plain documents (with ``id``) per collection name; whole-document writes only."""

    async def insert(self, collection: str, fields: dict[str, Any]) -> dict[str, Any]: ...
    async def get(self, collection: str, item_id: str) -> dict[str, Any] | None: ...
    async def replace(self, collection: str, item: dict[str, Any]) -> None: ...
    async def delete(self, collection: str, item_id: str) -> bool: ...
    async def find(
        self, collection: str, query: dict[str, Any], offset: int = 0, limit: int = 0,
        projection: dict[str, Any] | None = None,
    ) -> tuple[list[dict[str, Any]], int]: ...
    async def count(self, collection: str, query: dict[str, Any]) -> int: ...
    async def count_by_chatbot(self, collection: str, chatbot_ids: list[str]
                               ) -> dict[str, int]:
        """Documents per bot (``chatbot_id``); bots with none may be absent."""
        ...
    async def activities(self, chatbot_ids: list[str]) -> dict[str, ChatbotActivity]:
        """Aggregates over the bots' conversations and their messages, in a fixed number of
        queries however many bots (a bot with no conversation may be absent)."""
        ...
    # Training-job leases (epoch seconds). Each is one atomic write, so of several
    # replicas exactly one gets a job.
    async def claim_job(self, now: float, owner: str, lease_until: float
                        ) -> dict[str, Any] | None:
        """Take one queued/running job whose lease is missing or expired (``attempts`` + 1)."""
        ...
    async def renew_job(self, job_id: str, owner: str, lease_until: float) -> bool:
        """Extend the lease; False once ``owner`` no longer holds it."""
        ...
    async def replace_job(self, job: dict[str, Any], owner: str) -> bool:
        """Write the whole job only while ``owner`` holds its lease."""
        ...
    async def release_job(self, job_id: str, owner: str) -> None:
        """Let the lease lapse now (a clean shutdown): the next replica need not wait."""
        ...


class ChatbotType(StrEnum):
    RULE = "rule"
    AI = "ai"
    HYBRID = "hybrid"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


ACTIVE_JOB_STATUSES = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
MAX_EXAMPLES = 20_000


def _text(body: dict[str, Any], name: str, problems: list[FieldProblem], *,
          required: bool = False, limit: int = 2000) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            problems.append(FieldProblem(name, "is required"))
        return None
    if not isinstance(value, str):
        problems.append(FieldProblem(name, "must be a string"))
        return None
    value = value.strip()
    if required and not value:
        problems.append(FieldProblem(name, "must not be empty"))
    if len(value) > limit:
        problems.append(FieldProblem(name, f"must be at most {limit} characters"))
    return value


def chatbot_changes(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """Validated chatbot fields from a client body (camelCase wire names)."""
    problems: list[FieldProblem] = []
    changes: dict[str, Any] = {}
    name = _text(body, "name", problems, required=creating, limit=200)
    if name is not None:
        changes["name"] = name
    if "description" in body:
        changes["description"] = _text(body, "description", problems)
    if "type" in body or creating:
        raw = body.get("type", ChatbotType.RULE.value)
        if raw not in {t.value for t in ChatbotType}:
            problems.append(FieldProblem("type", "must be one of rule, ai, hybrid"))
        else:
            changes["type"] = raw
    if "settings" in body:
        settings = body["settings"]
        if not isinstance(settings, dict):
            problems.append(FieldProblem("settings", "must be an object"))
        else:
            changes["settings"] = settings
    elif creating:
        changes["settings"] = {}
    for wire, key in (("templateId", "template_id"), ("datasetId", "dataset_id")):
        if wire in body:
            changes[key] = _text(body, wire, problems, limit=100) or None
    if problems:
        raise ValidationFailed(problems)
    return changes


def parse_examples(raw: object, field_name: str = "examples") -> list[Example]:
    """Examples as a JSON list of ``{text, intent}`` objects."""
    if not isinstance(raw, list):
        raise ValidationFailed.single(field_name, "must be a list of {text, intent} objects")
    if len(raw) > MAX_EXAMPLES:
        raise ValidationFailed.single(field_name, f"at most {MAX_EXAMPLES} examples")
    problems: list[FieldProblem] = []
    examples: list[Example] = []
    for index, item in enumerate(raw):
        text = item.get("text") if isinstance(item, dict) else None
        intent = item.get("intent") if isinstance(item, dict) else None
        if not isinstance(text, str) or not text.strip():
            problems.append(FieldProblem(f"{field_name}[{index}].text", "is required"))
        if not isinstance(intent, str) or not intent.strip():
            problems.append(FieldProblem(f"{field_name}[{index}].intent", "is required"))
        if isinstance(text, str) and isinstance(intent, str) and text.strip() and intent.strip():
            examples.append(Example(text.strip(), intent.strip()))
        if len(problems) >= 20:
            break
    if problems:
        raise ValidationFailed(problems)
    return examples


def import_examples(content: str, data_format: str) -> list[Example]:
    """A dataset file's examples: ``json`` (a list, or ``{examples: [...]}``) or ``csv``
    (header with ``text`` and ``intent`` columns)."""
    if data_format == "json":
        try:
            data = json.loads(content)
        except json.JSONDecodeError as exc:
            raise ValidationFailed.single("content", f"is not valid JSON: {exc}") from None
        if isinstance(data, dict):
            data = data.get("examples")
        return parse_examples(data, "content")
    if data_format == "csv":
        reader = csv.DictReader(io.StringIO(content))
        if reader.fieldnames is None or not {"text", "intent"} <= set(reader.fieldnames):
            raise ValidationFailed.single("content", "CSV needs a header with text and intent")
        return parse_examples([dict(row) for row in reader], "content")
    raise ValidationFailed.single("format", "must be json or csv")


def model_document(classifier: IntentClassifier) -> dict[str, Any]:
    return {
        "alpha": classifier.alpha,
        "log_priors": dict(classifier.log_priors),
        "log_likelihoods": {k: dict(v) for k, v in classifier.log_likelihoods.items()},
        "log_unseen": dict(classifier.log_unseen),
    }


def classifier_from(model: dict[str, Any]) -> IntentClassifier:
    likelihoods: dict[str, dict[str, float]] = model["log_likelihoods"]
    vocabulary = frozenset(token for tokens in likelihoods.values() for token in tokens)
    return IntentClassifier(
        alpha=float(model["alpha"]), log_priors=dict(model["log_priors"]),
        log_likelihoods={k: dict(v) for k, v in likelihoods.items()},
        log_unseen=dict(model["log_unseen"]), vocabulary=vocabulary,
    )


_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TEMPLATE_KINDS = ("prompt", "response")


def template_changes(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """Validated template fields. Placeholders are ``{{name}}``; ``variables`` (derived from
    the content when omitted) must be identifiers and match the placeholders exactly."""
    problems: list[FieldProblem] = []
    changes: dict[str, Any] = {}
    name = _text(body, "name", problems, required=creating, limit=200)
    if name is not None:
        changes["name"] = name
    content = _text(body, "content", problems, required=creating, limit=20_000)
    if content is not None:
        changes["content"] = content
    if "description" in body:
        changes["description"] = _text(body, "description", problems)
    if "type" in body or creating:
        kind = body.get("type", "response")
        if kind not in TEMPLATE_KINDS:
            problems.append(FieldProblem("type", "must be prompt or response"))
        else:
            changes["type"] = kind
    if content is not None:
        used = list(dict.fromkeys(_PLACEHOLDER.findall(content)))
        for placeholder in used:
            if not _IDENTIFIER.match(placeholder):
                problems.append(FieldProblem(
                    "content", f"{{{{{placeholder}}}}} is not a valid variable name"))
        declared = body.get("variables")
        if declared is None:
            changes["variables"] = used
        elif not isinstance(declared, list) or not all(isinstance(v, str) for v in declared):
            problems.append(FieldProblem("variables", "must be a list of names"))
        else:
            bad = [v for v in declared if not _IDENTIFIER.match(v)]
            missing = [v for v in used if v not in declared and _IDENTIFIER.match(v)]
            unused = [v for v in declared if v not in used]
            if bad:
                problems.append(FieldProblem("variables", f"invalid names: {', '.join(bad)}"))
            if missing:
                problems.append(FieldProblem(
                    "variables", f"undeclared in content: {', '.join(missing)}"))
            if unused:
                problems.append(FieldProblem(
                    "variables", f"not used in content: {', '.join(unused)}"))
            changes["variables"] = list(dict.fromkeys(declared))
    elif "variables" in body:
        problems.append(FieldProblem("variables", "can only change together with content"))
    if problems:
        raise ValidationFailed(problems)
    return changes
