"""Per-request GraphQL work that must be done once per document, not once per request."""

from __future__ import annotations

from strawberry.extensions.validation_cache import _get_validate_cache

from leadgraph.schema import SchemaOptions, build_schema


async def test_a_repeated_document_is_validated_once() -> None:
    # The depth and alias limiters add validation rules; made per operation, they would be
    # new rule classes each time and the validation cache (keyed by the rules) would miss.
    options = SchemaOptions(cache_size=97)  # a cache of its own (the caches are per size)
    schema = build_schema(options)
    cache = _get_validate_cache(options.cache_size)
    cache.cache_clear()
    query = "query Repeated { __typename a: __typename }"
    for _ in range(3):
        result = await schema.execute(query)
        assert result.errors is None, result.errors
    info = cache.cache_info()
    assert (info.misses, info.hits) == (1, 2), info


async def test_the_cached_rules_still_enforce_the_limits() -> None:
    schema = build_schema(SchemaOptions(cache_size=97, max_depth=2, max_aliases=1))
    for _ in range(2):  # the second time from the cache
        deep = await schema.execute("{ leads { edges { node { id } } } }")
        assert deep.errors and "exceeds maximum operation depth" in deep.errors[0].message
        aliased = await schema.execute("{ a: __typename b: __typename }")
        assert aliased.errors and "aliases" in aliased.errors[0].message
