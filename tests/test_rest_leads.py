"""Leads over the legacy REST dialects (seeds 000, 001, 002), GraphQL, health and GraphiQL.

The seed documents are the contract: a legacy client must not notice that it talks to a
new system. So shapes are asserted key by key, and a lead written through any transport is
read back through every reader.
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.support import API_KEY, LiveServer, gql, without_cost

# -- the documented shapes -----------------------------------------------------------------

TS_SECONDS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")  # seeds 000, 002, 003, 004
TS_MILLIS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")  # seed 001
E164 = re.compile(r"^\+[1-9]\d{6,14}$")

SEED000_LIST_KEYS = {"total", "limit", "offset", "leads"}
SEED000_LEAD_KEYS = {
    "id", "client_name", "contact_info", "project_type", "requirements_summary", "timeline",
    "budget_range", "follow_up_status", "created_at",
}
SEED001_LEAD_KEYS = {
    "id", "name", "email", "phone", "source", "intent", "messages", "created_at", "updated_at",
}
SEED002_LEAD_KEYS = {
    "id", "first_name", "last_name", "email", "phone", "company", "title", "industry",
    "source", "status", "score", "created_at", "updated_at",
}
SEED002_SCORE_KEYS = {
    "overall_score", "demographic_score", "behavioral_score", "engagement_score",
    "conversion_probability",
}
SEED002_LIST_KEYS = {"leads", "total", "page", "per_page", "total_pages"}
DEDUPLICATED = "X-LeadGraph-Deduplicated"

GQL_LEAD_FIELDS = """
    id name firstName lastName email phone company title industry source status intent
    notes tags createdAt updatedAt
