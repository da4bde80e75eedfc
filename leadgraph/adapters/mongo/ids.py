"""Our ids are ObjectId hex strings on every transport; anything else simply matches nothing."""

from __future__ import annotations

from collections.abc import Iterable

from bson import ObjectId
from bson.errors import InvalidId


def parse_object_id(value: str) -> ObjectId | None:
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        return None


def parse_object_ids(values: Iterable[str]) -> list[ObjectId]:
    return [oid for oid in (parse_object_id(value) for value in values) if oid is not None]
