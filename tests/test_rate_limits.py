"""Rate limits (per dialect, per key/user/IP, shared through Redis) and GraphQL query cost.

The servers here run the seed rules scaled by ``rate_limit_multiplier=0.03`` (100/min -> 3,
1000/min -> 30, GraphQL budgets 300/3000 points), so a limit is reached in a few requests.
Every test uses fresh principals or its own loopback source address (127.0.0.x), so tests
never share a counter.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import parse

from leadgraph.domain.ratelimits import POLICIES, buckets_for
from leadgraph.domain.users import ApiKeyTier, Principal, PrincipalKind, Role
from leadgraph.schema import build_schema
from leadgraph.schema.cost import FIELD_COSTS, operation_cost
from tests.conftest import make_settings, serve
from tests.support import API_KEY, GraphQLSocket, LiveServer, gql

MULTIPLIER = 0.03
MAX_COST = 1000
_addresses = itertools.count(2)


@pytest.fixture(scope="module")
async def limited(
    mongo_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveServer]:
    settings = make_settings(
        mongo_url, redis_url, tmp_path_factory.mktemp("limited"),
        rate_limit_multiplier=MULTIPLIER, graphql_max_cost=MAX_COST,
    )
    async with serve(settings) as server:
        yield server


def source_address() -> str:
    """A loopback address of its own (Linux routes all of 127/8 to lo): a fresh client IP."""
    return f"127.0.0.{next(_addresses)}"


def http(server: LiveServer, headers: dict[str, str] | None = None,
         address: str | None = None) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=address or source_address())
    return httpx.AsyncClient(base_url=server.base_url, headers=headers or {},
                             transport=transport, timeout=30)


async def new_key(server: LiveServer, tier: str = "STANDARD") -> str:
    async with http(server, {"X-API-Key": API_KEY}) as admin:
        result = await gql(admin, "mutation($n: String!, $t: ApiKeyTier!) { "
                           "createApiKey(name: $n, tier: $t) { key } }",
                           {"n": f"rl-{uuid.uuid4().hex[:6]}", "t": tier})
    key: str = result["data"]["createApiKey"]["key"]
    return key


def limit_headers(response: httpx.Response) -> tuple[int, int, int]:
    return (int(response.headers["X-RateLimit-Limit"]),
            int(response.headers["X-RateLimit-Remaining"]),
            int(response.headers["X-RateLimit-Reset"]))


# Per dialect: a protected GET route, the limit a standard key gets there, and how the
# dialect spells a 429 body.
DIALECTS: list[tuple[str, str, int, Any]] = [
    ("000", "/api/leads", 3, lambda body: body["error"]["code"] == "rate_limited"),
    ("001", "/api/v1/analytics/summary", 30, lambda body: "Rate limit" in body["detail"]),
    ("002", "/api/v1/leads", 3, lambda body: body["status_code"] == 429
     and body["error"] == "Too many requests"),
    ("003", "/v1/conversations", 30, lambda body: body["error"]["code"] == "rate_limited"),
    ("004", "/api/conversations", 3, lambda body: body["status"] == "error"
     and body["error"]["code"] == 429),
]


@pytest.mark.parametrize(("seed", "path", "limit", "envelope"), DIALECTS,
                         ids=[row[0] for row in DIALECTS])
async def test_each_dialect_counts_down_then_answers_429_in_its_envelope(
    limited: LiveServer, seed: str, path: str, limit: int, envelope: Any
) -> None:
    key = await new_key(limited)
    async with http(limited, {"X-API-Key": key}) as client:
        remaining = []
        for _ in range(limit):
            response = await client.get(path)
            assert response.status_code == 200, (seed, response.text)
            assert "Retry-After" not in response.headers
            seen_limit, left, reset = limit_headers(response)
            assert seen_limit == limit
            assert reset > 1_600_000_000  # epoch seconds, as seeds 002 and 004 show
            remaining.append(left)
        assert remaining == list(range(limit - 1, -1, -1))

        refused = await client.get(path)
        assert refused.status_code == 429, refused.text
        assert envelope(refused.json()), refused.json()
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert limit_headers(refused)[:2] == (limit, 0)


async def test_keys_and_ips_are_counted_apart(limited: LiveServer) -> None:
    first, second = await new_key(limited), await new_key(limited)
    async with http(limited, {"X-API-Key": first}) as a, \
            http(limited, {"X-API-Key": second}) as b:
        for _ in range(3):
            assert (await a.get("/api/leads")).status_code == 200
        assert (await a.get("/api/leads")).status_code == 429
        fresh = await b.get("/api/leads")
        assert fresh.status_code == 200
        assert limit_headers(fresh)[1] == 2

    # Seed 003's public routes: 100 (here 3) per minute per IP.
    async with http(limited) as one, http(limited) as other:
        for _ in range(3):
            assert (await one.get("/v1/health")).status_code == 200
        refused = await one.get("/v1/health")
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        assert (await other.get("/v1/health")).status_code == 200


async def new_user_token(server: LiveServer) -> str:
    email = f"rl-{uuid.uuid4().hex[:8]}@example.com"
    async with http(server, {"X-API-Key": API_KEY}) as admin:
        created = await gql(admin, "mutation($e: String!) { createUser(email: $e, "
                            'password: "long-enough-pw") { id } }', {"e": email})
        assert created["data"]["createUser"]["id"], created
    async with http(server) as visitor:  # its own IP: logins are anonymous, counted per IP
        login = await gql(visitor, "mutation($e: String!) { login(identifier: $e, "
                          'password: "long-enough-pw") { accessToken } }', {"e": email})
    token: str = login["data"]["login"]["accessToken"]
    return token


async def test_users_are_counted_apart(limited: LiveServer) -> None:
    """Seed 002: per user. Two users behind one IP have a budget each."""
    address = source_address()
    first, second = await new_user_token(limited), await new_user_token(limited)
    async with http(limited, {"Authorization": f"Bearer {first}"}, address) as a, \
            http(limited, {"Authorization": f"Bearer {second}"}, address) as b:
        assert [limit_headers(await a.get("/api/v1/leads"))[1] for _ in range(3)] == [2, 1, 0]
        assert (await a.get("/api/v1/leads")).status_code == 429
        answer = await b.get("/api/v1/leads")
        assert answer.status_code == 200, answer.text
        assert limit_headers(answer)[:2] == (3, 2)


async def test_tiers_and_bad_credentials(limited: LiveServer) -> None:
    """Seed 004: standard 100, enterprise 1000 per minute; a 401 is counted and stamped too."""
    standard, enterprise = await new_key(limited), await new_key(limited, "ENTERPRISE")
    async with http(limited, {"X-API-Key": standard}) as s, \
            http(limited, {"X-API-Key": enterprise}) as e:
        assert limit_headers(await s.get("/api/conversations"))[0] == 3
        assert limit_headers(await e.get("/api/conversations"))[0] == 30

    async with http(limited, {"X-API-Key": "not-a-key"}) as stranger:
        answers = [await stranger.get("/api/leads") for _ in range(4)]
    assert [r.status_code for r in answers] == [401, 401, 401, 429]
    assert [limit_headers(r)[1] for r in answers] == [2, 1, 0, 0]
    assert answers[-1].json()["error"]["code"] == "rate_limited"


def test_rules_are_the_documents() -> None:
    user = Principal(PrincipalKind.USER, "u1", "u", Role.AGENT)
    enterprise = Principal(PrincipalKind.API_KEY, "k1", "k", Role.ADMIN,
                           tier=ApiKeyTier.ENTERPRISE)
    windows = {(b.amount, b.seconds)
               for b in buckets_for("lead_management", user, "1.2.3.4", public=False)}
    assert windows == {(100, 60), (1000, 3600)}  # seed 002
    assert [(b.amount, b.key) for b in buckets_for("agency_chat", enterprise, "ip",
                                                   public=False)] == [
        (100, "agency_chat:api_key:k1")]  # seed 000: per key, whatever the tier
    assert [b.amount for b in buckets_for("chatbots_platform", enterprise, "ip",
                                          public=False)] == [1000]  # seed 004
    assert [b.amount for b in buckets_for("chatbots_platform", user, "ip",
                                          public=False)] == [100]
    assert [(b.amount, b.key) for b in buckets_for("customer_care", user, "1.2.3.4",
                                                   public=True)] == [
        (100, "customer_care:ip:1.2.3.4")]  # seed 003: public routes per IP
    assert [b.amount for b in buckets_for("customer_care", user, "ip", public=False)] == [1000]
    assert set(POLICIES) >= {"agency_chat", "lead_capture", "lead_management",
                             "customer_care", "chatbots_platform", "graphql"}


async def test_redis_counts_are_shared_by_two_replicas(
    mongo_url: str, redis_url: str, tmp_path: Path
) -> None:
    shared = {"redis_channel_prefix": f"lgtest-rl-{uuid.uuid4().hex[:8]}",
              "mongodb_db_name": f"lgtest_rl_{uuid.uuid4().hex[:8]}",
              "rate_limit_multiplier": MULTIPLIER}
    first = make_settings(mongo_url, redis_url, tmp_path / "a", **shared)
    second = make_settings(mongo_url, redis_url, tmp_path / "b", **shared)
    async with serve(first) as a, serve(second) as b:
        address = source_address()
        async with http(a, {"X-API-Key": API_KEY}, address) as to_a, \
                http(b, {"X-API-Key": API_KEY}, address) as to_b:
            assert limit_headers(await to_a.get("/api/leads"))[1] == 2
            assert limit_headers(await to_b.get("/api/leads"))[1] == 1
            assert limit_headers(await to_a.get("/api/leads"))[1] == 0
            assert (await to_b.get("/api/leads")).status_code == 429
            # Public routes by IP: shared the same way.
            for _ in range(3):
                assert (await to_b.get("/v1/health")).status_code == 200
            assert (await to_a.get("/v1/health")).status_code == 429


async def test_in_process_limits_without_redis(mongo_url: str, tmp_path: Path) -> None:
    settings = make_settings(mongo_url, None, tmp_path, rate_limit_multiplier=MULTIPLIER)
    async with serve(settings) as server, \
            http(server, {"X-API-Key": API_KEY}) as client:
        answers = [await client.get("/api/leads") for _ in range(4)]
        assert [r.status_code for r in answers] == [200, 200, 200, 429]
        assert [limit_headers(r)[1] for r in answers] == [2, 1, 0, 0]
        assert "Retry-After" in answers[-1].headers


# -- GraphQL -------------------------------------------------------------------------------

CHEAP = "{ me { id } }"
EXPENSIVE = "query($n: Int) { leads(first: $n) { edges { node { id assignee { id } } } } }"


async def test_graphql_reports_cost_and_charges_it(limited: LiveServer) -> None:
    key = await new_key(limited)  # standard: 10,000 x 0.03 = 300 points a minute
    async with http(limited, {"X-API-Key": key}) as client:
        cheap = await client.post("/graphql", json={"query": CHEAP})
        body = cheap.json()
        assert body["extensions"]["cost"]["requested"] == 1
        assert body["extensions"]["cost"]["maximum"] == MAX_COST
        assert body["extensions"]["cost"]["rateLimit"]["limit"] == 300
        assert body["extensions"]["cost"]["rateLimit"]["remaining"] == 299
        assert limit_headers(cheap)[:2] == (300, 299)

        expensive = await client.post(
            "/graphql", json={"query": EXPENSIVE, "variables": {"n": 10}})
        cost = expensive.json()["extensions"]["cost"]
        assert cost["requested"] == 1 + 10 * 3  # leads, then per edge: edge, node, assignee
        assert cost["rateLimit"]["remaining"] == 299 - 31
        assert limit_headers(expensive)[1] == 299 - 31


async def test_graphql_budget_refuses_before_any_resolver(limited: LiveServer) -> None:
    query = "{ leads(first: 100) { edges { node { id conversations { id } } } } }"
    async with http(limited, {"X-API-Key": API_KEY}) as client:
        limited.commands.reset()
        response = await client.post("/graphql", json={"query": query})
    body = response.json()
    assert response.status_code == 200
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert error["extensions"]["cost"] == 1 + 100 * (1 + 1 + 20) > MAX_COST
    assert "leads" not in {collection for _, collection in limited.commands.request_log()}
    assert "X-RateLimit-Remaining" in response.headers  # refused, still counted and stamped

    async with http(limited, {"X-API-Key": API_KEY}) as client:
        for bad in ("{ leads { totalCount ", "{ nope }"):
            answer = await client.post("/graphql", json={"query": bad})
            assert answer.json()["errors"][0]["extensions"]["code"] == \
                "GRAPHQL_VALIDATION_FAILED"
            assert "X-RateLimit-Limit" in answer.headers, bad


async def test_graphql_over_budget_is_a_429_with_a_graphql_error(limited: LiveServer) -> None:
    key = await new_key(limited)
    async with http(limited, {"X-API-Key": key}) as client:
        spend = {"query": EXPENSIVE, "variables": {"n": 60}}  # 181 points of 300
        assert (await client.post("/graphql", json=spend)).status_code == 200
        refused = await client.post("/graphql", json=spend)
        assert refused.status_code == 429
        body = refused.json()
        assert body["data"] is None
        [error] = body["errors"]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert 1 <= error["extensions"]["retryAfter"] <= 60
        assert refused.headers["Retry-After"] == str(error["extensions"]["retryAfter"])
        # A cheaper operation still fits in what is left.
        cheap = await client.post("/graphql", json={"query": CHEAP})
        assert cheap.status_code == 200
        assert cheap.json()["extensions"]["cost"]["rateLimit"]["remaining"] == 300 - 181 - 1


async def test_each_operation_of_a_batch_is_charged(limited: LiveServer) -> None:
    key = await new_key(limited)
    async with http(limited, {"X-API-Key": key}) as client:
        batch = [{"query": EXPENSIVE, "variables": {"n": 5}}] * 3  # 16 points each
        response = await client.post("/graphql", json=batch)
        assert response.status_code == 200, response.text
        assert [item["extensions"]["cost"]["requested"] for item in response.json()] == [16] * 3
        after = await client.post("/graphql", json={"query": CHEAP})
        assert after.json()["extensions"]["cost"]["rateLimit"]["remaining"] == 300 - 48 - 1


async def test_anonymous_graphql_is_counted_per_ip(limited: LiveServer) -> None:
    login = ('mutation { login(identifier: "nobody@example.com", password: "wrong-password") '
             "{ accessToken } }")
    async with http(limited) as client:
        first = await client.post("/graphql", json={"query": login})
        assert first.json()["extensions"]["cost"]["requested"] == 10
        assert limit_headers(first)[:2] == (30, 20)  # anonymous: 1,000 x 0.03 per IP
        for _ in range(2):
            await client.post("/graphql", json={"query": login})
        refused = await client.post("/graphql", json={"query": login})
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_subscription_is_charged_when_it_starts(limited: LiveServer) -> None:
    key = await new_key(limited)
    async with http(limited, {"X-API-Key": key}) as client:  # leave 8 of 300 points
        await client.post("/graphql", json={"query": EXPENSIVE, "variables": {"n": 97}})
    socket = await GraphQLSocket.open(f"{limited.ws_url}/graphql", {"apiKey": key})
    try:
        await socket.subscribe("1", "subscription { leadEvents { type } }")  # 10 points
        message = await socket.receive()
        assert message["id"] == "1"
        errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
        assert errors[0]["extensions"]["code"] == "RATE_LIMITED", message
    finally:
        await socket.close()


def test_cost_model() -> None:
    schema = build_schema()._schema

    def cost(query: str, variables: dict[str, Any] | None = None) -> int:
        return operation_cost(schema, parse(query), None, variables)

    for name in FIELD_COSTS:  # every override names a real field
        type_name, field_name = name.split(".")
        assert field_name in schema.get_type(type_name).fields, name
    assert cost("{ __typename }") == 0
    assert cost("{ leads { totalCount } }") == 1
    assert cost(EXPENSIVE, {"n": 7}) == 1 + 7 * 3
    assert cost(EXPENSIVE) == 1 + 20 * 3  # first unset: the default list size
    # Nested lists multiply; fragments count where they are spread.
    nested = ("{ leads(first: 10) { edges { node { ...F } } } } "
              "fragment F on Lead { scoreHistory(limit: 5) { trigger } }")
    assert cost(nested) == 1 + 10 * (1 + 1 + 5 * 1)
    skipped = "query($s: Boolean!) { me { id } leads(first: 9) @skip(if: $s) { totalCount } }"
    assert cost(skipped, {"s": True}) == 1
    assert cost(skipped, {"s": False}) == 2
    assert cost('mutation { createLead(input: {email: "a@b.co"}) { id } }') == 10
    assert cost('mutation { sendMessage(conversationId: "x", text: "hi") { reply { seq } } }') \
        == 25 + 1
