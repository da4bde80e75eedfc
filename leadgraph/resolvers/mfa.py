"""Multi-factor authentication (seed 004): TOTP (pyotp), secret kept on the user's document.

``setup`` stores a pending secret and returns it with its ``otpauth://`` URI; ``verify`` with
a current code from that secret enables MFA. Once enabled, ``AuthUseCases.login`` asks
``check`` for a valid code (``MfaRequired`` without one).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyotp

from leadgraph.domain.errors import Unauthenticated, ValidationFailed
from leadgraph.domain.mfa import MfaRequired, MfaState, MfaStore
from leadgraph.domain.users import Principal, PrincipalKind

__all__ = ["MfaRequired", "MfaSetup", "MfaUseCases"]


@dataclass(frozen=True)
class MfaSetup:
    secret: str
    uri: str


class MfaUseCases:
    def __init__(self, store: MfaStore, issuer: str = "LeadGraph") -> None:
        self._store = store
        self._issuer = issuer

    async def _state(self, actor: Principal) -> MfaState:
        if actor.kind is not PrincipalKind.USER:
            raise ValidationFailed.single(
                "user", "MFA is set up by a signed-in user, not an API key")
        state = await self._store.state(actor.id)
        if state is None:
            raise Unauthenticated()
        return state

    async def setup(self, actor: Principal) -> MfaSetup:
        state = await self._state(actor)
        secret = pyotp.random_base32()
        await self._store.set_pending(actor.id, secret)
        uri = pyotp.TOTP(secret).provisioning_uri(name=state.email, issuer_name=self._issuer)
        return MfaSetup(secret, uri)

    async def verify(self, actor: Principal, code: object) -> None:
        state = await self._state(actor)
        secret = state.pending_secret
        if not secret:
            raise ValidationFailed.single("code", "start with /api/auth/mfa/setup")
        if not isinstance(code, str) or not pyotp.TOTP(secret).verify(code, valid_window=1):
            raise ValidationFailed.single("code", "is not a current code for this secret")
        await self._store.enable(actor.id, secret)

    async def check(self, user_id: str, code: str | None) -> None:
        """Raises unless MFA is off for this user or ``code`` is current."""
        state = await self._store.state(user_id)
        if state is None or not state.enabled or not state.secret:
            return
        if not code:
            raise MfaRequired()
        if not pyotp.TOTP(state.secret).verify(code, valid_window=1):
            raise MfaRequired("mfa_required: the TOTP code is wrong or expired")
