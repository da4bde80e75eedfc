"""Multi-factor authentication (seed 004): TOTP (pyotp), secret kept on the user's document.

``setup`` stores a pending secret and returns it with its ``otpauth://`` URI; ``verify`` with
a current code from that secret enables MFA. Once enabled, ``AuthUseCases.login`` asks
``check`` for a valid code (``MfaRequired`` without one).

A code is accepted once (RFC 6238 §5.2): the time-step it matched is stored per user with a
conditional update, and a code whose step is not later than the stored one is refused, so a
code seen over a shoulder or in a log cannot be replayed within its validity window.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

import pyotp

from leadgraph.domain.errors import Unauthenticated, ValidationFailed
from leadgraph.domain.mfa import MfaRequired, MfaState, MfaStore
from leadgraph.domain.ports import Clock
from leadgraph.domain.users import Principal, PrincipalKind

__all__ = ["MfaRequired", "MfaSetup", "MfaUseCases"]


@dataclass(frozen=True)
class MfaSetup:
    secret: str
    uri: str


class MfaUseCases:
    def __init__(self, store: MfaStore, clock: Clock, issuer: str = "LeadGraph",
                 valid_window: int = 1) -> None:
        """``valid_window``: time-steps accepted either side of the current one (clock drift;
        RFC 6238 recommends at most one)."""
        self._store = store
        self._clock = clock
        self._issuer = issuer
        self._window = valid_window

    def _matching_steps(self, secret: str, code: object) -> list[int]:
        """The time-steps within the window whose code is ``code``, earliest first."""
        if not isinstance(code, str):
            return []
        totp = pyotp.TOTP(secret)
        current = totp.timecode(self._clock.now())
        given = code.encode()
        return [step for step in range(current - self._window, current + self._window + 1)
                if hmac.compare_digest(totp.generate_otp(step).encode(), given)]

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
        steps = self._matching_steps(secret, code)
        if not steps:
            raise ValidationFailed.single("code", "is not a current code for this secret")
        await self._store.enable(actor.id, secret, steps[-1])  # this code is used up too

    async def check(self, user_id: str, code: str | None) -> None:
        """Raises unless MFA is off for this user or ``code`` is current and not used yet."""
        state = await self._store.state(user_id)
        if state is None or not state.enabled or not state.secret:
            return
        if not code:
            raise MfaRequired()
        steps = self._matching_steps(state.secret, code)
        if not steps:
            raise MfaRequired("mfa_required: the TOTP code is wrong or expired")
        unused = [step for step in steps if state.last_step is None or step > state.last_step]
        # The conditional write settles a race between two logins with one code.
        if not unused or not await self._store.use_step(user_id, unused[0]):
            raise MfaRequired("mfa_required: code already used")
