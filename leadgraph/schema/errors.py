"""Map domain errors onto GraphQL error codes, once for the whole schema.

``extensions.code`` follows Apollo's conventions (``BAD_USER_INPUT``, ``NOT_FOUND`` …), with
``extensions.fields`` naming invalid inputs. Anything unexpected is logged with its traceback
and shown only as ``Unexpected error.`` with ``INTERNAL_SERVER_ERROR``.
"""

from __future__ import annotations

from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors

from leadgraph.domain.errors import DomainError, Outage, ValidationFailed, unavailable_for
from leadgraph.schema.context import GraphQLContext


def is_unexpected(error: GraphQLError) -> bool:
    """An error that is a bug, not the caller's doing nor a known outage."""
    original = error.original_error
    if original is None or isinstance(original, (DomainError, GraphQLError)):
        return False
    if unavailable_for(original) is not None:
        return False  # a dependency is down: SERVICE_UNAVAILABLE, logged without a traceback
    return not (error.extensions and "code" in error.extensions)


def _copy(error: GraphQLError, message: str, extensions: dict[str, object]) -> GraphQLError:
    return GraphQLError(
        message=message, nodes=error.nodes, source=error.source, positions=error.positions,
        path=error.path, original_error=None, extensions=extensions,
    )


class DomainErrorCodes(MaskErrors):
    def __init__(self) -> None:
        super().__init__(error_message="Unexpected error.")

    def _process_result(self, result: object) -> None:
        # Same as Strawberry's, without its ``isinstance`` against a runtime-checkable
        # Protocol: that check runs for every subscription event of every subscriber and
        # was a measurable share of a 1,000-subscriber fan-out (bench/subscriptions.py).
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)  # type: ignore[attr-defined]

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        if any(isinstance(error.original_error, Outage) for error in errors):
            context = self.execution_context.context
            if isinstance(context, GraphQLContext):
                context.mark_unavailable()  # HTTP 503, as every REST dialect answers
        return [self._map(error) for error in errors]

    def _map(self, error: GraphQLError) -> GraphQLError:
        original = unavailable_for(error.original_error) or error.original_error
        if isinstance(original, DomainError):
            extensions: dict[str, object] = {"code": original.code}
            if isinstance(original, ValidationFailed):
                extensions["fields"] = [
                    {"field": p.field, "message": p.message} for p in original.problems
                ]
            return _copy(error, original.message, extensions)
        if error.extensions and "code" in error.extensions:
            return error
        if not is_unexpected(error):
            # Syntax, validation and variable-coercion errors: the caller's to fix.
            return _copy(error, error.message, {"code": "GRAPHQL_VALIDATION_FAILED"})
        # Logged by LeadGraphSchema.process_errors; the caller sees no detail.
        return _copy(error, self.error_message, {"code": "INTERNAL_SERVER_ERROR"})
