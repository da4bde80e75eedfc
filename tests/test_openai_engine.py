"""The OpenAI assistant engine against a real local HTTP server speaking the Chat Completions
wire format, driven through the real service over GraphQL.

The fake server is a small Starlette app under uvicorn on a loopback port; it records every
request and answers according to a scripted behaviour: a normal structured answer, HTTP 500,
HTTP 429, malformed content (not JSON, missing fields, out-of-range values, no choices, null
content) or an answer slower than the configured timeout. Whatever goes wrong, the visitor must
get the local engine's answer, with no error and no hint of the failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from leadgraph.adapters.ai.openai_assistant import OpenAIAssistant
from tests.conftest import make_settings, serve
from tests.support import API_KEY, LiveServer, gql, run_uvicorn

MODEL = "gpt-test"
OPENAI_KEY = "sk-test"
TIMEOUT_SECONDS = 1.0
SLOW_SECONDS = 6.0  # the fake's slow answer; the client gives up after TIMEOUT_SECONDS

START = "mutation { startConversation(input: {}) { id } }"
SEND = """mutation($id: ID!, $t: String!) { sendMessage(conversationId: $id, text: $t) {
  reply { role content }
  analysis { intent confidence sentiment purchaseIntent purchaseReasons
             entities { type value } }
  conversation { currentStep purchaseIntent leadId
    collectedInfo { projectType features timeline budgetRange name email phone company } }
  lead { id name email projectType budgetRange }
} }"""

# What the local engine says to this message on a new conversation (seed 000's wording).
NEEDS_APP = "I need a mobile app for my business"
LOCAL_REPLY = ("That sounds interesting! Could you describe the key features or functionalities "
               "you have in mind for your mobile app?")
FAILURE_WORDS = ("error", "openai", "timeout", "timed out", "rate limit", "unavailable", "500",
                 "429", "try again", "model", "sorry")


def model_answer(**overrides: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "reply": "A phone app, lovely! Which features matter most to you?",
        "intent": "provide_info",
        "confidence": 0.93,
        "sentiment": 0.4,
        "purchase_intent": "WARM",
        "purchase_reasons": ["Described a project", "Shared a budget"],
        "entities": [{"type": "project_type", "value": "mobile_app"},
                     {"type": "budget", "value": "$30,000-$40,000"}],
    }
    answer.update(overrides)
    return answer


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeOpenAI:
    """An OpenAI-compatible server with one scripted behaviour at a time."""

    behaviour: str = "normal"
    answer: dict[str, Any] = field(default_factory=model_answer)
    requests: list[Recorded] = field(default_factory=list)
    base_url: str = ""

    def reset(self) -> None:
        self.behaviour = "normal"
        self.answer = model_answer()
        self.requests.clear()

    def completion(self, content: str | None, choices: bool = True) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": MODEL,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }] if choices else [],
            "usage": {"prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160},
        }

    async def chat_completions(self, request: Request) -> Response:
        self.requests.append(Recorded(request.url.path, dict(request.headers),
                                      await request.json()))
        behaviour = self.behaviour
        if behaviour == "http_500":
            return JSONResponse({"error": {"message": "The server had an error",
                                           "type": "server_error", "code": None}}, 500)
        if behaviour == "http_429":
            return JSONResponse({"error": {"message": "Rate limit reached for requests",
                                           "type": "requests", "code": "rate_limit_exceeded"}},
                                429, headers={"retry-after": "0"})
        if behaviour == "slow":
            for _ in range(int(SLOW_SECONDS / 0.05)):  # stop early once the client gave up
                if await request.is_disconnected():
                    break
                await asyncio.sleep(0.05)
            return JSONResponse(self.completion(json.dumps(self.answer)))
        content: str | None
        if behaviour == "not_json":
            content = "Sure! Here is what I think: {reply: 'hello'"
        elif behaviour == "missing_fields":
            content = json.dumps({"reply": "Hi!", "intent": "greet"})
        elif behaviour == "out_of_range":
            content = json.dumps(model_answer(confidence=1.7, purchase_intent="SCORCHING"))
        elif behaviour == "null_content":
            content = None
        elif behaviour == "no_choices":
            return JSONResponse(self.completion(None, choices=False))
        else:
            content = json.dumps(self.answer)
        return JSONResponse(self.completion(content))

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/v1/chat/completions", self.chat_completions, methods=["POST"]),
        ])


@contextlib.asynccontextmanager
async def run_fake(fake: FakeOpenAI) -> AsyncIterator[FakeOpenAI]:
    async with run_uvicorn(fake.app()) as base_url:
        fake.base_url = base_url
        yield fake


@pytest.fixture(scope="module")
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    async with run_fake(FakeOpenAI()) as fake:
        yield fake


@pytest.fixture(scope="module")
async def ai_server(
    fake_openai: FakeOpenAI, mongo_url: str, redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[LiveServer]:
    settings = make_settings(
        mongo_url, redis_url, tmp_path_factory.mktemp("ai"), ai_provider="openai",
        openai_api_key=OPENAI_KEY, openai_base_url=f"{fake_openai.base_url}/v1",
        ai_model=MODEL, openai_timeout_seconds=TIMEOUT_SECONDS,
    )
    async with serve(settings) as server:
        yield server


@pytest.fixture
async def fake(fake_openai: FakeOpenAI) -> FakeOpenAI:
    fake_openai.reset()
    return fake_openai


@pytest.fixture
async def ai_client(ai_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=ai_server.base_url, headers={"X-API-Key": API_KEY},
                                 timeout=30) as http:
        yield http


def engine_of(server: LiveServer) -> OpenAIAssistant:
    assistant = server.runtime.use_cases.conversations._assistant
    assert isinstance(assistant, OpenAIAssistant)
    return assistant


async def start(client: httpx.AsyncClient) -> str:
    body = await gql(client, START)
    assert body["_status"] == 200 and "errors" not in body, body
    conversation_id: str = body["data"]["startConversation"]["id"]
    return conversation_id


async def send(client: httpx.AsyncClient, conversation_id: str, text: str) -> dict[str, Any]:
    body = await gql(client, SEND, {"id": conversation_id, "t": text})
    assert body["_status"] == 200 and "errors" not in body, body
    turn: dict[str, Any] = body["data"]["sendMessage"]
    return turn


def conversation_state(recorded: Recorded) -> dict[str, Any]:
    system = [m["content"] for m in recorded.body["messages"] if m["role"] == "system"]
    states = [s for s in system if s.startswith("Conversation state: ")]
    assert len(states) == 1, system
    state: dict[str, Any] = json.loads(states[0].removeprefix("Conversation state: "))
    return state


async def test_the_model_answers_and_its_analysis_is_used(
    ai_server: LiveServer, ai_client: httpx.AsyncClient, fake: FakeOpenAI
) -> None:
    fallbacks = engine_of(ai_server).fallbacks
    conversation_id = await start(ai_client)
    text = "we're thinking of something for phones, maybe thirty to forty grand"
    turn = await send(ai_client, conversation_id, text)

    assert turn["reply"] == {"role": "ASSISTANT",
                             "content": "A phone app, lovely! Which features matter most to you?"}
    assert turn["analysis"] == {
        "intent": "provide_info", "confidence": 0.93, "sentiment": 0.4, "purchaseIntent": "WARM",
        "purchaseReasons": ["Described a project", "Shared a budget"],
        "entities": [{"type": "project_type", "value": "mobile_app"},
                     {"type": "budget", "value": "$30,000-$40,000"}],
    }
    # The slots come from the model's entities (the local extractors find none in this text).
    conversation = turn["conversation"]
    assert conversation["collectedInfo"] == {
        "projectType": "mobile_app", "features": [], "timeline": None,
        "budgetRange": "$30,000-$40,000", "name": None, "email": None, "phone": None,
        "company": None,
    }
    assert conversation["currentStep"] == "REQUIREMENT_GATHERING"
    assert conversation["purchaseIntent"] == "WARM"
    assert engine_of(ai_server).fallbacks == fallbacks

    # What reached the model: one request, in the Chat Completions format.
    assert len(fake.requests) == 1
    request = fake.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert request.body["model"] == MODEL
    assert request.body["response_format"]["type"] == "json_schema"
    schema = request.body["response_format"]["json_schema"]
    assert schema["name"] == "assistant_turn"
    assert schema["strict"] is True
    assert sorted(schema["schema"]["required"]) == sorted(model_answer())
    assert request.body["messages"][0]["role"] == "system"
    assert request.body["messages"][-1] == {"role": "user", "content": text}
    assert conversation_state(request) == {
        "collected_info": {}, "current_step": "greeting",
        "still_missing": ["project_type", "features", "timeline", "budget_range", "name",
                          "contact"],
    }

    # The next request carries what is now known, and only what is still missing.
    await send(ai_client, conversation_id, "payments and a login")
    assert conversation_state(fake.requests[1]) == {
        "collected_info": {"project_type": "mobile_app", "budget_range": "$30,000-$40,000"},
        "current_step": "requirement_gathering",
        "still_missing": ["features", "timeline", "name", "contact"],
    }


async def test_locally_certain_entities_complement_the_models(
    ai_client: httpx.AsyncClient, fake: FakeOpenAI
) -> None:
    fake.answer = model_answer(
        reply="Thanks Ann, we'll call you.", intent="provide_info",
        entities=[{"type": "person", "value": "Ann Lee"}],
    )
    conversation_id = await start(ai_client)
    turn = await send(ai_client, conversation_id,
                      "I'm Ann Lee, call me on (415) 555-2671 about a website")
    # The model's person, plus the E.164 phone and project type our extractors are sure of.
    assert turn["analysis"]["entities"] == [
        {"type": "person", "value": "Ann Lee"},
        {"type": "phone", "value": "+14155552671"},
        {"type": "project_type", "value": "website"},
    ]
    info = turn["conversation"]["collectedInfo"]
    assert (info["name"], info["phone"], info["projectType"]) == (
        "Ann Lee", "+14155552671", "website")
    assert turn["reply"]["content"] == "Thanks Ann, we'll call you."
    # Contact details plus a project: a lead, captured from the model's turn.
    assert turn["lead"] is not None
    assert turn["lead"]["name"] == "Ann Lee"
    assert turn["lead"]["projectType"] == "WEBSITE"  # the GraphQL enum


async def test_an_intent_outside_the_list_is_recorded_as_other(
    ai_client: httpx.AsyncClient, fake: FakeOpenAI
) -> None:
    fake.answer = model_answer(intent="buy_now_please", entities=[])
    turn = await send(ai_client, await start(ai_client), "hmm")
    assert turn["analysis"]["intent"] == "other"
    assert turn["reply"]["content"] == model_answer()["reply"]


FAILURES = ["http_500", "http_429", "not_json", "missing_fields", "out_of_range",
            "null_content", "no_choices", "slow"]


@pytest.mark.parametrize("behaviour", FAILURES)
async def test_on_failure_the_visitor_gets_the_local_answer(
    ai_server: LiveServer, ai_client: httpx.AsyncClient, fake: FakeOpenAI, behaviour: str
) -> None:
    engine = engine_of(ai_server)
    conversation_id = await start(ai_client)
    fake.behaviour = behaviour
    fallbacks = engine.fallbacks

    turn = await send(ai_client, conversation_id, NEEDS_APP)

    assert turn["reply"] == {"role": "ASSISTANT", "content": LOCAL_REPLY}
    assert not [word for word in FAILURE_WORDS if word in turn["reply"]["content"].lower()]
    analysis = turn["analysis"]
    assert analysis["intent"] == "provide_info"
    assert analysis["entities"] == [{"type": "project_type", "value": "mobile_app"}]
    assert analysis["purchaseIntent"] == "WARM"
    assert turn["conversation"]["collectedInfo"]["projectType"] == "mobile_app"
    assert turn["conversation"]["currentStep"] == "REQUIREMENT_GATHERING"
    # The model was asked exactly once (no retries piling up), and the fallback was counted.
    assert len(fake.requests) == 1
    assert fake.requests[0].body["messages"][-1]["content"] == NEEDS_APP
    assert engine.fallbacks == fallbacks + 1

    # The stored history shows a normal exchange.
    history = await gql(ai_client, """query($id: ID!) { conversation(id: $id) {
        messages { edges { node { role content } } } } }""", {"id": conversation_id})
    nodes = [edge["node"] for edge in
             history["data"]["conversation"]["messages"]["edges"]]
    assert nodes == [{"role": "USER", "content": NEEDS_APP},
                     {"role": "ASSISTANT", "content": LOCAL_REPLY}]


async def test_slots_filled_by_the_model_survive_a_fallback_turn(
    ai_server: LiveServer, ai_client: httpx.AsyncClient, fake: FakeOpenAI
) -> None:
    engine = engine_of(ai_server)
    conversation_id = await start(ai_client)
    await send(ai_client, conversation_id, "something for phones, thirty to forty grand")

    fake.behaviour = "http_500"
    fallbacks = engine.fallbacks
    turn = await send(ai_client, conversation_id, "it needs push notifications")
    assert engine.fallbacks == fallbacks + 1
    # The local engine carries on from the model's slots: it asks neither for the project
    # type nor for the budget, it asks for the timeline.
    assert turn["reply"]["content"] == (
        "Great, I've noted those features. What timeline are you working with? When would you "
        "like to launch?")
    info = turn["conversation"]["collectedInfo"]
    assert info["projectType"] == "mobile_app"
    assert info["budgetRange"] == "$30,000-$40,000"
    assert info["features"] == ["push notifications"]
    assert turn["conversation"]["currentStep"] == "TIMELINE_BUDGET"

    # The model is back: it sees everything, including what the fallback turn learnt.
    fake.behaviour = "normal"
    fake.answer = model_answer(
        reply="Noted! I'll have the team reach out to you.", intent="provide_info",
        purchase_intent="HOT", purchase_reasons=["Gave both budget and timeline"],
        entities=[{"type": "timeline", "value": "6 weeks"},
                  {"type": "email", "value": "ann@example.com"}],
    )
    turn = await send(ai_client, conversation_id, "six weeks or so; ann at example dot com")
    assert conversation_state(fake.requests[-1])["collected_info"] == {
        "project_type": "mobile_app", "features": ["push notifications"],
        "budget_range": "$30,000-$40,000",
    }
    info = turn["conversation"]["collectedInfo"]
    assert (info["projectType"], info["budgetRange"], info["features"], info["timeline"],
            info["email"]) == ("mobile_app", "$30,000-$40,000", ["push notifications"],
                               "6 weeks", "ann@example.com")
    assert turn["conversation"]["purchaseIntent"] == "HOT"
    assert turn["lead"] is not None
    assert (turn["lead"]["email"], turn["lead"]["projectType"], turn["lead"]["budgetRange"]) == (
        "ann@example.com", "MOBILE_APP", "$30,000-$40,000")
