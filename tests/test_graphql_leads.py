"""The leads slice over GraphQL: the public contract, CRUD, filters, paging, errors, batching."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from tests.support import API_KEY, LiveServer, gql, without_cost

LEAD_FIELDS = """
    id name firstName lastName email phone company title industry source status intent
    notes tags assignedTo createdAt updatedAt
"""
CREATE = f"mutation($input: LeadInput!) {{ createLead(input: $input) {{ {LEAD_FIELDS} }} }}"
UPDATE = (
    f"mutation($id: ID!, $input: LeadUpdateInput!) "
    f"{{ updateLead(id: $id, input: $input) {{ {LEAD_FIELDS} }} }}"
)
DELETE = "mutation($id: ID!) { deleteLead(id: $id) }"
GET = f"query($id: ID!) {{ lead(id: $id) {{ {LEAD_FIELDS} }} }}"
LIST = """
query($filter: LeadFilter, $orderBy: LeadOrder, $first: Int, $after: String, $offset: Int) {
  leads(filter: $filter, orderBy: $orderBy, first: $first, after: $after, offset: $offset) {
    edges { cursor node { id name email } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    totalCount
  }
}
"""
CREATE_USER = """
mutation($email: String!, $password: String!, $name: String) {
  createUser(email: $email, password: $password, name: $name) { id email name role }
}
"""
MISSING_ID = "0123456789abcdef01234567"


def only_error(result: dict[str, Any]) -> dict[str, Any]:
    """The single GraphQL error of a result, with a useful failure message."""
    assert result.get("errors"), result
    assert len(result["errors"]) == 1, result["errors"]
    error: dict[str, Any] = result["errors"][0]
    assert "Traceback" not in str(error), error
    return error


def code_of(result: dict[str, Any]) -> str:
    code: str = only_error(result)["extensions"]["code"]
    return code


async def create_lead(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    result = await gql(client, CREATE, {"input": fields})
    assert result["_status"] == 200, result
    assert "errors" not in result, result
    lead: dict[str, Any] = result["data"]["createLead"]
    return lead


async def create_user(client: httpx.AsyncClient, email: str, name: str) -> dict[str, Any]:
    result = await gql(client, CREATE_USER,
                       {"email": email, "password": "correct-horse-battery", "name": name})
    assert "errors" not in result, result
    user: dict[str, Any] = result["data"]["createUser"]
    return user


async def list_leads(client: httpx.AsyncClient, **variables: Any) -> dict[str, Any]:
    result = await gql(client, LIST, variables)
    assert "errors" not in result, result
    connection: dict[str, Any] = result["data"]["leads"]
    return connection


def emails(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["email"] for edge in connection["edges"]]


# -- the public contract ----------------------------------------------------------------------

INTROSPECT = """
query($name: String!) {
  __type(name: $name) {
    name kind
    fields { name args { name type { ...TypeRef } } type { ...TypeRef } }
    inputFields { name type { ...TypeRef } }
  }
}
fragment TypeRef on __Type {
  kind name ofType { kind name ofType { kind name ofType { kind name } } }
}
"""


def type_string(ref: dict[str, Any]) -> str:
    if ref["kind"] == "NON_NULL":
        return type_string(ref["ofType"]) + "!"
    if ref["kind"] == "LIST":
        return "[" + type_string(ref["ofType"]) + "]"
    name: str = ref["name"]
    return name


async def introspect(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    result = await gql(client, INTROSPECT, {"name": name})
    assert "errors" not in result, result
    found: dict[str, Any] = result["data"]["__type"]
    assert found is not None, name
    return found


async def test_query_root_exposes_lead_and_leads_with_the_documented_signatures(
    client: httpx.AsyncClient,
) -> None:
    query = await introspect(client, "Query")
    fields = {field["name"]: field for field in query["fields"]}

    lead = fields["lead"]
    assert type_string(lead["type"]) == "Lead"
    assert {arg["name"]: type_string(arg["type"]) for arg in lead["args"]} == {"id": "ID!"}

    leads = fields["leads"]
    assert type_string(leads["type"]) == "LeadConnection!"
    assert {arg["name"]: type_string(arg["type"]) for arg in leads["args"]} == {
        "filter": "LeadFilter", "orderBy": "LeadOrder", "first": "Int", "after": "String",
        "offset": "Int",
    }


async def test_connection_types_have_relay_shape(client: httpx.AsyncClient) -> None:
    def shape(found: dict[str, Any]) -> dict[str, str]:
        return {field["name"]: type_string(field["type"]) for field in found["fields"]}

    connection = shape(await introspect(client, "LeadConnection"))
    assert connection == {
        "edges": "[LeadEdge!]!", "pageInfo": "PageInfo!", "totalCount": "Int!",
    }
    assert shape(await introspect(client, "LeadEdge")) == {"cursor": "String!", "node": "Lead!"}
    page_info = shape(await introspect(client, "PageInfo"))
    assert page_info["hasNextPage"] == "Boolean!"
    assert page_info["endCursor"] == "String"


async def test_filter_and_order_inputs_have_the_documented_fields(
    client: httpx.AsyncClient,
) -> None:
    lead_filter = await introspect(client, "LeadFilter")
    assert {f["name"]: type_string(f["type"]) for f in lead_filter["inputFields"]} == {
        "status": "[LeadStatus!]", "source": "[LeadSource!]", "intent": "[LeadIntent!]",
        "assignedTo": "ID", "minScore": "Float", "search": "String",
    }
    order = await introspect(client, "LeadOrder")
    assert {f["name"]: type_string(f["type"]) for f in order["inputFields"]} == {
        "field": "LeadSortField!", "direction": "SortDirection!",
    }

    result = await gql(client, """{
      sort: __type(name: "LeadSortField") { enumValues { name } }
      direction: __type(name: "SortDirection") { enumValues { name } }
    }""")
    sort_fields = {value["name"] for value in result["data"]["sort"]["enumValues"]}
    assert {"CREATED_AT", "NAME", "SCORE"} <= sort_fields
    assert [v["name"] for v in result["data"]["direction"]["enumValues"]] == ["ASC", "DESC"]


async def test_mutation_root_signatures(client: httpx.AsyncClient) -> None:
    mutation = await introspect(client, "Mutation")
    fields = {field["name"]: field for field in mutation["fields"]}
    signatures = {
        name: (
            {arg["name"]: type_string(arg["type"]) for arg in fields[name]["args"]},
            type_string(fields[name]["type"]),
        )
        for name in ("createLead", "updateLead", "deleteLead")
    }
    assert signatures == {
        "createLead": ({"input": "LeadInput!"}, "Lead!"),
        "updateLead": ({"id": "ID!", "input": "LeadUpdateInput!"}, "Lead!"),
        "deleteLead": ({"id": "ID!"}, "Boolean!"),
    }


# -- CRUD round trip ---------------------------------------------------------------------------

async def test_create_read_update_delete_round_trip(client: httpx.AsyncClient) -> None:
    created = await create_lead(
        client, firstName="Ada", lastName="Lovelace", email="Ada@Example.com",
        phone="+44 20 7946 0958", company="Analytical Engines", title="CTO",
        industry="Technology", source="REFERRAL", intent="HOT", tags=["VIP", " math "],
    )
    lead_id = created["id"]
    assert created["name"] == "Ada Lovelace"
    assert created["email"] == "ada@example.com"
    assert created["phone"] == "+442079460958"
    assert created["industry"] == "technology"
    assert (created["source"], created["status"], created["intent"]) == ("REFERRAL", "NEW", "HOT")
    assert created["tags"] == ["math", "vip"]
    assert created["assignedTo"] is None

    fetched = await gql(client, GET, {"id": lead_id})
    assert fetched["data"]["lead"] == created

    updated = await gql(client, UPDATE, {"id": lead_id, "input": {
        "status": "QUALIFIED", "notes": "Called back",
    }})
    assert "errors" not in updated, updated
    lead = updated["data"]["updateLead"]
    assert lead["status"] == "QUALIFIED"
    assert lead["notes"] == "Called back"
    assert lead["email"] == "ada@example.com"
    assert lead["createdAt"] == created["createdAt"]
    assert lead["updatedAt"] >= created["updatedAt"]

    listed = await list_leads(client)
    assert listed["totalCount"] == 1
    assert [edge["node"]["id"] for edge in listed["edges"]] == [lead_id]

    deleted = await gql(client, DELETE, {"id": lead_id})
    assert without_cost(deleted) == {"data": {"deleteLead": True}, "_status": 200}
    assert (await gql(client, GET, {"id": lead_id}))["data"] == {"lead": None}
    assert (await list_leads(client))["totalCount"] == 0


async def test_score_is_computed_and_explained(client: httpx.AsyncClient) -> None:
    result = await gql(client, """
      mutation { createLead(input: {name: "Grace Hopper", email: "grace@navy.mil",
        company: "US Navy", title: "Director", industry: "software", intent: HOT}) {
        score { overallScore intentScore modelVersion factors { positiveFactors } }
      } }""")
    score = result["data"]["createLead"]["score"]
    # demographic 1.0 (company, senior title, industry, reachable) * 0.30 + intent 0.9 * 0.30;
    # a brand-new lead has no behavioural or engagement signals yet.
    assert score["overallScore"] == pytest.approx(0.57)
    assert score["intentScore"] == pytest.approx(0.9)
    assert score["modelVersion"]
    assert "High purchase intent" in score["factors"]["positiveFactors"]


async def test_create_with_existing_email_deduplicates_and_says_so(
    client: httpx.AsyncClient,
) -> None:
    first = await create_lead(client, name="Alan Turing", email="alan@bletchley.uk",
                              source="WEBSITE", tags=["crypto"])
    result = await gql(client, CREATE, {"input": {
        "email": "  ALAN@bletchley.uk ", "company": "Bletchley Park", "source": "VOICE",
        "tags": ["math"],
    }})
    assert "errors" not in result, result
    again = result["data"]["createLead"]
    assert again["id"] == first["id"]
    assert result["extensions"]["leadgraph"]["deduplicated"] == [first["id"]]
    assert again["company"] == "Bletchley Park"
    assert again["name"] == "Alan Turing"
    assert again["source"] == "WEBSITE"  # first-touch attribution is kept
    assert again["tags"] == ["crypto", "math"]
    assert (await list_leads(client))["totalCount"] == 1


async def test_fresh_create_has_no_dedup_notice(client: httpx.AsyncClient) -> None:
    result = await gql(client, CREATE, {"input": {"name": "New Person", "email": "n@p.io"}})
    assert "errors" not in result, result
    assert "leadgraph" not in (result.get("extensions") or {})


async def test_update_with_explicit_null_clears_and_omitted_fields_stay(
    client: httpx.AsyncClient,
) -> None:
    lead = await create_lead(client, name="Kay Nullable", email="kay@null.io",
                             company="Nulls Inc", notes="keep me", title="Engineer")
    result = await gql(client, UPDATE, {"id": lead["id"], "input": {
        "company": None, "title": "Staff Engineer",
    }})
    assert "errors" not in result, result
    updated = result["data"]["updateLead"]
    assert updated["company"] is None
    assert updated["title"] == "Staff Engineer"
    assert updated["notes"] == "keep me"
    assert updated["email"] == "kay@null.io"
    assert updated["name"] == "Kay Nullable"

    stored = (await gql(client, GET, {"id": lead["id"]}))["data"]["lead"]
    assert stored == updated


async def test_update_to_another_leads_email_is_a_conflict(client: httpx.AsyncClient) -> None:
    await create_lead(client, name="Owner", email="taken@x.io")
    other = await create_lead(client, name="Other", email="other@x.io")
    result = await gql(client, UPDATE, {"id": other["id"], "input": {"email": "TAKEN@x.io"}})
    assert result["data"] is None
    assert code_of(result) == "CONFLICT"
    stored = (await gql(client, GET, {"id": other["id"]}))["data"]["lead"]
    assert stored["email"] == "other@x.io"


async def test_assigning_to_a_missing_user_is_bad_input(client: httpx.AsyncClient) -> None:
    result = await gql(client, CREATE, {"input": {"name": "X", "assignedTo": MISSING_ID}})
    error = only_error(result)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert [f["field"] for f in error["extensions"]["fields"]] == ["assigned_to"]
    assert (await list_leads(client))["totalCount"] == 0

    lead = await create_lead(client, name="Y")
    result = await gql(client, UPDATE, {"id": lead["id"], "input": {"assignedTo": MISSING_ID}})
    error = only_error(result)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert [f["field"] for f in error["extensions"]["fields"]] == ["assigned_to"]


async def test_assignee_resolves_to_the_user(client: httpx.AsyncClient) -> None:
    user = await create_user(client, "agent@leadgraph.dev", "Agent Smith")
    assert user["role"] == "AGENT"
    lead = await create_lead(client, name="Assigned Lead", assignedTo=user["id"])
    assert lead["assignedTo"] == user["id"]

    result = await gql(client, "query($id: ID!) { lead(id: $id) { assignee { id email } } }",
                       {"id": lead["id"]})
    assert result["data"]["lead"]["assignee"] == {"id": user["id"], "email": "agent@leadgraph.dev"}

    result = await gql(client, UPDATE, {"id": lead["id"], "input": {"assignedTo": None}})
    assert result["data"]["updateLead"]["assignedTo"] is None


# -- filters and ordering ----------------------------------------------------------------------

async def test_filters(client: httpx.AsyncClient) -> None:
    user = await create_user(client, "owner@leadgraph.dev", "Owner")
    hot = await create_lead(client, name="Hot Lead", email="hot@acme.io", company="Acme",
                            title="CEO", industry="software", intent="HOT", source="REFERRAL",
                            status="QUALIFIED", assignedTo=user["id"])
    warm = await create_lead(client, name="Warm Lead", email="warm@globex.io",
                             intent="WARM", source="WEBSITE", status="CONTACTED")
    cold = await create_lead(client, name="Cold Lead", email="cold@initech.io",
                             company="Initech", intent="COLD", source="VOICE")

    async def matching(lead_filter: dict[str, Any]) -> set[str]:
        connection = await list_leads(client, filter=lead_filter)
        assert connection["totalCount"] == len(connection["edges"])
        return {edge["node"]["id"] for edge in connection["edges"]}

    assert await matching({}) == {hot["id"], warm["id"], cold["id"]}
    assert await matching({"status": ["QUALIFIED", "CONTACTED"]}) == {hot["id"], warm["id"]}
    assert await matching({"status": ["NEW"]}) == {cold["id"]}
    assert await matching({"source": ["VOICE"]}) == {cold["id"]}
    assert await matching({"source": ["WEBSITE", "REFERRAL"]}) == {hot["id"], warm["id"]}
    assert await matching({"intent": ["HOT"]}) == {hot["id"]}
    assert await matching({"intent": ["COLD", "WARM"]}) == {warm["id"], cold["id"]}
    assert await matching({"assignedTo": user["id"]}) == {hot["id"]}
    assert await matching({"minScore": 0.5}) == {hot["id"]}
    assert await matching({"minScore": 0.0}) == {hot["id"], warm["id"], cold["id"]}
    assert await matching({"search": "GLOBEX"}) == {warm["id"]}  # email, case-insensitive
    assert await matching({"search": "initech"}) == {cold["id"]}
    assert await matching({"search": "lead"}) == {hot["id"], warm["id"], cold["id"]}
    assert await matching({"search": "a.c"}) == set()  # regex characters are literal
    assert await matching({"intent": ["HOT"], "status": ["NEW"]}) == set()


async def test_min_score_out_of_range_is_bad_input(client: httpx.AsyncClient) -> None:
    result = await gql(client, LIST, {"filter": {"minScore": 2}})
    error = only_error(result)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert [f["field"] for f in error["extensions"]["fields"]] == ["min_score"]


async def test_order_by(client: httpx.AsyncClient) -> None:
    # Created in this order; names and scores deliberately in another.
    await create_lead(client, name="Bob Middle", email="1@o.io", company="C", intent="WARM")
    await create_lead(client, name="Carol Last", email="2@o.io", intent="COLD")
    await create_lead(client, name="Alice First", email="3@o.io", company="C", title="CEO",
                      industry="software", intent="HOT")

    async def order(order_by: dict[str, str] | None) -> list[str]:
        return emails(await list_leads(client, orderBy=order_by))

    assert await order(None) == ["3@o.io", "2@o.io", "1@o.io"]
    assert await order({"field": "CREATED_AT", "direction": "DESC"}) == [
        "3@o.io", "2@o.io", "1@o.io"]
    assert await order({"field": "CREATED_AT", "direction": "ASC"}) == [
        "1@o.io", "2@o.io", "3@o.io"]
    assert await order({"field": "CREATED_AT"}) == ["3@o.io", "2@o.io", "1@o.io"]
    assert await order({"field": "NAME", "direction": "ASC"}) == ["3@o.io", "1@o.io", "2@o.io"]
    assert await order({"field": "NAME", "direction": "DESC"}) == ["2@o.io", "1@o.io", "3@o.io"]
    assert await order({"field": "SCORE", "direction": "DESC"}) == [
        "3@o.io", "1@o.io", "2@o.io"]
    assert await order({"field": "SCORE", "direction": "ASC"}) == ["2@o.io", "1@o.io", "3@o.io"]


# -- paging ------------------------------------------------------------------------------------

async def seed_leads(client: httpx.AsyncClient, count: int, **fields: Any) -> list[str]:
    """``count`` leads created in order; returns their ids oldest first."""
    return [
        (await create_lead(client, name=f"Lead {index:02d}", email=f"lead{index:02d}@page.io",
                           **fields))["id"]
        for index in range(count)
    ]


async def test_cursor_paging_walks_every_lead_once(client: httpx.AsyncClient) -> None:
    ids = await seed_leads(client, 25)
    seen: list[str] = []
    sizes: list[int] = []
    after: str | None = None
    pages: list[dict[str, Any]] = []
    for _ in range(5):  # bounded: 3 pages are expected
        connection = await list_leads(
            client, first=10, after=after, orderBy={"field": "CREATED_AT", "direction": "ASC"}
        )
        pages.append(connection)
        assert connection["totalCount"] == 25
        sizes.append(len(connection["edges"]))
        seen += [edge["node"]["id"] for edge in connection["edges"]]
        info = connection["pageInfo"]
        assert info["endCursor"] == connection["edges"][-1]["cursor"]
        assert info["startCursor"] == connection["edges"][0]["cursor"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert sizes == [10, 10, 5]
    assert seen == ids  # no duplicates, no gaps, in order
    assert [page["pageInfo"]["hasPreviousPage"] for page in pages] == [False, True, True]
    assert pages[-1]["pageInfo"]["hasNextPage"] is False


async def test_offset_paging(client: httpx.AsyncClient) -> None:
    ids = await seed_leads(client, 12)
    newest_first = list(reversed(ids))

    connection = await list_leads(client, first=5, offset=5)
    assert [edge["node"]["id"] for edge in connection["edges"]] == newest_first[5:10]
    assert connection["pageInfo"]["hasNextPage"] is True
    assert connection["pageInfo"]["hasPreviousPage"] is True
    assert connection["totalCount"] == 12

    connection = await list_leads(client, first=5, offset=10)
    assert [edge["node"]["id"] for edge in connection["edges"]] == newest_first[10:]
    assert connection["pageInfo"]["hasNextPage"] is False

    beyond = await list_leads(client, first=5, offset=50)
    assert beyond["edges"] == []
    assert beyond["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True,
                                  "startCursor": None, "endCursor": None}
    assert beyond["totalCount"] == 12

    # offset counts from the cursor when both are given
    first_page = await list_leads(client, first=3)
    after_cursor = await list_leads(client, first=3, after=first_page["pageInfo"]["endCursor"],
                                    offset=2)
    assert [edge["node"]["id"] for edge in after_cursor["edges"]] == newest_first[5:8]


async def test_default_page_size_is_twenty(client: httpx.AsyncClient) -> None:
    await seed_leads(client, 21)
    connection = await list_leads(client)
    assert len(connection["edges"]) == 20
    assert connection["pageInfo"]["hasNextPage"] is True


@pytest.mark.parametrize(("variables", "field"), [
    ({"first": 101}, "first"),
    ({"first": 0}, "first"),
    ({"first": -1}, "first"),
    ({"offset": -1}, "offset"),
    ({"after": "not-a-cursor"}, "after"),
    ({"after": base64.urlsafe_b64encode(b"offset:-5").decode()}, "after"),
    ({"after": base64.urlsafe_b64encode(b"position:3").decode()}, "after"),
])
async def test_bad_paging_arguments_are_bad_user_input(
    client: httpx.AsyncClient, variables: dict[str, Any], field: str
) -> None:
    result = await gql(client, LIST, variables)
    assert result["_status"] == 200
    assert result["data"] is None
    error = only_error(result)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert [f["field"] for f in error["extensions"]["fields"]] == [field]
    assert error["path"] == ["leads"]


async def test_first_100_is_allowed(client: httpx.AsyncClient) -> None:
    await seed_leads(client, 2)
    assert len((await list_leads(client, first=100))["edges"]) == 2


# -- error codes -------------------------------------------------------------------------------

async def test_missing_lead(client: httpx.AsyncClient) -> None:
    assert (await gql(client, GET, {"id": MISSING_ID}))["data"] == {"lead": None}
    assert (await gql(client, GET, {"id": "not-an-object-id"}))["data"] == {"lead": None}

    updated = await gql(client, UPDATE, {"id": MISSING_ID, "input": {"notes": "x"}})
    assert updated["data"] is None
    assert code_of(updated) == "NOT_FOUND"
    assert only_error(updated)["path"] == ["updateLead"]

    deleted = await gql(client, DELETE, {"id": MISSING_ID})
    assert deleted["data"] is None
    assert code_of(deleted) == "NOT_FOUND"

    assert code_of(await gql(client, DELETE, {"id": "garbage"})) == "NOT_FOUND"


async def test_delete_twice_is_not_found(client: httpx.AsyncClient) -> None:
    lead = await create_lead(client, name="Once")
    assert (await gql(client, DELETE, {"id": lead["id"]}))["data"] == {"deleteLead": True}
    assert code_of(await gql(client, DELETE, {"id": lead["id"]})) == "NOT_FOUND"


async def test_bad_email_names_the_field(client: httpx.AsyncClient) -> None:
    result = await gql(client, CREATE, {"input": {"name": "Bad", "email": "not-an-email"}})
    assert result["_status"] == 200
    assert result["data"] is None
    error = only_error(result)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert [f["field"] for f in error["extensions"]["fields"]] == ["email"]
    assert "email" in error["message"]
    assert (await list_leads(client))["totalCount"] == 0


async def test_lead_without_name_or_contact_is_bad_input(client: httpx.AsyncClient) -> None:
    result = await gql(client, CREATE, {"input": {"company": "Nobody Corp"}})
    assert code_of(result) == "BAD_USER_INPUT"


async def test_unknown_enum_value_in_variables_is_a_validation_error(
    client: httpx.AsyncClient,
) -> None:
    result = await gql(client, LIST, {"filter": {"status": ["BOGUS"]}})
    assert result["_status"] == 200
    assert result.get("data") is None
    error = only_error(result)
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "BOGUS" in error["message"]

    created = await gql(client, CREATE, {"input": {"name": "Z", "intent": "SCORCHING"}})
    assert created["_status"] == 200
    assert code_of(created) == "GRAPHQL_VALIDATION_FAILED"
    assert (await list_leads(client))["totalCount"] == 0


async def test_unknown_enum_literal_in_query_is_a_validation_error(
    client: httpx.AsyncClient,
) -> None:
    result = await gql(client, "{ leads(orderBy: {field: SHOE_SIZE}) { totalCount } }")
    assert result["_status"] == 200
    assert code_of(result) == "GRAPHQL_VALIDATION_FAILED"


async def test_no_credentials_is_401_unauthenticated(anonymous: httpx.AsyncClient) -> None:
    result = await gql(anonymous, "{ leads { totalCount } }")
    assert result["_status"] == 401
    assert result["data"] is None
    error = only_error(result)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"

    result = await gql(anonymous, CREATE, {"input": {"name": "Sneaky"}})
    assert result["_status"] == 401
    assert code_of(result) == "UNAUTHENTICATED"


@pytest.mark.parametrize("headers", [
    {"X-API-Key": "wrong-key"},
    {"Authorization": "Bearer wrong-key"},
    {"Authorization": "Bearer not.a.jwt"},
])
async def test_wrong_credentials_are_401_unauthenticated(
    server: LiveServer, anonymous: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    result = await gql(anonymous, CREATE, {"input": {"name": "Sneaky"}}, headers=headers)
    assert result["_status"] == 401
    assert code_of(result) == "UNAUTHENTICATED"
    async with httpx.AsyncClient(base_url=server.base_url,
                                 headers={"X-API-Key": API_KEY}) as admin:
        assert (await list_leads(admin))["totalCount"] == 0


async def test_anonymous_introspection_is_allowed(anonymous: httpx.AsyncClient) -> None:
    result = await gql(anonymous, "{ __schema { queryType { name } } }")
    assert without_cost(result) == {
        "data": {"__schema": {"queryType": {"name": "Query"}}}, "_status": 200}


# -- query count (DataLoader batching) ---------------------------------------------------------

LIST_WITH_ASSIGNEES = """
{ leads(first: 50) { edges { node { id score { overallScore } assignee { id email } } } } }
"""


async def data_commands_for_listing(
    server: LiveServer, client: httpx.AsyncClient, lead_count: int
) -> tuple[int, list[tuple[str, str]]]:
    users = [await create_user(client, f"agent{index}@count.dev", f"Agent {index}")
             for index in range(3)]
    for index in range(lead_count):
        await create_lead(client, name=f"Counted {index}", email=f"c{index}@count.dev",
                          assignedTo=users[index % len(users)]["id"])
    await server.settle()
    server.commands.reset()
    result = await gql(client, LIST_WITH_ASSIGNEES)
    commands = server.commands.data_commands()
    log = server.commands.request_log()
    assert "errors" not in result, result
    nodes = [edge["node"] for edge in result["data"]["leads"]["edges"]]
    assert len(nodes) == lead_count
    emails_by_id = {user["id"]: user["email"] for user in users}
    for node in nodes:
        assert node["assignee"]["email"] == emails_by_id[node["assignee"]["id"]]
    return commands, log


async def test_listing_with_assignees_uses_a_constant_number_of_queries(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    few, few_log = await data_commands_for_listing(server, client, 5)
    await server.clear_database()
    many, many_log = await data_commands_for_listing(server, client, 40)
    assert few == many, (few_log, many_log)
    # one find for the page (no count: totalCount is not selected), one batched users find
    assert few == 2, few_log
    assert [name for name, _ in few_log if name in {"find", "aggregate", "count"}] == [
        "find", "find"], few_log
    assert sorted(name for name, _ in few_log if name in {"find", "aggregate", "count"}) == sorted(
        name for name, _ in many_log if name in {"find", "aggregate", "count"})


async def test_total_count_costs_one_query_only_when_selected(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    for index in range(3):
        await gql(client, "mutation($e: String!) { createLead(input: {email: $e}) { id } }",
                  {"e": f"count{index}@example.com"})
    await server.settle()
    server.commands.reset()
    without = await gql(client, "{ leads(first: 2) { pageInfo { hasNextPage } } }")
    assert without["data"]["leads"]["pageInfo"]["hasNextPage"] is True
    assert server.commands.data_commands() == 1
    server.commands.reset()
    counted = await gql(client, "{ leads(first: 2) { totalCount pageInfo { hasNextPage } } }")
    assert counted["data"]["leads"] == {"totalCount": 3, "pageInfo": {"hasNextPage": True}}
    assert server.commands.data_commands() == 2
