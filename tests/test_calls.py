"""Voice AI calls over seed 002 (create, start, respond with text and audio, end), the lead's
call, timeline and score, errors in each dialect, seed 004's speech endpoints, the realtime
WebSocket, and a restart in the middle of a call."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.conftest import make_settings, serve
from tests.support import API_KEY, LiveServer, gql

LEAD = {
    "first_name": "John", "last_name": "Doe", "email": "john.doe@acme-calls.com",
    "phone": "+1-555-123-4567", "company": "Acme Corp", "title": "VP of Sales",
    "industry": "technology", "source": "website",
}
CREATE_BODY = {
    "phone_number": "+1-555-123-4567", "call_type": "outbound",
    "purpose": "Discovery call to understand needs",
    "voice_settings": {"voice_id": "bella", "speed": 1.0, "language": "en-US"},
}
VOICE_CONFIG = {"provider": "elevenlabs", "voice_id": "bella", "language": "en-US",
                "speed": 1.0, "stability": 0.75}
STATES = {"greeting", "discovery", "qualification", "objection_handling", "closing"}


async def synthesized(server: LiveServer, text: str) -> str:
    """Speech made by the service's own TTS port, base64 (what a phone bridge would send)."""
    audio = await server.runtime.use_cases.voice.tts.synthesize(text)
    return base64.b64encode(audio.audio).decode()


def is_wav_base64(data: str) -> bool:
    raw = base64.b64decode(data)
    return raw[:4] == b"RIFF" and raw[8:12] == b"WAVE" and len(raw) > 1000


async def new_lead(client: httpx.AsyncClient, **changes: Any) -> str:
    response = await client.post("/api/v1/leads", json={**LEAD, **changes})
    assert response.status_code == 201, response.text
    lead_id: str = response.json()["id"]
    return lead_id


async def started_call(client: httpx.AsyncClient, lead_id: str) -> str:
    created = await client.post("/api/v1/voice/calls", json={**CREATE_BODY, "lead_id": lead_id})
    assert created.status_code == 201, created.text
    call_id: str = created.json()["id"]
    started = await client.post(f"/api/v1/voice/calls/{call_id}/start",
                                json={"voice_config": VOICE_CONFIG})
    assert started.status_code == 200, started.text
    return call_id


