"""The Idempotency-Key flow, shared by every REST dialect and GraphQL.

``begin`` claims a caller's key for one request fingerprint, or says how a repeat is answered:
the stored response (``Replay``), ``IdempotencyKeyReused`` (422: same key, another request) or
``IdempotencyKeyInFlight`` (409: the first request is still running; we answer at once rather
than hold a connection open waiting). The transport runs the request and calls ``finish`` with
its response, or ``abandon`` when it failed without an answer worth keeping (5xx, a crash), so
the client may retry with the same key. A claim is a lease: if the replica holding it dies, the
key can be claimed again after ``lease_seconds``. Keys expire after ``ttl_seconds`` (24 h).
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass
from datetime import timedelta

from leadgraph.domain.idempotency import (
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    IdempotencyRecord,
    RecordState,
    StoredResponse,
    validate_key,
)
from leadgraph.domain.ports import Clock, IdempotencyStore
from leadgraph.domain.users import Principal

__all__ = ["Claim", "IdempotencyUseCases", "Replay"]


@dataclass(frozen=True)
class Claim:
    """This request holds the key: run it, then ``finish`` or ``abandon``."""

    record: IdempotencyRecord


@dataclass(frozen=True)
class Replay:
    """A repeat of a finished request: answer with its stored response."""

    response: StoredResponse


class IdempotencyUseCases:
    def __init__(self, store: IdempotencyStore, clock: Clock, *, ttl_seconds: float = 86400,
                 lease_seconds: float = 60.0) -> None:
        self._store = store
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_seconds)
        self._lease = timedelta(seconds=lease_seconds)

    async def begin(self, principal: Principal, key: str, fingerprint: str) -> Claim | Replay:
        key = validate_key(key)
        now = self._clock.now()
        record = IdempotencyRecord(
            scope=f"{principal.kind.value}:{principal.id}", key=key, fingerprint=fingerprint,
            claim=secrets.token_hex(16), state=RecordState.IN_FLIGHT, created_at=now,
            expires_at=now + self._ttl, lease_until=now + self._lease,
        )
        existing = await self._store.claim(record)
        if existing is None:
            return Claim(record)
        abandoned = existing.state is RecordState.IN_FLIGHT and existing.lease_until <= now
        if existing.expires_at <= now or abandoned:
            if await self._store.take_over(record, existing.claim):
                return Claim(record)
            raise IdempotencyKeyInFlight()  # another request took it over just now
        if existing.fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        if existing.state is RecordState.IN_FLIGHT or existing.response is None:
            raise IdempotencyKeyInFlight()
        return Replay(existing.response)

    async def finish(self, claim: Claim, response: StoredResponse) -> None:
        await self._store.complete(dataclasses.replace(
            claim.record, state=RecordState.DONE, response=response))

    async def abandon(self, claim: Claim) -> None:
        await self._store.release(claim.record.scope, claim.record.key, claim.record.claim)
