"""JWT bearer tokens with pyjwt: the algorithm is pinned, and every claim we rely on is required.

``typ`` separates access from refresh tokens, so one can never be used as the other.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from leadgraph.domain.errors import Unauthenticated

ALGORITHM = "HS256"
_REQUIRED = ["exp", "iat", "iss", "aud", "sub", "typ", "jti"]


class JwtTokenCodec:
    def __init__(self, secret: str, issuer: str, audience: str) -> None:
        if len(secret) < 32:
            raise ValueError("SECRET_KEY must be at least 32 characters")
        self._secret = secret
        self._issuer = issuer
        self._audience = audience

    def encode(self, claims: dict[str, Any], token_type: str, ttl_seconds: int) -> str:
        now = datetime.now(UTC)
        payload = {
            "jti": uuid.uuid4().hex,
            **claims,
            "typ": token_type,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": now,
            "exp": now + timedelta(seconds=ttl_seconds),
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def decode(self, token: str, token_type: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": _REQUIRED},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("Token has expired") from None
        except jwt.InvalidTokenError:
            raise Unauthenticated("Invalid token") from None
        if claims.get("typ") != token_type:
            raise Unauthenticated("Wrong token type") from None
        return claims