async def test_a_full_call_over_seed_002(server: LiveServer, client: httpx.AsyncClient) -> None:
    lead_id = await new_lead(client)
    await server.settle()
    before = await gql(client, """query($id: ID!) { lead(id: $id) {
        scoreHistory(limit: 100) { trigger } score { behavioralScore engagementScore } } }""",
                       {"id": lead_id})
    history_before = len(before["data"]["lead"]["scoreHistory"])

    created = await client.post("/api/v1/voice/calls", json={**CREATE_BODY, "lead_id": lead_id})
    assert created.status_code == 201, created.text
    call = created.json()
    assert call["lead_id"] == lead_id
    assert call["phone_number"] == "+15551234567"
    assert call["call_type"] == "outbound"
    assert call["purpose"] == "Discovery call to understand needs"
    assert call["voice_settings"] == {"provider": None, "voice_id": "bella",
                                      "language": "en-US", "speed": 1.0, "stability": None}
    assert call["status"] == "created"
    assert call["conversation_state"] == "greeting"
    call_id = call["id"]

    started = await client.post(f"/api/v1/voice/calls/{call_id}/start",
                                json={"voice_config": VOICE_CONFIG})
    assert started.status_code == 200, started.text
    assert started.json() == {
        "success": True, "call_id": call_id,
        "opening_message": "Hi John, this is Sarah calling from AI Solutions. "
                           "I hope I'm catching you at a good time!",
        "session_info": {"state": "greeting", "context": {
            "lead_name": "John", "company": "Acme Corp", "industry": "technology"}},
    }

    first = await client.post(f"/api/v1/voice/calls/{call_id}/respond",
                              json={"text": "Hi Sarah, yes I have a few minutes to chat"})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["success"] is True
    assert body["ai_response"].startswith("Great! I wanted to reach out because I noticed "
                                          "Acme Corp")
    assert is_wav_base64(body["audio_data"])
    assert set(body["analysis"]) == {"sentiment", "intent", "objections", "interest_signals"}
    assert -1 <= body["analysis"]["sentiment"] <= 1
    assert body["analysis"]["objections"] == []
    assert body["analysis"]["interest_signals"] == ["verbal_interest"]
    assert body["conversation_state"] == "discovery"
    assert body["should_continue"] is True

    second = (await client.post(f"/api/v1/voice/calls/{call_id}/respond", json={
        "text": "We struggle to follow up with leads quickly and our team is small"})).json()
    assert second["conversation_state"] == "qualification"
    assert second["should_continue"] is True

    # An audio turn: speech from the TTS port, recognised by the STT port.
    spoken = await client.post(f"/api/v1/voice/calls/{call_id}/respond", json={
        "audio_data": await synthesized(server, "The price is too expensive for us")})
    assert spoken.status_code == 200, spoken.text
    third = spoken.json()
    assert third["transcript"].strip() != ""
    assert third["conversation_state"] in STATES
    assert is_wav_base64(third["audio_data"])
    assert isinstance(third["analysis"]["intent"], str)

    fourth = (await client.post(f"/api/v1/voice/calls/{call_id}/respond", json={
        "text": "That sounds great, I would love to see a demo next week"})).json()
    assert fourth["conversation_state"] == "closing"
    assert fourth["should_continue"] is True
    assert {"demo_interest", "timeline_interest"} <= set(fourth["analysis"]["interest_signals"])
    assert "demo" in fourth["ai_response"]

    ended = await client.post(f"/api/v1/voice/calls/{call_id}/end", json={"reason": "completed"})
    assert ended.status_code == 200, ended.text
    result = ended.json()
    assert result["success"] is True and result["call_id"] == call_id
    summary, analytics = result["summary"], result["analytics"]
    assert set(summary) == {"duration_minutes", "total_exchanges", "conversation_state",
                            "objections_raised", "interest_signals", "overall_sentiment",
                            "recommendation"}
    assert 0 <= summary["duration_minutes"] < 5
    assert summary["total_exchanges"] == 4
    assert summary["conversation_state"] == "closing"
    assert summary["interest_signals"][:1] == ["verbal_interest"]
    assert {"demo_interest", "timeline_interest"} <= set(summary["interest_signals"])
    assert -1 <= summary["overall_sentiment"] <= 1
    assert re.fullmatch(r"(High|Medium|Low) priority - .+", summary["recommendation"])
    assert set(analytics) == {"conversion_probability", "engagement_score", "total_turns",
                              "avg_sentiment"}
    assert analytics["total_turns"] == 9  # the opening, then four customer turns and replies
    assert 0 < analytics["conversion_probability"] < 1
    assert 0 < analytics["engagement_score"] <= 1
    assert analytics["avg_sentiment"] == summary["overall_sentiment"]

    # No turn after the end: 409 in seed 002's envelope.
    late = await client.post(f"/api/v1/voice/calls/{call_id}/respond", json={"text": "Hello?"})
    assert late.status_code == 409
    assert late.json()["error"] == "Conflict" and late.json()["status_code"] == 409
    assert "ended" in late.json()["details"]["message"]
    again = await client.post(f"/api/v1/voice/calls/{call_id}/end", json={})
    assert again.status_code == 409

    stored = (await client.get(f"/api/v1/voice/calls/{call_id}")).json()
    assert stored["status"] == "ended" and stored["end_reason"] == "completed"
    assert [t["seq"] for t in stored["turns"]] == list(range(1, 10))
    assert [t["speaker"] for t in stored["turns"]] == ["ai"] + ["customer", "ai"] * 4
    assert stored["turns"][5]["audio"]["mime_type"] == "audio/wav"  # the customer's audio

    # The lead shows the call, a call_completed activity and a refreshed score.
    await server.settle()
    after = await gql(client, """query($id: ID!) { lead(id: $id) {
        calls { id status conversationState turnCount summary { totalExchanges } }
        activities { edges { node { activityType metadata } } }
        scoreHistory(limit: 100) { trigger }
        score { behavioralScore engagementScore factors { positiveFactors } } } }""",
                    {"id": lead_id})
    lead = after["data"]["lead"]
    assert lead["calls"] == [{"id": call_id, "status": "ENDED", "conversationState": "CLOSING",
                              "turnCount": 9, "summary": {"totalExchanges": 4}}]
    completed = [e["node"] for e in lead["activities"]["edges"]
                 if e["node"]["activityType"] == "call_completed"]
    assert len(completed) == 1 and completed[0]["metadata"]["call_id"] == call_id
    assert len(lead["scoreHistory"]) > history_before
    assert lead["scoreHistory"][0]["trigger"] == "activity:call_completed"
    assert "Took 1 call(s)" in lead["score"]["factors"]["positiveFactors"]
    assert lead["score"]["behavioralScore"] > before["data"]["lead"]["score"]["behavioralScore"]
    assert lead["score"]["engagementScore"] > before["data"]["lead"]["score"]["engagementScore"]


