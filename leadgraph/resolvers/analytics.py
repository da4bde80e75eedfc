"""Analytics use cases shared by GraphQL and the REST dialects (seeds 001, 002, 003)."""

from __future__ import annotations

from datetime import datetime

from leadgraph.domain.analytics import (
    ConversationAnalytics,
    DashboardMetrics,
    DateRange,
    LeadCaptureSummary,
    LeadOverview,
    Timeframe,
    bucket_starts,
    check_days,
    start_of_day,
)
from leadgraph.domain.ports import AnalyticsRepository, Clock
from leadgraph.domain.users import Principal


class AnalyticsUseCases:
    def __init__(self, repository: AnalyticsRepository, clock: Clock) -> None:
        self._repository = repository
        self._clock = clock

    async def lead_capture_summary(self, actor: Principal) -> LeadCaptureSummary:
        """Seed 001's all-time summary."""
        return LeadCaptureSummary.from_counts(await self._repository.lead_capture())

    async def dashboard(
        self, actor: Principal, days: int | None = None, *, days_field: str = "days"
    ) -> DashboardMetrics:
        days = check_days(days, days_field)
        now = self._clock.now()
        since = DateRange.last_days(days, now).start
        counts = await self._repository.dashboard(since, start_of_day(now))
        return DashboardMetrics.from_counts(days, since, counts)

    async def lead_overview(
        self, actor: Principal, days: int | None = None, *, days_field: str = "days"
    ) -> LeadOverview:
        days = check_days(days, days_field)
        since = DateRange.last_days(days, self._clock.now()).start
        return LeadOverview.from_counts(days, since, await self._repository.lead_overview(since))

    async def conversations(
        self, actor: Principal, window: DateRange, timeframe: Timeframe,
        *, timeframe_field: str = "timeframe",
    ) -> ConversationAnalytics:
        buckets = bucket_starts(window, timeframe, timeframe_field)
        counts = await self._repository.conversations(window, timeframe)
        return ConversationAnalytics.from_counts(window, timeframe, buckets, counts)

    def window(
        self, start: datetime | None, end: datetime | None,
        *, start_field: str = "start", end_field: str = "end",
    ) -> DateRange:
        """A caller's date range checked against now (default: the last 30 days)."""
        return DateRange.checked(
            start, end, self._clock.now(), start_field=start_field, end_field=end_field
        )

    def parse_window(
        self, start: str | None, end: str | None,
        *, start_field: str = "start_date", end_field: str = "end_date",
    ) -> DateRange:
        """The same from ISO strings (REST query parameters)."""
        return DateRange.parse(
            start, end, self._clock.now(), start_field=start_field, end_field=end_field
        )
