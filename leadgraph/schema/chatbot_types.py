"""GraphQL types and root fields for seed 004's chatbots, datasets and training jobs.

``ChatbotQuery``, ``ChatbotMutation`` and ``ChatbotSubscription`` are mixed into the roots.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

import strawberry
from strawberry import Info
from strawberry.scalars import JSON

from leadgraph.domain import chatbots as domain
from leadgraph.domain.errors import NotFound, ServiceUnavailable
from leadgraph.resolvers.chatbots import ChatbotUseCases
from leadgraph.schema.analytics_types import IntentCount, KeyCount
from leadgraph.schema.context import GraphQLContext
from leadgraph.schema.permissions import IsAuthenticated

Ctx = Info[GraphQLContext, Any]
MAX_LIST = 100


def _bots(info: Ctx) -> ChatbotUseCases:
    info.context.actor()
    chatbots = info.context.use_cases.chatbots
    if chatbots is None:
        raise ServiceUnavailable("Chatbots are not available")
    return chatbots


ChatbotType = strawberry.enum(domain.ChatbotType, name="ChatbotType")
JobStatus = strawberry.enum(domain.JobStatus, name="TrainingJobStatus")


@strawberry.type
class Chatbot:
    id: strawberry.ID
    name: str
    description: str | None
    type: ChatbotType  # type: ignore[valid-type]
    settings: JSON
    template_id: str | None
    dataset_id: str | None
    deployed_model_version: str | None = strawberry.field(
        description="The model version that answers this bot's conversations."
    )
    deployed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    doc: strawberry.Private[dict[str, Any]]

    @strawberry.field(description="What the bot's conversations add up to and its training "
                      "state (seed 004's GET /api/chatbots/{id}/analytics). Batched: a page "
                      "of bots costs the same few aggregations as one.")
    async def analytics(self, info: Ctx) -> ChatbotAnalytics:
        _bots(info)
        figures = await info.context.loaders.chatbot_analytics_by_id.load(self.doc)
        return ChatbotAnalytics.from_figures(figures)

    @classmethod
    def from_doc(cls, bot: dict[str, Any]) -> Chatbot:
        return cls(
            id=strawberry.ID(bot["id"]), name=bot["name"], description=bot.get("description"),
            type=domain.ChatbotType(bot["type"]), settings=JSON(bot.get("settings") or {}),
            template_id=bot.get("template_id"), dataset_id=bot.get("dataset_id"),
            deployed_model_version=bot.get("deployed_model_version"),
            deployed_at=bot.get("deployed_at"), created_at=bot["created_at"],
            updated_at=bot["updated_at"], doc=bot,
        )


@strawberry.type
class ChatbotMessageCounts:
    total: int
    user: int = strawberry.field(description="The visitor's messages.")
    assistant: int


@strawberry.type(description="One chatbot's figures; rates and averages are rounded as in "
                 "seed 004's REST answer (same use case, same numbers).")
class ChatbotAnalytics:
    chatbot_id: strawberry.ID
    deployed_model_version: str | None
    training_jobs: int
    model_versions: int
    conversations: int
    conversations_by_status: list[KeyCount] = strawberry.field(
        description="Conversations per status, by status.")
    purchase_intent: list[KeyCount] = strawberry.field(
        description="Conversations per purchase intent, by intent.")
    leads_captured: int = strawberry.field(description="Conversations that have a lead.")
    conversion_rate: float = strawberry.field(description="leadsCaptured / conversations (0-1).")
    messages: ChatbotMessageCounts
    average_messages_per_conversation: float
    top_intents: list[IntentCount] = strawberry.field(
        description="The visitor's message intents, most frequent first.")
    average_sentiment: float | None = strawberry.field(
        description="Over the visitor's analysed messages; null when there are none.")
    average_confidence: float | None
    last_active_at: datetime | None

    @classmethod
    def from_figures(cls, figures: dict[str, Any]) -> ChatbotAnalytics:
        messages = figures["messages"]
        return cls(
            chatbot_id=strawberry.ID(figures["chatbotId"]),
            deployed_model_version=figures["deployedModelVersion"],
            training_jobs=figures["trainingJobs"], model_versions=figures["modelVersions"],
            conversations=figures["conversations"],
            conversations_by_status=[KeyCount(key=k, count=v) for k, v
                                     in figures["conversationsByStatus"].items()],
            purchase_intent=[KeyCount(key=k, count=v) for k, v
                             in figures["purchaseIntent"].items()],
            leads_captured=figures["leadsCaptured"], conversion_rate=figures["conversionRate"],
            messages=ChatbotMessageCounts(total=messages["total"], user=messages["user"],
                                          assistant=messages["assistant"]),
            average_messages_per_conversation=figures["averageMessagesPerConversation"],
            top_intents=[IntentCount(intent=i["intent"], count=i["count"])
                         for i in figures["topIntents"]],
            average_sentiment=figures["averageSentiment"],
            average_confidence=figures["averageConfidence"],
            last_active_at=figures["lastActiveAt"],
        )


@strawberry.type
class TrainingExample:
    text: str
    intent: str


@strawberry.type
class TrainingDataset:
    id: strawberry.ID
    name: str
    description: str | None
    intents: list[str]
    example_count: int
    examples: list[TrainingExample]
    created_at: datetime

    @classmethod
    def from_doc(cls, dataset: dict[str, Any]) -> TrainingDataset:
        examples = dataset.get("examples") or []
        return cls(
            id=strawberry.ID(dataset["id"]), name=dataset["name"],
            description=dataset.get("description"),
            intents=sorted({e["intent"] for e in examples}), example_count=len(examples),
            examples=[TrainingExample(text=e["text"], intent=e["intent"]) for e in examples],
            created_at=dataset["created_at"],
        )


@strawberry.type
class TrainingJob:
    id: strawberry.ID
    chatbot_id: strawberry.ID
    dataset_id: strawberry.ID
    status: JobStatus  # type: ignore[valid-type]
    progress: float
    accuracy: float | None = strawberry.field(description="On the held-out examples.")
    metrics: JSON | None
    model_version_id: str | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def from_doc(cls, job: dict[str, Any]) -> TrainingJob:
        metrics = job.get("metrics")
        return cls(
            id=strawberry.ID(job["id"]), chatbot_id=strawberry.ID(job["chatbot_id"]),
            dataset_id=strawberry.ID(job["dataset_id"]), status=domain.JobStatus(job["status"]),
            progress=job["progress"], accuracy=metrics["accuracy"] if metrics else None,
            metrics=metrics, model_version_id=job.get("model_version_id"),
            error=job.get("error"), created_at=job["created_at"],
            finished_at=job.get("finished_at"),
        )


@strawberry.type
class Template:
    id: strawberry.ID
    name: str
    type: str = strawberry.field(description="prompt or response")
    description: str | None
    content: str = strawberry.field(description="Text with {{variable}} placeholders.")
    variables: list[str]
    created_at: datetime

    @classmethod
    def from_doc(cls, template: dict[str, Any]) -> Template:
        return cls(
            id=strawberry.ID(template["id"]), name=template["name"], type=template["type"],
            description=template.get("description"), content=template["content"],
            variables=list(template["variables"]), created_at=template["created_at"],
        )


@strawberry.input
class ChatbotInput:
    name: str | None = None
    description: str | None = None
    type: ChatbotType | None = None  # type: ignore[valid-type]
    settings: JSON | None = None
    template_id: str | None = None
    dataset_id: str | None = None

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name, "description": self.description,
            "type": self.type.value if self.type is not None else None,
            "settings": self.settings, "templateId": self.template_id,
            "datasetId": self.dataset_id,
        }
        return {key: value for key, value in body.items() if value is not None}


@strawberry.type
class ChatbotQuery:
    @strawberry.field(permission_classes=[IsAuthenticated], description="Chatbots, newest first.")
    async def chatbots(self, info: Ctx, offset: int = 0, first: int = 20) -> list[Chatbot]:
        items, _ = await _bots(info).search(max(offset, 0), min(max(first, 1), MAX_LIST))
        return [Chatbot.from_doc(bot) for bot in items]

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def chatbot(self, info: Ctx, id: strawberry.ID) -> Chatbot | None:
        bots = _bots(info)
        try:
            return Chatbot.from_doc(await bots.get(str(id)))
        except NotFound:
            return None

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def training_job(self, info: Ctx, id: strawberry.ID) -> TrainingJob | None:
        bots = _bots(info)
        try:
            return TrainingJob.from_doc(await bots.job(str(id)))
        except NotFound:
            return None

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="Training datasets, newest first.")
    async def datasets(self, info: Ctx, offset: int = 0, first: int = 20
                       ) -> list[TrainingDataset]:
        items, _ = await _bots(info).datasets(max(offset, 0), min(max(first, 1), MAX_LIST))
        return [TrainingDataset.from_doc(d) for d in items]

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="Prompt/response templates, newest first.")
    async def templates(self, info: Ctx, offset: int = 0, first: int = 20) -> list[Template]:
        items, _ = await _bots(info).templates(max(offset, 0), min(max(first, 1), MAX_LIST))
        return [Template.from_doc(t) for t in items]


@strawberry.type
class ChatbotMutation:
    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def create_chatbot(self, info: Ctx, input: ChatbotInput) -> Chatbot:
        return Chatbot.from_doc(await _bots(info).create(input.to_body()))

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def update_chatbot(self, info: Ctx, id: strawberry.ID, input: ChatbotInput) -> Chatbot:
        return Chatbot.from_doc(await _bots(info).update(str(id), input.to_body()))

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def delete_chatbot(self, info: Ctx, id: strawberry.ID) -> strawberry.ID:
        return strawberry.ID((await _bots(info).delete(str(id)))["id"])

    @strawberry.mutation(permission_classes=[IsAuthenticated],
                         description="Starts a background training job; follow it with "
                         "trainingJobEvents or trainingJob.")
    async def train_chatbot(self, info: Ctx, id: strawberry.ID,
                            dataset_id: strawberry.ID | None = None) -> TrainingJob:
        job = await _bots(info).train(str(id), str(dataset_id) if dataset_id else None)
        return TrainingJob.from_doc(job)

    @strawberry.mutation(permission_classes=[IsAuthenticated],
                         description="Deploys a model version (default: the newest).")
    async def deploy_chatbot(self, info: Ctx, id: strawberry.ID,
                             model_version_id: strawberry.ID | None = None) -> Chatbot:
        bot = await _bots(info).deploy(str(id), str(model_version_id) if model_version_id
                                       else None)
        return Chatbot.from_doc(bot)


@strawberry.type
class ChatbotSubscription:
    @strawberry.subscription(permission_classes=[IsAuthenticated],
                             description="A training job now and after every change; "
                             "completes when it completes or fails.")
    async def training_job_events(self, info: Ctx, job_id: strawberry.ID
                                  ) -> AsyncGenerator[TrainingJob, None]:
        async for job in _bots(info).watch_job(str(job_id)):
            yield TrainingJob.from_doc(job)
