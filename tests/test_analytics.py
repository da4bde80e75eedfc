"""Analytics over REST (seeds 001, 002, 003) and GraphQL.

Every figure the service returns is compared with the same figure computed here, in Python,
from the raw documents of the collections (read with the database client, not through the
service). Data is written through the public API and, where a test needs history (old
``created_at``, exact timestamps, calls), straight into the collections.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from bson import ObjectId

from tests.support import LiveServer, gql

SEED001_SUMMARY_KEYS = {
    "total_conversations", "leads_captured", "hot_leads", "warm_leads", "cold_leads",
    "avg_response_time", "conversion_rate",
}
SEED002_DASHBOARD_KEYS = {
    "totalLeads", "newLeadsToday", "totalCalls", "callsToday", "conversionRate",
    "avgLeadScore", "revenue", "voiceAICallsActive",
}
SEED002_OVERVIEW_KEYS = {
    "total_leads", "new_leads", "qualified_leads", "converted_leads", "average_score",
    "conversion_rate", "by_source", "by_status", "by_industry",
}
SEED003_KEYS = {
    "total_conversations", "active_users", "messages_per_conversation",
    "intent_distribution", "time_series",
}
DASHBOARD_GQL = """
query($days: Int) { dashboard(days: $days) {
  days since totalLeads newLeadsToday totalCalls callsToday conversionRate avgLeadScore
  revenue voiceAICallsActive
} }
"""
LEAD_ANALYTICS_GQL = """
query($days: Int) { leadAnalytics(days: $days) {
  days totalLeads newLeads qualifiedLeads convertedLeads averageScore conversionRate
  bySource { key count } byStatus { key count } byIndustry { key count }
} }
"""
CONVERSATION_ANALYTICS_GQL = """
query($start: DateTime, $end: DateTime, $timeframe: Timeframe) {
  conversationAnalytics(start: $start, end: $end, timeframe: $timeframe) {
    start end timeframe totalConversations activeUsers messagesPerConversation
    intentDistribution { intent count } timeSeries { timestamp count }
  }
}
"""
QUALIFIED = {"qualified", "proposal", "closed_won"}


# -- raw access and independent computations ------------------------------------------------


def raw(server: LiveServer) -> Any:
    return server.runtime.database.client[server.db_name]


def utc_now() -> datetime:
    return datetime.now(UTC)


def ms(moment: datetime) -> datetime:
    """What MongoDB keeps of a datetime (millisecond precision)."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def lead_doc(
    created_at: datetime, *, status: str = "new", intent: str = "NEUTRAL",
    source: str = "website", industry: str | None = None, score: float = 0.0,
    deal_value: float | None = None, n: int = 0,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": f"Raw Lead {n}", "first_name": "Raw", "last_name": f"Lead {n}",
        "email": f"raw{n}-{ObjectId()}@example.com", "phone": None, "company": None,
        "title": None, "industry": industry, "source": source, "status": status,
        "intent": intent, "score": {"overall_score": score}, "tags": [],
        "follow_up_status": "pending", "created_at": ms(created_at),
        "updated_at": ms(created_at),
    }
    if deal_value is not None:
        doc["deal_value"] = deal_value
    return doc


def conversation_doc(
    created_at: datetime, *, user_id: str | None = None, external_id: str | None = None,
    last_seq: int = 0,
) -> dict[str, Any]:
    return {
        "channel": "api", "external_id": external_id, "user_id": user_id,
        "chatbot_id": None, "status": "open", "lead_id": None, "collected_info": {},
        "current_step": "greeting", "asked": [], "purchase_intent": "NEUTRAL",
        "last_seq": last_seq, "created_at": ms(created_at), "last_active": ms(created_at),
    }


