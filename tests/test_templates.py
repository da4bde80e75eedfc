"""Seed 004 templates: CRUD with {{variable}} validation, REST and GraphQL."""

from __future__ import annotations

import httpx

from tests.support import LiveServer, gql


async def test_template_crud_and_variable_validation(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    created = await client.post("/api/templates", json={
        "name": "welcome", "type": "response", "content": "Hi {{name}}, welcome to {{ company }}!",
    })
    assert created.status_code == 201, created.text
    template = created.json()["data"]
    assert template["variables"] == ["name", "company"]
    assert template["type"] == "response"

    declared = await client.post("/api/templates", json={
        "name": "p", "type": "prompt", "content": "Summarise {{lead}}", "variables": ["lead"],
    })
    assert declared.status_code == 201

    mismatched = await client.post("/api/templates", json={
        "name": "bad", "content": "Hello {{name}}", "variables": ["email"],
    })
    assert mismatched.status_code == 400
    assert mismatched.json()["error"]["details"] == [
        {"field": "variables", "message": "undeclared in content: name"},
        {"field": "variables", "message": "not used in content: email"},
    ]
    invalid = await client.post("/api/templates", json={
        "name": "bad", "content": "Hello {{first name}}", "type": "email",
    })
    assert invalid.status_code == 400
    assert {d["field"] for d in invalid.json()["error"]["details"]} == {"content", "type"}

    updated = await client.put(f"/api/templates/{template['id']}",
                               json={"content": "Bye {{name}}"})
    assert updated.status_code == 200
    assert updated.json()["data"]["variables"] == ["name"]
    lone = await client.put(f"/api/templates/{template['id']}", json={"variables": ["x"]})
    assert lone.status_code == 400

    bot = await client.post("/api/chatbots", json={"name": "t", "templateId": template["id"]})
    assert bot.status_code == 201 and bot.json()["data"]["templateId"] == template["id"]
    dangling = await client.post("/api/chatbots", json={"name": "t", "templateId": "nope"})
    assert dangling.status_code == 400

    listed = await gql(client, "{ templates { name type variables } }")
    assert listed["data"]["templates"] == [
        {"name": "p", "type": "prompt", "variables": ["lead"]},
        {"name": "welcome", "type": "response", "variables": ["name"]},
    ]
    page = await client.get("/api/templates", params={"pageSize": 1})
    assert page.json()["data"]["pagination"]["total"] == 2

    deleted = await client.delete(f"/api/templates/{template['id']}")
    assert deleted.json()["data"] == {"id": template["id"], "deleted": True}
    assert (await client.get(f"/api/templates/{template['id']}")).status_code == 404
