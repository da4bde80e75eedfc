"""Builds the OpenAPI 3.1 document from the routes the app really serves.

The document is a pure function of the route list: each ``(method, path)`` is looked up in
the per-dialect declarations (``seed000`` … ``seed004``, ``extras``). Seed 004's ``/api/v1``
and ``/api/v0`` aliases reuse its ``/api`` declarations, the ``/api/v0`` ones marked
deprecated with the ``Deprecation``/``Sunset`` headers. A route without a declaration is
left out here and reported by ``undocumented`` (the guard test fails on it), so the app
still starts while the documentation is being written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from starlette.routing import BaseRoute, Route, WebSocketRoute

from leadgraph import __version__
from leadgraph.domain.idempotency import HEADER as IDEMPOTENCY_HEADER
from leadgraph.domain.idempotency import MUTATING_METHODS
from leadgraph.rest_compat.chatbots_platform_versions import SUNSET
from leadgraph.rest_compat.openapi import extras, seed000, seed001, seed002, seed003, seed004
from leadgraph.rest_compat.openapi._spec import (
    CONDITIONAL_HEADERS,
    JSON,
    SECURITY_SCHEMES,
    Body,
    DialectDoc,
    Op,
    Operations,
    Schema,
    ref,
)

DIALECTS: list[tuple[DialectDoc, Operations]] = [
    (seed000.DIALECT, seed000.OPERATIONS),
    (seed001.DIALECT, seed001.OPERATIONS),
    (seed002.DIALECT, seed002.OPERATIONS),
    (seed003.DIALECT, seed003.OPERATIONS),
    (seed004.DIALECT, {**seed004.OPERATIONS, **seed004.MIDDLEWARE_OPERATIONS}),
    (extras.GRAPHQL, extras.GRAPHQL_OPERATIONS),
    (extras.DOCS, extras.DOCS_OPERATIONS),
]
# Documented although no route serves them: the metrics middleware and the docs routes
# (added to the app after the document is built).
ALWAYS: list[tuple[str, str]] = [*seed004.MIDDLEWARE_OPERATIONS, *extras.DOCS_OPERATIONS]
WEBSOCKETS: dict[str, tuple[str, str]] = {
    **{path: (seed002.DIALECT.tag, text) for path, text in seed002.WEBSOCKETS.items()},
    **{path: (seed003.DIALECT.tag, text) for path, text in seed003.WEBSOCKETS.items()},
    "/graphql": (extras.GRAPHQL.tag, "GraphQL subscriptions (`graphql-transport-ws`)."),
}
_ALIAS = re.compile(r"^/api/(v[01])(/.+)$")


@dataclass(frozen=True)
class Declared:
    dialect: DialectDoc
    op: Op
    version: str | None = None  # "v1" or "v0" for seed 004's aliases


def _declarations() -> dict[tuple[str, str], Declared]:
    found: dict[tuple[str, str], Declared] = {}
    for dialect, operations in DIALECTS:
        for key, op in operations.items():
            if key in found:
                raise ValueError(f"{key} is declared by {found[key].dialect.tag} and "
                                 f"{dialect.tag}")
            found[key] = Declared(dialect, op)
    return found


DECLARED = _declarations()


def declared_for(method: str, path: str) -> Declared | None:
    """The declaration that documents ``method path``, following seed 004's aliases."""
    if (method, path) in DECLARED:
        return DECLARED[(method, path)]
    alias = _ALIAS.match(path)
    if alias and (method, f"/api{alias.group(2)}") in seed004.OPERATIONS:
        return Declared(seed004.DIALECT, seed004.OPERATIONS[(method, f"/api{alias.group(2)}")],
                        alias.group(1))
    return None


def served_operations(routes: Iterable[BaseRoute]) -> list[tuple[str, str]]:
    """Every ``(METHOD, path)`` an HTTP route answers (HEAD is implied by GET)."""
    return [
        (method, route.path)
        for route in routes if isinstance(route, Route)
        for method in sorted((route.methods or set()) - {"HEAD"})
    ]


def _media(body: Body) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": body.schema}
    if body.example is not None:
        media["example"] = body.example
    return media


