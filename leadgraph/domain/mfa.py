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
    # The TOTP time-step of the last code accepted (RFC 6238 §5.2: a code works once, so
    # a code of this step or an earlier one is refused). None: none accepted yet.
    last_step: int | None = None


class MfaStore(Protocol):
    async def state(self, user_id: str) -> MfaState | None: ...
    async def set_pending(self, user_id: str, secret: str) -> None: ...
    async def enable(self, user_id: str, secret: str, step: int) -> None:
        """Make the pending ``secret`` the user's, its verifying code's ``step`` used up."""
        ...
    async def use_step(self, user_id: str, step: int) -> bool:
        """Record ``step`` as the last accepted one, atomically and only if it is later than
        the stored one; False when it is not (the code was used already, maybe by a
        concurrent login with the same code)."""
        ...
