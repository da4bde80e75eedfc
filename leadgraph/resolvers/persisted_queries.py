"""Persisted GraphQL operations: Apollo's automatic persisted queries and the safelist.

Transport-neutral: the GraphQL view hands over the request's ``query`` and ``extensions`` and
gets back the text to run, or a domain error whose ``code`` Apollo clients understand.

* **APQ** (safelist off): a hash alone runs the text stored under it, or fails with
  ``PERSISTED_QUERY_NOT_FOUND`` (the client then sends text and hash, which is checked and
  stored). Texts live in a cache port (Redis when configured, so replicas share them).
* **Safelist** (``GRAPHQL_SAFELIST=1``): only registered operations run, sent by hash or as
  their exact text; APQ registration is refused. The registry is durable (MongoDB).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from leadgraph.domain.errors import Forbidden
from leadgraph.domain.persisted_queries import (
    OperationNotInSafelist,
    PersistedOperation,
    PersistedQueryInvalid,
    PersistedQueryNotFound,
    PersistedQueryRequest,
    operation_hash,
)
from leadgraph.domain.ports import Clock, OperationRegistry, PersistedQueryCache
from leadgraph.domain.users import Principal

__all__ = ["OperationNotInSafelist", "PersistedQueryNotFound", "PersistedQueryUseCases"]


class PersistedQueryUseCases:
    def __init__(
        self, cache: PersistedQueryCache, registry: OperationRegistry, clock: Clock, *,
        safelist: bool, known_size: int = 1024,
    ) -> None:
        self._cache = cache
        self._registry = registry
        self._clock = clock
        self.safelist = safelist
        # Registered operations never change under a hash, so hits can be remembered; misses
        # are not (an operation registered by another process must be seen at once).
        self._known: OrderedDict[str, str] = OrderedDict()
        self._known_size = known_size

    async def resolve(self, query: str | None, extensions: dict[str, Any] | None) -> str | None:
        """The text to execute for one request (``query`` itself when APQ is not used)."""
        persisted = PersistedQueryRequest.from_extensions(extensions)
        if persisted is None:
            return query
        if not query:
            text = await self._lookup(persisted.sha256)
            if text is None:
                raise PersistedQueryNotFound()
            return text
        if operation_hash(query) != persisted.sha256:
            raise PersistedQueryInvalid("provided sha does not match query")
        if not self.safelist:  # in safelist mode only the CLI registers operations
            await self._cache.put(persisted.sha256, query)
        return query

    async def ensure_allowed(self, query: str) -> None:
        """In safelist mode, refuse any text that is not registered (every transport)."""
        if not self.safelist:
            return
        if await self._registered(operation_hash(query)) is None:
            raise OperationNotInSafelist()

    async def register(
        self, actor: Principal, operations: Sequence[PersistedOperation]
    ) -> list[tuple[PersistedOperation, bool]]:
        """Add operations to the safelist; each with True if new (re-registering is a no-op)."""
        if not actor.is_admin:
            raise Forbidden("Only an admin can register operations")
        now = self._clock.now()
        return [(operation, await self._registry.register(operation, now))
                for operation in operations]

    async def _lookup(self, digest: str) -> str | None:
        if self.safelist:
            return await self._registered(digest)
        return await self._cache.get(digest)

    async def _registered(self, digest: str) -> str | None:
        text = self._known.get(digest)
        if text is not None:
            self._known.move_to_end(digest)
            return text
        operation = await self._registry.get(digest)
        if operation is None:
            return None
        self._known[digest] = operation.body
        while len(self._known) > self._known_size:
            self._known.popitem(last=False)
        return operation.body
