"""Idempotency keys: a repeated mutating request returns the first response, once executed.

A client sends ``Idempotency-Key: <key>`` on a POST/PUT/PATCH/DELETE. The first request with
a key claims it (an *in-flight* record), runs, and stores its response; a repeat with the same
request fingerprint gets that response back without running again. The key is scoped to the
caller (principal), so two clients can never see each other's responses. Pure rules here; the
store is a port (``IdempotencyStore``) and the flow is ``resolvers.idempotency``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from leadgraph.domain.errors import Conflict, DomainError, ValidationFailed

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Headers that describe one transmission, or are recomputed per request (rate limits), and so
# are never replayed from the stored response.
_NOT_REPLAYED = frozenset({
    "content-length", "date", "server", "connection", "transfer-encoding", "set-cookie",
    "retry-after", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset",
})


class IdempotencyKeyReused(DomainError):
    """The key was already used for a different request (method, path or body differ): 422."""

    code = "IDEMPOTENCY_KEY_REUSED"

    def __init__(self) -> None:
        super().__init__(
            "This Idempotency-Key was already used with a different request; "
            "use a new key for a new request"
        )


class IdempotencyKeyInFlight(Conflict):
    """The first request with this key is still running: 409, the client retries later."""

    code = "IDEMPOTENCY_KEY_IN_USE"

    def __init__(self) -> None:
        super().__init__(
            "A request with this Idempotency-Key is still being processed; retry shortly"
        )


def validate_key(key: str) -> str:
    """1 to 255 visible ASCII characters (a UUID is the usual choice)."""
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not all(33 <= ord(ch) <= 126 for ch in key):
        raise ValidationFailed.single(
            HEADER, f"must be 1 to {MAX_KEY_LENGTH} visible ASCII characters")
    return key


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """What makes two requests "the same": method, path, query string and body.

    A JSON body is compared by value (key order and whitespace do not matter), anything else
    byte for byte.
    """
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), query.encode()):
        digest.update(part + b"\0")
    digest.update(hashlib.sha256(canonical).digest())
    return digest.hexdigest()


def replayable_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in headers if name.lower() not in _NOT_REPLAYED]


@dataclass(frozen=True)
class StoredResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class RecordState(StrEnum):
    IN_FLIGHT = "in_flight"
    DONE = "done"


@dataclass(frozen=True)
class IdempotencyRecord:
    """One key of one caller. ``claim`` identifies the request that holds it (compare-and-set);
    an in-flight record whose ``lease_until`` has passed was abandoned (a crashed replica) and
    may be claimed again."""

    scope: str
    key: str
    fingerprint: str
    claim: str
    state: RecordState
    created_at: datetime
    expires_at: datetime
    lease_until: datetime
    response: StoredResponse | None = field(default=None)
