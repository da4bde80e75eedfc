"""Offset pages: the one paging model behind Relay cursors and every dialect's page shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from leadgraph.domain.errors import ValidationFailed

MAX_PAGE_SIZE = 100
T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    offset: int = 0
    limit: int = 20

    def __post_init__(self) -> None:
        if self.offset < 0:
            raise ValidationFailed.single("offset", "must not be negative")
        if not 1 <= self.limit <= MAX_PAGE_SIZE:
            raise ValidationFailed.single("limit", f"must be between 1 and {MAX_PAGE_SIZE}")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.items) < self.total


@dataclass(frozen=True)
class Window(Generic[T]):
    """A page without its total: fetching one row more than asked says whether more follow.

    One query instead of two, for clients (like GraphQL without ``totalCount``) that only
    need to know whether to offer a next page.
    """

    items: list[T]
    offset: int
    limit: int
    has_more: bool
