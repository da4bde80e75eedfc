"""GraphQL query cost: computed from the document before any resolver runs, then charged.

The model (close to GitHub's and Shopify's):

* a scalar or enum field costs 0, an object field 1, a root mutation or subscription field
  10; ``FIELD_COSTS`` overrides any field (resolvers that aggregate, call the assistant or a
  voice engine, or read many documents);
* a list field multiplies what it selects by its ``first``/``last``/``limit``/``pageSize``
  argument (variables resolved, then the argument's default), or by the page size of the
  connection it belongs to (``leads(first: 50) { edges { node … } }``: the 50 applies to
  ``edges``), or else by ``graphql_default_list_size``; multipliers nest;
* introspection (``__schema``, ``__type``) costs a flat 10: its size is the schema's, not data.

An operation over ``graphql_max_cost`` is refused with ``QUERY_TOO_COSTLY``; otherwise its
cost is charged to the caller's per-minute GraphQL budget (``leadgraph.domain.ratelimits``),
and over budget the answer is an HTTP 429 with ``RATE_LIMITED`` and ``retryAfter``. The cost,
the per-operation maximum and the budget left are reported in ``extensions.cost``, and HTTP
answers carry the ``X-RateLimit-*`` headers. Every operation of a batch is charged on its own;
a subscription is charged once, when it starts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import suppress
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Undefined,
    get_named_type,
    is_leaf_type,
    is_list_type,
    value_from_ast,
)
from graphql.execution.values import (
    VariableValues,
    get_directive_values,
    get_variable_values,
)
from graphql.type.definition import get_nullable_type
from starlette.responses import Response
from strawberry.extensions import SchemaExtension

from leadgraph.domain.errors import RateLimited
from leadgraph.domain.ratelimits import GRAPHQL, Quota
from leadgraph.schema.context import GraphQLContext

SIZE_ARGUMENTS = ("first", "last", "limit", "pageSize")
OBJECT_COST = 1
ROOT_FIELD_COSTS = {OperationType.MUTATION: 10, OperationType.SUBSCRIPTION: 10}
INTROSPECTION_COST = 10

FIELD_COSTS: dict[str, int] = {
    # Aggregations over the whole collection.
    "Query.dashboard": 10,
    "Query.leadAnalytics": 10,
    "Query.conversationAnalytics": 10,
    "Chatbot.analytics": 10,  # batched per page, but six commands over the bots' traffic
    "Lead.possibleDuplicates": 5,
    # An assistant turn, a voice engine, a training run, a bulk import.
    "Mutation.sendMessage": 25,
    "Mutation.startCall": 25,
    "Mutation.respondToCall": 25,
    "Mutation.synthesizeSpeech": 25,
    "Mutation.transcribeAudio": 25,
    "Mutation.trainChatbot": 50,
    "Mutation.importLeads": 50,
}


class _Costing:
    def __init__(
        self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode],
        variables: VariableValues | None, raw_variables: dict[str, Any],
        default_list_size: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variable_values = variables
        self.variables = variables.coerced if variables is not None else raw_variables
        self.default_list_size = default_list_size

    def selection_set(
        self, parent: GraphQLNamedType, selections: SelectionSetNode | None,
        page: int | None, root: OperationType | None = None, visiting: frozenset[str] = frozenset(),
    ) -> int:
        if selections is None:
            return 0
        total = 0
        for node in selections.selections:
            if not self._included(node):
                continue
            if isinstance(node, FieldNode):
                total += self.field(parent, node, page, root, visiting)
            elif isinstance(node, InlineFragmentNode):
                condition = (
                    self.schema.get_type(node.type_condition.name.value)
                    if node.type_condition else parent
                )
                total += self.selection_set(
                    condition or parent, node.selection_set, page, root, visiting
                )
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in visiting:
                    continue
                condition = self.schema.get_type(fragment.type_condition.name.value)
                total += self.selection_set(
                    condition or parent, fragment.selection_set, page, root, visiting | {name}
                )
        return total

    def field(
        self, parent: GraphQLNamedType, node: FieldNode, page: int | None,
        root: OperationType | None, visiting: frozenset[str],
    ) -> int:
        name = node.name.value
        if name == "__typename":
            return 0
        if name in ("__schema", "__type"):
            return INTROSPECTION_COST
        definition = _field_definition(parent, name)
        if definition is None:  # validation has already refused it; count nothing
            return 0
        named = get_named_type(definition.type)
        default_own = 0 if is_leaf_type(named) else OBJECT_COST
        if root is not None:
            default_own = max(default_own, ROOT_FIELD_COSTS.get(root, default_own))
        own = FIELD_COSTS.get(f"{parent.name}.{name}", default_own)
        size = self._size(definition, node)
        if is_list_type(get_nullable_type(definition.type)):
            count = size if size is not None else page if page is not None \
                else self.default_list_size
            return count * (own + self.selection_set(named, node.selection_set, None,
                                                     visiting=visiting))
        return own + self.selection_set(named, node.selection_set, size, visiting=visiting)

    def _size(self, definition: GraphQLField, node: FieldNode) -> int | None:
        """The page size this field asks for, if it takes one."""
        for name in SIZE_ARGUMENTS:
            argument = definition.args.get(name)
            if argument is None:
                continue
            value: Any = Undefined
            for given in node.arguments or ():
                if given.name.value == name:
                    value = value_from_ast(given.value, argument.type, self.variables)
            if value is Undefined or value is None:
                value = argument.default_value
            if isinstance(value, int) and not isinstance(value, bool):
                return max(0, value)
            return self.default_list_size
        return None

    def _included(self, node: FieldNode | InlineFragmentNode | Any) -> bool:
        try:
            skip = get_directive_values(GraphQLSkipDirective, node, self.variable_values)
            include = get_directive_values(GraphQLIncludeDirective, node, self.variable_values)
        except GraphQLError:
            return True  # a bad directive argument fails at execution; cost it as included
        if skip and skip.get("if") is True:
            return False
        return not (include and include.get("if") is False)


def _field_definition(parent: GraphQLNamedType, name: str) -> GraphQLField | None:
    if isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
        definition: GraphQLField | None = parent.fields.get(name)
        return definition
    return None


def operation_cost(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
    variables: Mapping[str, Any] | None, *, default_list_size: int = 20,
) -> int:
    """The cost of the operation ``operation_name`` (or the only one) in ``document``."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    chosen = next((op for op in operations
                   if operation_name is None or (op.name and op.name.value == operation_name)),
                  None)
    if chosen is None:
        return 0
    raw = dict(variables or {})
    coerced = get_variable_values(schema, chosen.variable_definitions or (), raw)
    values = coerced if isinstance(coerced, VariableValues) else None  # else: errors
    root = schema.get_root_type(chosen.operation)
    if root is None:
        return 0
    costing = _Costing(schema, fragments, values, raw, default_list_size)
    return costing.selection_set(root, chosen.selection_set, None, chosen.operation)


