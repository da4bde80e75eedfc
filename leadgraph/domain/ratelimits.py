"""Rate-limit rules, as data, in one place.

Each legacy document (``shared/seeds``) states its own rule, and GraphQL has one of its own;
the table below is the single source of them. A rule counts either per principal (an API key
or a user, whichever the request authenticated as) or per client IP (public routes, and
requests whose credentials failed). Each policy counts its own traffic: a key used on seed 000
and on seed 002 has one budget on each.

Nothing here talks to a store: ``RateCounter`` is the port an adapter implements (Redis when
``REDIS_URL`` is set, so every replica shares the counts; in-process otherwise).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from leadgraph.domain.users import ApiKeyTier, Principal

MINUTE = 60
HOUR = 3600


class CountBy(StrEnum):
    PRINCIPAL = "principal"
    IP = "ip"


class RouteKind(StrEnum):
    """Public routes (login, health, inbound webhooks) count per IP, the rest per principal."""

    PUBLIC = "public"
    PROTECTED = "protected"


@dataclass(frozen=True)
class Rule:
    """``amount`` units per ``seconds``; ``tier`` limits the rule to keys of that tier."""

    amount: int
    seconds: int
    route: RouteKind
    count_by: CountBy
    tier: ApiKeyTier | None = None


@dataclass(frozen=True)
class Policy:
    name: str
    rules: tuple[Rule, ...]
    source: str
    """Where the numbers come from, for the README and for whoever changes them."""


def _public(amount: int = 100, seconds: int = MINUTE) -> Rule:
    return Rule(amount, seconds, RouteKind.PUBLIC, CountBy.IP)


def _per_principal(amount: int, seconds: int = MINUTE, tier: ApiKeyTier | None = None) -> Rule:
    return Rule(amount, seconds, RouteKind.PROTECTED, CountBy.PRINCIPAL, tier)


GRAPHQL = "graphql"

POLICIES: dict[str, Policy] = {
    policy.name: policy for policy in (
        Policy("agency_chat", (_per_principal(100), _public()),
               "seed 000: 100 requests per minute per API key"),
        Policy("lead_capture", (_per_principal(1000), _public()),
               "seed 001 has none; the service default (seed 003's numbers) applies"),
        Policy("lead_management", (
            _per_principal(100), _per_principal(1000, HOUR), _public(), _public(1000, HOUR),
        ), "seed 002: 100 per minute and 1000 per hour per user"),
        Policy("customer_care", (_per_principal(1000), _public()),
               "seed 003: 100 per minute per IP on public routes, 1000 per minute per user"),
        Policy("chatbots_platform", (
            _per_principal(100, tier=ApiKeyTier.STANDARD),
            _per_principal(1000, tier=ApiKeyTier.ENTERPRISE),
            _public(),
        ), "seed 004: standard tier 100, enterprise tier 1000 per minute"),
        # GraphQL is charged by operation cost (leadgraph.schema.cost), not by request.
        Policy(GRAPHQL, (
            _per_principal(10_000, tier=ApiKeyTier.STANDARD),
            _per_principal(100_000, tier=ApiKeyTier.ENTERPRISE),
            _public(1_000),
        ), "cost points per minute: standard 10k, enterprise 100k, anonymous 1k per IP"),
    )
}

DEFAULT_POLICY = "lead_capture"


@dataclass(frozen=True)
class Bucket:
    """One counter: a rule applied to one subject (``key`` names the subject)."""

    key: str
    amount: int
    seconds: int


def buckets_for(
    policy_name: str, principal: Principal | None, client_ip: str, *,
    public: bool, multiplier: float = 1.0,
) -> list[Bucket]:
    """The counters one request is charged to.

    An anonymous request, or any request to a public route, counts against its IP; an
    authenticated one against its principal, with the rules of its tier (users are
    ``standard``). ``multiplier`` scales every amount (settings; tests use small limits).
    """
    policy = POLICIES.get(policy_name) or POLICIES[DEFAULT_POLICY]
    by_ip = public or principal is None
    route = RouteKind.PUBLIC if by_ip else RouteKind.PROTECTED
    buckets: list[Bucket] = []
    for rule in policy.rules:
        if rule.route is not route:
            continue
        if principal is not None and rule.tier is not None and rule.tier is not principal.tier:
            continue
        if rule.count_by is CountBy.IP or principal is None:
            subject = f"ip:{client_ip}"
        else:
            subject = f"{principal.kind.value}:{principal.id}"
        amount = max(1, math.floor(rule.amount * multiplier))
        buckets.append(Bucket(f"{policy.name}:{subject}", amount, rule.seconds))
    return buckets


@dataclass(frozen=True)
class BucketState:
    bucket: Bucket
    remaining: int
    reset_at: float
    """Epoch seconds when the window frees up."""


@dataclass(frozen=True)
class Quota:
    """What a caller is told: the tightest of its buckets after this request."""

    limit: int
    remaining: int
    reset_at: int
    allowed: bool
    retry_after: int = 0

    def headers(self) -> dict[str, str]:
        """``X-RateLimit-*`` as seeds 002 and 004 spell them (reset in epoch seconds)."""
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


def quota_from(
    states: Sequence[BucketState], *, allowed: bool, now: float, cost: int = 1
) -> Quota:
    """Report the bucket closest to running out (on a tie, the one that resets last); a
    refused request is told to retry when the buckets that had no room for it reset."""
    tightest = min(states, key=lambda state: (state.remaining, -state.reset_at))
    blocking = [state for state in states if state.remaining < cost] or [tightest]
    # Within the window length (stores keep expiry in whole seconds; clocks differ a little).
    retry_after = max(1, min(
        math.ceil(max(state.reset_at for state in blocking) - now),
        max(state.bucket.seconds for state in blocking),
    ))
    return Quota(
        limit=tightest.bucket.amount,
        remaining=max(0, tightest.remaining),
        reset_at=math.ceil(tightest.reset_at),
        allowed=allowed,
        retry_after=retry_after if not allowed else 0,
    )


class RateCounter(Protocol):
    """Shared counters (Redis, or in-process)."""

    async def charge(self, buckets: Sequence[Bucket], cost: int) -> tuple[bool, list[BucketState]]:
        """Take ``cost`` from every bucket if all have room, else from none."""
        ...