def message_doc(
    conversation_id: str, seq: int, role: str, at: datetime, intent: str | None = None
) -> dict[str, Any]:
    analysis = None
    if intent is not None:
        analysis = {"intent": intent, "confidence": 0.9, "entities": [], "sentiment": 0.0,
                    "purchase_intent": "NEUTRAL", "purchase_reasons": []}
    return {"conversation_id": conversation_id, "seq": seq, "role": role,
            "content": f"{role} {seq}", "sender": role, "analysis": analysis,
            "timestamp": ms(at)}


async def all_docs(server: LiveServer, collection: str) -> list[dict[str, Any]]:
    return [doc async for doc in raw(server)[collection].find({})]


def expected_avg_response_seconds(messages: list[dict[str, Any]]) -> tuple[int, float]:
    """Pairs (user message n, assistant message n + 1 of its conversation) and their mean
    gap in seconds, straight from the stored messages."""
    by_key = {(m["conversation_id"], m["seq"]): m for m in messages}
    gaps = []
    for message in messages:
        if message["role"] != "user":
            continue
        reply = by_key.get((message["conversation_id"], message["seq"] + 1))
        if reply is not None and reply["role"] == "assistant":
            gaps.append((reply["timestamp"] - message["timestamp"]).total_seconds())
    return len(gaps), (round(sum(gaps) / len(gaps), 3) if gaps else 0.0)


def floor_bucket(moment: datetime, timeframe: str) -> datetime:
    """Bucket starts, written independently of the service (UTC, ISO weeks)."""
    moment = moment.astimezone(UTC)
    if timeframe == "hourly":
        return datetime(moment.year, moment.month, moment.day, moment.hour, tzinfo=UTC)
    day = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    if timeframe == "daily":
        return day
    if timeframe == "weekly":
        return day - timedelta(days=moment.isoweekday() - 1)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expected_series(
    created: list[datetime], start: datetime, end: datetime, timeframe: str
) -> list[dict[str, Any]]:
    counts = Counter(floor_bucket(c, timeframe) for c in created if start <= c < end)
    step = {"hourly": timedelta(hours=1), "daily": timedelta(days=1),
            "weekly": timedelta(weeks=1)}
    series = []
    bucket = floor_bucket(start, timeframe)
    while bucket < end:
        series.append({"timestamp": iso(bucket), "count": counts.get(bucket, 0)})
        if timeframe == "monthly":
            bucket = datetime(bucket.year + bucket.month // 12, bucket.month % 12 + 1, 1,
                              tzinfo=UTC)
        else:
            bucket += step[timeframe]
    return series


