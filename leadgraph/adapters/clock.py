"""Wall clock, truncated to what MongoDB stores (milliseconds) so reads equal writes."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        current = datetime.now(UTC)
        return current.replace(microsecond=current.microsecond // 1000 * 1000)
