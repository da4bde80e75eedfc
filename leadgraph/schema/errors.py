"""Map domain errors onto GraphQL error codes, once for the whole schema.

``extensions.code`` follows Apollo's conventions (``BAD_USER_INPUT``, ``NOT_FOUND`` …), with
``extensions.fields`` naming invalid inputs. Anything unexpected is logged with its traceback
and shown only as ``Unexpected error.`` with ``INTERNAL_SERVER_ERROR``.
"""

from __future__ import annotations

from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors

from leadgraph.domain.errors import DomainError, ValidationFailed


def is_unexpected(error: GraphQLError) -> bool:
    """An error that is a bug or an outage, not the caller's doing."""
    original = error.original_error
    if original is None or isinstance(original, (DomainError, GraphQLError)):
        return False
    return not (error.extensions and "code" in error.extensions)


def _copy(error: GraphQLError, message: str, extensions: dict[str, object]) -> GraphQLError:
    return GraphQLError(
        message=message, nodes=error.nodes, source=error.source, positions=error.positions,
        path=error.path, original_error=None, extensions=extensions,
    )


class DomainErrorCodes(MaskErrors):
    def __init__(self) -> None:
        super().__init__(error_message="Unexpected error.")

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [self._map(error) for error in errors]

    def _map(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
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
