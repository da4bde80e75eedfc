"""Serves the document (``/api/docs.json``, seed 004's name) and Swagger UI (``/api/docs``,
seed 004; ``/docs``, seed 002's FastAPI habit).

Swagger UI's files come from the ``swagger-ui-py`` wheel (Swagger UI 5, which reads OpenAPI
3.1) and are served by us under ``/api/docs/assets``, so the docs work without internet.
Only if that package is missing do the pages fall back to the unpkg CDN.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from leadgraph.rest_compat.openapi.extras import DOCS_JSON_PATH, SWAGGER_UI_PATHS

ASSETS_PATH = "/api/docs/assets"
CDN = "https://unpkg.com/swagger-ui-dist@5"
ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js")


def local_assets() -> Path | None:
    """Swagger UI's static directory inside the installed ``swagger_ui`` package (found
    without importing it: its ``__init__`` pulls in every web framework adapter)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        static = Path(location) / "static"
        if all((static / name).is_file() for name in ASSETS):
            return static
    return None


def swagger_html(base: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>LeadGraph API docs</title>
  <link rel="stylesheet" href="{base}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{base}/swagger-ui-bundle.js"></script>
  <script src="{base}/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{
      url: "{DOCS_JSON_PATH}",
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "StandaloneLayout"
    }});
  </script>
</body>
</html>
"""


def docs_routes(document: dict[str, Any]) -> list[BaseRoute]:
    """The routes that serve ``document`` (serialised once) and Swagger UI."""
    body = json.dumps(document, separators=(",", ":")).encode()
    static = local_assets()
    html = swagger_html(ASSETS_PATH if static is not None else CDN)

    async def openapi_json(request: Request) -> Response:
        return Response(body, media_type="application/json")

    async def swagger_ui(request: Request) -> Response:
        return HTMLResponse(html)

    routes: list[BaseRoute] = [
        Route(DOCS_JSON_PATH, openapi_json, methods=["GET"]),
        *(Route(path, swagger_ui, methods=["GET"]) for path in SWAGGER_UI_PATHS),
    ]
    if static is not None:
        routes.append(Mount(ASSETS_PATH, app=StaticFiles(directory=static), name="docs"))
    return routes