async def test_call_errors_in_each_dialect(server: LiveServer, client: httpx.AsyncClient) -> None:
    unknown = await client.post("/api/v1/voice/calls/0123456789abcdef01234567/respond",
                                json={"text": "hi"})
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "Not found"
    no_lead = await client.post("/api/v1/voice/calls", json={**CREATE_BODY, "lead_id": "nope"})
    assert no_lead.status_code == 422
    assert no_lead.json()["details"]["field"] == "lead_id"
    lead_id = await new_lead(client)
    bad_settings = await client.post("/api/v1/voice/calls", json={
        "lead_id": lead_id, "call_type": "sideways", "voice_settings": {"speed": 9}})
    assert bad_settings.status_code == 422
    fields = {e["field"] for e in bad_settings.json()["details"]["errors"]}
    assert fields == {"call_type", "voice_settings.speed"}

    created = (await client.post("/api/v1/voice/calls", json={"lead_id": lead_id})).json()
    not_started = await client.post(f"/api/v1/voice/calls/{created['id']}/respond",
                                    json={"text": "hi"})
    assert not_started.status_code == 409
    call_id = await started_call(client, await new_lead(client, email="b@acme-calls.com",
                                                        phone="+1-555-123-9999"))
    twice = await client.post(f"/api/v1/voice/calls/{call_id}/start", json={})
    assert twice.status_code == 409

    bad_base64 = await client.post(f"/api/v1/voice/calls/{call_id}/respond",
                                   json={"audio_data": "%%% not base64 %%%"})
    assert bad_base64.status_code == 422
    assert bad_base64.json()["details"] == {"field": "audio_data",
                                            "message": "is not valid base64"}
    not_audio = await client.post(f"/api/v1/voice/calls/{call_id}/respond", json={
        "audio_data": base64.b64encode(b"this is plainly not audio at all").decode()})
    assert not_audio.status_code == 422
    assert not_audio.json()["details"]["field"] == "audio_data"
    empty = await client.post(f"/api/v1/voice/calls/{call_id}/respond", json={})
    assert empty.status_code == 422 and empty.json()["details"]["field"] == "text"
    # Bad input left the call usable, and no turn was stored for it.
    ok = await client.post(f"/api/v1/voice/calls/{call_id}/respond", json={"text": "Sure"})
    assert ok.status_code == 200
    stored = (await client.get(f"/api/v1/voice/calls/{call_id}")).json()
    assert stored["total_turns"] == 3

    # GraphQL: the same rules as error codes.
    gone = await gql(client, 'mutation { respondToCall(id: "0123456789abcdef01234567", '
                             'text: "hi") { text } }')
    assert gone["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    garbled = await gql(client, 'mutation($id: ID!) { respondToCall(id: $id, audioBase64: "@@") '
                                '{ text } }', {"id": call_id})
    assert garbled["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "fields": [{"field": "audioBase64", "message": "is not valid base64"}]}
    await client.post(f"/api/v1/voice/calls/{call_id}/end", json={"reason": "no_answer"})
    closed = await gql(client, 'mutation($id: ID!) { respondToCall(id: $id, text: "hi") '
                               '{ text } }', {"id": call_id})
    assert closed["errors"][0]["extensions"]["code"] == "CONFLICT"
    failed = await gql(client, 'query($id: ID!) { call(id: $id) { status endReason } }',
                       {"id": call_id})
    assert failed["data"]["call"] == {"status": "FAILED", "endReason": "no_answer"}
    assert (await gql(client, '{ call(id: "0123456789abcdef01234567") { id } }'))["data"] == {
        "call": None}


async def test_seed_004_speech_endpoints(server: LiveServer, client: httpx.AsyncClient) -> None:
    tts = await client.post("/api/voice/tts", json={"text": "Thank you for calling",
                                                    "speed": 1.1})
    assert tts.status_code == 200, tts.text
    data = tts.json()["data"]
    assert tts.json()["status"] == "success"
    assert set(data) == {"audio", "mimeType", "durationSeconds", "sampleRate", "provider",
                         "voiceId"}
    assert data["mimeType"] == "audio/wav" and data["provider"] == "espeak-ng"
    assert 0.3 < data["durationSeconds"] < 5 and is_wav_base64(data["audio"])

    stt = await client.post("/api/voice/stt", json={"audio": data["audio"]})
    assert stt.status_code == 200, stt.text
    text = stt.json()["data"]
    assert set(text) == {"text", "confidence", "durationSeconds", "provider", "language"}
    assert "thank" in text["text"] and text["provider"] == "pocketsphinx"
    assert text["durationSeconds"] == pytest.approx(data["durationSeconds"], abs=0.05)

    upload = await client.post("/api/voice/stt", files={
        "file": ("speech.wav", base64.b64decode(data["audio"]), "audio/wav")})
    assert upload.status_code == 200, upload.text
    assert "thank" in upload.json()["data"]["text"]

    voices = (await client.get("/api/voice/voices")).json()["data"]
    assert voices["total"] == len(voices["items"]) > 10
    assert {"id", "name", "language", "gender", "provider"} == set(voices["items"][0])
    assert any(v["language"].startswith("en") for v in voices["items"])

    bad = await client.post("/api/voice/stt", json={"audio": "!!!"})
    assert bad.status_code == 400
    assert bad.json() == {"status": "error", "error": {
        "code": 400, "message": "Validation error: audio: is not valid base64",
        "details": [{"field": "audio", "message": "is not valid base64"}]}}
    junk = await client.post("/api/voice/stt", files={"file": ("x.wav", b"garbage!", "audio/wav")})
    assert junk.status_code == 400 and junk.json()["error"]["details"][0]["field"] == "file"
    provider = await client.post("/api/voice/tts", json={"text": "hi", "provider": "acme"})
    assert provider.status_code == 400
    assert provider.json()["error"]["details"][0]["field"] == "provider"
    empty = await client.post("/api/voice/tts", json={"text": "  "})
    assert empty.status_code == 400 and empty.json()["error"]["details"][0]["field"] == "text"

    graph = await gql(client, """mutation { synthesizeSpeech(text: "Hello there") {
        mimeType provider durationSeconds audioBase64 } }""")
    audio = graph["data"]["synthesizeSpeech"]
    assert audio["mimeType"] == "audio/wav" and is_wav_base64(audio["audioBase64"])
    heard = await gql(client, """mutation($a: String!) { transcribeAudio(audioBase64: $a) {
        text provider } }""", {"a": audio["audioBase64"]})
    assert heard["data"]["transcribeAudio"]["provider"] == "pocketsphinx"
    assert "hello" in heard["data"]["transcribeAudio"]["text"]
    listed = await gql(client, "{ voices { id provider } }")
    assert len(listed["data"]["voices"]) == voices["total"]


async def test_realtime_call_socket(server: LiveServer, client: httpx.AsyncClient) -> None:
    call_id = await started_call(client, await new_lead(client))
    url = f"{server.ws_url}/api/v1/voice/calls/{call_id}/realtime?token={API_KEY}"
    async with websockets.connect(url) as socket:
        await socket.send(json.dumps({"type": "text_input",
                                      "text": "Hi Sarah, yes I have a few minutes"}))
        reply = json.loads(await socket.recv())
        assert reply["type"] == "ai_response"
        assert reply["conversation_state"] == "discovery" and reply["should_continue"] is True
        assert reply["text"].startswith("Great!") and is_wav_base64(reply["audio"])
        assert reply["analysis"]["interest_signals"] == ["verbal_interest"]

        await socket.send("not json")
        assert json.loads(await socket.recv())["type"] == "error"
        await socket.send(json.dumps({"type": "dance"}))
        assert json.loads(await socket.recv())["status_code"] == 400
        await socket.send(json.dumps({"type": "audio_chunk", "data": "###"}))
        bad = json.loads(await socket.recv())
        assert bad == {"type": "error", "status_code": 422,
                       "error": "Validation error: data: is not valid base64",
                       "details": [{"field": "data", "message": "is not valid base64"}]}

        await socket.send(json.dumps({"type": "audio_chunk", "data": await synthesized(
            server, "We need a better way to follow up with our leads")}))
        heard = json.loads(await socket.recv())
        assert heard["type"] == "ai_response" and heard["transcript"] != ""
        assert heard["turn_seq"] == 5

    async with websockets.connect(
        f"{server.ws_url}/api/v1/voice/calls/{call_id}/realtime",
        additional_headers={"Authorization": f"Bearer {API_KEY}"},
    ) as socket:
        await socket.send(json.dumps({"type": "text_input", "text": "Tell me more"}))
        assert json.loads(await socket.recv())["turn_seq"] == 7

    async with websockets.connect(
        f"{server.ws_url}/api/v1/voice/calls/{call_id}/realtime?token=wrong"
    ) as socket:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await socket.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    async with websockets.connect(
        f"{server.ws_url}/api/v1/voice/calls/0123456789abcdef01234567/realtime?token={API_KEY}"
    ) as socket:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await socket.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404


async def test_a_restart_mid_call_loses_no_turn(
    server: LiveServer, mongo_url: str, redis_url: str, tmp_path: Path
) -> None:
    settings = make_settings(mongo_url, redis_url, tmp_path, mongodb_db_name=server.db_name)
    headers = {"X-API-Key": API_KEY}
    async with serve(settings) as first, httpx.AsyncClient(
        base_url=first.base_url, headers=headers, timeout=60
    ) as http:
        call_id = await started_call(http, await new_lead(http))
        for text in ("Hi Sarah, yes I have a few minutes",
                     "We struggle to follow up with leads quickly"):
            response = await http.post(f"/api/v1/voice/calls/{call_id}/respond",
                                       json={"text": text})
            assert response.status_code == 200
    async with serve(settings) as second, httpx.AsyncClient(
        base_url=second.base_url, headers=headers, timeout=60
    ) as http:
        stored = (await http.get(f"/api/v1/voice/calls/{call_id}")).json()
        assert stored["status"] == "in_progress"
        assert stored["conversation_state"] == "qualification"
        assert [t["seq"] for t in stored["turns"]] == [1, 2, 3, 4, 5]
        assert stored["turns"][3]["text"] == "We struggle to follow up with leads quickly"
        going_on = await http.post(f"/api/v1/voice/calls/{call_id}/respond", json={
            "text": "I would love to see a demo next week"})
        assert going_on.json()["conversation_state"] == "closing"
        ended = (await http.post(f"/api/v1/voice/calls/{call_id}/end", json={})).json()
        assert ended["summary"]["total_exchanges"] == 3
        assert ended["analytics"]["total_turns"] == 7
        await second.settle()
