"""GraphQL side of persisted operations and Idempotency-Key.

* ``resolve_persisted`` applies Apollo's APQ protocol to one HTTP operation (GET or POST,
  batches too) before Strawberry sees it: the hash alone becomes the stored text, or the answer
  is ``PersistedQueryNotFound``; text plus hash is checked and remembered.
* ``SafelistGate`` (first schema extension) refuses, in safelist mode, any operation whose
  exact text is not registered, on every transport, WebSocket included. It reports through a
  validation rule, so the refusal is an ordinary GraphQL error and nothing executes.
* ``run_keyed`` gives a POST carrying a mutation Idempotency-Key semantics (see
  ``leadgraph.http_idempotency``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    Node,
    OperationDefinitionNode,
    OperationType,
    Visitor,
    parse,
    print_ast,
    validate,
    visit,
)
from graphql.validation import ValidationRule
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from strawberry.extensions import SchemaExtension
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from leadgraph.domain.errors import Conflict, DomainError, ValidationFailed, unavailable_for
from leadgraph.domain.idempotency import IdempotencyKeyReused
from leadgraph.domain.persisted_queries import (
    OperationNotInSafelist,
    PersistedOperation,
    PersistedQueryInvalid,
    PersistedQueryNotFound,
    operation_hash,
)
from leadgraph.http_idempotency import run_idempotently, wants_idempotency
from leadgraph.resolvers.auth import Credentials
from leadgraph.resolvers.registry import UseCases

_NOT_IN_SAFELIST = OperationNotInSafelist()


async def resolve_persisted(
    use_cases: UseCases, request_data: GraphQLRequestData, response: Response | None
) -> ExecutionResult | None:
    """Fill ``request_data.query`` from the APQ store; an error result if that fails."""
    persisted = use_cases.persisted_queries
    if persisted is None:
        return None
    try:
        request_data.query = await persisted.resolve(request_data.query, request_data.extensions)
    except PersistedQueryNotFound as exc:  # Apollo answers this one with 200
        return _error_result(exc)
    except PersistedQueryInvalid as exc:
        _set_status(response, 400)
        return _error_result(exc)
    except Exception as exc:
        if (outage := unavailable_for(exc)) is None:
            raise
        _set_status(response, 503)
        return _error_result(outage)
    return None


def _error_result(exc: DomainError) -> ExecutionResult:
    return ExecutionResult(data=None, errors=[
        GraphQLError(exc.message, extensions={"code": exc.code})])


def _set_status(response: Response | None, status: int) -> None:
    if isinstance(response, Response):
        response.status_code = status


class _RefuseUnregistered(ValidationRule):
    def enter_document(self, node: DocumentNode, *_args: Any) -> None:
        self.report_error(GraphQLError(
            _NOT_IN_SAFELIST.message, extensions={"code": _NOT_IN_SAFELIST.code}))


class SafelistGate(SchemaExtension):
    """In safelist mode, only registered texts pass validation (a no-op otherwise)."""

    _refused = False

    async def on_operation(self) -> Any:  # an async generator hook
        context = self.execution_context
        use_cases = getattr(context.context, "use_cases", None)
        persisted = getattr(use_cases, "persisted_queries", None)
        if persisted is not None and persisted.safelist:
            try:
                await persisted.ensure_allowed(context.query or "")
            except OperationNotInSafelist:
                self._refused = True
        yield

    def on_validate(self) -> Iterator[None]:
        if self._refused:
            context = self.execution_context
            context.validation_rules = (*context.validation_rules, _RefuseUnregistered)
        yield


# --- Idempotency-Key -------------------------------------------------------------------------

async def run_keyed(request: Request, run: Callable[[], Awaitable[Response]]) -> Response:
    """``run`` once per Idempotency-Key when the POST carries a mutation; else just ``run``."""
    use_cases: UseCases = request.app.state.use_cases
    idempotency = use_cases.idempotency
    if idempotency is None or request.method != "POST" or "idempotency-key" not in request.headers:
        return await run()
    credentials = Credentials.from_headers(request.headers)
    if not credentials.present:
        return await run()
    try:
        principal = await use_cases.auth.authenticate(credentials)
    except DomainError:
        return await run()  # answered 401 by the normal path
    if not wants_idempotency(request, principal) or not _carries_mutation(await request.body()):
        return await run()
    try:
        return await run_idempotently(idempotency, principal, request, run)
    except (IdempotencyKeyReused, Conflict, ValidationFailed) as exc:  # from claiming the key
        return _error_response(exc)
    except Exception as exc:
        if (outage := unavailable_for(exc)) is None:
            raise
        return _error_response(outage, 503)


def _error_response(exc: DomainError, status: int | None = None) -> Response:
    if status is None:
        status = 422 if isinstance(exc, IdempotencyKeyReused) else (
            409 if isinstance(exc, Conflict) else 400)
    error: dict[str, Any] = {"message": exc.message, "extensions": {"code": exc.code}}
    return JSONResponse({"data": None, "errors": [error]}, status_code=status)


def _carries_mutation(body: bytes) -> bool:
    """True unless every document in the body parses and holds no mutation.

    A hash-only (APQ) request, or one that does not parse, counts as a mutation: the client
    asked for a key, and replaying an error answer repeats no side effect.
    """
    try:
        payload = json.loads(body)
    except ValueError:
        return True
    items = payload if isinstance(payload, list) else [payload]
    for item in items:
        query = item.get("query") if isinstance(item, dict) else None
        if not isinstance(query, str):
            return True
        try:
            document = parse(query, no_location=True, max_tokens=10_000)
        except GraphQLError:
            return True
        if any(isinstance(node, OperationDefinitionNode)
               and node.operation is OperationType.MUTATION for node in document.definitions):
            return True
    return False


# --- Registering operations (``leadgraph graphql register-operations``) ----------------------


def operations_from_document(text: str, schema: GraphQLSchema) -> list[PersistedOperation]:
    """Each operation of a ``.graphql`` file, with the fragments it uses, as one document.

    The body is graphql-core's printed form of the operation followed by its fragments sorted
    by name; clients send that exact text (or its SHA-256). Every document is validated
    against the schema, so a typo fails here rather than at the first request.
    """
    try:
        document = parse(text)
    except GraphQLError as exc:
        raise ValidationFailed.single("file", exc.message) from None
    fragments = {node.name.value: node for node in document.definitions
                 if isinstance(node, FragmentDefinitionNode)}
    operations = [node for node in document.definitions
                  if isinstance(node, OperationDefinitionNode)]
    if not operations:
        raise ValidationFailed.single("file", "no operation found")
    result: list[PersistedOperation] = []
    for operation in operations:
        if operation.name is None:
            raise ValidationFailed.single("file", "every operation must have a name")
        name = operation.name.value
        used = _fragments_used(operation, fragments, name)
        body = print_ast(DocumentNode(definitions=(
            operation, *(fragments[fragment] for fragment in sorted(used)))))
        check_against_schema(body, schema, name)
        result.append(PersistedOperation(operation_hash(body), body, name,
                                         operation.operation.value))
    return result


def check_against_schema(body: str, schema: GraphQLSchema, label: str) -> None:
    try:
        errors = validate(schema, parse(body))
    except GraphQLError as exc:
        errors = [exc]
    if errors:
        raise ValidationFailed.single(label, "; ".join(error.message for error in errors))


def _fragments_used(
    operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode], name: str
) -> set[str]:
    used: set[str] = set()
    pending: list[Node] = [operation]
    while pending:
        node = pending.pop()
        for spread in _spreads(node):
            if spread in used:
                continue
            if spread not in fragments:
                raise ValidationFailed.single(name, f"unknown fragment {spread!r}")
            used.add(spread)
            pending.append(fragments[spread])
    return used


def _spreads(root: Node) -> list[str]:
    names: list[str] = []

    class Collect(Visitor):
        def enter_fragment_spread(self, node: FragmentSpreadNode, *_args: Any) -> None:
            names.append(node.name.value)

    visit(root, Collect())
    return names
