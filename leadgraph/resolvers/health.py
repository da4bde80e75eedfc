"""Liveness and readiness: what the health routes of every dialect report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from leadgraph.domain.ports import Clock, HealthProbe


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, bool]
    at: datetime

    @property
    def ready(self) -> bool:
        return all(self.checks.values())


class HealthUseCases:
    def __init__(self, probes: Mapping[str, HealthProbe], clock: Clock, version: str) -> None:
        self._probes = probes
        self._clock = clock
        self.version = version

    def now(self) -> datetime:
        return self._clock.now()

    async def readiness(self) -> Readiness:
        checks = {name: await probe.ping() for name, probe in self._probes.items()}
        return Readiness(checks=checks, at=self._clock.now())
