"""GraphQL analytics types: the dashboard, lead and conversation figures.

Definitions of every figure are in ``leadgraph.domain.analytics``.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from leadgraph.domain import analytics as domain

Timeframe = domain.Timeframe
strawberry.enum(
    Timeframe, name="Timeframe",
    description="Time-series bucket size (UTC; weeks start on Monday).",
)


@strawberry.type(description="How many items share one value (a source, status, industry).")
class KeyCount:
    key: str
    count: int

    @classmethod
    def many(cls, items: list[domain.KeyCount]) -> list[KeyCount]:
        return [cls(key=item.key, count=item.count) for item in items]


@strawberry.type
class IntentCount:
    intent: str
    count: int


@strawberry.type(description="Conversations started in one bucket.")
class TimeSeriesPoint:
    timestamp: datetime
    count: int


@strawberry.type(description="Seed 002's dashboard. Rates cover the leads created since `since`.")
class DashboardMetrics:
    days: int
    since: datetime
    total_leads: int = strawberry.field(description="All leads.")
    new_leads_today: int = strawberry.field(description="Leads created since 00:00 UTC.")
    total_calls: int
    calls_today: int
    conversion_rate: float = strawberry.field(
        description="Percent (0-100) of the window's leads that are closed_won."
    )
    avg_lead_score: float
    revenue: float = strawberry.field(
        description="Sum of the deal values of the window's closed_won leads."
    )
    voice_ai_calls_active: int = strawberry.field(name="voiceAICallsActive")

    @classmethod
    def from_domain(cls, metrics: domain.DashboardMetrics) -> DashboardMetrics:
        return cls(
            days=metrics.days, since=metrics.since, total_leads=metrics.total_leads,
            new_leads_today=metrics.new_leads_today, total_calls=metrics.total_calls,
            calls_today=metrics.calls_today, conversion_rate=metrics.conversion_rate,
            avg_lead_score=metrics.avg_lead_score, revenue=metrics.revenue,
            voice_ai_calls_active=metrics.voice_ai_calls_active,
        )


@strawberry.type(
    description="Seed 002's lead overview. All but `totalLeads` cover the leads created "
    "since `since`."
)
class LeadAnalytics:
    days: int
    since: datetime
    total_leads: int
    new_leads: int
    qualified_leads: int = strawberry.field(
        description="Leads at qualified, proposal or closed_won."
    )
    converted_leads: int
    average_score: float
    conversion_rate: float = strawberry.field(description="A fraction, 0-1.")
    by_source: list[KeyCount]
    by_status: list[KeyCount]
    by_industry: list[KeyCount]

    @classmethod
    def from_domain(cls, overview: domain.LeadOverview) -> LeadAnalytics:
        return cls(
            days=overview.days, since=overview.since, total_leads=overview.total_leads,
            new_leads=overview.new_leads, qualified_leads=overview.qualified_leads,
            converted_leads=overview.converted_leads, average_score=overview.average_score,
            conversion_rate=overview.conversion_rate,
            by_source=KeyCount.many(overview.by_source),
            by_status=KeyCount.many(overview.by_status),
            by_industry=KeyCount.many(overview.by_industry),
        )


@strawberry.type(description="Seed 003's conversation analytics over [start, end).")
class ConversationAnalytics:
    start: datetime
    end: datetime
    timeframe: Timeframe
    total_conversations: int
    active_users: int
    messages_per_conversation: float
    intent_distribution: list[IntentCount]
    time_series: list[TimeSeriesPoint]

    @classmethod
    def from_domain(cls, result: domain.ConversationAnalytics) -> ConversationAnalytics:
        return cls(
            start=result.start, end=result.end, timeframe=result.timeframe,
            total_conversations=result.total_conversations, active_users=result.active_users,
            messages_per_conversation=result.messages_per_conversation,
            intent_distribution=[
                IntentCount(intent=item.key, count=item.count)
                for item in result.intent_distribution
            ],
            time_series=[
                TimeSeriesPoint(timestamp=point.timestamp, count=point.count)
                for point in result.time_series
            ],
        )
