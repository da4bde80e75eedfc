"""The Strawberry schema: types, inputs, roots, extensions and permissions."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql.error import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from leadgraph.schema.errors import DomainErrorCodes, is_unexpected
from leadgraph.schema.extensions import Notices, ReportingParserCache
from leadgraph.schema.mutation import Mutation
from leadgraph.schema.query import Query
from leadgraph.schema.subscription import Subscription

log = logging.getLogger("leadgraph.graphql")
_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")


class LeadGraphSchema(strawberry.Schema):
    @staticmethod
    def remove_field_suggestion(error: GraphQLError) -> None:
        """With suggestions off, hide every "Did you mean …?" (Strawberry strips only the one
        for unknown fields; arguments, enum values, input fields and types named the rest)."""
        error.message = _SUGGESTION.sub("", error.message)

    async def execute(
        self, *args: Any, allowed_operation_types: Iterable[OperationType] | None = None,
        **kwargs: Any,
    ) -> ExecutionResult:
        """Plain HTTP execution (WebSockets use ``subscribe``): never a subscription.

        Strawberry would otherwise run a POSTed subscription like a query and fail inside.
        """
        allowed = set(allowed_operation_types or (OperationType.QUERY, OperationType.MUTATION))
        allowed.discard(OperationType.SUBSCRIPTION)
        kwargs["allowed_operation_types"] = allowed
        return await super().execute(*args, **kwargs)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log only what is our fault; the caller's mistakes go back to the caller."""
        for error in errors:
            if is_unexpected(error):
                log.error("unexpected GraphQL error", exc_info=error.original_error)


@dataclass(frozen=True)
class SchemaOptions:
    introspection: bool = True
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 5000
    cache_size: int = 256


def build_schema(options: SchemaOptions | None = None) -> strawberry.Schema:
    options = options or SchemaOptions()
    # Factories: a fresh extension per operation (the parse/validation LRU caches are
    # module-level, keyed by size, so they are still shared and bounded).
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: ReportingParserCache(maxsize=options.cache_size),
        lambda: ValidationCache(maxsize=options.cache_size),
        lambda: MaxTokensLimiter(max_token_count=options.max_tokens),
        lambda: QueryDepthLimiter(max_depth=options.max_depth),
        lambda: MaxAliasesLimiter(max_alias_count=options.max_aliases),
        DomainErrorCodes,
        Notices,
    ]
    if not options.introspection:
        extensions.append(DisableIntrospection)
    return LeadGraphSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=not options.introspection),
    )


__all__ = ["SchemaOptions", "build_schema"]
