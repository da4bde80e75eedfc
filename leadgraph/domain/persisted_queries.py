"""Persisted GraphQL operations: Apollo's automatic persisted queries (APQ) and a safelist.

An operation is named by the SHA-256 of its exact text (lower-case hex), as Apollo clients
compute it. APQ lets a client send only that hash once the server has seen the text; the
safelist (``GRAPHQL_SAFELIST=1``) lets only registered operations run at all.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from leadgraph.domain.errors import DomainError, ValidationFailed

APQ_VERSION = 1


def operation_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class PersistedQueryNotFound(DomainError):
    """Apollo clients match on this code and message, then resend the full text."""

    code = "PERSISTED_QUERY_NOT_FOUND"

    def __init__(self) -> None:
        super().__init__("PersistedQueryNotFound")


class PersistedQueryInvalid(DomainError):
    """A malformed ``persistedQuery`` extension, or a hash that is not the text's SHA-256."""

    code = "BAD_REQUEST"


class OperationNotInSafelist(DomainError):
    code = "OPERATION_NOT_IN_SAFELIST"

    def __init__(self) -> None:
        super().__init__(
            "This operation is not registered; in safelist mode only registered operations run"
        )


@dataclass(frozen=True)
class PersistedOperation:
    """A safelisted document: one operation and the fragments it uses."""

    hash: str
    body: str
    name: str | None = None
    type: str | None = None


@dataclass(frozen=True)
class PersistedQueryRequest:
    """``extensions.persistedQuery`` of a request, checked."""

    sha256: str

    @classmethod
    def from_extensions(cls, extensions: dict[str, Any] | None) -> PersistedQueryRequest | None:
        if not extensions or "persistedQuery" not in extensions:
            return None
        value = extensions["persistedQuery"]
        if not isinstance(value, dict):
            raise PersistedQueryInvalid("extensions.persistedQuery must be an object")
        if value.get("version") != APQ_VERSION:
            raise PersistedQueryInvalid("Unsupported persisted query version; use version 1")
        digest = value.get("sha256Hash")
        if not isinstance(digest, str) or len(digest) != 64 or not _is_hex(digest):
            raise PersistedQueryInvalid("extensions.persistedQuery.sha256Hash must be a "
                                        "SHA-256 hex digest")
        return cls(digest.lower())


def _is_hex(text: str) -> bool:
    return all(ch in "0123456789abcdefABCDEF" for ch in text)


def operations_from_manifest(text: str) -> list[PersistedOperation]:
    """Apollo's persisted query manifest, or a plain ``{"<sha256>": "<query>"}`` map.

    Ids are checked against the bodies' hashes: a safelist entry is its hash, so an id that is
    not the SHA-256 of its body could never be sent by a client.
    """
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValidationFailed.single("file", f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValidationFailed.single("file", "a manifest must be a JSON object")
    operations: list[PersistedOperation] = []
    if data.get("format") == "apollo-persisted-query-manifest":
        entries = data.get("operations")
        if not isinstance(entries, list):
            raise ValidationFailed.single("operations", "must be a list")
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("body"), str):
                raise ValidationFailed.single(f"operations[{index}]", "needs a string 'body'")
            body = entry["body"]
            declared = entry.get("id")
            _check_id(f"operations[{index}].id", declared, body)
            operations.append(PersistedOperation(
                operation_hash(body), body,
                name=entry.get("name") if isinstance(entry.get("name"), str) else None,
                type=entry.get("type") if isinstance(entry.get("type"), str) else None,
            ))
        return operations
    for declared, body in data.items():
        if not isinstance(body, str):
            raise ValidationFailed.single(declared, "must map a hash to a query string")
        _check_id(declared, declared, body)
        operations.append(PersistedOperation(operation_hash(body), body))
    return operations


def _check_id(field_name: str, declared: object, body: str) -> None:
    if declared is not None and (not isinstance(declared, str)
                                 or declared.lower() != operation_hash(body)):
        raise ValidationFailed.single(field_name, "is not the SHA-256 of the operation's body")
