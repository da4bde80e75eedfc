"""Chatbot use cases (seed 004): bots, datasets, background training jobs, deployment, and
the ``AssistantSelector`` that makes a deployed bot's model answer its conversations.

Training jobs run as asyncio tasks owned by this object (``stop`` cancels them). A job's
status, progress and metrics are stored; on ``start`` the jobs a previous process left queued
or running are resumed (training is deterministic, so re-running gives the same model).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from leadgraph.domain.assistant.classifier import Example, IntentClassifier, split_examples
from leadgraph.domain.assistant.engine import LocalAssistant
from leadgraph.domain.chatbots import (
    ACTIVE_JOB_STATUSES,
    CHATBOTS,
    CONVERSATIONS,
    DATASETS,
    JOBS,
    MODELS,
    TEMPLATES,
    ChatbotStore,
    JobStatus,
    chatbot_changes,
    classifier_from,
    model_document,
    parse_examples,
    template_changes,
)
from leadgraph.domain.conversations import Conversation
from leadgraph.domain.errors import Conflict, NotFound, ValidationFailed
from leadgraph.domain.events import DomainEvent
from leadgraph.domain.ports import AssistantEngine, Clock, EventBroker

log = logging.getLogger(__name__)

TRAINING_JOB_UPDATED = "training_job.updated"
TERMINAL = (JobStatus.COMPLETED.value, JobStatus.FAILED.value)


def job_channel(job_id: str) -> str:
    return f"training_job:{job_id}"


class ChatbotUseCases:
    def __init__(self, store: ChatbotStore, clock: Clock,
                 fallback: AssistantEngine, broker: EventBroker | None = None) -> None:
        self._broker = broker
        self._store = store
        self._clock = clock
        self._fallback = fallback
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._engines: dict[str, LocalAssistant] = {}

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Resume the jobs a previous process left queued or running."""
        jobs, _ = await self._store.find(JOBS, {"status": {"$in": list(ACTIVE_JOB_STATUSES)}})
        for job in jobs:
            job["resumed"] = True
            await self._store.replace(JOBS, job)
            self._launch(job["id"])

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    async def wait_idle(self) -> None:
        await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    # -- chatbots -------------------------------------------------------------------------

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        changes = chatbot_changes(body, creating=True)
        await self._check_links(changes)
        now = self._clock.now()
        return await self._store.insert(CHATBOTS, {
            "description": None, "template_id": None, "dataset_id": None,
            **changes, "deployed_model_version": None, "deployed_at": None,
            "created_at": now, "updated_at": now,
        })

    async def get(self, chatbot_id: str) -> dict[str, Any]:
        bot = await self._store.get(CHATBOTS, chatbot_id)
        if bot is None:
            raise NotFound("Chatbot", chatbot_id)
        return bot

    async def search(self, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        return await self._store.find(CHATBOTS, {}, offset, limit)

    async def update(self, chatbot_id: str, body: dict[str, Any]) -> dict[str, Any]:
        bot = await self.get(chatbot_id)
        changes = chatbot_changes(body, creating=False)
        await self._check_links(changes)
        bot.update(changes, updated_at=self._clock.now())
        await self._store.replace(CHATBOTS, bot)
        return bot

    async def delete(self, chatbot_id: str) -> dict[str, Any]:
        bot = await self.get(chatbot_id)
        await self._store.delete(CHATBOTS, bot["id"])
        return bot

    async def _check_links(self, changes: dict[str, Any]) -> None:
        if changes.get("template_id") and await self._store.get(
            TEMPLATES, changes["template_id"]
        ) is None:
            raise ValidationFailed.single("templateId", "no such template")
        if changes.get("dataset_id") and await self._store.get(
            DATASETS, changes["dataset_id"]
        ) is None:
            raise ValidationFailed.single("datasetId", "no such dataset")

    # -- templates ------------------------------------------------------------------------

    async def create_template(self, body: dict[str, Any]) -> dict[str, Any]:
        changes = template_changes(body, creating=True)
        now = self._clock.now()
        return await self._store.insert(TEMPLATES, {
            "description": None, **changes, "created_at": now, "updated_at": now,
        })

    async def get_template(self, template_id: str) -> dict[str, Any]:
        template = await self._store.get(TEMPLATES, template_id)
        if template is None:
            raise NotFound("Template", template_id)
        return template

    async def templates(self, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        return await self._store.find(TEMPLATES, {}, offset, limit)

    async def update_template(self, template_id: str, body: dict[str, Any]) -> dict[str, Any]:
        template = await self.get_template(template_id)
        template.update(template_changes(body, creating=False), updated_at=self._clock.now())
        await self._store.replace(TEMPLATES, template)
        return template

    async def delete_template(self, template_id: str) -> dict[str, Any]:
        template = await self.get_template(template_id)
        await self._store.delete(TEMPLATES, template["id"])
        return template

    # -- datasets -------------------------------------------------------------------------

    async def create_dataset(self, name: object, examples: list[Example],
                             description: object = None) -> dict[str, Any]:
        if not isinstance(name, str) or not name.strip():
            raise ValidationFailed.single("name", "is required")
        if description is not None and not isinstance(description, str):
            raise ValidationFailed.single("description", "must be a string")
        now = self._clock.now()
        return await self._store.insert(DATASETS, {
            "name": name.strip(), "description": description,
            "examples": [{"text": e.text, "intent": e.intent} for e in examples],
            "created_at": now, "updated_at": now,
        })

    async def get_dataset(self, dataset_id: str) -> dict[str, Any]:
        dataset = await self._store.get(DATASETS, dataset_id)
        if dataset is None:
            raise NotFound("Dataset", dataset_id)
        return dataset

    async def datasets(self, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        return await self._store.find(DATASETS, {}, offset, limit)

    async def update_dataset(self, dataset_id: str, body: dict[str, Any]) -> dict[str, Any]:
        dataset = await self.get_dataset(dataset_id)
        if "name" in body:
            if not isinstance(body["name"], str) or not body["name"].strip():
                raise ValidationFailed.single("name", "must be a non-empty string")
            dataset["name"] = body["name"].strip()
        if "description" in body:
            if body["description"] is not None and not isinstance(body["description"], str):
                raise ValidationFailed.single("description", "must be a string")
            dataset["description"] = body["description"]
        if "examples" in body:
            dataset["examples"] = [
                {"text": e.text, "intent": e.intent} for e in parse_examples(body["examples"])
            ]
        dataset["updated_at"] = self._clock.now()
        await self._store.replace(DATASETS, dataset)
        return dataset

    async def delete_dataset(self, dataset_id: str) -> dict[str, Any]:
        dataset = await self.get_dataset(dataset_id)
        await self._store.delete(DATASETS, dataset["id"])
        return dataset

    # -- training -------------------------------------------------------------------------

    async def train(self, chatbot_id: str, dataset_id: str | None = None) -> dict[str, Any]:
        bot = await self.get(chatbot_id)
        dataset_id = dataset_id or bot.get("dataset_id")
        if not dataset_id:
            raise ValidationFailed.single("datasetId", "is required (the bot has no dataset)")
        dataset = await self._store.get(DATASETS, dataset_id)
        if dataset is None:
            raise ValidationFailed.single("datasetId", "no such dataset")
        intents = {example["intent"] for example in dataset["examples"]}
        if len(intents) < 2:
            raise ValidationFailed.single("datasetId", "needs examples of at least two intents")
        now = self._clock.now()
        job = await self._store.insert(JOBS, {
            "chatbot_id": bot["id"], "dataset_id": dataset_id, "status": JobStatus.QUEUED.value,
            "progress": 0.0, "metrics": None, "model_version_id": None, "error": None,
            "created_at": now, "started_at": None, "finished_at": None,
        })
        self._launch(job["id"])
        return job

    async def job(self, job_id: str) -> dict[str, Any]:
        job = await self._store.get(JOBS, job_id)
        if job is None:
            raise NotFound("TrainingJob", job_id)
        return job

    async def jobs(self, chatbot_id: str | None, offset: int, limit: int
                   ) -> tuple[list[dict[str, Any]], int]:
        query = {"chatbot_id": chatbot_id} if chatbot_id else {}
        return await self._store.find(JOBS, query, offset, limit)

    def _launch(self, job_id: str) -> None:
        task = asyncio.create_task(self._run(job_id), name=f"training-job-{job_id}")
        self._tasks[job_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job_id, None))

    async def _run(self, job_id: str) -> None:
        job = await self.job(job_id)
        try:
            job.update(status=JobStatus.RUNNING.value, started_at=self._clock.now(),
                       progress=0.1)
            await self._save_job(job)
            dataset = await self._store.get(DATASETS, job["dataset_id"])
            if dataset is None:
                raise ValueError("the dataset was deleted")
            examples = [Example(e["text"], e["intent"]) for e in dataset["examples"]]
            train_set, test_set = split_examples(examples)
            evaluated = IntentClassifier.train(train_set)
            accuracy = evaluated.accuracy(test_set) if test_set else evaluated.accuracy(
                train_set)
            job["progress"] = 0.6
            await self._save_job(job)
            await asyncio.sleep(0)
            final = IntentClassifier.train(examples)
            metrics = {"accuracy": round(accuracy, 4), "trainExamples": len(train_set),
                       "testExamples": len(test_set), "intents": final.intents}
            version = await self._store.insert(MODELS, {
                "chatbot_id": job["chatbot_id"], "job_id": job_id,
                "dataset_id": job["dataset_id"], "intents": final.intents,
                "metrics": metrics, "model": model_document(final),
                "created_at": self._clock.now(),
            })
            job.update(status=JobStatus.COMPLETED.value, progress=1.0, metrics=metrics,
                       model_version_id=version["id"], finished_at=self._clock.now())
            await self._save_job(job)
        except asyncio.CancelledError:
            raise  # left running: resumed by the next start
        except Exception as exc:  # a failed job is stored as failed, never lost
            log.warning("training job %s failed: %s", job_id, exc)
            job.update(status=JobStatus.FAILED.value, error=str(exc),
                       finished_at=self._clock.now())
            await self._save_job(job)

    async def _save_job(self, job: dict[str, Any]) -> None:
        """Stored, then announced to ``watch_job`` subscribers."""
        await self._store.replace(JOBS, job)
        if self._broker is not None:
            await self._broker.publish(DomainEvent(
                type=TRAINING_JOB_UPDATED, channel=job_channel(job["id"]),
                data={"id": job["id"]},
            ))

    async def watch_job(self, job_id: str) -> AsyncIterator[dict[str, Any]]:
        """The job now and after every change; ends once it completes or fails."""
        await self.job(job_id)
        if self._broker is None:
            yield await self.job(job_id)
            return
        subscription = self._broker.subscribe(job_channel(job_id))
        try:
            job = await self.job(job_id)  # read after subscribing: no update is missed
            yield job
            if job["status"] in TERMINAL:
                return
            async for _ in subscription:
                job = await self.job(job_id)
                yield job
                if job["status"] in TERMINAL:
                    return
        finally:
            await subscription.aclose()

    # -- deployment -----------------------------------------------------------------------

    async def deploy(self, chatbot_id: str, version_id: str | None = None) -> dict[str, Any]:
        bot = await self.get(chatbot_id)
        if version_id is None:
            versions, _ = await self._store.find(MODELS, {"chatbot_id": bot["id"]}, 0, 1,
                                                 {"model": 0})
            if not versions:
                raise Conflict("The chatbot has no trained model version; train it first")
            version_id = versions[0]["id"]
        version = await self._store.get(MODELS, version_id)
        if version is None or version["chatbot_id"] != bot["id"]:
            raise ValidationFailed.single("modelVersionId", "no such model version of this bot")
        bot.update(deployed_model_version=version["id"], deployed_at=self._clock.now())
        await self._store.replace(CHATBOTS, bot)
        return bot

    async def analytics(self, chatbot_id: str) -> dict[str, Any]:
        bot = await self.get(chatbot_id)
        _, jobs = await self._store.find(JOBS, {"chatbot_id": bot["id"]}, 0, 1)
        _, versions = await self._store.find(MODELS, {"chatbot_id": bot["id"]}, 0, 1,
                                             {"model": 0})
        conversations = await self._store.count(CONVERSATIONS, {"chatbot_id": bot["id"]})
        return {"trainingJobs": jobs, "modelVersions": versions,
                "conversations": conversations,
                "deployedModelVersion": bot["deployed_model_version"]}

    async def assistant_for(self, conversation: Conversation) -> AssistantEngine:
        """The engine that answers a conversation: its bot's deployed model, else the default."""
        if not conversation.chatbot_id:
            return self._fallback
        bot = await self._store.get(CHATBOTS, conversation.chatbot_id)
        version_id = bot.get("deployed_model_version") if bot is not None else None
        if not version_id:
            return self._fallback
        engine = self._engines.get(version_id)
        if engine is None:
            version = await self._store.get(MODELS, version_id)
            if version is None:
                return self._fallback
            engine = LocalAssistant(classifier=classifier_from(version["model"]))
            self._engines[version_id] = engine
        return engine
