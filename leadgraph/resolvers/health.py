"""Liveness and readiness: what the health routes of every dialect report."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from leadgraph.domain.errors import ServiceUnavailable
from leadgraph.domain.ports import Clock, HealthProbe


@dataclass(frozen=True)
class Readiness:
    """Every probe's state. Only required probes decide ``ready``.

    The broker (Redis) is optional: without it the service still stores and answers (events
    are queued and locks fall back to the replica), so a Redis restart must not take every
    replica out of the load balancer at once. MongoDB is required.
    """

    checks: dict[str, bool]
    at: datetime
    optional: frozenset[str] = frozenset()

    @property
    def ready(self) -> bool:
        return all(ok for name, ok in self.checks.items() if name not in self.optional)

    @property
    def degraded(self) -> bool:
        return self.ready and not all(self.checks.values())


class HealthUseCases:
    def __init__(
        self, probes: Mapping[str, HealthProbe], clock: Clock, version: str,
        optional: Collection[str] = (),
    ) -> None:
        self._probes = probes
        self._clock = clock
        self._optional = frozenset(optional)
        self.version = version

    def now(self) -> datetime:
        return self._clock.now()

    async def readiness(self) -> Readiness:
        checks = {name: await probe.ping() for name, probe in self._probes.items()}
        return Readiness(checks=checks, at=self._clock.now(), optional=self._optional)

    async def require_ready(self) -> Readiness:
        """Readiness, or ``ServiceUnavailable`` naming what is down (the legacy health routes)."""
        state = await self.readiness()
        if not state.ready:
            down = ", ".join(name for name, ok in state.checks.items() if not ok)
            raise ServiceUnavailable(f"Service is not ready: {down} unavailable")
        return state
