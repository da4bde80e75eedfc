"""The vocabulary the per-dialect declaration modules use: JSON Schema helpers, ``Op`` (one
documented operation) and ``DialectDoc`` (a document's tag, error envelope and credentials).

Schemas are plain JSON Schema 2020-12 dicts, which is what OpenAPI 3.1 uses. Response
objects are closed (``additionalProperties: false``) and list every key the handler always
writes as required, so the documentation tests notice when a handler and its schema drift.
Request objects stay open: like the legacy servers, the handlers ignore unknown fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Schema = dict[str, Any]

JSON = "application/json"

# Response headers sent only sometimes (documented with ``required: false``).
CONDITIONAL_HEADERS = frozenset({"X-LeadGraph-Deduplicated"})


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def string(description: str = "", **extra: Any) -> Schema:
    return {"type": "string", **({"description": description} if description else {}), **extra}


def nullable(schema: Schema) -> Schema:
    """``schema`` or ``null`` (JSON Schema 2020-12 style, as OpenAPI 3.1 wants it)."""
    if "$ref" in schema or "enum" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {**schema, "type": [*kinds, "null"]}


def enum(values: Iterable[str] | type[StrEnum], description: str = "") -> Schema:
    members = [m.value for m in values] if isinstance(values, type) else list(values)
    schema: Schema = {"type": "string", "enum": members}
    if description:
        schema["description"] = description
    return schema


INTEGER: Schema = {"type": "integer"}
NUMBER: Schema = {"type": "number"}
BOOLEAN: Schema = {"type": "boolean"}
STRING: Schema = {"type": "string"}
TIMESTAMP: Schema = {"type": "string", "format": "date-time",
                     "description": "UTC, ISO 8601 with a Z suffix."}
ANY_OBJECT: Schema = {"type": "object", "additionalProperties": True}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def obj(properties: Mapping[str, Schema], *, optional: Iterable[str] = (),
        closed: bool = True, description: str = "") -> Schema:
    """A response object: every property required unless named in ``optional``."""
    skip = set(optional)
    schema: Schema = {
        "type": "object",
        "properties": dict(properties),
        "required": [name for name in properties if name not in skip],
        "additionalProperties": not closed,
    }
    if description:
        schema["description"] = description
    return schema


def request(properties: Mapping[str, Schema], *, required: Sequence[str] = (),
            description: str = "") -> Schema:
    """A request body object: open, only ``required`` must be present."""
    schema: Schema = {"type": "object", "properties": dict(properties)}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


@dataclass(frozen=True)
class Body:
    """A request or response body: its schema, media type, example and response headers."""

    schema: Schema
    media: str = JSON
    example: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True)
class Param:
    name: str
    schema: Schema
    description: str = ""
    required: bool = False
    where: str = "query"


@dataclass(frozen=True)
class Op:
    """One operation. Error responses are added from the dialect: 500 always, 401 unless
    ``public``, 400 (malformed body) when there is a body, the validation status when there
    is input, 404 when the path has parameters; ``errors`` adds more."""

    summary: str
    responses: Mapping[int, Body]
    body: Body | None = None
    body_required: bool = True
    query: Sequence[Param] = ()
    public: bool = False
    errors: Sequence[int] = ()
    description: str = ""
    # Alternative request bodies by media type (e.g. multipart uploads next to JSON).
    other_bodies: Sequence[Body] = ()
    tag: str | None = None  # overrides the dialect's tag
    extra_tags: Sequence[str] = ()  # a path two documents share
    error_schema: Schema | None = None  # overrides the dialect's error envelope


@dataclass(frozen=True)
class DialectDoc:
    """How one seed document writes errors and which credentials it names."""

    tag: str
    description: str
    error_schema_name: str
    error_schema: Schema
    validation_status: int
    security: Sequence[Mapping[str, Sequence[str]]]
    schemas: Mapping[str, Schema] = field(default_factory=dict)
    # REST dialects share rate limits (429), body limits (413) and Idempotency-Key.
    rest: bool = True


Operations = dict[tuple[str, str], Op]


def methods(operations: Operations, path: str, verbs: Iterable[str], op: Op) -> None:
    """Declare the same handler under several methods (``PUT`` and ``PATCH``)."""
    for verb in verbs:
        operations[(verb, path)] = op


API_KEY = "apiKey"
PLATFORM_API_KEY = "platformApiKey"
BEARER = "bearer"

SECURITY_SCHEMES: Schema = {
    API_KEY: {"type": "apiKey", "in": "header", "name": "X-API-Key",
              "description": "An API key (the bootstrap `API_KEY` or a stored key). Header "
                             "names are case-insensitive."},
    PLATFORM_API_KEY: {"type": "apiKey", "in": "header", "name": "X-API-KEY",
                       "description": "Seed 004's spelling of the same API-key header."},
    BEARER: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
             "description": "`Authorization: Bearer <access token>`; an API key is accepted "
                            "here too."},
}

STANDARD_SECURITY: list[dict[str, list[str]]] = [{API_KEY: []}, {BEARER: []}]


def paging(*params: Param) -> list[Param]:
    return list(params)


def query_int(name: str, description: str, *, default: int, minimum: int,
              maximum: int | None = None) -> Param:
    schema: Schema = {"type": "integer", "default": default, "minimum": minimum}
    if maximum is not None:
        schema["maximum"] = maximum
    return Param(name, schema, description)


def query_str(name: str, description: str, **extra: Any) -> Param:
    return Param(name, {"type": "string", **extra}, description)
