"""Analytics: the figures dashboards show, the windows they cover, and their rules.

Pure: the database computes the counts (``AnalyticsRepository``, with aggregation pipelines);
this module validates the windows callers ask for, turns counts into rates and fills the
empty buckets of a time series.

Definitions (the legacy documents only show example numbers, so they are fixed here):

* A window is half-open, ``[start, end)``, in UTC. ``days=N`` means the ``N`` days up to now.
* Lead figures over a window ("cohort") count the leads *created* in it.
* ``qualified`` leads reached qualification: status ``qualified``, ``proposal`` or
  ``closed_won`` (a funnel count, so converted leads are also qualified ones).
* A conversion is a lead whose status is ``closed_won``.
* A response time is the time between a user message and the assistant message that
  directly follows it in the same conversation (``seq + 1``).
* Revenue is the sum of the optional ``deal_value`` of converted leads (no lead carries one
  yet, so it is 0 until a deal value is stored).
* Calls are read from an optional ``calls`` collection (``created_at``; ``status``
  ``in_progress`` means active). None exist yet, so the call figures are 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from leadgraph.domain.errors import ValidationFailed
from leadgraph.domain.leads import LeadStatus

DEFAULT_DAYS = 30
MAX_DAYS = 3650
MAX_RANGE = timedelta(days=MAX_DAYS + 1)
MAX_BUCKETS = 5000
QUALIFIED_STATUSES: tuple[LeadStatus, ...] = (
    LeadStatus.QUALIFIED, LeadStatus.PROPOSAL, LeadStatus.CLOSED_WON,
)
UNKNOWN = "unknown"


class Timeframe(StrEnum):
    """How a time series is bucketed. Weeks start on Monday (ISO), all in UTC."""

    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"

    @classmethod
    def parse(cls, raw: str | None, field_name: str = "timeframe") -> Timeframe:
        if raw is None or raw == "":
            return cls.DAILY
        try:
            return cls(raw.strip().lower())
        except ValueError:
            allowed = ", ".join(member.value for member in cls)
            raise ValidationFailed.single(field_name, f"must be one of {allowed}") from None


def check_days(days: int | None, field_name: str = "days") -> int:
    """The ``days`` of a window: 30 unless given, 1..3650."""
    if days is None:
        return DEFAULT_DAYS
    if not 1 <= days <= MAX_DAYS:
        raise ValidationFailed.single(field_name, f"must be between 1 and {MAX_DAYS}")
    return days


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def start_of_day(moment: datetime) -> datetime:
    return as_utc(moment).replace(hour=0, minute=0, second=0, microsecond=0)


def floor_second(moment: datetime) -> datetime:
    return as_utc(moment).replace(microsecond=0)


def ceil_second(moment: datetime) -> datetime:
    floor = floor_second(moment)
    return floor if floor == as_utc(moment) else floor + timedelta(seconds=1)


@dataclass(frozen=True)
class DateRange:
    """``[start, end)`` in UTC, in whole seconds: the start is rounded down and the end up.

    Whole seconds because nx-27017 (the embedded database) drops the milliseconds of a date
    in a query filter, so a filter on a sub-second bound would not mean the same there as on
    MongoDB. The widening is below one second.
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", floor_second(self.start))
        object.__setattr__(self, "end", ceil_second(self.end))

    @classmethod
    def last_days(cls, days: int, now: datetime) -> DateRange:
        end = as_utc(now)
        return cls(end - timedelta(days=days), end)

    @classmethod
    def checked(
        cls, start: datetime | None, end: datetime | None, now: datetime,
        *, start_field: str = "start", end_field: str = "end",
    ) -> DateRange:
        """A caller's range: the last 30 days up to ``end`` (default now) unless given."""
        end_utc = as_utc(end) if end is not None else as_utc(now)
        start_utc = as_utc(start) if start is not None else end_utc - timedelta(DEFAULT_DAYS)
        if start_utc >= end_utc:
            if end is None:
                raise ValidationFailed.single(start_field, "must be in the past")
            raise ValidationFailed.single(start_field, f"must be before {end_field}")
        if end_utc - start_utc > MAX_RANGE:
            raise ValidationFailed.single(
                start_field, f"the range may span at most {MAX_DAYS} days"
            )
        return cls(start_utc, end_utc)

    @classmethod
    def parse(
        cls, start_raw: str | None, end_raw: str | None, now: datetime,
        *, start_field: str = "start_date", end_field: str = "end_date",
    ) -> DateRange:
        """ISO 8601 strings; a date-only ``end`` includes that whole day."""
        start = parse_moment(start_raw, start_field, end_of_day=False)
        end = parse_moment(end_raw, end_field, end_of_day=True)
        return cls.checked(start, end, now, start_field=start_field, end_field=end_field)


