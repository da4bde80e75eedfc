"""One execution per subscription event for identical subscriptions of the same principal.

A published event reaches every local subscriber, and graphql-core executes the selection
set once per subscriber: with a thousand ``leadEvents`` subscribers that is a thousand
identical executions (~0.1-0.3 ms each) before the last one is sent. Here the first
subscriber to handle an event executes it and the others with the same document, no
variables and the same principal reuse that result.

Sharing is safe because such an execution has exactly the same inputs: the event object
(the root value; the broker hands the very same object to every local subscriber and
``LeadEvent.from_domain`` builds its output once per event), the same parsed document (the
parser cache returns one ``DocumentNode`` per query text), no variables, and the same
principal (which is all our resolvers read from the context; loaders on a WebSocket do not
cache). Anything else executes as usual: a different payload object, an operation with
variables (e.g. ``messageAdded(afterSeq:)``, whose replay differs per subscriber), another
principal, or a result with errors (each subscriber then executes it itself).

Memory: the results of the latest few events, the oldest dropped as new ones arrive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from graphql import ExecutionResult, OperationType
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


class SharedEventExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, with subscription events executed once per key."""

    def execute_operation(self, serially: bool | None = None) -> Any:
        # ``serially is False`` is graphql-core's per-event execution of a subscription.
        if serially is not False or self.operation.operation is not OperationType.SUBSCRIPTION \
                or self.operation.variable_definitions:
            return super().execute_operation(serially)
        principal = getattr(self.context_value, "principal", None)
        payload = self.root_value
        key = (id(self.operation), principal)
        results = _results_for(payload)
        known = results.get(key)
        if known is not None and known[0] is self.operation:
            return self._reuse(known[1])
        result = super().execute_operation(serially)
        if self.is_awaitable(result):
            task = asyncio.ensure_future(result)
            results[key] = (self.operation, task)
            return _await_shielded(task)
        if isinstance(result, ExecutionResult) and not result.errors:
            results[key] = (self.operation, result)
        return result

    def _reuse(self, known: Any) -> Any:
        if isinstance(known, asyncio.Future):
            return self._from_task(known)
        return known

    async def _from_task(self, task: asyncio.Future[Any]) -> Any:
        result = await asyncio.shield(task)
        if isinstance(result, ExecutionResult) and result.errors:
            own: Any = super().execute_operation(False)  # not shared: execute it ourselves
            return await own if self.is_awaitable(own) else own
        return result


async def _await_shielded(task: Awaitable[Any]) -> Any:
    # Shielded: a subscriber that goes away must not cancel the result others wait for.
    return await asyncio.shield(task)


# The latest few events: [(payload, {(operation id, principal): (operation, result or task)})].
# Several, not one: subscribers do not all handle events in the same order (a lead event
# that arrived late is delivered after its successor by some, before it by others), and a
# single entry would then be replaced back and forth, sharing nothing.
_RECENT_EVENTS = 8
_SHARED: list[tuple[Any, dict[tuple[int, Any], Any]]] = []


def _results_for(payload: Any) -> dict[tuple[int, Any], Any]:
    for seen, results in _SHARED:
        if seen is payload:
            return results
    results = {}
    _SHARED.append((payload, results))
    del _SHARED[:-_RECENT_EVENTS]
    return results