async def get_json(client: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


# -- seed 001: GET /api/v1/analytics/summary ---------------------------------------------------


async def chat(anonymous: httpx.AsyncClient, user_id: str, message: str) -> None:
    response = await anonymous.post("/api/v1/chat/respond", json={
        "message": message, "user_id": user_id, "source": "website",
    })
    assert response.status_code == 200, response.text


async def test_summary_matches_the_stored_documents(
    server: LiveServer, client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    for n, intent in enumerate(["HOT", "HOT", "WARM", "COLD", "COLD", "COLD"]):
        response = await client.post("/api/v1/lead/", json={
            "name": f"Lead {n}", "email": f"lead{n}@example.com", "intent": intent,
        })
        assert response.status_code == 200, response.text
    for user in ("visitor-a", "visitor-b", "visitor-c"):
        await chat(anonymous, user, "Hello there")
        await chat(anonymous, user, "I need a mobile app for my shop")
    leads = raw(server)["leads"]
    await leads.update_many({"intent": "HOT"}, {"$set": {"status": "closed_won"}})

    summary = await get_json(client, "/api/v1/analytics/summary")

    assert set(summary) == SEED001_SUMMARY_KEYS
    stored_leads = await all_docs(server, "leads")
    stored_conversations = await all_docs(server, "conversations")
    messages = await all_docs(server, "messages")
    intents = Counter(doc["intent"] for doc in stored_leads)
    won = sum(doc["status"] == "closed_won" for doc in stored_leads)
    pairs, avg = expected_avg_response_seconds(messages)
    assert pairs == 6  # one reply per visitor message
    assert summary == {
        "total_conversations": len(stored_conversations),
        "leads_captured": len(stored_leads),
        "hot_leads": intents["HOT"],
        "warm_leads": intents["WARM"],
        "cold_leads": intents["COLD"],
        "avg_response_time": pytest.approx(avg, abs=0.0011),
        "conversion_rate": round(100 * won / len(stored_leads), 2),
    }
    assert summary["total_conversations"] == 3
    assert summary["hot_leads"] == 2 and summary["cold_leads"] == 3


async def test_summary_response_time_pairs_each_user_message_with_the_next_reply(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    """Hand-made timeline: only (user n, assistant n + 1) pairs count; a user message
    without a reply, an agent message and a greeting by the assistant are ignored."""
    t0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    await raw(server)["messages"].insert_many([
        message_doc("c1", 1, "assistant", t0),  # greeting: no question before it
        message_doc("c1", 2, "user", t0 + timedelta(seconds=10)),
        message_doc("c1", 3, "assistant", t0 + timedelta(seconds=12)),  # 2 s
        message_doc("c1", 4, "user", t0 + timedelta(seconds=20)),
        message_doc("c1", 5, "assistant", t0 + timedelta(seconds=25, milliseconds=500)),  # 5.5
        message_doc("c1", 6, "user", t0 + timedelta(seconds=30)),
        message_doc("c1", 7, "agent", t0 + timedelta(seconds=31)),  # a human answered
        message_doc("c2", 1, "user", t0),
        message_doc("c2", 2, "assistant", t0 + timedelta(seconds=1, milliseconds=250)),  # 1.25
        message_doc("c2", 3, "user", t0 + timedelta(seconds=40)),  # never answered
    ])
    summary = await get_json(client, "/api/v1/analytics/summary")
    assert summary["avg_response_time"] == round((2 + 5.5 + 1.25) / 3, 3)
    assert expected_avg_response_seconds(await all_docs(server, "messages")) == (
        3, round((2 + 5.5 + 1.25) / 3, 3)
    )
    assert summary["total_conversations"] == 0 and summary["conversion_rate"] == 0.0


async def test_summary_of_an_empty_database_is_all_zero(client: httpx.AsyncClient) -> None:
    assert await get_json(client, "/api/v1/analytics/summary") == {
        key: 0 for key in SEED001_SUMMARY_KEYS
    }


async def test_summary_needs_credentials(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/api/v1/analytics/summary")
    assert response.status_code == 401
    assert set(response.json()) == {"detail"}


# -- seed 002: dashboard and lead overview ----------------------------------------------------


async def seed_lead_history(server: LiveServer, now: datetime) -> None:
    """Leads created today, 3 days ago, 20 days ago and 400 days ago, plus calls."""
    ages = [timedelta(minutes=1), timedelta(days=3), timedelta(days=20), timedelta(days=400)]
    statuses = ["new", "contacted", "qualified", "proposal", "closed_won", "closed_lost"]
    sources = ["website", "referral", "social_media"]
    industries = ["technology", "healthcare", None, ""]
    docs = []
    n = 0
    for age_index, age in enumerate(ages):
        for status_index, status in enumerate(statuses):
            n += 1
            docs.append(lead_doc(
                now - age - timedelta(seconds=n), status=status,
                source=sources[(n + age_index) % 3], industry=industries[n % 4],
                score=round(0.05 * (n % 17), 2),
                deal_value=1000.0 * (age_index + 1) if status == "closed_won" else None,
                intent=["HOT", "WARM", "COLD", "NEUTRAL"][status_index % 4], n=n,
            ))
    await raw(server)["leads"].insert_many(docs)
    await raw(server)["calls"].insert_many([
        {"status": "in_progress", "created_at": ms(now - timedelta(minutes=2))},
        {"status": "completed", "created_at": ms(now - timedelta(minutes=3))},
        {"status": "in_progress", "created_at": ms(now - timedelta(days=2))},
        {"status": "failed", "created_at": ms(now - timedelta(days=40))},
    ])


def expected_dashboard(
    leads: list[dict[str, Any]], calls: list[dict[str, Any]], days: int, now: datetime
) -> dict[str, Any]:
    since = now - timedelta(days=days)
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC)
    cohort = [doc for doc in leads if doc["created_at"] >= since]
    won = [doc for doc in cohort if doc["status"] == "closed_won"]
    return {
        "totalLeads": len(leads),
        "newLeadsToday": sum(doc["created_at"] >= midnight for doc in leads),
        "totalCalls": len(calls),
        "callsToday": sum(doc["created_at"] >= midnight for doc in calls),
        "conversionRate": round(100 * len(won) / len(cohort), 2) if cohort else 0.0,
        "avgLeadScore": pytest.approx(
            round(sum(d["score"]["overall_score"] for d in cohort) / len(cohort), 4)
            if cohort else 0.0, abs=1e-4),
        "revenue": sum(doc.get("deal_value") or 0 for doc in won),
        "voiceAICallsActive": sum(doc["status"] == "in_progress" for doc in calls),
    }


@pytest.mark.parametrize("days", [1, 7, 30, 3650])
async def test_dashboard_matches_the_stored_documents(
    server: LiveServer, client: httpx.AsyncClient, days: int
) -> None:
    now = utc_now()
    await seed_lead_history(server, now)
    created = await client.post("/api/v1/leads", json={
        "first_name": "Api", "last_name": "Lead", "email": "api.lead@example.com",
        "industry": "Finance", "source": "referral",
    })
    assert created.status_code == 201, created.text

    dashboard = await get_json(client, "/api/v1/analytics/dashboard", days=days)
    graphql = await gql(client, DASHBOARD_GQL, {"days": days})

    assert set(dashboard) == SEED002_DASHBOARD_KEYS
    leads, calls = await all_docs(server, "leads"), await all_docs(server, "calls")
    expected = expected_dashboard(leads, calls, days, utc_now())
    assert dashboard == expected
    assert "errors" not in graphql, graphql
    data = graphql["data"]["dashboard"]
    assert data.pop("days") == days
    assert datetime.fromisoformat(data.pop("since")) <= utc_now() - timedelta(days=days)
    assert data == expected
    assert dashboard["totalLeads"] == 25 and dashboard["voiceAICallsActive"] == 2


async def test_dashboard_window_edges(server: LiveServer, client: httpx.AsyncClient) -> None:
    """``days=1`` excludes a lead two days old; ``days=3`` includes it."""
    now = utc_now()
    await raw(server)["leads"].insert_many([
        lead_doc(now - timedelta(hours=2), status="new", score=0.2, n=1),
        lead_doc(now - timedelta(days=2), status="closed_won", score=0.8, deal_value=500, n=2),
        lead_doc(now - timedelta(days=90), status="closed_won", score=1.0, deal_value=9, n=3),
    ])
    one = await get_json(client, "/api/v1/analytics/dashboard", days=1)
    three = await get_json(client, "/api/v1/analytics/dashboard", days=3)
    assert (one["totalLeads"], one["conversionRate"], one["avgLeadScore"], one["revenue"]) == (
        3, 0.0, 0.2, 0
    )
    assert (three["conversionRate"], three["avgLeadScore"], three["revenue"]) == (50.0, 0.5, 500)
    default = await get_json(client, "/api/v1/analytics/dashboard")
    assert default == await get_json(client, "/api/v1/analytics/dashboard", days=30)
    assert default["totalCalls"] == 0 and default["voiceAICallsActive"] == 0


def expected_overview(leads: list[dict[str, Any]], days: int, now: datetime) -> dict[str, Any]:
    cohort = [doc for doc in leads if doc["created_at"] >= now - timedelta(days=days)]
    won = sum(doc["status"] == "closed_won" for doc in cohort)
    return {
        "total_leads": len(leads),
        "new_leads": len(cohort),
        "qualified_leads": sum(doc["status"] in QUALIFIED for doc in cohort),
        "converted_leads": won,
        "average_score": pytest.approx(
            round(sum(d["score"]["overall_score"] for d in cohort) / len(cohort), 4)
            if cohort else 0.0, abs=1e-4),
        "conversion_rate": round(won / len(cohort), 4) if cohort else 0.0,
        "by_source": dict(Counter(doc["source"] for doc in cohort)),
        "by_status": dict(Counter(doc["status"] for doc in cohort)),
        "by_industry": dict(Counter(doc.get("industry") or "unknown" for doc in cohort)),
    }


@pytest.mark.parametrize("days", [1, 10, 30, 3650])
async def test_lead_overview_matches_the_stored_documents(
    server: LiveServer, client: httpx.AsyncClient, days: int
) -> None:
    now = utc_now()
    await seed_lead_history(server, now)
    overview = await get_json(client, "/api/v1/leads/analytics/overview", days=days)
    graphql = await gql(client, LEAD_ANALYTICS_GQL, {"days": days})

    assert set(overview) == SEED002_OVERVIEW_KEYS
    expected = expected_overview(await all_docs(server, "leads"), days, utc_now())
    assert overview == expected
    # Largest first, so the document's "top sources" read naturally.
    assert list(overview["by_status"].values()) == sorted(
        overview["by_status"].values(), reverse=True
    )
    assert "errors" not in graphql, graphql
    data = graphql["data"]["leadAnalytics"]
    assert data["days"] == days
    assert {
        "total_leads": data["totalLeads"], "new_leads": data["newLeads"],
        "qualified_leads": data["qualifiedLeads"], "converted_leads": data["convertedLeads"],
        "average_score": data["averageScore"], "conversion_rate": data["conversionRate"],
        "by_source": {i["key"]: i["count"] for i in data["bySource"]},
        "by_status": {i["key"]: i["count"] for i in data["byStatus"]},
        "by_industry": {i["key"]: i["count"] for i in data["byIndustry"]},
    } == expected
    if days == 1:
        assert overview["new_leads"] == 6 and overview["converted_leads"] == 1
        assert overview["by_industry"]["unknown"] == 3  # null and "" alike


async def test_overview_of_an_empty_database(client: httpx.AsyncClient) -> None:
    assert await get_json(client, "/api/v1/leads/analytics/overview") == {
        "total_leads": 0, "new_leads": 0, "qualified_leads": 0, "converted_leads": 0,
        "average_score": 0.0, "conversion_rate": 0.0, "by_source": {}, "by_status": {},
        "by_industry": {},
    }


@pytest.mark.parametrize("path", ["/api/v1/analytics/dashboard",
                                  "/api/v1/leads/analytics/overview"])
@pytest.mark.parametrize(("days", "message"), [
    ("0", "must be between 1 and 3650"), ("3651", "must be between 1 and 3650"),
    ("abc", "must be an integer"), ("-5", "must be between 1 and 3650"),
])
async def test_seed002_bad_days_is_a_422_naming_days(
    client: httpx.AsyncClient, path: str, days: str, message: str
) -> None:
    response = await client.get(path, params={"days": days})
    assert response.status_code == 422
    body = response.json()
    assert set(body) == {"error", "status_code", "details", "timestamp"}
    assert body["status_code"] == 422
    assert body["details"] == {"field": "days", "message": message}


async def test_dashboard_takes_a_constant_number_of_database_commands(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    now = utc_now()
    counts = []
    for size in (5, 300):
        await server.clear_database()
        await raw(server)["leads"].insert_many(
            [lead_doc(now - timedelta(hours=n), status="closed_won" if n % 4 else "new",
                      score=0.5, n=n) for n in range(size)]
        )
        per_request = []
        for request in (
            lambda: client.get("/api/v1/analytics/dashboard", params={"days": 7}),
            lambda: client.post("/graphql", json={"query": DASHBOARD_GQL,
                                                  "variables": {"days": 7}}),
            lambda: client.get("/api/v1/leads/analytics/overview"),
            lambda: client.get("/api/v1/analytics/summary"),
            lambda: client.get("/analytics/conversations"),
        ):
            server.commands.reset()
            response = await request()
            assert response.status_code == 200, response.text
            per_request.append(server.commands.data_commands())
        counts.append(per_request)
        assert (await get_json(client, "/api/v1/analytics/dashboard"))["totalLeads"] == size
    # dashboard: all leads, today's, the window's per status, calls; overview: all leads,
    # per status, source, industry; summary: per intent, converted, conversations, response
    # times; conversations: buckets, participants, intents. Whatever the number of leads.
    assert counts[0] == counts[1] == [4, 4, 4, 4, 3]
    assert {name for name, _ in server.commands.log} == {"aggregate"}


async def test_analytics_over_graphql_need_authentication(
    anonymous: httpx.AsyncClient
) -> None:
    for query in (DASHBOARD_GQL, LEAD_ANALYTICS_GQL, CONVERSATION_ANALYTICS_GQL):
        result = await gql(anonymous, query)
        assert result["_status"] == 401
        assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert result["data"] is None


@pytest.mark.parametrize("field", ["dashboard", "leadAnalytics"])
async def test_graphql_bad_days_is_bad_user_input(
    client: httpx.AsyncClient, field: str
) -> None:
    result = await gql(client, f"{{ {field}(days: 0) {{ totalLeads }} }}")
    error = result["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["fields"] == [
        {"field": "days", "message": "must be between 1 and 3650"}
    ]
    assert result["data"] is None


# -- seed 003: conversation analytics -----------------------------------------------------------


async def seed_conversation_history(server: LiveServer, t0: datetime) -> list[datetime]:
    """Conversations spread over ~10 weeks before ``t0``, with messages and intents."""
    db = raw(server)
    created = []
    for n in range(40):
        at = t0 - timedelta(hours=n * 41 + (n % 5) * 7, minutes=n)
        created.append(ms(at))
        messages = n % 4  # 0..3 messages
        conversation = conversation_doc(
            at, user_id=f"user-{n % 6}" if n % 3 else None,
            external_id=f"ext-{n % 9}" if n % 2 else None, last_seq=messages,
        )
        inserted = await db["conversations"].insert_one(conversation)
        conversation_id = str(inserted.inserted_id)
        intents = ["greet", "pricing", "greet", "complaint"]
        docs = [
            message_doc(conversation_id, seq, "user" if seq % 2 else "assistant",
                        at + timedelta(seconds=seq), intents[(n + seq) % 4])
            for seq in range(1, messages + 1)
        ]
        if docs:
            await db["messages"].insert_many(docs)
    return created


async def expected_conversation_analytics(
    server: LiveServer, start: datetime, end: datetime, timeframe: str
) -> dict[str, Any]:
    conversations = [c for c in await all_docs(server, "conversations")
                     if start <= c["created_at"] < end]
    ids = {str(c["_id"]) for c in conversations}
    messages = await all_docs(server, "messages")
    participants = {c.get("user_id") or c.get("external_id") for c in conversations}
    participants.discard(None)
    intents = Counter(
        m["analysis"]["intent"] for m in messages
        if m["role"] == "user" and m.get("analysis") and start <= m["timestamp"] < end
    )
    in_window = sum(m["conversation_id"] in ids for m in messages)
    return {
        "total_conversations": len(conversations),
        "active_users": len(participants),
        "messages_per_conversation": (
            round(in_window / len(conversations), 2) if conversations else 0.0
        ),
        "intent_distribution": [
            {"intent": intent, "count": count}
            for intent, count in sorted(intents.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "time_series": expected_series(
            [c["created_at"] for c in conversations], start, end, timeframe
        ),
    }


@pytest.mark.parametrize("timeframe", ["hourly", "daily", "weekly", "monthly"])
async def test_conversation_analytics_buckets(
    server: LiveServer, client: httpx.AsyncClient, timeframe: str
) -> None:
    t0 = datetime(2025, 6, 18, 13, 45, tzinfo=UTC)  # a Wednesday
    created = await seed_conversation_history(server, t0)
    start = datetime(2025, 4, 20, 9, 30, tzinfo=UTC) if timeframe != "hourly" else (
        datetime(2025, 6, 10, 22, 0, tzinfo=UTC))
    end = t0 - timedelta(hours=5)

    body = await get_json(client, "/analytics/conversations", start_date=iso(start),
                          end_date=iso(end), timeframe=timeframe)

    assert set(body) == SEED003_KEYS
    expected = await expected_conversation_analytics(server, start, end, timeframe)
    assert body == expected
    assert sum(point["count"] for point in body["time_series"]) == sum(
        start <= c < end for c in created
    ) == body["total_conversations"] > 0
    bucket_sizes = {"hourly": 1, "daily": 24, "weekly": 24 * 7}
    stamps = [datetime.fromisoformat(p["timestamp"]) for p in body["time_series"]]
    assert stamps[0] <= start < stamps[-1] + timedelta(days=31) and stamps[-1] < end
    if timeframe in bucket_sizes:
        gaps = {b - a for a, b in itertools.pairwise(stamps)}
        assert gaps == {timedelta(hours=bucket_sizes[timeframe])}
    if timeframe == "weekly":
        assert {s.isoweekday() for s in stamps} == {1}
    if timeframe == "monthly":
        assert [s.strftime("%m-%d") for s in stamps] == ["04-01", "05-01", "06-01"]

    graphql = await gql(client, CONVERSATION_ANALYTICS_GQL, {
        "start": start.isoformat(), "end": end.isoformat(), "timeframe": timeframe.upper(),
    })
    assert "errors" not in graphql, graphql
    data = graphql["data"]["conversationAnalytics"]
    assert data["timeframe"] == timeframe.upper()
    assert datetime.fromisoformat(data["start"]) == start
    assert datetime.fromisoformat(data["end"]) == end
    assert {
        "total_conversations": data["totalConversations"], "active_users": data["activeUsers"],
        "messages_per_conversation": data["messagesPerConversation"],
        "intent_distribution": data["intentDistribution"],
        "time_series": [{"timestamp": iso(datetime.fromisoformat(p["timestamp"])),
                         "count": p["count"]} for p in data["timeSeries"]],
    } == expected


async def test_conversation_analytics_defaults_to_the_last_30_days_daily(
    server: LiveServer, client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    """Conversations written through the API count; one 40 days old does not."""
    await chat(anonymous, "web-1", "Hi")
    await chat(anonymous, "web-1", "We want a website, budget is $10k")
    await chat(anonymous, "web-2", "Hello")
    await raw(server)["conversations"].insert_one(
        conversation_doc(utc_now() - timedelta(days=40), external_id="old-visitor")
    )
    body = await get_json(client, "/analytics/conversations")
    now = utc_now()
    expected = await expected_conversation_analytics(
        server, now - timedelta(days=30), now, "daily"
    )
    assert body == expected
    assert body["total_conversations"] == 2 and body["active_users"] == 2
    assert body["messages_per_conversation"] == 3.0  # (4 + 2) / 2
    assert sum(item["count"] for item in body["intent_distribution"]) == 3
    assert len(body["time_series"]) == 31 and body["time_series"][-1]["count"] == 2
    assert await get_json(client, "/v1/analytics/conversations") == body


async def test_conversation_analytics_date_only_end_includes_that_day(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    await raw(server)["conversations"].insert_many([
        conversation_doc(datetime(2025, 6, 1, 0, 0, tzinfo=UTC), user_id="a"),
        conversation_doc(datetime(2025, 6, 2, 23, 59, 59, tzinfo=UTC), user_id="b"),
        conversation_doc(datetime(2025, 6, 3, 0, 0, tzinfo=UTC), user_id="c"),
        conversation_doc(datetime(2025, 5, 31, 23, 59, 59, tzinfo=UTC), user_id="d"),
    ])
    body = await get_json(client, "/analytics/conversations", start_date="2025-06-01",
                          end_date="2025-06-02")
    assert body["total_conversations"] == 2 and body["active_users"] == 2
    assert body["time_series"] == [
        {"timestamp": "2025-06-01T00:00:00Z", "count": 1},
        {"timestamp": "2025-06-02T00:00:00Z", "count": 1},
    ]


@pytest.mark.parametrize(("params", "field", "message"), [
    ({"start_date": "yesterday"}, "start_date", "must be an ISO 8601 date"),
    ({"end_date": "2025-13-01"}, "end_date", "must be an ISO 8601 date"),
    ({"start_date": "2025-06-10", "end_date": "2025-06-01"}, "start_date",
     "must be before end_date"),
    ({"start_date": "2000-01-01", "end_date": "2025-01-01"}, "start_date",
     "the range may span at most 3650 days"),
    ({"timeframe": "yearly"}, "timeframe", "must be one of hourly, daily, weekly, monthly"),
    ({"start_date": "2020-01-01", "end_date": "2025-01-01", "timeframe": "hourly"},
     "timeframe", "hourly buckets over this range exceed 5000"),
    ({"start_date": "2999-01-01"}, "start_date", "must be in the past"),
])
async def test_seed003_bad_parameters_are_400_naming_them(
    client: httpx.AsyncClient, params: dict[str, str], field: str, message: str
) -> None:
    response = await client.get("/analytics/conversations", params=params)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert list(error["details"]) == [field]
    assert error["details"][field].startswith(message)


async def test_seed003_reports_every_bad_parameter_at_once(client: httpx.AsyncClient) -> None:
    response = await client.get("/analytics/conversations",
                                params={"start_date": "nope", "timeframe": "yearly"})
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"start_date", "timeframe"}


async def test_seed003_needs_credentials(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/analytics/conversations")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


async def test_graphql_conversation_analytics_errors(client: httpx.AsyncClient) -> None:
    reversed_range = await gql(client, CONVERSATION_ANALYTICS_GQL, {
        "start": "2025-06-10T00:00:00Z", "end": "2025-06-01T00:00:00Z",
    })
    error = reversed_range["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["fields"] == [{"field": "start", "message": "must be before end"}]

    bad_date = await gql(client, CONVERSATION_ANALYTICS_GQL, {"start": "not a date"})
    assert bad_date["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    bad_enum = await gql(client, CONVERSATION_ANALYTICS_GQL, {"timeframe": "YEARLY"})
    assert bad_enum["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    for result in (reversed_range, bad_date, bad_enum):
        assert "Traceback" not in str(result)


async def test_analytics_see_writes_from_every_transport(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    """A lead created over GraphQL and closed over REST 002 moves the dashboard at once."""
    result = await gql(client, "mutation($i: LeadInput!) { createLead(input: $i) { id } }",
                       {"i": {"name": "Graph Lead", "email": "graph@example.com"}})
    assert "errors" not in result, result
    lead_id = result["data"]["createLead"]["id"]
    before = await get_json(client, "/api/v1/analytics/dashboard")
    assert (before["totalLeads"], before["newLeadsToday"], before["conversionRate"]) == (
        1, 1, 0.0
    )
    for status in ("qualified", "closed_won"):
        response = await client.put(f"/api/v1/leads/{lead_id}", json={"status": status})
        assert response.status_code == 200, response.text
    after, overview = await asyncio.gather(
        get_json(client, "/api/v1/analytics/dashboard"),
        get_json(client, "/api/v1/leads/analytics/overview"),
    )
    assert after["conversionRate"] == 100.0
    assert overview["converted_leads"] == overview["qualified_leads"] == 1
    assert overview["conversion_rate"] == 1.0
