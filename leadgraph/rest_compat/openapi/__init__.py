"""OpenAPI 3.1 for every REST route of every dialect, and Swagger UI.

One declaration module per seed document (``seed000`` … ``seed004``; ``extras`` for GraphQL
and the docs) keyed by ``(method, path)``; ``_build.build_document`` turns the app's routes
into the document once, at app creation; ``swagger.docs_routes`` serves it.
"""

from __future__ import annotations

from leadgraph.rest_compat.openapi._build import (
    build_document,
    declared_for,
    served_operations,
    undocumented,
)
from leadgraph.rest_compat.openapi.extras import DOCS_JSON_PATH, SWAGGER_UI_PATHS
from leadgraph.rest_compat.openapi.swagger import ASSETS_PATH, docs_routes

__all__ = [
    "ASSETS_PATH",
    "DOCS_JSON_PATH",
    "SWAGGER_UI_PATHS",
    "build_document",
    "declared_for",
    "docs_routes",
    "served_operations",
    "undocumented",
]
