"""The first slice end to end: one lead, every lead dialect, GraphQL, and a live event."""

from __future__ import annotations

import httpx

from tests.support import API_KEY, GraphQLSocket, LiveServer, gql, wait_for_subscribers

LEAD_EVENTS = "subscription { leadEvents { type at lead { id email phone } } }"


async def test_lead_created_over_rest_is_the_same_lead_everywhere(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    socket = await GraphQLSocket.open(f"{server.ws_url}/graphql", {"apiKey": API_KEY})
    await socket.subscribe("1", LEAD_EVENTS)
    await wait_for_subscribers(server, "leads")

    created = await client.post("/api/v1/leads", json={
        "first_name": "John", "last_name": "Doe", "email": "john.doe@company.com",
        "phone": "+1-555-123-4567", "company": "Acme Corp", "title": "VP of Sales",
    })
    assert created.status_code == 201, created.text
    lead_id = created.json()["id"]

    event = await socket.next_data("1")
    assert event["data"]["leadEvents"]["type"] == "CREATED"
    assert event["data"]["leadEvents"]["lead"] == {
        "id": lead_id, "email": "john.doe@company.com", "phone": "+15551234567",
    }
    await socket.close()

    seed_000 = (await client.get(f"/api/leads/{lead_id}")).json()
    seed_001 = (await client.get(f"/api/v1/lead/{lead_id}")).json()
    seed_002 = (await client.get(f"/api/v1/leads/{lead_id}")).json()
    assert seed_000["client_name"] == seed_001["name"] == "John Doe"
    assert seed_000["contact_info"] == seed_001["email"] == seed_002["email"]
    assert seed_002["company"] == "Acme Corp"

    result = await gql(client, "query($id: ID!) { lead(id: $id) { id name company } }",
                       {"id": lead_id})
    assert result["data"]["lead"] == {"id": lead_id, "name": "John Doe", "company": "Acme Corp"}
