"""Multi-factor authentication: the error a login without a current TOTP code gets, and the
storage port for the per-user secret."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from leadgraph.domain.errors import Unauthenticated


class MfaRequired(Unauthenticated):
    """The password was right; a current TOTP ``code`` is needed too."""

    code = "MFA_REQUIRED"

    def __init__(self, message: str = "mfa_required: send a current TOTP code as 'code'"
                 ) -> None:
        super().__init__(message)


@dataclass(frozen=True)
class MfaState:
    email: str
    enabled: bool = False
    secret: str | None = None
    pending_secret: str | None = None


class MfaStore(Protocol):
    async def state(self, user_id: str) -> MfaState | None: ...
    async def set_pending(self, user_id: str, secret: str) -> None: ...
    async def enable(self, user_id: str, secret: str) -> None: ...
