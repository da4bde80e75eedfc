"""A call over GraphQL: callTranscript sees every turn in order (partial events before the final
one for an audio turn), replays with afterSeq, completes when the call ends; callEvents."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from tests.support import API_KEY, GraphQLSocket, LiveServer, gql, wait_for_subscribers

TRANSCRIPT = """subscription($id: ID!, $after: Int) {
  callTranscript(callId: $id, afterSeq: $after) { seq turnId speaker text isFinal }
}"""
EVENTS = "subscription { callEvents { type call { id status } turn { seq speaker } } }"


async def collect(socket: GraphQLSocket, operation_id: str) -> list[dict[str, Any]]:
    """Every event of a subscription until the server completes it."""
    events = []
    while True:
        message = await socket.receive(timeout=30)
        if message.get("id") != operation_id:
            continue
        if message["type"] == "complete":
            return events
        assert message["type"] == "next", message
        events.append(message["payload"]["data"]["callTranscript"])


async def test_transcript_subscriber_sees_every_turn_and_replays(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    lead = await gql(client, """mutation { createLead(input: {firstName: "Ada",
        lastName: "Lovelace", email: "ada@engines.io", company: "Engines Ltd"}) { id } }""")
    lead_id = lead["data"]["createLead"]["id"]
    created = await gql(client, """mutation($lead: ID!) { createCall(input: {leadId: $lead,
        purpose: "Discovery", voiceSettings: {language: "en-US", speed: 1.0}}) {
        id status conversationState callType voiceSettings { language speed } } }""",
                        {"lead": lead_id})
    call = created["data"]["createCall"]
    assert call["status"] == "CREATED" and call["callType"] == "OUTBOUND"
    call_id = call["id"]

    socket = await GraphQLSocket.open(f"{server.ws_url}/graphql", {"apiKey": API_KEY})
    await socket.subscribe("t", TRANSCRIPT, {"id": call_id})
    await socket.subscribe("e", EVENTS)
    await wait_for_subscribers(server, f"call:{call_id}")
    await wait_for_subscribers(server, "calls")

    opening = await gql(client, """mutation($id: ID!) { startCall(id: $id,
        voiceConfig: {speed: 1.1}) { seq speaker text conversationState audioBase64
        audio { mimeType } } }""", {"id": call_id})
    turn = opening["data"]["startCall"]
    assert turn["seq"] == 1 and turn["speaker"] == "AI"
    assert turn["text"].startswith("Hi Ada, this is Sarah")
    assert turn["conversationState"] == "GREETING" and turn["audio"]["mimeType"] == "audio/wav"
    assert base64.b64decode(turn["audioBase64"])[:4] == b"RIFF"

    answered = await gql(client, """mutation($id: ID!) { respondToCall(id: $id,
        text: "Hi Sarah, yes I have a few minutes") { seq speaker conversationState
        shouldContinue inReplyTo { seq speaker analysis { interestSignals objections } } } }""",
                         {"id": call_id})
    reply = answered["data"]["respondToCall"]
    assert reply["seq"] == 3 and reply["speaker"] == "AI"
    assert reply["conversationState"] == "DISCOVERY" and reply["shouldContinue"] is True
    assert reply["inReplyTo"] == {"seq": 2, "speaker": "CUSTOMER", "analysis": {
        "interestSignals": ["verbal_interest"], "objections": []}}

    speech = await gql(client, """mutation { synthesizeSpeech(text:
        "We need a better way to follow up with our leads") { audioBase64 } }""")
    audio = speech["data"]["synthesizeSpeech"]["audioBase64"]
    heard = await gql(client, """mutation($id: ID!, $a: String!) {
        respondToCall(id: $id, audioBase64: $a) { seq inReplyTo { seq text } } }""",
                      {"id": call_id, "a": audio})
    assert heard["data"]["respondToCall"]["seq"] == 5
    spoken_text = heard["data"]["respondToCall"]["inReplyTo"]["text"]
    assert spoken_text != ""

    bye = await gql(client, """mutation($id: ID!) { respondToCall(id: $id,
        text: "Sorry, I am not interested, goodbye") { seq shouldContinue conversationState } }""",
                    {"id": call_id})
    assert bye["data"]["respondToCall"] == {"seq": 7, "shouldContinue": False,
                                            "conversationState": "CLOSING"}
    summary = await gql(client, """mutation($id: ID!) { endCall(id: $id, reason: "completed") {
        callId totalExchanges conversationState objectionsRaised recommendation
        analytics { totalTurns } } }""", {"id": call_id})
    ended = summary["data"]["endCall"]
    assert ended["callId"] == call_id and ended["totalExchanges"] == 3
    assert ended["conversationState"] == "CLOSING" and ended["objectionsRaised"] == ["need"]
    assert ended["analytics"] == {"totalTurns": 7}

    events = await collect(socket, "t")
    finals = [e for e in events if e["isFinal"]]
    assert [e["seq"] for e in finals] == [1, 2, 3, 4, 5, 6, 7]
    assert [e["speaker"] for e in finals] == ["AI", "CUSTOMER", "AI", "CUSTOMER", "AI",
                                              "CUSTOMER", "AI"]
    assert all(e["turnId"] for e in finals)
    assert finals[3]["text"] == spoken_text
    partials = [e for e in events if not e["isFinal"]]
    assert partials, "recognising the audio turn gave partial events"
    assert {e["seq"] for e in partials} == {4}
    assert all(e["turnId"] is None and e["speaker"] == "CUSTOMER" for e in partials)
    last_partial = max(i for i, e in enumerate(events) if not e["isFinal"])
    first_partial = min(i for i, e in enumerate(events) if not e["isFinal"])
    assert events[first_partial - 1]["seq"] == 3  # after the previous turn …
    assert events[last_partial + 1] == finals[3]  # … and before the audio turn's final

    call_events = [m["payload"]["data"]["callEvents"] for m in socket.received
                   if m.get("id") == "e" and m["type"] == "next"]
    while len(call_events) < 5:
        data = await socket.next_data("e", timeout=30)
        call_events.append(data["data"]["callEvents"])
    assert [e["type"] for e in call_events] == ["STARTED", "TURN", "TURN", "TURN", "COMPLETED"]
    assert [e["turn"]["seq"] if e["turn"] else None for e in call_events] == [
        None, 2, 4, 6, None]
    assert call_events[-1]["call"] == {"id": call_id, "status": "ENDED"}
    await socket.close()

    # Reconnecting with afterSeq replays what came after it, then completes (call ended).
    again = await GraphQLSocket.open(f"{server.ws_url}/graphql", {"apiKey": API_KEY})
    await again.subscribe("r", TRANSCRIPT, {"id": call_id, "after": 4})
    replayed = await collect(again, "r")
    assert replayed == finals[4:]
    await again.close()

    stored = await gql(client, """query($id: ID!) { call(id: $id) { status turnCount
        turns(afterSeq: 5) { seq speaker } lead { id } } }""", {"id": call_id})
    assert stored["data"]["call"] == {"status": "ENDED", "turnCount": 7, "turns": [
        {"seq": 6, "speaker": "CUSTOMER"}, {"seq": 7, "speaker": "AI"}], "lead": {"id": lead_id}}
    listed = await gql(client, """query($lead: ID!) { calls(filter: {leadId: $lead}) {
        totalCount edges { node { id } } } }""", {"lead": lead_id})
    assert listed["data"]["calls"] == {"totalCount": 1, "edges": [{"node": {"id": call_id}}]}


async def test_replay_during_a_live_call_then_live_turns(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    lead = await gql(client, """mutation { createLead(input: {firstName: "Bo",
        email: "bo@example.io"}) { id } }""")
    call = await gql(client, "mutation($lead: ID!) { createCall(input: {leadId: $lead}) { id } }",
                     {"lead": lead["data"]["createLead"]["id"]})
    call_id = call["data"]["createCall"]["id"]
    await gql(client, 'mutation($id: ID!) { startCall(id: $id) { seq } }', {"id": call_id})
    await gql(client, 'mutation($id: ID!) { respondToCall(id: $id, text: "Yes, go ahead") '
                      '{ seq } }', {"id": call_id})

    socket = await GraphQLSocket.open(f"{server.ws_url}/graphql", {"apiKey": API_KEY})
    await socket.subscribe("r", TRANSCRIPT, {"id": call_id, "after": 1})
    replayed = [(await socket.next_data("r"))["data"]["callTranscript"] for _ in range(2)]
    assert [(e["seq"], e["speaker"]) for e in replayed] == [(2, "CUSTOMER"), (3, "AI")]
    await wait_for_subscribers(server, f"call:{call_id}")
    await gql(client, 'mutation($id: ID!) { respondToCall(id: $id, text: "Tell me more") '
                      '{ seq } }', {"id": call_id})
    live = [(await socket.next_data("r"))["data"]["callTranscript"] for _ in range(2)]
    assert [(e["seq"], e["speaker"], e["isFinal"]) for e in live] == [
        (4, "CUSTOMER", True), (5, "AI", True)]
    assert live[0]["text"] == "Tell me more"
    await socket.close()
