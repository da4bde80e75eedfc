"""Legacy REST dialects, one module per document in ``shared/seeds``.

Each module only translates: its paths, field names, pagination and error envelope onto the
same use cases GraphQL calls. See README "REST dialects" for the conflict rules.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from leadgraph.rest_compat import (
    agency_chat,
    chatbots_platform,
    chatbots_platform_bots,
    chatbots_platform_versions,
    chatbots_platform_voice,
    customer_care,
    integrations,
    lead_capture,
    lead_management,
    lead_management_voice,
    shared_login,
)


def routes() -> list[BaseRoute]:
    """All dialect routes. Order matters only where two documents share a path (health)."""
    listed: list[BaseRoute] = [
        *lead_capture.routes(),  # owns "/" and the superset "/health"
        *agency_chat.routes(),
        *shared_login.routes(),  # POST /api/v1/auth/login: seeds 002 and 004 (superset)
        *lead_management.routes(),
        *lead_management_voice.routes(),
        *customer_care.routes(),
        *chatbots_platform.routes(),
        *chatbots_platform_voice.routes(),
        *chatbots_platform_bots.routes(),
        *integrations.routes(),
    ]
    seed_004 = [*chatbots_platform.routes(), *chatbots_platform_voice.routes(),
                *chatbots_platform_bots.routes()]
    return [*listed, *chatbots_platform_versions.aliases(seed_004, listed)]