class QueryCost(SchemaExtension):
    """Computes, checks and charges the operation's cost (see the module docstring)."""

    def __init__(self, *, max_cost: int, default_list_size: int) -> None:
        self.max_cost = max_cost
        self.default_list_size = default_list_size
        self.cost: int | None = None
        self.quota: Quota | None = None
        self.charged = False

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        if not self.charged and self._http_response() is not None:
            # Refused before execution (syntax, validation, too costly): it still counts.
            # The answer is already an error; over the limit, its status becomes 429.
            with suppress(GraphQLError):
                await self._charge(1)

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            self.cost = operation_cost(
                context.schema._schema, document, context.operation_name, context.variables,
                default_list_size=self.default_list_size,
            )
            if self.cost > self.max_cost:
                await self._charge(1)  # refused unrun: counted like an invalid document
                raise GraphQLError(
                    f"Query cost {self.cost} exceeds the maximum of {self.max_cost}; "
                    "ask for fewer items (first/limit) or fewer nested lists",
                    extensions={"code": "QUERY_TOO_COSTLY", "cost": self.cost,
                                "maximumCost": self.max_cost},
                )
            await self._charge(self.cost)
        yield

    async def _charge(self, cost: int) -> None:
        self.charged = True
        context = self.execution_context.context
        if not isinstance(context, GraphQLContext) or context.use_cases.rate_limits is None:
            return
        client = context.request.client
        response = self._http_response()
        try:
            self.quota = await context.use_cases.rate_limits.charge(
                GRAPHQL, context.principal, client.host if client else None,
                public=context.principal is None, cost=cost,
            )
        except RateLimited as exc:
            if response is not None:
                response.status_code = 429
                response.headers.update(exc.headers)
            raise GraphQLError(exc.message, extensions={
                "code": exc.code, "retryAfter": exc.retry_after,
            }) from None
        if response is not None and self.quota is not None:
            response.headers.update(self.quota.headers())

    def _http_response(self) -> Response | None:
        context = self.execution_context.context
        if isinstance(context, GraphQLContext) and isinstance(context.response, Response):
            return context.response
        return None

    def get_results(self) -> dict[str, Any]:
        if self.cost is None or self._http_response() is None:
            return {}  # not on WebSocket messages: a subscription is charged once
        report: dict[str, Any] = {"requested": self.cost, "maximum": self.max_cost}
        if self.quota is not None:
            report["rateLimit"] = {
                "limit": self.quota.limit, "remaining": self.quota.remaining,
                "resetAt": self.quota.reset_at,
            }
        return {"cost": report}
