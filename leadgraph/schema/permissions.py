"""Field permissions. Every field except login-style mutations needs a principal."""

from __future__ import annotations

from typing import Any

from strawberry import Info
from strawberry.permission import BasePermission

from leadgraph.domain.errors import ServiceUnavailable
from leadgraph.schema.context import GraphQLContext


class IsAuthenticated(BasePermission):
    message = "Authentication required"
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info[GraphQLContext, Any], **kwargs: Any) -> bool:
        context = info.context
        if context.principal is not None:
            return True
        if context.unavailable:
            raise ServiceUnavailable(context.unavailable)  # not the caller's fault: no 401
        if context.auth_error:
            self.message = context.auth_error
        context.mark_unauthorized()
        return False
