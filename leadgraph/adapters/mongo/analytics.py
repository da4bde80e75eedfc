"""AnalyticsRepository: every figure is an aggregation pipeline run by the database.

Each method sends a fixed number of commands whatever the data size, and only aggregated rows
(a few per status, source, bucket …) come back. The pipelines use standard operators that
MongoDB 7 and nx-27017 0.8.1 evaluate the same way. What nx-27017 gets wrong, and how this
avoids it:

* ``$match`` on a date with a bare comparison (``{"created_at": {"$gte": d}}``) returns wrong
  rows there; the same condition inside ``$and`` is right, so date windows are written as
  ``{"$and": [...]}`` (``_between``), which means the same thing to MongoDB.
* Dates in query filters lose their milliseconds there, so windows have whole-second bounds
  (``DateRange``).
* ``$group`` keys that are documents of expressions are not evaluated, so pairs are keyed by
  ``$concat`` strings; ``$subtract``/``$toLong`` on dates do not work, so durations use
  ``$dateDiff``; ``$dateTrunc`` returns strings, so buckets are ``$dateToString`` keys.
* ``$count`` on no documents yields ``{n: 0}`` there and nothing on MongoDB: both are read.

Speed on nx-27017: a ``$match`` + ``$group`` on plain fields runs in SQLite, while expression
accumulators (``$cond``) run in Python per document and ``$facet`` is slower still. So the
pipelines group by plain fields (per status, per source …) and add the few rows up here rather
than counting conditionally in one pass. On MongoDB either shape is a single index-backed scan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from leadgraph.adapters.mongo.documents import ConversationDocument, LeadDocument, MessageDocument
from leadgraph.domain.analytics import (
    QUALIFIED_STATUSES,
    UNKNOWN,
    ConversationCounts,
    DashboardCounts,
    DateRange,
    KeyCount,
    LeadCaptureCounts,
    LeadOverviewCounts,
    Timeframe,
    bucket_start,
)
from leadgraph.domain.conversations import MessageRole
from leadgraph.domain.leads import LeadIntent, LeadStatus

CALLS_COLLECTION = "calls"
ACTIVE_CALL_STATUS = "in_progress"
Row = Mapping[str, Any]
Pipeline = list[dict[str, Any]]

_BUCKET_FORMATS = {
    Timeframe.HOURLY: "%Y-%m-%dT%H:00:00Z",
    Timeframe.DAILY: "%Y-%m-%dT00:00:00Z",
    Timeframe.MONTHLY: "%Y-%m-01T00:00:00Z",
}


def _between(path: str, start: datetime, end: datetime | None = None) -> list[dict[str, Any]]:
    """Conditions for ``start <= path < end``, to be placed in an ``$and``."""
    conditions: list[dict[str, Any]] = [{path: {"$gte": start}}]
    if end is not None:
        conditions.append({path: {"$lt": end}})
    return conditions


def _is(expression: Any, value: Any) -> dict[str, Any]:
    return {"$eq": [expression, value]}


def _since(path: str, start: datetime) -> dict[str, Any]:
    return {"$gte": [path, start]}


def _count_if(condition: Any) -> dict[str, Any]:
    return {"$sum": {"$cond": [condition, 1, 0]}}


def _bucket_key(path: str, timeframe: Timeframe) -> dict[str, Any]:
    return {"$dateToString": {"format": _BUCKET_FORMATS[timeframe], "date": path}}


def _grouped_counts(match: Sequence[dict[str, Any]], key: Any) -> Pipeline:
    stages: Pipeline = [{"$match": {"$and": match}}] if match else []
    return [*stages, {"$group": {"_id": key, "count": {"$sum": 1}}}]


def _key_counts(rows: Sequence[Row]) -> list[KeyCount]:
    return [KeyCount(str(row["_id"]), int(row["count"])) for row in rows if row["count"]]


def _number(row: Row | None, name: str) -> float:
    value = row.get(name) if row is not None else None
    return float(value) if isinstance(value, int | float) else 0.0


def _int(row: Row | None, name: str) -> int:
    return int(_number(row, name))


def _bucket_moment(key: object) -> datetime | None:
    if not isinstance(key, str):
        return None
    try:
        return datetime.fromisoformat(key).astimezone(UTC)
    except ValueError:
        return None


async def _aggregate(collection: AsyncCollection[Any], pipeline: Pipeline) -> list[Row]:
    cursor = await collection.aggregate(pipeline)
    return [row async for row in cursor]


async def _one(collection: AsyncCollection[Any], pipeline: Pipeline) -> Row | None:
    rows = await _aggregate(collection, pipeline)
    return rows[0] if rows else None


class MongoAnalyticsRepository:
    """Reads the ``leads``, ``conversations``, ``messages`` and (optional) ``calls``
    collections of the database the Beanie documents are bound to."""

    @staticmethod
    def _leads() -> AsyncCollection[Any]:
        return LeadDocument.get_pymongo_collection()

    @staticmethod
    def _conversations() -> AsyncCollection[Any]:
        return ConversationDocument.get_pymongo_collection()

    @staticmethod
    def _messages() -> AsyncCollection[Any]:
        return MessageDocument.get_pymongo_collection()

    @staticmethod
    def _calls() -> AsyncCollection[Any]:
        return LeadDocument.get_pymongo_collection().database[CALLS_COLLECTION]

    async def lead_capture(self) -> LeadCaptureCounts:
        """Four commands: leads by intent, converted leads, conversations, response times."""
        by_intent = await _aggregate(self._leads(), _grouped_counts([], "$intent"))
        intents = {str(row["_id"]): int(row["count"]) for row in by_intent}
        won = await _one(self._leads(), _grouped_counts(
            [{"status": LeadStatus.CLOSED_WON.value}], None
        ))
        conversations = await _one(self._conversations(), _grouped_counts([], None))
        responses = await _one(self._messages(), self._response_time_pipeline())
        return LeadCaptureCounts(
            conversations=_int(conversations, "count"), leads=sum(intents.values()),
            hot=intents.get(LeadIntent.HOT.value, 0), warm=intents.get(LeadIntent.WARM.value, 0),
            cold=intents.get(LeadIntent.COLD.value, 0), converted=_int(won, "count"),
            response_pairs=_int(responses, "pairs"),
            avg_response_ms=_number(responses, "avg_ms"),
        )

    @staticmethod
    def _response_time_pipeline() -> Pipeline:
        """Pair each user message (seq n) with the assistant message n + 1 of the same
        conversation: both get the key ``"<conversation>:n"``, then the pair's gap is taken."""
        user, assistant = MessageRole.USER.value, MessageRole.ASSISTANT.value
        is_reply = _is("$role", assistant)
        pair_seq = {"$cond": [is_reply, {"$subtract": ["$seq", 1]}, "$seq"]}
        return [
            {"$match": {"role": {"$in": [user, assistant]}}},
            {"$group": {
                "_id": {"$concat": ["$conversation_id", ":", {"$toString": pair_seq}]},
                "asked": {"$max": {"$cond": [_is("$role", user), "$timestamp", None]}},
                "answered": {"$min": {"$cond": [is_reply, "$timestamp", None]}},
            }},
            {"$match": {"$and": [{"asked": {"$ne": None}}, {"answered": {"$ne": None}}]}},
            {"$group": {
                "_id": None, "pairs": {"$sum": 1},
                "avg_ms": {"$avg": {"$dateDiff": {
                    "startDate": "$asked", "endDate": "$answered", "unit": "millisecond",
                }}},
            }},
        ]

    async def _cohort_by_status(self, since: datetime) -> dict[str, Row]:
        """Leads created since ``since``, per status: count, score sum, deal value sum."""
        rows = await _aggregate(self._leads(), [
            {"$match": {"$and": _between("created_at", since)}},
            {"$group": {
                "_id": "$status", "count": {"$sum": 1},
                "score_sum": {"$sum": "$score.overall_score"},
                "revenue": {"$sum": "$deal_value"},
            }},
        ])
        return {str(row["_id"]): row for row in rows}

    async def dashboard(self, since: datetime, today: datetime) -> DashboardCounts:
        """Four commands: all leads, today's leads, the window's leads per status, calls."""
        total = await _one(self._leads(), _grouped_counts([], None))
        created_today = await _one(
            self._leads(), _grouped_counts(_between("created_at", today), None)
        )
        cohort = await self._cohort_by_status(since)
        won = cohort.get(LeadStatus.CLOSED_WON.value)
        calls = await _one(self._calls(), [{"$group": {
            "_id": None, "total": {"$sum": 1},
            "today": _count_if(_since("$created_at", today)),
            "active": _count_if(_is("$status", ACTIVE_CALL_STATUS)),
        }}])
        return DashboardCounts(
            leads=_int(total, "count"), leads_today=_int(created_today, "count"),
            cohort=sum(_int(row, "count") for row in cohort.values()),
            cohort_converted=_int(won, "count"),
            cohort_score_sum=sum(_number(row, "score_sum") for row in cohort.values()),
            revenue=_number(won, "revenue"),
            calls=_int(calls, "total"), calls_today=_int(calls, "today"),
            calls_active=_int(calls, "active"),
        )

    async def lead_overview(self, since: datetime) -> LeadOverviewCounts:
        """Four commands: all leads, then the window's leads per status, source, industry."""
        window = _between("created_at", since)
        total = await _one(self._leads(), _grouped_counts([], None))
        by_status = await self._cohort_by_status(since)
        by_source = await _aggregate(self._leads(), _grouped_counts(window, "$source"))
        by_industry: dict[str, int] = {}
        for row in await _aggregate(self._leads(), _grouped_counts(window, "$industry")):
            key = str(row["_id"]) if row["_id"] else UNKNOWN  # null, missing and "" alike
            by_industry[key] = by_industry.get(key, 0) + int(row["count"])
        qualified = {status.value for status in QUALIFIED_STATUSES}
        return LeadOverviewCounts(
            leads=_int(total, "count"),
            cohort=sum(_int(row, "count") for row in by_status.values()),
            qualified=sum(_int(row, "count") for key, row in by_status.items()
                          if key in qualified),
            converted=_int(by_status.get(LeadStatus.CLOSED_WON.value), "count"),
            score_sum=sum(_number(row, "score_sum") for row in by_status.values()),
            by_source=_key_counts(by_source),
            by_status=[KeyCount(key, _int(row, "count")) for key, row in by_status.items()],
            by_industry=[KeyCount(key, count) for key, count in by_industry.items()],
        )

    async def conversations(self, window: DateRange, timeframe: Timeframe) -> ConversationCounts:
        """Three commands: conversations started in the window per bucket (with their message
        counts), their distinct participants, and the intents of user messages sent in it."""
        started = {"$match": {"$and": _between("created_at", window.start, window.end)}}
        # Weeks are rolled up from days here (a handful of rows), not with date arithmetic.
        grouping = Timeframe.DAILY if timeframe is Timeframe.WEEKLY else timeframe
        series = await _aggregate(self._conversations(), [started, {"$group": {
            "_id": _bucket_key("$created_at", grouping), "count": {"$sum": 1},
            "messages": {"$sum": "$last_seq"},
        }}])
        participants = await _one(self._conversations(), [
            started,
            {"$group": {"_id": {"$ifNull": ["$user_id", "$external_id"]}}},
            {"$match": {"_id": {"$ne": None}}},
            {"$count": "n"},
        ])
        intents = await _aggregate(self._messages(), _grouped_counts([
            {"role": MessageRole.USER.value},
            *_between("timestamp", window.start, window.end),
            {"analysis.intent": {"$ne": None}},
        ], "$analysis.intent"))
        buckets: dict[datetime, int] = {}
        for row in series:
            moment = _bucket_moment(row.get("_id"))
            if moment is not None:
                key = bucket_start(moment, timeframe)
                buckets[key] = buckets.get(key, 0) + int(row["count"])
        return ConversationCounts(
            conversations=sum(_int(row, "count") for row in series),
            participants=_int(participants, "n"),
            messages=sum(_int(row, "messages") for row in series),
            intents=_key_counts(intents),
            buckets=buckets,
        )
