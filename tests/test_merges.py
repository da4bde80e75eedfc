"""Duplicate detection, merging (conversations and timeline move) and exact undo."""

from __future__ import annotations

import httpx

from tests.support import LiveServer, gql

MERGE = """mutation($p: ID!, $d: ID!) { mergeLeads(primaryId: $p, duplicateId: $d) {
  lead { id email phone company tags conversations { id } } merge { id duplicateId } } }"""
UNMERGE = """mutation($m: ID!) { unmergeLeads(mergeId: $m) {
  primary { id email phone company tags conversations { id } }
  restored { id email phone company conversations { id } } merge { undoneAt } } }"""


async def test_duplicates_are_found_merged_and_the_merge_can_be_undone(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    primary = (await client.post("/api/v1/leads", json={
        "first_name": "Fox", "last_name": "Mulder", "email": "fox@fbi.gov",
        "tags": ["x-files"]})).json()
    duplicate = (await client.post("/api/v1/leads", json={
        "first_name": "Fox", "last_name": "Mulder", "email": "spooky@fbi.gov",
        "phone": "+1 202 555 0147", "company": "FBI", "tags": ["vip"]})).json()
    unrelated = (await client.post("/api/v1/leads", json={"name": "Walter Skinner",
                                                           "email": "ws@fbi.gov"})).json()
    # The duplicate has a conversation and a timeline entry of its own.
    chat = await client.post("/api/chat", json={
        "message": "I need a website", "session_id": "mulder",
        "user_info": {"email": "spooky@fbi.gov", "name": "Fox Mulder"}})
    assert chat.status_code == 200
    await client.post(f"/api/v1/leads/{duplicate['id']}/activities",
                      json={"activity_type": "meeting", "description": "Met at HQ"})
    conversation_ids = [c["id"] for c in (await gql(client, """query($id: ID!) {
        lead(id: $id) { conversations { id } } }""", {"id": duplicate["id"]}))[
        "data"]["lead"]["conversations"]]

    candidates = await gql(client, """query($id: ID!) { lead(id: $id) {
        possibleDuplicates { lead { id } likelihood reasons } } }""", {"id": primary["id"]})
    found = candidates["data"]["lead"]["possibleDuplicates"]
    assert [c["lead"]["id"] for c in found] == [duplicate["id"]]
    assert unrelated["id"] not in [c["lead"]["id"] for c in found]
    assert "Same name" in found[0]["reasons"] and found[0]["likelihood"] >= 0.5

    merged = await gql(client, MERGE, {"p": primary["id"], "d": duplicate["id"]})
    result = merged["data"]["mergeLeads"]
    assert result["lead"]["id"] == primary["id"]
    assert result["lead"]["email"] == "fox@fbi.gov"           # the primary wins
    assert result["lead"]["phone"] == "+12025550147"          # filled from the duplicate
    assert result["lead"]["company"] == "FBI"
    assert result["lead"]["tags"] == ["vip", "x-files"]
    assert [c["id"] for c in result["lead"]["conversations"]] == conversation_ids
    gone = await client.get(f"/api/v1/leads/{duplicate['id']}")
    assert gone.status_code == 404
    timeline = (await client.get(f"/api/v1/leads/{primary['id']}/activities")).json()
    assert {"meeting", "leads_merged"} <= {a["activity_type"] for a in timeline["activities"]}

    undone = await gql(client, UNMERGE, {"m": result["merge"]["id"]})
    back = undone["data"]["unmergeLeads"]
    assert back["merge"]["undoneAt"]
    assert back["primary"] == {"id": primary["id"], "email": "fox@fbi.gov", "phone": None,
                               "company": None, "tags": ["x-files"], "conversations": []}
    assert back["restored"]["id"] == duplicate["id"]
    assert back["restored"]["company"] == "FBI"
    assert [c["id"] for c in back["restored"]["conversations"]] == conversation_ids
    restored_timeline = (await client.get(f"/api/v1/leads/{duplicate['id']}/activities")).json()
    assert "meeting" in {a["activity_type"] for a in restored_timeline["activities"]}

    again = await gql(client, UNMERGE, {"m": result["merge"]["id"]})
    assert again["errors"][0]["extensions"]["code"] == "CONFLICT"
    itself = await gql(client, MERGE, {"p": primary["id"], "d": primary["id"]})
    assert itself["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    missing = await gql(client, MERGE, {"p": primary["id"], "d": "0123456789abcdef01234567"})
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert (await client.get("/api/v1/leads")).json()["total"] == 3