"""
CREATE_LEAD = (
    f"mutation($input: LeadInput!) {{ createLead(input: $input) {{ {GQL_LEAD_FIELDS} }} }}"
)
UPDATE_LEAD = (
    f"mutation($id: ID!, $input: LeadUpdateInput!) "
    f"{{ updateLead(id: $id, input: $input) {{ {GQL_LEAD_FIELDS} }} }}"
)
READ_LEAD = f"query($id: ID!) {{ lead(id: $id) {{ {GQL_LEAD_FIELDS} }} }}"


# -- helpers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    email: str  # as the caller types it (mixed case allowed)
    phone: str  # as the caller types it (any format)
    e164: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


JANE = Person("Jane", "Roe", "Jane.Roe@Example.COM", "+1 (555) 201-3344", "+15552013344")


def body_of(response: httpx.Response) -> Any:
    assert "Traceback" not in response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    return response.json()


def is_timestamp(value: Any, pattern: re.Pattern[str] = TS_SECONDS) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def post_seed002(
    client: httpx.AsyncClient, payload: dict[str, Any], status: int = 201
) -> dict[str, Any]:
    response = await client.post("/api/v1/leads", json=payload)
    assert response.status_code == status, response.text
    body: dict[str, Any] = body_of(response)
    return body


async def make_leads(client: httpx.AsyncClient, count: int, prefix: str = "bulk") -> list[str]:
    """``count`` distinct leads via seed 002, oldest first."""
    ids = []
    for index in range(count):
        lead = await post_seed002(client, {
            "first_name": f"{prefix.title()}{index:03d}", "last_name": "Person",
            "email": f"{prefix}{index}@example.com",
        })
        ids.append(lead["id"])
    return ids


async def seed000_get(client: httpx.AsyncClient, lead_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/leads/{lead_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = body_of(response)
    return body


async def seed001_get(client: httpx.AsyncClient, lead_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/lead/{lead_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = body_of(response)
    return body


async def seed002_get(client: httpx.AsyncClient, lead_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/leads/{lead_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = body_of(response)
    return body


async def graphql_get(client: httpx.AsyncClient, lead_id: str) -> dict[str, Any]:
    result = await gql(client, READ_LEAD, {"id": lead_id})
    assert result["_status"] == 200 and "errors" not in result, result
    lead: dict[str, Any] = result["data"]["lead"]
    return lead


async def seed000_list(client: httpx.AsyncClient, **params: str | int) -> dict[str, Any]:
    response = await client.get("/api/leads", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = body_of(response)
    assert set(body) == SEED000_LIST_KEYS
    for lead in body["leads"]:
        assert set(lead) == SEED000_LEAD_KEYS
    return body


async def seed002_list(client: httpx.AsyncClient, **params: str | int | float) -> dict[str, Any]:
    response = await client.get("/api/v1/leads", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = body_of(response)
    assert set(body) == SEED002_LIST_KEYS
    for lead in body["leads"]:
        assert_seed002_lead_shape(lead)
    return body


async def seed002_ids(client: httpx.AsyncClient, **params: str | int | float) -> set[str]:
    body = await seed002_list(client, per_page=100, **params)
    return {lead["id"] for lead in body["leads"]}


def assert_seed001_lead_shape(lead: dict[str, Any]) -> None:
    assert set(lead) == SEED001_LEAD_KEYS
    assert isinstance(lead["messages"], list)
    assert is_timestamp(lead["created_at"], TS_MILLIS), lead["created_at"]
    assert is_timestamp(lead["updated_at"], TS_MILLIS), lead["updated_at"]


def assert_seed002_lead_shape(lead: dict[str, Any]) -> None:
    assert set(lead) >= SEED002_LEAD_KEYS, SEED002_LEAD_KEYS - set(lead)
    assert set(lead["score"]) >= SEED002_SCORE_KEYS
    for key in SEED002_SCORE_KEYS:
        value = lead["score"][key]
        assert isinstance(value, float | int) and 0.0 <= value <= 1.0, (key, value)
    assert is_timestamp(lead["created_at"]) and is_timestamp(lead["updated_at"])


def assert_seed000_lead_shape(lead: dict[str, Any], *, detail: bool) -> None:
    keys = SEED000_LEAD_KEYS | ({"conversation_history"} if detail else set())
    assert set(lead) == keys
    assert is_timestamp(lead["created_at"]), lead["created_at"]
    if detail:
        assert isinstance(lead["conversation_history"], list)


async def assert_same_lead_everywhere(
    server: LiveServer, client: httpx.AsyncClient, lead_id: str, *, name: str, first: str,
    last: str, email: str | None, phone: str | None, **seed002_fields: Any,
) -> None:
    """Every reader shows this lead with consistent values.

    Waits for background score refreshes first: they may otherwise land between two reads.
    """
    await server.settle()
    seed000 = await seed000_get(client, lead_id)
    assert_seed000_lead_shape(seed000, detail=True)
    seed001 = await seed001_get(client, lead_id)
    assert_seed001_lead_shape(seed001)
    seed002 = await seed002_get(client, lead_id)
    assert_seed002_lead_shape(seed002)
    graphql = await graphql_get(client, lead_id)

    assert seed000["id"] == seed001["id"] == seed002["id"] == graphql["id"] == lead_id
    assert seed000["client_name"] == seed001["name"] == graphql["name"] == name
    assert (seed002["first_name"], seed002["last_name"]) == (first, last)
    assert (graphql["firstName"], graphql["lastName"]) == (first, last)
    assert seed000["contact_info"] == (email or phone or "")
    assert seed001["email"] == seed002["email"] == graphql["email"] == email
    assert seed001["phone"] == seed002["phone"] == graphql["phone"] == phone
    if phone is not None:
        assert E164.fullmatch(phone)
    assert seed001["source"] == seed002["source"] == graphql["source"].lower()
    assert seed001["intent"] == seed002["intent"] == graphql["intent"]
    # The same instants, each in its own spelling.
    created = parse_ts(seed001["created_at"])
    assert parse_ts(seed002["created_at"]) == created.replace(microsecond=0)
    assert parse_ts(seed000["created_at"]) == created.replace(microsecond=0)
    assert parse_ts(graphql["createdAt"]) == created
    assert parse_ts(graphql["updatedAt"]) == parse_ts(seed001["updated_at"])
    for key, value in seed002_fields.items():
        assert seed002[key] == value, (key, seed002[key], value)

    listed000 = [lead for lead in (await seed000_list(client, limit=100))["leads"]
                 if lead["id"] == lead_id]
    assert listed000 == [{k: v for k, v in seed000.items() if k != "conversation_history"}]
    listed002 = [lead for lead in (await seed002_list(client, per_page=100))["leads"]
                 if lead["id"] == lead_id]
    assert listed002 == [seed002]


# -- creating through every lead-creating transport -------------------------------------------

Creator = Callable[[httpx.AsyncClient, Person], Awaitable[str]]


async def create_seed001_x_api_key(client: httpx.AsyncClient, person: Person) -> str:
    response = await client.post("/api/v1/lead/", json={
        "name": person.name, "email": person.email, "phone": person.phone,
        "source": "whatsapp", "intent": "WARM",
    })
    assert response.status_code == 200, response.text  # FastAPI's default for a POST
    assert DEDUPLICATED not in response.headers
    lead = body_of(response)
    assert_seed001_lead_shape(lead)
    assert lead["messages"] == []
    assert (lead["source"], lead["intent"]) == ("whatsapp", "WARM")
    lead_id: str = lead["id"]
    return lead_id


async def create_seed001_bearer_key(client: httpx.AsyncClient, person: Person) -> str:
    """Seed 001 also documents ``Authorization: Bearer <API key>``."""
    async with httpx.AsyncClient(
        base_url=str(client.base_url), headers={"Authorization": f"Bearer {API_KEY}"}
    ) as bearer:
        response = await bearer.post("/api/v1/lead/", json={
            "name": person.name, "email": person.email, "phone": person.phone,
            "source": "whatsapp", "intent": "WARM",
        })
    assert response.status_code == 200, response.text
    lead = body_of(response)
    assert_seed001_lead_shape(lead)
    lead_id: str = lead["id"]
    return lead_id


async def create_seed002(client: httpx.AsyncClient, person: Person) -> str:
    lead = await post_seed002(client, {
        "first_name": person.first, "last_name": person.last, "email": person.email,
        "phone": person.phone, "source": "whatsapp", "intent": "WARM",
    })
    assert_seed002_lead_shape(lead)
    assert lead["status"] == "new"
    lead_id: str = lead["id"]
    return lead_id


async def create_graphql(client: httpx.AsyncClient, person: Person) -> str:
    result = await gql(client, CREATE_LEAD, {"input": {
        "firstName": person.first, "lastName": person.last, "email": person.email,
        "phone": person.phone, "source": "WHATSAPP", "intent": "WARM",
    }})
    assert result["_status"] == 200 and "errors" not in result, result
    assert "leadgraph" not in result.get("extensions", {})
    lead_id: str = result["data"]["createLead"]["id"]
    return lead_id


CREATORS: dict[str, Creator] = {
    "seed001-x-api-key": create_seed001_x_api_key,
    "seed001-bearer-api-key": create_seed001_bearer_key,
    "seed002": create_seed002,
    "graphql": create_graphql,
}


@pytest.mark.parametrize("creator", CREATORS.values(), ids=list(CREATORS))
async def test_lead_created_anywhere_reads_back_the_same_everywhere(
    server: LiveServer, client: httpx.AsyncClient, creator: Creator
) -> None:
    lead_id = await creator(client, JANE)
    assert re.fullmatch(r"[0-9a-f]{24}", lead_id)
    await assert_same_lead_everywhere(
        server, client, lead_id, name=JANE.name, first=JANE.first, last=JANE.last,
        email=JANE.email.lower(), phone=JANE.e164, source="whatsapp", intent="WARM",
    )
    assert (await seed000_list(client))["total"] == 1


# -- seed 000: list and detail -------------------------------------------------------------------


async def test_seed000_list_shape_defaults_and_offset(client: httpx.AsyncClient) -> None:
    ids = await make_leads(client, 12)
    page = await seed000_list(client)
    assert (page["total"], page["limit"], page["offset"]) == (12, 10, 0)
    # Default order: newest first.
    assert [lead["id"] for lead in page["leads"]] == ids[::-1][:10]
    first = page["leads"][0]
    assert first["client_name"] == "Bulk011 Person"
    assert first["contact_info"] == "bulk11@example.com"
    assert first["follow_up_status"] == "pending"
    assert first["project_type"] is None and first["timeline"] is None

    rest = await seed000_list(client, offset=10)
    assert (rest["total"], rest["limit"], rest["offset"]) == (12, 10, 10)
    assert [lead["id"] for lead in rest["leads"]] == ids[::-1][10:]

    small = await seed000_list(client, limit=3, offset=2)
    assert (small["limit"], small["offset"]) == (3, 2)
    assert [lead["id"] for lead in small["leads"]] == ids[::-1][2:5]

    beyond = await seed000_list(client, offset=50)
    assert (beyond["total"], beyond["leads"]) == (12, [])


@pytest.mark.parametrize(
    ("sort_by", "sort_order", "expected"),
    [
        ("created_at", "asc", ["Carol Xu", "Alice Young", "Bob Zane"]),
        ("created_at", "desc", ["Bob Zane", "Alice Young", "Carol Xu"]),
        ("client_name", "asc", ["Alice Young", "Bob Zane", "Carol Xu"]),
        ("client_name", "desc", ["Carol Xu", "Bob Zane", "Alice Young"]),
        ("created_at", "DESC", ["Bob Zane", "Alice Young", "Carol Xu"]),
        ("client_name", "", ["Carol Xu", "Bob Zane", "Alice Young"]),  # default order: desc
    ],
)
async def test_seed000_sorting(
    client: httpx.AsyncClient, sort_by: str, sort_order: str, expected: list[str]
) -> None:
    for full_name, email in (("Carol Xu", "carol@x.io"), ("Alice Young", "alice@y.io"),
                             ("Bob Zane", "bob@z.io")):
        response = await client.post("/api/v1/lead/", json={"name": full_name, "email": email})
        assert response.status_code == 200, response.text
    page = await seed000_list(client, sort_by=sort_by, sort_order=sort_order)
    assert [lead["client_name"] for lead in page["leads"]] == expected
    assert page["total"] == 3


async def test_seed000_detail_has_conversation_history(client: httpx.AsyncClient) -> None:
    lead = await post_seed002(client, {
        "first_name": "John", "last_name": "Doe", "email": "john@example.com",
        "project_type": "mobile_app",
        "requirements_summary": "A mobile app with payment integration and user authentication",
        "timeline": "3 months", "budget_range": "$10,000-$20,000",
    })
    detail = await seed000_get(client, lead["id"])
    assert_seed000_lead_shape(detail, detail=True)
    assert detail == {
        "id": lead["id"],
        "client_name": "John Doe",
        "contact_info": "john@example.com",
        "project_type": "mobile_app",
        "requirements_summary": "A mobile app with payment integration and user authentication",
        "timeline": "3 months",
        "budget_range": "$10,000-$20,000",
        "follow_up_status": "pending",
        "created_at": lead["created_at"],
        "conversation_history": [],
    }


async def test_seed000_contact_info_falls_back_to_phone(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/lead/", json={"name": "Phone Only",
                                                        "phone": "555.201.9876"})
    assert response.status_code == 200, response.text
    lead = body_of(response)
    assert lead["email"] is None and lead["phone"] == "+15552019876"
    assert (await seed000_get(client, lead["id"]))["contact_info"] == "+15552019876"


# -- seed 001 ----------------------------------------------------------------------------------


async def test_seed001_documented_example(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/lead/", json={
        "name": "Test Lead", "email": "test@example.com", "phone": "+1234567890",
        "source": "website", "intent": "WARM",
    })
    assert response.status_code == 200, response.text
    lead = body_of(response)
    assert_seed001_lead_shape(lead)
    assert {k: v for k, v in lead.items() if k not in ("id", "created_at", "updated_at")} == {
        "name": "Test Lead", "email": "test@example.com", "phone": "+1234567890",
        "source": "website", "intent": "WARM", "messages": [],
    }
    assert lead["created_at"] == lead["updated_at"]
    assert await seed001_get(client, lead["id"]) == lead


async def test_seed001_also_answers_without_trailing_slash(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/lead", json={"name": "No Slash"},
                                 follow_redirects=False)
    assert response.status_code == 200, response.text
    assert body_of(response)["name"] == "No Slash"


async def test_seed001_ignores_fields_it_does_not_document(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/lead/", json={
        "name": "Extra Fields", "email": "extra@example.com", "company": "Ignored Inc",
        "status": "qualified",
    })
    assert response.status_code == 200, response.text
    stored = await seed002_get(client, body_of(response)["id"])
    assert (stored["company"], stored["status"]) == (None, "new")


# -- seed 002 ----------------------------------------------------------------------------------


async def test_seed002_documented_example(client: httpx.AsyncClient) -> None:
    lead = await post_seed002(client, {
        "first_name": "John", "last_name": "Doe", "email": "john.doe@company.com",
        "phone": "+1-555-123-4567", "company": "Acme Corp", "title": "VP of Sales",
        "industry": "technology", "source": "website", "notes": "Interested in our AI solution",
    })
    assert_seed002_lead_shape(lead)
    assert {key: lead[key] for key in SEED002_LEAD_KEYS - {"id", "score", "created_at",
                                                          "updated_at"}} == {
        "first_name": "John", "last_name": "Doe", "email": "john.doe@company.com",
        "phone": "+15551234567", "company": "Acme Corp", "title": "VP of Sales",
        "industry": "technology", "source": "website", "status": "new",
    }
    assert lead["notes"] == "Interested in our AI solution"
    assert lead["created_at"] == lead["updated_at"]
    # A senior, reachable lead at a company in a target industry outscores a bare one.
    bare = await post_seed002(client, {"first_name": "Bare", "email": "bare@example.com"})
    assert lead["score"]["overall_score"] > bare["score"]["overall_score"]
    assert lead["score"]["demographic_score"] > bare["score"]["demographic_score"]
    assert await seed002_get(client, lead["id"]) == lead


async def test_seed002_pagination(client: httpx.AsyncClient) -> None:
    ids = await make_leads(client, 5)
    newest_first = ids[::-1]
    seen: list[str] = []
    for page_number, expected_count in ((1, 2), (2, 2), (3, 1)):
        page = await seed002_list(client, page=page_number, per_page=2)
        assert (page["total"], page["page"], page["per_page"], page["total_pages"]) == (
            5, page_number, 2, 3)
        assert len(page["leads"]) == expected_count
        seen += [lead["id"] for lead in page["leads"]]
    assert seen == newest_first
    past_the_end = await seed002_list(client, page=4, per_page=2)
    assert (past_the_end["leads"], past_the_end["total"], past_the_end["page"]) == ([], 5, 4)

    default = await seed002_list(client)
    assert (default["page"], default["per_page"], default["total"], default["total_pages"]) == (
        1, 50, 5, 1)

    empty_filter = await seed002_list(client, status="closed_lost")
    assert (empty_filter["leads"], empty_filter["total"], empty_filter["total_pages"]) == (
        [], 0, 0)


async def test_seed002_per_page_defaults_to_50_and_allows_100(
    client: httpx.AsyncClient,
) -> None:
    ids = await make_leads(client, 51)
    default = await seed002_list(client)
    assert (default["total"], default["per_page"], default["total_pages"]) == (51, 50, 2)
    assert len(default["leads"]) == 50
    second = await seed002_list(client, page=2)
    assert [lead["id"] for lead in second["leads"]] == [ids[0]]
    everything = await seed002_list(client, per_page=100)
    assert (len(everything["leads"]), everything["total_pages"]) == (51, 1)
    assert math.ceil(51 / 100) == everything["total_pages"]


async def register_user(client: httpx.AsyncClient, email: str) -> str:
    response = await client.post("/auth/register", json={
        "email": email, "password": "correct-horse-battery", "name": "Agent Smith",
    })
    assert response.status_code == 201, response.text
    user_id: str = body_of(response)["id"]
    return user_id


async def test_seed002_filters(client: httpx.AsyncClient) -> None:
    agent = await register_user(client, "agent@leadgraph.example.com")
    strong = await post_seed002(client, {
        "first_name": "Olga", "last_name": "Strong", "email": "olga@bigcorp.com",
        "company": "BigCorp Holdings", "title": "CEO", "industry": "technology",
        "intent": "HOT", "source": "referral",
    })
    weak = await post_seed002(client, {
        "first_name": "Walter", "last_name": "Weak", "email": "walter@mailhost.net",
        "intent": "COLD", "source": "website",
    })
    middle = await post_seed002(client, {
        "first_name": "Mia", "last_name": "Middle", "phone": "+44 20 7946 0958",
        "company": "Northwind", "source": "whatsapp", "assigned_to": agent,
    })
    all_ids = {strong["id"], weak["id"], middle["id"]}
    response = await client.put(f"/api/v1/leads/{weak['id']}", json={"status": "contacted"})
    assert response.status_code == 200, response.text

    assert await seed002_ids(client) == all_ids
    assert await seed002_ids(client, status="contacted") == {weak["id"]}
    assert await seed002_ids(client, status="new") == {strong["id"], middle["id"]}
    assert await seed002_ids(client, status="qualified") == set()
    assert await seed002_ids(client, source="whatsapp") == {middle["id"]}
    assert await seed002_ids(client, source="referral") == {strong["id"]}
    assert await seed002_ids(client, assigned_to=agent) == {middle["id"]}
    # search: name, email, company; case-insensitive; a regex metacharacter is literal.
    assert await seed002_ids(client, search="olga") == {strong["id"]}
    assert await seed002_ids(client, search="WEAK") == {weak["id"]}
    assert await seed002_ids(client, search="MAILHOST.NET") == {weak["id"]}
    assert await seed002_ids(client, search="northWIND") == {middle["id"]}
    assert await seed002_ids(client, search="bigcorp") == {strong["id"]}
    assert await seed002_ids(client, search=".*") == set()
    # min_score is inclusive: the strong lead's own score keeps it.
    scores = {lead_id: (await seed002_get(client, lead_id))["score"]["overall_score"]
              for lead_id in all_ids}
    assert scores[strong["id"]] > scores[middle["id"]] > scores[weak["id"]]
    assert await seed002_ids(client, min_score=scores[strong["id"]]) == {strong["id"]}
    assert await seed002_ids(client, min_score=scores[middle["id"]]) == {
        strong["id"], middle["id"]}
    assert await seed002_ids(client, min_score=0) == all_ids
    # Filters combine.
    assert await seed002_ids(client, status="new", source="referral",
                             min_score=scores[middle["id"]]) == {strong["id"]}
    filtered = await seed002_list(client, status="new", per_page=1)
    assert (filtered["total"], filtered["total_pages"], len(filtered["leads"])) == (2, 2, 1)


async def test_seed002_put_changes_only_the_fields_sent(client: httpx.AsyncClient) -> None:
    before = await post_seed002(client, {
        "first_name": "John", "last_name": "Doe", "email": "john.doe@company.com",
        "phone": "+1-555-123-4567", "company": "Acme Corp", "title": "VP of Sales",
        "industry": "technology", "notes": "First contact",
    })
    updated_before = (await graphql_get(client, before["id"]))["updatedAt"]
    response = await client.put(f"/api/v1/leads/{before['id']}", json={
        "status": "qualified", "notes": "Had productive call, very interested",
    })
    assert response.status_code == 200, response.text
    after = body_of(response)
    assert_seed002_lead_shape(after)
    changed = {key for key in after if after[key] != before[key]}
    assert changed <= {"status", "notes", "updated_at", "score"}
    assert after["status"] == "qualified"
    assert after["notes"] == "Had productive call, very interested"
    assert after["created_at"] == before["created_at"]
    updated_after = (await graphql_get(client, before["id"]))["updatedAt"]
    assert parse_ts(updated_after) > parse_ts(updated_before)
    assert parse_ts(after["updated_at"]) >= parse_ts(before["updated_at"])
    # The status change rescores the lead in the background, so only the score may have
    # moved since the PUT answered (how soon depends on timing, not on the rules).
    assert {**await seed002_get(client, before["id"]), "score": None} == {**after, "score": None}

    # Re-sending identical values is not a change: updated_at stays.
    again = await client.put(f"/api/v1/leads/{before['id']}", json={"status": "qualified"})
    assert again.status_code == 200, again.text
    assert (await graphql_get(client, before["id"]))["updatedAt"] == updated_after

    # An explicit null clears an optional field; an empty body changes nothing.
    cleared = await client.put(f"/api/v1/leads/{before['id']}", json={"title": None})
    assert cleared.status_code == 200, cleared.text
    assert body_of(cleared)["title"] is None
    assert body_of(cleared)["company"] == "Acme Corp"
    empty = await client.put(f"/api/v1/leads/{before['id']}", json={})
    assert empty.status_code == 200, empty.text
    # (The cleared title rescores the lead in the background; compare all but the score.)
    assert {**body_of(empty), "score": None} == {**body_of(cleared), "score": None}


async def test_seed002_delete_then_every_reader_says_404(client: httpx.AsyncClient) -> None:
    keep = await post_seed002(client, {"first_name": "Keep", "email": "keep@example.com"})
    gone = await post_seed002(client, {"first_name": "Gone", "email": "gone@example.com"})
    response = await client.delete(f"/api/v1/leads/{gone['id']}")
    assert response.status_code == 200, response.text
    assert body_of(response)["id"] == gone["id"]

    for path in (f"/api/v1/leads/{gone['id']}", f"/api/v1/lead/{gone['id']}",
                 f"/api/leads/{gone['id']}"):
        missing = await client.get(path)
        assert missing.status_code == 404, (path, missing.text)
    assert body_of(await client.get(f"/api/v1/leads/{gone['id']}"))["status_code"] == 404
    again = await client.delete(f"/api/v1/leads/{gone['id']}")
    assert again.status_code == 404
    assert (await graphql_get_nullable(client, gone["id"])) is None

    assert await seed002_ids(client) == {keep["id"]}
    assert (await seed000_list(client))["total"] == 1
    # The email is free again: a new lead, not a duplicate of the deleted one.
    fresh = await post_seed002(client, {"first_name": "Gone", "email": "gone@example.com"})
    assert fresh["id"] != gone["id"]


async def graphql_get_nullable(client: httpx.AsyncClient, lead_id: str) -> Any:
    result = await gql(client, READ_LEAD, {"id": lead_id})
    assert "errors" not in result, result
    return result["data"]["lead"]


# -- de-duplication ----------------------------------------------------------------------------

ORIGINAL = {
    "first_name": "Dana", "last_name": "Scully", "email": "dana.scully@fbi.gov",
    "phone": "+1-202-555-0143", "company": "FBI", "title": "Special Agent",
    "industry": "government", "source": "referral", "notes": "Met at conference",
}


@dataclass(frozen=True)
class Duplicate:
    """A second create of the same person, and how the transport reports the merge."""

    send: Callable[[httpx.AsyncClient], Awaitable[tuple[str, dict[str, Any]]]]


async def dup_seed001_email_case(client: httpx.AsyncClient) -> tuple[str, dict[str, Any]]:
    response = await client.post("/api/v1/lead/", json={
        "name": "", "email": "DANA.Scully@FBI.gov", "phone": "", "source": "website",
        "intent": "HOT",
    })
    assert response.status_code == 200, response.text
    assert response.headers.get(DEDUPLICATED) == "true"
    lead = body_of(response)
    assert_seed001_lead_shape(lead)
    return lead["id"], {"intent": "HOT"}


async def dup_seed002_phone_format(client: httpx.AsyncClient) -> tuple[str, dict[str, Any]]:
    response = await client.post("/api/v1/leads", json={
        "phone": "(202) 555 0143", "company": "", "title": "", "email": "",
        "status": "contacted", "source": "website",
    })
    assert response.status_code == 200, response.text  # 201 is only for a new lead
    assert response.headers.get(DEDUPLICATED) == "true"
    lead = body_of(response)
    assert_seed002_lead_shape(lead)
    return lead["id"], {"status": "contacted"}


async def dup_seed002_email_case(client: httpx.AsyncClient) -> tuple[str, dict[str, Any]]:
    response = await client.post("/api/v1/leads", json={
        "email": "  Dana.Scully@FBI.GOV ", "tags": ["vip"], "notes": "Called back",
    })
    assert response.status_code == 200, response.text
    assert response.headers.get(DEDUPLICATED) == "true"
    return body_of(response)["id"], {"notes": "Called back", "tags": ["vip"]}


async def dup_graphql_phone(client: httpx.AsyncClient) -> tuple[str, dict[str, Any]]:
    result = await gql(client, CREATE_LEAD, {"input": {
        "phone": "12025550143", "company": None, "industry": "finance",
    }})
    assert result["_status"] == 200 and "errors" not in result, result
    lead_id: str = result["data"]["createLead"]["id"]
    assert result["extensions"]["leadgraph"] == {"deduplicated": [lead_id]}
    return lead_id, {"industry": "finance"}


DUPLICATES = {
    "seed001-email-case": dup_seed001_email_case,
    "seed002-phone-format": dup_seed002_phone_format,
    "seed002-email-case": dup_seed002_email_case,
    "graphql-phone-digits": dup_graphql_phone,
}


@pytest.mark.parametrize("duplicate", DUPLICATES.values(), ids=list(DUPLICATES))
async def test_creating_a_known_contact_updates_the_existing_lead(
    client: httpx.AsyncClient,
    duplicate: Callable[[httpx.AsyncClient], Awaitable[tuple[str, dict[str, Any]]]],
) -> None:
    original = await post_seed002(client, ORIGINAL)
    assert original["phone"] == "+12025550143"
    lead_id, changed = await duplicate(client)
    assert lead_id == original["id"]

    stored = await seed002_get(client, lead_id)
    expected = {**original, **changed}
    # Empty or missing values never erase what we knew; first-touch source is kept.
    for key in ("first_name", "last_name", "email", "phone", "company", "title", "industry",
                "notes", "source", "status", "intent", "tags", "created_at"):
        assert stored[key] == expected[key], (key, stored[key], expected[key])
    listing = await seed002_list(client)
    assert listing["total"] == 1 and [lead["id"] for lead in listing["leads"]] == [lead_id]
    assert (await seed000_list(client))["total"] == 1


async def test_dedup_unions_tags_and_new_values_win(client: httpx.AsyncClient) -> None:
    original = await post_seed002(client, {**ORIGINAL, "tags": ["Conference", "gov"]})
    assert original["tags"] == ["conference", "gov"]
    response = await client.post("/api/v1/leads", json={
        "email": ORIGINAL["email"], "tags": ["VIP", "gov"], "company": "X-Files Division",
    })
    assert response.status_code == 200, response.text
    assert response.headers.get(DEDUPLICATED) == "true"
    merged = body_of(response)
    assert merged["id"] == original["id"]
    assert merged["tags"] == ["conference", "gov", "vip"]
    assert merged["company"] == "X-Files Division"
    assert merged["title"] == "Special Agent"


async def test_a_different_contact_is_a_new_lead(client: httpx.AsyncClient) -> None:
    first = await post_seed002(client, ORIGINAL)
    response = await client.post("/api/v1/leads", json={
        "first_name": "Fox", "email": "fox.mulder@fbi.gov", "phone": "+1-202-555-0199",
    })
    assert response.status_code == 201, response.text
    assert DEDUPLICATED not in response.headers
    assert body_of(response)["id"] != first["id"]
    assert (await seed002_list(client))["total"] == 2


# -- one dialect writes, every reader sees it -------------------------------------------------


async def test_update_in_one_dialect_shows_everywhere(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    response = await client.post("/api/v1/lead/", json={
        "name": "Ada Lovelace", "email": "ada@engines.io", "source": "instagram",
        "intent": "COLD",
    })
    assert response.status_code == 200, response.text
    created = body_of(response)
    lead_id = created["id"]

    response = await client.put(f"/api/v1/leads/{lead_id}", json={
        "company": "Analytical Engines", "status": "qualified", "phone": "020 7946 0000",
        "intent": "hot",
    })
    assert response.status_code == 422  # a UK number without +44 is not a US number
    assert body_of(response)["details"]["field"] == "phone"
    response = await client.put(f"/api/v1/leads/{lead_id}", json={
        "company": "Analytical Engines", "status": "qualified", "phone": "+44 20 7946 0000",
        "intent": "hot",
    })
    assert response.status_code == 200, response.text
    await assert_same_lead_everywhere(
        server, client, lead_id, name="Ada Lovelace", first="Ada", last="Lovelace",
        email="ada@engines.io", phone="+442079460000", company="Analytical Engines",
        status="qualified", intent="HOT", source="instagram",
    )
    seed001 = await seed001_get(client, lead_id)
    assert parse_ts(seed001["updated_at"]) > parse_ts(created["updated_at"])

    result = await gql(client, UPDATE_LEAD, {"id": lead_id, "input": {
        "lastName": "King", "email": "Countess@Engines.io",
    }})
    assert "errors" not in result, result
    await assert_same_lead_everywhere(
        server, client, lead_id, name="Ada King", first="Ada", last="King",
        email="countess@engines.io", phone="+442079460000", company="Analytical Engines",
        status="qualified",
    )
    assert (await seed000_get(client, lead_id))["contact_info"] == "countess@engines.io"


# -- health ------------------------------------------------------------------------------------


async def test_root_is_public(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/")
    assert response.status_code == 200
    assert body_of(response) == {"message": "AI Lead Capture & Automation System is running!"}


async def test_health_seed001_with_version_and_timestamp(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/health")
    assert response.status_code == 200
    body = body_of(response)
    assert set(body) == {"status", "version", "timestamp"}
    assert body["status"] == "healthy"
    assert isinstance(body["version"], str) and body["version"]
    assert is_timestamp(body["timestamp"])


async def test_health_seed003_v1(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/v1/health")
    assert response.status_code == 200
    body = body_of(response)
    assert set(body) == {"status", "version", "timestamp"}
    assert body["status"] == "ok"
    assert body["version"] == body_of(await anonymous.get("/health"))["version"]
    assert is_timestamp(body["timestamp"])


async def test_health_seed004_liveness_and_readiness(anonymous: httpx.AsyncClient) -> None:
    live = await anonymous.get("/api/health/liveness")
    assert live.status_code == 200
    body = body_of(live)
    assert set(body) == {"status", "data"} and body["status"] == "success"
    assert body["data"]["status"] == "alive" and is_timestamp(body["data"]["timestamp"])

    ready = await anonymous.get("/api/health/readiness")
    assert ready.status_code == 200
    body = body_of(ready)
    assert set(body) == {"status", "data"} and body["status"] == "success"
    assert body["data"]["status"] == "ready"
    assert body["data"]["checks"] == {"mongodb": "up", "broker": "up"}
    assert is_timestamp(body["data"]["timestamp"])


async def test_public_routes_ignore_bad_credentials(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url,
                                 headers={"X-API-Key": "stale-key"}) as stale:
        assert (await stale.get("/")).status_code == 200
        assert body_of(await stale.get("/health"))["status"] == "healthy"
        assert body_of(await stale.get("/api/health/readiness"))["status"] == "success"


# -- GraphiQL at exactly /graphql -----------------------------------------------------------


async def test_graphiql_page_at_graphql_without_redirect(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/graphql", headers={"Accept": "text/html"},
                                   follow_redirects=False)
    assert response.status_code == 200
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()
    assert "Traceback" not in response.text


async def test_post_graphql_answers_without_redirect(client: httpx.AsyncClient) -> None:
    for accept in ("application/json", "text/html, application/json"):
        response = await client.post(
            "/graphql", json={"query": "{ __typename }"},
            headers={"Accept": accept}, follow_redirects=False,
        )
        assert response.status_code == 200, response.text
        assert "location" not in response.headers
        assert without_cost(response.json()) == {"data": {"__typename": "Query"}}
