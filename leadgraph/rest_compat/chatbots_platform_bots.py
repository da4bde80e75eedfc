"""Seed 004's chatbots, training datasets and training jobs, in that dialect
(``leadgraph.rest_compat.chatbots_platform``).

``GET|POST /api/chatbots``, ``GET|PUT|PATCH|DELETE /api/chatbots/{id}``,
``POST /api/chatbots/{id}/train`` (``{datasetId?}`` -> 202 with the job),
``POST /api/chatbots/{id}/deploy`` (``{modelVersionId?}``, default the newest),
``GET /api/chatbots/{id}/analytics``; ``GET|POST /api/training/datasets`` (``{name,
description?, examples: [{text, intent}]}`` or ``{name, format: json|csv, content}``),
``GET|PUT|DELETE /api/training/datasets/{id}``; ``GET|POST /api/training/jobs``
(``{chatbotId, datasetId?}``), ``GET /api/training/jobs/{id}``; ``GET|POST /api/templates``,
``GET|PUT|DELETE /api/templates/{id}`` (``{name, content, type: prompt|response,
variables?}``; placeholders ``{{name}}`` must match ``variables``).
Addition (not in the document): ``POST /api/conversations`` ``{chatbotId?}`` starts
a conversation answered by that bot's deployed model.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from leadgraph.domain.chatbots import import_examples, parse_examples
from leadgraph.domain.errors import ServiceUnavailable, ValidationFailed
from leadgraph.resolvers.chatbots import ChatbotUseCases
from leadgraph.resolvers.mfa import MfaUseCases
from leadgraph.rest_compat._http import Call, endpoint, iso_z
from leadgraph.rest_compat.chatbots_platform import (
    DIALECT,
    conversation_shape,
    page_request,
    paginated,
    success,
)


def _bots(call: Call) -> ChatbotUseCases:
    call.actor()
    if call.use_cases.chatbots is None:
        raise ServiceUnavailable("Chatbots are not available")
    return call.use_cases.chatbots


def chatbot_shape(bot: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": bot["id"], "name": bot["name"], "description": bot.get("description"),
        "type": bot["type"], "settings": bot.get("settings") or {},
        "templateId": bot.get("template_id"), "datasetId": bot.get("dataset_id"),
        "deployedModelVersion": bot.get("deployed_model_version"),
        "deployedAt": iso_z(bot.get("deployed_at")),
        "createdAt": iso_z(bot["created_at"]), "updatedAt": iso_z(bot["updated_at"]),
    }


def dataset_shape(dataset: dict[str, Any], *, examples: bool = True) -> dict[str, Any]:
    items = dataset.get("examples") or []
    shape = {
        "id": dataset["id"], "name": dataset["name"], "description": dataset.get("description"),
        "exampleCount": len(items), "intents": sorted({e["intent"] for e in items}),
        "createdAt": iso_z(dataset["created_at"]), "updatedAt": iso_z(dataset["updated_at"]),
    }
    if examples:
        shape["examples"] = items
    return shape


def job_shape(job: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": job["id"], "chatbotId": job["chatbot_id"], "datasetId": job["dataset_id"],
        "status": job["status"], "progress": job["progress"], "metrics": job.get("metrics"),
        "modelVersionId": job.get("model_version_id"), "error": job.get("error"),
        "createdAt": iso_z(job["created_at"]), "startedAt": iso_z(job.get("started_at")),
        "finishedAt": iso_z(job.get("finished_at")),
    }


def _optional_id(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise ValidationFailed.single(name, "must be a string")
    return value or None


async def list_chatbots(call: Call) -> Response:
    bots = _bots(call)
    page, size, request = page_request(call)
    items, total = await bots.search(request.offset, request.limit)
    return paginated(call, [chatbot_shape(b) for b in items], total, page, size)


async def create_chatbot(call: Call) -> Response:
    bots = _bots(call)
    return success(chatbot_shape(await bots.create(await call.json_object())), 201)


async def get_chatbot(call: Call) -> Response:
    return success(chatbot_shape(await _bots(call).get(call.path_params["id"])))


async def update_chatbot(call: Call) -> Response:
    bots = _bots(call)
    body = await call.json_object()
    return success(chatbot_shape(await bots.update(call.path_params["id"], body)))


async def delete_chatbot(call: Call) -> Response:
    bot = await _bots(call).delete(call.path_params["id"])
    return success({"id": bot["id"], "deleted": True})


async def train_chatbot(call: Call) -> Response:
    bots = _bots(call)
    raw = await call.request.body()
    body = await call.json_object() if raw.strip() else {}
    job = await bots.train(call.path_params["id"], _optional_id(body, "datasetId"))
    return success(job_shape(job), 202)


async def deploy_chatbot(call: Call) -> Response:
    bots = _bots(call)
    raw = await call.request.body()
    body = await call.json_object() if raw.strip() else {}
    bot = await bots.deploy(call.path_params["id"], _optional_id(body, "modelVersionId"))
    return success(chatbot_shape(bot))


async def chatbot_analytics(call: Call) -> Response:
    bots = _bots(call)
    figures = await bots.analytics(call.path_params["id"])
    return success({**figures, "lastActiveAt": iso_z(figures["lastActiveAt"])})


def template_shape(template: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": template["id"], "name": template["name"], "type": template["type"],
        "description": template.get("description"), "content": template["content"],
        "variables": template["variables"], "createdAt": iso_z(template["created_at"]),
        "updatedAt": iso_z(template["updated_at"]),
    }


async def list_templates(call: Call) -> Response:
    bots = _bots(call)
    page, size, request = page_request(call)
    items, total = await bots.templates(request.offset, request.limit)
    return paginated(call, [template_shape(t) for t in items], total, page, size)


async def create_template(call: Call) -> Response:
    bots = _bots(call)
    return success(template_shape(await bots.create_template(await call.json_object())), 201)


async def get_template(call: Call) -> Response:
    return success(template_shape(await _bots(call).get_template(call.path_params["id"])))


async def update_template(call: Call) -> Response:
    bots = _bots(call)
    body = await call.json_object()
    return success(template_shape(await bots.update_template(call.path_params["id"], body)))


async def delete_template(call: Call) -> Response:
    template = await _bots(call).delete_template(call.path_params["id"])
    return success({"id": template["id"], "deleted": True})


async def _examples_from(body: dict[str, Any]) -> Any:
    if "content" in body or "format" in body:
        content, data_format = body.get("content"), body.get("format", "json")
        if not isinstance(content, str):
            raise ValidationFailed.single("content", "must be a string (the JSON or CSV file)")
        if not isinstance(data_format, str):
            raise ValidationFailed.single("format", "must be json or csv")
        return import_examples(content, data_format.lower())
    return parse_examples(body.get("examples", []))


async def list_datasets(call: Call) -> Response:
    bots = _bots(call)
    page, size, request = page_request(call)
    items, total = await bots.datasets(request.offset, request.limit)
    return paginated(call, [dataset_shape(d, examples=False) for d in items], total, page, size)


async def create_dataset(call: Call) -> Response:
    bots = _bots(call)
    body = await call.json_object()
    examples = await _examples_from(body)
    dataset = await bots.create_dataset(body.get("name"), examples, body.get("description"))
    return success(dataset_shape(dataset), 201)


async def get_dataset(call: Call) -> Response:
    return success(dataset_shape(await _bots(call).get_dataset(call.path_params["id"])))


async def update_dataset(call: Call) -> Response:
    bots = _bots(call)
    body = await call.json_object()
    if "content" in body or "format" in body:
        body = {**body, "examples": [
            {"text": e.text, "intent": e.intent} for e in await _examples_from(body)
        ]}
    return success(dataset_shape(await bots.update_dataset(call.path_params["id"], body)))


async def delete_dataset(call: Call) -> Response:
    dataset = await _bots(call).delete_dataset(call.path_params["id"])
    return success({"id": dataset["id"], "deleted": True})


async def list_jobs(call: Call) -> Response:
    bots = _bots(call)
    page, size, request = page_request(call)
    items, total = await bots.jobs(call.query_str("chatbotId"), request.offset, request.limit)
    return paginated(call, [job_shape(j) for j in items], total, page, size)


async def create_job(call: Call) -> Response:
    bots = _bots(call)
    body = await call.json_object()
    chatbot_id = _optional_id(body, "chatbotId")
    if chatbot_id is None:
        raise ValidationFailed.single("chatbotId", "is required")
    return success(job_shape(await bots.train(chatbot_id, _optional_id(body, "datasetId"))),
                   202)


async def get_job(call: Call) -> Response:
    return success(job_shape(await _bots(call).job(call.path_params["id"])))


async def start_conversation(call: Call) -> Response:
    """Addition: start a conversation, optionally with a chatbot (its deployed model answers)."""
    bots = _bots(call)
    raw = await call.request.body()
    body = await call.json_object() if raw.strip() else {}
    chatbot_id = _optional_id(body, "chatbotId")
    if chatbot_id is not None:
        chatbot_id = (await bots.get(chatbot_id))["id"]
    conversation = await call.use_cases.conversations.start(
        call.actor(), chatbot_id=chatbot_id
    )
    return success(conversation_shape(conversation), 201)


def _mfa(call: Call) -> MfaUseCases:
    call.actor()
    if call.use_cases.mfa is None:
        raise ServiceUnavailable("MFA is not available")
    return call.use_cases.mfa


async def mfa_setup(call: Call) -> Response:
    setup = await _mfa(call).setup(call.actor())
    return success({"secret": setup.secret, "otpauthUri": setup.uri, "enabled": False})


async def mfa_verify(call: Call) -> Response:
    mfa = _mfa(call)
    body = await call.json_object()
    if body.get("code") in (None, ""):
        raise ValidationFailed.single("code", "is required")
    await mfa.verify(call.actor(), body.get("code"))
    return success({"enabled": True})


def routes() -> list[BaseRoute]:
    e = endpoint
    return [
        Route("/api/conversations", e(DIALECT, start_conversation), methods=["POST"]),
        Route("/api/auth/mfa/setup", e(DIALECT, mfa_setup), methods=["POST"]),
        Route("/api/auth/mfa/verify", e(DIALECT, mfa_verify), methods=["POST"]),
        Route("/api/chatbots", e(DIALECT, list_chatbots), methods=["GET"]),
        Route("/api/chatbots", e(DIALECT, create_chatbot), methods=["POST"]),
        Route("/api/chatbots/{id}", e(DIALECT, get_chatbot), methods=["GET"]),
        Route("/api/chatbots/{id}", e(DIALECT, update_chatbot), methods=["PUT", "PATCH"]),
        Route("/api/chatbots/{id}", e(DIALECT, delete_chatbot), methods=["DELETE"]),
        Route("/api/chatbots/{id}/train", e(DIALECT, train_chatbot), methods=["POST"]),
        Route("/api/chatbots/{id}/deploy", e(DIALECT, deploy_chatbot), methods=["POST"]),
        Route("/api/chatbots/{id}/analytics", e(DIALECT, chatbot_analytics), methods=["GET"]),
        Route("/api/training/datasets", e(DIALECT, list_datasets), methods=["GET"]),
        Route("/api/training/datasets", e(DIALECT, create_dataset), methods=["POST"]),
        Route("/api/training/datasets/{id}", e(DIALECT, get_dataset), methods=["GET"]),
        Route("/api/training/datasets/{id}", e(DIALECT, update_dataset),
              methods=["PUT", "PATCH"]),
        Route("/api/training/datasets/{id}", e(DIALECT, delete_dataset), methods=["DELETE"]),
        Route("/api/training/jobs", e(DIALECT, list_jobs), methods=["GET"]),
        Route("/api/training/jobs", e(DIALECT, create_job), methods=["POST"]),
        Route("/api/training/jobs/{id}", e(DIALECT, get_job), methods=["GET"]),
        Route("/api/templates", e(DIALECT, list_templates), methods=["GET"]),
        Route("/api/templates", e(DIALECT, create_template), methods=["POST"]),
        Route("/api/templates/{id}", e(DIALECT, get_template), methods=["GET"]),
        Route("/api/templates/{id}", e(DIALECT, update_template), methods=["PUT", "PATCH"]),
        Route("/api/templates/{id}", e(DIALECT, delete_template), methods=["DELETE"]),
    ]
