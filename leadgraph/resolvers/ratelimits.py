"""Charging requests to the rate limits, for every transport.

REST charges one unit per request under its dialect's policy, GraphQL the operation's cost
under the ``graphql`` policy (``leadgraph.domain.ratelimits`` holds the rules). The transport
puts ``Quota.headers()`` on its response and maps :class:`RateLimited` to a 429 in its own
error format.
"""

from __future__ import annotations

from leadgraph.domain.errors import RateLimited
from leadgraph.domain.ports import Clock
from leadgraph.domain.ratelimits import Quota, RateCounter, buckets_for, quota_from
from leadgraph.domain.users import Principal


class RateLimits:
    def __init__(
        self, counter: RateCounter, clock: Clock, *, multiplier: float = 1.0,
        enabled: bool = True,
    ) -> None:
        self._counter = counter
        self._clock = clock
        self.multiplier = multiplier
        self.enabled = enabled

    async def charge(
        self, policy: str, principal: Principal | None, client_ip: str | None, *,
        public: bool = False, cost: int = 1,
    ) -> Quota | None:
        """Take ``cost`` units; the quota left, or ``None`` when limits are off or the store
        is unreachable. Raises :class:`RateLimited` (with the headers) when over a limit."""
        if not self.enabled:
            return None
        buckets = buckets_for(
            policy, principal, client_ip or "unknown", public=public,
            multiplier=self.multiplier,
        )
        if not buckets:
            return None
        cost = max(1, cost)
        allowed, states = await self._counter.charge(buckets, cost)
        if not states:
            return None
        quota = quota_from(
            states, allowed=allowed, now=self._clock.now().timestamp(), cost=cost
        )
        if not allowed:
            raise RateLimited(quota.retry_after, quota.headers())
        return quota
