"""Lead intelligence: explainable scores that rise with a hot conversation, the timeline,
score history and the pipeline rules."""

from __future__ import annotations

import httpx

from tests.support import API_KEY, GraphQLSocket, LiveServer, gql, wait_for_subscribers

HOT_CHAT = [
    "Hi, I need a mobile app for my business",
    "It needs payments, user login and a booking calendar",
    "We want to buy and get started ASAP, budget is $20k-40k",
    "I'm Dana Scully from Acme Corp",
]


async def test_a_hot_conversation_raises_the_score_and_says_why(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    created = await client.post("/api/v1/leads", json={
        "first_name": "Dana", "last_name": "Scully", "email": "dana@acme.io"})
    lead_id = created.json()["id"]
    before = (await client.post(f"/api/v1/leads/{lead_id}/score")).json()
    assert before["factors"]["positive_factors"] == ["Reachable by email or phone"]

    socket = await GraphQLSocket.open(f"{server.ws_url}/graphql", {"apiKey": API_KEY})
    await socket.subscribe(
        "s", "subscription { leadEvents { type lead { id score { overallScore } } } }"
    )
    await wait_for_subscribers(server, "leads")

    for text in HOT_CHAT:
        response = await client.post("/api/chat", json={
            "message": text, "session_id": "dana", "user_info": {"email": "dana@acme.io"}})
        assert response.status_code == 200, response.text
    await server.settle()

    # The conversation enriched the same lead (dedupe by email) and the score moved by itself.
    lead = (await client.get(f"/api/v1/leads/{lead_id}")).json()
    assert lead["intent"] == "HOT"
    assert lead["score"]["overall_score"] > before["overall_score"] + 0.2
    explained = (await client.post(f"/api/v1/leads/{lead_id}/score")).json()
    assert explained["overall_score"] == lead["score"]["overall_score"]  # idempotent
    positive = explained["factors"]["positive_factors"]
    assert "High purchase intent" in positive
    assert "Has company information" in positive
    assert any(f.startswith("Engaged in conversation (4 messages)") for f in positive)
    assert "Recent interaction" in positive
    assert explained["factors"]["recommendations"][0] == "High priority - Schedule immediate call"
    assert explained["behavioral_score"] > 0 and explained["engagement_score"] > 0

    events = []
    while True:
        event = (await socket.next_data("s"))["data"]["leadEvents"]
        events.append(event["type"])
        if event["type"] == "SCORE_CHANGED":
            assert event["lead"]["id"] == lead_id
            break
    await socket.close()

    graph = await gql(client, """query($id: ID!) { lead(id: $id) {
        scoreHistory { overallScore modelVersion trigger }
        activities(first: 10) { totalCount edges { node { activityType metadata } } } } }""",
                      {"id": lead_id})
    history = graph["data"]["lead"]["scoreHistory"]
    assert history and history[0]["overallScore"] == lead["score"]["overall_score"]
    assert all(entry["modelVersion"] for entry in history)
    timeline = graph["data"]["lead"]["activities"]
    types = [edge["node"]["activityType"] for edge in timeline["edges"]]
    assert types.count("message_received") == 4
    assert timeline["totalCount"] == len(types)


async def test_activities_are_added_and_listed_in_every_transport(
    client: httpx.AsyncClient
) -> None:
    lead_id = (await client.post("/api/v1/leads", json={"email": "act@example.com"})).json()["id"]
    added = await client.post(f"/api/v1/leads/{lead_id}/activities", json={
        "activity_type": "email_sent", "description": "Sent product demo invitation",
        "metadata": {"email_subject": "Demo of our AI solution", "campaign_id": "campaign_123"}})
    assert added.status_code == 201, added.text
    body = added.json()
    assert {k: body[k] for k in ("lead_id", "activity_type", "description", "metadata")} == {
        "lead_id": lead_id, "activity_type": "email_sent",
        "description": "Sent product demo invitation",
        "metadata": {"email_subject": "Demo of our AI solution", "campaign_id": "campaign_123"},
    }
    via_graphql = await gql(client, """mutation($id: ID!) { addLeadActivity(leadId: $id,
        input: {activityType: "demo_requested", metadata: {when: "tomorrow"}}) {
        activityType metadata } }""", {"id": lead_id})
    assert via_graphql["data"]["addLeadActivity"] == {
        "activityType": "demo_requested", "metadata": {"when": "tomorrow"}}
    listed = (await client.get(f"/api/v1/leads/{lead_id}/activities")).json()
    assert [a["activity_type"] for a in listed["activities"]] == ["demo_requested", "email_sent"]
    score = (await client.post(f"/api/v1/leads/{lead_id}/score")).json()
    assert "Requested product demo" in score["factors"]["positive_factors"]

    bad = await client.post(f"/api/v1/leads/{lead_id}/activities",
                            json={"activity_type": "Not Valid!", "metadata": []})
    assert bad.status_code == 422
    assert bad.json()["details"]["field"] == "activity_type"
    missing = await client.post("/api/v1/leads/0123456789abcdef01234567/activities",
                                json={"activity_type": "email_sent"})
    assert missing.status_code == 404
    assert (await client.get(f"/api/v1/leads/{lead_id}/activities")).json()["total"] == 2


async def test_status_changes_follow_the_pipeline_and_land_on_the_timeline(
    client: httpx.AsyncClient
) -> None:
    lead_id = (await client.post("/api/v1/leads", json={"email": "pipe@example.com"})).json()["id"]
    for status in ("contacted", "proposal", "qualified", "closed_won"):
        response = await client.put(f"/api/v1/leads/{lead_id}", json={"status": status})
        assert response.status_code == 200, (status, response.text)
    refused = await client.put(f"/api/v1/leads/{lead_id}", json={"status": "new"})
    assert refused.status_code == 422
    assert refused.json()["details"] == {
        "field": "status", "message": "cannot move from closed_won to new: closed_won is final"}
    assert (await client.get(f"/api/v1/leads/{lead_id}")).json()["status"] == "closed_won"

    other = (await client.post("/api/v1/leads", json={"email": "p2@example.com"})).json()["id"]
    skip_back = await gql(client, """mutation($id: ID!) { a: updateLead(id: $id,
        input: {status: PROPOSAL}) { status } }""", {"id": other})
    assert skip_back["data"]["a"]["status"] == "PROPOSAL"
    too_far = await gql(client, """mutation($id: ID!) { updateLead(id: $id,
        input: {status: NEW}) { status } }""", {"id": other})
    assert too_far["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert too_far["errors"][0]["extensions"]["fields"][0]["field"] == "status"
    lost = await client.put(f"/api/v1/leads/{other}", json={"status": "closed_lost"})
    reopened = await client.put(f"/api/v1/leads/{other}", json={"status": "contacted"})
    assert (lost.status_code, reopened.status_code) == (200, 200)

    timeline = (await client.get(f"/api/v1/leads/{lead_id}/activities")).json()["activities"]
    changes = [(a["metadata"]["from"], a["metadata"]["to"]) for a in timeline
               if a["activity_type"] == "status_changed"]
    assert changes == [("qualified", "closed_won"), ("proposal", "qualified"),
                       ("contacted", "proposal"), ("new", "contacted")]
