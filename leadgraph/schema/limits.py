"""Document limits checked before validation: directives and field selections per operation.

Depth, aliases and tokens have Strawberry extensions; these two do not. They are counted with
fragments expanded (a fragment spread twice counts twice), so neither fragment "bombs" nor
duplicated fields get past them. They must run *before* graphql-core's validation: its
``OverlappingFieldsCanBeMerged`` rule is quadratic in duplicated fields and recurses once per
duplicate, so thousands of copies of one field would cost CPU and end in a bare "Validation
aborted." instead of a clear error. Hence a ``ValidationCache`` that checks first and only
then validates (Strawberry's own cache would overwrite errors set by an earlier extension).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    Node,
    OperationDefinitionNode,
)
from strawberry.extensions import ValidationCache


@dataclass
class _Counts:
    fields: int = 0
    directives: int = 0
    spreads: list[str] = field(default_factory=list)


def _local_counts(definition: Node) -> _Counts:
    """Fields and directives written in ``definition`` itself, and the fragments it spreads
    (iteratively: a deeply nested document must not exhaust the Python stack)."""
    counts = _Counts()
    stack: list[Node] = [definition]
    while stack:
        node = stack.pop()
        if isinstance(node, FieldNode):
            counts.fields += 1
        elif isinstance(node, DirectiveNode):
            counts.directives += 1
            continue  # its arguments hold no fields or directives
        elif isinstance(node, FragmentSpreadNode):
            counts.spreads.append(node.name.value)
        for key in node.keys:
            child = getattr(node, key, None)
            if isinstance(child, Node):
                stack.append(child)
            elif isinstance(child, (list, tuple)):
                stack.extend(item for item in child if isinstance(item, Node))
    return counts


def _expanded(
    document: DocumentNode, cap: int
) -> Iterator[tuple[OperationDefinitionNode, int, int]]:
    """Each operation with its field and directive counts, fragments expanded (capped at
    ``cap`` so a fragment bomb stays a small number; a cycle counts once, and validation
    reports it)."""
    local: dict[str, _Counts] = {
        definition.name.value: _local_counts(definition)
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    totals: dict[str, tuple[int, int]] = {}

    def total(name: str) -> tuple[int, int]:
        # Post-order over the fragment graph without recursion.
        stack: list[tuple[str, bool]] = [(name, False)]
        visiting: set[str] = set()
        while stack:
            current, ready = stack.pop()
            if current in totals or current not in local:
                continue
            if ready:
                counts = local[current]
                fields, directives = counts.fields, counts.directives
                for spread in counts.spreads:
                    spread_fields, spread_directives = totals.get(spread, (0, 0))
                    fields = min(cap, fields + spread_fields)
                    directives = min(cap, directives + spread_directives)
                totals[current] = (fields, directives)
                visiting.discard(current)
                continue
            if current in visiting:
                continue  # a cycle: NoFragmentCyclesRule reports it
            visiting.add(current)
            stack.append((current, True))
            stack.extend((spread, False) for spread in local[current].spreads
                         if spread not in totals and spread not in visiting)
        return totals.get(name, (0, 0))

    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        counts = _local_counts(definition)
        fields, directives = counts.fields, counts.directives
        for spread in counts.spreads:
            spread_fields, spread_directives = total(spread)
            fields = min(cap, fields + spread_fields)
            directives = min(cap, directives + spread_directives)
        yield definition, fields, directives


def limit_errors(
    document: DocumentNode, max_fields: int, max_directives: int
) -> list[GraphQLError]:
    cap = 10 * max(max_fields, max_directives) + 1

    def amount(count: int) -> str:
        return str(count) if count < cap else f"more than {cap - 1}"

    errors: list[GraphQLError] = []
    for operation, fields, directives in _expanded(document, cap):
        name = f"Operation '{operation.name.value}'" if operation.name else "The operation"
        if fields > max_fields:
            errors.append(GraphQLError(
                f"{name} selects {amount(fields)} fields; the maximum is {max_fields} "
                "(fragments expanded, repeated fields included).",
                nodes=[operation],
            ))
        if directives > max_directives:
            errors.append(GraphQLError(
                f"{name} uses {amount(directives)} directives; the maximum is {max_directives} "
                "(fragments expanded).",
                nodes=[operation],
            ))
    return errors


class LimitedValidationCache(ValidationCache):
    """Check the directive and field limits, then validate (cached) only if they hold."""

    def __init__(self, *, maxsize: int, max_fields: int, max_directives: int) -> None:
        super().__init__(maxsize=maxsize)
        self.max_fields = max_fields
        self.max_directives = max_directives

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            errors = limit_errors(context.graphql_document, self.max_fields, self.max_directives)
            if errors:
                context.pre_execution_errors = errors
                yield
                return
        yield from super().on_validate()