def _operation_id(method: str, path: str) -> str:
    """Unique because ``(method, path)`` is: a trailing slash gets its own suffix."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") or "root"
    if path.endswith("/") and path != "/":
        slug += "_slash"
    return f"{method.lower()}_{slug}"


def _response(status: int, body: Body | None, error_schema: Schema, extra_headers:
              Mapping[str, str]) -> dict[str, Any]:
    description = body.description if body and body.description else HTTPStatus(status).phrase
    response: dict[str, Any] = {"description": description}
    if body is None:
        response["content"] = {JSON: {"schema": error_schema}}
        headers = dict(extra_headers)
        if status == 401:
            headers["WWW-Authenticate"] = "`Bearer`."
    else:
        response["content"] = {body.media: {"schema": body.schema}}
        headers = {**body.headers, **extra_headers}
    if headers:
        response["headers"] = {
            name: {"description": text, "required": name not in CONDITIONAL_HEADERS,
                   "schema": {"type": "string"}}
            for name, text in headers.items()
        }
    return response


def _error_statuses(op: Op, dialect: DialectDoc, has_path_params: bool) -> list[int]:
    statuses = {500, *op.errors}
    if not op.public:
        statuses.add(401)
    if dialect.rest:
        statuses.add(429)  # rate limits (X-RateLimit-* headers, Retry-After)
    if op.body is not None:
        statuses |= {400, dialect.validation_status}
        if dialect.rest:
            statuses.add(413)
    if op.query:
        statuses.add(dialect.validation_status)
    if has_path_params:
        statuses.add(404)
    return sorted(statuses - set(op.responses))


def operation(method: str, path: str, declared: Declared) -> dict[str, Any]:
    op, dialect = declared.op, declared.dialect
    path_params = re.findall(r"{([^}:]+)(?::[^}]*)?}", path)
    result: dict[str, Any] = {
        "tags": [op.tag or dialect.tag, *op.extra_tags],
        "summary": op.summary,
        "operationId": _operation_id(method, path),
    }
    if op.description:
        result["description"] = op.description
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in path_params
    ]
    parameters += [
        {"name": p.name, "in": p.where, "required": p.required, "schema": p.schema,
         **({"description": p.description} if p.description else {})}
        for p in op.query
    ]
    if dialect.rest and not op.public and method in MUTATING_METHODS:
        parameters.append({
            "name": IDEMPOTENCY_HEADER, "in": "header", "required": False,
            "schema": {"type": "string"},
            "description": "Run this request once per key: a repeat gets the stored answer.",
        })
    if parameters:
        result["parameters"] = parameters
    if op.body is not None:
        result["requestBody"] = {
            "required": op.body_required,
            "content": {b.media: _media(b) for b in (op.body, *op.other_bodies)},
        }
    result["security"] = [] if op.public else [dict(s) for s in dialect.security]
    extra_headers: dict[str, str] = {}
    if declared.version == "v0":
        result["deprecated"] = True
        extra_headers = {"Deprecation": "`true`.", "Sunset": f"`{SUNSET}`."}
    error_schema = op.error_schema or ref(dialect.error_schema_name)
    responses = {
        str(status): _response(status, body, error_schema, extra_headers)
        for status, body in sorted(op.responses.items())
    }
    for status in _error_statuses(op, dialect, bool(path_params)):
        responses[str(status)] = _response(status, None, error_schema, extra_headers)
    result["responses"] = responses
    return result


def build_document(routes: Iterable[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes`` (call once, at app creation)."""
    routes = list(routes)
    paths: dict[str, dict[str, Any]] = {}
    for method, path in [*served_operations(routes), *ALWAYS]:
        declared = declared_for(method, path)
        if declared is None or method.lower() in paths.get(path, {}):
            continue
        paths.setdefault(path, {})[method.lower()] = operation(method, path, declared)
    schemas: dict[str, Schema] = {}
    for dialect, _ in DIALECTS:
        schemas[dialect.error_schema_name] = dialect.error_schema
        schemas.update(dialect.schemas)
    websockets = [
        {"path": route.path, "tag": WEBSOCKETS.get(route.path, ("", ""))[0],
         "description": WEBSOCKETS.get(route.path, ("", ""))[1]}
        for route in routes if isinstance(route, WebSocketRoute)
    ]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "LeadGraph API",
            "version": __version__,
            "description": "Every REST dialect LeadGraph serves (one tag per seed document), "
                           "plus the GraphQL endpoint. Credentials: `X-API-Key` (any "
                           "capitalisation) or `Authorization: Bearer` with a JWT or an API "
                           "key; never in the query string. REST answers carry "
                           "`X-RateLimit-Limit`, `X-RateLimit-Remaining` and "
                           "`X-RateLimit-Reset` (429 with `Retry-After` past the limit).",
        },
        "tags": [{"name": d.tag, "description": d.description} for d, _ in DIALECTS],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
        "x-websockets": websockets,
    }


def undocumented(routes: Iterable[BaseRoute]) -> list[tuple[str, str]]:
    """Served operations the declarations do not cover (the guard test wants none)."""
    return [(m, p) for m, p in served_operations(routes) if declared_for(m, p) is None]
