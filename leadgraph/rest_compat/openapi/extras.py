"""What is not a seed document: the GraphQL endpoint's HTTP face and the docs themselves."""

from __future__ import annotations

from leadgraph.rest_compat.openapi._spec import (
    ANY_OBJECT,
    STANDARD_SECURITY,
    STRING,
    Body,
    DialectDoc,
    Op,
    Operations,
    Param,
    array,
    obj,
    request,
    string,
)

DOCS_JSON_PATH = "/api/docs.json"
SWAGGER_UI_PATHS = ("/api/docs", "/docs")

_GRAPHQL_RESULT = obj({
    "data": {"type": ["object", "null"]},
    "errors": array({**ANY_OBJECT, "description": "Each has `extensions.code`."}),
    "extensions": ANY_OBJECT,
}, optional=["data", "errors", "extensions"])

GRAPHQL = DialectDoc(
    tag="GraphQL",
    description="The typed API. Its schema is the SDL at `GET /graphql/schema.graphql` (also "
                "`leadgraph schema export`); subscriptions run over the WebSocket at "
                "`/graphql` (`graphql-transport-ws`).",
    error_schema_name="GraphQLResult",
    error_schema=_GRAPHQL_RESULT,
    validation_status=400,
    security=STANDARD_SECURITY,
    rest=False,
)

GRAPHQL_OPERATIONS: Operations = {
    ("POST", "/graphql"): Op(
        "Run a GraphQL query or mutation",
        description="Every field needs credentials except the `login` and `refreshToken` "
                    "mutations, so the endpoint itself is public and answers 401 in the "
                    "GraphQL body form when they are missing.",
        public=True,
        body=Body(request({"query": STRING, "variables": ANY_OBJECT, "operationName": STRING},
                          required=["query"]),
                  example={"query": "{ __typename }"}),
        responses={200: Body(_GRAPHQL_RESULT)},
        errors=[400, 401],  # 400: a mutation over GET, a subscription over HTTP
    ),
    ("GET", "/graphql"): Op(
        "Run a GraphQL query (no mutations); GraphiQL for browsers",
        public=True,
        query=[Param("query", {"type": "string"}, "The document."),
               Param("variables", {"type": "string"}, "JSON-encoded variables."),
               Param("operationName", {"type": "string"}, "")],
        responses={200: Body(_GRAPHQL_RESULT)},
        errors=[400, 401],  # 400: a mutation over GET, a subscription over HTTP
    ),
    ("GET", "/graphql/schema.graphql"): Op(
        "The GraphQL schema (SDL)", public=True,
        responses={200: Body(string("SDL."), media="application/graphql")},
    ),
}

DOCS = DialectDoc(
    tag="Docs",
    description="This document and Swagger UI (served from local assets, no internet needed).",
    error_schema_name="DocsError",
    error_schema=obj({"detail": STRING}),
    validation_status=400,
    security=(),
    rest=False,
)

_SWAGGER = Op("Swagger UI", public=True,
              responses={200: Body(string("HTML."), media="text/html")})

DOCS_OPERATIONS: Operations = {
    ("GET", DOCS_JSON_PATH): Op(
        "This OpenAPI 3.1 document", public=True,
        responses={200: Body({**ANY_OBJECT, "description": "OpenAPI 3.1."})},
    ),
    **{("GET", path): _SWAGGER for path in SWAGGER_UI_PATHS},
}
