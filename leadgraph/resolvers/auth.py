"""Authentication: API keys, users, JWT access/refresh tokens with rotation and logout.

Transports hand over raw header values; the rules of what counts as a credential live here.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from leadgraph.domain.errors import Conflict, Forbidden, Unauthenticated
from leadgraph.domain.ports import (
    ApiKeyRepository,
    Clock,
    PasswordHasher,
    SessionRepository,
    TokenCodec,
    UserRepository,
)
from leadgraph.domain.users import (
    ApiKey,
    ApiKeyTier,
    Principal,
    PrincipalKind,
    Registration,
    Role,
    User,
)

ACCESS = "access"
REFRESH = "refresh"
API_KEY_PREFIX = "lg_"
BOOTSTRAP_KEY_ID = "bootstrap"
# A fixed hash to verify against when the user does not exist, so timing does not tell.
_DUMMY_PASSWORD = "not-a-real-password"  # noqa: S105


@dataclass(frozen=True)
class Credentials:
    api_key: str | None = None
    bearer: str | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Credentials:
        """``X-API-Key`` (any case) or ``Authorization: Bearer``. Query strings never count."""
        api_key = headers.get("x-api-key") or None
        bearer = None
        authorization = headers.get("authorization", "")
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            bearer = value.strip()
        return cls(api_key=api_key, bearer=bearer)

    @property
    def present(self) -> bool:
        return bool(self.api_key or self.bearer)


@dataclass(frozen=True)
class TokenGrant:
    user: User
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret


@dataclass(frozen=True)
class AuthPolicy:
    access_ttl_seconds: int = 3600
    refresh_ttl_seconds: int = 14 * 24 * 3600


def hash_api_key(key: str) -> str:
    """Keys carry 256 random bits, so a fast hash is enough to make a leaked table useless."""
    return hashlib.sha256(key.encode()).hexdigest()


class SecondFactor(Protocol):
    """MFA: raises (an ``Unauthenticated``) unless the user needs no code or ``code`` is valid."""

    async def check(self, user_id: str, code: str | None) -> None: ...


class AuthUseCases:
    def __init__(
        self,
        users: UserRepository,
        api_keys: ApiKeyRepository,
        sessions: SessionRepository,
        hasher: PasswordHasher,
        tokens: TokenCodec,
        clock: Clock,
        bootstrap_api_key: str | None,
        policy: AuthPolicy,
        second_factor: SecondFactor | None = None,
    ) -> None:
        self._second_factor = second_factor
        self._users = users
        self._api_keys = api_keys
        self._sessions = sessions
        self._hasher = hasher
        self._tokens = tokens
        self._clock = clock
        self._bootstrap_api_key = bootstrap_api_key
        self._policy = policy
        self._dummy_hash: str | None = None

    # -- who is calling -------------------------------------------------------------------

    async def authenticate(self, credentials: Credentials) -> Principal:
        if credentials.api_key:
            return await self._principal_for_key(credentials.api_key)
        if credentials.bearer:
            if credentials.bearer.count(".") == 2:
                return await self._principal_for_access_token(credentials.bearer)
            # Seed 001 sends API keys as bearer tokens.
            return await self._principal_for_key(credentials.bearer)
        raise Unauthenticated()

    async def authenticate_token(self, token: str) -> Principal:
        """A bare JWT (seed 003's WebSocket ``?token=``) or API key."""
        return await self.authenticate(Credentials(bearer=token))

    async def _principal_for_key(self, key: str) -> Principal:
        if self._bootstrap_api_key and hmac.compare_digest(
            key.encode(), self._bootstrap_api_key.encode()
        ):
            return Principal(
                kind=PrincipalKind.API_KEY, id=BOOTSTRAP_KEY_ID, display_name="bootstrap key",
                role=Role.ADMIN, tier=ApiKeyTier.ENTERPRISE,
            )
        stored = await self._api_keys.find_active_by_hash(hash_api_key(key))
        if stored is None:
            raise Unauthenticated("Invalid API key")
        return Principal(
            kind=PrincipalKind.API_KEY, id=stored.id, display_name=stored.name,
            role=Role.ADMIN, tier=stored.tier,
        )

    async def _principal_for_access_token(self, token: str) -> Principal:
        claims = self._tokens.decode(token, ACCESS)
        session_id = str(claims.get("sid", ""))
        if not session_id or not await self._sessions.is_active(session_id):
            raise Unauthenticated("Session has ended")
        return Principal(
            kind=PrincipalKind.USER, id=str(claims["sub"]),
            display_name=str(claims.get("name", "")),
            role=Role(str(claims.get("role", Role.AGENT.value))), session_id=session_id,
        )

    # -- users and sessions ---------------------------------------------------------------

    async def register(
        self, *, email: str, password: str, name: str | None = None,
        username: str | None = None, role: Role | None = None,
    ) -> User:
        """Sign up. The very first user of an installation becomes its admin."""
        registration = Registration.validate(
            email=email, password=password, name=name, username=username
        )
        if await self._users.exists(email=registration.email, username=registration.username):
            raise Conflict("A user with this email or username already exists")
        if role is None:
            role = Role.ADMIN if await self._users.count() == 0 else Role.AGENT
        password_hash = await asyncio.to_thread(self._hasher.hash, registration.password)
        return await self._users.insert(
            email=registration.email, username=registration.username, name=registration.name,
            password_hash=password_hash, role=role, now=self._clock.now(),
        )

    async def login(
        self, identifier: str, password: str, code: str | None = None
    ) -> TokenGrant:
        found = await self._users.find_credentials(identifier)
        if found is None:
            await asyncio.to_thread(self._hasher.verify, await self._dummy(), password)
            raise Unauthenticated("Invalid credentials")
        user, password_hash = found
        if not await asyncio.to_thread(self._hasher.verify, password_hash, password):
            raise Unauthenticated("Invalid credentials")
        if not user.is_active:
            raise Unauthenticated("Account is disabled")
        if self._second_factor is not None:
            await self._second_factor.check(user.id, code)
        now = self._clock.now()
        refresh_jti = uuid.uuid4().hex
        session_id = await self._sessions.create(
            user_id=user.id, refresh_jti=refresh_jti, now=now,
            expires_at=now + timedelta(seconds=self._policy.refresh_ttl_seconds),
        )
        return self._grant(user, session_id, refresh_jti)

    async def refresh(self, refresh_token: str) -> TokenGrant:
        """Rotate: each refresh token works once. Reusing one ends the whole session."""
        claims = self._tokens.decode(refresh_token, REFRESH)
        session_id, jti = str(claims.get("sid", "")), str(claims["jti"])
        new_jti = uuid.uuid4().hex
        if not await self._sessions.rotate(session_id, jti, new_jti):
            await self._sessions.revoke(session_id)
            raise Unauthenticated("Refresh token was already used or revoked")
        user = await self._users.get(str(claims["sub"]))
        if user is None or not user.is_active:
            await self._sessions.revoke(session_id)
            raise Unauthenticated("Account no longer exists")
        return self._grant(user, session_id, new_jti)

    async def logout(self, actor: Principal, refresh_token: str | None = None) -> None:
        """End the caller's session: its access and refresh tokens stop working at once."""
        if actor.session_id:
            await self._sessions.revoke(actor.session_id)
        if refresh_token:
            claims = self._tokens.decode(refresh_token, REFRESH)
            if str(claims["sub"]) == actor.id or actor.is_admin:
                await self._sessions.revoke(str(claims.get("sid", "")))

    async def logout_refresh(self, refresh_token: str) -> None:
        """Logout with only a refresh token in hand (seed 004 clients may do this)."""
        claims = self._tokens.decode(refresh_token, REFRESH)
        await self._sessions.revoke(str(claims.get("sid", "")))

    def _grant(self, user: User, session_id: str, refresh_jti: str) -> TokenGrant:
        base = {"sub": user.id, "sid": session_id}
        access = self._tokens.encode(
            {**base, "role": user.role.value, "name": user.name}, ACCESS,
            self._policy.access_ttl_seconds,
        )
        refresh = self._tokens.encode(
            {**base, "jti": refresh_jti}, REFRESH, self._policy.refresh_ttl_seconds
        )
        return TokenGrant(
            user=user, access_token=access, refresh_token=refresh,
            expires_in=self._policy.access_ttl_seconds,
        )

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await asyncio.to_thread(self._hasher.hash, _DUMMY_PASSWORD)
        return self._dummy_hash

    # -- API keys -------------------------------------------------------------------------

    async def create_api_key(
        self, actor: Principal, name: str, tier: ApiKeyTier = ApiKeyTier.STANDARD
    ) -> tuple[ApiKey, str]:
        """Returns the stored key and its plaintext, which is shown once and never kept."""
        require_admin(actor)
        secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
        stored = await self._api_keys.insert(
            name=name.strip() or "api key", prefix=secret[:10], key_hash=hash_api_key(secret),
            tier=tier, created_by=actor.id, now=self._clock.now(),
        )
        return stored, secret

    async def revoke_api_key(self, actor: Principal, key_id: str) -> bool:
        require_admin(actor)
        return await self._api_keys.revoke(key_id)


def require_admin(actor: Principal) -> None:
    if not actor.is_admin:
        raise Forbidden("Only administrators may do this")
