"""Relay connection arguments over the domain's offset pages.

Cursors are opaque to clients (base64 of a position); ``offset`` is accepted too, for
dashboards that jump to a page. ``first`` is capped so one query cannot ask for everything.
"""

from __future__ import annotations

import base64
import binascii

from leadgraph.domain.errors import ValidationFailed
from leadgraph.domain.pagination import MAX_PAGE_SIZE, PageRequest

DEFAULT_PAGE_SIZE = 20
_PREFIX = "offset:"


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{position}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not text.startswith(_PREFIX):
            raise ValueError(text)
        position = int(text.removeprefix(_PREFIX))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed.single("after", "Invalid cursor") from None
    if position < 0:
        raise ValidationFailed.single("after", "Invalid cursor")
    return position


def page_request(first: int | None, after: str | None, offset: int | None) -> PageRequest:
    limit = DEFAULT_PAGE_SIZE if first is None else first
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationFailed.single("first", f"must be between 1 and {MAX_PAGE_SIZE}")
    start = decode_cursor(after) + 1 if after else 0
    if offset is not None:
        if offset < 0:
            raise ValidationFailed.single("offset", "must not be negative")
        start += offset
    return PageRequest(offset=start, limit=limit)
