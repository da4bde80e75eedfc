"""Schema extensions of our own: notices returned in ``extensions.leadgraph``, parse cache."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql.error import GraphQLError
from strawberry.extensions import ParserCache, SchemaExtension


class ReportingParserCache(ParserCache):
    """``ParserCache`` that lets a document that does not parse fail inside the operation.

    Strawberry's own ``ParserCache`` raises the syntax error (or the token-limit error) from
    its hook, outside the operation, so no extension maps it and it reaches the client with
    no ``extensions.code``. Here the cache is skipped for such a document; Strawberry then
    parses it itself and reports the error where ``DomainErrorCodes`` sees it.
    """

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        try:
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        except GraphQLError:
            context.graphql_document = None
        yield


class Notices(SchemaExtension):
    """Side facts a client may want, e.g. that ``createLead`` enriched an existing lead."""

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        notices = getattr(context, "notices", None)
        if not notices:
            return {}
        merged: dict[str, list[Any]] = {}
        for notice in notices:
            for key, value in notice.items():
                merged.setdefault(key, []).append(value)
        return {"leadgraph": merged}
