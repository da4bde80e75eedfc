"""The dashboard's lead page (the query ``bench.leads_page`` measures): nested score, assignee
and last message, with a number of MongoDB commands that does not grow with the page size."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support import LiveServer, gql

PAGE = """
{ leads(first: 50) { edges { node {
    id name email score { overallScore } assignee { id email }
    lastMessage { seq role content conversationId }
} } } }
"""
CREATE_USER = """
mutation($email: String!, $password: String!, $name: String) {
  createUser(email: $email, password: $password, name: $name) { id email }
}
"""
CREATE_LEAD = "mutation($input: LeadInput!) { createLead(input: $input) { id } }"
START = "mutation($lead: ID!) { startConversation(input: {leadId: $lead}) { id } }"
SEND = """
mutation($id: ID!, $text: String!) {
  sendMessage(conversationId: $id, text: $text) { reply { seq role content conversationId } }
}
"""


async def ok(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> Any:
    result = await gql(client, query, variables)
    assert result["_status"] == 200 and "errors" not in result, result
    return result["data"]


async def seed(client: httpx.AsyncClient, count: int) -> dict[str, dict[str, Any] | None]:
    """``count`` leads over 3 assignees; every third lead has no conversation, every other one
    has two (the newer one must win). Returns each lead's expected ``lastMessage``."""
    users = [(await ok(client, CREATE_USER, {
        "email": f"agent{index}@page.dev", "password": "correct-horse-battery",
        "name": f"Agent {index}"}))["createUser"] for index in range(3)]
    expected: dict[str, dict[str, Any] | None] = {}
    for index in range(count):
        lead = (await ok(client, CREATE_LEAD, {"input": {
            "name": f"Paged {index}", "email": f"paged{index}@page.dev",
            "assignedTo": users[index % 3]["id"]}}))["createLead"]
        expected[lead["id"]] = None
        for _ in range(0 if index % 3 == 0 else 1 + index % 2):
            conversation = (await ok(client, START, {"lead": lead["id"]}))["startConversation"]
            turn = await ok(client, SEND, {"id": conversation["id"], "text": "Hello there"})
            expected[lead["id"]] = turn["sendMessage"]["reply"]
    return expected


async def commands_for_page(
    server: LiveServer, client: httpx.AsyncClient, count: int
) -> list[tuple[str, str]]:
    expected = await seed(client, count)
    await server.settle()
    server.commands.reset()
    result = await gql(client, PAGE)
    log = server.commands.request_log()
    assert "errors" not in result, result
    nodes = [edge["node"] for edge in result["data"]["leads"]["edges"]]
    assert {node["id"]: node["lastMessage"] for node in nodes} == expected
    assert all(node["assignee"] is not None for node in nodes)
    return log


async def test_lead_page_with_last_message_uses_a_constant_number_of_commands(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    few = await commands_for_page(server, client, 3)
    await server.clear_database()
    many = await commands_for_page(server, client, 12)
    assert len(few) == len(many), (few, many)
    # the page, the assignees, the leads' conversations, their newest messages
    assert sorted(few) == sorted([("find", "leads"), ("find", "users"),
                                  ("find", "conversations"), ("aggregate", "messages")]), few
    assert sorted(few) == sorted(many)
