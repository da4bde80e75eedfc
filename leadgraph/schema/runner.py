"""Strawberry's extension runner, with the per-result work of a stream worked out once.

For every result of a subscription (every event, for every subscriber) Strawberry asks each
schema extension for ``get_results`` (most return the base class's ``{}``, each through
``await_maybe``, whose ``isawaitable`` is an ABC check) and builds the ``on_stream_result``
hooks again (introspecting every extension, wrapping a generator hook in a new
``contextmanager``, an ``AsyncExitStack``). With ten extensions and a thousand subscribers
of one event that was ~10 µs per subscriber, serial on the event loop
(``bench/subscriptions.py``). Here the extensions that report results and the stream hooks
are found once per operation; what runs per result, and its outcome, is unchanged.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.context import StreamResultContextManager, WrappedHook
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext
from strawberry.types.execution import StreamExecutionResult
from strawberry.utils.await_maybe import await_maybe


class LeanExtensionsRunner(SchemaExtensionsRunner):
    """``SchemaExtensionsRunner`` that remembers which extensions have per-result work."""

    def __init__(
        self, execution_context: ExecutionContext,
        extensions: list[SchemaExtension] | None = None,
    ) -> None:
        super().__init__(execution_context, extensions)
        self._reporting: list[SchemaExtension] | None = None
        self._stream_hooks: tuple[list[WrappedHook], bool] | None = None

    async def get_extensions_results(self, ctx: ExecutionContext) -> dict[str, Any]:
        reporting = self._reporting
        if reporting is None:  # the base class's get_results adds nothing: skip those
            reporting = self._reporting = [
                extension for extension in self.extensions
                if type(extension).get_results is not SchemaExtension.get_results
            ]
        data: dict[str, Any] = {}
        for extension in reporting:
            results = extension.get_results()
            data.update(results if type(results) is dict else await await_maybe(results))
        data.update(ctx.extensions_results)
        return data

    def on_stream_result(self, result: StreamExecutionResult) -> StreamResultContextManager:
        prepared = self._stream_hooks
        if prepared is None:
            hooks = StreamResultContextManager(self.extensions, result).hooks
            prepared = self._stream_hooks = (hooks, not any(hook.is_async for hook in hooks))
        return _PreparedStreamResult(prepared[0], prepared[1], result)


class _PreparedStreamResult(StreamResultContextManager):
    """``on_stream_result`` with hooks already found; all-sync hooks skip the async stack."""

    def __init__(self, hooks: list[WrappedHook], sync: bool,
                 result: StreamExecutionResult) -> None:
        # No super().__init__: it would introspect every extension again.
        self.hooks = hooks
        self.result = result
        self._sync = sync

    async def __aenter__(self) -> None:
        if self._sync:
            self.__enter__()
        else:
            await super().__aenter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        if self._sync:
            self.__exit__(exc_type, exc_val, exc_tb)
        else:
            await super().__aexit__(exc_type, exc_val, exc_tb)
