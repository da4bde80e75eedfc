"""Seed 003's rule: at most 10 concurrent WebSocket connections per user (per replica)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from leadgraph.domain.errors import DomainError


class TooManyConnections(DomainError):
    code = "TOO_MANY_CONNECTIONS"


class SocketQuota:
    def __init__(self, per_user: int = 10) -> None:
        self.per_user = per_user
        self._open: Counter[str] = Counter()

    @contextmanager
    def hold(self, principal_id: str) -> Iterator[None]:
        if self._open[principal_id] >= self.per_user:
            raise TooManyConnections(
                f"At most {self.per_user} concurrent connections per user"
            )
        self._open[principal_id] += 1
        try:
            yield
        finally:
            self._open[principal_id] -= 1
            if not self._open[principal_id]:
                del self._open[principal_id]
