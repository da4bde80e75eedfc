"""Chatbot use cases (seed 004): bots, datasets, background training jobs, deployment, and
the ``AssistantSelector`` that makes a deployed bot's model answer its conversations.

Training jobs run as asyncio tasks owned by this object (``stop`` cancels them). A job's
status, progress and metrics are stored, so a job is never lost: it completes, fails, or is
resumed (training is deterministic, so re-running gives the same model).

Several replicas share the jobs through a lease on each job row (``lease_owner``,
``lease_expires_at``, ``attempts``): the replica that creates or claims a job holds it and
renews the lease while training (every third of ``lease_seconds``); every write of the job
is conditional on still holding it. On ``start`` and then periodically each replica claims
the queued or running jobs whose lease expired (or that have none: rows from before leases),
one atomic claim at a time, so exactly one replica resumes an orphaned job, and a job whose
replica died is taken over once its lease lapses. A replica that loses a lease (it stalled
past it and another took over) stops that job silently. A clean ``stop`` releases its leases
so a restart resumes at once. A job claimed more than ``max_attempts`` times is marked failed
instead of being retried forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

from leadgraph.domain.assistant.classifier import Example, IntentClassifier, split_examples
from leadgraph.domain.assistant.engine import LocalAssistant
from leadgraph.domain.chatbots import (
    CHATBOTS,
    DATASETS,
    JOBS,
    MODELS,
    TEMPLATES,
    ChatbotActivity,
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


class LeaseLost(Exception):
    """Another replica holds the job now; this one must not write it again."""


class ChatbotUseCases:
    def __init__(self, store: ChatbotStore, clock: Clock,
                 fallback: AssistantEngine, broker: EventBroker | None = None, *,
                 owner: str | None = None, lease_seconds: float = 30.0,
                 max_attempts: int = 3) -> None:
        self._broker = broker
        self._store = store
        self._clock = clock
        self._fallback = fallback
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._engines: dict[str, LocalAssistant] = {}
        self.owner = owner or f"replica-{uuid.uuid4().hex[:12]}"
        self._lease_seconds = lease_seconds
        self._max_attempts = max_attempts
        self._reaper: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Claim the jobs left without a live owner, then keep looking for such jobs."""
        await self._claim_orphans()
        self._reaper = asyncio.create_task(self._reap(), name="training-job-leases")

    async def stop(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            await asyncio.gather(self._reaper, return_exceptions=True)
            self._reaper = None
        tasks = dict(self._tasks)
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        for job_id in tasks:  # left running: whoever starts next resumes it without waiting
            await self._store.release_job(job_id, self.owner)
        self._tasks.clear()

    def _lease_until(self) -> float:
        return self._clock.now().timestamp() + self._lease_seconds

    async def _claim_orphans(self) -> None:
        while (job := await self._store.claim_job(
            self._clock.now().timestamp(), self.owner, self._lease_until()
        )) is not None:
            if int(job.get("attempts") or 0) > self._max_attempts:
                log.warning("training job %s abandoned after %s attempts", job["id"],
                            self._max_attempts)
                job.update(status=JobStatus.FAILED.value, finished_at=self._clock.now(),
                           error=f"abandoned: its replica stopped {self._max_attempts} times")
                with contextlib.suppress(LeaseLost):
                    await self._save_job(job)
                continue
            log.info("training job %s resumed by %s (attempt %s)", job["id"], self.owner,
                     job.get("attempts"))
            job["resumed"] = True
            self._launch(job)

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(self._lease_seconds / 3)
            try:
                await self._claim_orphans()
            except Exception:  # the database may be briefly away; try again next round
                log.exception("claiming orphaned training jobs failed")

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
            "lease_owner": self.owner, "lease_expires_at": self._lease_until(), "attempts": 1,
        })
        self._launch(dict(job))
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

    def _launch(self, job: dict[str, Any]) -> None:
        """Run a job this replica holds the lease of."""
        job_id = job["id"]
        task = asyncio.create_task(self._run(job), name=f"training-job-{job_id}")
        self._tasks[job_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job_id, None))

    async def _run(self, job: dict[str, Any]) -> None:
        runner = asyncio.current_task()
        assert runner is not None
        heartbeat = asyncio.create_task(self._heartbeat(job, runner))
        try:
            await self._train(job)
        except LeaseLost:
            log.warning("training job %s: lease lost to another replica; stopping", job["id"])
        finally:
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)

    async def _heartbeat(self, job: dict[str, Any], runner: asyncio.Task[None]) -> None:
        """Renew the lease while training; if it was lost, stop the run."""
        while True:
            await asyncio.sleep(self._lease_seconds / 3)
            until = self._lease_until()
            try:
                held = await self._store.renew_job(job["id"], self.owner, until)
            except Exception:  # a blip: the lease still has two thirds to go
                log.exception("renewing the lease of training job %s failed", job["id"])
                continue
            if not held:
                log.warning("training job %s: lease lost to another replica", job["id"])
                runner.cancel()
                return
            job["lease_expires_at"] = until  # so whole-job writes keep the renewed lease

    async def _train(self, job: dict[str, Any]) -> None:
        job_id = job["id"]
        try:
            job.update(status=JobStatus.RUNNING.value, started_at=self._clock.now(),
                       progress=0.1)
            await self._save_job(job)
            dataset = await self._store.get(DATASETS, job["dataset_id"])
            if dataset is None:
                raise ValueError("the dataset was deleted")
            examples = [Example(e["text"], e["intent"]) for e in dataset["examples"]]
            train_set, test_set = split_examples(examples)
            # In a thread: a large dataset must not stall the event loop (nor the heartbeat).
            evaluated = await asyncio.to_thread(IntentClassifier.train, train_set)
            accuracy = evaluated.accuracy(test_set) if test_set else evaluated.accuracy(
                train_set)
            job["progress"] = 0.6
            await self._save_job(job)
            final = await asyncio.to_thread(IntentClassifier.train, examples)
            until = self._lease_until()
            if not await self._store.renew_job(job_id, self.owner, until):
                raise LeaseLost(job_id)  # no second model version for a job taken over
            job["lease_expires_at"] = until
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
        except (asyncio.CancelledError, LeaseLost):
            raise  # left running: resumed by whoever claims it next
        except Exception as exc:  # a failed job is stored as failed, never lost
            log.warning("training job %s failed: %s", job_id, exc)
            job.update(status=JobStatus.FAILED.value, error=str(exc),
                       finished_at=self._clock.now())
            await self._save_job(job)

    async def _save_job(self, job: dict[str, Any]) -> None:
        """Stored (only while this replica holds the lease), then announced to ``watch_job``
        subscribers."""
        if not await self._store.replace_job(job, self.owner):
            raise LeaseLost(job["id"])
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
        """The bot's training state and what its conversations add up to (aggregated by the
        store); ``lastActiveAt`` is a datetime for the transport to format."""
        return (await self.analytics_for([await self.get(chatbot_id)]))[0]

    async def analytics_for(self, bots: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``analytics`` of several already-loaded bots, in order, with a fixed number of
        queries (GraphQL's ``Chatbot.analytics`` batches a page of bots through this)."""
        if not bots:
            return []
        ids = list(dict.fromkeys(bot["id"] for bot in bots))
        jobs = await self._store.count_by_chatbot(JOBS, ids)
        versions = await self._store.count_by_chatbot(MODELS, ids)
        activities = await self._store.activities(ids)
        figures = []
        for bot in bots:
            activity = activities.get(bot["id"]) or ChatbotActivity()
            figures.append({
                "chatbotId": bot["id"], "deployedModelVersion": bot.get("deployed_model_version"),
                "trainingJobs": jobs.get(bot["id"], 0),
                "modelVersions": versions.get(bot["id"], 0), **activity.summary(),
                "lastActiveAt": activity.last_active,
            })
        return figures

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