def parse_moment(raw: str | None, field_name: str, *, end_of_day: bool) -> datetime | None:
    """An ISO date or datetime. A bare date is its midnight, or the next one for an end."""
    if raw is None or raw.strip() == "":
        return None
    text = raw.strip()
    problem = "must be an ISO 8601 date or datetime (e.g. 2025-06-01 or 2025-06-01T00:00:00Z)"
    if len(text) == 10:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValidationFailed.single(field_name, problem) from None
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return moment + timedelta(days=1) if end_of_day else moment
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        raise ValidationFailed.single(field_name, problem) from None


def bucket_start(moment: datetime, timeframe: Timeframe) -> datetime:
    """The start of the bucket ``moment`` falls in."""
    moment = as_utc(moment)
    if timeframe is Timeframe.HOURLY:
        return moment.replace(minute=0, second=0, microsecond=0)
    day = start_of_day(moment)
    if timeframe is Timeframe.DAILY:
        return day
    if timeframe is Timeframe.WEEKLY:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_bucket(start: datetime, timeframe: Timeframe) -> datetime:
    if timeframe is Timeframe.HOURLY:
        return start + timedelta(hours=1)
    if timeframe is Timeframe.DAILY:
        return start + timedelta(days=1)
    if timeframe is Timeframe.WEEKLY:
        return start + timedelta(weeks=1)
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


def bucket_starts(window: DateRange, timeframe: Timeframe, field_name: str) -> list[datetime]:
    """Every bucket that overlaps the window, oldest first (bounded by ``MAX_BUCKETS``)."""
    buckets: list[datetime] = []
    current = bucket_start(window.start, timeframe)
    while current < window.end:
        buckets.append(current)
        if len(buckets) > MAX_BUCKETS:
            raise ValidationFailed.single(
                field_name,
                f"{timeframe.value} buckets over this range exceed {MAX_BUCKETS}; "
                "choose a shorter range or a coarser timeframe",
            )
        current = next_bucket(current, timeframe)
    return buckets


def ratio(part: float, whole: float, digits: int = 4) -> float:
    return round(part / whole, digits) if whole else 0.0


