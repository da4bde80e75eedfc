"""Schema extensions of our own: notices returned in ``extensions.leadgraph``, parse cache."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql.error import GraphQLError
from graphql.language import FieldNode, OperationDefinitionNode
from strawberry.extensions import ParserCache, SchemaExtension
from strawberry.types.graphql import OperationType

from leadgraph.domain.ports import ServiceObserver


class ReportingParserCache(ParserCache):
    """``ParserCache`` that lets a document that does not parse fail inside the operation.

    Strawberry's own ``ParserCache`` raises the syntax error (or the token-limit error) from
    its hook, outside the operation, so no extension maps it and it reaches the client with
    no ``extensions.code``. Here the cache is skipped for such a document; Strawberry then
    parses it itself and reports the error where ``DomainErrorCodes`` sees it.
    """

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        try:
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        except GraphQLError:
            context.graphql_document = None
        yield


class Notices(SchemaExtension):
    """Side facts a client may want, e.g. that ``createLead`` enriched an existing lead."""

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        notices = getattr(context, "notices", None)
        if not notices:
            return {}
        merged: dict[str, list[Any]] = {}
        for notice in notices:
            for key, value in notice.items():
                merged.setdefault(key, []).append(value)
        return {"leadgraph": merged}


class SubscriptionGauge(SchemaExtension):
    """Reports each subscription to the app's ``ServiceObserver`` while it streams.

    For a subscription, Strawberry's ``on_operation`` spans the whole stream (it ends when the
    source ends, the client sends ``complete`` or the socket closes) while ``on_execute`` only
    spans setting it up, where the operation type is known: started there, ended here.
    """

    def __init__(self, observer: ServiceObserver) -> None:
        super().__init__()
        self._observer = observer
        self._field: str | None = None

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        finally:
            if self._field is not None:
                self._observer.subscription_ended(self._field)
                self._field = None

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if self._field is None and context.operation_type is OperationType.SUBSCRIPTION:
            self._field = _root_field(context.graphql_document, context.operation_name)
            self._observer.subscription_started(self._field)
        yield


def _root_field(document: Any, operation_name: str | None) -> str:
    for definition in getattr(document, "definitions", ()):
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if operation_name and (definition.name is None
                               or definition.name.value != operation_name):
            continue
        for selection in definition.selection_set.selections:
            if isinstance(selection, FieldNode):
                return selection.name.value
    return "unknown"
