"""Seed 003's rule: at most 10 concurrent WebSocket connections per user.

The count lives in a ``ConnectionSlots`` store: Redis when configured, so the rule holds
across replicas (else per process). A socket's slot is a lease, renewed every third of
``lease_seconds`` while the socket is open, so the slots of a replica that died without
closing its sockets free up once their leases lapse.

Used by seed 003's ``/ws/conversations/{id}`` and seed 002's realtime call socket; the
GraphQL WebSocket has no per-user quota (its own limits are per connection).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from leadgraph.domain.errors import DomainError
from leadgraph.domain.ports import ConnectionSlots


class TooManyConnections(DomainError):
    code = "TOO_MANY_CONNECTIONS"


class SocketQuota:
    def __init__(self, slots: ConnectionSlots, per_user: int = 10,
                 lease_seconds: float = 60.0) -> None:
        self.per_user = per_user
        self._slots = slots
        self._lease = lease_seconds

    @asynccontextmanager
    async def hold(self, principal_id: str) -> AsyncIterator[None]:
        """A slot for one socket of ``principal_id`` for the duration of the block;
        ``TooManyConnections`` when all of them are taken."""
        connection_id = uuid.uuid4().hex
        if not await self._slots.take(principal_id, connection_id, self.per_user,
                                      self._lease):
            raise TooManyConnections(
                f"At most {self.per_user} concurrent connections per user"
            )
        renewer = asyncio.create_task(self._renew(principal_id, connection_id))
        try:
            yield
        finally:
            renewer.cancel()
            try:
                # Wait for it to stop, so a renewal in flight cannot re-add the slot after
                # it has been given back.
                await asyncio.wait({renewer})
            finally:
                await self._slots.give_back(principal_id, connection_id)

    async def _renew(self, principal_id: str, connection_id: str) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            await self._slots.renew(principal_id, connection_id, self._lease)