def percent(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


# -- what the repository computes ----------------------------------------------------------


@dataclass(frozen=True)
class KeyCount:
    key: str
    count: int


@dataclass(frozen=True)
class LeadCaptureCounts:
    """Seed 001's raw figures (all time)."""

    conversations: int = 0
    leads: int = 0
    hot: int = 0
    warm: int = 0
    cold: int = 0
    converted: int = 0
    response_pairs: int = 0
    avg_response_ms: float = 0.0


@dataclass(frozen=True)
class DashboardCounts:
    leads: int = 0
    leads_today: int = 0
    cohort: int = 0
    cohort_converted: int = 0
    cohort_score_sum: float = 0.0
    revenue: float = 0.0
    calls: int = 0
    calls_today: int = 0
    calls_active: int = 0


@dataclass(frozen=True)
class LeadOverviewCounts:
    leads: int = 0
    cohort: int = 0
    qualified: int = 0
    converted: int = 0
    score_sum: float = 0.0
    by_source: list[KeyCount] = field(default_factory=list)
    by_status: list[KeyCount] = field(default_factory=list)
    by_industry: list[KeyCount] = field(default_factory=list)


@dataclass(frozen=True)
class ConversationCounts:
    conversations: int = 0
    participants: int = 0
    messages: int = 0
    intents: list[KeyCount] = field(default_factory=list)
    buckets: dict[datetime, int] = field(default_factory=dict)


# -- what callers see ------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadCaptureSummary:
    total_conversations: int
    leads_captured: int
    hot_leads: int
    warm_leads: int
    cold_leads: int
    avg_response_time: float  # seconds
    conversion_rate: float  # percent

    @classmethod
    def from_counts(cls, counts: LeadCaptureCounts) -> LeadCaptureSummary:
        return cls(
            total_conversations=counts.conversations, leads_captured=counts.leads,
            hot_leads=counts.hot, warm_leads=counts.warm, cold_leads=counts.cold,
            avg_response_time=round(counts.avg_response_ms / 1000.0, 3),
            conversion_rate=percent(counts.converted, counts.leads),
        )


@dataclass(frozen=True)
class DashboardMetrics:
    days: int
    since: datetime
    total_leads: int
    new_leads_today: int
    total_calls: int
    calls_today: int
    conversion_rate: float  # percent of the window's leads
    avg_lead_score: float
    revenue: float
    voice_ai_calls_active: int

    @classmethod
    def from_counts(cls, days: int, since: datetime, counts: DashboardCounts) -> DashboardMetrics:
        return cls(
            days=days, since=since, total_leads=counts.leads,
            new_leads_today=counts.leads_today, total_calls=counts.calls,
            calls_today=counts.calls_today,
            conversion_rate=percent(counts.cohort_converted, counts.cohort),
            avg_lead_score=ratio(counts.cohort_score_sum, counts.cohort),
            revenue=round(counts.revenue, 2), voice_ai_calls_active=counts.calls_active,
        )


@dataclass(frozen=True)
class LeadOverview:
    days: int
    since: datetime
    total_leads: int
    new_leads: int
    qualified_leads: int
    converted_leads: int
    average_score: float
    conversion_rate: float  # a fraction, 0..1
    by_source: list[KeyCount]
    by_status: list[KeyCount]
    by_industry: list[KeyCount]

    @classmethod
    def from_counts(cls, days: int, since: datetime, counts: LeadOverviewCounts) -> LeadOverview:
        return cls(
            days=days, since=since, total_leads=counts.leads, new_leads=counts.cohort,
            qualified_leads=counts.qualified, converted_leads=counts.converted,
            average_score=ratio(counts.score_sum, counts.cohort),
            conversion_rate=ratio(counts.converted, counts.cohort),
            by_source=sorted_counts(counts.by_source), by_status=sorted_counts(counts.by_status),
            by_industry=sorted_counts(counts.by_industry),
        )


@dataclass(frozen=True)
class TimePoint:
    timestamp: datetime
    count: int


@dataclass(frozen=True)
class ConversationAnalytics:
    start: datetime
    end: datetime
    timeframe: Timeframe
    total_conversations: int
    active_users: int
    messages_per_conversation: float
    intent_distribution: list[KeyCount]
    time_series: list[TimePoint]

    @classmethod
    def from_counts(
        cls, window: DateRange, timeframe: Timeframe, buckets: list[datetime],
        counts: ConversationCounts,
    ) -> ConversationAnalytics:
        return cls(
            start=window.start, end=window.end, timeframe=timeframe,
            total_conversations=counts.conversations, active_users=counts.participants,
            messages_per_conversation=ratio(counts.messages, counts.conversations, 2),
            intent_distribution=sorted_counts(counts.intents),
            time_series=[TimePoint(start, counts.buckets.get(start, 0)) for start in buckets],
        )


def sorted_counts(counts: list[KeyCount]) -> list[KeyCount]:
    """Largest first, then by key, so responses are stable."""
    return sorted(counts, key=lambda item: (-item.count, item.key))
