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
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from leadgraph.domain.errors import Outage
from leadgraph.domain.ports import NullObserver, ServiceObserver
from leadgraph.schema.cost import QueryCost
from leadgraph.schema.errors import DomainErrorCodes, is_unexpected
from leadgraph.schema.extensions import Notices, ReportingParserCache, SubscriptionGauge
from leadgraph.schema.limits import LimitedValidationCache
from leadgraph.schema.mutation import Mutation
from leadgraph.schema.persisted import SafelistGate
from leadgraph.schema.query import Query
from leadgraph.schema.runner import LeanExtensionsRunner
from leadgraph.schema.sharing import SharedEventExecutionContext
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

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        """Per-result extension work found once per operation (``schema/runner.py``)."""
        return LeanExtensionsRunner(execution_context, extensions)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log only what is our fault; the caller's mistakes go back to the caller."""
        for error in errors:
            if is_unexpected(error):
                log.error("unexpected GraphQL error", exc_info=error.original_error)
            elif isinstance(error.original_error, Outage):
                log.warning("GraphQL: dependency unavailable: %s", error.original_error)


@dataclass(frozen=True)
class SchemaOptions:
    introspection: bool = True
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 5000
    cache_size: int = 256
    max_directives: int = 50
    max_fields: int = 500
    max_batch_operations: int = 10  # 0: a JSON array of operations is refused
    max_cost: int = 10_000  # per operation; see leadgraph.schema.cost
    default_list_size: int = 20


def build_schema(
    options: SchemaOptions | None = None, observer: ServiceObserver | None = None
) -> strawberry.Schema:
    """``observer`` (the app's metrics) hears when subscriptions start and end."""
    options = options or SchemaOptions()
    gauge_observer: ServiceObserver = observer or NullObserver()
    # Factories: a fresh extension per operation (the parse/validation LRU caches are
    # module-level, keyed by size, so they are still shared and bounded).
    # Rules built once: a limiter made per operation makes a new rule class each time, and
    # the validation cache, keyed by the rules, would then never hit (every request would be
    # validated again and the LRU filled with dead entries).
    limit_rules = [*QueryDepthLimiter(max_depth=options.max_depth).validation_rules,
                   *MaxAliasesLimiter(max_alias_count=options.max_aliases).validation_rules]
    extensions: list[Callable[[], SchemaExtension]] = [
        SafelistGate,  # first: it adds its rule before validation runs (safelist mode only)
        lambda: ReportingParserCache(maxsize=options.cache_size),
        lambda: LimitedValidationCache(  # directive and field limits, then validation
            maxsize=options.cache_size, max_fields=options.max_fields,
            max_directives=options.max_directives,
        ),
        lambda: MaxTokensLimiter(max_token_count=options.max_tokens),
        lambda: AddValidationRules(limit_rules),  # depth and aliases
        lambda: QueryCost(  # after validation, before any resolver: refuse, then charge
            max_cost=options.max_cost, default_list_size=options.default_list_size,
        ),
        DomainErrorCodes,
        Notices,
        lambda: SubscriptionGauge(gauge_observer),
    ]
    if not options.introspection:
        extensions.append(DisableIntrospection)
    return LeadGraphSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=SharedEventExecutionContext,  # one execution per event
        config=StrawberryConfig(
            disable_field_suggestions=not options.introspection,
            batching_config={"max_operations": options.max_batch_operations}
            if options.max_batch_operations else None,
        ),
    )


__all__ = ["SchemaOptions", "build_schema"]
